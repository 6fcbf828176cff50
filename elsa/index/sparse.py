"""The exact index over a sparse pool (text features): the same search, sparse products.

A text pool is TF-IDF rows (:mod:`elsa.text.features`): tens of thousands of columns,
a few dozen non-zeros per row. A dense copy would not fit (63,000 records x 200,000
terms is 50 GB), so the pool stays a ``scipy.sparse.csr_matrix`` and every block of
distances is a sparse product, ``-2 Q X_block^T`` (queries are pool rows, so sparse too),
made dense only at the block's ``(queries, rows)`` size, then completed with the
squared norms exactly as :class:`~elsa.index.exact.ExactIndex` does. Everything else
(the running best lists, ties by the smaller id, exclusion, the fused pass, the merge of
the threads' row ranges) is the exact index's own code.

Distances are squared L2, as for every backend. TF-IDF rows are unit length, so they
are ``2 - 2 cos``: the neighbours are the cosine neighbours text search uses. One
exception: a row of zeros (a record with no known term) is taken to have length 1, so it
is 2 away from everything, as an unrelated record is (exactly, it would be 1 away from
every row and so every row's nearest neighbour).

Only this backend takes sparse pools; faiss and Ray need dense vectors and say so
(:func:`elsa.index.local.make_local_index`).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_sparse_pool, is_sparse
from ..exceptions import InputError
from .exact import ExactIndex

SPARSE_CHUNK_ROWS = 16384  # pool rows per product: a block's dense result is (queries, rows) float32


def _norms_of(A) -> np.ndarray:
    """Rows' squared lengths, an empty row (a record with no known term) counted as 1: it is
    then 2 away from every unit-length row, as far as a record sharing no term, instead of
    1 away from all of them (nearer than any real neighbour with cosine below 0.5)."""
    sq = np.asarray(A.multiply(A).sum(axis=1), np.float32).ravel()
    sq[sq == 0] = 1.0
    return sq


class SparseExactIndex(ExactIndex):
    """Exact search over a sparse ``(n, d)`` pool (see the module docstring).

    Parameters
    ----------
    X : scipy sparse matrix of shape (n, d)
    chunk_rows : int
        Pool rows per sparse product.
    threads : int or None
        Row ranges searched side by side (default: one per CPU).
    """

    name = "exact"
    default_chunk_rows = SPARSE_CHUNK_ROWS

    @staticmethod
    def _check_pool(X):
        return check_sparse_pool(X)

    def _squared_norms(self) -> np.ndarray:
        return _norms_of(self.X)

    def _queries(self, queries):
        """``queries`` as a float32 CSR ``(m, dim)`` matrix (rows of the pool, or dense vectors)."""
        from scipy.sparse import csr_matrix

        if not is_sparse(queries):
            Q = np.asarray(queries, dtype=np.float32)
            if Q.ndim == 1:
                Q = Q[None, :]
        else:
            Q = queries
        if Q.ndim != 2 or Q.shape[1] != self.dim:
            raise InputError(f"queries must have shape (m, {self.dim}), got {Q.shape}")
        return csr_matrix(Q, dtype=np.float32)

    def _terms(self, Q, exclude=None):
        return Q * np.float32(-2.0), _norms_of(Q), self._norms(exclude)

    def _block_distances(self, start, stop, Qm2, q_norms, norms) -> np.ndarray:
        d = (Qm2 @ self.X[start:stop].T).toarray().astype(np.float32, copy=False)
        d += norms[None, start:stop]
        d += q_norms[:, None]
        np.maximum(d, 0.0, out=d)
        return d
