"""The text a person reads for each item of a text session: title and body, by item id.

A session started from records (``elsa label PROJECT --records FILE``) shows each item as
a card: the first text column as its title when it is called ``title``, the other text
columns joined as its body. Lookups go by item id; the records are read once, when the
session opens, from the file the session was started on (checked by its SHA-256).
"""

from __future__ import annotations

from pathlib import Path

from .._io import file_digest
from ..exceptions import InputError

MAX_BODY = 20_000  # characters of a body sent to the page (a pasted book stays readable)


class ItemTexts:
    """Title and body of each item, or nothing (``available`` False) for a pool of vectors."""

    def __init__(self, records=None):
        self.records = records
        self.available = records is not None

    def card(self, item: int) -> dict:
        """``{"title": ..., "body": ...}`` of ``item`` (empty strings for no text)."""
        title, body = self.records.title_and_body(item)
        return {"title": title, "body": body[:MAX_BODY]}


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
