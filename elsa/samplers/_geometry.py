"""Shared geometry for samplers: a low-dimensional projection and farthest-first selection."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

from .._validation import float_rows, is_sparse

_FIT_SAMPLE = 20_000
_CHUNK = 8192


def pca_project(X: np.ndarray, dims: int, rng: np.random.Generator, *, unit: bool = False) -> np.ndarray:
    """Project the pool onto its first ``dims`` principal components, float32 ``(n, dims)``.

    The components are fitted on at most 20,000 random rows (randomised SVD); the whole
    pool is then projected in chunks. With ``unit``, each row is first scaled to unit
    length (an all-zero row stays zero), chunk by chunk, so no scaled copy of the pool
    is ever held.
    """

    def read(rows):
        block = float_rows(rows)
        if unit:
            norms = np.linalg.norm(block, axis=1, keepdims=True)
            block = block / np.where(norms > 0, norms, 1.0)
        return block

    dims = min(dims, X.shape[1], X.shape[0])
    rows = rng.choice(X.shape[0], min(_FIT_SAMPLE, X.shape[0]), replace=False)
    pca = PCA(n_components=dims, svd_solver="randomized", random_state=int(rng.integers(2**31 - 1)))
    pca.fit(read(X[np.sort(rows)]))
    comps = pca.components_.astype(np.float32).T
    mean = pca.mean_.astype(np.float32)
    out = np.empty((X.shape[0], dims), np.float32)
    for start in range(0, X.shape[0], _CHUNK):
        out[start : start + _CHUNK] = (read(X[start : start + _CHUNK]) - mean) @ comps
    return out


def _sq_norms(A) -> np.ndarray:
    """Each row's squared length (of a dense array or a sparse matrix's rows)."""
    if is_sparse(A):
        return np.asarray(A.multiply(A).sum(axis=1)).ravel()
    return (A**2).sum(1)


def sq_dists(A: np.ndarray, B: np.ndarray, a_sq: np.ndarray | None = None) -> np.ndarray:
    """Squared distances between the rows of ``A`` and ``B``, ``(len(A), len(B))`` (dense or
    sparse rows: text features).

    ``a_sq`` is ``(A**2).sum(1)`` when the caller already has it (a fixed ``A`` reused).
    """
    if a_sq is None:
        a_sq = _sq_norms(A)
    product = A @ B.T
    if is_sparse(product):
        product = product.toarray()
    return a_sq[:, None] - 2 * np.asarray(product) + _sq_norms(B)[None, :]


def sq_dist_to(X: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Squared distances of every row of ``X`` to one point (``X`` dense, or sparse rows)."""
    if is_sparse(X):
        p = np.asarray(point.toarray() if is_sparse(point) else point, np.float64).ravel()
        return np.maximum(_sq_norms(X) - 2.0 * np.asarray(X @ p).ravel() + p @ p, 0.0)
    diff = X - point
    return np.einsum("ij,ij->i", diff, diff)


def nearest_sq_dist(C: np.ndarray, X: np.ndarray, anchors: np.ndarray, block: int = 256) -> np.ndarray:
    """Each row of ``C``'s squared distance to its nearest row of ``X[anchors]``, read ``block`` anchors at a time."""
    nearest = np.full(C.shape[0], np.inf, np.float32)
    c_sq = _sq_norms(C)
    for start in range(0, anchors.size, block):
        d = sq_dists(C, float_rows(X[anchors[start : start + block]]), c_sq)
        nearest = np.minimum(nearest, d.min(axis=1))
    return nearest


def farthest_first(X: np.ndarray, candidates: np.ndarray, anchors: np.ndarray, size: int) -> np.ndarray:
    """Pick ``size`` candidates one by one, each farthest from the anchors and the picks so far.

    The k-center greedy rule: keep every candidate's squared distance to its nearest
    chosen point (a running ``np.minimum``) and take the largest. With no anchors the
    first pick is the candidate farthest from the candidates' mean. Ties go to the
    earlier candidate.
    """
    size = min(size, candidates.size)
    if size <= 0:
        return np.zeros(0, np.int64)
    C = float_rows(X[candidates])
    if anchors.size:
        nearest = nearest_sq_dist(C, X, anchors)
    else:
        nearest = sq_dist_to(C, C.mean(axis=0))
    picked = []
    for _ in range(size):
        i = int(np.argmax(nearest))
        picked.append(i)
        nearest = np.minimum(nearest, sq_dist_to(C, C[i]))
        nearest[i] = -np.inf
    return candidates[np.asarray(picked)]
