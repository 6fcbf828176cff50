"""The k-NN graph builders: exact blocks, k-means lists (with their measured recall), Ray tasks."""

import json

import numpy as np
import pytest

pytest.importorskip("faiss")

from elsa.index import graph as graph_module  # noqa: E402
from elsa.index import graph_build as gb  # noqa: E402
from elsa.index.base import neighbour_recall  # noqa: E402
from elsa.index.exact import ExactIndex  # noqa: E402
from elsa.index.graph import neighbour_graph  # noqa: E402


def _mapped(a) -> bool:
    """Whether ``a``'s memory is a file's (a memory map, or a view of one)."""
    import mmap

    while a is not None:
        if isinstance(a, (np.memmap, mmap.mmap)):
            return True
        a = getattr(a, "base", None)
    return False


def _reference(X, k):
    """Every row's k nearest other rows by the exact index (the reference of every backend)."""
    _, I = ExactIndex(X).search(X, k, query_ids=np.arange(X.shape[0]))
    return I.astype(np.int32)


@pytest.fixture
def clusters():
    """Four tight clusters of 60 rows in 8-d, far apart: every row's 10 nearest are in its cluster."""
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 10, (4, 8))
    return (centres.repeat(60, axis=0) + rng.normal(0, 1, (240, 8))).astype(np.float32)


def test_exact_graph_is_the_exact_index_graph():
    X = np.random.default_rng(0).normal(size=(700, 6)).astype(np.float32)
    assert np.array_equal(gb.exact_graph(X, 7, progress=False), _reference(X, 7))
    rows = np.array([5, 0, 699])
    assert np.array_equal(gb.exact_graph(X, 7, rows=rows, progress=False), _reference(X, 7)[rows])


def test_exact_graph_leaves_out_each_row_itself_even_among_duplicates():
    X = np.zeros((6, 2), np.float32)  # all rows equal: any 3 others, never the row itself
    X[5] = 9
    G = gb.exact_graph(X, 3, progress=False)
    assert all(r not in G[r] for r in range(6))
    assert set(G[0]) <= {1, 2, 3, 4}


def test_a_pool_of_k_rows_or_fewer_pads_with_minus_one():
    X = np.arange(3, dtype=np.float32)[:, None]
    assert gb.exact_graph(X, 4, progress=False).tolist() == [[1, 2, -1, -1], [0, 2, -1, -1], [1, 0, -1, -1]]


def test_probing_every_list_gives_the_exact_graph():
    X = np.random.default_rng(1).normal(size=(400, 5)).astype(np.float32)
    G, report = gb.lists_graph(X, 6, lists=10, probes=10, progress=False)
    assert np.array_equal(G, _reference(X, 6))
    assert report.method == "lists" and report.lists == 10 and report.probes == 10 and report.recall == 1.0


def test_lists_of_well_separated_clusters_need_the_fewest_probes(clusters):
    G, report = gb.lists_graph(clusters, 10, lists=16, progress=False, random_state=0)
    # k-means splits each cluster into a few lists, and the first probe count (8 of 16) covers them.
    assert report.probes == 8 and report.pilot_recall == {8: 1.0}
    assert neighbour_recall(G, _reference(clusters, 10)) == 1.0


def test_probes_grow_until_the_pilot_reaches_the_target(monkeypatch):
    X = np.random.default_rng(2).normal(size=(2000, 12)).astype(np.float32)  # no clusters: lists cut a blob
    monkeypatch.setattr(gb, "PROBE_STEPS", (1, 2, 4, 8, 16, 32))
    G, report = gb.lists_graph(X, 10, lists=64, progress=False, random_state=0, recall_target=0.8)
    tried = list(report.pilot_recall)
    assert tried == [p for p in (1, 2, 4, 8, 16, 32) if p <= report.probes]
    assert report.pilot_recall[report.probes] >= 0.82  # the target plus the pilot's margin
    assert all(r < 0.82 for p, r in report.pilot_recall.items() if p < report.probes)
    truth = neighbour_recall(G, _reference(X, 10))
    assert truth >= 0.8 and abs(truth - report.recall) < 0.05  # the held-out rows measure the whole graph


def test_neighbour_recall_counts_shared_neighbours():
    exact = np.array([[1, 2, 3], [0, 2, -1]])
    assert neighbour_recall(np.array([[3, 1, 9], [2, 0, 7]]), exact) == pytest.approx((2 / 3 + 1) / 2)


def test_split_lists_covers_every_list_once(clusters):
    lists = gb.make_lists(clusters, 12, random_state=0, progress=False)
    parts = gb.split_lists(lists, 4, 5)
    assert lists.count >= 12 and sorted(np.concatenate(parts).tolist()) == list(range(lists.count))


def test_the_graph_on_ray_is_the_one_process_graph(ray_cluster):
    from elsa.index.graph_ray import ray_search

    X = np.random.default_rng(4).normal(size=(1500, 8)).astype(np.float32)
    one, r1 = gb.lists_graph(X, 8, lists=40, probes=6, progress=False, random_state=1)
    two, r2 = gb.lists_graph(X, 8, lists=40, probes=6, progress=False, random_state=1,
                             search=ray_search(workers=2, progress=False))
    assert np.array_equal(one, two) and r2.workers == 2 and r1.recall == r2.recall


def test_a_large_pool_is_computed_by_lists_once_and_cached_with_its_report(monkeypatch, tmp_path, clusters):
    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(graph_module, "EXACT_GRAPH_ROWS", 100)  # 240 rows count as large
    built, graphs = [], []
    real = gb.make_lists
    monkeypatch.setattr(gb, "make_lists", lambda *a, **k: built.append(1) or real(*a, **k))
    for _ in range(2):
        monkeypatch.setattr(graph_module, "_RECENT", [])
        g = neighbour_graph(clusters, 10, progress=False)
        graphs.append(g)
    assert built == [1]
    assert g.report.method == "lists" and g.report.recall >= 0.9
    assert _mapped(g.forward)  # read from the cache file, not loaded
    assert np.array_equal(graphs[0].forward, g.forward)
    names = sorted(p.name.split("-k10-")[1] for p in (tmp_path / "neighbours").iterdir())
    assert names == ["lists.json", "lists.npy", "lists.reverse-ptr.npy", "lists.reverse-rows.npy"]
    assert json.loads((tmp_path / "neighbours" / f"{graph_module.pool_digest(clusters)}-k10-lists.json")
                      .read_text())["probes"] == g.report.probes
    # The reverse lists come from the cache too, and are the graph's transpose.
    ptr, rows = g.transposed()
    assert _mapped(rows)
    for j in (0, 100, 239):
        assert rows[ptr[j] : ptr[j + 1]].tolist() == np.flatnonzero((np.asarray(g.forward) == j).any(axis=1)).tolist()


def test_a_failed_build_leaves_nothing_in_the_cache(monkeypatch, tmp_path, clusters):
    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(graph_module, "EXACT_GRAPH_ROWS", 100)
    monkeypatch.setattr(graph_module, "_RECENT", [])

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(gb, "search_lists", interrupted)
    with pytest.raises(KeyboardInterrupt):
        neighbour_graph(clusters, 10, progress=False)
    assert list((tmp_path / "neighbours").iterdir()) == []


@pytest.mark.parametrize("probes", [1, 2, 5])
def test_exact_by_lists_is_the_exact_graph_whatever_the_probes(clusters, probes):
    lists = gb.make_lists(clusters, 12, random_state=0, progress=False)
    G, proved = gb.exact_by_lists(clusters, 10, lists, probes, progress=False)
    assert np.array_equal(G, _reference(clusters, 10))
    if probes == 5:  # the probed lists hold each row's cluster: most rows are proved without a search
        assert proved > 0.5


def test_certify_exact_proves_only_rows_whose_lists_are_exact():
    X = np.random.default_rng(5).normal(size=(600, 2)).astype(np.float32)  # one blob: lists cut neighbourhoods
    lists = gb.make_lists(X, 20, random_state=0, progress=False)
    G = np.full((600, 8), -1, np.int32)
    for rows, found in gb.search_lists(X, 8, lists, 4, np.arange(20)):
        G[rows] = found
    ok = gb.certify_exact(X, G, lists, 4)
    exact = _reference(X, 8)
    wrong = np.array([set(a) != set(b) for a, b in zip(G, exact)])
    assert wrong.any() and ok.any()  # some rows are missing neighbours, some are proved
    assert not (ok & wrong).any()  # no wrong row is ever proved


def test_a_partial_graph_left_by_a_killed_process_is_removed(monkeypatch, tmp_path, clusters):
    import os
    import socket

    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(graph_module, "_RECENT", [])
    digest = graph_module.pool_digest(clusters)
    folder = tmp_path / "neighbours"
    folder.mkdir()
    host = socket.gethostname().replace(".", "_")
    dead = folder / f".{digest}-k4-exact.npy.{host}.999999999.0a1b2c3d.partial"  # no such process here
    dead_reverse = folder / f".{digest}-k4-exact.reverse-rows.npy.{host}.999999999.0a1b2c3d.partial"
    alive = folder / f".{digest}-k4-exact.npy.{host}.{os.getppid()}.0a1b2c3d.partial"  # still computing
    elsewhere = folder / f".{digest}-k4-exact.npy.another_machine.999999999.0a1b2c3d.partial"  # not ours to judge
    for f in (dead, dead_reverse, alive, elsewhere):
        f.write_bytes(b"x")
    neighbour_graph(clusters, 4, progress=False)
    assert not dead.exists() and not dead_reverse.exists() and alive.exists() and elsewhere.exists()
    assert (folder / f"{digest}-k4-exact.npy").exists()


def test_on_a_ray_index_the_lists_are_searched_by_ray_tasks(ray_cluster, monkeypatch, clusters):
    """The index's actors hold the cluster's CPUs; the graph's tasks still run (they reserve none)."""
    from elsa.index.ray_backend import RayIndex

    monkeypatch.setattr(graph_module, "EXACT_GRAPH_ROWS", 100)
    monkeypatch.setattr(graph_module, "_RECENT", [])
    local = neighbour_graph(clusters, 6, cache=False, progress=False)
    monkeypatch.setattr(graph_module, "_RECENT", [])
    index = RayIndex(clusters, shards=2)
    try:
        on_ray = neighbour_graph(clusters, 6, index=index, cache=False, progress=False)
    finally:
        index.close()
    assert on_ray.report.method == "lists" and on_ray.report.workers == 2
    assert np.array_equal(on_ray.forward, local.forward)


def test_a_full_disk_computes_the_graph_in_memory_with_a_note(monkeypatch, tmp_path, clusters, caplog):
    import errno
    import os

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(graph_module, "_RECENT", [])
    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    g = neighbour_graph(clusters, 4, progress=False)
    assert np.array_equal(g.forward, _reference(clusters, 4))
    assert list((tmp_path / "neighbours").iterdir()) == []  # nothing half-written left behind
    assert "No space left on device" in caplog.text and "in memory" in caplog.text


def test_make_lists_halves_the_lists_k_means_leaves_too_large():
    # One wide blob of 2,000 rows beside 20 tight clusters of 20: k-means with 30 lists
    # leaves some lists far over the mean; each is halved until it holds at most twice it.
    rng = np.random.default_rng(7)
    blob = rng.normal(0, 1, (2000, 6))
    small = (rng.normal(0, 30, (20, 6)).repeat(20, axis=0) + rng.normal(0, 0.1, (400, 6)))
    X = np.concatenate([blob, small]).astype(np.float32)
    unsplit = gb.make_lists(X, 30, balance=None, random_state=0, progress=False)
    lists = gb.make_lists(X, 30, random_state=0, progress=False)
    cap = int(gb.BALANCE * X.shape[0] / 30)
    assert np.diff(unsplit.ptr).max() > cap  # the case the split is for
    sizes = np.diff(lists.ptr)
    assert sizes.max() <= cap and sizes.sum() == X.shape[0] and lists.count > 30
    assert sorted(lists.order.tolist()) == list(range(X.shape[0]))
    for c in range(lists.count):  # a new part's centroid is its members' mean; every radius holds its list
        rows = lists.members(c)
        if c >= 30:
            assert np.allclose(lists.centroids[c], X[rows].mean(axis=0), atol=1e-4)
        if rows.size:
            gap = X[rows].astype(np.float64) - lists.centroids[c].astype(np.float64)
            assert np.linalg.norm(gap, axis=1).max() <= lists.radius[c] + 1e-9
    # The exact graph through the split lists is still the exact graph.
    G, _ = gb.exact_by_lists(X, 5, lists, 3, progress=False)
    assert np.array_equal(G, _reference(X, 5))


def test_stage_flops_count_each_stage_products():
    # Two lists of 2 and 3 rows, each the other's nearest; d = 5e8, so a pair of rows is 1 GFLOP.
    lists = gb.Lists(assign=np.array([0, 0, 1, 1, 1]), ptr=np.array([0, 2, 5]), order=np.arange(5),
                     near=np.array([[0, 1], [1, 0]]), centroids=np.zeros((2, 4), np.float32), radius=np.zeros(2))
    flops = gb.stage_flops(5, 5e8, 3, 2, lists, np.array([0, 4]), 1, {1: 0.5, 2: 1.0}, iterations=2, train_per_list=1)
    assert flops["exact_sample"] == 3 * 5
    assert flops["lists"] == 2 * 2 * 2 + 5 * 2  # 2 iterations of 2 training rows x 2 centroids, then 5 rows x 2
    assert flops["pass"] == 2 * 2 + 3 * 3  # 1 probe: each list's rows against its own
    # The pilot rows 0 (list 0) and 4 (list 1), searched step by step up to 2 probes, each
    # meet all 5 rows once.
    assert flops["pilot"] == 5 + 5


def test_kth_distance_ratio_is_one_for_exact_neighbours_and_grows_with_worse_ones():
    X = np.arange(10, dtype=np.float32)[:, None]  # points on a line
    exact = np.array([[1, 2]])  # row 0's two nearest: 1 and 2
    assert gb.kth_distance_ratio(X, np.array([0]), exact, exact) == 1.0
    assert gb.kth_distance_ratio(X, np.array([0]), np.array([[1, 3]]), exact) == 1.5
