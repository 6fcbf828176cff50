"""A pool cut into row shards, each searched by its own index, with results merged exactly.

This is the shape of the distributed backend (:mod:`elsa.index.ray_backend`), kept
free of any engine so that the merging can be tested, and used, in one process.

* Shards are contiguous row ranges. Their boundaries are multiples of the exact
  index's block size (``chunk_rows``), so each shard's exact search cuts its rows into
  the very blocks a single :class:`~elsa.index.exact.ExactIndex` over the whole pool
  would, and computes bitwise the same distances.
* The head's scores stay on the shards (:meth:`ShardedIndex.score` returns a
  :class:`ShardedScores` handle): each shard keeps its slice, and the search's
  reductions of them (threshold sums, items above it, the top ``k``, Quant's sums;
  :mod:`elsa.scores`) run there and are merged at the driver.
* Each shard answers with its own ``k`` best, in global ids. The driver keeps the
  ``k`` smallest ``(distance, id)`` pairs of their union; that is exactly the single
  index's answer, ties broken by the smaller id as there. ``distance_to_set`` and
  :meth:`Index.map` concatenate the shards' arrays in row order.
* Per call only the queries, each shard's excluded ids (the labelled items, a few
  thousand, not an ``n``-long mask) and, for ``map`` and ``score``, a small picklable
  function (the head's weights) travel to the shards. The pool never moves, and the
  scores come back only when a sampler asks for arbitrary ones (``scores[ids]``).

Where a shard lives is a subclass's business: :class:`LocalShardedIndex` holds the
shards in this process (the reference for the distributed one); ``RayIndex`` holds
each in a Ray actor.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from .._parallel import row_ranges
from .._validation import check_embeddings, check_int
from ..exceptions import ElsaError
from .. import scores as reduce
from .base import Index
from .exact import _DEFAULT_CHUNK_ROWS
from .local import make_local_index
from .merge import merge_knn, merge_set


class Shard:
    """One contiguous slice of the pool, starting at global row ``start``, and its index.

    This is what a worker holds. ``backend`` and ``options`` go to
    :func:`~elsa.index.local.make_local_index` (an exact shard by default; a faiss shard for pools
    whose shards are too large to search exactly).
    """

    def __init__(self, X, start: int, backend: str = "exact", options: dict | None = None):
        self.start = int(start)
        self.index = make_local_index(X, backend, **(options or {}))
        self._scores: np.ndarray | None = None  # the head's scores of these rows, and their version
        self._version: int | None = None

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

    # --- the head's scores of this shard's rows, kept here (see ShardedScores) ---

    def keep_scores(self, fn, version: int) -> int:
        self._scores, self._version = np.asarray(fn(self.index.X)), version
        return self._scores.size

    def _held(self, version: int) -> np.ndarray:
        if self._version != version:
            raise ElsaError("these scores were replaced by newer ones on the shards")
        return self._scores

    def score_stats(self, version, included):
        return reduce.local_stats(self._held(version), None if included is None else self._mask(included))

    def score_above(self, version, value, excluded):
        s = self._held(version)
        ids = reduce.local_above(s, value, self._mask(excluded))
        return ids + self.start, s[ids]

    def score_top(self, version, k, excluded):
        s = self._held(version)
        ids = reduce.local_top(s, k, self._mask(excluded))
        return ids + self.start, s[ids]

    def score_quant(self, version, searched):
        return reduce.local_quant(self._held(version), self._mask(searched))

    def score_gather(self, version, ids):
        s = self._held(version)
        return s if ids is None else s[ids]  # the caller concatenates (or Ray serialises) a copy


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

    def _search(self, Q, k, exclude, query_ids):
        parts = self._call("search", [(Q, k, ex, query_ids) for ex in self._excluded(exclude)])
        return merge_knn(parts, k)

    def _search_set(self, Q, k, exclude):
        return merge_set(self._call("search_set", [(Q, k, ex) for ex in self._excluded(exclude)]), k)

    def _distance_to_set(self, Q) -> np.ndarray:
        return np.concatenate(self._call("distance_to_set", [(Q,)] * len(self.bounds)))

    def map(self, fn) -> np.ndarray:
        return np.concatenate(self._call("map", [(fn,)] * len(self.bounds)))

    def score(self, fn) -> "ShardedScores":
        self._score_version = getattr(self, "_score_version", 0) + 1
        self._call("keep_scores", [(fn, self._score_version)] * len(self.bounds))
        return ShardedScores(self, self._score_version)


class ShardedScores:
    """The head's scores of a sharded pool, left on the shards (``index.score(fn)``).

    It answers :mod:`elsa.scores`'s reductions by running them on every shard's
    slice and merging the small answers. Indexing (``scores[ids]``) and ``np.asarray``
    gather scores from the shards, for the samplers that need arbitrary ones. A handle
    is valid until the index scores again.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, index: ShardedIndex, version: int):
        self.index, self.version = index, version

    @property
    def shape(self) -> tuple[int]:
        return (self.index.n,)

    def __len__(self) -> int:
        return self.index.n

    def _per_shard(self, mask) -> list:
        return self.index._excluded(mask)  # each shard's rows of a boolean mask, as local ids

    def _merge_ids(self, method: str, value, labelled) -> np.ndarray:
        parts = self.index._call(method, [(self.version, value, ex) for ex in self._per_shard(labelled)])
        ids, vals = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        return ids[np.lexsort((ids, -vals))]

    def stats(self, scored=None) -> np.ndarray:
        return np.sum(self.index._call("score_stats", [(self.version, ids) for ids in self._per_shard(scored)]), axis=0)

    def above(self, value: float, labelled) -> np.ndarray:
        return self._merge_ids("score_above", value, labelled)

    def top(self, k: int, labelled) -> np.ndarray:
        return self._merge_ids("score_top", k, labelled)[:k]

    def quant_sums(self, searched) -> np.ndarray:
        return np.sum(self.index._call("score_quant", [(self.version, ids) for ids in self._per_shard(searched)]), axis=0)

    def __getitem__(self, ids) -> np.ndarray:
        ids = np.asarray(ids)
        ids = np.flatnonzero(ids) if ids.dtype == bool else ids.astype(np.int64)
        order = np.argsort(ids, kind="stable")
        cuts = np.searchsorted(ids[order], [a for a, _ in self.index.bounds] + [self.index.n])
        local = [ids[order[a:b]] - start for (start, _), a, b in zip(self.index.bounds, cuts[:-1], cuts[1:])]
        out = np.empty(ids.size, np.float32)
        out[order] = np.concatenate(self.index._call("score_gather", [(self.version, i) for i in local]))
        return out.reshape(ids.shape)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        full = np.concatenate(self.index._call("score_gather", [(self.version, None)] * len(self.index.bounds)))
        return full if dtype is None else full.astype(dtype)


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
