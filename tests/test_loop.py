import numpy as np
import pytest

from elsa.exceptions import ParameterError
from elsa.oracle import SimulatedOracle
from elsa.search import STRATEGIES, ActiveSearch, make_strategy
from elsa.samplers import NearestNeighbourSampler


def run(strategy, X, truth, seeds, random_state=0, **kw):
    return make_strategy(strategy, **kw).run(X, seeds, SimulatedOracle(truth), random_state=random_state)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("budget", [0, 1, 37, 150])
def test_budget_is_never_exceeded_and_nothing_is_labelled_twice(blobs, strategy, budget):
    X, truth = blobs
    result = run(strategy, X, truth, [200, 201], budget=budget, epochs=20)
    queried = result.queried_ids
    assert queried.size <= budget
    assert np.unique(queried).size == queried.size
    assert not np.isin(queried, [200, 201]).any(), "seeds are given, never queried"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_fixed_random_state_reproduces_the_run(blobs, strategy):
    X, truth = blobs
    a = run(strategy, X, truth, [205], random_state=11, epochs=4, budget=120)
    b = run(strategy, X, truth, [205], random_state=11, epochs=4, budget=120)
    assert np.array_equal(a.queried_ids, b.queried_ids)
    assert [r.sources for r in a.rounds] == [r.sources for r in b.rounds]


def test_different_random_states_differ_for_random_strategy(blobs):
    X, truth = blobs
    a = run("random", X, truth, [205], random_state=1, epochs=2)
    b = run("random", X, truth, [205], random_state=2, epochs=2)
    assert not np.array_equal(a.queried_ids, b.queried_ids)


def test_nn_walks_a_chain_and_stops_when_a_search_finds_nothing():
    # Positives at 0..9 on a line, negatives from 100 on. With a = 2, each epoch labels the two
    # closest unlabelled items to the last positives: {1, 2}, {3, 4}, ..., {9, 10} (item 10 is the
    # negative at x = 100), then around 9 again: {11, 12}, both negative. The frontier is empty
    # and the search stops.
    X = np.r_[np.arange(10), np.arange(100, 110)].astype(np.float32)[:, None]
    truth = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    result = run("nn", X, truth, [0], a=2, epochs=50)
    assert [r.ids.tolist() for r in result.rounds] == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]
    assert result.stop_reason == "no candidates"
    assert result.curve(truth) == [(0, 0), (2, 2), (4, 4), (6, 6), (8, 8), (10, 9), (12, 9)]


def test_curve_counts_truth_and_starts_at_zero(blobs):
    X, truth = blobs
    result = run("elsa", X, truth, [200, 201, 202], epochs=3)
    curve = result.curve(truth)
    assert curve[0] == (0, 0)
    assert [q for q, _ in curve] == list(np.cumsum([0] + [r.ids.size for r in result.rounds]))
    assert curve[-1][1] == int(truth[result.queried_ids].sum())


def test_elsa_finds_every_positive_of_separated_blobs(blobs):
    X, truth = blobs
    result = run("elsa", X, truth, [200], epochs=3)
    assert truth[result.queried_ids].sum() == 19  # all 20 positives minus the seed
    assert [r.kind for r in result.rounds][-1] in ("epoch", "final")


def test_epochs_limit_the_run(blobs):
    X, truth = blobs
    result = run("random", X, truth, [200], epochs=3, batch_size=10)
    assert [r.ids.size for r in result.rounds] == [10, 10, 10]
    assert result.stop_reason == "epochs"


def test_budget_cuts_nn_results_before_rands(blobs):
    X, truth = blobs
    result = run("elsa", X, truth, [200], epochs=1, budget=60, final="none")
    assert result.rounds[0].sources == {"nn": 50, "rands": 10}


def test_final_search_gets_the_remaining_budget(blobs):
    X, truth = blobs
    result = run("elsa", X, truth, [200], epochs=2, budget=190)
    assert result.rounds[-1].kind == "final"
    assert result.queries == 190


def test_unknown_strategy_and_foreign_parameter_are_usage_errors():
    with pytest.raises(ParameterError, match="unknown strategy 'fast'"):
        make_strategy("fast")
    with pytest.raises(ParameterError, match="strategy 'nn' does not take alpha1"):
        make_strategy("nn", alpha1=2.0)


def test_oracle_answering_the_wrong_number_of_labels_is_reported(blobs):
    X, _ = blobs

    class Broken:
        def label(self, ids):
            return np.ones(len(ids) - 1, bool)

    with pytest.raises(Exception, match="answered 49 labels for 50 items"):
        ActiveSearch(nn=NearestNeighbourSampler(50)).run(X, [0], Broken())


def test_get_params_describes_the_components_as_plain_json():
    import json

    params = make_strategy("elsa", a=20, budget=300).get_params()
    assert params["nn"] == {"sampler": "nn", "a": 20, "keep_going": False}
    assert params["explore"]["candidates"] == {"sampler": "confidence", "alpha": 1.0}
    assert params["scorer"] == "head" and params["budget"] == 300
    json.dumps(params)


@pytest.mark.parametrize("strategy", ["usl", "latent"])
def test_cold_start_picks_the_first_batch_without_seeds_then_hands_over(blobs, strategy):
    X, truth = blobs
    result = run(strategy, X, truth, [], epochs=4, a=10, b=10)
    first = result.rounds[0]
    assert list(first.sources) == [strategy] and 0 < first.ids.size <= 20
    found_at = next(i for i, r in enumerate(result.rounds) if r.answers.any())
    assert all(list(r.sources) == [strategy] for r in result.rounds[: found_at + 1])
    assert all("nn" in r.sources for r in result.rounds[found_at + 1 :] if r.kind == "epoch")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_can_start_without_seeds(blobs, strategy):
    X, truth = blobs
    result = run(strategy, X, truth, [], epochs=3, budget=150)
    if strategy in ("nn", "nn-large", "nn-keep-going"):
        assert result.queries == 0 and result.stop_reason == "no candidates"  # nothing to search around
    else:
        assert result.queries > 0
