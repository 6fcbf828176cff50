"""Finding items by what they say: the labelling page's search box.

A reviewer starts by looking up a few records they know are relevant (as ASReview's
prior-knowledge search does) and marks them as seeds or answers them. :class:`Finder`
matches the words of a query in each item's text (a text session's records: every text
column) or, for a pool of images or vectors, its name (the image's path): an item matches
when every word of the query occurs in it (case-insensitive, as part of a word, so
``mount`` finds ``mounting``); matches are ranked by how often the words occur, then by
row. An item whose whole name is the query (a record id, a file name) comes first.
"""

from __future__ import annotations

import re

import numpy as np

from .._validation import check_int
from ..exceptions import InputError

_WORD = re.compile(r"\w+")


class Finder:
    """Keyword search over items ``names`` and, for a text session, their ``records``
    (:class:`~elsa.text.records.Records`, whose text is read on the first search)."""

    def __init__(self, names: list[str], records=None):
        self.names = names
        self.records = records
        self._haystacks = None  # lowercased, built on the first search

    def find(self, query: str, limit: int = 48) -> np.ndarray:
        """Ids of up to ``limit`` items matching ``query``, best first."""
        limit = check_int(limit, "limit", minimum=1, maximum=1000)
        words = [w.lower() for w in _WORD.findall(str(query))]
        if not words:
            raise InputError(f"type a word to look for, got {str(query)[:40]!r}")
        if self._haystacks is None:
            texts = self.records.texts() if self.records is not None else [""] * len(self.names)
            self._haystacks = [f"{name}\n{text}".lower() for name, text in zip(self.names, texts)]
        query = str(query).strip()
        exact = [i for i, name in enumerate(self.names) if name == query]
        scores = np.zeros(len(self.names), np.int64)
        for i, text in enumerate(self._haystacks):
            counts = [text.count(w) for w in words]
            if all(counts):
                scores[i] = sum(counts)
        scores[exact] = np.iinfo(np.int64).max
        hits = np.flatnonzero(scores)
        order = np.lexsort((hits, -scores[hits]))
        return hits[order][:limit].astype(np.int64)

    def by_name(self, names) -> list[int]:
        """The ids of items named ``names`` (record ids, image paths); raises naming the unknown ones."""
        index = {name: i for i, name in enumerate(self.names)}
        missing = [n for n in names if n not in index]
        if missing:
            raise InputError(f"no item named {', '.join(map(repr, missing[:3]))}: type a record id or a file name "
                             "as shown on the tiles, or #N for the tile numbered N")
        return [index[n] for n in names]
