"""The default search: a page shared between rankings by their record on their own proposals."""

import numpy as np
import pytest

from elsa.exceptions import ParameterError
from elsa.samplers import KNNSearchSampler, PortfolioSampler
from elsa.search import make_strategy
from elsa.oracle import SimulatedOracle
from elsa.state import NEGATIVE, POSITIVE, UNLABELLED, UNSURE, Proposal
from helpers import make_state


def test_before_any_positive_the_page_is_random_and_owned_by_no_ranking(blobs):
    X, _ = blobs
    state = make_state(X, negatives=[0, 1])
    s = PortfolioSampler(k=10, n_random=20)
    page = s.propose(state, np.random.default_rng(0))
    assert page.ids.size == 10 and not np.isin(page.ids, [0, 1]).any()
    assert page.owners == ("portfolio/random",) * 10


def test_the_record_counts_each_rankings_own_answers_discounted_by_age():
    state = make_state(np.arange(8.0), positives=[0, 2, 4], negatives=[1, 3])
    state.answers[5] = UNSURE
    state.epoch = 3
    state.proposals = [
        Proposal(np.array([0, 1, 2]), ("portfolio/knn", "portfolio/knn", "portfolio/blend:1"), epoch=1),
        Proposal(np.array([3, 4, 5, 6]), ("portfolio/blend:0.01", "nn", "portfolio/knn", "portfolio/knn"), epoch=2),
    ]
    s = PortfolioSampler(discount=0.5)
    assert s.parts == ("knn", "blend:0.01", "blend:1", "head:1")
    hits, misses = s.record(state)
    # epoch 1 is two rounds old (weight 0.25), epoch 2 one (0.5); another sampler's item (4),
    # an unsure answer (5) and an unanswered item (6) count for nothing
    assert hits.tolist() == [0.25, 0.0, 0.25, 0.0] and misses.tolist() == [0.25, 0.5, 0.0, 0.0]
    state.answers[0] = UNLABELLED  # the answer was taken back
    assert s.record(state)[0].tolist() == [0.0, 0.0, 0.25, 0.0]


def test_a_ranking_that_keeps_missing_gets_no_slot(blobs):
    X, truth = blobs
    positives, negatives = list(range(200, 210)), list(range(10))
    state = make_state(X, positives=positives, negatives=negatives)
    state.epoch = 2
    state.proposals = [Proposal(np.array(positives + negatives), ("portfolio/knn",) * 10 + (
        "portfolio/blend:0.01",) * 4 + ("portfolio/blend:1",) * 3 + ("portfolio/head:1",) * 3, epoch=1)]
    s = PortfolioSampler(k=10, n_random=20, discount=1.0)
    page = s.propose(state, np.random.default_rng(0))
    # posteriors Beta(11, 2) against Beta(2, 5), Beta(1, 5) and Beta(1, 5)
    assert page.owners == ("portfolio/knn",) * 10
    knn = KNNSearchSampler(k=10, batch_size=10).select(state, np.random.default_rng(0))
    assert page.ids.tolist() == knn.tolist()


def test_without_a_record_the_lead_ranking_gets_most_slots(blobs):
    X, _ = blobs
    state = make_state(X, positives=[205], negatives=[0, 1])
    s = PortfolioSampler(k=10, n_random=20)
    hits, misses = s.prior
    assert s.lead == "blend:0.01" and hits.tolist() == [1, 2, 1, 1] and misses.tolist() == [2, 1, 2, 2]
    rng = np.random.default_rng(0)
    owners = [o for _ in range(30) for o in s.propose(state, rng).owners]
    # P(a Beta(2, 1) draw beats three Beta(1, 2) draws) is about 0.65, though a ranking whose next item is
    # already on the page passes the slot on
    assert owners.count("portfolio/blend:0.01") > 0.4 * len(owners)
    flat = PortfolioSampler(k=10, n_random=20, lead=None)
    assert flat.prior[0].tolist() == flat.prior[1].tolist() == [1, 1, 1, 1]
    with pytest.raises(ParameterError, match="lead 'blend:2'"):
        PortfolioSampler(lead="blend:2")
    assert PortfolioSampler(rankings="knn,head:1").lead is None  # no blend:0.01 to lead


def test_the_registrys_default_rankings_are_the_samplers():
    from elsa.samplers.portfolio import RANKINGS
    from elsa.search.registry import DEFAULTS

    assert DEFAULTS["rankings"] == RANKINGS and PortfolioSampler().parts == tuple(RANKINGS.split(","))


def test_a_search_records_who_proposed_each_item_and_finds_the_blob(blobs):
    X, truth = blobs
    seen = []
    search = make_strategy("portfolio", k=10, n_random=20, budget=30)
    result = search.run(X, [205], SimulatedOracle(truth), random_state=0, progress=False,
                        callback=lambda rnd, st: seen.append(st))
    assert [r.ids.size for r in result.rounds] == [10, 10, 10]
    assert int(truth[result.queried_ids].sum()) == 19  # every other positive of the blob
    proposals = seen[-1].proposals
    assert [p.epoch for p in proposals] == [1, 2, 3]
    for rnd, prop in zip(result.rounds, proposals):
        assert prop.ids.tolist() == rnd.ids.tolist()
        assert set(prop.owners) <= {"portfolio/knn", "portfolio/blend:0.01", "portfolio/blend:1", "portfolio/head:1"}
        assert rnd.sources == {o: prop.owners.count(o) for o in set(prop.owners)}


def test_the_same_random_state_gives_the_same_search(blobs):
    X, truth = blobs
    runs = [make_strategy("portfolio", k=10, n_random=20, budget=40).run(
        X, [205], SimulatedOracle(truth), random_state=7, progress=False).queried_ids.tolist() for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("bad", [{"discount": 0.0}, {"discount": 1.5}, {"rankings": ("blend:0",)},
                                 {"rankings": "head"}, {"rankings": "knn,knn"}, {"rankings": ""}, {"rankings": "svm:1"}, {"rankings": "mlp:1"}, {"batch_size": 0}])
def test_bad_parameters_are_refused_by_name(bad):
    with pytest.raises(ParameterError, match=next(iter(bad))):
        PortfolioSampler(**bad)


def test_the_rankings_are_the_k_nn_models_the_rank_averages_and_the_head_alone(blobs):
    X, _ = blobs
    state = make_state(X, positives=[200, 201, 202], negatives=[0, 1, 2])
    s = PortfolioSampler(k=10, n_random=20)
    s.prepare(state, np.random.default_rng(0))
    lists = s.top_lists(state, np.random.default_rng(1))
    assert set(lists) == set(s.parts) and s.head_cs == (0.01, 1.0)  # head:1 shares blend:1's head
    knn = KNNSearchSampler(k=10, batch_size=10).select(state, np.random.default_rng(0))
    assert lists["knn"].tolist() == knn.tolist()
    # the head alone: the C = 1 head's ten best unlabelled items by its decision function
    z = s._heads[1].decision_function(X)
    z[state.labelled] = -np.inf
    assert sorted(lists["head:1"].tolist()) == sorted(np.argsort(-z, kind="stable")[:10].tolist())
    only_knn = PortfolioSampler(k=10, rankings="knn, head:1.0", lead=None)
    only_knn.prepare(state, np.random.default_rng(0))
    assert only_knn.parts == ("knn", "head:1") and only_knn.head_cs == (1.0,)
    assert only_knn.top_lists(state, np.random.default_rng(1))["knn"].tolist() == knn.tolist()


def test_the_mlp_ranking_is_its_own_heads_best_unlabelled_items(blobs):
    X, truth = blobs
    state = make_state(X, positives=[200, 201, 202], negatives=[0, 1, 2])
    s = PortfolioSampler(k=10, n_random=20, rankings="knn,mlp", lead=None)
    assert s.parts == ("knn", "mlp") and s.head_cs == ()  # no logistic head to fit
    s.prepare(state, np.random.default_rng(0))
    lists = s.top_lists(state, np.random.default_rng(1))
    assert s._mlp.is_fitted and lists["knn"].tolist() != lists["mlp"].tolist()
    z = s._mlp.decision_function(X)
    z[state.labelled] = -np.inf
    assert sorted(lists["mlp"].tolist()) == sorted(np.argsort(-z, kind="stable")[:10].tolist())
    assert truth[lists["mlp"]].all()  # the blobs' positive cluster is easy for a fitted MLP
    # the default has no MLP; with it, the fifth ranking's record starts from Beta(1, 2)
    assert PortfolioSampler()._mlp is None and "mlp" not in PortfolioSampler().parts
    five = PortfolioSampler(rankings="knn,blend:0.01,blend:1,head:1,mlp")
    assert five.prior[0].tolist() == [1, 2, 1, 1, 1] and five.prior[1].tolist() == [2, 1, 2, 2, 2]


def test_a_search_with_the_mlp_ranking_credits_its_own_picks(blobs):
    X, truth = blobs
    result = make_strategy("portfolio", k=10, n_random=20, budget=60, rankings="knn,blend:0.01,mlp").run(
        X, [205], SimulatedOracle(truth), random_state=3, progress=False)
    sources = {k for rnd in result.rounds for k in rnd.sources}
    assert "portfolio/mlp" in sources and sources <= {"portfolio/knn", "portfolio/blend:0.01", "portfolio/mlp",
                                                       "portfolio/random"}
