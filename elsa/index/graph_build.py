"""Computing a pool's k-NN graph at the speed of matrix products: exactly, or through k-means lists.

Both builders give each row its ``k`` nearest *other* rows, nearest first, as an
``(n, k)`` int32 array (``-1`` pads a row with fewer candidates than ``k``), and both
spend their time in :func:`~elsa.index.block_knn.block_knn`: a BLAS product per block of
rows, then a selection that costs a comparison a candidate (faiss's k-NN, used before,
pushed every candidate through a heap: 16 GFLOP/s a core on a list-sized block where the
product alone ran at 94 and this kernel at 39; the kernel table of ``search_latency.md``). faiss's IVF *search* scans each probed
list row by row for every query; here the rows that share a list are searched together,
so the same kind of comparisons run as matrix products.

* :func:`exact_graph`: blocks of query rows against the whole pool, shared among a
  thread per core. ``2 n^2 d`` flops: 23 s at 100k x 128 on 2 cores, about 40 minutes at 1M.
* :func:`lists_graph`: the pool split into lists by k-means (faiss, trained on 16 rows a
  list, :func:`make_lists`), lists over twice the mean size split in halves along their
  leading principal direction (:func:`~elsa.index.kmeans_lists.split_large`: k-means in high dimensions leaves a
  few lists many times the mean, and a list costs its rows times its candidates' rows;
  measured once for issue 37: the pass cost 3.4-6.5x what even lists would on four of
  the benchmark's pool shapes); the rows of list ``c`` are searched against the rows of the ``probes`` lists
  whose centroids are nearest ``c``'s own (``c`` included). Each row is compared with
  about ``probes x n / lists`` others. This is IVF search done list by list, a
  deliberate simplification: a row's candidates are chosen by its list's centroid, not
  by the row itself, which is what lets a list's rows share one product; the graph is
  exact within the candidates. ``benchmarks/results/search_latency.md`` has each stage's
  seconds, GFLOP (:func:`stage_flops`) and share of the machine's GEMM rate on pools of
  several shapes.
* :func:`choose_probes`: the smallest probe count whose graph has recall@k >= the
  target (0.95, plus a 0.02 margin) on a pilot of 500 sampled rows, measured against
  exact neighbours before the full pass; :func:`lists_graph` then reports the finished
  graph's recall on 500 other rows, and how near its ``k``-th neighbours are to the exact
  ones (:func:`kth_distance_ratio`; :class:`GraphReport`).
* :func:`exact_by_lists`: the exact graph, fast where the pool is clustered: the lists'
  graph where :func:`certify_exact` proves it by the triangle inequality, an exhaustive
  search for the other rows (on the clustered 1M x 128 benchmark pool every row was
  proved; a benchmark's reference, not used by a search).

Where the pool has no low-dimensional structure (uniform noise, or a large isotropic
Gaussian cluster in 128 dimensions) the ``k`` nearest rows are barely nearer than the
rest, and finding 90 % of them exactly means comparing each row with most of its
cluster, or the whole pool: no list structure helps. There the probes stop at 128 and
a note says the recall was not reached; the 50th-distance ratio shows how near the
neighbours found are.

The pass over the lists runs a thread per core with one BLAS thread each
(:func:`threaded_search`), or as Ray tasks doing the same calls
(:mod:`elsa.index.graph_ray`), so both give the same graph bit for bit.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .._validation import as_generator
from .._parallel import cpu_count
from .base import neighbour_recall
from .block_knn import block_knn, row_norms
from .kmeans_lists import (BALANCE, ITERATIONS, MAX_PROBES, TRAIN_PER_LIST, Lists, _rows,  # noqa: F401
                           default_lists, make_lists)

log = logging.getLogger("elsa")  # notes for the user; printed to stderr unless logging is set up

RECALL_TARGET = 0.95  # recall@k the graph is built to reach (graph_quality.md: the default holds at 0.97, not at 0.93)
PILOT_MARGIN = 0.02  # the pilot aims this much higher, so the graph's own recall clears the target
SAMPLE_ROWS = 1000  # rows with exact neighbours: half choose the probes, half measure the graph
PROBE_STEPS = (8, 12, 16, 24, 32, 48, 64, 96, MAX_PROBES)  # tried by choose_probes, smallest first
QUERY_BLOCK = 4096


def _drop_self(D: np.ndarray, I: np.ndarray, own: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest of ``k + 1`` found, without each query's own row (``-1`` padded)."""
    is_own = I == own[:, None]
    # Remove the own row where found; else the last (the row was displaced by exact duplicates).
    drop = np.where(is_own.any(axis=1), is_own.argmax(axis=1), I.shape[1] - 1)
    keep = np.ones(I.shape, bool)
    keep[np.arange(I.shape[0]), drop] = False
    return I[keep].reshape(I.shape[0], I.shape[1] - 1)[:, :k].astype(np.int32)


def exact_graph(X: np.ndarray, k: int, *, rows: np.ndarray | None = None, progress: bool = True,
                desc: str = "exact k-NN graph") -> np.ndarray:
    """Each of ``rows``' (default: every row's) ``k`` nearest other rows, exactly: blocks of
    query rows against the whole pool by :func:`~elsa.index.block_knn.block_knn`, the
    blocks shared among a thread per core (one BLAS thread each)."""
    from tqdm.auto import tqdm

    from .._parallel import map_ranges, row_ranges

    n = X.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows, np.int64)
    k_eff = min(k, n - 1)
    out = np.full((rows.size, k), -1, np.int32)
    if k_eff <= 0:
        return out
    pool_block = max(QUERY_BLOCK, (256 << 20) // (4 * X.shape[1]))  # 256 MB of float32 pool at a time
    bar = tqdm(total=rows.size, desc=desc, unit="row", disable=None if progress else True, dynamic_ncols=True,
               file=sys.stderr, leave=False)
    try:
        for start in range(0, rows.size, QUERY_BLOCK):
            ids = rows[start : start + QUERY_BLOCK]
            Q = _rows(X, ids)
            best = (np.full((ids.size, k_eff + 1), np.inf, np.float32), np.full((ids.size, k_eff + 1), -1, np.int64))
            for p in range(0, n, pool_block):
                P = _rows(X, slice(p, min(n, p + pool_block)))
                norms = row_norms(P)

                def part(a: int, b: int) -> None:
                    found = block_knn(Q[a:b], P, k_eff + 1, b_norms=norms, best=(best[0][a:b], best[1][a:b]), offset=p)
                    best[0][a:b], best[1][a:b] = found

                map_ranges(part, row_ranges(ids.size, cpu_count(), 64))
            out[start : start + ids.size, :k_eff] = _drop_self(best[0], best[1], ids, k_eff)
            bar.update(ids.size)
    finally:
        bar.close()
    return out


def search_lists(X: np.ndarray, k: int, lists: Lists, probes: int, which, only: np.ndarray | None = None):
    """For each list of ``which``: its rows (or, with ``only``, its rows among ``only``) and
    their ``k`` nearest other rows among the rows of the list's ``probes`` nearest lists,
    ``(rows, (len(rows), k) int32)``."""
    for c in which:
        c = int(c)
        queries = lists.members(c)
        if only is not None:
            queries = queries[np.isin(queries, only, assume_unique=True)]
        if queries.size == 0:
            continue
        cand = lists.candidates(c, probes)
        kk = min(k + 1, cand.size)
        D, I = block_knn(_rows(X, queries), _rows(X, cand), kk)
        I = np.where(I >= 0, cand[np.maximum(I, 0)], -1)
        found = np.full((queries.size, k), -1, np.int32)
        found[:, : kk - 1] = _drop_self(D, I, queries, kk - 1)
        yield queries, found


def split_lists(lists: Lists, probes: int, parts: int) -> list[np.ndarray]:
    """``parts`` groups of lists of about equal cost (rows x candidates), the costliest first."""
    sizes = np.diff(lists.ptr)
    cost = sizes * sizes[lists.near[:, :probes]].sum(axis=1)
    order = np.argsort(-cost, kind="stable")
    bounds = np.searchsorted(np.cumsum(cost[order]), np.linspace(0, cost.sum(), parts + 1)[1:-1], side="right")
    return [part for part in np.split(order, bounds) if part.size]


def search_parts(X: np.ndarray, k: int, lists: Lists, probes: int, which: np.ndarray):
    """:func:`search_lists` with one BLAS thread (the caller's thread does the work), its
    answers concatenated: what a worker thread or a Ray task computes."""
    from .._parallel import one_blas_thread

    with one_blas_thread():
        parts = list(search_lists(X, k, lists, probes, which))
    if not parts:
        return np.zeros(0, np.int64), np.zeros((0, k), np.int32)
    return np.concatenate([r for r, _ in parts]), np.concatenate([f for _, f in parts])


def threaded_search(X: np.ndarray, k: int, lists: Lists, probes: int, out: np.ndarray, *,
                    threads: int | None = None, progress: bool = True) -> int:
    """The pass over the lists in this process: one thread per core, each with one BLAS
    thread on its own groups of lists (BLAS and numpy's sorts release the GIL), so every
    list is searched by the same single-threaded calls as in a Ray task and the graph is
    the same bits."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm.auto import tqdm

    from .._parallel import one_blas_thread

    threads = threads or cpu_count()
    bar = tqdm(total=X.shape[0], desc=f"k-NN graph (k={k}; {lists.count:,} lists, {probes} probes)", unit="row",
               disable=None if progress else True, dynamic_ncols=True, file=sys.stderr, leave=False)
    try:
        def work(part):
            rows, found = search_parts(X, k, lists, probes, part)
            out[rows] = found  # distinct rows per group: the threads never write the same row
            return rows.size

        pool = ThreadPoolExecutor(threads)
        try:
            # Many small groups, costliest first: the threads finish together and the bar's
            # estimate settles early. One BLAS thread for the whole pass (each worker's own
            # limit, taken and given back concurrently, would leave the other's in doubt).
            with one_blas_thread():
                for done in as_completed([pool.submit(work, part)
                                          for part in split_lists(lists, probes, threads * 32)]):
                    bar.update(done.result())
        except BaseException:  # a Ctrl-C or a failed group: drop the queued groups, not just wait for them
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    finally:
        bar.close()
    return threads


def choose_probes(X: np.ndarray, k: int, lists: Lists, pilot: np.ndarray, exact: np.ndarray, target: float
                  ) -> tuple[int, dict[int, float]]:
    """The smallest of :data:`PROBE_STEPS` (up to the list count) whose graph has recall@k >=
    ``target`` on the ``pilot`` rows (``exact``: their exact neighbours), and each tried
    count's recall; the largest tried when none reaches it.

    Each step searches only the lists it adds to the last one's and merges them into the
    neighbours found so far, so trying every step costs what the largest alone would
    (the steps grow by about 1.5x: the pass costs in proportion to the probes, and finer
    steps overshoot the target less)."""
    tried: dict[int, float] = {}
    steps = [p for p in PROBE_STEPS if p < lists.count] + [min(lists.count, max(PROBE_STEPS))]
    home = lists.assign[pilot]
    groups = [(int(c), np.flatnonzero(home == c)) for c in np.unique(home)]
    best_d = np.full((pilot.size, k + 1), np.inf, np.float32)
    best_i = np.full((pilot.size, k + 1), -1, np.int64)
    done = 0
    for p in dict.fromkeys(min(p, lists.near.shape[1]) for p in steps):
        for c, slots in groups:
            cand = lists.candidates(c, p, skip=done)
            if cand.size == 0:
                continue
            D, I = block_knn(_rows(X, pilot[slots]), _rows(X, cand), k + 1)
            D = np.concatenate([best_d[slots], D], axis=1)
            I = np.concatenate([best_i[slots], np.where(I >= 0, cand[np.maximum(I, 0)], -1)], axis=1)
            order = np.argsort(D, axis=1, kind="stable")[:, : k + 1]
            best_d[slots], best_i[slots] = np.take_along_axis(D, order, 1), np.take_along_axis(I, order, 1)
        done = p
        tried[p] = neighbour_recall(_drop_self(best_d, best_i, pilot, k), exact)
        if tried[p] >= target:
            return p, tried
    return p, tried


@dataclass
class GraphReport:
    """How a graph was computed, and how good it is (stored beside the cached graph)."""

    method: str  # "exact", "lists" (k-means lists, this module) or the index that searched ("ivf", "ray" ...)
    n: int
    k: int
    seconds: float = 0.0
    lists: int | None = None
    probes: int | None = None
    pilot_recall: dict = field(default_factory=dict)  # probes tried -> recall@k on the pilot rows
    recall: float | None = None  # recall@k on rows the pilot did not see (1.0 for an exact graph)
    recall_rows: int = 0
    workers: int = 1  # threads or Ray tasks that searched the lists at once
    stages: dict = field(default_factory=dict)  # seconds: exact sample, k-means, pilot, pass, recall
    flops: dict = field(default_factory=dict)  # GFLOP of each stage's products (stage_flops)
    kth_distance_ratio: float | None = None  # median found k-th neighbour's distance / the exact one's

    def describe(self) -> str:
        if self.method == "exact":
            return f"exact k-NN graph of {self.n:,} rows (k={self.k}), {self.seconds:.0f} s"
        how = (f"{self.lists:,} k-means lists, {self.probes} probes" if self.method == "lists"
               else f"the {self.method} index")
        rec = f", recall@{self.k} {self.recall:.3f} on {self.recall_rows:,} sampled rows" if self.recall is not None else ""
        return f"approximate k-NN graph of {self.n:,} rows (k={self.k}; {how}){rec}, {self.seconds:.0f} s"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["pilot_recall"] = {str(p): round(r, 4) for p, r in self.pilot_recall.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "GraphReport":
        known = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        return cls(**known)


def lists_graph(X: np.ndarray, k: int, *, out: np.ndarray | None = None, recall_target: float = RECALL_TARGET,
                lists: int | None = None, probes: int | None = None, sample_rows: int = SAMPLE_ROWS,
                random_state=0, progress: bool = True, search=None) -> tuple[np.ndarray, GraphReport]:
    """The approximate graph of the module docstring, with its recall measured.

    ``out``: an ``(n, k)`` int32 array to fill (a memory map on disk); ``probes`` None
    chooses them on a pilot sample (:func:`choose_probes`); ``search(X, k, lists, probes,
    out)``, returning the workers it used, replaces the one-process pass (the Ray
    builder). Columns beyond ``n - 1`` neighbours are ``-1``.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    n = X.shape[0]
    rng = as_generator(random_state)
    out = np.full((n, k), -1, np.int32) if out is None else out
    count = lists if lists is not None else default_lists(n)
    sample = rng.choice(n, min(n, sample_rows), replace=False)
    pilot, held = sample[: sample.size // 2], sample[sample.size // 2 :]
    exact = exact_graph(X, k, rows=sample, progress=progress, desc=f"exact neighbours of {sample.size:,} sample rows")
    stages: dict[str, float] = {}

    def lap(stage: str) -> None:  # the seconds since the last stage ended
        stages[stage] = time.perf_counter() - t0 - sum(stages.values())

    lap("exact_sample")
    with tqdm(total=1, desc=f"k-means: {count:,} lists", disable=None if progress else True, file=sys.stderr,
              leave=False, bar_format="{desc} ({elapsed})") as bar:
        parts = make_lists(X, count, random_state=rng, progress=progress)
        bar.update(1)
    lap("lists")
    pilot_recall: dict[int, float] = {}
    if probes is None:
        probes, pilot_recall = choose_probes(X, k, parts, np.sort(pilot), exact[np.argsort(pilot)],
                                             min(1.0, recall_target + PILOT_MARGIN))
    lap("pilot")
    if search is None:
        workers = threaded_search(X, k, parts, probes, out, progress=progress)
    else:
        workers = search(X, k, parts, probes, out)
    lap("pass")
    found = np.asarray(out[held])
    got = neighbour_recall(found, exact[sample.size // 2 :])
    ratio = kth_distance_ratio(X, held, found, exact[sample.size // 2 :])
    lap("recall")
    report = GraphReport("lists", n, k, round(time.perf_counter() - t0, 1), parts.count, int(probes), pilot_recall,
                         round(got, 4), int(held.size), workers, {key: round(v, 1) for key, v in stages.items()},
                         stage_flops(n, X.shape[1], sample.size, count, parts, pilot, probes, pilot_recall),
                         None if ratio is None else round(ratio, 4))
    if got < recall_target:
        near = "" if ratio is None else (f" (though neighbour {k} of a row is a median {100 * (ratio - 1):.1f} % "
                                         f"farther than its exact neighbour {k}: many rows are about as near)")
        log.warning(f"note: the k-NN graph's recall@{k} is {got:.3f} on {held.size:,} sampled rows, below "
                    f"{recall_target}: the pool's neighbours are hard to find by lists{near}")
    return out, report


def stage_flops(n: int, d: int, sample: int, count: int, lists: Lists, pilot: np.ndarray, probes: int,
                tried: dict, *, iterations: int = ITERATIONS, train_per_list: int = TRAIN_PER_LIST) -> dict[str, float]:
    """GFLOP of each stage's distance products (``2 d`` a pair of rows): the exact sample
    against the pool; k-means (its training iterations, then every row against the
    ``count`` centroids); the pilot (its rows against their lists' candidates with the
    most probes tried: each step searched only the lists it added); the pass (each list's
    rows against its candidates)."""
    sizes = np.diff(lists.ptr)

    def candidates(p: int) -> np.ndarray:  # each list's candidate rows with p probes
        return sizes[lists.near[:, : min(p, lists.near.shape[1])]].sum(axis=1)

    pilot_lists = lists.assign[pilot]
    return {key: round(2.0 * d * v / 1e9, 1) for key, v in {
        "exact_sample": float(sample) * n,
        "lists": float(iterations * min(n, train_per_list * count) * count + n * count),
        "pilot": float(candidates(max(tried))[pilot_lists].sum()) if tried else 0.0,
        "pass": float((sizes * candidates(probes)).sum())}.items()}


def kth_distance_ratio(X: np.ndarray, rows: np.ndarray, found: np.ndarray, exact: np.ndarray) -> float | None:
    """The median over ``rows`` of the distance to the ``k``-th neighbour found over the
    distance to the exact ``k``-th: 1.0 when the found neighbours are as near, whatever
    their recall (on a pool with no structure, many rows are nearly as near as the exact
    ones, and recall is low while the ratio stays close to 1)."""
    ok = (found[:, -1] >= 0) & (exact[:, -1] >= 0)
    if not ok.any():
        return None
    x = _rows(X, rows[ok]).astype(np.float64)
    got = np.linalg.norm(x - _rows(X, found[ok, -1]), axis=1)
    best = np.linalg.norm(x - _rows(X, exact[ok, -1]), axis=1)
    return float(np.median(got / np.maximum(best, 1e-30)))


def certify_exact(X: np.ndarray, forward: np.ndarray, lists: Lists, probes: int, *, block: int = 16384
                  ) -> np.ndarray:
    """Which rows' neighbours in ``forward`` (a :func:`search_lists` graph with ``probes``) are
    provably their exact ``k`` nearest, by the triangle inequality.

    A row ``x`` of list ``c`` was compared with every row of ``c``'s probed lists. Any row
    ``y`` of another list ``j`` is at least ``||x - centroid_j|| - radius_j`` from ``x``; when
    that bound exceeds the distance to ``x``'s ``k``-th neighbour for every unprobed list,
    no unseen row can be nearer, and the row's list is exact (up to the order of rows at
    equal distance). Distances, radii and the ``k``-th distance are float64 (the float32
    rows are exact in it), their rounding absorbed by a slack of 1e-9 of the squared norms.
    """
    n, k = forward.shape
    ok = np.zeros(n, bool)
    centroids = lists.centroids.astype(np.float64)
    cnorm = np.einsum("ij,ij->i", centroids, centroids)
    radius = np.where(np.diff(lists.ptr) > 0, lists.radius, -np.inf)  # an empty list hides nothing
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        x = _rows(X, rows)
        last = np.asarray(forward[rows, k - 1])
        found = last >= 0
        xd = x.astype(np.float64)
        kth = np.full(rows.size, np.inf)
        kth[found] = np.sum((xd[found] - _rows(X, last[found]).astype(np.float64)) ** 2, axis=1)
        xnorm = np.einsum("ij,ij->i", xd, xd)
        d2 = xnorm[:, None] + cnorm[None, :] - 2.0 * (xd @ centroids.T)
        d2 -= 1e-9 * (xnorm[:, None] + cnorm[None, :])  # float64 rounding, with room to spare
        bound = np.sqrt(np.maximum(d2, 0.0)) - radius[None, :]
        probed = lists.near[lists.assign[rows], :probes]
        np.put_along_axis(bound, probed, np.inf, axis=1)
        bound = np.maximum(bound.min(axis=1), 0.0)
        ok[rows] = found & (bound * bound > kth * (1 + 1e-6))
    return ok


def exact_by_lists(X: np.ndarray, k: int, lists: Lists, probes: int, *, progress: bool = True
                   ) -> tuple[np.ndarray, float]:
    """The exact graph: the lists' graph where :func:`certify_exact` proves it, exact search
    (:func:`exact_graph`) for the other rows; and the share of rows proved. Fast where the
    pool is clustered (most rows proved), as slow as :func:`exact_graph` where it is not."""
    out = np.full((X.shape[0], k), -1, np.int32)
    for rows, found in search_lists(X, k, lists, probes, np.arange(lists.count)):
        out[rows] = found
    ok = certify_exact(X, out, lists, probes)
    rest = np.flatnonzero(~ok)
    if rest.size:
        out[rest] = exact_graph(X, k, rows=rest, progress=progress, desc=f"exact search of {rest.size:,} rows")
    return out, float(ok.mean())
