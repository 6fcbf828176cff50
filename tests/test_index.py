import numpy as np
import pytest

from elsa.exceptions import InputError
from elsa.index import ExactIndex


def brute(X, Q):
    X64, Q64 = X.astype(np.float64), Q.astype(np.float64)
    return ((X64[:, None, :] - Q64[None, :, :]) ** 2).sum(-1)  # (n, m)


@pytest.mark.parametrize("chunk_rows", [1, 7, 64, 10_000])
def test_search_matches_brute_force(chunk_rows):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    Q = rng.normal(size=(4, 5)).astype(np.float32)
    D, I = ExactIndex(X, chunk_rows=chunk_rows).search(Q, 6)
    ref = brute(X, Q)
    np.testing.assert_array_equal(I, np.argsort(ref, axis=0, kind="stable")[:6].T)
    np.testing.assert_allclose(D, np.sort(ref, axis=0)[:6].T, rtol=1e-4, atol=1e-4)


def test_search_set_on_a_line():
    # Points 0..9 on a line; queries at 2.2 and 7.9. Distance to the set:
    # 2 -> .04, 8 -> .01, 3 -> .64, 7 -> .81, 1 -> 1.44, 9 -> 1.21 ...
    X = np.arange(10, dtype=np.float32)[:, None]
    D, I = ExactIndex(X, chunk_rows=3).search_set(np.array([[2.2], [7.9]], np.float32), 4)
    assert I.tolist() == [8, 2, 3, 7]
    np.testing.assert_allclose(D, [0.01, 0.04, 0.64, 0.81], atol=1e-5)


def test_search_set_excludes_rows_and_returns_fewer_when_pool_runs_out():
    X = np.arange(6, dtype=np.float32)[:, None]
    exclude = np.array([1, 0, 1, 0, 1, 1], bool)
    D, I = ExactIndex(X).search_set(np.array([[0.0]], np.float32), 4, exclude=exclude)
    assert I.tolist() == [1, 3]
    np.testing.assert_allclose(D, [1.0, 9.0])


def test_ties_broken_by_smaller_id():
    X = np.array([[1.0], [-1.0], [1.0], [-1.0], [5.0]], np.float32)
    idx = ExactIndex(X, chunk_rows=2)
    _, I = idx.search_set(np.array([[0.0]], np.float32), 3)
    assert I.tolist() == [0, 1, 2]
    _, I = idx.search(np.array([[0.0]], np.float32), 3)
    assert I.tolist() == [[0, 1, 2]]
    # Inside one block, four rows tie at distance 1 across the k-th place: the smaller ids win.
    _, I = ExactIndex(X).search(np.array([[0.0], [0.0]], np.float32), 3)
    assert I.tolist() == [[0, 1, 2], [0, 1, 2]]
    rng = np.random.default_rng(5)
    Xr = rng.integers(0, 3, size=(500, 2)).astype(np.float32)  # many exact ties
    Q = rng.integers(0, 3, size=(7, 2)).astype(np.float32)
    for chunk in (64, 4096):
        D, I = ExactIndex(Xr, chunk_rows=chunk).search(Q, 25)
        ref = brute(Xr, Q).T
        want = np.array([np.lexsort((np.arange(500), row))[:25] for row in ref])
        np.testing.assert_array_equal(I, want)


def test_query_ids_exclude_only_the_query_itself():
    X = np.array([[0.0], [0.1], [5.0], [5.3]], np.float32)
    D, I = ExactIndex(X).search(X[[0, 2]], 1, query_ids=np.array([0, 2]))
    assert I[:, 0].tolist() == [1, 3]
    np.testing.assert_allclose(D[:, 0], [0.01, 0.09], atol=1e-5)


def test_missing_neighbours_are_minus_one_and_inf():
    X = np.array([[0.0], [1.0], [2.0]], np.float32)
    D, I = ExactIndex(X).search(np.array([[0.0]], np.float32), 3, exclude=np.array([False, True, False]))
    assert I.tolist() == [[0, 2, -1]]
    assert np.isinf(D[0, 2])


def test_distance_to_set_matches_brute_force():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    Q = X[[3, 9]]
    np.testing.assert_allclose(ExactIndex(X, chunk_rows=8).distance_to_set(Q), brute(X, Q).min(1), atol=1e-4)


def test_bad_query_shape_names_the_problem():
    with pytest.raises(InputError, match=r"queries must have shape \(m, 3\)"):
        ExactIndex(np.zeros((4, 3), np.float32)).search_set(np.zeros((2, 4)), 1)


def test_pool_is_not_copied_when_already_float32():
    X = np.zeros((10, 2), np.float32)
    assert np.shares_memory(ExactIndex(X).X, X)  # a checked view of the same memory


def test_threads_cut_the_pool_into_ranges_without_changing_a_bit(monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 12)).astype(np.float32)
    X[[10, 1200, 2900]] = X[700]  # ties that land in different ranges
    exclude = np.zeros(3000, bool)
    exclude[rng.choice(3000, 200, replace=False)] = True
    exclude[[10, 700, 1200, 2900]] = False
    one, many = ExactIndex(X, chunk_rows=128, threads=1), ExactIndex(X, chunk_rows=128, threads=3)
    assert len(one.ranges) == 1 and many.ranges == [(0, 1024), (1024, 2048), (2048, 3000)]
    qid = np.array([700, 5, 2999])
    for a, b in [(one.search(X[qid], 9, exclude=exclude, query_ids=qid), many.search(X[qid], 9, exclude=exclude, query_ids=qid)),
                 (one.search_set(X[qid], 40, exclude=exclude), many.search_set(X[qid], 40, exclude=exclude))]:
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert many.search(X[[700]], 3, query_ids=[700])[1].tolist() == [[10, 1200, 2900]]
    np.testing.assert_array_equal(one.distance_to_set(X[qid]), many.distance_to_set(X[qid]))
    np.testing.assert_array_equal(one.sq_norms, many.sq_norms)
    # The head's scoring, cut the same way.
    import elsa.head.base as base
    from elsa.head import LogisticHead, MLPHead

    for head in (MLPHead(hidden=6), LogisticHead()):
        head.fit(X[:300], np.arange(300) % 4 == 0, random_state=1)
        head.chunk_rows = 256
        monkeypatch.setattr(base, "cpu_count", lambda: 1)
        single = head.confidence(X)
        monkeypatch.setattr(base, "cpu_count", lambda: 4)
        np.testing.assert_array_equal(head.confidence(X), single)


@pytest.mark.parametrize("chunk_rows,threads", [(256, 1), (3000, 3), (4096, 2)])
def test_one_read_scores_and_searches_bitwise_as_two_passes(chunk_rows, threads):
    # chunk_rows 3000 and the head's 4096 make stretches of lcm = 1,536,000 rows (here the
    # whole pool), in which the head runs its own ranges: a pass inside a pass.
    from elsa.head.mlp import MLPHead

    rng = np.random.default_rng(4)
    X = rng.normal(size=(20_000, 12)).astype(np.float32)
    X[9000:9003] = X[17]  # ties across blocks
    exclude = np.zeros(20_000, bool)
    exclude[rng.choice(20_000, 500, replace=False)] = True
    head = MLPHead(hidden=6).fit(X[:300], np.arange(300) % 4 == 0, random_state=1)
    index = ExactIndex(X, chunk_rows=chunk_rows, threads=threads)
    Q = X[[17, 5, 19_999]]
    scores, (D, I) = index.score_and_search_set(head.confidence, Q, 40, exclude=exclude, fn_rows=head.chunk_rows)
    D2, I2 = index.search_set(Q, 40, exclude=exclude)
    np.testing.assert_array_equal(scores, head.confidence(X))
    np.testing.assert_array_equal(I, I2)
    np.testing.assert_array_equal(D, D2)
    zero = [i for i in (5, 17, 9000, 9001, 9002, 19_999) if not exclude[i]]  # the queries and 17's copies
    assert sorted(I[: len(zero)].tolist()) == zero and D[len(zero) - 1] < 1e-4 < D[len(zero)] and not exclude[I].any()


def test_the_nn_step_comes_from_the_scoring_pass_when_nothing_changed(monkeypatch):
    from elsa.oracle import SimulatedOracle
    from elsa.search import make_strategy

    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(size=(3000, 8)), rng.normal(loc=1.5, size=(300, 8))]).astype(np.float32)
    truth = np.arange(3300) >= 3000  # a class large enough that every epoch finds some
    calls = []
    for name in ("search_set", "score_and_search_set"):
        real = getattr(ExactIndex, name)
        monkeypatch.setattr(ExactIndex, name, lambda self, *a, _real=real, _name=name, **kw: calls.append(_name) or _real(self, *a, **kw))
    result = make_strategy("elsa", epochs=4).run(X, [3000, 3001], SimulatedOracle(truth), random_state=0)
    # Epoch 1 searches around the seeds; after epochs 1-3 the scoring pass answers the
    # next NN step; after epoch 4 only the final search follows, so nothing is asked ahead.
    assert calls.count("search_set") == 1 and calls.count("score_and_search_set") == 3
    assert all(r.answers.any() for r in result.rounds[:3]) and truth[result.queried_ids].sum() > 100
