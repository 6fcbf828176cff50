"""float16 pools: used in place (never converted whole), with every result bitwise the
result on the same values stored as float32 (every float16 is exactly a float32)."""

import json
import pickle

import numpy as np
import pytest

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa import _validation
from elsa._validation import Pool, check_embeddings, float_rows
from elsa.cli import main
from elsa.head import MLPHead
from elsa.index import ExactIndex, make_index
from elsa.index.sharded import LocalShardedIndex
from elsa.oracle import SimulatedOracle
from elsa.search import STRATEGIES, make_strategy
from elsa.session import Session
from elsa.simulation import simulate


@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    """The same 3,000 x 16 clustered values as a float16 memory map and as float32 in memory."""
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=5.0, size=(30, 16))
    which = rng.integers(0, 30, size=3000)
    X16 = (centres[which] + rng.normal(size=(3000, 16))).astype(np.float16)
    X16[1000:1004] = X16[3]  # exact ties
    path = tmp_path_factory.mktemp("f16") / "pool.npy"
    np.save(path, X16)
    return np.load(path, mmap_mode="r"), X16.astype(np.float32), (which < 2).astype(int), path


def test_a_float16_memory_map_is_kept_as_it_is(pools):
    X16, X32, _, _ = pools
    checked = check_embeddings(X16)
    assert checked.dtype == np.float16 and np.shares_memory(checked, X16)
    checked32 = check_embeddings(X32)
    assert np.shares_memory(checked32, X32) and isinstance(checked32, Pool)  # a checked view, not a copy
    assert check_embeddings(checked32) is checked32  # a checked pool is trusted: not scanned again
    assert check_embeddings(X32.astype(np.float64)).dtype == np.float32  # other dtypes: converted
    bad = np.array(X16[:20])
    bad[[4, 9]] = np.float16(np.inf)  # float16 overflows to inf at 65,520
    with pytest.raises(Exception, match=r"2 row\(s\) with NaN or inf values \(rows 4, 9\)"):
        check_embeddings(bad)


def test_float_rows_converts_every_finite_float16_exactly():
    every = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    every = every[np.isfinite(every)].reshape(-1, 16)  # zeros, subnormals, normals, both signs
    got, want = float_rows(every), every.astype(np.float32)
    assert every.size == 63488 and got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    assert float_rows(every[3:9:2, ::3]).tolist() == want[3:9:2, ::3].tolist()  # a strided view
    block = np.ones((2, 2), np.float32)
    assert float_rows(block) is block


def _answers(index, X32):
    qid = np.array([3, 10, 1500, 2999])
    Q = X32[qid]
    ex = np.zeros(len(X32), bool)
    ex[::7] = True
    ex[3] = False
    return [index.search(Q, 9, exclude=ex, query_ids=qid), index.search(Q, 5), index.search_set(Q, 40, exclude=ex),
            index.distance_to_set(Q)]


@pytest.mark.parametrize("backend", ["exact", "sharded", "ivf", "ivfpq"])
def test_every_backend_answers_bitwise_as_on_float32(pools, backend):
    X16, X32, _, _ = pools
    if backend == "sharded":
        a, b = LocalShardedIndex(X16, 3, chunk_rows=256), LocalShardedIndex(X32, 3, chunk_rows=256)
    elif backend == "exact":
        a, b = ExactIndex(X16, chunk_rows=256), ExactIndex(X32, chunk_rows=256)
    else:
        pytest.importorskip("faiss")
        a, b = make_index(X16, backend, random_state=0, nlist=16), make_index(X32, backend, random_state=0, nlist=16)
    assert a.X.dtype == np.float16 and np.shares_memory(a.X, X16)
    for got, want in zip(_answers(a, X32), _answers(b, X32)):
        if isinstance(got, tuple):
            np.testing.assert_array_equal(got[1], want[1])
            np.testing.assert_array_equal(got[0], want[0])
        else:
            np.testing.assert_array_equal(got, want)
    # Sanity on values: the exact answers are the float64 brute force ranking.
    if backend == "exact":
        d64 = ((X32.astype(np.float64) - X32[1500].astype(np.float64)) ** 2).sum(1)
        assert a.search(X32[1500], 5, query_ids=[1500])[1][0].tolist() == np.argsort(d64, kind="stable")[1:6].tolist()


def test_the_head_trains_and_scores_bitwise_as_on_float32(pools):
    X16, X32, labels, _ = pools
    rows = np.arange(0, 3000, 10)
    a = MLPHead(hidden=8).prepare(X16).fit(X16[rows], labels[rows] == 1, random_state=0)
    b = MLPHead(hidden=8).prepare(X32).fit(X32[rows], labels[rows] == 1, random_state=0)
    np.testing.assert_array_equal(a.confidence(X16), b.confidence(X32))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_asks_for_the_same_items_on_float16_as_on_float32(pools, strategy):
    X16, X32, labels, _ = pools
    seeds = [] if strategy == "usl" else list(np.flatnonzero(labels)[:3])
    asked = [make_strategy(strategy, epochs=3).run(X, seeds, SimulatedOracle(labels == 1), random_state=2).queried_ids
             for X in (X16, X32)]
    np.testing.assert_array_equal(asked[0], asked[1])
    assert labels[asked[0]].sum() > 0


def test_the_command_line_and_a_session_take_a_float16_file(pools, tmp_path):
    X16, X32, labels, path = pools
    np.save(tmp_path / "y.npy", labels)
    out = {}
    for name, X in [("f16", path), ("f32", tmp_path / "f32.npy")]:
        if name == "f32":
            np.save(X, X32)
        assert main(["simulate", "--embeddings", str(X), "--labels", str(tmp_path / "y.npy"), "--target", "1",
                     "--strategy", "elsa", "--epochs", "3", "--random-state", "1", "--quiet", "--output", str(tmp_path / f"{name}.json")]) == 0
        out[name] = json.loads((tmp_path / f"{name}.json").read_text())["runs"][0]["curve"]
    assert out["f16"] == out["f32"]
    with Session.create(tmp_path / "s16", path, SearchPlan(epochs=2), seeds=[int(np.flatnonzero(labels)[0])]) as s16, \
            Session.create(tmp_path / "s32", tmp_path / "f32.npy", SearchPlan(epochs=2),
                           seeds=[int(np.flatnonzero(labels)[0])]) as s32:
        assert s16.X.dtype == np.float16
        assert s16.advance().ids.tolist() == s32.advance().ids.tolist()
        assert s16.similar(5).tolist() == s32.similar(5).tolist()


def test_ray_shards_map_their_float16_rows_in_place(ray_cluster, pools):
    from elsa.index.ray_backend import RayIndex

    X16, X32, _, _ = pools
    idx = RayIndex(X16, shards=2, chunk_rows=256)
    try:
        assert idx.in_place
        for got, want in zip(_answers(idx, X32), _answers(ExactIndex(X32, chunk_rows=256), X32)):
            np.testing.assert_array_equal(got[1] if isinstance(got, tuple) else got,
                                          want[1] if isinstance(want, tuple) else want)
    finally:
        idx.close()


@pytest.mark.parametrize("strategy", ["portfolio", "elsa", "seals"])
def test_a_simulation_scans_the_pool_for_nan_once(pools, monkeypatch, strategy):
    # The pool is checked at the edge into a Pool; the loop, the index and the k-NN graph trust it.
    X16, X32, y, _ = pools
    scans = []
    check = _validation._check_finite
    monkeypatch.setattr(_validation, "_check_finite", lambda X, name: scans.append(X.shape) or check(X, name))
    simulate(X32, y, 1, SearchPlan(strategy, budget=30), seeds=2, trial=Trial(repeats=2, progress=False))
    assert scans == [X32.shape]


def test_a_checked_pool_behaves_as_an_array():
    X = check_embeddings(np.ones((4, 3), np.float32))
    Y = X
    Y += 1  # in place: still the pool itself
    assert Y is X and float(X.sum()) == 24.0
    assert type(X * 2) is np.ndarray  # arithmetic gives plain arrays, checked again if passed in
    assert type(pickle.loads(pickle.dumps(X, protocol=5))) is np.ndarray
    with pytest.raises(Exception, match="NaN or inf"):
        check_embeddings(X * np.inf)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_the_finite_check_reads_the_exponent_bits(dtype):
    from elsa._validation import _finite_bits

    info = np.finfo(dtype)
    ok = np.array([[0.0, -0.0, info.max, -info.max, info.tiny, info.smallest_subnormal]], dtype)
    assert _finite_bits(ok)
    for bad in (np.inf, -np.inf, np.nan, -np.nan):
        row = ok.copy()
        row[0, 3] = bad
        assert not _finite_bits(row)
    # In a pool of several blocks and threads, the one bad row is found by index.
    X = np.ones((300_000, 16), dtype)
    X[299_999, 5] = np.nan
    with pytest.raises(Exception, match=r"1 row\(s\) with NaN or inf values \(rows 299999\)"):
        check_embeddings(X)
