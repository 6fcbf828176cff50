import math

import numpy as np
import pytest

from elsa.exceptions import ParameterError
from elsa.metrics import (
    corrected_labelling_efficiency,
    discovery_rate,
    found_at,
    labelling_efficiency,
    quartiles,
)
from elsa.oracle import NoisyOracle, SimulatedOracle


def test_simulated_oracle_answers_truth_and_counts_queries():
    oracle = SimulatedOracle([True, False, True])
    assert oracle.label([2, 1]).tolist() == [True, False]
    assert oracle.queries == 2


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5])
def test_noisy_oracle_flips_at_the_stated_rate(p):
    n = 200_000
    truth = np.arange(n) % 3 == 0
    oracle = NoisyOracle(truth, p, random_state=1)
    answers = oracle.label(np.arange(n))
    rate = (answers != truth).mean()
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(rate - p) < 5 * sigma
    assert oracle.flips == int((answers != truth).sum())


def test_noisy_oracle_extremes_and_reproducibility():
    truth = np.array([True, False] * 50)
    assert np.array_equal(NoisyOracle(truth, 0.0, 0).label(np.arange(100)), truth)
    assert np.array_equal(NoisyOracle(truth, 1.0, 0).label(np.arange(100)), ~truth)
    a = NoisyOracle(truth, 0.3, 5).label(np.arange(100))
    b = NoisyOracle(truth, 0.3, 5).label(np.arange(100))
    assert np.array_equal(a, b)
    with pytest.raises(ParameterError, match="noise must be <= 1"):
        NoisyOracle(truth, 1.5)


def test_paper_metrics():
    assert discovery_rate(found=45, total_positives=100, n_seeds=5) == 0.5
    assert labelling_efficiency(found=45, queries=180) == 0.25
    assert math.isnan(labelling_efficiency(0, 0))
    assert math.isnan(discovery_rate(0, 0))


def test_corrected_labelling_efficiency_matches_seed_000():
    # L_e (1 - eps) / (1 + (1 - L_e) eps)
    assert corrected_labelling_efficiency(0.5, 0.1) == pytest.approx(0.5 * 0.9 / 1.05)
    assert corrected_labelling_efficiency(0.2, 0.0) == pytest.approx(0.2)
    assert corrected_labelling_efficiency(1.0, 0.3) == pytest.approx(0.7)
    assert corrected_labelling_efficiency(0.3, 1.0) == 0.0
    with pytest.raises(ParameterError):
        corrected_labelling_efficiency(0.3, -0.1)


def test_found_at_reads_the_curve_as_a_step_function():
    curve = [(0, 0), (50, 10), (120, 30), (200, 31)]
    assert [found_at(curve, q) for q in (0, 49, 50, 119, 120, 1000)] == [0, 0, 10, 10, 30, 31]


def test_quartiles_ignore_nan():
    q = quartiles([1, 2, 3, 4, 5, float("nan")])
    assert q == {"median": 3.0, "q1": 2.0, "q3": 4.0}


def test_noisy_oracle_flips_are_keyed_by_item_and_ask():
    truth = np.zeros(50_000, bool)
    a = NoisyOracle(truth, 0.2, 3)
    first = a.label(np.arange(50_000))
    # Another oracle from the same random state, asked in another order, makes the same mistakes.
    b = NoisyOracle(truth, 0.2, 3)
    assert np.array_equal(b.label(np.arange(50_000)[::-1])[::-1], first)
    # A second answer about the same items flips independently of the first: P(both) = 0.04.
    second = a.label(np.arange(50_000))
    assert abs((first & second).mean() - 0.04) < 5 * math.sqrt(0.04 * 0.96 / 50_000)
    assert not np.array_equal(first, second)
