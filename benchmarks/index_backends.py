"""Index backends on a large pool: build time, ELSA's calls, recall against the exact search.

Pool: ``--n`` (default 1,000,000) x 128 float32 vectors from a mixture of 1,000
Gaussian clusters (clustered, as embeddings are), built in memory with a fixed seed.
For each backend (exact, and faiss's IVF-Flat, IVF-PQ with exact re-ranking, HNSW):

* build seconds;
* ELSA's calls, median of 5: the NN step (``search_set``: 50 frontier positives, the 50
  nearest unlabelled items to the set) and RandS's neighbour search (``search``: 100
  random items, 10 neighbours each, excluding 5,000 labelled items);
* recall@50 against the exact index on 200 pool rows.

Also measured in the same run, for the lower bound of an exact pass: float32 matrix
multiply rate (a 4096 x 4096 GEMM) and memory read rate (``X.max()`` over the pool, one
thread: a lower estimate of the bandwidth, so a generous bound). Then a
whole ELSA epoch (search, RandS, head training and scoring) on the same pool with a
planted rare class (0.1 %), exact against IVF, median over epochs 2-6.

    python -m benchmarks.index_backends             # 1M x 128
    python -m benchmarks.index_backends --n 100000

Writes ``benchmarks/results/index_backends.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from elsa.index import ExactIndex
from elsa.index.faiss_index import FaissIndex
from elsa.oracle import SimulatedOracle
from elsa.search import make_strategy

from .harness import ROOT, command, timed, write_results

RESULTS = ROOT / "benchmarks" / "results"


def pool(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (1000, d)).astype(np.float32) * 3
    labels = rng.integers(0, 1000, n)
    X = np.empty((n, d), np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        X[start:stop] = centers[labels[start:stop]] + rng.normal(0, 1, (stop - start, d)).astype(np.float32)
    return X, labels


def machine_rates(X: np.ndarray) -> dict:
    A = np.random.default_rng(1).normal(size=(4096, 4096)).astype(np.float32)
    gemm = timed(lambda: A @ A, repeats=3, warmup=0).median
    read = timed(lambda: X.max(), repeats=3, warmup=0).median  # the cheapest full read numpy offers (single-threaded)
    return {"gemm_gflops": 2 * 4096**3 / gemm / 1e9, "read_gb_per_s": X.nbytes / read / 1e9}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--kinds", default="exact,ivf,ivfpq,hnsw")
    ap.add_argument("--epochs", type=int, default=6)
    args = ap.parse_args()
    X, clusters = pool(args.n, args.d)
    rng = np.random.default_rng(2)
    rates = machine_rates(X)
    frontier = rng.choice(args.n, 50, replace=False)
    drawn = rng.choice(args.n, 100, replace=False)
    exclude = np.zeros(args.n, bool)
    exclude[rng.choice(args.n, 5000, replace=False)] = True
    # Lower bounds of one exact pass over the pool for each call, from this run's rates.
    flops_set = 2 * args.n * args.d * 50
    flops_knn = 2 * args.n * args.d * 100
    bound = {"search_set": max(flops_set / (rates["gemm_gflops"] * 1e9), X.nbytes / (rates["read_gb_per_s"] * 1e9)),
             "search": max(flops_knn / (rates["gemm_gflops"] * 1e9), X.nbytes / (rates["read_gb_per_s"] * 1e9))}
    exact = ExactIndex(X)
    rows = []
    for kind in args.kinds.split(","):
        t0 = time.perf_counter()
        index = exact if kind == "exact" else FaissIndex(X, kind)
        build = time.perf_counter() - t0
        t_set = timed(lambda: index.search_set(X[frontier], 50, exclude=exclude), repeats=5, warmup=0).median
        t_knn = timed(lambda: index.search(X[drawn], 10, exclude=exclude, query_ids=drawn), repeats=5, warmup=0).median
        recall = 1.0 if kind == "exact" else index.recall_against_exact(k=50, exclude=exclude)
        row = {"backend": kind, "build_s": round(build, 2), "search_set_s": round(t_set, 4),
               "search_s": round(t_knn, 4), "recall_at_50": round(recall, 4)}
        if kind != "exact":
            import faiss

            row["index_bytes"] = int(faiss.serialize_index(index._index).size)
        rows.append(row)
        print(row, flush=True)
    # A whole ELSA epoch: a planted rare class (one cluster thinned to 0.1 % of the pool).
    target = clusters == 0
    keep_pos = np.flatnonzero(target)[: max(10, args.n // 1000)]
    truth = np.zeros(args.n, bool)
    truth[keep_pos] = True
    seeds = keep_pos[:5]
    epochs = {}
    for kind in ("exact", "ivf"):
        index = exact if kind == "exact" else FaissIndex(X, "ivf")
        times = []

        def record(rnd, state, times=times):
            if rnd.kind == "epoch":  # the phases; "head" is head_fit + head_score again
                times.append(sum(rnd.seconds.get(k, 0.0) for k in ("nn", "rands", "head_fit", "head_score")))

        make_strategy("elsa", epochs=args.epochs).run(X, seeds, SimulatedOracle(truth), random_state=0, index=index,
                                                      callback=record)
        epochs[kind] = {"median_epoch_s": round(float(np.median(times[1:])), 3), "epochs": [round(t, 3) for t in times]}
        print(kind, epochs[kind], flush=True)
    doc = {"benchmark": "index_backends", "command": command(),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           "pool": [args.n, args.d], "rates": rates, "lower_bound_s": bound, "backends": rows, "elsa_epoch": epochs}
    write_results(RESULTS / "index_backends.json", doc)
    lines = [f"# Index backends on {args.n:,} x {args.d} (clustered)", "",
             f"`{doc['command'].strip()}` on {os.cpu_count()} cores. Measured in the same run: GEMM "
             f"{rates['gemm_gflops']:.0f} GFLOP/s, memory read {rates['read_gb_per_s']:.1f} GB/s; the lower bound of "
             f"one exact pass is {bound['search_set']:.3f} s for the NN step and {bound['search']:.3f} s for RandS's "
             "search. Times are medians of 5.", "",
             "| backend | build s | NN step (search_set, 50 queries) s | RandS search (100 x 10) s | recall@50 | "
             "faiss index MB |", "|---|---|---|---|---|---|"]
    for r in rows:
        mb = f"{r['index_bytes'] / 2**20:,.0f}" if "index_bytes" in r else "- (no copy)"
        lines.append(f"| {r['backend']} | {r['build_s']} | {r['search_set_s']} | {r['search_s']} | "
                     f"{r['recall_at_50']} | {mb} |")
    lines += ["", "A whole ELSA epoch (NN, RandS, head training and scoring; median of epochs 2-"
              f"{args.epochs}): exact {epochs['exact']['median_epoch_s']} s, IVF {epochs['ivf']['median_epoch_s']} s."]
    (RESULTS / "index_backends.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
