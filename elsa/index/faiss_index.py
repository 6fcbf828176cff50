"""faiss backends: IVF, IVF-PQ with exact re-ranking, and HNSW, behind the same Index interface.

For pools where exact passes are too slow. faiss is imported lazily; without it the
error names the extra to install (``pip install 'elsa-search[faiss]'``).

How ELSA's three calls map onto faiss:

* ``search(Q, k, exclude, query_ids)``: faiss's k-NN search with an ``IDSelector``
  bitmap that admits only rows not in ``exclude`` (labelled items never come back, as
  with the exact index). Each query's own row is removed by asking for one more.
* ``search_set(Q, k, exclude)``: the union of every query's own ``k`` nearest, then the
  ``k`` smallest of ``min_j ||x - q_j||^2`` over that union. This loses nothing beyond
  the approximate search itself: a row among the exact top ``k`` by distance to the set
  is within the top ``k`` of the query it is closest to (every row nearer that query is
  nearer the set too).
* ``distance_to_set(Q)``: a full pass over the pool by definition, so it is the exact
  chunked computation (no copy of the pool).

IVF-PQ stores compressed codes only; its candidates (``rerank`` times ``k`` per query)
are re-ranked with exact distances computed from the pool, so returned distances are
exact. IVF-Flat and HNSW keep a copy of the vectors inside faiss (one more pool's worth
of memory); IVF-PQ keeps ``m`` bytes per vector.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import as_generator, check_choice, check_embeddings, check_int, float_rows
from ..exceptions import InputError, MissingDependencyError
from .base import Index, neighbour_recall
from .exact import ExactIndex
from .merge import take_smallest

KINDS = ("ivf", "ivfpq", "hnsw")


def require_faiss():
    try:
        import faiss
    except ImportError:
        raise MissingDependencyError(
            "the faiss index backends need faiss: pip install 'elsa-search[faiss]' (or pip install faiss-cpu)"
        ) from None
    return faiss


class FaissIndex(Index):
    """An approximate index over a float32 pool.

    Parameters
    ----------
    X : (n, d) float32 pool (a memory map is read, not copied, except into faiss itself).
    kind : ``ivf`` (IVF-Flat), ``ivfpq`` (IVF-PQ + exact re-ranking) or ``hnsw``.
    nlist : IVF cells (default ``4 sqrt(n)``, at most ``n / 39`` so k-means has data).
    nprobe : IVF cells visited per query (default 16).
    m : IVF-PQ sub-quantisers (default: the largest divisor of ``d`` up to ``d / 2``, at most 64).
    rerank : IVF-PQ candidates per requested neighbour, re-ranked exactly (default 4).
    hnsw_m, ef_search, ef_construction : HNSW graph degree and search/build beam widths.
    train_size : at most this many rows train the coarse quantiser (default 100,000).
    random_state : seeds the training sample and faiss's k-means.
    """

    def __init__(self, X, kind: str = "ivf", *, nlist: int | None = None, nprobe: int = 16, m: int | None = None,
                 rerank: int = 4, hnsw_m: int = 32, ef_search: int = 128, ef_construction: int = 80,
                 train_size: int = 100_000, random_state=0, chunk_rows: int = 65536):
        faiss = require_faiss()
        self.X = check_embeddings(X)
        self.kind = check_choice(kind, "index kind", KINDS)
        self.exact = ExactIndex(self.X)  # distance_to_set and re-ranking read the pool directly
        n, d = self.X.shape
        self.nprobe = check_int(nprobe, "nprobe", minimum=1)
        self.rerank = check_int(rerank, "rerank", minimum=1)
        rng = as_generator(random_state)
        seed = int(rng.integers(2**31 - 1))
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, check_int(hnsw_m, "hnsw_m", minimum=2))
            index.hnsw.efConstruction = check_int(ef_construction, "ef_construction", minimum=1)
            self.ef_search = check_int(ef_search, "ef_search", minimum=1)
            self.nlist = None
        else:
            default = int(min(max(1, round(4 * math.sqrt(n))), max(1, n // 39)))
            self.nlist = check_int(nlist if nlist is not None else default, "nlist", minimum=1, maximum=n)
            quantizer = faiss.IndexFlatL2(d)
            if kind == "ivf":
                index = faiss.IndexIVFFlat(quantizer, d, self.nlist, faiss.METRIC_L2)
            else:
                self.m = check_int(m if m is not None else _default_m(d), "m", minimum=1)
                if d % self.m:
                    raise InputError(f"IVF-PQ needs m to divide the dimension {d}; got m = {self.m}")
                # 8-bit codes need 256 centroids per sub-quantiser, trained on >= 39 x 256 rows.
                nbits = 8 if n >= 39 * 256 else max(1, int(math.log2(max(2, n // 39))))
                index = faiss.IndexIVFPQ(quantizer, d, self.nlist, self.m, nbits)
            index.cp.seed = seed
            # faiss warns below 39 training rows per list. The default sample (100,000 rows) gives
            # 39 up to 650,000 rows and 8 at 10M: a coarser quantiser, not an error (the warning
            # was all a user saw for minutes).
            index.cp.min_points_per_centroid = 1
            train_size = check_int(train_size, "train_size", minimum=1)
            rows = np.sort(rng.choice(n, min(n, max(train_size, 256 * (self.m if kind == "ivfpq" else 1))),
                                      replace=False))
            index.train(np.ascontiguousarray(self.X[rows], dtype=np.float32))
        for start in range(0, n, chunk_rows):
            index.add(np.ascontiguousarray(self.X[start : start + chunk_rows], dtype=np.float32))
        self._index = index
        self._faiss = faiss

    @property
    def name(self) -> str:
        return self.kind

    def _params(self, exclude):
        """faiss search parameters, and the bitmap the selector reads (the caller keeps it
        alive until the search returns; it is not stored, so concurrent searches are safe)."""
        faiss = self._faiss
        sel = bitmap = None
        exclude = self._check_exclude(exclude)
        if exclude is not None:
            bitmap = np.packbits(~exclude, bitorder="little")
            sel = faiss.IDSelectorBitmap(self.n, faiss.swig_ptr(bitmap))
        if self.kind == "hnsw":
            return faiss.SearchParametersHNSW(sel=sel, efSearch=self.ef_search), bitmap
        return faiss.SearchParametersIVF(sel=sel, nprobe=self.nprobe), bitmap

    def _knn(self, Q: np.ndarray, k: int, exclude) -> tuple[np.ndarray, np.ndarray]:
        fetch = k * self.rerank if self.kind == "ivfpq" else k
        params, bitmap = self._params(exclude)
        D, I = self._index.search(Q, min(fetch, self.n), params=params)
        del bitmap  # read by faiss until here
        if self.kind == "ivfpq":  # exact distances for the candidates, then the best k
            D = _exact_distances(self.X, Q, I)
            order = np.lexsort((np.where(I < 0, np.iinfo(np.int64).max, I), D), axis=1)[:, :k]
            D, I = np.take_along_axis(D, order, 1), np.take_along_axis(I, order, 1)
        D = np.where(I < 0, np.inf, np.maximum(D, 0.0)).astype(np.float32)
        return D, I.astype(np.int64)

    def _search(self, Q, k, exclude, query_ids) -> tuple[np.ndarray, np.ndarray]:
        if query_ids is None:
            D, I = self._knn(Q, k, exclude)
        else:
            D, I = self._knn(Q, k + 1, exclude)
            own = I == query_ids[:, None]
            D = np.where(own, np.inf, D)
            I = np.where(own, -1, I)
            order = np.argsort(D, axis=1, kind="stable")[:, :k]
            D, I = np.take_along_axis(D, order, 1), np.take_along_axis(I, order, 1)
        if D.shape[1] < k:
            pad = k - D.shape[1]
            D = np.pad(D, ((0, 0), (0, pad)), constant_values=np.inf)
            I = np.pad(I, ((0, 0), (0, pad)), constant_values=-1)
        return D, I

    def _search_set(self, Q, k, exclude) -> tuple[np.ndarray, np.ndarray]:
        _, I = self._knn(Q, k, exclude)
        cand = np.unique(I[I >= 0])
        if cand.size == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        rows = float_rows(self.X[cand])
        d = self.exact.sq_norms[cand][:, None] - 2.0 * (rows @ Q.T) + np.einsum("ij,ij->i", Q, Q)[None, :]
        d = np.maximum(d.min(axis=1), 0.0).astype(np.float32)
        return take_smallest(d, cand, k)

    def _distance_to_set(self, Q) -> np.ndarray:
        return self.exact._distance_to_set(Q)

    def recall_against_exact(self, *, queries: int = 200, k: int = 50, exclude=None, random_state=0) -> float:
        """Mean share of the exact ``k`` nearest neighbours this index returns, for
        ``queries`` pool rows drawn at random (each excluding itself)."""
        rng = as_generator(random_state)
        ids = rng.choice(self.n, min(queries, self.n), replace=False)
        _, approx = self.search(self.X[ids], k, exclude=exclude, query_ids=ids)
        _, exact = self.exact.search(self.X[ids], k, exclude=exclude, query_ids=ids)
        return neighbour_recall(approx, exact)


def _default_m(d: int) -> int:
    for m in range(min(64, max(1, d // 2)), 0, -1):
        if d % m == 0:
            return m
    return 1


def _exact_distances(X: np.ndarray, Q: np.ndarray, I: np.ndarray) -> np.ndarray:
    """Squared distances from each query to its candidate rows ``I`` (``-1``: inf)."""
    valid = I >= 0
    rows = float_rows(X[np.where(valid, I, 0).ravel()]).reshape(I.shape + (X.shape[1],))
    diff = rows - Q[:, None, :]
    D = np.einsum("mkd,mkd->mk", diff, diff)
    return np.where(valid, D, np.inf)
