"""USL-T (seed 003, section 2-2): clusters learnt without labels, one confident item from each."""

import json
import sys

import numpy as np
import pytest

from elsa.cli import main
from elsa.exceptions import MissingDependencyError
from elsa.samplers import USLT
from elsa.samplers.usl_t import neighbour_count
from helpers import make_state

pytest.importorskip("torch")
RNG = np.random.default_rng


def blobs(n_per=40, spread=0.2, seed=0):
    """Four well-separated blobs in 6-d, ``n_per`` rows each, in blob order."""
    rng = RNG(seed)
    centres = np.eye(4, 6, dtype=np.float32) * 6
    return np.vstack([c + rng.normal(0, spread, (n_per, 6)) for c in centres]).astype(np.float32)


def test_one_item_per_blob_then_the_next_best_of_each():
    state = make_state(blobs())
    sampler = USLT(m=4, steps=200)
    sampler.prepare(state, RNG(1))
    picked = sampler.select(state, RNG(2))
    assert sorted(picked // 40) == [0, 1, 2, 3]
    # The clusters are the blobs: every row of a blob shares its cluster, the four differ.
    assert all(np.unique(sampler.clusters[b * 40:(b + 1) * 40]).size == 1 for b in range(4))
    assert np.unique(sampler.clusters).size == 4
    # With the first picks labelled, the next call picks four other items, still one per blob.
    state.answers[picked] = -1
    again = sampler.select(state, RNG(2))
    assert sorted(again // 40) == [0, 1, 2, 3] and not np.isin(again, picked).any()


def test_more_picks_than_clusters_take_the_second_best_of_each():
    # Two blobs (rows 0-39 and 40-79) and m = 6 clusters: whatever the clusters, a call returns
    # six different unlabelled items, the most confident of each cluster first.
    X = blobs()[:80]
    state = make_state(X, negatives=[0, 41])
    sampler = USLT(m=6, steps=100)
    sampler.prepare(state, RNG(0))
    picked = sampler.select(state, RNG(0))
    assert picked.size == 6 and np.unique(picked).size == 6 and not np.isin(picked, [0, 41]).any()
    clusters = sampler.clusters[picked]
    first_of_each = [np.flatnonzero(clusters == c)[0] for c in np.unique(clusters)]
    assert sorted(first_of_each) == list(range(len(first_of_each)))  # every cluster's best before any second


def test_a_fixed_random_state_gives_the_same_picks():
    X = blobs(n_per=30, spread=1.5)
    runs = []
    for _ in range(2):
        sampler = USLT(m=5, steps=60)
        sampler.prepare(make_state(X), RNG(7))
        runs.append(sampler.select(make_state(X), RNG(7)).tolist())
    assert runs[0] == runs[1]


def test_neighbours_are_capped_at_a_quarter_of_the_mean_cluster():
    assert neighbour_count(20, 70_000, 100) == 20
    assert neighbour_count(20, 441, 100) == 1  # 4.4 items a cluster: only the nearest
    assert neighbour_count(20, 1797, 20) == 20
    assert neighbour_count(20, 1797, 100) == 4
    assert neighbour_count(20, 10, 100) == 1


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"usl-t.*pip install 'elsa-search\[train\]' torch==2.13.0"):
        USLT(m=2).prepare(make_state(blobs()), RNG(0))


def test_simulate_usl_t_without_seeds(tmp_path):
    # The command, on four blobs: with a = b = 2 the cold start is one USL-T batch
    # of 4, one item per blob, so 4 labels find exactly one item of class 1.
    X = blobs(n_per=50)
    y = np.repeat(np.arange(4), 50)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "out.json"
    code = main(["simulate", "--embeddings", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy"),
                 "--target", "1", "--strategy", "usl-t", "--seeds", "0", "--budget", "4", "--a", "2", "--b", "2",
                 "--output", str(out), "--quiet"])
    assert code == 0
    run = json.loads(out.read_text())["runs"][0]
    assert run["n_seeds"] == 0 and run["queries"] == 4 and run["found"] == 1
