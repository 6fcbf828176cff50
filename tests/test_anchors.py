"""The active-search anchors: the k-NN graph and model, one-step search, ENS, CAL, SEALS-positive."""

import numpy as np
import pytest

from elsa.exceptions import ParameterError
from elsa.head import LogisticHead
from elsa.head.knn import KNNModel
from elsa.index import ExactIndex
from elsa.index import graph as graph_module
from elsa.index.graph import NeighbourGraph, neighbour_graph
from elsa.samplers import CALSampler, ENSSampler, KNNSearchSampler, NearestNeighbourSampler, SEALSSampler
from elsa.samplers.cal import cal_batch
from elsa.search import make_strategy
from elsa.state import NEGATIVE, POSITIVE, UNSURE
from helpers import make_state

LINE = np.arange(8, dtype=np.float32)  # item i sits at x = i


# --- the k-NN graph ------------------------------------------------------------------------

def test_graph_lists_each_rows_nearest_others_and_their_reverse():
    g = neighbour_graph(LINE[:, None], 2, cache=False, progress=False)
    # Ties (equal distances) go to the smaller id: 1's neighbours at distance 1 are 0 and 2.
    assert g.forward.tolist() == [[1, 2], [0, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7], [6, 5]]
    assert g.reverse(5).tolist() == [4, 6, 7] and g.reverse(0).tolist() == [1]
    assert g.in_degree().tolist() == [1, 2, 3, 2, 2, 3, 2, 1]
    assert g.prefix(1).forward[:, 0].tolist() == [1, 0, 1, 2, 3, 4, 5, 6]


def test_graph_is_cached_on_disk_by_the_pools_contents(monkeypatch, tmp_path):
    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(graph_module, "_RECENT", [])
    calls = []
    real = graph_module.compute_graph
    monkeypatch.setattr(graph_module, "compute_graph", lambda *a, **k: calls.append(1) or real(*a, **k))
    X = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    first = neighbour_graph(X, 4, progress=False).forward.copy()
    monkeypatch.setattr(graph_module, "_RECENT", [])
    again = neighbour_graph(X.copy(), 4, progress=False).forward  # another array with the same values
    assert calls == [1] and np.array_equal(first, again)
    assert len(list((tmp_path / "neighbours").glob("*-k4-exact.npy"))) == 1
    X[0, 0] += 1.0  # other contents: computed again
    monkeypatch.setattr(graph_module, "_RECENT", [])
    neighbour_graph(X, 4, progress=False)
    assert calls == [1, 1]


def test_graph_of_a_pool_no_larger_than_k_pads_with_minus_one():
    g = neighbour_graph(LINE[:3, None], 5, cache=False, progress=False)
    assert g.forward.tolist() == [[1, 2, -1, -1, -1], [0, 2, -1, -1, -1], [1, 0, -1, -1, -1]]
    assert g.reverse(2).tolist() == [0, 1]


# --- the k-NN model ------------------------------------------------------------------------

def _model(k=2):
    return KNNModel(k, 0.05).attach(neighbour_graph(LINE[:, None], k, cache=False, progress=False))


def test_knn_model_probabilities_from_the_labels_among_each_items_neighbours():
    m = _model()
    state = make_state(LINE, positives=[2], negatives=[4])
    assert sorted(m.sync(state).tolist()) == [2, 4]
    p = m.probabilities()
    # 1 lists {0, 2}: one positive -> 1.05 / 2. 3 lists {2, 4}: one of each -> 1.05 / 3.
    # 5 lists {4, 6}: one negative -> 0.05 / 2. 7 lists {6, 5}: nothing -> the prior 0.05.
    assert p[[1, 3, 5, 7]] == pytest.approx([0.525, 0.35, 0.025, 0.05])
    assert m.probabilities_if([7], True) == pytest.approx([1.05 / 2])


def test_knn_model_follows_undo_and_changed_labels():
    m = _model()
    state = make_state(LINE, positives=[2], negatives=[4])
    m.sync(state)
    state.answers[4] = 0  # undone
    state.answers[2] = NEGATIVE  # changed
    state.answers[6] = UNSURE  # never counts
    m.sync(state)
    fresh = _model()
    fresh.sync(state)
    assert np.array_equal(m.positives, fresh.positives) and np.array_equal(m.negatives, fresh.negatives)
    assert m.probabilities()[3] == pytest.approx(0.05 / 2)


# --- one-step search -----------------------------------------------------------------------

def test_knn_search_labels_the_most_likely_items_ties_by_id():
    state = make_state(LINE, positives=[2], negatives=[4])
    s = KNNSearchSampler(k=2, batch_size=3)
    s.prepare(state, np.random.default_rng(0))
    # p: 0 and 1 list 2 (0.525), 3 lists 2 and 4 (0.35); the rest 0.05 or less.
    assert s.select(state, np.random.default_rng(0)).tolist() == [0, 1, 3]


def test_knn_search_finds_a_cluster_from_one_seed(blobs):
    X, truth = blobs
    search = make_strategy("knn-search", epochs=None, budget=30, k=10)
    from elsa.oracle import SimulatedOracle

    result = search.run(X, [205], SimulatedOracle(truth), random_state=0)
    assert result.queries == 30 and truth[result.queried_ids[:19]].all()  # the other 19 positives first


# --- ENS -----------------------------------------------------------------------------------

def _brute_ens(model, labelled, r):
    """ENS's score of every unlabelled item by recomputing each top-r sum from scratch."""
    p = model.probabilities()
    best = []
    for x in np.flatnonzero(~labelled):
        future = []
        for positive in (True, False):
            s, f = model.positives.copy(), model.negatives.copy()
            (s if positive else f)[model.graph.reverse(x)] += 1
            q = (model.gamma + s) / (1 + s + f)
            rest = ~labelled
            rest[x] = False
            future.append(np.sort(q[rest])[::-1][:r].sum())
        best.append((p[x] + p[x] * future[0] + (1 - p[x]) * future[1], x))
    return dict((x, v) for v, x in best)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ens_picks_what_brute_force_ens_picks(seed):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0, 1, (150, 3)), rng.normal(4, 1, (30, 3))]).astype(np.float32)
    truth = np.r_[np.zeros(150, bool), np.ones(30, bool)]
    labelled = rng.choice(180, 25, replace=False)
    state = make_state(X, positives=labelled[truth[labelled]], negatives=labelled[~truth[labelled]], budget_left=40)
    s = ENSSampler(k=6)
    s.prepare(state, rng)
    s._model.sync(state)
    s._sync_influence(state.labelled)
    for r in (0, 1, 7, 39):
        scores = _brute_ens(s._model, state.labelled, r)
        pick = s.choose(state.labelled.copy(), r, s._influence.copy())
        assert scores[pick] == pytest.approx(max(scores.values()), abs=1e-9)
    assert s.evaluated[-1] < (~state.labelled).sum()  # the bound pruned some candidates


def test_ens_scores_plain_items_in_closed_form_as_brute_force_does():
    # Nothing labelled near most of the pool: the plain items' shortcut decides.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 2)).astype(np.float32)
    state = make_state(X, positives=[0], budget_left=60)
    s = ENSSampler(k=5)
    s.prepare(state, rng)
    s._model.sync(state)
    s._sync_influence(state.labelled)
    scores = _brute_ens(s._model, state.labelled, 59)
    pick = s.choose(state.labelled.copy(), 59, s._influence.copy())
    assert scores[pick] == pytest.approx(max(scores.values()), abs=1e-9)


def test_ens_batch_is_sequential_simulation_with_negative_fictions():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    state = make_state(X, positives=[0, 1], negatives=[2, 3], budget_left=30)
    batch = ENSSampler(k=5, batch_size=4)
    batch.prepare(state, rng)
    picked = batch.select(state, rng)
    one = ENSSampler(k=5)
    one.prepare(state, rng)
    one._model.sync(state)
    labelled, expected = state.labelled.copy(), []
    for i in range(4):
        one._sync_influence(labelled)
        x = one.choose(labelled, 30 - i - 1, one._influence.copy())
        expected.append(x)
        labelled[x] = True
        one._model.observe([x], 0.0)
    assert picked.tolist() == expected
    fresh = KNNModel(5).attach(batch._model.graph)
    fresh.sync(state)
    assert np.array_equal(batch._model.negatives, fresh.negatives), "the fictions are taken back"


# --- CAL -----------------------------------------------------------------------------------

def test_cal_batches_grow_by_a_tenth_rounded_up():
    assert [cal_batch(t) for t in range(1, 14)] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15]


def test_cal_labels_the_top_scored_items_of_a_logistic_regression_with_random_negatives(blobs):
    X, truth = blobs
    state = make_state(X, positives=[205])
    state.epoch = 4  # the fourth round: 4 items
    s = CALSampler(n_random=50)
    s.prepare(state, np.random.default_rng(0))
    picked = s.select(state, np.random.default_rng(0))
    assert picked.size == 4 and truth[picked].all()


# --- SEALS with the most-likely-positive criterion -----------------------------------------

def test_seals_positive_starts_nearest_to_the_positives_before_any_negative():
    state = make_state(LINE, positives=[3])
    s = SEALSSampler(batch_size=3, k=4, criterion="positive")
    s.prepare(state, np.random.default_rng(0))
    assert s.select(state, np.random.default_rng(0)).tolist() == [2, 4, 1]


def test_seals_takes_the_logistic_head(blobs):
    X, truth = blobs
    search = make_strategy("seals", epochs=3, criterion="positive", head="logistic", batch_size=10, k=10)
    assert isinstance(search.scorer.head, LogisticHead) and search.scorer.head.balanced
    from elsa.oracle import SimulatedOracle

    result = search.run(X, [200, 201], SimulatedOracle(truth), random_state=0)
    assert truth[result.queried_ids].sum() == 18  # every other positive within 30 labels
    with pytest.raises(ParameterError, match="unknown head 'svm'"):
        make_strategy("seals", head="svm")


# --- the logistic head ---------------------------------------------------------------------

def test_logistic_head_scores_as_scikit_learn_on_standardised_inputs():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(2.0, 3.0, size=(400, 5)).astype(np.float32)
    y = X[:, 0] + rng.normal(size=400) > 3
    head = LogisticHead(C=0.5, balanced=True).prepare(X).fit(X[:100], y[:100], random_state=0)
    Xs = (X - X.mean(0)) / X.std(0)
    ref = LogisticRegression(C=0.5, class_weight="balanced").fit(Xs[:100], y[:100]).decision_function(Xs)
    np.testing.assert_allclose(head.decision_function(X), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(head.confidence(X), np.tanh(ref / 2), atol=1e-4)


# --- NN that keeps going ---------------------------------------------------------------------

def test_nn_keep_going_searches_around_every_positive_when_the_frontier_is_empty():
    state = make_state(LINE, positives=[0, 7], frontier=[])
    assert NearestNeighbourSampler(a=2).select(state, None).size == 0
    assert NearestNeighbourSampler(a=3, keep_going=True).select(state, None).tolist() == [1, 6, 2]


# --- the default: rank average of the k-NN model and the logistic head ----------------------

def test_rank_sum_breaks_ties_by_the_second_score_then_position():
    from elsa.samplers._ranks import rank_sum_order, top_by_rank_sum

    rank_a = np.array([1.0, 2, 3, 4, 5])
    b = np.array([1.0, 5, 2, 4, 3])  # its ranks are itself: sums 2, 7, 5, 8, 8
    assert rank_sum_order(rank_a, b, 3).tolist() == [3, 4, 1]  # 8 and 8: the larger b first
    assert top_by_rank_sum(rank_a, b, 3, start=1).tolist() == [3, 4, 1]
    assert rank_sum_order(rank_a, -rank_a, 5).tolist() == [0, 1, 2, 3, 4]  # all sums 6: by b


def test_ranks_with_a_common_value_sort_only_the_others_and_equal_the_full_ranks():
    from elsa.samplers._ranks import percentile_ranks, ranks_with_common_value

    assert percentile_ranks(np.array([0.3, 0.1, 0.3, 0.2])).tolist() == [3.5, 1.0, 3.5, 2.0]
    rng = np.random.default_rng(0)
    for common_share in (0.0, 0.5, 0.99, 1.0):
        values = rng.integers(0, 6, 500) / 10.0  # ties among the others too, some equal to the common value
        common = rng.random(500) < common_share
        values[common] = 0.2
        np.testing.assert_array_equal(ranks_with_common_value(values, common, 0.2), percentile_ranks(values))


@pytest.mark.parametrize("case", ["agree", "disagree", "ties", "constant"])
def test_the_page_by_partial_sorting_is_the_page_by_full_sorting(case):
    from elsa.samplers._ranks import percentile_ranks, rank_sum_order, top_by_rank_sum

    rng = np.random.default_rng(1)
    n = 20_000
    a = rng.random(n)
    b = {"agree": a + rng.normal(0, 0.1, n), "disagree": -a + rng.normal(0, 0.01, n),
         "ties": rng.integers(0, 50, n).astype(float), "constant": np.zeros(n)}[case]
    rank_a = percentile_ranks(np.round(a, 2))
    for count in (1, 10, 30):
        np.testing.assert_array_equal(top_by_rank_sum(rank_a, b, count, start=8), rank_sum_order(rank_a, b, count))


def test_blend_labels_random_items_before_any_positive_then_searches_around_them(blobs):
    from elsa.samplers import BlendSampler
    from elsa.samplers._ranks import percentile_ranks, rank_sum_order

    X, truth = blobs
    state = make_state(X, negatives=[0, 1])
    s = BlendSampler(batch_size=10, k=10, n_random=20)
    first = s.select(state, np.random.default_rng(0))
    assert first.size == 10 and not np.isin(first, [0, 1]).any()
    state = make_state(X, positives=[205], negatives=[0, 1])
    page = s.select(state, np.random.default_rng(0))
    assert page.size == 10 and truth[page].all()  # ten of the other 19 positives from one seed
    # the same page as ranking every unlabelled item by the mean of its two ranks, fully sorted
    unlabelled = np.flatnonzero(~state.labelled)
    z = s.head_scores(state, np.random.default_rng(0))[unlabelled].astype(np.float64)
    p = s._model.probabilities(unlabelled)
    assert unlabelled[rank_sum_order(percentile_ranks(p), z, 10)].tolist() == page.tolist()
