import numpy as np
import pytest

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.exceptions import ParameterError
from elsa.simulation import draw_seeds, make_rare, simulate


def test_make_rare_keeps_every_negative_and_thins_the_target_to_the_fraction():
    labels = np.r_[np.zeros(990, int), np.ones(500, int)]
    keep = make_rare(labels, 1, 0.01, random_state=0)
    assert (labels[keep] == 0).sum() == 990
    assert (labels[keep] == 1).sum() == 10  # 10 / 1000 = 1 %
    assert np.array_equal(keep, np.sort(keep))
    with pytest.raises(ParameterError, match="class 7 has no members"):
        make_rare(labels, 7, 0.01)


def test_draw_seeds_are_distinct_positives_and_reproducible():
    truth = np.arange(100) % 10 == 0
    a, b = draw_seeds(truth, 5, 3), draw_seeds(truth, 5, 3)
    assert np.array_equal(a, b) and truth[a].all() and np.unique(a).size == 5


def test_adding_repeats_does_not_change_earlier_runs(blobs):
    X, truth = blobs
    labels = truth.astype(int)
    one = simulate(X, labels, 1, SearchPlan("elsa", epochs=3, random_state=9), trial=Trial(repeats=1))
    three = simulate(X, labels, 1, SearchPlan("elsa", epochs=3, random_state=9), trial=Trial(repeats=3))
    assert one["runs"][0]["curve"] == three["runs"][0]["curve"]
    assert one["runs"][0]["seed_ids"] == three["runs"][0]["seed_ids"]
    assert three["runs"][1]["seed_ids"] != three["runs"][0]["seed_ids"]


def test_same_seeds_for_every_strategy_at_the_same_random_state(blobs):
    X, truth = blobs
    labels = truth.astype(int)
    seeds = {s: simulate(X, labels, 1, SearchPlan(s, epochs=1, random_state=5))["runs"][0]["seed_ids"]
             for s in ("elsa", "nn", "random")}
    assert len({tuple(v) for v in seeds.values()}) == 1


@pytest.mark.parametrize("strategy", ["elsa", "seals", "greedys", "nn"])
def test_found_at_a_smaller_budget_equals_a_run_with_that_budget(strategy):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (300, 6)), rng.normal(2.5, 1, (30, 6))]).astype(np.float32)
    labels = np.r_[np.zeros(300, int), np.ones(30, int)]
    big = simulate(X, labels, 1, SearchPlan(strategy, params={"a": 20} if strategy != "seals" else {"batch_size": 30}, budget=200, epochs=1000, random_state=2),
                   trial=Trial(found_at=(37, 90, 150)))
    for b in (37, 90, 150):
        small = simulate(X, labels, 1, SearchPlan(strategy, params={"a": 20} if strategy != "seals" else {"batch_size": 30}, budget=b, epochs=1000, random_state=2))
        assert big["runs"][0]["found_at"][str(b)] == small["runs"][0]["found"]
