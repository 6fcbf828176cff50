"""The exact block k-NN kernel of the graph builders, against brute force."""

import numpy as np
import pytest

from elsa.index.block_knn import block_knn


def brute(Q, B, k):
    d = ((Q[:, None, :].astype(np.float64) - B[None].astype(np.float64)) ** 2).sum(-1)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, order, 1), order


@pytest.mark.parametrize("nq,nb,k", [(7, 300, 5), (40, 5000, 51), (3, 4, 6)])
def test_block_knn_is_brute_force(nq, nb, k):
    rng = np.random.default_rng(nq)
    Q, B = rng.integers(0, 50, (nq, 6)).astype(np.float32), rng.integers(0, 50, (nb, 6)).astype(np.float32)
    D, I = block_knn(Q, B, k)
    ref_d, ref_i = brute(Q, B, k)
    m = min(k, nb)
    assert np.array_equal(D[:, :m], ref_d[:, :m].astype(np.float32))  # small integers: exact in float32
    # Equal distances keep column order, so the ids match too.
    assert np.array_equal(I[:, :m], ref_i[:, :m])
    assert (I[:, m:] == -1).all() and np.isinf(D[:, m:]).all()


def test_block_knn_merges_pieces_into_the_same_answer():
    rng = np.random.default_rng(1)
    Q, B = rng.random((20, 8), dtype=np.float32), rng.random((900, 8), dtype=np.float32)
    whole = block_knn(Q, B, 10)
    best = block_knn(Q, B[:400], 10)
    best = block_knn(Q, B[400:], 10, best=best, offset=400)
    assert np.array_equal(whole[1], best[1])


def test_block_knn_is_exact_when_the_sampled_columns_mislead():
    # Every 8th column is next to the query, the others far: the first block's threshold
    # (from every 8th column) lets through fewer than k, and the row is redone in full.
    Q = np.zeros((2, 4), np.float32)
    B = np.full((800, 4), 10.0, np.float32)
    B[::8] = 0.0
    B[::8, 0] = np.arange(100) * 0.01  # distinct: the sample's 16th smallest passes only 16
    D, I = block_knn(Q, B, 51)
    assert np.array_equal(I, brute(Q, B, 51)[1])
    assert np.array_equal(I[0], np.arange(0, 51 * 8, 8))  # the 51 nearest, in column order
