"""The faiss backends against the exact index, the reference (faiss's contrib habit: compare, tolerate ties)."""


import numpy as np
import pytest

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.exceptions import MissingDependencyError
from elsa.index import ExactIndex, choose_backend, make_index
from elsa.simulation import simulate
from helpers import hide_module

faiss = pytest.importorskip("faiss")
from elsa.index.faiss_index import FaissIndex  # noqa: E402

# Settings under which each backend visits everything: it must then agree with the exact index.
EXHAUSTIVE = {"ivf": {"nprobe": 10_000}, "ivfpq": {"nprobe": 10_000, "rerank": 50}, "hnsw": {"ef_search": 1000}}


@pytest.fixture(scope="module")
def clustered():
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 4, (20, 16))
    X = (centers[rng.integers(0, 20, 3000)] + rng.normal(0, 1, (3000, 16))).astype(np.float32)
    exclude = np.zeros(3000, bool)
    exclude[rng.choice(3000, 300, replace=False)] = True
    return X, exclude, rng.choice(3000, 40, replace=False)


@pytest.mark.parametrize("kind", ["ivf", "ivfpq", "hnsw"])
def test_exhaustive_settings_agree_with_the_exact_index(clustered, kind):
    X, exclude, ids = clustered
    exact, approx = ExactIndex(X), FaissIndex(X, kind, **EXHAUSTIVE[kind])
    D0, I0 = exact.search(X[ids], 10, exclude=exclude, query_ids=ids)
    D1, I1 = approx.search(X[ids], 10, exclude=exclude, query_ids=ids)
    assert (I1 == I0).mean() >= 0.99 and np.allclose(D1, D0, atol=1e-3)
    assert not exclude[I1].any() and not (I1 == ids[:, None]).any()
    s0, s1 = exact.search_set(X[ids[:5]], 60, exclude=exclude), approx.search_set(X[ids[:5]], 60, exclude=exclude)
    assert np.array_equal(s1[1], s0[1]) and np.allclose(s1[0], s0[0], atol=1e-3)
    assert np.allclose(approx.distance_to_set(X[ids[:3]]), exact.distance_to_set(X[ids[:3]]))
    assert approx.recall_against_exact(k=10, exclude=exclude) >= 0.99


@pytest.mark.parametrize("kind, floor", [("ivf", 0.9), ("ivfpq", 0.85), ("hnsw", 0.9)])
def test_default_settings_find_most_true_neighbours(clustered, kind, floor):
    X, exclude, ids = clustered
    index = FaissIndex(X, kind, nprobe=4)
    assert index.recall_against_exact(k=20, exclude=exclude) >= floor
    D, I = index.search(X[ids], 20, exclude=exclude)
    assert not exclude[I[I >= 0]].any()
    assert (np.diff(D, axis=1) >= -1e-5).all()  # ascending, like the exact index


def test_fewer_eligible_rows_than_k_pad_like_the_exact_index(clustered):
    X, _, _ = clustered
    exclude = np.ones(3000, bool)
    exclude[:3] = False
    for index in (ExactIndex(X), FaissIndex(X, "ivf", **EXHAUSTIVE["ivf"])):
        D, I = index.search(X[:1], 5, exclude=exclude)
        assert sorted(I[0, :3]) == [0, 1, 2] and (I[0, 3:] == -1).all() and np.isinf(D[0, 3:]).all()


def test_an_elsa_run_on_an_exhaustive_ivf_index_equals_the_exact_run(blobs):
    X, truth = blobs
    labels = truth.astype(int)
    a = simulate(X, labels, 1, SearchPlan("elsa", epochs=4, index="exact", random_state=2))
    b = simulate(X, labels, 1, SearchPlan("elsa", epochs=4, index="ivf", random_state=2),
                 trial=Trial(index_recall=True))  # 220 rows: 5 cells, all probed
    assert a["runs"][0]["curve"] == b["runs"][0]["curve"]
    assert b["params"]["index"] == "ivf" and b["params"]["index_recall"] == 1.0


def test_auto_chooses_by_size_and_memory():
    assert choose_backend(1_000_000, 128) == "exact"
    assert choose_backend(10_000_000, 128, memory=64 * 2**30, faiss_installed=True) == "ivf"
    assert choose_backend(10_000_000, 128, memory=4 * 2**30, faiss_installed=True) == "ivfpq"  # 5.1 GB copy won't fit
    assert choose_backend(10_000_000, 128, faiss_installed=False) == "exact"
    assert isinstance(make_index(np.zeros((10, 2), np.float32)), ExactIndex)


def test_missing_faiss_names_the_extra(monkeypatch):
    hide_module(monkeypatch, "faiss")
    with pytest.raises(MissingDependencyError, match=r"pip install 'elsa-search\[faiss\]'"):
        make_index(np.zeros((10, 2), np.float32), "ivf")


def test_sessions_and_the_cli_take_a_backend(blobs, tmp_path, capsys):
    from elsa.cli import main
    from elsa.session import Session

    X, truth = blobs
    np.save(tmp_path / "E.npy", X)
    np.save(tmp_path / "L.npy", truth.astype(int))
    with Session.create(tmp_path / "s", tmp_path / "E.npy", SearchPlan(index="ivf"), seeds=[200]) as s:
        assert s.index.kind == "ivf" and len(s.next_batch())
    with Session.open(tmp_path / "s") as s:
        assert s.index.kind == "ivf"  # the choice is part of the session
    assert main(["simulate", "--embeddings", str(tmp_path / "E.npy"), "--labels", str(tmp_path / "L.npy"),
                 "--target", "1", "--quiet", "--strategy", "elsa", "--index", "hnsw", "--index-recall"]) == 0
    assert "index hnsw (recall@50 against exact search 1.000)" in capsys.readouterr().out
