"""The certified stop recall:R@C (sample-wait) and the model's estimate stop."""

import math

import numpy as np
import pytest

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.exceptions import ParameterError
from elsa.simulation import simulate
from elsa.state import POSITIVE, SearchState
from elsa.stopping import (
    EstimateStop,
    SampleCertificate,
    SampleWaitStop,
    make_rule,
    model_estimate,
    parse_stop,
    zero_miss_size,
)
from elsa.stopping.sample_wait import SPIKE, SampleHandOver


def test_zero_miss_size_by_hand():
    # C(7, m) / C(10, m): m = 5 gives 21 / 252 = 0.083, m = 6 gives 7 / 210 = 0.033
    assert zero_miss_size(10, 3, 0.05) == 6 and zero_miss_size(10, 3, 0.09) == 5
    # one hidden item among 100 is missed with probability (100 - m) / 100
    assert zero_miss_size(100, 1, 0.05) == 95 and zero_miss_size(100, 1, 0.051) == 95
    assert zero_miss_size(5, 9, 0.05) == 0  # nine cannot hide among five: nothing to rule out
    assert zero_miss_size(5, 0, 0.05) is None
    for n, M in [(63000, 8), (60000, 64), (500, 3)]:  # exact: the size misses M with <= alpha, one fewer does not
        m = zero_miss_size(n, M, 0.05)
        miss = [math.exp(sum(math.log1p(-k / (n - i)) for i in range(M))) for k in (m, m - 1)]
        assert miss[0] <= 0.05 < miss[1]


def test_the_first_sample_is_within_the_spike_of_the_best_fixed_test():
    for n, found in [(63000, 63), (60000, 600), (500, 30)]:
        cert = SampleCertificate(n, found, 0.9, 0.95)
        M = found // 9 + 1  # tolerable(found) + 1 at recall 0.9
        assert zero_miss_size(n, M, 0.05) <= cert.first <= zero_miss_size(n, M, 0.05 * SPIKE)
    assert SampleCertificate(1000, 63, 0.9, 0.95, unsure=2).labels_needed(0, 63) > SampleCertificate(
        1000, 63, 0.9, 0.95).first  # unsure answers count as missed: fewer may hide
    assert not SampleCertificate(1000, 0, 0.9, 0.95).possible


def test_the_race_moves():
    cert = SampleCertificate(1000, 63, 0.9, 0.95)
    m = cert.first
    assert cert.move(m - 1, 0, 63, 0) == "sample" and cert.move(m, 0, 63, 0) == "certified"
    need = cert.labels_needed(1, 63)
    assert need > m and not cert.certified(m, 1, 63)
    assert cert.move(m, 1, 63, need - m - 1) == "search" and cert.move(m, 1, 63, need - m) == "sample"
    assert cert.move(need, 1, 63, 0) == "certified"
    assert cert.labels_needed(1, 72) < need  # more positives known: more may hide at the same recall
    assert "the search has not found" in cert.describe(m, 3, 1, 63)


def test_a_certificate_below_the_target_is_rare_as_promised():
    """A search that never finds the two positives it left (recall 9 / 11 < 0.9), and a
    sample grown to the end of the order if need be: every certificate is one below the
    target, and they must come in at most 5 % of orders."""
    n, found = 60, 9
    cert = SampleCertificate(n, found, 0.9, 0.95)
    rng = np.random.default_rng(0)
    wrong = 0
    for _ in range(4000):
        hits = np.sort(rng.choice(n, 2, replace=False)) + 1  # 1-based positions of the two in the order
        wrong += any(cert.certified(m, int((hits <= m).sum()), found) for m in range(cert.first, n + 1))
    assert wrong / 4000 <= 0.05 + 0.01
    assert cert.certified(cert.first, 0, found) and not cert.certified(cert.first - 1, 0, found)


def _state(answers, queries):
    answers = np.asarray(answers, np.int8)
    return SearchState(X=np.zeros((answers.size, 1), np.float32), index=None, answers=answers,
                       frontier=np.zeros(0, np.int64), proposals=[], n_found=int((answers == POSITIVE).sum()) - 1,
                       queries=queries, epoch=0, budget_left=None, phase="epochs", ended="epochs")


def test_sample_wait_stop_hands_over_samples_and_races():
    rule = SampleHandOver(0.9, 0.95)
    n = 1000
    v = rule.window(10, 900)  # (m(10) - m(19)) / 9 sample labels per positive found (sizes rounded to 100s)
    m10, m19 = SampleCertificate(900, 10, 0.9, 0.95).first, SampleCertificate(900, 19, 0.9, 0.95).first
    assert v == pytest.approx((m10 - m19) / 9)
    quiet = [(0, 0), (80, 9), (99, 9)]  # 99 labels and a seed: 900 unlabelled; the last v labels found none
    assert rule.should_hand_over(quiet, n, 1) and not rule.should_hand_over(quiet[:2], n, 1)
    assert not rule.should_hand_over([(0, 0), (80, 8), (99, 9)], n, 1)
    truth = np.zeros(n, bool)
    truth[:12] = True  # 12 positives; the search will know 10 of them (seed 0 and items 1-9)
    answers = np.zeros(n, np.int8)
    answers[:10] = 1
    answers[500:540] = -1  # 49 search labels in all
    stop = SampleWaitStop(0.9, 0.95, lambda ids: truth[ids], np.random.default_rng(3))
    state = _state(answers, 49)
    stop.start(state)
    cert = stop.wait.cert
    assert cert.first == SampleCertificate(950, 10, 0.9, 0.95).first and stop.sample_ids.size == cert.first
    assert sorted(stop.order.tolist()) == np.flatnonzero(answers == 0).tolist()  # the order: every unlabelled item
    in_sample = [i for i in stop.sample_ids.tolist() if i in (10, 11)]
    assert stop.wait.positives.tolist() == in_sample
    if in_sample:  # the race: the search's turn first
        assert stop.check(state, quiet) is None and stop.sample_ids.size == cert.first
        answers[in_sample] = 1  # the search finds them
    assert stop.check(_state(answers, 59), quiet) == "recall 0.9 certified at 95 %"
    assert stop.certificate(answers)["certified"]


def test_simulate_recall_stop_samples_after_the_search_and_certifies():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(0, 1, (900, 6)), rng.normal(4, 1, (100, 6))]).astype(np.float32)
    labels = np.r_[np.zeros(900, int), np.ones(100, int)]
    doc = simulate(X, labels, 1, SearchPlan(stop="recall:0.9@0.95", random_state=1),
                   trial=Trial(repeats=2, progress=False))
    for run in doc["runs"]:
        c = run["certificate"]
        assert run["stop_reason"] == "recall 0.9 certified at 95 %" and c["certified"] and c["method"] == "sample-wait"
        assert run["sample_labels"] == c["sample_labels"] >= c["first_sample"] and c["unfound_by_search"] <= 1
        assert run["labels_total"] <= run["queries"] + run["sample_labels"]
        assert run["discovery_rate"] >= 0.9 and "model" in run["estimate"]
    again = simulate(X, labels, 1, SearchPlan(stop="recall:0.9@0.95", random_state=1),
                     trial=Trial(repeats=2, progress=False))
    assert [r["labels_total"] for r in again["runs"]] == [r["labels_total"] for r in doc["runs"]]
    est = simulate(X, labels, 1, SearchPlan(stop="estimate:0.9", random_state=1),
                   trial=Trial(progress=False))["runs"][0]
    assert est["stop_reason"].startswith("estimated recall") and est["estimate"]["model"]["recall"] >= 0.9
    with pytest.raises(ParameterError, match="does not have"):
        simulate(X, labels, 1, SearchPlan("nn", stop="estimate:0.9"), trial=Trial(progress=False))


def test_the_estimate_stop_reads_the_search_s_model():
    left = {}
    rule = make_rule(parse_stop("estimate:0.9"), left=lambda: left)
    assert isinstance(rule, EstimateStop)
    answers = np.r_[np.ones(9, np.int8), np.zeros(91, np.int8)]
    assert rule.check(_state(answers, 20), []) is None  # no estimate yet: no stop
    left["head:1"] = 1.5  # 9 / 10.5 = 0.857
    assert rule.check(_state(answers, 20), []) is None
    left["head:1"] = 1.0  # 9 / 10 = 0.9
    assert rule.check(_state(answers, 20), []).startswith("estimated recall 0.900")
    e = model_estimate(left, 9)
    assert e.recall == pytest.approx(0.9) and e.remaining == 1.0 and "no guarantee" in e.describe()
    assert model_estimate({}, 9) is None


def test_stop_kinds_parse():
    assert parse_stop("recall:0.9@0.95").kind == "recall" and parse_stop("QBCB:0.9@0.95").kind == "qbcb"
    assert str(parse_stop("estimate:0.85")) == "estimate:0.85" and parse_stop("estimate:0.85").target == 0.85
    assert parse_stop("recall:0.9@0.95").certified and not parse_stop("estimate:0.9").certified
    with pytest.raises(ParameterError, match="estimate:R needs R between 0 and 1"):
        parse_stop("estimate:1.5")
    with pytest.raises(ParameterError, match="estimate:R, audit:R@C, qbcb:R@C"):
        parse_stop("estimate")
