"""Every strategy on Fashion-MNIST at equal label budgets, and the cold start without seeds (issue 3).

Pool as in ``paper_tables.py``: the 70,000 Fashion-MNIST images embedded with the
built-in encoder; each class in turn thinned to a rarity (1 %: 636 positives among
63,636; 0.1 %: 63 among 63,063). Each run spends a budget of 2,000 labels (up to 1,000
epochs, so the budget is what stops it) and reports the positives found within the first
250, 500, 1,000 and 2,000 queries, which equals what runs with those budgets find (see
``simulate``'s ``found_at`` and its test). Seeds are drawn per (class, run) from the same
random state for every strategy.

Cold start: with zero seeds, the labels spent until the first positive, for USL, latent
sampling and random sampling (budget 1,000).

    python -m benchmarks.samplers                       # all strategies, both rarities, 1 and 5 seeds, 5 runs
    python -m benchmarks.samplers --rarities 0.01 --seeds 5 --runs 3 --tag preliminary
    python -m benchmarks.samplers --summarize [--tag ...]

Writes ``benchmarks/results/samplers[.TAG].json`` (every run) and ``.md`` (tables).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.datasets import CLASS_NAMES
from elsa.metrics import quartiles
from elsa.search import STRATEGIES
from elsa.simulation import simulate

from .harness import write_results
from .pools import fashion_mnist_encoded, thin

RESULTS = Path(__file__).resolve().parent / "results"
BUDGETS = (250, 500, 1000, 2000)
COLD = ("usl", "latent", "random")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--rarities", type=float, nargs="+", default=[0.01, 0.001])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--tag", default="")
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args()
    name = "samplers" + (f".{args.tag}" if args.tag else "")
    out_json, out_md = RESULTS / f"{name}.json", RESULTS / f"{name}.md"
    if not args.summarize:
        run(args, out_json)
    doc = json.loads(out_json.read_text())
    md = summarize(doc)
    out_md.write_text(md)
    print(md)


def run(args, out: Path) -> None:
    X, labels = fashion_mnist_encoded()
    rows: list[dict] = []
    meta = {"machine": platform.platform(), "runs": args.runs, "budgets": list(BUDGETS),
            "strategies": args.strategies, "rarities": args.rarities, "seeds": args.seeds}
    RESULTS.mkdir(parents=True, exist_ok=True)
    for c in args.classes:
        for rarity in args.rarities:
            Xc, yc, _ = thin(X, labels, c, rarity)
            started = time.perf_counter()
            for n_seeds in args.seeds:
                for strategy in args.strategies:
                    doc = simulate(Xc, yc, c, SearchPlan(strategy, budget=max(BUDGETS), epochs=1000, random_state=1000 + c),
                                   seeds=n_seeds, trial=Trial(repeats=args.runs, found_at=BUDGETS))
                    for i, r in enumerate(doc["runs"]):
                        rows.append({"section": "budget", "cls": c, "rarity": rarity, "n_seeds": n_seeds,
                                     "strategy": strategy, "run": i, "total": r["total_positives"],
                                     "found_at": r["found_at"], "queries": r["queries"], "seconds": r["seconds"],
                                     "rounds": len(r["curve"]) - 1, "curve": r["curve"]})
            if rarity == args.rarities[0]:
                for strategy in (s for s in COLD if s in STRATEGIES):
                    doc = simulate(Xc, yc, c, SearchPlan(strategy, budget=1000, epochs=1000, random_state=2000 + c),
                                   seeds=0, trial=Trial(repeats=args.cold_runs))
                    rows += [{"section": "cold", "cls": c, "rarity": rarity, "strategy": strategy, "run": i,
                              "first_positive_at": r["first_positive_at"]} for i, r in enumerate(doc["runs"])]
            write_results(out, {"meta": meta, "rows": rows}, indent=None)
            print(f"class {c} ({CLASS_NAMES[c]}) at {rarity:.1%} done in {time.perf_counter() - started:.0f} s", flush=True)


def summarize(doc: dict) -> str:
    rows, meta = doc["rows"], doc["meta"]
    budget_rows = [r for r in rows if r["section"] == "budget"]
    strategies = [s for s in meta["strategies"] if any(r["strategy"] == s for r in budget_rows)]
    classes = sorted({r["cls"] for r in rows})
    lines = [
        "# Every strategy at equal label budgets (Fashion-MNIST, built-in encoder)",
        "",
        f"Generated by `python -m benchmarks.samplers` ({meta['runs']} runs per class and setting, classes "
        f"{', '.join(map(str, classes))}). Cells: positives found within the budget, median over classes of each "
        "class's median over runs (the *median class*), then in brackets the quartiles over all runs; and "
        "wall seconds per query round (median).",
    ]
    for rarity in sorted({r["rarity"] for r in budget_rows}, reverse=True):
        for n_seeds in sorted({r["n_seeds"] for r in budget_rows}):
            sel = [r for r in budget_rows if r["rarity"] == rarity and r["n_seeds"] == n_seeds]
            if not sel:
                continue
            total = sel[0]["total"]
            lines += ["", f"## {rarity:.1%} rarity ({total} positives), {n_seeds} seed(s)", "",
                      "| strategy | " + " | ".join(f"found at {b}" for b in BUDGETS) + " | s/round |",
                      "|---|" + "---|" * (len(BUDGETS) + 1)]
            for s in strategies:
                rs = [r for r in sel if r["strategy"] == s]
                if not rs:
                    continue
                cells = []
                for b in BUDGETS:
                    per_class = [quartiles(r["found_at"][str(b)] for r in rs if r["cls"] == c)["median"]
                                 for c in classes if any(r["cls"] == c for r in rs)]
                    q = quartiles(r["found_at"][str(b)] for r in rs)
                    cells.append(f"{np.median(per_class):.0f} ({q['q1']:.0f}-{q['q3']:.0f})")
                per_round = quartiles(r["seconds"] / max(r["rounds"], 1) for r in rs)["median"]
                lines.append(f"| {s} | " + " | ".join(cells) + f" | {per_round:.2f} |")
    cold = [r for r in rows if r["section"] == "cold"]
    if cold:
        lines += ["", "## Cold start: labels until the first positive, zero seeds (1 % rarity, budget 1000)", "",
                  "| strategy | median | quartiles | runs with no positive in 1000 labels |", "|---|---|---|---|"]
        for s in COLD:
            rs = [r for r in cold if r["strategy"] == s]
            if rs:
                vals = [r["first_positive_at"] if r["first_positive_at"] is not None else float("nan") for r in rs]
                q = quartiles(vals)
                misses = sum(v != v for v in vals)
                lines.append(f"| {s} | {q['median']:.0f} | {q['q1']:.0f}-{q['q3']:.0f} | {misses} of {len(rs)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
