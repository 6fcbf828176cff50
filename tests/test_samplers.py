"""Value tests on cases small enough to reason about, plus one conformance template."""

import dataclasses

import numpy as np
import pytest

from elsa.exceptions import ParameterError
from elsa.samplers import (
    USL,
    BlendSampler,
    CALSampler,
    CandidatePool,
    ConfidenceSampler,
    ENSSampler,
    FarS,
    FinalSearch,
    GreedyS,
    GridS,
    KNNSearchSampler,
    LatentSampler,
    NearestNeighbourSampler,
    PortfolioSampler,
    RandomSampler,
    RandS,
    SEALSSampler,
    UncertaintySampler,
)
from elsa.search import STRATEGIES, ActiveSearch, make_strategy
from elsa.search.registry import SPECS
from helpers import make_state

LINE = np.arange(20, dtype=np.float32)  # item i sits at x = i


# --- nearest neighbours (Algorithm 1) ---------------------------------------------------------

def test_nn_is_a_distance_to_set_query_around_the_frontier():
    # Frontier items 5 and 14; 4 and 15 are labelled. Closest unlabelled to {5, 14}: 6 and 13
    # (distance 1), then 3, 7, 12, 16 (distance 4): ties broken by id.
    state = make_state(LINE, positives=[5, 14], negatives=[4, 15])
    assert NearestNeighbourSampler(a=4).select(state, np.random.default_rng(0)).tolist() == [6, 13, 3, 7]


def test_nn_searches_only_around_the_last_positives():
    # Positives 0 and 19 are known, but only 19 is in the frontier.
    state = make_state(LINE, positives=[0, 19], frontier=[19])
    assert NearestNeighbourSampler(a=2).select(state, np.random.default_rng(0)).tolist() == [18, 17]


def test_nn_with_empty_frontier_returns_nothing():
    state = make_state(LINE, positives=[3], frontier=[])
    assert NearestNeighbourSampler(a=5).select(state, np.random.default_rng(0)).size == 0


# --- RandS (Algorithm 2, appendix B) -----------------------------------------------------------

# Three pairs of items: (0, 1) 0.5 apart, (10, 11) 0.1 apart, (20, 21) 2 apart.
PAIRS = np.array([0.0, 0.5, 10.0, 10.1, 20.0, 22.0], np.float32)


def test_rands_keeps_the_b_closest_pairs_and_labels_the_neighbours():
    # l = 3 draws all three of {0, 2, 4}; their nearest neighbours (not themselves) are 1 (0.25),
    # 3 (0.01) and 5 (4.0). b = 2 keeps the two closest pairs: neighbours 3, then 1.
    state = make_state(PAIRS)
    cands = ConfidenceSampler(alpha=0.5)
    state.scores = np.array([1, -1, 1, -1, 1, -1], np.float32)  # mean 0, std 1: candidates 0, 2, 4 (> 0.5)
    picked = RandS(l=3, b=2, b_growth=0.0, candidates=cands).select(state, np.random.default_rng(0))
    assert picked.tolist() == [3, 1]


def test_rands_b_grows_linearly_with_positives_found():
    r = RandS(l=5, b=10, b_growth=0.5)
    assert [r.current_b(n) for n in (0, 1, 2, 9, 100)] == [10, 10, 11, 14, 60]


def test_rands_takes_more_neighbours_per_point_when_b_exceeds_l():
    # One candidate (item 10 on the line) and b = 3: its 3 nearest unlabelled neighbours.
    state = make_state(LINE, negatives=[9])
    state.scores = np.where(np.arange(20) == 10, 1.0, -1.0).astype(np.float32)
    picked = RandS(l=1, b=3, b_growth=0.0, candidates=ConfidenceSampler(alpha=1.0)).select(
        state, np.random.default_rng(0)
    )
    assert picked.tolist() == [11, 8, 12]


def test_rands_without_candidates_draws_from_all_unlabelled():
    state = make_state(PAIRS, negatives=[0, 1, 2, 3, 4])
    # Only item 5 is unlabelled: it is drawn, but it has no unlabelled neighbour to offer.
    assert RandS(l=3, b=3).select(state, np.random.default_rng(0)).size == 0


# --- the active-learning sampler (Algorithm 3) and the final search -----------------------------

def test_confidence_sampler_threshold_is_mean_plus_alpha_std_over_the_whole_pool():
    scores = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1], np.float32)  # mean .2, std .4
    state = make_state(np.zeros(10), negatives=[9], scores=scores)
    assert ConfidenceSampler(alpha=1.0).select(state, None).tolist() == [8]  # .2 + .4 < 1; 9 is labelled
    assert ConfidenceSampler(alpha=2.5).select(state, None).size == 0  # 1.2 > 1


def test_confidence_sampler_before_the_head_is_trained_offers_every_unlabelled_item():
    state = make_state(np.zeros(5), positives=[1])
    assert ConfidenceSampler().select(state, None).tolist() == [0, 2, 3, 4]


SCORES = np.array([0.9, -1, 0.2, 0.95, -1, -1, 0.5, -1], np.float32)


def test_final_search_top_within_remaining_budget():
    state = make_state(np.zeros(8), positives=[3], scores=SCORES, budget_left=2)
    assert FinalSearch("auto").select(state, None).tolist() == [0, 6]


def test_final_search_top_with_explicit_size():
    state = make_state(np.zeros(8), positives=[3], scores=SCORES)
    assert FinalSearch("top", size=3).select(state, None).tolist() == [0, 6, 2]


def test_final_search_threshold_without_budget():
    # mean = -0.181, std = 0.847: mean + 0.5 std = 0.242 -> items 0 (0.9) and 6 (0.5), not 2 (0.2);
    # 3 (0.95) is labelled. With alpha2 = 1 the threshold is 0.666: item 0 only.
    state = make_state(np.zeros(8), positives=[3], scores=SCORES)
    assert FinalSearch("auto", alpha2=0.5).select(state, None).tolist() == [0, 6]
    assert FinalSearch("threshold", alpha2=1.0).select(state, None).tolist() == [0]


def test_final_search_top_needs_a_size_or_budget():
    state = make_state(np.zeros(8), scores=SCORES)
    with pytest.raises(ParameterError, match="final_size or a label budget"):
        FinalSearch("top").select(state, None)


def test_bad_parameters_are_named():
    with pytest.raises(ParameterError, match="a must be >= 1, got 0"):
        NearestNeighbourSampler(a=0)
    with pytest.raises(ParameterError, match="b_growth must be >= 0"):
        RandS(b_growth=-1)
    with pytest.raises(ParameterError, match="final must be one of"):
        FinalSearch("sometimes")


# --- conformance: every sampler ----------------------------------------------------------------

def _conformance_state():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 4)).astype(np.float32)
    state = make_state(X, positives=[0, 1, 2], negatives=list(range(3, 30)), budget_left=15)
    state.scores = rng.uniform(-1, 1, 120).astype(np.float32)
    state.n_found = 4
    return state


SAMPLERS = [
    PortfolioSampler(batch_size=10, k=10),  # the default first
    PortfolioSampler(batch_size=10, k=10, rankings="knn,head:1", lead=None),
    BlendSampler(batch_size=10, k=10),
    CALSampler(n_random=20),
    ENSSampler(k=10, batch_size=3, horizon=20),
    KNNSearchSampler(k=10, batch_size=5),
    NearestNeighbourSampler(a=10),
    RandS(l=8, b=12, candidates=ConfidenceSampler(0.0)),
    RandS(l=8, b=12, candidates=None),
    ConfidenceSampler(0.5),
    RandomSampler(batch_size=10),
    FinalSearch("auto"),
    UncertaintySampler(batch_size=10),
    GreedyS(b=8, low=0.5, high=0.9),
    FarS(b=8, alpha=0.0),
    GridS(b=8, cells=4),
    LatentSampler("uniform", b=8, dims=3),
    LatentSampler("clustered-normal", b=8, dims=3, clusters=3),
    USL(m=6, k=5, dims=3),
    SEALSSampler(batch_size=10, k=5),
    SEALSSampler(batch_size=10, k=5, criterion="id"),
]


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda s: repr(s)[:60])
def test_sampler_conformance(sampler):
    state = _conformance_state()
    before = state.answers.copy()
    sampler.prepare(state, np.random.default_rng(1))
    picked = sampler.select(state, np.random.default_rng(7))
    assert picked.dtype.kind == "i"
    assert picked.size > 0
    assert np.unique(picked).size == picked.size, "no item twice"
    assert not state.labelled[picked].any(), "never an item already labelled"
    assert np.array_equal(state.answers, before), "select does not change the state"
    state2 = _conformance_state()
    sampler.prepare(state2, np.random.default_rng(1))
    again = sampler.select(state2, np.random.default_rng(7))
    assert np.array_equal(picked, again), "same random state, same picks"


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_strategy_spec_builds_its_loop(name):
    # Strategies are data: each spec names a loop shape and a sampler the factory can build,
    # with the spec's parameters; a spec naming a sampler that does not exist is an error.
    search = make_strategy(name, budget=10)
    spec = SPECS[name]
    roles = {role: getattr(search, role) for role in ActiveSearch.ROLES}
    if spec.sampler:
        explorer = roles["explore"]
        assert f"{type(explorer).__module__}:{type(explorer).__name__}" == "elsa.samplers." + spec.sampler
    assert (roles["cold_start"] is not None) == (spec.cold_start is not None)
    assert search.epochs == (None if spec.rounds else 10)


def test_a_spec_with_no_such_sampler_is_an_error(monkeypatch):
    monkeypatch.setitem(SPECS, "knn-search", dataclasses.replace(SPECS["knn-search"], sampler="knn_search:Nope"))
    with pytest.raises(ParameterError, match="names sampler 'knn_search:Nope', which elsa.samplers does not have"):
        make_strategy("knn-search")
