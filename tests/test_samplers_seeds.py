"""Value tests for the samplers of seeds 000 (GreedyS, FarS, GridS), 002 (latent), 003 (USL), 004 (SEALS)."""

import numpy as np
import pytest

from elsa.exceptions import ParameterError
from elsa.samplers import USL, CandidatePool, FarS, GreedyS, GridS, LatentSampler, SEALSSampler, UncertaintySampler
from helpers import make_state

RNG = np.random.default_rng


def test_uncertainty_picks_confidence_closest_to_zero():
    state = make_state(np.zeros(5), negatives=[4], scores=[0.9, -0.1, 0.05, -0.6, 0.0])
    assert UncertaintySampler(batch_size=3).select(state, RNG(0)).tolist() == [2, 1, 3]


def test_greedys_takes_the_band_farthest_first():
    # Items on a line; positive 0 found. Probabilities (c + 1) / 2: items 2, 5, 6, 9 are in
    # [0.85, 0.95]; 8 is above the band (too sure), 1 below. Farthest from {0}: 9, then from
    # {0, 9}: 5 (distance 4 from both ends beats 6, which is 3 from 9), then 2 or 6: 2 is at
    # distance 2 from 0, 3 from 5; 6 is 1 from 5: 2.
    X = np.arange(10, dtype=np.float32)
    p = np.array([1, 0.5, 0.9, 0.1, 0.1, 0.9, 0.9, 0.1, 0.99, 0.9])
    state = make_state(X, positives=[0], scores=2 * p - 1)
    assert GreedyS(b=3, b_growth=0).select(state, RNG(0)).tolist() == [9, 5, 2]


def test_greedys_band_must_be_ordered():
    with pytest.raises(ParameterError, match="low < high"):
        GreedyS(low=0.9, high=0.8)


def test_fars_trades_spread_against_confidence():
    # Candidates above the threshold: 0, 1, 10 (confidence .9, .8, .7). The first pick is the
    # most confident, 0; then the gain favours 10 (far) over 1 (near, more confident).
    X = np.array([0, 1, 10, 5, 5, 5, 5, 5], np.float32)
    scores = np.array([0.9, 0.8, 0.7, -1, -1, -1, -1, -1], np.float32)
    state = make_state(X, scores=scores)
    assert FarS(b=2, b_growth=0, alpha=0.0).select(state, RNG(0)).tolist() == [0, 2]
    # With a huge confidence weight the spread no longer matters: 0 then 1.
    assert FarS(b=2, b_growth=0, alpha=0.0, weight=1000).select(state, RNG(0)).tolist() == [0, 1]


def test_grids_offers_the_most_confident_item_of_each_cell():
    # Two tight groups far apart along x; with 2 cells per axis each group is in its own cell.
    X = np.array([[0, 0], [0.1, 0], [0.2, 0], [10, 0], [10.1, 0], [10.2, 0]], np.float32)
    scores = np.array([0.1, 0.5, 0.3, 0.2, 0.9, 0.4], np.float32)
    state = make_state(X, negatives=[4], scores=scores)
    sampler = GridS(b=5, b_growth=0, cells=2)
    sampler.prepare(state, RNG(0))
    assert sampler.select(state, RNG(0)).tolist() == [1, 5]  # 4 is labelled: 5 is its cell's best


def test_latent_clustered_allocation_follows_cluster_sizes():
    rng = RNG(0)
    big = rng.normal(0, 0.3, (90, 2))
    small = rng.normal(20, 0.3, (10, 2))
    state = make_state(np.vstack([big, small]).astype(np.float32))
    sampler = LatentSampler("clustered-uniform", b=10, b_growth=0, dims=2, clusters=2)
    sampler.prepare(state, RNG(1))
    picked = sampler.select(state, RNG(2))
    assert picked.size == 10
    assert (picked < 90).sum() == 9 and (picked >= 90).sum() == 1  # round(10 * 90/100), round(10 * 10/100)


def test_latent_snaps_only_within_the_threshold():
    state = make_state(np.array([[0.0], [100.0]], np.float32))
    sampler = LatentSampler("uniform", b=2, b_growth=0, dims=1, threshold=0.001, max_draws=64)
    sampler.prepare(state, RNG(0))
    assert sampler.select(state, RNG(0)).size == 0  # no draw lands within 0.001 of an item


def test_usl_picks_one_dense_item_per_cluster():
    # Three blobs on the unit circle's directions; each blob has a dense core item.
    rng = RNG(0)
    centres = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32) * 5
    X = np.vstack([c + rng.normal(0, 0.3, (30, 3)) for c in centres]).astype(np.float32)
    state = make_state(X)
    sampler = USL(m=3, k=5, dims=3, iterations=3)
    sampler.prepare(state, RNG(1))
    picked = sampler.select(state, RNG(2))
    assert sorted(picked // 30) == [0, 1, 2]
    # A second call, with the first picks labelled, picks different items, still one per blob.
    state.answers[picked] = -1
    again = sampler.select(state, RNG(2))
    assert sorted(again // 30) == [0, 1, 2] and not np.isin(again, picked).any()


def test_seals_candidate_pool_is_the_union_of_neighbourhoods_and_grows():
    X = np.arange(20, dtype=np.float32)
    state = make_state(X, positives=[0])
    pool = CandidatePool(k=2)
    assert pool.update(state).tolist() == [1, 2]
    state.answers[[10]] = -1
    assert pool.update(state).tolist() == [1, 2, 9, 11]


def test_seals_criteria():
    X = np.arange(10, dtype=np.float32)
    scores = np.array([1, 0.1, 0.9, -0.8, 0, 0, 0, 0, 0, 0], np.float32)
    state = make_state(X, positives=[0], scores=scores)
    assert SEALSSampler(batch_size=2, k=3, criterion="maxent").select(state, RNG(0)).tolist() == [1, 3]
    assert SEALSSampler(batch_size=2, k=3, criterion="positive").select(state, RNG(0)).tolist() == [2, 1]


@pytest.mark.parametrize("sampler", [GreedyS(b=4, b_growth=0), FarS(b=4, b_growth=0), GridS(b=4, b_growth=0)],
                         ids=lambda s: s.name)
def test_head_based_explorers_propose_nothing_before_the_head_is_trained(sampler):
    state = make_state(np.arange(12, dtype=np.float32), positives=[0])
    sampler.prepare(state, RNG(0))
    assert sampler.select(state, RNG(3)).size == 0
