"""The text a person reads for each item of a text session: title and body, by item id.

A session started from records (``elsa label PROJECT --records FILE``) shows each item as
a card: the first text column as its title when it is called ``title``, the other text
columns joined as its body. Lookups go by item id; the records are read once, when the
session opens, from the file the session was started on (checked by its SHA-256).

Each card also carries the terms that make it a lead (:mod:`elsa.text.highlight`: the
terms it shares with the positives found so far, by weight), which the page marks in
its text.
"""

from __future__ import annotations

from pathlib import Path

from ..digests import file_digest
from ..exceptions import InputError

MAX_BODY = 20_000  # characters of a body sent to the page (a pasted book stays readable)


class ItemTexts:
    """Title and body of each item, or nothing (``available`` False) for a pool of vectors."""

    def __init__(self, records=None, X=None, vocabulary=None):
        self.records = records
        self.available = records is not None
        self.X = X
        self.vocabulary = vocabulary

    def card(self, item: int, centroid=None) -> dict:
        """``{"title": ..., "body": ..., "terms": [...]}`` of ``item`` (empty strings for no
        text); ``terms``: those it shares with the positives whose mean row is ``centroid``
        (:func:`~elsa.text.highlight.positives_centroid`), none without it."""
        from ..text.highlight import lead_terms

        title, body = self.records.title_and_body(item)
        terms = [] if self.vocabulary is None else lead_terms(self.X, self.vocabulary.terms, item, centroid)
        return {"title": title, "body": body[:MAX_BODY], "terms": terms}

    def centroid(self, positives):
        """The positives' mean feature row, for :meth:`card` (None without positives or features)."""
        from ..text.highlight import positives_centroid

        return None if self.X is None or self.vocabulary is None else positives_centroid(self.X, positives)


def read_session_records(meta: dict):
    """A text session's records, from the file it began on (checked by its SHA-256: labels are
    matched to records by row, so an edited file would put them on the wrong records)."""
    from ..text.records import read_records

    path = Path(meta["records"]["path"])
    if not path.exists():
        raise InputError(f"the session's records file {path} is missing; put it back to reopen the session")
    if file_digest(path) != meta["digest"]:
        raise InputError(f"the records file {path} changed since the session began; "
                         "a session's labels only make sense over the records they were given on")
    return read_records(path, meta["records"]["text_columns"])


def target_examples(meta: dict, vocabulary):
    """A text session's target description as a positive example row
    (:func:`elsa.text.describe.describe`), or None: for sessions begun before descriptions
    were used (``records.describe`` absent, so a reopened old session chooses as before),
    with no target text, or where none of its words occurs in the records (then it is only
    shown on the page)."""
    from ..exceptions import ParameterError
    from ..text.describe import describe

    if not (meta.get("records") or {}).get("describe") or vocabulary is None:
        return None
    try:
        return describe(meta.get("target") or "", vocabulary)
    except (InputError, ParameterError):
        return None
