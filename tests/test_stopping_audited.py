"""The audited stop: its confidence sequence and its certificate, checked exactly on small pools."""

import math

import numpy as np
import pytest

from elsa.exceptions import ParameterError
from elsa.stopping.audited import Audit, HandOver, tolerable
from elsa.stopping.sequence import HiddenPositives, geometric_log_prior


def _first_exits(n: int, K: int, exits):
    """Exactly, over every audit order of ``n`` items with ``K`` positives: the probability
    that ``exits(m, k)`` first holds after ``k`` positives in ``m`` labels, as ``{(m, k): p}``
    (the hit count is a Markov chain: the next item is a hit with probability (K - k) / (n - m))."""
    out = {(0, 0): 1.0} if exits(0, 0) else {}
    p = np.zeros(K + 1)
    p[0] = 0.0 if out else 1.0
    for m in range(1, n + 1):
        k = np.arange(K + 1)
        hit = np.clip((K - k) / (n - m + 1), 0.0, 1.0)
        new = p * (1.0 - hit)
        new[1:] += (p * hit)[:-1]
        for kk in np.flatnonzero(new > 0):
            if exits(m, int(kk)):
                out[(m, int(kk))] = new[kk]
                new[kk] = 0.0
        p = new
    return out


@pytest.mark.parametrize("mean", [0.5, 3.0, 10.0])
def test_the_sequence_holds_the_true_count_at_every_step_at_once(mean):
    n, alpha = 30, 0.1
    cs = HiddenPositives(n, geometric_log_prior(n, mean), alpha)
    worst = max(sum(_first_exits(n, K, lambda m, k: not cs.plausible(m, k)[K]).values()) for K in range(n + 1))
    assert worst <= alpha
    assert worst > alpha / 4  # and it is not vacuous


def test_tolerable_by_hand():
    assert tolerable(9, 0.9) == 1  # 9/10 is 0.9; 9/11 is not
    assert tolerable(18, 0.9) == 2
    assert tolerable(17, 0.9) == 1  # 17/19 = 0.8947
    assert tolerable(4, 0.8) == 1
    assert tolerable(0, 0.9) == -1  # nothing found: no recall can be certified


def test_a_full_audit_knows_the_count():
    n = 25
    cs = HiddenPositives(n, geometric_log_prior(n, 2.0), 0.05)
    assert cs.upper(n, 3) == 3
    assert cs.upper(0, 0) == n  # before any label every count is plausible


def test_labels_needed_is_the_first_certifying_draw():
    a = Audit(200, 20, 0.9, 0.95)
    for k in range(3):
        m = a.labels_needed(k)
        assert a.certified(m, k) and not a.certified(m - 1, k)
    assert a.labels_needed(0) < a.labels_needed(1) < a.labels_needed(2)


def test_the_certificate_holds_exactly():
    """For every true count of hidden positives, the chance the audit stops with recall
    below the target is at most 1 - confidence (computed over every audit order)."""
    n, found, target, confidence = 60, 8, 0.8, 0.9
    a = Audit(n, found, target, confidence)
    worst = max(sum(p for (m, k), p in _first_exits(n, K, a.certified).items() if (found + k) / (found + K) < target)
                for K in range(n + 1))
    assert 0 < worst <= 1 - confidence


def test_stop_labels_follow_the_hits():
    a = Audit(1000, 50, 0.9, 0.95)
    m0, m1 = a.labels_needed(0), a.labels_needed(1)
    assert a.stop_labels(np.array([], np.int64)) == (m0, 0)
    assert a.stop_labels(np.array([m0 + 1])) == (m0, 0)  # the hit would have come after the stop
    assert a.stop_labels(np.array([3])) == (m1, 1)
    assert a.bound(m0, 0) >= 0.9 > a.bound(m0 - 1, 0)


def test_hand_over_after_h_labels_without_a_positive():
    rule = HandOver(0.9, 0.95)
    n, seeds = 5000, 5
    h = rule.window(45, n - 300 - seeds)
    assert 1 < h < n
    steps = int(math.ceil(h / 10)) + 1
    busy = [(0, 0)] + [(10 * i, 4 * i) for i in range(1, 11)]  # 40 positives in 100 labels
    assert not rule.should_hand_over(busy, n, seeds)
    quiet = busy + [(100 + 10 * i, 40) for i in range(1, steps + 1)]
    assert rule.should_hand_over(quiet, n, seeds)
    assert not rule.should_hand_over(quiet[:-steps + 1], n, seeds)  # not yet h quiet labels


def test_bad_arguments_name_the_value():
    with pytest.raises(ParameterError, match="target recall"):
        Audit(10, 3, 1.5, 0.9)
    with pytest.raises(ParameterError, match="prior"):
        HiddenPositives(10, np.zeros(3), 0.05)


def test_unsure_answers_count_as_possible_misses():
    plain, doubtful = Audit(500, 40, 0.9, 0.95), Audit(500, 40, 0.9, 0.95, unsure=2)
    m = plain.labels_needed(0)
    assert doubtful.labels_needed(0) > m and not doubtful.certified(m, 0)  # unsure before the hand-over
    assert plain.certified(m, 0) and not plain.certified(m, 0, 1)  # an unsure audit answer
    assert plain.bound(m, 0, 1) < plain.bound(m, 0)
    # a positive the audit finds counts as found: it needs fewer labels than an unsure one
    assert plain.labels_needed(1) <= plain.labels_needed(0, 1)


def test_stop_labels_match_reading_the_certificate_after_every_page():
    """The fast replay equals reading the certificate page by page, including where one
    more positive makes the target easier (recall counts it as found)."""
    a = Audit(3000, 57, 0.9, 0.95)
    rng = np.random.default_rng(0)
    for K in (0, 1, 6, 12):
        for _ in range(3):
            hits = np.sort(rng.choice(a.n, K, replace=False)) + 1
            for page in (1, 10):
                m = next((p for p in range(0, a.n + 1, page) if a.certified(p, int((hits <= p).sum()))), a.n)
                assert a.stop_labels(hits, page) == (m, int((hits <= m).sum()))
