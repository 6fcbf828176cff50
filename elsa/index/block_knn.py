"""Exact k nearest rows by matrix products, with the selection kept below the product's cost.

Used by the k-NN graph's builders (:mod:`elsa.index.graph_build`) for every block of rows
they compare. A block's squared distances are one product, ``||b||^2 - 2 q.b`` (BLAS);
picking each query's ``k`` smallest is then the expensive part: faiss's k-NN keeps a heap
per query and spent 13.4 ns a candidate on it beyond the product's 2.7 ns, on one core
and a list-sized block (222 x 1,800 x 128; ``python -m benchmarks.search_latency --kernel``), so
it ran at 16 GFLOP/s where the product alone ran at 94. Here the selection costs 3.8 ns
a candidate (39 GFLOP/s in all).

Here a candidate costs one comparison against a threshold that few pass:

* within a block of columns, every distance is compared with the query's current ``k``-th
  smallest (after the first block: exact, so nothing nearer is ever dropped);
* for the first block, the threshold is the ``ceil(2 k / 8) + 3``-th smallest of every 8th
  column, about the ``2k + 24``-th smallest of the block; a query with fewer than ``k``
  distances under it (rare: a sample's order statistic ran low) is redone with all
  columns, so the answer is exact either way;
* the survivors (about ``2k`` a query) are merged with the current best by one sort.

Ties are broken by column order (the earlier column first), so the result is
deterministic. Distances are float32 as BLAS computes them: rows at nearly equal
distances can order differently from another exact method, as between any two.
"""

from __future__ import annotations

import numpy as np

SUBSAMPLE = 8  # the first block's threshold comes from every 8th column
COLUMN_BLOCK = 4096  # columns compared at once: with 512 queries, 8 MB of distances
QUERY_BLOCK = 512


def row_norms(X: np.ndarray) -> np.ndarray:
    """Squared L2 norms of float32 rows."""
    return np.einsum("ij,ij->i", X, X)


def block_knn(Q: np.ndarray, B: np.ndarray, k: int, *, b_norms: np.ndarray | None = None,
              best: tuple[np.ndarray, np.ndarray] | None = None, offset: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """Each row of ``Q``'s ``k`` nearest rows of ``B`` (float32, C order): squared distances
    ascending and column numbers (plus ``offset``), ``(len(Q), k)`` each; ``inf``/``-1``
    pad a query with fewer than ``k`` columns. ``best`` (a previous call's answer on other
    columns) is merged in, so ``B`` can be given in pieces."""
    nq = Q.shape[0]
    if best is None:
        best_d = np.full((nq, k), np.inf, np.float32)
        best_i = np.full((nq, k), -1, np.int64)
    else:
        best_d, best_i = best
    b_norms = row_norms(B) if b_norms is None else b_norms
    # Within a query's row its own norm changes no order: it is taken out of the distances
    # kept between calls and added back at the end.
    q_norms = row_norms(Q)[:, None]
    best_d = best_d - q_norms
    for q0 in range(0, nq, QUERY_BLOCK):
        q1 = min(nq, q0 + QUERY_BLOCK)
        Qm2 = Q[q0:q1] * np.float32(-2)
        for c0 in range(0, B.shape[0], COLUMN_BLOCK):
            c1 = min(B.shape[0], c0 + COLUMN_BLOCK)
            D = Qm2 @ B[c0:c1].T
            D += b_norms[c0:c1]
            best_d[q0:q1], best_i[q0:q1] = _merge(D, best_d[q0:q1], best_i[q0:q1], k, offset + c0,
                                                  -q_norms[q0:q1, 0])
    return best_d + q_norms, best_i


def _merge(D: np.ndarray, best_d: np.ndarray, best_i: np.ndarray, k: int, offset: int, floor: np.ndarray):
    """The ``k`` smallest of ``best`` and the block ``D`` (columns from ``offset``), per row;
    ``floor``: each row's least possible value (minus its squared norm), for the keys."""
    nq, nc = D.shape
    threshold = best_d[:, -1].copy()
    open_rows = ~np.isfinite(threshold)  # fewer than k known: no exact threshold yet
    if open_rows.any():
        if nc > k * SUBSAMPLE // 2:
            sub = D[open_rows, ::SUBSAMPLE]
            kk = min(sub.shape[1] - 1, -(-2 * k // SUBSAMPLE) + 3)
            threshold[open_rows] = np.partition(sub, kk, axis=1)[:, kk]
        else:
            threshold[open_rows] = np.inf
    passed = D <= threshold[:, None]
    known = (best_i >= 0).sum(axis=1)
    flat = np.flatnonzero(passed)  # 1-D: several times faster than a 2-D nonzero
    counts = np.bincount(flat // nc, minlength=nq)
    short = open_rows & (counts + known < np.minimum(k, known + nc))  # the sample ran low
    if short.any():
        passed[short] = True
        flat = np.flatnonzero(passed)
        counts = np.bincount(flat // nc, minlength=nq)
    if flat.size == 0:
        return best_d, best_i
    rows, cols = np.divmod(flat, nc)
    keep = int(known.max())  # columns of best worth carrying (none before the first block)
    width = max(k, keep + int(counts.max()))
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # One int64 key a candidate: its distance's bits above its column, so that sorting the
    # keys orders by distance, then by column (float32 bits of values >= 0 sort as integers).
    keys = np.full((nq, width), _PAD, np.int64)
    if keep:
        keys[:, :keep] = _keys(best_d[:, :keep] - floor[:, None], best_i[:, :keep])
    keys[rows, keep + np.arange(flat.size) - start[rows]] = _keys(D.reshape(-1)[flat] - floor[rows], cols + offset)
    if width > k:
        keys = np.partition(keys, k - 1, axis=1)[:, :k]
    keys.sort(axis=1)
    d, i = _unkey(keys)
    return d + floor[:, None], i


_PAD = np.int64(0x7F800000 << 32 | 0xFFFFFFFF)  # inf, no column


def _keys(d: np.ndarray, cols: np.ndarray) -> np.ndarray:
    bits = np.maximum(d, np.float32(0)).astype(np.float32).view(np.int32).astype(np.int64)
    return np.where(cols >= 0, (bits << 32) | cols.astype(np.int64), _PAD)


def _unkey(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = (keys >> 32).astype(np.int32).view(np.float32)
    cols = keys & 0xFFFFFFFF
    return d, np.where(np.isinf(d), -1, cols)
