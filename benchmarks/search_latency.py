"""Seconds per round of the default search (``portfolio``, a page of 10) at 100k, 1M and 10M x 128.

A round is what a labelling session computes between two pages: the k-NN model brought
up to the new labels, the logistic heads refitted and the whole pool scored, the page
chosen. ``--strategies`` times others on the same pools in the same run (by default
also ``blend``, the default before issue 20, for the ratio; ``ens`` is timed with pages
of 10, 1,000 labels ahead, to see whether its look-ahead fits in a round). The pools are ``epoch_scaling.py``'s (1,000 clusters, memory-mapped
``.npy`` in ``benchmarks/.cache/scaling/``; float32, and float16 at 10M), with one
cluster as the rare class and 5 seeds from it; ``--rounds`` rounds are run through the
library's search loop with a simulated oracle and each round's ``select`` is timed.

The k-NN graph is computed once per pool and cached (``elsa.index.graph``), so it is
not part of a round. Computing a real one for 1M and 10M rows takes longer than this
benchmark (at 1M about half an hour with faiss IVF on 2 cores), so the rounds run on a
*stand-in* graph of the same shape: each row's 50 neighbours drawn at random from its
own cluster. A round's cost depends on the graph's shape (``k``, and how many rows list
each labelled item), not on which rows those are. The real graph's one-off cost is
measured separately, in full at 100k (exact) and on a sample of query rows at 1M
(faiss IVF, extrapolated linearly in the rows, stated as such).

    python benchmarks/search_latency.py
    python benchmarks/search_latency.py --sizes 100000 --rounds 20
    python benchmarks/search_latency.py --no-graph       # keep the graph's one-off cost from the last results

Writes ``benchmarks/results/search_latency.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from epoch_scaling import CACHE, pool_path  # noqa: E402  (the same pools)

RESULTS = ROOT / "benchmarks" / "results"
K = 50
TARGETS = {100_000: 0.3, 1_000_000: 1.0, 10_000_000: 3.0}  # seconds per round, from issue 14
PAGE = {"ens": {"batch_size": 10}}  # a page of 10 (sequential simulation), as the default's


def stand_in_graph(labels: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Each row's ``k`` neighbours drawn at random from its own cluster (see the docstring)."""
    rng = np.random.default_rng(seed)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(labels.max() + 2))
    forward = np.empty((labels.size, k), np.int32)
    for c in range(labels.max() + 1):
        members = order[starts[c] : starts[c + 1]]
        if members.size:
            forward[members] = members[rng.integers(0, members.size, (members.size, k))]
    return forward


def rounds(n: int, dtype: str, n_rounds: int, strategy: str) -> dict:
    """Run in a child process: one pool, ``n_rounds`` rounds of ``strategy``."""
    from elsa._io import load_npy
    from elsa.index import graph as graph_module
    from elsa.index import make_index
    from elsa.oracle import SimulatedOracle
    from elsa.search import make_strategy

    X = load_npy(pool_path(n, dtype), "pool")
    labels = np.load(CACHE / f"labels-{n}.npy")
    t0 = time.perf_counter()
    forward = stand_in_graph(labels, K)
    stand_in_s = time.perf_counter() - t0
    graph_module._RECENT.insert(0, (X, K, graph_module.NeighbourGraph(forward)))  # as if read from the cache
    positives = np.flatnonzero(labels == 0)
    truth = np.zeros(n, bool)
    truth[positives] = True
    index = make_index(X, "exact")
    times: list[float] = []
    t0 = time.perf_counter()

    def record(rnd, state):
        times.append(sum(v for key, v in rnd.seconds.items() if key != "oracle"))

    result = make_strategy(strategy, epochs=n_rounds, **PAGE.get(strategy, {})).run(X, positives[:5], SimulatedOracle(truth),
                                                                  random_state=0, index=index, callback=record)
    total = time.perf_counter() - t0
    later = times[1:]
    return {"strategy": strategy, "n": n, "dtype": dtype, "rounds": len(times), "labels": int(result.queried_ids.size),
            "found": int(truth[result.queried_ids].sum()), "first_round_s": round(times[0], 3),
            "median_round_s": round(float(np.median(later)), 3), "p90_round_s": round(float(np.quantile(later, 0.9)), 3),
            "max_round_s": round(float(np.max(later)), 3), "run_s": round(total, 1),
            "outside_rounds_s": round(total - sum(times), 1),  # preparing: the head's pool statistics
            "stand_in_graph_s": round(stand_in_s, 1), "target_s": TARGETS.get(n),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
            "pool_gb": round(X.nbytes / 2**30, 2)}


def graph_cost(n: int, sample: int | None) -> dict:
    """Run in a child process: the real graph's one-off cost (all rows, or ``sample`` query rows)."""
    from elsa._io import load_npy
    from elsa.index import graph as graph_module

    X = load_npy(pool_path(n), "pool")
    t0 = time.perf_counter()
    index = graph_module._graph_index(X, None, 0)[1]()
    build = time.perf_counter() - t0
    rows = n if sample is None else min(sample, n)
    t0 = time.perf_counter()
    for start in range(0, rows, 1024):
        ids = np.arange(start, min(start + 1024, rows))
        index.search(X[ids], K, query_ids=ids)
    search = time.perf_counter() - t0
    return {"n": n, "backend": index.name, "index_build_s": round(build, 1), "query_rows": rows,
            "search_s": round(search, 1), "estimated_total_s": round(build + search * n / rows, 0),
            "extrapolated": rows < n}


def child(args) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--graph-sample", type=int, default=20_000, help="query rows timed for the 1M graph")
    ap.add_argument("--strategies", default="portfolio,blend", help="timed in turn on each pool")
    ap.add_argument("--no-graph", action="store_true", help="keep the graph rows of the last results")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--graph", help=argparse.SUPPRESS)
    ap.add_argument("--make-pool", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_pool:
        n, dtype = args.make_pool.split(":")
        pool_path(int(n), dtype)
        return
    if args.child:
        n, dtype, strategy = args.child.split(":")
        print(json.dumps(rounds(int(n), dtype, args.rounds, strategy)))
        return
    if args.graph:
        n, sample = args.graph.split(":")
        print(json.dumps(graph_cost(int(n), None if sample == "all" else int(sample))))
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    rows, graphs = [], []
    for n in sizes:
        for dtype in ("float32", "float16") if n >= 10_000_000 else ("float32",):
            subprocess.run([sys.executable, __file__, "--make-pool", f"{n}:float32"], check=True)
            subprocess.run([sys.executable, __file__, "--make-pool", f"{n}:{dtype}"], check=True)
            if dtype == "float32" and n >= 10_000_000:
                continue  # 5 GB of float32: the float16 copy is the 10M case the issue asks for
            for strategy in args.strategies.split(","):
                rows.append(child(["--child", f"{n}:{dtype}:{strategy}", "--rounds", str(args.rounds)]))
                print(rows[-1], flush=True)
        if n <= 1_000_000 and not args.no_graph:
            graphs.append(child(["--graph", f"{n}:{'all' if n <= 100_000 else args.graph_sample}"]))
            print(graphs[-1], flush=True)
    previous = json.loads((RESULTS / "search_latency.json").read_text()) if (RESULTS / "search_latency.json").exists() else {}
    if args.no_graph:
        graphs = previous.get("graph", [])
    # Sizes not measured this time keep their rows from the last run (each size's strategies
    # are always timed together, in one run).
    rows = [r for r in previous.get("rows", []) if "strategy" in r and r["n"] not in sizes] + rows
    rows.sort(key=lambda r: (r["n"], r["dtype"]))
    doc = {"benchmark": "search_latency", "command": "python benchmarks/search_latency.py " + " ".join(sys.argv[1:]),
           "commands": sorted(set(previous.get("commands", [])) | {"python benchmarks/search_latency.py "
                                                                    + " ".join(sys.argv[1:])}),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           "rows": rows, "graph": graphs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search_latency.json").write_text(json.dumps(doc, indent=1) + "\n")
    lines = ["# Seconds per round of the default search (portfolio, pages of 10)", "",
             f"{', '.join('`' + c.strip() + '`' for c in doc['commands'])} on {os.cpu_count()} cores; pools x 128 "
             "memory-mapped from disk; "
             "5 seeds from one cluster; each size in its own process. A round is everything between two pages "
             "(k-NN counts, head fit, scoring the pool, the page's choice); the first round also transposes the "
             "graph. Rounds run on a stand-in graph of the real one's shape (see the script's docstring).", "",
             "| strategy | pool | dtype | median round s | p90 s | max s | target s | met | first round s | labels | found | "
             "peak RSS GB |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = "yes" if r["target_s"] and r["median_round_s"] <= r["target_s"] else "no"
        lines.append(f"| {r.get('strategy', 'blend')} | {r['n']:,} | {r['dtype']} | {r['median_round_s']} | "
                     f"{r['p90_round_s']} | {r['max_round_s']} | "
                     f"{r['target_s']} | {met} | {r['first_round_s']} | {r['labels']} | {r['found']} | {r['peak_rss_gb']} |")
    lines += ["", "The graph itself, once per pool (then read from the cache)"
              + (", from the previous run of this benchmark (`--no-graph`)" if args.no_graph else "") + ":", "",
              "| pool | backend | index build s | query rows timed | search s | total s |", "|---|---|---|---|---|---|"]
    for g in graphs:
        total = f"{g['estimated_total_s']:.0f}" + (" (extrapolated)" if g["extrapolated"] else "")
        lines.append(f"| {g['n']:,} | {g['backend']} | {g['index_build_s']} | {g['query_rows']:,} | {g['search_s']} | {total} |")
    (RESULTS / "search_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
