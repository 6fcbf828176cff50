"""The index interface: every search backend answers the same three calls.

Distances and ids come back in faiss's order, ``D, I = index.search(Q, k)``, with
squared L2 distances ascending. Rows missing from a result (fewer than ``k``
eligible items) have distance ``+inf`` and id ``-1``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from .._validation import check_int
from ..exceptions import InputError


class Index(ABC):
    """A searchable pool ``X`` of ``n`` vectors of dimension ``dim``."""

    X: np.ndarray
    name = "index"  # the backend's name, as make_index takes it

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def dim(self) -> int:
        return self.X.shape[1]

    def _check_exclude(self, exclude) -> np.ndarray | None:
        """``exclude`` as a boolean mask over the pool (None stays None)."""
        if exclude is None:
            return None
        exclude = np.asarray(exclude, dtype=bool)
        if exclude.shape != (self.n,):
            raise InputError(f"exclude must be a boolean mask of shape ({self.n},), got {exclude.shape}")
        return exclude

    @staticmethod
    def _check_query_ids(query_ids, m: int) -> np.ndarray | None:
        """``query_ids`` as one int64 id per query (None stays None)."""
        if query_ids is None:
            return None
        query_ids = np.asarray(query_ids, dtype=np.int64)
        if query_ids.shape != (m,):
            raise InputError(f"query_ids must have one id per query ({m}), got shape {query_ids.shape}")
        return query_ids

    def _queries(self, queries) -> np.ndarray:
        """``queries`` as a C-contiguous float32 ``(m, dim)`` array (one vector may be 1-d)."""
        Q = np.asarray(queries, dtype=np.float32)
        if Q.ndim == 1:
            Q = Q[None, :]
        if Q.ndim != 2 or Q.shape[1] != self.dim:
            raise InputError(f"queries must have shape (m, {self.dim}), got {np.shape(queries)}")
        return np.ascontiguousarray(Q)

    def map(self, fn) -> np.ndarray:
        """``fn`` applied to the pool's rows, as one array in row order.

        ``fn`` takes an ``(rows, dim)`` block and returns one value per row (the head's
        scores, say). Here it is ``fn(X)`` on the whole pool (``fn`` chunks its own
        work); a sharded index runs it where each shard lives, so only ``fn`` travels.
        """
        return np.asarray(fn(self.X))

    def score(self, fn):
        """``fn``'s value for every row (the head's scores), kept where the rows are.

        Here that is :meth:`map`'s array. A sharded index leaves each shard's values on
        the shard and returns a handle that answers the reductions of
        :mod:`elsa.scores` there, so the scores never travel.
        """
        return self.map(fn)

    def score_and_search_set(self, fn, queries, k: int, *, exclude=None, fn_rows: int | None = None):
        """:meth:`score` and :meth:`search_set` together: ``(scores, (D, I))``.

        Here one after the other. The exact index answers both in one read of the pool
        (the head's scoring and the next epoch's NN step). ``fn_rows`` is the block size
        ``fn`` chunks by, so a fused pass can cut the pool where ``fn`` would.
        """
        return self.score(fn), self.search_set(queries, k, exclude=exclude)

    # The public calls check their arguments once, here, and hand the backend checked ones:
    # a (m, dim) C-contiguous float32 query array, k >= 1, and query ids of shape (m,) or None.

    def search(self, queries, k: int, *, exclude=None, query_ids=None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest pool rows of each query: ``(D, I)`` of shape ``(m, k)``.

        ``exclude`` is a boolean mask of rows never to return. ``query_ids`` gives,
        for queries that are themselves pool rows, their ids, so that each query does
        not return itself (it may still return another query's row).
        """
        Q = self._queries(queries)
        return self._search(Q, check_int(k, "k", minimum=1), exclude, self._check_query_ids(query_ids, Q.shape[0]))

    def search_set(self, queries, k: int, *, exclude=None) -> tuple[np.ndarray, np.ndarray]:
        """Distance-to-a-set query (the paper's Algorithm 1).

        The ``k`` rows with the smallest distance to *any* query, ``min_j ||x - q_j||^2``,
        ascending: ``(D, I)`` of shape ``(<= k,)``. One pass over the pool, not one kNN
        search per query.
        """
        Q = self._queries(queries)
        k = check_int(k, "k", minimum=1)
        if Q.shape[0] == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        return self._search_set(Q, k, exclude)

    def distance_to_set(self, queries) -> np.ndarray:
        """``min_j ||x_i - q_j||^2`` for every pool row ``i``, shape ``(n,)``."""
        Q = self._queries(queries)
        if Q.shape[0] == 0:
            return np.full(self.n, np.inf, dtype=np.float32)
        return self._distance_to_set(Q)

    @abstractmethod
    def _search(self, Q: np.ndarray, k: int, exclude, query_ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` on checked arguments."""

    @abstractmethod
    def _search_set(self, Q: np.ndarray, k: int, exclude) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search_set` on checked arguments, with at least one query."""

    @abstractmethod
    def _distance_to_set(self, Q: np.ndarray) -> np.ndarray:
        """:meth:`distance_to_set` on checked arguments, with at least one query."""


def neighbour_recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each row's exact neighbours (ids, ``-1`` padding) that ``found`` lists:
    an approximate search's or graph's recall against the exact index (1.0 for no rows)."""
    hits = [np.intersect1d(f[f >= 0], e[e >= 0]).size / max(1, int((e >= 0).sum())) for f, e in zip(found, exact)]
    return float(np.mean(hits)) if hits else 1.0
