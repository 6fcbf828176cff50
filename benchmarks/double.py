"""Two labellers on a share of the items, against spending those labels on new items (issue 41).

At the same label budget, does giving a share of the items asked to a second labeller
(the search weighing disagreements by each labeller's estimated reliability,
:mod:`elsa.search.reliability`) find more true positives than spending those labels on
new items? Two simulated labellers (:class:`elsa.oracle.PanelOracle`), both wrong with
probability ``p`` (10 and 20 %); each item goes to one of them at random, and with
``--double-share`` 0.1 a tenth of the items also goes to the other. The second answers
count against the budget, so at 500 labels the double-labelling search asks about ~45
fewer new items.

Pools: ``noise.py``'s (classes 0, 2, 3, 4 and 6 of ``fm-encoder``, ``fm-pixels`` and
``text-docstrings``, each rare at 1 %), 5 seeds, 10 runs, the default search with
``simulate``'s random state ``1000 + class``. Paired: run ``r`` of a class starts from the
same seeds with the same search stream in both settings, and the labellers' draws are
keyed to (item, answer number), so both settings meet the same first labeller and the same
first answers on every item both ask about (with a share of 0 the panel is
``noise.py``'s oracle at the same ``p``: the same runs).

Reported per space and ``p``: each setting's found (median class), the ratio of the
double-labelling median to the single-labelling one per class (median class and worst
class, with 90 % bootstrap intervals: each class's runs resampled by run index, pairs
kept), the second answers, the disagreements, the share of disagreements whose first
answer was the wrong one, and the labellers' estimated error rates.

    python -m benchmarks.double --workers 2          # the committed results (~30 min on 2 cores)
    python -m benchmarks.double --spaces text-docstrings --classes 3 --runs 2

Writes ``benchmarks/results/double.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from .harness import paired_ratio_spread, write_results
from .noise import CLASSES, RESULTS, SPACES, _worker_init
from .pools import space_pool

NOISE = (0.1, 0.2)
SHARES = (0.0, 0.1)
BASE = (0.0, None)  # one answer per item, nobody resolving


def setting(row: dict) -> tuple[float, float | None]:
    """A row's labelling: (share given to two, the resolver's error rate or None)."""
    return row["share"], row.get("resolver")


def run_cell(space: str, cls: int, noise: float, share: float, resolver: float | None, args) -> list[dict]:
    from elsa.simulation import simulate

    Xc, yc, _ = space_pool(space, cls, 0.01)
    trial = Trial(repeats=args.runs, labellers=(noise, noise), double_share=share,
                  resolver_rate=resolver if share else None, progress=False)
    doc = simulate(Xc, yc, cls, SearchPlan(args.strategy, budget=args.budget, random_state=1000 + cls), seeds=5,
                   trial=trial)
    keys = ("found", "queries", "double_labels", "resolutions", "disputes", "disputes_first_wrong",
            "flip_rate_estimates", "false_positives", "false_negatives", "seconds")
    return [dict(space=space, cls=cls, noise=noise, share=share, resolver=resolver if share else None, run=i,
                 **{k: run.get(k) for k in keys}) for i, run in enumerate(doc["runs"])]


def _found_by_class(sel: list[dict], classes: list[int], label) -> tuple[dict, list[float], dict]:
    """Per class: (found with ``label``, found with one answer each) by run, paired by run
    index; the ratios of their medians; and the medians of both."""
    found, ratios, medians = {}, [], {BASE: [], label: []}
    for c in classes:
        by = {k: {r["run"]: r["found"] for r in sel if r["cls"] == c and setting(r) == k} for k in (BASE, label)}
        runs = sorted(set(by[BASE]) & set(by[label]))
        if not runs:
            continue
        found[c] = (np.array([by[label][r] for r in runs], float), np.array([by[BASE][r] for r in runs], float))
        for k in (BASE, label):
            medians[k].append(float(np.median([by[k][r] for r in runs])))
        ratios.append(medians[label][-1] / medians[BASE][-1] if medians[BASE][-1] else float("nan"))
    return found, ratios, medians


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for space in dict.fromkeys(r["space"] for r in rows):
        for p in sorted({r["noise"] for r in rows if r["space"] == space}):
            sel = [r for r in rows if r["space"] == space and r["noise"] == p]
            labels = sorted({setting(r) for r in sel}, key=lambda k: (k[0], -1 if k[1] is None else k[1]))
            if BASE not in labels:
                continue
            classes = sorted({r["cls"] for r in sel})
            for label in (k for k in labels if k != BASE):
                found, ratios, medians = _found_by_class(sel, classes, label)
                doubled = [r for r in sel if setting(r) == label]
                disputes = sum(r["disputes"] for r in doubled)
                rates = [e for r in doubled for e in (r["flip_rate_estimates"] or [])]
                out.append(dict(
                    space=space, noise=p, share=label[0], resolver=label[1], runs=len(doubled) // max(1, len(found)),
                    found_single=float(np.median(medians[BASE])), found_double=float(np.median(medians[label])),
                    ratio_median_class=round(float(np.median(ratios)), 3),
                    ratio_worst_class=round(float(np.nanmin(ratios)), 3),
                    worst_class=list(found)[int(np.nanargmin(ratios))],
                    classes_ahead=int(sum(r > 1 for r in ratios)), classes_behind=int(sum(r < 1 for r in ratios)),
                    double_labels=float(np.median([r["double_labels"] for r in doubled])),
                    resolutions=float(np.median([r.get("resolutions") or 0 for r in doubled])),
                    disputes=float(np.median([r["disputes"] for r in doubled])),
                    disputes_first_wrong=round(sum(r["disputes_first_wrong"] for r in doubled) / disputes, 3)
                    if disputes else None,
                    flip_rate_estimate=round(float(np.median(rates)), 3) if rates else None,
                    **paired_ratio_spread(found)))
    return out


def markdown(summary: list[dict], meta: dict) -> str:
    lines = ["# A second labeller on a share of the items, or new items (issue 41)", "",
             f"`python -m benchmarks.double {meta['argv']}`: {meta['strategy']}, {meta['budget']} labels (second "
             f"answers included), two labellers wrong with probability p each, classes "
             f"{', '.join(map(str, meta['classes']))} at 1 %, 5 seeds, {meta['runs']} paired runs each; found = true "
             "positives among the labelled items. Ratio: the double-labelling search's median found over the "
             "single-labelling one's, per class. Resolver: nobody (the search weighs both answers by each "
             "labeller's estimated reliability), or someone who settles each disagreement with a third answer, "
             "wrong with the probability given (its labels counted too).", "",
             "| space | p | share to two | resolver | found, one labeller (median class) | found, with double labels "
             "| ratio, median class (90 % bootstrap) | ratio, worst class (90 % bootstrap) | classes ahead / behind "
             "| second answers | disagreements | resolutions | first answer wrong in a disagreement "
             "| estimated error rate |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in summary:
        ci = lambda k: f" ({c[k][0]:.2f}-{c[k][1]:.2f})"  # noqa: E731
        wrong = "" if c["disputes_first_wrong"] is None else f"{c['disputes_first_wrong']:.0%}"
        est = "" if c["flip_rate_estimate"] is None else f"{c['flip_rate_estimate']:.1%}"
        resolver = "nobody" if c.get("resolver") is None else f"wrong {c['resolver']:.0%}"
        lines.append(f"| {c['space']} | {c['noise']:.0%} | {c['share']:.0%} | {resolver} | {c['found_single']:g} | "
                     f"{c['found_double']:g} | {c['ratio_median_class']:.3f}{ci('ratio_median_class_90')} | "
                     f"{c['ratio_worst_class']:.3f} (class {c['worst_class']}){ci('ratio_worst_class_90')} | "
                     f"{c['classes_ahead']} / {c['classes_behind']} | {c['double_labels']:g} | {c['disputes']:g} | "
                     f"{c.get('resolutions', 0):g} | {wrong} | {est} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spaces", nargs="+", default=list(SPACES))
    parser.add_argument("--classes", type=int, nargs="+", default=list(CLASSES))
    parser.add_argument("--noise", type=float, nargs="+", default=list(NOISE))
    parser.add_argument("--shares", type=float, nargs="+", default=list(SHARES))
    parser.add_argument("--resolvers", nargs="+", default=["none"],
                        help="with a share above 0: who settles disagreements: none (the search weighs both "
                             "answers), or a resolver's error rate (0: always right)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the existing results file's rows of other settings")
    parser.add_argument("--strategy", default="portfolio")
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", default=str(RESULTS / "double"))
    parser.add_argument("--workers", type=int, default=1, help="processes running cells at once (one BLAS thread each)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    resolvers = [None if r == "none" else float(r) for r in args.resolvers]
    todo = [(space, cls, p, share, resolver) for space in args.spaces for cls in args.classes for p in args.noise
            for share in args.shares for resolver in (resolvers if share else [None])]
    for space in args.spaces:  # each space's pools and graphs built here, before the workers read them
        for cls in args.classes:
            space_pool(space, cls, 0.01)
    rows, t0 = [], time.time()
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_worker_init) as pool:
        futures = [pool.submit(run_cell, *cell, args) for cell in todo]
        for f in as_completed(futures):
            new = f.result()
            rows += new
            print(json.dumps({k: new[0][k] for k in ("space", "cls", "noise", "share", "resolver")}
                             | {"found": [r["found"] for r in new]}), file=sys.stderr, flush=True)
    meta = {"argv": " ".join(sys.argv[1:] if argv is None else argv), "strategy": args.strategy,
            "budget": args.budget, "classes": args.classes, "runs": args.runs, "seconds": round(time.time() - t0, 1)}
    if args.merge and Path(args.out + ".json").exists():
        old = json.loads(Path(args.out + ".json").read_text())
        cells = {(r["space"], r["cls"], r["noise"], setting(r)) for r in rows}
        rows = [r for r in old["runs"] if (r["space"], r["cls"], r["noise"], setting(r)) not in cells] + rows
        meta["argv"] = f"{old['meta']['argv']}`, then `python -m benchmarks.double {meta['argv']}"
        meta["seconds"] += old["meta"].get("seconds", 0)
    rows.sort(key=lambda r: (r["space"], r["cls"], r["noise"], r["share"], -1 if r.get("resolver") is None
                             else r["resolver"], r["run"]))
    summary = summarise(rows)
    write_results(args.out + ".json", {"meta": meta, "summary": summary, "runs": rows},
                  sys.argv[1:] if argv is None else argv)
    Path(args.out + ".md").write_text(markdown(summary, meta))
    print(markdown(summary, meta))


if __name__ == "__main__":
    main()
