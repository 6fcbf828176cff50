"""The exact index: chunked squared-L2 search in numpy. The reference for every other backend.

Distances are squared Euclidean distances, ``||x - q||^2``. The paper ranks by MSE,
which is the same quantity divided by the dimension, so every ranking is identical.

Distances are computed block by block as ``||x||^2 - 2 x.q + ||q||^2`` with one
matrix product per block of ``chunk_rows`` pool rows, so the extra memory is one
``chunk_rows x n_queries`` block however large the pool. Excluded rows (already
labelled items) get a squared norm of ``+inf``, so they can never be returned.
Results are ordered by ascending distance, ties broken by the smaller row id.

Each pass runs on every core: the pool is cut into one contiguous row range per
thread (boundaries on block boundaries), each range is searched with one BLAS thread,
and the ranges' answers are merged exactly (:mod:`elsa.index.merge`,
:mod:`elsa._parallel`). Blocks, and so every distance, are the same whatever the
number of threads.

:meth:`ExactIndex.score_and_search_set` reads the pool once for two passes: each
stretch of rows is scored by the head and searched for the next NN step while it is in
cache. Stretches are multiples of both block sizes, so both answers are bitwise those
of the separate passes.
"""

from __future__ import annotations

import math

import numpy as np

from .._parallel import BLOCK_ROWS, cpu_count, map_ranges, row_ranges
from .._validation import check_embeddings, check_int, float_rows
from .base import Index
from .merge import merge_knn, merge_set, take_smallest

_DEFAULT_CHUNK_ROWS = BLOCK_ROWS


def _block_best(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` smallest entries of a block and their column ids (``-1`` for inf),
    ties at the boundary broken by the smaller column, so the result is exact."""
    m, rows = d.shape
    if rows <= k:
        cols = np.broadcast_to(np.arange(rows), (m, rows))
        pad = k - rows
        return (np.pad(d, ((0, 0), (0, pad)), constant_values=np.inf),
                np.pad(np.where(np.isfinite(d), cols, -1), ((0, 0), (0, pad)), constant_values=-1))
    idx = np.argpartition(d, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(d, idx, 1)
    kth = vals.max(axis=1)
    # argpartition picks arbitrarily among entries equal to the k-th value; redo those rows.
    tied = np.flatnonzero(np.isfinite(kth) & ((d <= kth[:, None]).sum(axis=1) > k))
    for r in tied:
        cand = np.flatnonzero(d[r] <= kth[r])
        keep = cand[np.lexsort((cand, d[r, cand]))[:k]]
        idx[r], vals[r] = keep, d[r, keep]
    return vals, np.where(np.isfinite(vals), idx, -1)


class ExactIndex(Index):
    """Exact chunked search over a float32 (or float16) pool.

    Parameters
    ----------
    X : array of shape (n, d)
        The pool. A float32 or float16 C-contiguous array (or read-only memory map)
        is used without copying; float16 blocks are converted to float32 as they are read.
    chunk_rows : int
        Pool rows per matrix-product block.
    threads : int or None
        Row ranges searched side by side (default: one per CPU).
    """

    name = "exact"
    default_chunk_rows = _DEFAULT_CHUNK_ROWS

    def __init__(self, X, *, chunk_rows: int | None = None, threads: int | None = None):
        self.X = self._check_pool(X)
        self.chunk_rows = self.default_chunk_rows if chunk_rows is None else check_int(chunk_rows, "chunk_rows",
                                                                                       minimum=1)
        self.threads = cpu_count() if threads is None else check_int(threads, "threads", minimum=1)
        self.ranges = row_ranges(self.n, self.threads, self.chunk_rows)
        self.sq_norms = self._squared_norms()

    @staticmethod
    def _check_pool(X):
        return check_embeddings(X)

    def _squared_norms(self) -> np.ndarray:
        """Every pool row's squared length, float32, block by block on every core."""
        sq_norms = np.empty(self.X.shape[0], dtype=np.float32)

        def norms(a, b):
            for start, stop in self._blocks(a, b):
                block = float_rows(self.X[start:stop])
                sq_norms[start:stop] = np.einsum("ij,ij->i", block, block)

        map_ranges(norms, self.ranges)
        return sq_norms

    def _blocks(self, a: int = 0, b: int | None = None):
        """Blocks of rows ``a:b`` (``a`` on a block boundary)."""
        b = self.X.shape[0] if b is None else b
        for start in range(a, b, self.chunk_rows):
            yield start, min(start + self.chunk_rows, b)

    def _norms(self, exclude) -> np.ndarray:
        exclude = self._check_exclude(exclude)
        if exclude is None:
            return self.sq_norms
        return np.where(exclude, np.float32(np.inf), self.sq_norms)

    def _terms(self, Q: np.ndarray, exclude=None):
        """``-2 Q``, the queries' squared norms and the pool's (``+inf`` where excluded):
        the parts of every block's distances (:meth:`_block_distances`)."""
        return -2.0 * Q, np.einsum("ij,ij->i", Q, Q), self._norms(exclude)

    def _block_distances(self, start, stop, Qm2, q_norms, norms) -> np.ndarray:
        """Squared distances of every query to pool rows ``start:stop``, shape (m, rows).

        ``(-2 q) . x + ||x||^2 + ||q||^2``, in that order, clamped at 0: the same
        floating-point values whatever the block size or the caller (the product with
        ``-2 q`` is exactly ``-2`` times the product with ``q``), so rankings and ties
        never depend on how the pool is cut.
        """
        d = Qm2 @ float_rows(self.X[start:stop]).T
        d += norms[None, start:stop]
        d += q_norms[:, None]
        np.maximum(d, 0.0, out=d)  # rounding can make a tiny distance negative
        return d

    def _search(self, Q, k, exclude, query_ids) -> tuple[np.ndarray, np.ndarray]:
        Qm2, q_norms, norms = self._terms(Q, exclude)
        parts = map_ranges(lambda a, b: self._search_range(a, b, Qm2, q_norms, norms, k, query_ids), self.ranges)
        return merge_knn(parts, k)

    def _search_range(self, a, b, Qm2, q_norms, norms, k, query_ids):
        """Each query's ``k`` nearest among rows ``a:b`` (global ids, ``-1``/inf padded)."""
        m = Qm2.shape[0]
        # A running (m, k) best list and each query's current k-th distance: in a block,
        # only entries at or below it can enter, and after the first blocks there are few,
        # so a block costs its matrix product and one comparison, not a selection.
        best_d = np.full((m, k), np.inf, dtype=np.float32)
        best_i = np.full((m, k), -1, dtype=np.int64)
        kth = np.full(m, np.inf, dtype=np.float32)
        for start, stop in self._blocks(a, b):
            d = self._block_distances(start, stop, Qm2, q_norms, norms)  # (m, rows)
            if query_ids is not None:
                inside = (query_ids >= start) & (query_ids < stop)
                d[np.flatnonzero(inside), query_ids[inside] - start] = np.inf
            if np.isinf(kth).any():  # some query has fewer than k so far: take the block's k best
                blk_d, blk_i = _block_best(d, k)
                qi = np.repeat(np.arange(m), k)
                cd, ci = blk_d.ravel(), blk_i.ravel()
                ok = ci >= 0
                qi, cd, ci = qi[ok], cd[ok], ci[ok] + start
            else:
                qi, cj = np.nonzero(d <= kth[:, None])
                if qi.size == 0:
                    continue
                cd, ci = d[qi, cj], cj.astype(np.int64) + start
            have = best_i >= 0
            group = np.concatenate([np.broadcast_to(np.arange(m)[:, None], (m, k))[have], qi])
            dist = np.concatenate([best_d[have], cd])
            ids = np.concatenate([best_i[have], ci])
            order = np.lexsort((ids, dist, group))
            group, dist, ids = group[order], dist[order], ids[order]
            rank = np.arange(group.size) - np.searchsorted(group, group, side="left")
            keep = rank < k
            best_d = np.full((m, k), np.inf, dtype=np.float32)
            best_i = np.full((m, k), -1, dtype=np.int64)
            best_d[group[keep], rank[keep]] = dist[keep]
            best_i[group[keep], rank[keep]] = ids[keep]
            kth = best_d[:, k - 1]
        best_i[~np.isfinite(best_d)] = -1
        return best_d, best_i

    def _search_set(self, Q, k, exclude) -> tuple[np.ndarray, np.ndarray]:
        Qm2, q_norms, norms = self._terms(Q, exclude)
        parts = map_ranges(lambda a, b: self._search_set_range(a, b, Qm2, q_norms, norms, k), self.ranges)
        return merge_set(parts, k)

    def _search_set_range(self, a, b, Qm2, q_norms, norms, k, best=None):
        """The ``k`` rows of ``a:b`` nearest the set, ascending (merged into ``best``, the
        answer for earlier rows, when given: its k-th distance prunes from the start)."""
        best_d, best_i = best if best is not None else (np.empty(0, np.float32), np.empty(0, np.int64))
        kth = best_d[-1] if best_d.size == k else np.inf
        for start, stop in self._blocks(a, b):
            dmin = self._block_distances(start, stop, Qm2, q_norms, norms).min(axis=0)
            keep = np.flatnonzero(dmin <= kth)  # inf rows (excluded) never pass once k are held
            if keep.size == 0:
                continue
            keep = keep[np.isfinite(dmin[keep])]
            best_d, best_i = take_smallest(np.concatenate([best_d, dmin[keep]]),
                                            np.concatenate([best_i, keep.astype(np.int64) + start]), k)
            if best_d.size == k:
                kth = best_d[-1]
        return best_d, best_i

    def score_and_search_set(self, fn, queries, k: int, *, exclude=None, fn_rows: int | None = None):
        Q = self._queries(queries)
        k = check_int(k, "k", minimum=1)
        if Q.shape[0] == 0:
            return self.score(fn), (np.zeros(0, np.float32), np.zeros(0, np.int64))
        Qm2, q_norms, norms = self._terms(Q, exclude)
        # A stretch is whole blocks of both passes, and starts where both would cut.
        step = math.lcm(self.chunk_rows, check_int(fn_rows or self.chunk_rows, "fn_rows", minimum=1))

        def both(a, b):
            scored, found = [], None
            for start in range(a, b, step):
                stop = min(start + step, b)
                scored.append(np.asarray(fn(self.X[start:stop])))
                found = self._search_set_range(start, stop, Qm2, q_norms, norms, k, found)
            return np.concatenate(scored), found

        parts = map_ranges(both, row_ranges(self.n, self.threads, step))
        return np.concatenate([p[0] for p in parts]), merge_set([p[1] for p in parts], k)

    def _distance_to_set(self, Q) -> np.ndarray:
        out = np.full(self.n, np.inf, dtype=np.float32)
        Qm2, q_norms, norms = self._terms(Q)

        def fill(a, b):
            for start, stop in self._blocks(a, b):
                out[start:stop] = self._block_distances(start, stop, Qm2, q_norms, norms).min(axis=0)

        map_ranges(fill, self.ranges)
        return out
