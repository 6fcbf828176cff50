"""Second looks (issue 25): the answers the held-out k-NN model disagrees with are asked again."""

import numpy as np

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.oracle import SimulatedOracle
from elsa.search import make_strategy
from elsa.search.second_look import OWNER, SecondLooks, record_check
from elsa.simulation import simulate
from elsa.state import Proposal
from helpers import make_state


def line_state():
    """Items 0-11 on a line, all answered in one page: 0-5 "yes" except 3, 6-11 "no" except 9."""
    positives = [0, 1, 2, 4, 5, 9]
    state = make_state(np.arange(12, dtype=np.float32), positives=positives,
                       negatives=[i for i in range(12) if i not in positives])
    state.proposals.append(Proposal(np.arange(12), ("page",) * 12, epoch=1))
    state.queries, state.epoch = 12, 1
    return state


def test_the_strongest_disagreements_first_within_the_share():
    # k = 2: each item's neighbours are the items beside it (0's are 1 and 2). Held-out
    # p = (0.05 + positive neighbours) / (1 + labelled neighbours):
    #   9 "yes" between two "no": p = 0.05 / 3, disagreement 0.983
    #   3 "no" between two "yes": p = 2.05 / 3, disagreement 0.683
    #   2, 4 and 5 "yes" beside one "yes" and one "no" (3, or 6): p = 1.05 / 3, disagreement 0.65
    # and every other answer agrees with its neighbours more than not (disagreement <= 0.35).
    state = line_state()
    looks = SecondLooks(share=0.2, k=2)
    d = looks.disagreement(state, np.arange(12))
    assert np.allclose(d[[9, 3, 2, 4, 5]], [1 - 0.05 / 3, 2.05 / 3] + [1 - 1.05 / 3] * 3)
    assert (np.delete(d, [9, 3, 2, 4, 5]) <= 0.35 + 1e-9).all()
    assert looks.select(state).tolist() == [9, 3]  # floor(0.2 * 12) = 2 re-asks allowed


def test_each_answer_is_looked_at_once_and_never_twice_in_a_row():
    state = line_state()
    looks = SecondLooks(share=0.2, k=2)
    state.proposals.append(Proposal(np.array([9, 3]), (OWNER, OWNER), epoch=1))
    state.queries = 14
    assert looks.select(state).size == 0  # the last call was a second look: a page first
    state.proposals.append(Proposal(np.array([], np.int64), (), epoch=2))
    state.queries = 24
    assert looks.select(state).tolist() == [2, 4]  # 9 and 3 were asked again; ties by id
    assert SecondLooks(share=0.0, early_share=0.0, k=2).select(line_state()).size == 0


def test_seeds_and_unsure_answers_are_never_asked_again():
    state = line_state()
    state.proposals = [Proposal(np.array([0, 1, 2, 4, 5, 6, 7, 8, 10, 11]), ("page",) * 10, epoch=1)]
    state.answers[3] = 2  # unsure; 9 is a seed (never proposed)
    assert not np.isin(SecondLooks(share=1.0, k=2).select(state), [3, 9]).any()


class FirstAnswerWrong(SimulatedOracle):
    """Answers ``wrong`` wrongly the first time it is asked about it."""

    def __init__(self, truth, wrong):
        super().__init__(truth)
        self.wrong, self.asked = int(wrong), 0

    def label(self, ids):
        said = super().label(ids)
        hit = np.asarray(ids) == self.wrong
        if hit.any() and self.asked == 0:
            said[hit] = ~said[hit]
        self.asked += int(hit.sum())
        return said


def test_a_run_asks_again_counts_the_label_and_keeps_the_second_answer():
    # Two clumps on a line: 0-19 positive, 100-139 negative. Seeds 0 and 1; the labeller
    # first says "no" about positive 5, inside the clump of "yes".
    X = np.r_[np.arange(20), np.arange(100, 140)].astype(np.float32)[:, None]
    truth = np.r_[np.ones(20, bool), np.zeros(40, bool)]
    oracle = FirstAnswerWrong(truth, 5)
    search = make_strategy("knn-search", budget=30, k=4, batch_size=5, second_looks=SecondLooks(share=0.2, k=4))
    result = search.run(X, [0, 1], oracle, random_state=0, progress=False)
    checks = [r for r in result.rounds if r.kind == "check"]
    assert oracle.asked == 2 and any(5 in r.ids for r in checks)
    assert result.queries == 30 and result.rechecks == sum(r.ids.size for r in checks) >= 1
    ids = result.queried_ids
    assert np.unique(ids).size == ids.size == 30 - result.rechecks  # each item once
    assert result.answers[ids == 5].tolist() == [True]  # the second answer stands
    assert result.curve(truth)[-1] == (30, int(truth[ids].sum()))  # a second look finds nothing new
    assert result.curve()[-1][1] == int(result.answers.sum())


def test_off_by_default():
    assert make_strategy("portfolio", budget=10).second_looks is None


def test_a_changed_answer_moves_the_count_and_the_frontier():
    state = line_state()
    state.frontier = np.array([4, 5])
    state.n_found = 6
    changed = record_check(state, np.array([9, 3, 2]), np.array([False, True, True]))
    assert changed.tolist() == [True, True, False]
    assert state.answers[[9, 3, 2]].tolist() == [-1, 1, 1]
    assert state.n_found == 6  # one "yes" taken back, one "no" turned "yes"
    assert state.frontier.tolist() == [3, 4, 5]  # 3 is searched around now; 9 never was
    record_check(state, np.array([4]), np.array([False]))
    assert state.n_found == 5 and state.frontier.tolist() == [3, 5]


def test_simulate_reports_how_well_second_looks_aimed():
    # Two clumps; the oracle flips 30 % of answers. Every re-ask is a label (queries = budget),
    # found_at counts labels in the order spent, and the shares are of the run's own answers.
    X = np.r_[np.arange(60), np.arange(200, 600)].astype(np.float32)[:, None]
    y = np.r_[np.ones(60, int), np.zeros(400, int)]
    doc = simulate(X, y, 1, SearchPlan("knn-search", params={"k": 4, "batch_size": 5}, budget=200, second_looks=True, random_state=0),
                   seeds=3, trial=Trial(noise=0.3, found_at=(200,), progress=False))
    run = doc["runs"][0]
    assert run["queries"] == 200 and run["rechecks"] >= 1
    assert run["found_at"]["200"] == run["found"]
    assert run["wrong_first_answers"] >= 1 and 0 <= run["flips_rechecked"] <= 1 and 0 < run["rechecks_flipped"] <= 1
    assert doc["params"]["second_looks"]["share"] == 0.01 and doc["params"]["second_looks"]["max_share"] == 0.1
    off = simulate(X, y, 1, SearchPlan("knn-search", params={"k": 4, "batch_size": 5}, budget=200, random_state=0),
                   seeds=3, trial=Trial(noise=0.3, progress=False))["runs"][0]
    assert off["rechecks"] == 0 and off["flips_rechecked"] == 0.0 and off["rechecks_flipped"] is None


def test_the_allowance_grows_with_the_mistakes_found():
    # 1 % of the labels, plus 2 per answer a second look changed, at most 10 % of the labels
    # (the early allowance, 10 % of the first 100 labels, is turned off here).
    state = line_state()
    state.queries = 150
    looks = SecondLooks(k=2, early_share=0.0)
    assert looks.select(state).tolist() == [9]  # floor(0.01 * 150) = 1
    state.corrected = 1  # one answer changed: 1 + 2 = 3 re-asks allowed
    assert looks.select(state).tolist() == [9, 3, 2]
    state.corrected = 50  # capped at floor(0.1 * 150) = 15; only five answers disagree enough
    assert looks.select(state).tolist() == [9, 3, 2, 4, 5]


def test_the_first_labels_get_a_larger_allowance():
    state = line_state()
    state.queries = 30
    assert SecondLooks(k=2).select(state).tolist() == [9, 3, 2]  # floor(0.1 * 30) = 3
    state.queries = 500  # after the first 100 labels: max(floor(0.01 * 500), floor(0.1 * 100)) = 10
    assert SecondLooks(k=2).select(state).tolist() == [9, 3, 2, 4, 5]
    assert SecondLooks(k=2, early_labels=0).select(state).tolist() == [9, 3, 2, 4, 5]  # floor(0.01 * 500) = 5
    state.queries = 300
    assert SecondLooks(k=2, early_labels=0).select(state).tolist() == [9, 3, 2]  # floor(0.01 * 300) = 3
