"""The shape of the paper's Tables 2-3 and 10 on Fashion-MNIST, plus comparisons at equal labels.

Data: all 70,000 Fashion-MNIST images (Debian's ``dataset-fashion-mnist``:
``apt-get install dataset-fashion-mnist``), embedded with the built-in
EfficientNet-Lite0 at 64 px (1280-d; cached after the first run). For each of the 10
classes in turn, the class is thinned to 1 % of the pool (636 of 63,636 items; the
thinning draw uses the class id as random state) and searched for.

Sections (each row of the results file is one run):

* ``paper``: the paper's protocol (10 epochs, no label budget), seeds 1, 2, 5, 10, 50,
  strategies ELSA, No Active, NN, NN.Large; the shape of Tables 2-3.
* ``budget``: every strategy limited to the same label budget (250, 500, 1000, 2000;
  up to 1000 epochs so that the budget is what stops a run), 5 seeds. NN stops early
  when a search finds no new positive; it is then charged only what it spent.
* ``nn-spend``: ELSA given exactly the labels NN spent in the paper protocol (same
  seeds), 5 seeds: the strictest "equal labels" comparison.
* ``noise``: ELSA under a noisy oracle flipping each answer with probability p
  (Table 10), 5 seeds, 10 epochs.

Seeds are drawn per (class, repeat) from the same random state for every strategy,
so strategies are compared on identical seeds.

    python -m benchmarks.paper_tables                 # everything, 3 repeats (about an hour on 2 cores)
    python -m benchmarks.paper_tables --summarize     # rebuild the markdown from the JSON
    python -m benchmarks.paper_tables --sections noise  # Table 10 alone (the other rows are kept)
    python -m benchmarks.paper_tables --quick         # 2 classes, 1 repeat: a smoke test

Writes ``benchmarks/results/fashion_mnist_tables.json`` (every run) and
``benchmarks/results/fashion_mnist_tables.md`` (the tables docs/results.md quotes).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.datasets import CLASS_NAMES
from elsa.metrics import corrected_labelling_efficiency, quartiles
from elsa.simulation import simulate

from .harness import write_results
from .pools import fashion_mnist_encoded, thin

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = (1, 2, 5, 10, 50)
PAPER_STRATEGIES = ("elsa", "no-active", "nn", "nn-large")
BUDGETS = (250, 500, 1000, 2000)
BUDGET_STRATEGIES = ("elsa", "no-active", "nn", "nn-large", "random")
NOISE = (0.0, 0.025, 0.05, 0.1, 0.15, 0.2)
SECTIONS = ("paper", "budget", "noise")
FRACTION = 0.01


def runs_of(doc: dict, **tags) -> list[dict]:
    rows = []
    for i, run in enumerate(doc["runs"]):
        row = {**tags, "repeat": i}
        row.update({k: run[k] for k in ("n_seeds", "queries", "found", "total_positives", "discovery_rate",
                                        "labelling_efficiency", "seconds", "epochs_run", "stop_reason", "curve")})
        if "found_reported" in run:
            row["found_reported"] = run["found_reported"]
        rows.append(row)
    return rows


def run_all(args, out_json: Path) -> list[dict]:
    X, labels = fashion_mnist_encoded()
    rows: list[dict] = []
    if set(args.sections) != set(SECTIONS) and out_json.exists():  # keep the other sections' committed rows
        kept = {"paper": ("paper", "nn-spend"), "budget": ("budget",), "noise": ("noise",)}
        drop = {name for s in args.sections for name in kept[s]}
        rows = [r for r in json.loads(out_json.read_text())["rows"] if r["section"] not in drop]

    def save():
        meta = {"machine": platform.platform(), "python": sys.version.split()[0], "repeats": args.repeats,
                "fraction": FRACTION, "pool": "Fashion-MNIST train+test (70,000), built-in EfficientNet-Lite0 at 64 px"}
        write_results(out_json, {"meta": meta, "rows": rows}, indent=None)

    classes = args.classes
    for c in classes:
        Xc, yc, _ = thin(X, labels, c, FRACTION)
        started = time.perf_counter()
        trial, state = Trial(repeats=args.repeats), 1000 + c
        for n_seeds in args.seeds if "paper" in args.sections else ():
            for strategy in PAPER_STRATEGIES:
                doc = simulate(Xc, yc, c, SearchPlan(strategy, random_state=state), seeds=n_seeds, trial=trial)
                rows += runs_of(doc, section="paper", cls=c, strategy=strategy)
                if strategy == "nn" and n_seeds == 5:
                    for r, nn_run in enumerate(doc["runs"]):
                        elsa = simulate(Xc, yc, c, SearchPlan("elsa", budget=nn_run["queries"], random_state=state),
                                        seeds=nn_run["seed_ids"], trial=Trial(repeats=1))
                        rows += [dict(x, repeat=r) for x in runs_of(elsa, section="nn-spend", cls=c, strategy="elsa")]
        for budget in args.budgets if "budget" in args.sections else ():
            for strategy in BUDGET_STRATEGIES:
                doc = simulate(Xc, yc, c, SearchPlan(strategy, budget=budget, epochs=1000, random_state=state), seeds=5,
                               trial=trial)
                rows += runs_of(doc, section="budget", cls=c, strategy=strategy, budget=budget)
        for p in args.noise if "noise" in args.sections else ():
            doc = simulate(Xc, yc, c, SearchPlan("elsa", random_state=state), seeds=5,
                           trial=Trial(repeats=args.repeats, noise=p))
            rows += runs_of(doc, section="noise", cls=c, strategy="elsa", noise=p)
        save()
        print(f"class {c} ({CLASS_NAMES[c]}) done in {time.perf_counter() - started:.0f} s", flush=True)
    return rows


def _med(rows, key):
    return quartiles(r[key] for r in rows)["median"]


def _fmt_q(rows, key, digits=0):
    q = quartiles(r[key] for r in rows)
    f = f"{{:.{digits}f}}"
    return f"{f.format(q['median'])} ({f.format(q['q1'])}-{f.format(q['q3'])})"


def summarize(rows: list[dict], meta: dict) -> str:
    names = {"elsa": "ELSA", "no-active": "No Active", "nn": "NN", "nn-large": "NN.Large", "random": "Random"}
    classes = sorted({r["cls"] for r in rows})
    lines = [
        "# ELSA on Fashion-MNIST: the paper's tables, re-measured",
        "",
        f"Generated by `python -m benchmarks.paper_tables` ({meta.get('repeats')} repeats per class and setting; "
        f"classes {classes[0]}-{classes[-1]}). Pool: {meta.get('pool')}; each class in turn thinned to "
        f"{100 * meta.get('fraction', FRACTION):.0f} % of the pool (636 positives among 63,636 items). "
        "Medians over classes x repeats; quartiles in brackets where shown.",
        "",
        "Conventions: *found* = positives among the oracle's queries (seeds excluded); discovery rate = "
        "(seeds + found) / positives in the pool; labelling efficiency = found / queries.",
        "",
        "## Tables 2-3: the paper's protocol (10 epochs, no budget)",
        "",
        "| seeds | " + " | ".join(f"{names[s]} Le | {names[s]} discovery | {names[s]} labels" for s in PAPER_STRATEGIES) + " |",
        "|---|" + "---|---|---|" * len(PAPER_STRATEGIES),
    ]
    paper = [r for r in rows if r["section"] == "paper"]
    for n in sorted({r["n_seeds"] for r in paper}):
        cells = []
        for s in PAPER_STRATEGIES:
            sel = [r for r in paper if r["n_seeds"] == n and r["strategy"] == s]
            cells.append(f"{_med(sel, 'labelling_efficiency'):.3f} | {_med(sel, 'discovery_rate'):.3f} | {_med(sel, 'queries'):.0f}")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")

    budget = [r for r in rows if r["section"] == "budget"]
    if budget:
        lines += [
            "",
            "## At equal labels: positives found within a label budget (5 seeds)",
            "",
            "Every strategy may spend up to the budget (NN stops earlier when a search finds no new positive).",
            "Cells: median positives found (quartiles), then median discovery rate.",
            "",
            "| budget | " + " | ".join(names[s] for s in BUDGET_STRATEGIES) + " |",
            "|---|" + "---|" * len(BUDGET_STRATEGIES),
        ]
        for b in sorted({r["budget"] for r in budget}):
            cells = []
            for s in BUDGET_STRATEGIES:
                sel = [r for r in budget if r["budget"] == b and r["strategy"] == s]
                cells.append(f"{_fmt_q(sel, 'found')}; {_med(sel, 'discovery_rate'):.3f}")
            lines.append(f"| {b} | " + " | ".join(cells) + " |")
        lines += ["", "Paired on identical seeds (same class and repeat), ELSA against NN:", ""]
        for b in sorted({r["budget"] for r in budget}):
            nn_found = {(r["cls"], r["repeat"]): r["found"] for r in budget if r["budget"] == b and r["strategy"] == "nn"}
            elsa = [r for r in budget if r["budget"] == b and r["strategy"] == "elsa"]
            more = sum(r["found"] > nn_found[(r["cls"], r["repeat"])] for r in elsa)
            same = sum(r["found"] == nn_found[(r["cls"], r["repeat"])] for r in elsa)
            lines.append(f"* budget {b}: ELSA found more in {more} of {len(elsa)} runs, as many in {same}, fewer in {len(elsa) - more - same}.")
        lines += ["", "Per class, median positives found at each budget (ELSA / NN):", "",
                  "| class | " + " | ".join(str(b) for b in sorted({r['budget'] for r in budget})) + " |",
                  "|---|" + "---|" * len({r['budget'] for r in budget})]
        for c in classes:
            cells = []
            for b in sorted({r["budget"] for r in budget}):
                e = [r for r in budget if r["cls"] == c and r["budget"] == b and r["strategy"] == "elsa"]
                n = [r for r in budget if r["cls"] == c and r["budget"] == b and r["strategy"] == "nn"]
                cells.append(f"{_med(e, 'found'):.0f} / {_med(n, 'found'):.0f}")
            lines.append(f"| {c} {CLASS_NAMES[c]} | " + " | ".join(cells) + " |")

    spend = [r for r in rows if r["section"] == "nn-spend"]
    if spend:
        nn5 = [r for r in paper if r["strategy"] == "nn" and r["n_seeds"] == 5]
        pairs = {(r["cls"], r["repeat"]): r for r in nn5}
        wins = sum(1 for r in spend if r["found"] > pairs[(r["cls"], r["repeat"])]["found"])
        ties = sum(1 for r in spend if r["found"] == pairs[(r["cls"], r["repeat"])]["found"])
        lines += [
            "",
            "## At exactly NN's labels (5 seeds, same seeds)",
            "",
            "NN runs the paper protocol; ELSA then gets exactly the number of labels NN spent.",
            "",
            "| | labels | found | discovery |",
            "|---|---|---|---|",
            f"| NN | {_fmt_q(nn5, 'queries')} | {_fmt_q(nn5, 'found')} | {_med(nn5, 'discovery_rate'):.3f} |",
            f"| ELSA | {_fmt_q(spend, 'queries')} | {_fmt_q(spend, 'found')} | {_med(spend, 'discovery_rate'):.3f} |",
            "",
            f"ELSA found more than NN in {wins} of {len(spend)} paired runs, as many in {ties}.",
        ]

    noise = [r for r in rows if r["section"] == "noise"]
    if noise:
        clean = _med([r for r in noise if r["noise"] == 0.0], "labelling_efficiency")
        lines += [
            "",
            "## Table 10: a noisy oracle (ELSA, 5 seeds, 10 epochs)",
            "",
            "Le counts true positives among the queries; *reported Le* counts what the noisy oracle said; "
            "*seed 000* is the corrected efficiency L_e (1 - p) / (1 + (1 - L_e) p) applied to the noise-free median.",
            "",
            "| p | Le | reported Le | seed 000 formula | discovery | labels |",
            "|---|---|---|---|---|---|",
        ]
        for p in sorted({r["noise"] for r in noise}):
            sel = [r for r in noise if r["noise"] == p]
            reported = [dict(r, rep=r.get("found_reported", r["found"]) / max(r["queries"], 1)) for r in sel]
            lines.append(
                f"| {p} | {_med(sel, 'labelling_efficiency'):.3f} | {_med(reported, 'rep'):.3f} | "
                f"{corrected_labelling_efficiency(clean, p):.3f} | {_med(sel, 'discovery_rate'):.3f} | {_med(sel, 'queries'):.0f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--noise", type=float, nargs="+", default=list(NOISE))
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="run only these tables; the committed rows of the others are kept")
    parser.add_argument("--quick", action="store_true", help="2 classes, 1 repeat, seeds 1 and 5, budget 250")
    parser.add_argument("--summarize", action="store_true", help="only rebuild the markdown from the JSON")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.classes, args.seeds, args.budgets, args.noise = 1, [0, 8], [1, 5], [250], [0.0, 0.1]
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "fashion_mnist_tables" + (".quick" if args.quick else "")
    out_json, out_md = RESULTS / f"{name}.json", RESULTS / f"{name}.md"
    if not args.summarize:
        run_all(args, out_json)
    doc = json.loads(out_json.read_text())
    md = summarize(doc["rows"], doc["meta"])
    out_md.write_text(md)
    print(md)


if __name__ == "__main__":
    main()
