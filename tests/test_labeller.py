"""The labeller model (issue 40): beliefs in the answers, and the labeller's estimated error rate."""

import numpy as np
import pytest

from elsa.head.knn import KNNModel
from elsa.index.graph import neighbour_graph
from elsa.oracle import NoisyOracle, SimulatedOracle
from elsa.plan import SearchPlan
from elsa.search import make_strategy
from elsa.search.labeller import LabellerModel, answer_tally
from elsa.simulation import Trial, simulate
from elsa.state import Proposal
from helpers import make_state


def line_state(asked=range(12)):
    """Items 0-11 on a line: 0-5 "yes" except 3, 6-11 "no" except 9; ``asked`` were proposed
    (the others are seeds, or unanswered)."""
    positives = [0, 1, 2, 4, 5, 9]
    state = make_state(np.arange(12, dtype=np.float32), positives=positives,
                       negatives=[i for i in range(12) if i not in positives])
    asked = np.asarray(list(asked), np.int64)
    state.proposals.append(Proposal(asked, ("page",) * asked.size, epoch=1))
    state.queries, state.epoch = asked.size, 1
    return state


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_an_answer_is_weighed_against_its_neighbours_answers():
    # k = 2: each item's neighbours are the two beside it (0's are 1 and 2). Flip rate 0.2,
    # one round: the hit rate r = 6/12, prior (r + yes among the 2 neighbours) / 3, then
    # the answer's log-likelihood ratio +-log(0.8 / 0.2) = +-log 4.
    state = line_state()
    q = LabellerModel(k=2, flip_rate=0.2, iterations=1).update(state)
    lr = np.log(4.0)
    prior_9, prior_3, prior_0 = 0.5 / 3, 2.5 / 3, 2.5 / 3  # 9: two "no" beside it; 3 and 0: two "yes"
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    assert q[9] == pytest.approx(logistic(logit(prior_9) + lr))  # a lone "yes": 0.444, in doubt
    assert q[3] == pytest.approx(logistic(logit(prior_3) - lr))  # a lone "no" among "yes": 0.556
    assert q[0] == pytest.approx(logistic(logit(prior_0) + lr))  # a "yes" among "yes": 0.952
    assert state.belief is q


def test_a_second_answer_that_agrees_doubles_the_evidence_and_one_that_disagrees_cancels_it():
    state = line_state()
    state.tally = answer_tally(state).copy()
    state.tally[9] = (2, 0)
    twice = LabellerModel(k=2, flip_rate=0.2, iterations=1).update(state)[9]
    state.tally[9] = (1, 1)
    split = LabellerModel(k=2, flip_rate=0.2, iterations=1).update(state)[9]
    prior = 0.5 / 3
    assert twice == pytest.approx(logistic(np.log(prior / (1 - prior)) + 2 * np.log(4.0)))
    assert split == pytest.approx(prior)


def test_seeds_are_certain_and_a_perfect_labeller_is_taken_at_its_word():
    state = line_state(asked=[i for i in range(12) if i != 9])  # 9 is a seed: the user's own example
    q = LabellerModel(k=2, flip_rate=0.0).update(state)
    assert q[9] == 1.0
    assert np.allclose(q, state.answers == 1, atol=1e-3)  # 3, a "no" among "yes", stays a "no"


def test_the_flip_rate_is_estimated_from_answers_that_disagree_with_their_neighbourhoods():
    # 20 tight groups of 20 on a line, alternately positive and negative, every answer
    # flipped with probability 0.2 (77 of 400 here).
    rng = np.random.default_rng(0)
    X = (np.repeat(np.arange(20) * 100.0, 20) + rng.normal(0, 1, 400)).astype(np.float32)
    truth = np.repeat(np.arange(20) % 2 == 0, 20)
    said = truth ^ (rng.random(400) < 0.2)
    state = make_state(X, positives=np.flatnonzero(said), negatives=np.flatnonzero(~said))
    state.proposals.append(Proposal(np.arange(400), ("page",) * 400, epoch=1))
    model = LabellerModel(k=10, prior_answers=0.0)
    q = model.update(state)
    assert (said != truth).sum() == 77
    assert 0.12 < model.eps < 0.19  # 0.137: an estimate from 10 neighbours each, on the low side
    assert ((q > 0.5) != truth).sum() == 21  # the neighbourhoods outvote most of the 77 mistakes
    with_prior = LabellerModel(k=10)  # Beta(1, 50): 400 answers still outweigh it
    with_prior.update(state)
    assert 0.1 < with_prior.eps < model.eps


def test_beliefs_of_zero_and_one_count_as_the_answers_do():
    state = line_state()
    graph = neighbour_graph(state.X, 2, index=state.index, cache=False, progress=False)
    hard = KNNModel(2).attach(graph)
    hard.sync(state)
    soft = KNNModel(2).attach(graph)
    state.belief = (state.answers == 1).astype(float)
    soft.sync(state)
    assert np.array_equal(hard.probabilities(), soft.probabilities())
    state.belief = None  # back to the answers: recounted from zero
    soft.sync(state)
    assert np.array_equal(hard.probabilities(), soft.probabilities())


class TruthModel(LabellerModel):
    """A labeller model that knows the truth: what the search would do with a perfect labeller."""

    def __init__(self, truth):
        super().__init__(k=10)
        self.truth = truth

    def update(self, state):
        state.belief = np.where(state.decided, self.truth, False).astype(float)
        return state.belief


def test_every_model_of_the_default_reads_the_beliefs(blobs):
    # With beliefs that are the truth, a search under a noisy labeller asks exactly what the
    # noise-free search asks: no model reads the answers behind the beliefs' back.
    X, truth = blobs
    seeds = np.flatnonzero(truth)[:3]
    clean = make_strategy("portfolio", budget=60, k=10).run(X, seeds, SimulatedOracle(truth), random_state=3,
                                                            progress=False)
    search = make_strategy("portfolio", budget=60, k=10)
    search.labeller = TruthModel(truth)
    noisy = NoisyOracle(truth, 0.3, random_state=1)
    believed = search.run(X, seeds, noisy, random_state=3, progress=False)
    assert noisy.flips > 5
    assert np.array_equal(clean.queried_ids, believed.queried_ids)
    plain = make_strategy("portfolio", budget=60, k=10).run(X, seeds, NoisyOracle(truth, 0.3, random_state=1),
                                                            random_state=3, progress=False)
    assert not np.array_equal(clean.queried_ids, plain.queried_ids)  # the noise does change the search


def test_weigh_answers_in_a_plan_and_a_simulation(blobs):
    X, truth = blobs
    plan = SearchPlan(budget=40, params={"k": 10}, weigh_answers=True, second_looks=True)
    assert SearchPlan.from_dict(plan.to_dict()) == plan
    assert plan.build().labeller is not None and SearchPlan(budget=40).build().labeller is None
    doc = simulate(X, truth.astype(int), 1, plan, seeds=3, trial=Trial(repeats=2, noise=0.2, progress=False))
    assert doc["params"]["weigh_answers"]["flip_rate"] == "auto"
    assert all(0.0 <= run["flip_rate_estimate"] <= 0.45 for run in doc["runs"])
    again = simulate(X, truth.astype(int), 1, plan, seeds=3, trial=Trial(repeats=2, noise=0.2, progress=False))
    key = lambda d: [(r["found"], r["curve"], r["flip_rate_estimate"]) for r in d["runs"]]  # noqa: E731
    assert key(again) == key(doc)  # a fixed random state repeats itself


def test_a_search_rebuilt_from_its_answers_weighs_them_as_the_live_one_did(blobs):
    # A labelling session keeps no tally: it rebuilds the state from its rounds (one answer
    # an item) before each round, and the beliefs must come out the same.
    X, truth = blobs
    search = make_strategy("portfolio", budget=30, k=10, weigh_answers=True)
    states = []
    search.run(X, np.flatnonzero(truth)[:3], NoisyOracle(truth, 0.2, random_state=0), random_state=1,
               progress=False, callback=lambda rnd, st: states.append(st))
    live = states[-1]
    rebuilt = search.resume(X, live.index, live.answers.copy(), list(live.proposals), live.frontier,
                            live.epoch, final_done=False, stalled=False)
    assert rebuilt.tally is None and rebuilt.belief is None
    search.next_step(rebuilt, np.random.default_rng(0))
    assert np.array_equal(rebuilt.belief, live.belief)
    assert 0.0 < live.belief[live.decided].min() < live.belief[live.decided].max() <= 1.0
