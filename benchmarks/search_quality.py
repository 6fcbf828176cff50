"""The default search against the active-search anchors, on ten feature spaces (issues 14, 20 and 34).

The feature spaces are :mod:`feature_spaces`'s (built once, cached under
``$ELSA_CACHE_DIR/benchmarks``): Fashion-MNIST through the built-in encoder, its raw
pixels, two spectral embeddings of its k-NN graph (one scaled by 1 / eigenvalue as in
the ENS paper), its pixels with wildly different scales per dimension, its encoder
vectors scaled to unit length, Python docstrings as TF-IDF reduced by SVD,
scikit-learn's digits, and two spectral embeddings (plain and 1 / eigenvalue) of a real
citation-like graph, the import graph of 27 pinned Python packages (:mod:`import_graph`).
A class's pool's k-NN graph is cut from the whole space's
(:func:`feature_spaces.prefill_graph`) instead of searched afresh.

Each class in turn is made rare at 1 % and at 0.1 % of the pool (``make_rare``, the
class id as its random state) where at least 5 positives remain (digits: 1 % only).
Each (class, rarity) is searched from 1 and from 5 seeds, ``--runs`` times, with the
same seeds for every strategy (paired: the seeds of run ``i`` come from
``simulate``'s random state ``1000 + class``). Strategies:

=============  ===============================================================================
name           ``elsa`` strategy and parameters
=============  ===============================================================================
random         ``random``
nn             ``nn-keep-going`` (the paper's NN that keeps searching until the budget)
elsa           ``elsa`` (the paper's algorithm, 10 epochs and its final search)
fars           ``fars`` (the best of the seeds' ELSA samplers in ``samplers.preliminary.md``)
seals          ``seals``, most-likely-positive criterion, class-balanced logistic head, 20 per round
knn            ``knn-search`` (k = 50, gamma = 0.05, one item at a time)
ens            ``ens`` (same model, one item at a time; budget-aware: one run per budget;
               about 0.27 s a step near r = 2,000 on 63k items, so run here up to 500)
cal            ``cal`` (AutoTAR)
blend          ``blend``: the rank average of the k-NN model and a logistic head (the default
               before issue 20; its runs before then are stored under this name)
portfolio-mlp  ``portfolio`` with rankings ``knn,blend:0.01,blend:1,mlp``: issue 34's candidate
               default, the ``mlp`` ranking in place of ``head:1``
default        ``portfolio``: this project's default (see ``elsa/samplers/portfolio.py``)
=============  ===============================================================================

Every strategy but ENS chooses the same items up to any budget whatever its budget, so
one run with the largest budget gives the positives found at every smaller one
(``simulate``'s ``found_at``, every 50 labels); ENS plans for the budget left, so it
runs once per budget. Finished runs are appended to
``benchmarks/results/search_quality.runs.jsonl`` (committed), so the benchmark resumes
where it stopped, across sessions and machines; ``--summarize`` rebuilds the tables and
plots from it.

    python -m benchmarks.search_quality --quick               # issue 14's design subset: 5 classes, 1 %, 5 seeds, 3 runs
    python -m benchmarks.search_quality --rarities 0.01 --seeds 5 --runs 3 --strategies nn elsa seals knn cal blend default
    python -m benchmarks.search_quality --rarities 0.01 --seeds 5 --runs 3 --strategies ens --budgets 100 250 500
    python -m benchmarks.search_quality --quick --strategies ens --budgets 100 250 500
    python -m benchmarks.search_quality                       # the full protocol (many hours; resumable)
    python -m benchmarks.search_quality --summarize
    python -m benchmarks.search_quality --replay --spaces digits --strategies default elsa seals cal ens

``--replay`` reruns committed runs and checks that they find exactly what was committed
(the check that a change to the loop left the simulations' behaviour as it was);
``--replay --update`` replaces the runs that no longer replay and rebuilds the tables.

Writes ``benchmarks/results/search_quality.{md,json}`` and the plots
``search_quality_curves.png`` (positives found against labels, the paper's Figure 9)
and ``search_quality_discovery.png`` (discovery rate against labelling efficiency, its
Figure 3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from .harness import write_results
from .pools import SPACES, build_space, space_pool

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = RESULTS / "search_quality.runs.jsonl"
BUDGETS = (100, 250, 500, 1000, 2000)
STEP = 50  # found_at every STEP labels, for the curves
STRATEGIES = {
    "random": ("random", {}),
    "nn": ("nn-keep-going", {}),
    "elsa": ("elsa", {}),
    "fars": ("fars", {}),
    "seals": ("seals", {"criterion": "positive", "head": "logistic", "batch_size": 20}),
    "knn": ("knn-search", {}),
    "ens": ("ens", {}),
    "cal": ("cal", {}),
    "blend": ("blend", {}),
    "portfolio3": ("portfolio", {"rankings": "knn,blend:0.01,blend:1", "discount": 0.9}),
    "portfolio-d0.9": ("portfolio", {"discount": 0.9}),
    "portfolio-mlp": ("portfolio", {"rankings": "knn,blend:0.01,blend:1,mlp"}),  # issue 34's candidate
    "default": ("portfolio", {}),
}
OPTIONAL = ("random", "fars", "blend", "portfolio3", "portfolio-d0.9", "portfolio-mlp")  # shown where they ran on every class of a setting
BUDGET_AWARE = ("ens",)
ANCHORS = ("seals", "knn", "ens", "cal")
QUICK = {"classes": [0, 2, 3, 4, 6], "rarities": [0.01], "seeds": [5], "runs": 3}


def cells(args) -> list[dict]:
    """Every (space, class, rarity, seeds, strategy, budget) the run asks for, not yet in RUNS."""
    from elsa.simulation import make_rare

    done = {}
    if RUNS.exists():
        for line in RUNS.read_text().splitlines():
            r = json.loads(line)
            key = (r["space"], r["cls"], r["rarity"], r["n_seeds"], r["strategy"], r["budget"])
            done[key] = done.get(key, 0) + 1
    todo = []
    for space in args.spaces:
        _, y = build_space(space)
        for rarity in args.rarities:
            for c in args.classes:
                if c not in np.unique(y):
                    continue
                kept = (y[make_rare(y, c, rarity, random_state=c)] == c).sum()
                if kept < 5:
                    continue
                for n_seeds in args.seeds:
                    for name in args.strategies:
                        budgets = args.budgets if name in BUDGET_AWARE else [max(args.budgets)]
                        for b in budgets:
                            key = (space, c, rarity, n_seeds, name, b)
                            if done.get(key, 0) < args.runs:
                                todo.append(dict(space=space, cls=c, rarity=rarity, n_seeds=n_seeds, strategy=name,
                                                 budget=b, runs=args.runs))
    return todo


def run_cell(cell: dict) -> list[dict]:
    """One cell's runs (in a worker process with one thread)."""
    from elsa.simulation import simulate

    c = cell["cls"]
    Xc, yc, _ = space_pool(cell["space"], c, cell["rarity"])
    strategy, params = STRATEGIES[cell["strategy"]]
    budget = cell["budget"]
    found_at = tuple(range(STEP, budget + 1, STEP))
    started = time.perf_counter()
    doc = simulate(Xc, yc, c, SearchPlan(strategy, params=params, budget=budget, epochs=10 if strategy in ("elsa", "fars") else None, random_state=1000 + c),
                   seeds=cell["n_seeds"], trial=Trial(repeats=cell["runs"], found_at=found_at))
    rows = []
    for i, r in enumerate(doc["runs"]):
        rows.append({**{k: cell[k] for k in ("space", "cls", "rarity", "n_seeds", "strategy", "budget")}, "run": i,
                     "total": r["total_positives"], "labels": r["queries"], "rounds": len(r["curve"]) - 1,
                     "found_at": r["found_at"], "seconds": r["seconds"], "seed_ids": r["seed_ids"],
                     "sources": r["sources"]})
    print(f"{cell['space']} class {c} at {cell['rarity']:.1%}, {cell['n_seeds']} seed(s), {cell['strategy']} "
          f"(budget {budget}): {[r['found_at'][str(budget)] for r in rows]} in {time.perf_counter() - started:.0f} s",
          flush=True)
    return rows


def _worker_init():
    os.environ["ELSA_THREADS"] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def run(args) -> None:
    for space in args.spaces:  # built in this process before the workers read them
        build_space(space)
    todo = cells(args)
    # Longest cells first, so the pool ends evenly; ENS's largest budgets are the longest.
    todo.sort(key=lambda c: (-(c["budget"] if c["strategy"] in BUDGET_AWARE else 0), c["space"] == "digits"))
    print(f"{len(todo)} cells to run", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_worker_init) as pool:
        futures = [pool.submit(run_cell, c) for c in todo]
        for f in as_completed(futures):
            with RUNS.open("a") as fh:  # one writer: the parent, one whole cell at a time
                for row in f.result():
                    fh.write(json.dumps(row) + "\n")


def replay(args) -> int:
    """Rerun the committed cells of ``args.strategies`` in ``args.spaces`` (``--classes``,
    ``--rarities``, ``--seeds``; every committed budget), in worker processes set up as
    :func:`run`'s, and compare each run's seeds and positives found at every 50 labels with
    the committed row. With ``args.update``, differing rows are replaced in RUNS by the new
    ones (same order). Returns the number of runs that differ."""
    rows = load_runs()
    groups: dict = {}
    for r in rows:
        if (r["space"] in args.spaces and r["strategy"] in args.strategies and r["cls"] in args.classes
                and r["rarity"] in args.rarities and r["n_seeds"] in args.seeds):
            key = (r["space"], r["cls"], r["rarity"], r["n_seeds"], r["strategy"], r["budget"])
            groups.setdefault(key, {})[r["run"]] = r
    for space in args.spaces:
        build_space(space)
    cells_ = [dict(zip(("space", "cls", "rarity", "n_seeds", "strategy", "budget"), key), runs=max(runs) + 1)
              for key, runs in sorted(groups.items())]
    print(f"replaying {len(cells_)} cells", flush=True)
    new_rows: dict = {}
    differ = same = 0
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_worker_init) as pool:
        for f in as_completed([pool.submit(run_cell, c) for c in cells_]):
            for new in f.result():
                key = (new["space"], new["cls"], new["rarity"], new["n_seeds"], new["strategy"], new["budget"])
                old = groups[key].get(new["run"])
                if old is None:
                    continue
                if old["found_at"] == new["found_at"] and old["seed_ids"] == new["seed_ids"]:
                    same += 1
                    continue
                differ += 1
                new_rows[key + (new["run"],)] = new
                b = str(new["budget"])
                print(f"DIFFERS: {key} run {new['run']}: committed {old['found_at'].get(b)}, now "
                      f"{new['found_at'].get(b)}", flush=True)
    print(f"replayed {same + differ} committed runs: {same} identical, {differ} different")
    if args.update and new_rows:
        lines = []
        for r in rows:
            key = (r["space"], r["cls"], r["rarity"], r["n_seeds"], r["strategy"], r["budget"], r["run"])
            lines.append(json.dumps(new_rows.get(key, r)))
        RUNS.write_text("\n".join(lines) + "\n")
        print(f"replaced {len(new_rows)} runs in {RUNS}")
    return differ


# --- the tables ------------------------------------------------------------------------------

def load_runs() -> list[dict]:
    return [json.loads(line) for line in RUNS.read_text().splitlines()] if RUNS.exists() else []


def found(row: dict, budget: int) -> int | None:
    return row["found_at"].get(str(budget))


def per_class(rows, space, rarity, n_seeds, name, budget) -> dict[int, dict[int, int]]:
    """{class: {run: positives found within budget}} for one strategy."""
    out: dict[int, dict[int, int]] = {}
    for r in rows:
        if (r["space"], r["rarity"], r["n_seeds"], r["strategy"]) != (space, rarity, n_seeds, name):
            continue
        if name in BUDGET_AWARE and r["budget"] != budget:
            continue
        v = found(r, budget)
        if v is not None:
            out.setdefault(r["cls"], {})[r["run"]] = v
    return out


def median_class(table: dict[int, dict[int, int]], classes) -> float | None:
    vals = [np.median(list(table[c].values())) for c in classes if c in table]
    return float(np.median(vals)) if len(vals) == len(classes) and vals else None


def summarize(rows: list[dict]) -> tuple[str, dict]:
    lines = ["# The default search against the active-search anchors", "",
             "Generated by `python -m benchmarks.search_quality` from `search_quality.runs.jsonl` "
             f"({len(rows)} runs, {platform.machine()}). Cells: positives found within the budget (seeds excluded) "
             "by the *median class* (the median over classes of each class's median over runs), then the worst class "
             "of the default's paired ratio. Ratios are the default's median-class count over the other's, on the "
             "same classes and seeds.", ""]
    summary: dict = {}
    keys = sorted({(r["space"], r["rarity"], r["n_seeds"]) for r in rows}, key=lambda k: (SPACES.index(k[0]), -k[1], k[2]))
    for space, rarity, n_seeds in keys:
        sel = [r for r in rows if (r["space"], r["rarity"], r["n_seeds"]) == (space, rarity, n_seeds)]
        total = sel[0]["total"]
        budgets = [b for b in BUDGETS if any(found(r, b) is not None for r in sel)]
        names = [s for s in STRATEGIES if any(r["strategy"] == s for r in sel)]
        # Classes every core strategy shown has finished, so that medians compare like with like;
        # a budget-aware strategy (a run per budget) shows "-" at budgets it has not finished, and
        # an OPTIONAL one that has not run on all of them is left out.
        tables = {(s, b): per_class(rows, space, rarity, n_seeds, s, b) for s in names for b in budgets}
        done = {s: set.union(*[set(tables[(s, b)]) for b in budgets]) for s in names if s not in BUDGET_AWARE}
        classes = sorted(set.intersection(*[v for s, v in done.items() if s not in OPTIONAL] or [set()]))
        if not classes:
            continue
        partial = [s for s in names if s in OPTIONAL and not set(classes) <= done[s]]
        names = [s for s in names if s not in partial]
        lines += [f"## {space}, {rarity:.1%} rarity ({total} positives), {n_seeds} seed(s); classes "
                  f"{', '.join(map(str, classes))}", "",
                  *([f"Not run on every class, so left out: {', '.join(partial)}.", ""] if partial else []),
                  "| strategy | " + " | ".join(f"found at {b}" for b in budgets) + " | runs | s/run |",
                  "|---|" + "---|" * (len(budgets) + 2)]
        block = {}
        for s in names:
            cells_ = []
            for b in budgets:
                mc = median_class(tables[(s, b)], classes)
                block.setdefault(s, {})[b] = mc
                cells_.append("-" if mc is None else f"{mc:.0f}")
            srows = [r for r in sel if r["strategy"] == s and r["cls"] in classes]
            lines.append(f"| {s} | " + " | ".join(cells_) + f" | {len(srows)} | "
                         f"{np.median([r['seconds'] for r in srows]):.1f} |")
        lines += ["", "The default against each, median class and (worst class), paired:", "",
                  "| against | " + " | ".join(str(b) for b in budgets) + " |", "|---|" + "---|" * len(budgets)]
        ratios = {}
        for s in names:
            if s == "default" or "default" not in names:
                continue
            cells_ = []
            for b in budgets:
                mine, theirs = tables[("default", b)], tables[(s, b)]
                mc_d, mc_s = median_class(mine, classes), median_class(theirs, classes)
                if mc_d is None or mc_s is None:  # a budget-aware strategy not finished at this budget
                    cells_.append("-")
                    continue
                worst = min((np.median([mine[c][i] for i in mine[c] if i in theirs[c]])
                             / max(np.median([theirs[c][i] for i in mine[c] if i in theirs[c]]), 1e-9)) for c in classes)
                ratio = mc_d / mc_s if mc_s else float("inf")
                ratios.setdefault(s, {})[b] = {"median_class": ratio, "worst_class": float(worst)}
                cells_.append(f"{ratio:.2f}x ({worst:.2f})")
            lines.append(f"| {s} | " + " | ".join(cells_) + " |")
        if "default" in names and "nn" in names:
            below = []
            for b in budgets:
                d, nn = tables[("default", b)], tables[("nn", b)]
                pairs = [(d[c][i], nn[c][i]) for c in classes for i in d[c] if i in nn[c]]
                below.append(sum(a < b_ for a, b_ in pairs))
            lines += ["", "Paired runs where the default found fewer than NN: "
                      + ", ".join(f"{n} at {b}" for n, b in zip(below, budgets)) + "."]
        lines.append("")
        ceiling = float(np.median([next(r["total"] for r in sel if r["cls"] == c) - n_seeds for c in classes]))
        summary[f"{space}|{rarity}|{n_seeds}"] = {"classes": classes, "median_class": block, "ratios": ratios,
                                                  "ceiling": ceiling, "bar": bar_cells(tables, classes, budgets, ceiling)}
    lines += criteria(summary)
    return "\n".join(lines) + "\n", summary


def paired_median(mine: dict[int, int], theirs: dict[int, int]) -> tuple[float, float]:
    """Both strategies' medians over the runs both have (same seeds)."""
    runs = [i for i in mine if i in theirs]
    return float(np.median([mine[i] for i in runs])), float(np.median([theirs[i] for i in runs]))


def bar_cells(tables, classes, budgets, ceiling) -> dict[int, dict]:
    """Issue 20's bar at each budget (see :func:`criteria`), from the per-class tables."""
    out = {}
    for b in budgets:
        if not tables.get(("default", b)):
            continue
        d = tables[("default", b)]
        anchors = {a: tables[(a, b)] for a in ANCHORS if tables.get((a, b)) and all(c in tables[(a, b)] for c in classes)}
        if not anchors or not all(c in d for c in classes):
            continue
        mc = {a: median_class(t, classes) for a, t in anchors.items()}
        best = max(mc, key=mc.get)
        cell = {"best_anchor": best, "ratio": median_class(d, classes) / max(mc[best], 1e-9),
                "saturated": mc[best] >= 0.9 * min(b, ceiling)}
        worst_anchor, worst_nn = (float("inf"), None), (float("inf"), None)
        for c in classes:
            per = {a: paired_median(d[c], t[c]) for a, t in anchors.items()}
            a = max(per, key=lambda a: per[a][1])  # the best anchor of this class
            worst_anchor = min(worst_anchor, (per[a][0] / max(per[a][1], 1e-9), c))
            if tables.get(("nn", b)) and c in tables[("nn", b)]:
                mine, nn = paired_median(d[c], tables[("nn", b)][c])
                worst_nn = min(worst_nn, (mine / max(nn, 1e-9), c))
        cell["worst_class_vs_anchor"], cell["worst_class_vs_anchor_class"] = worst_anchor
        cell["worst_class_vs_nn"], cell["worst_class_vs_nn_class"] = worst_nn
        if tables.get(("elsa", b)):
            cell["vs_elsa"] = median_class(d, classes) / max(median_class(tables[("elsa", b)], classes), 1e-9)
        out[b] = cell
    return out


def criteria(summary: dict) -> list[str]:
    """Issue 20's bar, cell by cell."""
    out = ["## Against the bar (issue 20)", "",
           "Each setting and budget: the default's median-class count over the best anchor's (of seals, knn, ens, "
           "cal; ENS where it ran), bar 1.1x unless *saturated* (the best anchor already finds 90 % of what the "
           "budget allows: the smaller of the budget and the positives left); the worst class's paired median "
           "against that class's best anchor (bar 0.9x) and against nn (bar 1.0x), with the class in brackets; "
           "and the median class against elsa (bar 1.25x up to 1,000 labels, 1.0x at 2,000).", "",
           "| setting | budget | best anchor | median class | worst class vs its best anchor | worst class vs nn | "
           "vs elsa |", "|---|---|---|---|---|---|---|"]
    for key, s in summary.items():
        for b, cell in sorted(s.get("bar", {}).items()):
            ratio = f"{cell['ratio']:.2f}" + (" (saturated)" if cell["saturated"] else "" if cell["ratio"] >= 1.1
                                              else " (short)")
            wa = cell["worst_class_vs_anchor"]
            wa = f"{wa:.2f} ({cell['worst_class_vs_anchor_class']})" + ("" if wa >= 0.9 else " short")
            wn = cell["worst_class_vs_nn"]
            wn = "-" if cell["worst_class_vs_nn_class"] is None else (
                f"{wn:.2f} ({cell['worst_class_vs_nn_class']})" + ("" if wn >= 1.0 else " short"))
            ve = cell.get("vs_elsa")
            ve = "-" if ve is None else f"{ve:.2f}" + ("" if ve >= (1.25 if b <= 1000 else 1.0) else " short")
            out.append(f"| {key.replace('|', ', ')} | {b} | {cell['best_anchor']} | {ratio} | {wa} | {wn} | {ve} |")
    return out + [""]


def plots(rows: list[dict]) -> None:
    """Positives found against labels (median class) per space; discovery against efficiency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = [r for r in rows if r["rarity"] == 0.01 and r["n_seeds"] == 5]
    spaces = [s for s in SPACES if any(r["space"] == s for r in sel)]
    if not spaces:
        return
    fig, axes = plt.subplots(1, len(spaces), figsize=(4.2 * len(spaces), 3.6), squeeze=False)
    fig2, axes2 = plt.subplots(1, len(spaces), figsize=(4.2 * len(spaces), 3.6), squeeze=False)
    for ax, ax2, space in zip(axes[0], axes2[0], spaces):
        here = [r for r in sel if r["space"] == space]
        classes = sorted({r["cls"] for r in here if r["strategy"] == "default"}) or sorted({r["cls"] for r in here})
        for name in STRATEGIES:
            mine = [r for r in here if r["strategy"] == name and r["cls"] in classes]
            if not mine:
                continue
            top = max(r["budget"] for r in mine)
            if name in BUDGET_AWARE:  # one point per budget, each from its own runs
                xs = sorted({r["budget"] for r in mine})
                ys = [median_class(per_class(rows, space, 0.01, 5, name, b), classes) for b in xs]
            else:
                xs = list(range(STEP, top + 1, STEP))
                ys = [median_class(per_class(rows, space, 0.01, 5, name, b), classes) for b in xs]
            pts = [(x, y) for x, y in zip(xs, ys) if y is not None]
            if not pts:
                continue
            style = dict(lw=2.2, color="black") if name == "default" else dict(lw=1.2)
            ax.plot(*zip(*pts), label=name, marker="o" if name in BUDGET_AWARE else None, ms=3, **style)
            total = mine[0]["total"]
            ax2.plot([y / x for x, y in pts], [(5 + y) / total for x, y in pts], label=name, **style)
        ax.set(title=space, xlabel="labels", ylabel="positives found (median class)")
        ax2.set(title=space, xlabel="labelling efficiency (found / labels)", ylabel="discovery rate")
    axes[0][0].legend(fontsize=7)
    axes2[0][0].legend(fontsize=7)
    for f, name in ((fig, "search_quality_curves.png"), (fig2, "search_quality_discovery.png")):
        f.suptitle("1 % rarity, 5 seeds")
        f.tight_layout()
        f.savefig(RESULTS / name, dpi=110)
        plt.close(f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spaces", nargs="+", default=list(SPACES), choices=SPACES)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--rarities", type=float, nargs="+", default=[0.01, 0.001])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="the design subset: " + json.dumps(QUICK))
    parser.add_argument("--summarize", action="store_true")
    parser.add_argument("--replay", action="store_true",
                        help="rerun the committed runs of the chosen strategies, spaces, classes, rarities and "
                             "seeds, and check that they find the same at every 50 labels (writes nothing)")
    parser.add_argument("--update", action="store_true",
                        help="with --replay: replace the committed runs that differ by the new ones, and rebuild "
                             "the tables")
    args = parser.parse_args()
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    if args.replay:
        differ = replay(args)
        if not args.update:
            return 1 if differ else 0
        args.summarize = True
    if not args.summarize:
        run(args)
    rows = load_runs()
    md, summary = summarize(rows)
    (RESULTS / "search_quality.md").write_text(md)
    write_results(RESULTS / "search_quality.json", summary)
    plots(rows)
    print(md)


if __name__ == "__main__":
    sys.exit(main())
