"""Recall estimates and stopping rules, on cases small enough to work out by hand."""

import math

import numpy as np
import pytest
from scipy.stats import binom

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.exceptions import ParameterError
from elsa.oracle import SimulatedOracle
from elsa.search import make_strategy
from elsa.simulation import simulate
from elsa.stopping import (
    AuditSample,
    CertifiedStop,
    KneeStop,
    audit_estimate,
    clopper_pearson,
    knee_reached,
    min_target_positives,
    parse_stop,
    qbcb_threshold,
    quant_estimate,
)


def test_qbcb_threshold_by_hand():
    # n = 2, R = 0.5: P(K >= 2) = 0.25, P(K >= 1) = 0.75.
    assert qbcb_threshold(2, 0.5, 0.7) == 2  # 0.25 <= 0.3
    assert qbcb_threshold(2, 0.5, 0.8) is None  # 0.25 > 0.2: two target positives cannot certify
    assert qbcb_threshold(2, 0.5, 0.2) == 1  # 0.75 <= 0.8
    # recall 0.9 at 95 %: all of n needs 0.9**n <= 0.05, so n >= 29 (0.9**28 = 0.052)
    assert min_target_positives(0.9, 0.95) == 29 and qbcb_threshold(28, 0.9, 0.95) is None
    assert qbcb_threshold(29, 0.9, 0.95) == 29
    j = qbcb_threshold(50, 0.9, 0.95)
    assert j == 49 and binom.sf(j - 1, 50, 0.9) <= 0.05 < binom.sf(j - 2, 50, 0.9)
    assert min_target_positives(0.8, 0.9) == 11  # 0.8**11 = 0.086, 0.8**10 = 0.107


def test_clopper_pearson_by_hand():
    low, high = clopper_pearson(0, 10, 0.9)
    assert low == 0.0 and high == pytest.approx(1 - 0.05 ** (1 / 10))
    low, high = clopper_pearson(10, 10, 0.9)
    assert high == 1.0 and low == pytest.approx(0.05 ** (1 / 10))


def test_audit_estimate_by_hand():
    # 10 items; the search labelled 0-3 and knows 2 positives. The audit holds 4, 5, 6, 7
    # (none searched), one positive: 6 unlabelled x 1/4 = 1.5 positives left.
    searched = np.zeros(10, bool)
    searched[:4] = True
    e = audit_estimate([4, 5, 6, 7], [True, False, False, False], searched, found=2, level=0.9)
    assert e.remaining == pytest.approx(1.5) and e.recall == pytest.approx(2 / 3.5)
    low, high = clopper_pearson(1, 4, 0.9)
    assert (e.remaining_low, e.remaining_high) == pytest.approx((6 * low, 6 * high))
    assert (e.recall_low, e.recall_high) == pytest.approx((2 / (2 + 6 * high), 2 / (2 + 6 * low)))
    # Audit items the search has labelled since are not a sample of what is left.
    e2 = audit_estimate([0, 4, 5, 6, 7], [True, True, False, False, False], searched, found=2)
    assert e2.remaining == e.remaining
    assert math.isnan(audit_estimate([0, 1], [True, False], searched, found=2).recall)


def test_quant_estimate_by_hand():
    # p = 1, .5, .5, 0 with item 0 labelled: recall = 1 / 2;
    # var = 1^2 / 2^4 * 0.5 + (0.5 - 0.5) / 2^2 = 0.03125.
    e = quant_estimate([1.0, 0.5, 0.5, 0.0], [True, False, False, False], found=1, level=0.9)
    assert e.recall == 0.5 and e.remaining == 1.0
    half = 1.6448536 * math.sqrt(0.03125)
    assert (e.recall_low, e.recall_high) == pytest.approx((0.5 - half, 0.5 + half), rel=1e-6)
    assert (e.remaining_low, e.remaining_high) == pytest.approx((0.0, 1 + 1.6448536 * 0.5 ** 0.5))  # clipped at 0


def test_knee_fires_when_the_slope_ratio_reaches_the_threshold():
    # 100 positives in the first 100 labels, none after. Threshold 156 - min(100, 150) = 56.
    # At x labels the ratio at the knee (100) is (100/100) / (1/(x-100)) = x - 100.
    curve = [(0, 0), (50, 50), (100, 100), (130, 100), (150, 100)]
    assert not knee_reached(curve)  # ratio 50
    assert knee_reached(curve + [(156, 100)])  # ratio 56
    assert not knee_reached([(0, 0), (100, 100)])
    # Few positives need a steeper knee: 10 found, threshold 146.
    assert not knee_reached([(0, 0), (10, 10), (150, 10)])  # ratio 140
    assert knee_reached([(0, 0), (10, 10), (156, 10)])


def test_audit_sample_draws_until_the_nth_positive_whatever_the_step():
    truth = np.zeros(1000, bool)
    truth[::50] = True  # 20 positives
    a = AuditSample(1000, random_state=3)
    b = AuditSample(1000, random_state=3)
    assert a.extend_until(5, SimulatedOracle(truth), step=7) == b.extend_until(5, SimulatedOracle(truth), step=300)
    assert np.array_equal(a.ids, b.ids) and a.labels.sum() == 5 and a.labels[-1]
    assert np.array_equal(np.sort(a.order), np.arange(1000))
    a.extend(10, SimulatedOracle(truth))
    assert a.size == b.size + 10 and np.array_equal(a.ids[: b.size], b.ids)


def test_the_certificate_holds_at_its_confidence():
    # A search that finds the pool's 4,000 positives one at a time in a fixed random order.
    # Over 3,000 independent target sets of 40, the certified stop for recall 0.8 at 90 %
    # (j = 36: P(Bin(40, .8) >= 36) = 0.076) must leave recall below 0.8 in at most 10 %
    # of them. With j one lower (BinomCDF(j) >= C read with an inclusive CDF, j = 35:
    # P(Bin(40, .8) >= 35) = 0.161) it fails.
    rng = np.random.default_rng(0)
    P, target, conf, n = 4000, 0.8, 0.9, 40
    j = qbcb_threshold(n, target, conf)
    assert j == 36
    ranks = np.sort(np.array([rng.choice(P, n, replace=False) for _ in range(3000)]), axis=1)
    recall_at_stop = (ranks[:, j - 1] + 1) / P  # the j-th target is found at its rank
    recall_if_lower = (ranks[:, j - 2] + 1) / P
    assert np.mean(recall_at_stop < target) == pytest.approx(0.076, abs=0.015)
    assert np.mean(recall_at_stop < target) <= 1 - conf
    assert np.mean(recall_if_lower < target) > 1 - conf


def test_loop_stops_when_the_rule_says_and_skips_the_final_search(blobs):
    X, truth = blobs
    oracle = SimulatedOracle(truth)
    audit = AuditSample(X.shape[0], random_state=1)
    audit.extend_until(11, oracle)
    rule = CertifiedStop(0.8, 0.9, audit, 11)
    result = make_strategy("elsa", epochs=50, a=5, b=5, l=5).run(X, [200], SimulatedOracle(truth), random_state=0,
                                                                   stop=rule)
    assert result.stop_reason == "recall 0.8 certified at 90 %"
    assert all(r.kind == "epoch" for r in result.rounds)
    state_answers = np.zeros(X.shape[0], np.int8)
    state_answers[result.positive_ids()] = 1
    assert (state_answers[rule.targets] == 1).sum() >= rule.j  # j of the 11 targets were found by the search
    with pytest.raises(ParameterError, match="cannot certify recall 0.9 at 0.95: it needs at least 29"):
        CertifiedStop(0.9, 0.95, audit, 11)


def test_simulate_with_stop_rules_reports_costs_and_estimates(blobs):
    X, truth = blobs
    labels = truth.astype(int)
    doc = simulate(X, labels, 1, SearchPlan("elsa", params={"a": 5, "b": 5, "l": 5}, epochs=None, stop="qbcb:0.8@0.9", random_state=3),
                   trial=Trial(repeats=2))
    for run in doc["runs"]:
        c = run["certificate"]
        assert (c["n"], c["j"]) == (11, 11) and c["found_targets"] >= c["j"]
        assert run["stop_reason"] == "recall 0.8 certified at 90 %"
        assert run["audit_labels"] >= 11 and run["labels_total"] <= run["queries"] + run["audit_labels"]
        assert set(run["estimate"]) == {"quant", "audit"}
    assert doc["params"]["stop"] == "qbcb:0.8@0.9" and doc["params"]["audit_positives"] == 11
    again = simulate(X, labels, 1, SearchPlan("elsa", params={"a": 5, "b": 5, "l": 5}, epochs=None, stop="qbcb:0.8@0.9", random_state=3),
                     trial=Trial(repeats=2))
    assert again["runs"][1]["curve"] == doc["runs"][1]["curve"]  # reproducible
    plain = simulate(X, labels, 1, SearchPlan("elsa", random_state=3), trial=Trial(repeats=2))
    assert plain["runs"][0]["audit_labels"] == 0 and "audit" not in plain["runs"][0]["estimate"]
    budget = simulate(X, labels, 1, SearchPlan("elsa", epochs=None, stop="budget:30", random_state=3))
    assert budget["runs"][0]["queries"] == 30 and budget["runs"][0]["stop_reason"] == "budget"
    shared = simulate(X, labels, 1, SearchPlan("elsa", epochs=2, audit_share=0.5, random_state=3),
                      trial=Trial(trace=True))
    run = shared["runs"][0]
    assert run["audit_labels"] == sum(math.ceil(0.5 * (b - a)) for (a, _), (b, _) in zip(run["curve"], run["curve"][1:]))
    assert len(run["trace"]) == len(run["curve"]) - 1 and "audit" in run["trace"][-1]


def test_knee_stop_in_the_loop(blobs):
    X, truth = blobs
    result = make_strategy("nn", epochs=100, a=2).run(X, [200], SimulatedOracle(truth), random_state=0,
                                                      stop=KneeStop())
    curve = result.curve()
    assert result.stop_reason in ("knee", "no candidates")
    if result.stop_reason == "knee":
        assert knee_reached(curve) and not knee_reached(curve[:-1])


@pytest.mark.parametrize("text, message", [
    ("recall:1.2@0.9", "between 0 and 1"), ("audit:0.9@1", "audit:R@C needs"), ("budget:x", "whole number"), ("soon", "unknown --stop"),
])
def test_parse_stop_errors(text, message):
    with pytest.raises(ParameterError, match=message):
        parse_stop(text)
    assert str(parse_stop("recall:0.9@0.95")) == "recall:0.9@0.95" and parse_stop("budget:10").budget == 10
    assert parse_stop("AUDIT:0.9@0.95").kind == "audit" and parse_stop("recall:0.9@0.95").kind == "recall"


def test_cli_simulate_with_a_stop_rule(tmp_path, blobs, capsys):
    from elsa.cli import main

    X, truth = blobs
    np.save(tmp_path / "E.npy", X)
    np.save(tmp_path / "L.npy", truth.astype(int))
    args = ["simulate", "--embeddings", str(tmp_path / "E.npy"), "--labels", str(tmp_path / "L.npy"), "--target", "1",
            "--quiet", "--strategy", "elsa", "--a", "5", "--b", "5", "--l", "5"]
    assert main(args + ["--stop", "qbcb:0.8@0.9", "--output", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "stop qbcb:0.8@0.9" in out and "recall 0.8 certified at 90 %" in out
    assert "audit: recall" in out and "quant (a heuristic" in out and "distinct labels in all" in out
    assert main(args + ["--stop", "soon"]) == 2
    assert "error: unknown --stop 'soon'; use budget:N" in capsys.readouterr().err
    assert main(args + ["--audit-positives", "5"]) == 2
    assert "audit_positives only applies" in capsys.readouterr().err
    assert main(args + ["--stop", "qbcb:0.9@0.95", "--audit-positives", "5"]) == 2
    assert "it needs at least 29" in capsys.readouterr().err


def test_simulate_audited_stop_hands_over_then_certifies(blobs):
    X, truth = blobs
    labels = truth.astype(int)
    doc = simulate(X, labels, 1, SearchPlan(stop="audit:0.8@0.9", random_state=3),
                   trial=Trial(repeats=2, progress=False))
    for run in doc["runs"]:
        c = run["certificate"]
        n = X.shape[0]
        assert c["method"] == "audit" and c["unlabelled_at_hand_over"] == n - run["queries"] - run["n_seeds"]
        assert c["found_at_hand_over"] == run["found"] + run["n_seeds"]
        assert run["labels_total"] == run["queries"] + c["audit_labels"] == run["queries"] + run["audit_labels"]
        assert run["found_with_audit"] == run["found"] + c["audit_positives"]
        if c["certified"]:
            assert run["stop_reason"] == "recall 0.8 certified at 90 %" and c["bound"] >= 0.8
            assert c["labels_to_certificate"] == 0
        else:  # only when the audit has labelled everything, and then recall is known exactly
            assert c["audit_labels"] == c["unlabelled_at_hand_over"]
    again = simulate(X, labels, 1, SearchPlan(stop="audit:0.8@0.9", random_state=3),
                     trial=Trial(repeats=2, progress=False))
    assert [r["certificate"] for r in again["runs"]] == [r["certificate"] for r in doc["runs"]]


def test_the_audit_finds_what_the_search_left(blobs):
    """A search cut short by its budget leaves positives; the audit meets some and certifies
    only when the evidence allows, and its recall bound is never above the truth here."""
    X, truth = blobs
    labels = truth.astype(int)
    doc = simulate(X, labels, 1, SearchPlan("nn", budget=20, stop="audit:0.8@0.9", random_state=0),
                   trial=Trial(repeats=3, progress=False))
    for run in doc["runs"]:
        c = run["certificate"]
        recall = (run["found_with_audit"] + run["n_seeds"]) / run["total_positives"]
        assert c["bound"] <= recall
        assert c["certified"] == (c["bound"] >= 0.8)
