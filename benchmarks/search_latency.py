"""The default search at 100k, 1M and 10M x 128 on the real k-NN graph: building it, and its rounds.

Three parts, each size in its own process (so its peak memory, ``ru_maxrss``, is its own):

* **The graph** (``--graph``): ``elsa.index.graph.neighbour_graph`` builds the pool's
  50-NN graph as a search would (k-means lists through faiss above 100,000 rows; see
  ``elsa/index/graph_build.py``), into a fresh cache under ``benchmarks/.cache/graphs``.
  Reported: seconds (the graph, then its reverse lists written beside it), the lists and
  probes chosen, recall@50 on 500 sampled rows against exact neighbours, the seconds of
  each stage, peak RSS against the pool and the graph.
* **Rounds** (``--rounds``): a round is what a labelling session computes between two
  pages: the k-NN model brought up to the new labels, the logistic heads refitted and
  the whole pool scored, the page chosen. The default (``portfolio``) and others
  (``--strategies``) run on the graph just built, read from the cache as a session
  would, with its reverse lists. ``ens`` is timed with pages of 10, 1,000 labels ahead;
  ``portfolio-mlp`` is the default with the ``mlp`` ranking in place of ``head:1`` (issue 34).
* **Ray** (``--ray``, at 1M): the graph's pass over the lists (the lists trained once,
  the probes the build chose) in one process (a thread per core), and as Ray tasks with 1
  and 2 workers of one thread; the graphs are compared row for row.

The pools are ``epoch_scaling.py``'s (1,000 clusters, memory-mapped ``.npy`` in
``benchmarks/.cache/scaling/``; float32, and float16 at 10M), with one cluster as the
rare class and 5 seeds from it.

    python benchmarks/search_latency.py
    python benchmarks/search_latency.py --sizes 100000 --rounds 20
    python benchmarks/search_latency.py --no-graph       # keep the graph rows of the last results

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
from search_quality import STRATEGIES  # noqa: E402  (the same variants)

RESULTS = ROOT / "benchmarks" / "results"
K = 50
TARGETS = {100_000: 0.3, 1_000_000: 1.0, 10_000_000: 3.0}  # seconds per round, from issue 14
PAGE = {"ens": {"batch_size": 10}}  # a page of 10 (sequential simulation), as the default's
VARIANTS = {"portfolio-mlp": STRATEGIES["portfolio-mlp"]}  # issue 34: mlp for head:1


GRAPH_CACHE = ROOT / "benchmarks" / ".cache" / "graphs"
os.environ.setdefault("ELSA_CACHE_DIR", str(GRAPH_CACHE))  # this benchmark's graphs, apart from the user's


def peak_rss_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)


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
    graph = graph_module.neighbour_graph(X, K, progress=False)  # from the cache, as a session reads it
    graph_s = time.perf_counter() - t0
    positives = np.flatnonzero(labels == 0)
    truth = np.zeros(n, bool)
    truth[positives] = True
    index = make_index(X, "exact")
    times: list[float] = []
    t0 = time.perf_counter()

    def record(rnd, state):
        times.append(sum(v for key, v in rnd.seconds.items() if key != "oracle"))

    name, options = VARIANTS.get(strategy, (strategy, PAGE.get(strategy, {})))
    result = make_strategy(name, epochs=n_rounds, **options).run(X, positives[:5], SimulatedOracle(truth),
                                                                  random_state=0, index=index, callback=record)
    total = time.perf_counter() - t0
    later = times[1:]
    return {"strategy": strategy, "n": n, "dtype": dtype, "rounds": len(times), "labels": int(result.queried_ids.size),
            "found": int(truth[result.queried_ids].sum()), "first_round_s": round(times[0], 3),
            "median_round_s": round(float(np.median(later)), 3), "p90_round_s": round(float(np.quantile(later, 0.9)), 3),
            "max_round_s": round(float(np.max(later)), 3), "run_s": round(total, 1),
            "outside_rounds_s": round(total - sum(times), 1),  # preparing: the head's pool statistics
            "graph_read_s": round(graph_s, 1), "graph": graph.report.method if graph.report else "unknown",
            "target_s": TARGETS.get(n), "peak_rss_gb": peak_rss_gb(), "pool_gb": round(X.nbytes / 2**30, 2)}


def graph_cost(n: int, dtype: str) -> dict:
    """Run in a child process: build the pool's graph from scratch, as a search would."""
    from elsa._io import load_npy
    from elsa.index import graph as graph_module

    X = load_npy(pool_path(n, dtype), "pool")
    for old in GRAPH_CACHE.glob(f"neighbours/{graph_module.pool_digest(X)}-k{K}-*"):
        old.unlink()  # built from scratch, every time this part runs
    t0 = time.perf_counter()
    graph = graph_module.neighbour_graph(X, K, progress=False)
    seconds = time.perf_counter() - t0
    report = graph.report.to_dict()
    return {"n": n, "dtype": dtype, "seconds": round(seconds, 1), **{f"graph_{key}": v for key, v in report.items()},
            "peak_rss_gb": peak_rss_gb(), "pool_gb": round(X.nbytes / 2**30, 2),
            "graph_gb": round(graph.forward.nbytes / 2**30, 2)}


def ray_cost(n: int) -> dict:
    """Run in a child process: the graph's pass in one process, then on Ray with 1 and 2 workers."""
    from elsa._io import load_npy
    from elsa.index import graph as graph_module
    from elsa.index.graph_build import make_lists, threaded_search
    from elsa.index.graph_ray import ray_search
    from elsa.index.ray_backend import connect

    X = load_npy(pool_path(n), "pool")
    cached = graph_module.neighbour_graph(X, K, progress=False)  # built by the --graph part: its lists and probes
    lists = make_lists(X, cached.report.lists, random_state=0, progress=False)
    probes = cached.report.probes
    out: dict = {"n": n, "lists": lists.count, "probes": probes}
    graphs = {}
    t0 = time.perf_counter()
    one = np.full((n, K), -1, np.int32)
    out["one_process_threads"] = threaded_search(X, K, lists, probes, one, progress=False)
    out["one_process_s"] = round(time.perf_counter() - t0, 1)
    connect(num_cpus=os.cpu_count())
    for workers in (1, 2):
        graphs[workers] = np.full((n, K), -1, np.int32)
        t0 = time.perf_counter()
        ray_search(workers=workers, progress=False)(X, K, lists, probes, graphs[workers])
        out[f"ray_{workers}_workers_s"] = round(time.perf_counter() - t0, 1)
        out[f"ray_{workers}_workers_identical"] = bool(np.array_equal(graphs[workers], one))
    out["speedup_2_over_1"] = round(out["ray_1_workers_s"] / out["ray_2_workers_s"], 2)
    return out


def child(args) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--strategies", default="portfolio,blend", help="timed in turn on each pool")
    ap.add_argument("--no-graph", action="store_true", help="keep the graph rows of the last results (the cached "
                    "graphs are read)")
    ap.add_argument("--no-rounds", action="store_true", help="keep the round rows of the last results")
    ap.add_argument("--ray", type=int, default=1_000_000, help="the pool size of the Ray part (0: none)")
    ap.add_argument("--markdown", action="store_true", help="rewrite the .md from the .json only")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--graph", help=argparse.SUPPRESS)
    ap.add_argument("--ray-child", type=int, help=argparse.SUPPRESS)
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
        n, dtype = args.graph.split(":")
        print(json.dumps(graph_cost(int(n), dtype)))
        return
    if args.markdown:
        write_markdown(json.loads((RESULTS / "search_latency.json").read_text()))
        return
    if args.ray_child:
        print(json.dumps(ray_cost(args.ray_child)))
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    rows, graphs, rays = [], [], []
    for n in sizes:
        dtype = "float16" if n >= 10_000_000 else "float32"  # 5 GB of float32: the float16 copy is the 10M case
        subprocess.run([sys.executable, __file__, "--make-pool", f"{n}:float32"], check=True)
        subprocess.run([sys.executable, __file__, "--make-pool", f"{n}:{dtype}"], check=True)
        if not args.no_graph:
            graphs.append(child(["--graph", f"{n}:{dtype}"]))
            print(graphs[-1], flush=True)
        if not args.no_rounds:
            for strategy in args.strategies.split(","):
                rows.append(child(["--child", f"{n}:{dtype}:{strategy}", "--rounds", str(args.rounds)]))
                print(rows[-1], flush=True)
        if n == args.ray:
            rays.append(child(["--ray-child", str(n)]))
            print(rays[-1], flush=True)
    previous = json.loads((RESULTS / "search_latency.json").read_text()) if (RESULTS / "search_latency.json").exists() else {}
    # Parts and sizes not measured this time keep their rows from the last run.
    measured = {"rows": set() if args.no_rounds else set(sizes), "graph": set() if args.no_graph else set(sizes),
                "ray": {n for n in sizes if n == args.ray}}
    fresh = {"rows": rows, "graph": graphs, "ray": rays}
    parts = {}
    for key in fresh:
        kept = [r for r in previous.get(key, []) if r["n"] not in measured[key] and "stand_in_graph_s" not in r
                and "estimated_total_s" not in r]  # rows of the stand-in graph are gone
        parts[key] = sorted(kept + fresh[key], key=lambda r: (r["n"], r.get("strategy", "")))
    command = "python benchmarks/search_latency.py " + " ".join(sys.argv[1:])
    doc = {"benchmark": "search_latency", "command": command,
           "commands": sorted(set(previous.get("commands", [])) | {command}) if previous.get("graph_version") == 2
           else [command], "graph_version": 2,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           **parts}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search_latency.json").write_text(json.dumps(doc, indent=1) + "\n")
    write_markdown(doc)


def stages(g: dict) -> str:
    """The build's stages, and what writing the reverse lists took after it."""
    parts = [f"{key.replace('_', ' ')} {v}" for key, v in g.get("graph_stages", {}).items() if v]
    return ", ".join(parts + [f"cache key and reverse lists {round(g['seconds'] - g['graph_seconds'], 1)}"])


def write_markdown(doc: dict) -> None:
    lines = ["# The default search at 100k-10M rows on the real k-NN graph", "",
             f"{', '.join('`' + c.strip() + '`' for c in doc['commands'])} on {doc['machine']['cpus']} cores; pools "
             "x 128 memory-mapped from disk (epoch_scaling.py's, 1,000 clusters; float16 at 10M); each part and size "
             "in its own process.", "",
             "## The graph (k = 50), built from scratch", "",
             "| pool | dtype | how | lists | probes | pilot recall by probes | recall@50 (500 rows) | seconds | "
             "target s | stages s | peak RSS GB | pool GB | graph GB |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    graph_targets = {1_000_000: 60, 10_000_000: 1200}
    for g in doc["graph"]:
        pilot = ", ".join(f"{p}: {r:.3f}" for p, r in g.get("graph_pilot_recall", {}).items()) or "-"
        lines.append(f"| {g['n']:,} | {g['dtype']} | {g['graph_method']} | {g.get('graph_lists') or '-'} | "
                     f"{g.get('graph_probes') or '-'} | {pilot} | {g['graph_recall']} | {g['seconds']} | "
                     f"{graph_targets.get(g['n'], '-')} | {stages(g)} | {g['peak_rss_gb']} | {g['pool_gb']} | "
                     f"{g['graph_gb']} |")
    lines += ["", "## Seconds per round (pages of 10, 5 seeds from one cluster)", "",
              "A round is everything between two pages (k-NN counts, head fit, scoring the pool, the page's choice). "
              "Before the first, the graph and its reverse lists are mapped from the cache (`graph read s`: mostly "
              "the pool's SHA-256, the cache key, which reads the pool from disk when it is not in the page cache).", "",
              "| strategy | pool | dtype | median round s | p90 s | max s | target s | met | first round s | "
              "graph read s | labels | found | peak RSS GB |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        met = "yes" if r["target_s"] and r["median_round_s"] <= r["target_s"] else "no"
        lines.append(f"| {r['strategy']} | {r['n']:,} | {r['dtype']} | {r['median_round_s']} | {r['p90_round_s']} | "
                     f"{r['max_round_s']} | {r['target_s']} | {met} | {r['first_round_s']} | {r['graph_read_s']} | "
                     f"{r['labels']} | {r['found']} | {r['peak_rss_gb']} |")
    if doc["ray"]:
        lines += ["", "## The graph's pass over the lists on Ray", "",
                  "The same lists and probes; one process runs a thread per core, a Ray worker one thread; each list is searched by one single-threaded faiss call either way.", "",
                  "| pool | lists | probes | one process s | Ray 1 worker s | Ray 2 workers s | 2 over 1 | "
                  "identical to one process |", "|---|---|---|---|---|---|---|---|"]
        for r in doc["ray"]:
            same = "yes" if r["ray_1_workers_identical"] and r["ray_2_workers_identical"] else "no"
            lines.append(f"| {r['n']:,} | {r['lists']:,} | {r['probes']} | {r['one_process_s']} | "
                         f"{r['ray_1_workers_s']} | {r['ray_2_workers_s']} | {r['speedup_2_over_1']}x | {same} |")
    (RESULTS / "search_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
