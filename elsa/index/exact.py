"""The exact index: chunked squared-L2 search in numpy. The reference for every other backend.

Distances are squared Euclidean distances, ``||x - q||^2``. The paper ranks by MSE,
which is the same quantity divided by the dimension, so every ranking is identical.

Distances are computed block by block as ``||x||^2 - 2 x.q + ||q||^2`` with one
matrix product per block of ``chunk_rows`` pool rows, so the extra memory is one
``chunk_rows x n_queries`` block however large the pool. Excluded rows (already
labelled items) get a squared norm of ``+inf``, so they can never be returned.
Results are ordered by ascending distance, ties broken by the smaller row id.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_embeddings, check_int
from ..exceptions import InputError
from .base import Index

_DEFAULT_CHUNK_ROWS = 4096


def _take_smallest(dist: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest (distance, id) pairs, sorted by distance then id (exact under ties)."""
    if dist.size > k:
        kth = np.partition(dist, k - 1)[k - 1]
        keep = dist <= kth
        dist, ids = dist[keep], ids[keep]
    order = np.lexsort((ids, dist))[:k]
    return dist[order], ids[order]


def _take_smallest_per_group(group, dist, ids, k: int):
    """For each group (query), its ``k`` smallest (distance, id) pairs; all arrays flat.

    Returns the kept triples sorted by group, then distance, then id.
    """
    order = np.lexsort((ids, dist, group))
    group, dist, ids = group[order], dist[order], ids[order]
    rank = np.arange(group.size) - np.searchsorted(group, group, side="left")
    keep = rank < k
    return group[keep], dist[keep], ids[keep]


class ExactIndex(Index):
    """Exact chunked search over a float32 pool.

    Parameters
    ----------
    X : array of shape (n, d)
        The pool. A float32 C-contiguous array (or read-only memory map) is used
        without copying.
    chunk_rows : int
        Pool rows per matrix-product block.
    """

    def __init__(self, X, *, chunk_rows: int = _DEFAULT_CHUNK_ROWS):
        self.X = check_embeddings(X)
        self.chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
        self.sq_norms = np.empty(self.X.shape[0], dtype=np.float32)
        for start, stop in self._blocks():
            block = self.X[start:stop]
            self.sq_norms[start:stop] = np.einsum("ij,ij->i", block, block)

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def dim(self) -> int:
        return self.X.shape[1]

    def _blocks(self):
        for start in range(0, self.X.shape[0], self.chunk_rows):
            yield start, min(start + self.chunk_rows, self.X.shape[0])

    def _queries(self, queries) -> np.ndarray:
        Q = np.asarray(queries, dtype=np.float32)
        if Q.ndim == 1:
            Q = Q[None, :]
        if Q.ndim != 2 or Q.shape[1] != self.dim:
            raise InputError(f"queries must have shape (m, {self.dim}), got {np.shape(queries)}")
        return np.ascontiguousarray(Q)

    def _norms(self, exclude) -> np.ndarray:
        if exclude is None:
            return self.sq_norms
        exclude = np.asarray(exclude, dtype=bool)
        if exclude.shape != (self.n,):
            raise InputError(f"exclude must be a boolean mask of shape ({self.n},), got {exclude.shape}")
        return np.where(exclude, np.float32(np.inf), self.sq_norms)

    def _block_distances(self, start, stop, Q, q_norms, norms) -> np.ndarray:
        """Squared distances of pool rows ``start:stop`` to every query, shape (rows, m)."""
        d = self.X[start:stop] @ Q.T
        d *= -2.0
        d += norms[start:stop, None]
        d += q_norms[None, :]
        np.maximum(d, 0.0, out=d)  # rounding can make a tiny distance negative
        return d

    def search(self, queries, k: int, *, exclude=None, query_ids=None) -> tuple[np.ndarray, np.ndarray]:
        Q = self._queries(queries)
        k = check_int(k, "k", minimum=1)
        m = Q.shape[0]
        if query_ids is not None:
            query_ids = np.asarray(query_ids, dtype=np.int64)
            if query_ids.shape != (m,):
                raise InputError(f"query_ids must have one id per query ({m}), got shape {query_ids.shape}")
        q_norms = np.einsum("ij,ij->i", Q, Q)
        norms = self._norms(exclude)
        best_q = np.empty(0, np.int64)
        best_d = np.empty(0, np.float32)
        best_i = np.empty(0, np.int64)
        for start, stop in self._blocks():
            d = self._block_distances(start, stop, Q, q_norms, norms).T  # (m, rows)
            if query_ids is not None:
                inside = (query_ids >= start) & (query_ids < stop)
                d[np.flatnonzero(inside), query_ids[inside] - start] = np.inf
            kk = min(k, stop - start)
            kth = np.partition(d, kk - 1, axis=1)[:, kk - 1 : kk]
            qi, ci = np.nonzero((d <= kth) & np.isfinite(d))
            best_q, best_d, best_i = _take_smallest_per_group(
                np.concatenate([best_q, qi]),
                np.concatenate([best_d, d[qi, ci]]),
                np.concatenate([best_i, ci + start]),
                k,
            )
        D = np.full((m, k), np.inf, dtype=np.float32)
        I = np.full((m, k), -1, dtype=np.int64)
        rank = np.arange(best_q.size) - np.searchsorted(best_q, best_q, side="left")
        D[best_q, rank] = best_d
        I[best_q, rank] = best_i
        return D, I

    def search_set(self, queries, k: int, *, exclude=None) -> tuple[np.ndarray, np.ndarray]:
        Q = self._queries(queries)
        k = check_int(k, "k", minimum=1)
        if Q.shape[0] == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        q_norms = np.einsum("ij,ij->i", Q, Q)
        norms = self._norms(exclude)
        best_d = np.empty(0, np.float32)
        best_i = np.empty(0, np.int64)
        for start, stop in self._blocks():
            dmin = self._block_distances(start, stop, Q, q_norms, norms).min(axis=1)
            rows = np.arange(start, stop, dtype=np.int64)
            keep = np.isfinite(dmin)
            best_d, best_i = _take_smallest(
                np.concatenate([best_d, dmin[keep]]), np.concatenate([best_i, rows[keep]]), k
            )
        return best_d, best_i

    def distance_to_set(self, queries) -> np.ndarray:
        Q = self._queries(queries)
        out = np.full(self.n, np.inf, dtype=np.float32)
        if Q.shape[0] == 0:
            return out
        q_norms = np.einsum("ij,ij->i", Q, Q)
        for start, stop in self._blocks():
            out[start:stop] = self._block_distances(start, stop, Q, q_norms, self.sq_norms).min(axis=1)
        return out
