"""A pool cut into row shards, each searched by its own index, with results merged exactly.

This is the shape of the distributed backend (:mod:`elsa.index.ray_backend`), kept
free of any engine so that the merging can be tested, and used, in one process.

* Shards are contiguous row ranges. Their boundaries are multiples of the exact
  index's block size (``chunk_rows``), so each shard's exact search cuts its rows into
  the very blocks a single :class:`~elsa.index.exact.ExactIndex` over the whole pool
  would, and computes bitwise the same distances.
* Each shard answers with its own ``k`` best, in global ids. The driver keeps the
  ``k`` smallest ``(distance, id)`` pairs of their union; that is exactly the single
  index's answer, ties broken by the smaller id as there. ``distance_to_set`` and
  :meth:`Index.map` concatenate the shards' arrays in row order.
* Per call only the queries, each shard's excluded ids (the labelled items, a few
  thousand, not an ``n``-long mask) and, for ``map``, a small picklable function (the
  head's weights) travel to the shards. The pool never moves.

Where a shard lives is a subclass's business: :class:`LocalShardedIndex` holds the
shards in this process (the reference for the distributed one); ``RayIndex`` holds
each in a Ray actor.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from .._parallel import row_ranges
from .._validation import check_embeddings, check_int
from .base import Index
from .exact import _DEFAULT_CHUNK_ROWS
from .merge import merge_knn, merge_set


class Shard:
    """One contiguous slice of the pool, starting at global row ``start``, and its index.

    This is what a worker holds. ``backend`` and ``options`` go to
    :func:`~elsa.index.make_index` (an exact shard by default; a faiss shard for pools
    whose shards are too large to search exactly).
    """

    def __init__(self, X, start: int, backend: str = "exact", options: dict | None = None):
        from .select import make_index

        self.start = int(start)
        self.index = make_index(X, backend, **(options or {}))

    def _mask(self, excluded: np.ndarray | None) -> np.ndarray | None:
        if excluded is None:
            return None
        mask = np.zeros(self.index.n, bool)
        mask[excluded] = True
        return mask

    def _global(self, ids: np.ndarray) -> np.ndarray:
        return np.where(ids >= 0, ids + self.start, -1)

    def search(self, Q, k, excluded, query_ids):
        local_q = None if query_ids is None else query_ids - self.start  # rows outside never match
        D, I = self.index.search(Q, k, exclude=self._mask(excluded), query_ids=local_q)
        return D, self._global(I)

    def search_set(self, Q, k, excluded):
        D, I = self.index.search_set(Q, k, exclude=self._mask(excluded))
        return D, self._global(I)

    def distance_to_set(self, Q):
        return self.index.distance_to_set(Q)

    def map(self, fn):
        return np.asarray(fn(self.index.X))


class ShardedIndex(Index):
    """An index whose pool is held as row shards; the calls fan out and merge exactly.

    Subclasses say where the shards live by implementing :meth:`_call`.
    ``bounds`` are the shards' ``(start, stop)`` rows.
    """

    bounds: list[tuple[int, int]]
    name = "sharded"

    @abstractmethod
    def _call(self, method: str, per_shard_args: list[tuple]) -> list:
        """``getattr(shard, method)(*args)`` on every shard, results in shard order."""

    def _excluded(self, exclude) -> list[np.ndarray | None]:
        """Each shard's excluded rows as local ids (None when nothing is excluded)."""
        exclude = self._check_exclude(exclude)
        if exclude is None:
            return [None] * len(self.bounds)
        ids = np.flatnonzero(exclude)
        cuts = np.searchsorted(ids, [start for start, _ in self.bounds] + [self.n])
        return [ids[a:b] - start for (start, _), a, b in zip(self.bounds, cuts[:-1], cuts[1:])]

    def search(self, queries, k: int, *, exclude=None, query_ids=None):
        Q = self._queries(queries)
        k = check_int(k, "k", minimum=1)
        query_ids = self._check_query_ids(query_ids, Q.shape[0])
        parts = self._call("search", [(Q, k, ex, query_ids) for ex in self._excluded(exclude)])
        return merge_knn(parts, k)

    def search_set(self, queries, k: int, *, exclude=None):
        Q = self._queries(queries)
        k = check_int(k, "k", minimum=1)
        if Q.shape[0] == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        return merge_set(self._call("search_set", [(Q, k, ex) for ex in self._excluded(exclude)]), k)

    def distance_to_set(self, queries) -> np.ndarray:
        Q = self._queries(queries)
        if Q.shape[0] == 0:
            return np.full(self.n, np.inf, dtype=np.float32)
        return np.concatenate(self._call("distance_to_set", [(Q,)] * len(self.bounds)))

    def map(self, fn) -> np.ndarray:
        return np.concatenate(self._call("map", [(fn,)] * len(self.bounds)))


class LocalShardedIndex(ShardedIndex):
    """Shards held in this process, called one after another: the reference that the
    distributed backend is tested against, and a way to test merging without an engine."""

    def __init__(self, X, shards: int = 2, *, backend: str = "exact", chunk_rows: int = _DEFAULT_CHUNK_ROWS,
                 **options):
        self.X = check_embeddings(X)
        if backend == "exact":
            options = {"chunk_rows": chunk_rows, **options}
        self.bounds = row_ranges(self.n, check_int(shards, "shards", minimum=1), chunk_rows)
        self.shards = [Shard(self.X[a:b], a, backend, options) for a, b in self.bounds]

    def _call(self, method, per_shard_args):
        return [getattr(shard, method)(*args) for shard, args in zip(self.shards, per_shard_args)]
