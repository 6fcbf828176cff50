"""Is an approximate k-NN graph good enough? Positives found on it against the exact graph, paired.

Above 100,000 rows the default search's k-NN graph is approximate (k-means lists through
faiss, probes chosen for recall@50 >= 0.9: ``elsa/index/graph_build.py``). Here the
default (``portfolio``) and ``knn-search`` run from the same seeds on the same pools
with the exact graph and with the approximate one, and the positives found at 500
labels are compared class by class.

Pools:

* ``synthetic-100k``, ``synthetic-1m``: ``epoch_scaling.py``'s clustered pools (1,000
  clusters x 128), the rare class one cluster (0.1 %), as ``search_latency.py`` runs them.
  The exact graph at 1M is ``exact_by_lists``: rows whose list search is proved exact by
  the triangle inequality keep it, the rest are searched exhaustively.
* ``fm-encoder``, ``fm-pixels``, ``fm-spectral``, ``text-docstrings``: ``feature_spaces.py``'s
  spaces (60-63k rows, from 10 to 1,280 dimensions), each class made rare at 1 %
  (``make_rare``, as ``search_quality.py``); their exact graph is cut from the cached
  exact neighbours of the whole space. The approximate graph is built on them although
  the product builds it only above 100,000 rows: they are the hard feature spaces.

Each cell is ``--runs`` runs of 5 seeds (``simulate``'s random state ``1000 + class``, the
same for both graphs). Reported per pool: the approximate graph's recall@50 against
the exact one (all rows), its build time, and per strategy the median over classes of
the median positives found at 500 labels on each graph, and the worst class's ratio.

    python -m benchmarks.graph_quality
    python -m benchmarks.graph_quality --pools fm-spectral --classes 0 2 --runs 2

Writes ``benchmarks/results/graph_quality.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from .harness import ROOT, command as command_line, write_results
from .pools import SCALING_CACHE, derived_graph, scaling_pool, space_pool

RESULTS = ROOT / "benchmarks" / "results"
K = 50
BUDGET = 500
STRATEGIES = {"default": "portfolio", "knn": "knn-search"}
SPACES = ("fm-encoder", "fm-pixels", "fm-spectral", "text-docstrings")
SYNTHETIC = {"synthetic-100k": 100_000, "synthetic-1m": 1_000_000}


def pool(name: str, cls: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pool's vectors, its labels, and its exact graph."""
    if name in SYNTHETIC:
        X, y = scaling_pool(SYNTHETIC[name])
        return X, y, synthetic_exact(name, X)
    X, y, keep = space_pool(name, cls, 0.01, graph=False)
    return X, y, derived_graph(name, keep, K)


def synthetic_exact(name: str, X: np.ndarray) -> np.ndarray:
    """The exact graph of a synthetic pool (cached beside the pools)."""
    from elsa.index.graph_build import default_lists, exact_by_lists, exact_graph, make_lists

    path = SCALING_CACHE / f"{name}-exact-k{K}.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
    t0 = time.perf_counter()
    if X.shape[0] <= 100_000:
        forward, proved = exact_graph(X, K), 1.0
    else:
        lists = make_lists(X, default_lists(X.shape[0]), random_state=0)
        forward, proved = exact_by_lists(X, K, lists, 16)
    print(f"{name}: exact graph in {time.perf_counter() - t0:.0f} s ({proved:.4f} of rows proved by lists)", flush=True)
    np.save(path, forward)
    return forward


def approximate(X: np.ndarray, target: float) -> tuple[np.ndarray, dict]:
    from elsa.index.graph_build import lists_graph

    t0 = time.perf_counter()
    forward, report = lists_graph(X, K, random_state=0, progress=False, recall_target=target)
    info = report.to_dict()
    info["build_s"] = round(time.perf_counter() - t0, 1)
    return forward, info


def found(X, y, cls, forward, strategy: str, runs: int) -> list[int]:
    """Positives found at BUDGET labels in each run, with ``forward`` as the pool's graph."""
    from elsa.index import graph as graph_module
    from elsa.simulation import simulate

    entry = (X, K, graph_module.NeighbourGraph(np.asarray(forward)))
    graph_module._RECENT[:] = [entry]  # as if read from the cache
    doc = simulate(X, y, cls, SearchPlan(strategy, budget=BUDGET, random_state=1000 + cls), seeds=5,
                   trial=Trial(repeats=runs, found_at=(BUDGET,), progress=False))
    if graph_module._RECENT[0] is not entry:
        raise SystemExit("the search computed a graph of its own instead of the one given")
    return [int(r["found_at"][str(BUDGET)]) for r in doc["runs"]]


def recall_all(approx: np.ndarray, exact: np.ndarray) -> float:
    from elsa.index.base import neighbour_recall

    return round(neighbour_recall(np.asarray(approx), np.asarray(exact)), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pools", nargs="+", default=list(SYNTHETIC) + list(SPACES))
    ap.add_argument("--classes", nargs="+", type=int, default=[0, 2, 4, 6, 8])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--recall-target", type=float, default=None,
                    help="build the approximate graph for this recall@50 instead of the default's 0.9 (rows "
                         "stored as POOL@TARGET)")
    args = ap.parse_args()
    from elsa.index.graph_build import RECALL_TARGET

    target = RECALL_TARGET if args.recall_target is None else args.recall_target
    out_json = RESULTS / "graph_quality.json"
    previous = json.loads(out_json.read_text()) if out_json.exists() else {"pools": {}}
    command = command_line()
    for name in args.pools:
        classes = [0] if name in SYNTHETIC else args.classes
        cells, graph_info = [], []
        for cls in classes:
            X, y, exact = pool(name, cls)
            approx, info = approximate(X, target)
            info["recall_all_rows"] = recall_all(approx, exact)
            graph_info.append(info)
            cell = {"cls": cls, "positives": int((y == cls).sum()), "n": int(X.shape[0])}
            for label, strategy in STRATEGIES.items():
                cell[label] = {"exact": found(X, y, cls, exact, strategy, args.runs),
                               "approximate": found(X, y, cls, approx, strategy, args.runs)}
            cells.append(cell)
            print(name, cls, info["probes"], info["recall"], info["recall_all_rows"],
                  {s: cell[s] for s in STRATEGIES}, flush=True)
        key = name if args.recall_target is None else f"{name}@{args.recall_target:g}"
        previous["pools"][key] = {"cells": cells, "graphs": graph_info, "command": command, "recall_target": target}
    previous["runs_per_cell"] = args.runs
    previous = write_results(out_json, previous)
    write_markdown(previous)


def write_markdown(doc: dict) -> None:
    lines = ["# Positives found at 500 labels on the approximate k-NN graph against the exact one", "",
             "`python -m benchmarks.graph_quality` (see its docstring; commands per pool below). Paired: the same "
             "seeds on both graphs. Per pool: the approximate graph's recall@50 on all rows against the exact graph "
             "(and on its own 500-row sample), then per strategy the median over classes of each class's median "
             "positives on each graph, their ratio (approximate / exact), and the worst class's ratio.", "",
             "| pool | classes | rows | recall target | probes chosen | recall@50 (sample) | recall@50 (all rows) | build s | strategy | "
             "exact graph | approximate | ratio of the medians | worst class |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, entry in doc["pools"].items():
        cells, graphs = entry["cells"], entry["graphs"]
        probes = sorted({g["probes"] for g in graphs})
        rec = f"{min(g['recall'] for g in graphs):.3f}-{max(g['recall'] for g in graphs):.3f}"
        rec_all = f"{min(g['recall_all_rows'] for g in graphs):.3f}-{max(g['recall_all_rows'] for g in graphs):.3f}"
        build = np.median([g["build_s"] for g in graphs])
        for label in STRATEGIES:
            ex = [float(np.median(c[label]["exact"])) for c in cells]
            ap = [float(np.median(c[label]["approximate"])) for c in cells]
            ratios = [a / e if e else 1.0 for a, e in zip(ap, ex)]
            worst = int(np.argmin(ratios))
            lines.append(f"| {name.split('@')[0]} | {len(cells)} | {cells[0]['n']:,} | {entry.get('recall_target', 0.9)} | "
                         f"{', '.join(map(str, probes))} | {rec} | "
                         f"{rec_all} | {build:.0f} | {label} | {np.median(ex):.0f} | {np.median(ap):.0f} | "
                         f"{np.median(ap) / max(np.median(ex), 1e-9):.3f} | {ratios[worst]:.3f} "
                         f"(class {cells[worst]['cls']}) |")
    lines += ["", "Commands: " + "; ".join(sorted({f"`{e['command'].strip()}`" for e in doc["pools"].values()}))]
    (RESULTS / "graph_quality.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("ELSA_CACHE_DIR", str(Path.home() / ".cache" / "elsa"))
    main()
