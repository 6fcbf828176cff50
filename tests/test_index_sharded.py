"""The sharded index (in one process, and on a local two-worker Ray cluster) against the exact one."""

import json

import numpy as np
import pytest

from elsa.plan import SearchPlan
from elsa.cli import main
from elsa.exceptions import ElsaError, MissingDependencyError
from elsa.head.mlp import MLPHead
from elsa.index import ExactIndex, make_index
from elsa._parallel import row_ranges
from elsa.index.merge import merge_knn, merge_set
from elsa.index.sharded import LocalShardedIndex
from elsa.session import Session
from elsa.simulation import simulate
from helpers import hide_module


def test_shard_bounds_are_aligned_and_cover_the_pool():
    assert row_ranges(10_000, 3, 1000) == [(0, 3000), (3000, 7000), (7000, 10_000)]
    assert row_ranges(500, 2, 4096) == [(0, 500)]  # too small for two aligned shards
    assert row_ranges(8192, 4, 4096) == [(0, 4096), (4096, 8192)]
    assert row_ranges(1, 1, 4096) == [(0, 1)]


def test_merges_keep_the_k_smallest_with_ties_to_the_smaller_id():
    a = (np.array([[1.0, 3.0, np.inf]], np.float32), np.array([[4, 6, -1]]))
    b = (np.array([[1.0, 2.0, 5.0]], np.float32), np.array([[2, 9, 11]]))
    D, I = merge_knn([a, b], 4)
    assert I.tolist() == [[2, 4, 9, 6]] and D.tolist() == [[1.0, 1.0, 2.0, 3.0]]
    D, I = merge_knn([a, (np.full((1, 3), np.inf, np.float32), np.full((1, 3), -1))], 4)
    assert I.tolist() == [[4, 6, -1, -1]]
    D, I = merge_set([(np.array([0.5, 2.0], np.float32), np.array([7, 1])), (np.array([0.5], np.float32), np.array([3]))], 2)
    assert I.tolist() == [3, 7] and D.tolist() == [0.5, 0.5]


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 16)).astype(np.float32)
    X[100:110] = X[5]  # exact ties across ...
    X[2600:2605] = X[5]  # ... a shard boundary
    exclude = np.zeros(5000, bool)
    exclude[rng.choice(5000, 300, replace=False)] = True
    exclude[5] = False
    return X, exclude


def _same_answers(ref, idx, X, exclude):
    qid = np.array([5, 7, 2599, 4000, 4999])
    Q = X[qid]
    for a, b in [(ref.search(Q, 20, exclude=exclude, query_ids=qid), idx.search(Q, 20, exclude=exclude, query_ids=qid)),
                 (ref.search(Q, 7), idx.search(Q, 7)),
                 (ref.search_set(Q, 50, exclude=exclude), idx.search_set(Q, 50, exclude=exclude))]:
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[0], b[0])  # bitwise: the shards compute the same blocks
    np.testing.assert_array_equal(ref.distance_to_set(Q), idx.distance_to_set(Q))
    head = MLPHead(hidden=8).fit(X[:200], np.arange(200) % 3 == 0, random_state=0)
    np.testing.assert_array_equal(idx.map(head.confidence), head.confidence(X))


def test_local_shards_answer_exactly_as_one_exact_index(pool):
    X, exclude = pool
    idx = LocalShardedIndex(X, 3, chunk_rows=256)
    assert idx.bounds == [(0, 1792), (1792, 3328), (3328, 5000)]
    _same_answers(ExactIndex(X, chunk_rows=256), idx, X, exclude)
    # Fewer eligible rows than k: padded as the exact index pads.
    almost_all = np.ones(5000, bool)
    almost_all[[10, 4000]] = False
    D, I = idx.search(X[:1], 4, exclude=almost_all)
    assert I.tolist()[0][2:] == [-1, -1] and np.isinf(D[0, 2:]).all()
    assert sorted(idx.search_set(X[:2], 5, exclude=almost_all)[1].tolist()) == [10, 4000]


def test_scores_stay_on_the_shards_and_reduce_as_on_one_array(pool):
    from elsa import scores as reduce
    from elsa.index.sharded import ShardedScores

    X, labelled = pool
    idx = LocalShardedIndex(X, 3, chunk_rows=256)
    head = MLPHead(hidden=8).fit(X[:200], np.arange(200) % 3 == 0, random_state=0)
    full = head.confidence(X)
    held = idx.score(head.confidence)
    assert isinstance(held, ShardedScores) and len(held) == 5000
    assert all(shard._scores.size == b - a for shard, (a, b) in zip(idx.shards, idx.bounds))
    full[[10, 2700, 4000]] = full[5]  # ties across shards: broken by the smaller id
    for shard, (a, b) in zip(idx.shards, idx.bounds):
        shard._scores = full[a:b].copy()
    for alpha in (0.0, 1.0, 2.5):
        t = reduce.threshold(held, alpha)
        assert t == pytest.approx(reduce.threshold(full, alpha), rel=1e-12, abs=1e-12)
        np.testing.assert_array_equal(reduce.above(held, t, labelled), reduce.above(full, t, labelled))
    np.testing.assert_allclose(reduce.threshold(held, 1.0, labelled), reduce.threshold(full, 1.0, labelled), rtol=1e-12)
    for k in (1, 7, 300, 6000):
        np.testing.assert_array_equal(reduce.top(held, k, labelled), reduce.top(full, k, labelled))
    np.testing.assert_allclose(reduce.quant_sums(held, labelled), reduce.quant_sums(full, labelled), rtol=1e-12)
    ids = np.array([4999, 3, 2700, 3, 1800])
    np.testing.assert_array_equal(held[ids], full[ids])
    np.testing.assert_array_equal(np.asarray(held), full)
    # Hand-checked reductions on one small array: scores 0.5, -1, 1, 0 with item 2 labelled.
    s = np.array([0.5, -1.0, 1.0, 0.0], np.float32)
    lab = np.array([False, False, True, False])
    assert reduce.threshold(s, 1.0) == pytest.approx(0.125 + np.sqrt(0.546875))  # mean 0.125, var 2.25/4 - 0.125**2
    assert reduce.above(s, -0.5, lab).tolist() == [0, 3] and reduce.top(s, 2, lab).tolist() == [0, 3]
    np.testing.assert_allclose(reduce.quant_sums(s, lab), [1.0, 0.75 + 0.0 + 0.5, 0.1875 + 0.25, 0.1875 + 0.25])
    idx.score(head.confidence)  # newer scores replace the old on the shards
    with pytest.raises(ElsaError, match="replaced by newer ones"):
        held.top(3, labelled)


@pytest.mark.parametrize("strategy", ["elsa", "no-active", "seals", "fars", "greedys", "grids", "uncertainty", "portfolio"])
def test_every_strategy_asks_the_same_on_shards_and_elsa_never_fetches_the_scores(clustered, strategy, monkeypatch):
    from elsa.oracle import SimulatedOracle
    from elsa.search import make_strategy

    X, labels = clustered
    seeds = list(np.flatnonzero(labels)[:3])
    idx = LocalShardedIndex(X, 2)
    returned = []
    real = LocalShardedIndex._call

    def spy(self, method, per_shard_args):
        out = real(self, method, per_shard_args)
        returned.append((method, sum(np.size(o) if isinstance(o, np.ndarray) else 0 for o in out)))
        return out

    monkeypatch.setattr(LocalShardedIndex, "_call", spy)
    runs = [make_strategy(strategy, epochs=3).run(X, seeds, SimulatedOracle(labels == 1), random_state=3, index=index)
            for index in (ExactIndex(X), idx)]
    np.testing.assert_array_equal(runs[0].queried_ids, runs[1].queried_ids)
    if strategy == "elsa":  # per epoch only small answers come back, never one value per item
        assert max(size for _, size in returned) < len(X) / 4
        assert {"keep_scores", "score_stats", "score_above"} <= {m for m, _ in returned}


def test_missing_ray_names_the_extra(monkeypatch):
    hide_module(monkeypatch, "ray")
    with pytest.raises(MissingDependencyError, match=r"elsa-search\[ray\]"):
        make_index(np.zeros((10, 2), np.float32), "ray")


# --- a local Ray cluster of two worker CPUs ---------------------------------------------


def test_ray_shards_answer_exactly_as_one_exact_index(ray_cluster, pool, tmp_path):
    from elsa.index.ray_backend import RayIndex

    X, exclude = pool
    ref = ExactIndex(X, chunk_rows=256)
    idx = RayIndex(X, shards=2, chunk_rows=256)  # in memory: shards go through the object store
    try:
        assert idx.bounds == [(0, 2560), (2560, 5000)] and not idx.in_place
        _same_answers(ref, idx, X, exclude)
    finally:
        idx.close()
    np.save(tmp_path / "pool.npy", X)
    Xm = np.load(tmp_path / "pool.npy", mmap_mode="r")
    idx = RayIndex(Xm, shards=2, chunk_rows=256)  # memory-mapped: each actor maps its own rows
    try:
        assert idx.in_place
        _same_answers(ref, idx, X, exclude)
    finally:
        idx.close()


def test_ray_refuses_more_shards_than_free_cpus_with_a_message(ray_cluster, pool):
    from elsa.index.ray_backend import RayIndex

    X, _ = pool
    held = RayIndex(X, shards=2, chunk_rows=256)
    try:
        with pytest.raises(ElsaError, match="did not start 2 shard actors"):
            RayIndex(X, shards=2, chunk_rows=256, ready_timeout=3)
    finally:
        held.close()


@pytest.fixture(scope="module")
def clustered():
    """10,000 x 16 in 40 clusters (two default-sized shards); class 0 is three clusters."""
    rng = np.random.default_rng(3)
    centres = rng.normal(scale=6.0, size=(40, 16))
    which = rng.integers(0, 40, size=10_000)
    X = (centres[which] + rng.normal(size=(10_000, 16))).astype(np.float32)
    return X, (which < 3).astype(int)


def test_elsa_on_a_ray_cluster_equals_elsa_in_one_process(ray_cluster, clustered, tmp_path):
    X, labels = clustered
    a = simulate(X, labels, 1, SearchPlan("elsa", epochs=4, index="exact", random_state=4))
    b = simulate(X, labels, 1, SearchPlan("elsa", epochs=4, index="ray", index_options={"shards": 2}, random_state=4))
    assert b["params"]["index"] == "ray"
    assert a["runs"][0]["curve"] == b["runs"][0]["curve"]
    assert a["runs"][0]["found"] > 20
    # The command line, in this process, joins the same cluster.
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", labels)
    out = tmp_path / "r.json"
    assert main(["simulate", "--embeddings", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy"),
                 "--target", "1", "--strategy", "elsa", "--index", "ray", "--shards", "2", "--epochs", "4", "--random-state", "4",
                 "--quiet", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["runs"][0]["curve"] == a["runs"][0]["curve"]


def test_a_labelling_session_on_a_ray_cluster_proposes_the_same_rounds(ray_cluster, clustered, tmp_path):
    X, labels = clustered
    np.save(tmp_path / "X.npy", X)
    seeds = np.flatnonzero(labels)[:5].tolist()
    batches = []
    for name, index, options in [("one", "exact", None), ("ray", "ray", {"shards": 2})]:
        s = Session.create(tmp_path / name, tmp_path / "X.npy", SearchPlan(epochs=3, index=index, index_options=options),
                           target="class 1", seeds=seeds)
        rounds = []
        for _ in range(3):
            batch = s.next_batch()
            rounds.append(batch.ids.tolist())
            s.answer_many(batch.ids[labels[batch.ids] == 1], "positive")
            s.answer_many(batch.ids[labels[batch.ids] == 0], "negative")
        batches.append(rounds)
        s.close()
    assert batches[0] == batches[1]
    reopened = Session.open(tmp_path / "ray")  # the backend and its shards are part of the session
    try:
        assert reopened.index.name == "ray" and len(reopened.index.bounds) == 2
    finally:
        reopened.close()


def test_shards_without_ray_backend_is_a_usage_error(capsys, tmp_path):
    np.save(tmp_path / "X.npy", np.zeros((10, 2), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(10, int))
    code = main(["simulate", "--embeddings", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy"),
                 "--target", "1", "--shards", "2"])
    assert code == 2 and "--shards applies only to --index ray" in capsys.readouterr().err


def test_a_session_checks_its_backend_options_before_writing(tmp_path):
    from elsa.exceptions import ParameterError

    np.save(tmp_path / "X.npy", np.zeros((10, 2), np.float32))
    for index, options, message in [("exact", {"shards": 2}, "ray backend only"),
                                    ("ray", {"shard": 2}, "unknown ray index options"),
                                    ("ray", {"shards": 0}, "shards")]:
        with pytest.raises(ParameterError, match=message):
            Session.create(tmp_path / "s", tmp_path / "X.npy", SearchPlan(index=index, index_options=options),
                           target="t", seeds=[1])
        assert not (tmp_path / "s").exists()


def test_a_pass_of_one_range_scores_rows_as_a_wider_pass_does():
    """BLAS's own threads split a product's rows and change its last bits, so a pass small
    enough for one range (a shard's tail) runs with one BLAS thread, as each range of a wider
    pass does: a shard's rows get the scores one process gives them."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(10_000, 16)).astype(np.float32)
    head = MLPHead().fit(X[:300], X[:300, 0] > 0.5, random_state=0)
    whole = head.confidence(X)  # ranges [0, 8192) and [8192, 10000) side by side
    np.testing.assert_array_equal(head.confidence(X[8192:]), whole[8192:])  # one range
