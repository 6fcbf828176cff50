"""A labeller who makes mistakes: the default search under a noisy oracle, with and without
second looks and weighed answers (issues 25 and 40; the paper's appendix D, Table 10,
measured for ELSA by ``python -m benchmarks.paper_tables --sections noise``).

Pools: ``search_quality.py``'s quick subset (its design subset of issue 14): classes 0, 2,
3, 4 and 6 of each feature space (``fm-encoder``, ``fm-pixels``, ``text-docstrings``), each
made rare at 1 % (``make_rare``), 5 seeds, 10 runs, ``simulate``'s random state
``1000 + class``. The oracle flips each answer with probability ``p`` (0, 2.5, 5, 10, 15
and 20 %); its flips are keyed to (item, ask), so at one ``p`` the runs of every setting
meet the same mistakes on the items they all ask about, and run ``r`` starts from the
same seeds with the same search stream in every setting and at every ``p`` (paired).
``found`` is the true positives among the labelled items at ``--budget`` labels, second
looks counted in the labels.

Reported per ``p`` and setting (second looks on or off; answers weighed by the labeller
model, :mod:`elsa.search.labeller`, or not): the median over classes of the median found,
its ratio to the noise-free median (the same setting), the worst class's ratio, each with
a 90 % bootstrap interval (each class's runs resampled, run ``r`` at ``p`` and at 0
together), the labels spent on second looks, the share of wrong first answers asked
again, the share of re-asks that were wrong first answers, and the labeller model's
estimated error rate.

    python -m benchmarks.noise --second-looks off --workers 2    # the default as shipped (~40 min)
    python -m benchmarks.noise --second-looks on --noise 0 0.2 --workers 2 --merge             # (~13 min)
    python -m benchmarks.noise --second-looks off --weigh-answers on --noise 0 0.2 --workers 2 --merge
    python -m benchmarks.noise --spaces fm-pixels --classes 6 --noise 0 0.2 --runs 2

Writes ``benchmarks/results/noise.{json,md}``.
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
from .harness import ROOT, paired_ratio_spread, write_results
from .pools import space_pool

RESULTS = ROOT / "benchmarks" / "results"
NOISE = (0.0, 0.025, 0.05, 0.1, 0.15, 0.2)
CLASSES = (0, 2, 3, 4, 6)
SPACES = ("fm-encoder", "fm-pixels", "text-docstrings")


def _worker_init():
    os.environ["ELSA_THREADS"] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def run_cell(space: str, cls: int, noise: float, second_looks: bool, args) -> list[dict]:
    from elsa.simulation import simulate

    Xc, yc, _ = space_pool(space, cls, 0.01)
    weigh = args.weigh_answers == "on"
    doc = simulate(Xc, yc, cls, SearchPlan(args.strategy, budget=args.budget, second_looks=second_looks,
                                           weigh_answers=weigh, random_state=1000 + cls),
                   seeds=5, trial=Trial(repeats=args.runs, noise=noise, progress=False))
    keys = ("found", "queries", "rechecks", "wrong_first_answers", "flips_rechecked", "rechecks_flipped",
            "false_positives", "false_negatives", "flip_rate_estimate", "seconds")
    return [dict(space=space, cls=cls, noise=noise, second_looks=second_looks, weigh_answers=weigh, run=i,
                 **{k: run.get(k) for k in keys}) for i, run in enumerate(doc["runs"])]


def setting(row: dict) -> tuple[bool, bool]:
    """A row's search: (second looks, answers weighed)."""
    return bool(row["second_looks"]), bool(row.get("weigh_answers", False))


def _ratio_spread(sel: list[dict], classes: list[int], p: float, draws: int = 1000) -> dict:
    """The median-class and worst-class ratios of medians (found at ``p`` over found at 0)
    under a bootstrap of the runs: each class's runs at ``p`` and at 0 are resampled
    together by run index (run ``r`` at both levels shares its seeds and search stream, so
    the pairs stay paired); returns the 5th and 95th percentiles of both ratios."""
    found = {}
    for c in classes:
        by_run = {lvl: {r["run"]: r["found"] for r in sel if r["cls"] == c and r["noise"] == lvl} for lvl in (p, 0.0)}
        runs = sorted(set(by_run[p]) & set(by_run[0.0]))
        found[c] = (np.array([by_run[p][r] for r in runs], float), np.array([by_run[0.0][r] for r in runs], float))
    return paired_ratio_spread(found, draws)


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for space in dict.fromkeys(r["space"] for r in rows):
        for looks, weigh in sorted({setting(r) for r in rows}):
            sel = [r for r in rows if r["space"] == space and setting(r) == (looks, weigh)]
            classes = sorted({r["cls"] for r in sel})
            med = {(c, p): float(np.median([r["found"] for r in sel if r["cls"] == c and r["noise"] == p]))
                   for c in classes for p in {r["noise"] for r in sel}}
            for p in sorted({r["noise"] for r in sel}):
                if not all((c, 0.0) in med and (c, p) in med for c in classes):
                    continue
                ratios = [med[(c, p)] / med[(c, 0.0)] for c in classes if med[(c, 0.0)] > 0]
                at = [r for r in sel if r["noise"] == p]
                estimates = [r["flip_rate_estimate"] for r in at if r.get("flip_rate_estimate") is not None]
                out.append(dict(space=space, second_looks=looks, weigh_answers=weigh, noise=p,
                                found_median_class=float(np.median([med[(c, p)] for c in classes])),
                                ratio_median_class=round(float(np.median(ratios)), 3),
                                ratio_worst_class=round(float(min(ratios)), 3),
                                worst_class=classes[int(np.argmin(ratios))],
                                rechecks_share=round(float(np.median([r["rechecks"] / r["queries"] for r in at])), 4),
                                flips_rechecked=_median_share(at, "flips_rechecked"),
                                rechecks_flipped=_median_share(at, "rechecks_flipped"),
                                flip_rate_estimate=round(float(np.median(estimates)), 3) if estimates else None,
                                runs=len(at) // max(1, len(classes)), **_ratio_spread(sel, classes, p)))
    return out


def _median_share(rows: list[dict], key: str) -> float | None:
    """The median of ``key`` over the runs that report it (None when none do)."""
    values = [r[key] for r in rows if r[key] is not None]
    return round(float(np.median(values)), 3) if values else None


def markdown(summary: list[dict], meta: dict) -> str:
    lines = ["# The default under a noisy oracle, with and without second looks and weighed answers (issues 25, 40)", "",
             f"`python -m benchmarks.noise {meta['argv']}`: {meta['strategy']}, {meta['budget']} labels, classes "
             f"{', '.join(map(str, meta['classes']))} at 1 %, 5 seeds, {meta['runs']} runs each; found = true "
             "positives among the labelled items; ratios to the noise-free median of the same setting, per class.", ""]
    for space in dict.fromkeys(c["space"] for c in summary):
        lines += [f"## {space}", "",
                  "| second looks | weighed answers | noise | runs | found (median class) "
                  "| ratio, median class (90 % bootstrap) | ratio, worst class (90 % bootstrap) "
                  "| labels on second looks | wrong first answers re-asked | re-asks that were wrong "
                  "| estimated error rate |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in (c for c in summary if c["space"] == space):
            fmt = lambda v: "" if v is None else f"{v:.0%}"  # noqa: E731
            ci = lambda k: "" if k not in c else f" ({c[k][0]:.2f}-{c[k][1]:.2f})"  # noqa: E731
            onoff = lambda v: "on" if v else "off"  # noqa: E731
            est = "" if c.get("flip_rate_estimate") is None else f"{c['flip_rate_estimate']:.1%}"
            lines.append(f"| {onoff(c['second_looks'])} | {onoff(c.get('weigh_answers'))} | {c['noise']:.1%} | "
                         f"{c.get('runs', '')} | "
                         f"{c['found_median_class']:g} | {c['ratio_median_class']:.3f}{ci('ratio_median_class_90')} | "
                         f"{c['ratio_worst_class']:.3f} (class {c['worst_class']}){ci('ratio_worst_class_90')} | "
                         f"{c['rechecks_share']:.1%} | {fmt(c['flips_rechecked'])} | {fmt(c['rechecks_flipped'])} | "
                         f"{est} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spaces", nargs="+", default=list(SPACES))
    parser.add_argument("--classes", type=int, nargs="+", default=list(CLASSES))
    parser.add_argument("--noise", type=float, nargs="+", default=list(NOISE))
    parser.add_argument("--second-looks", choices=("off", "on", "both"), default="both")
    parser.add_argument("--looks-noise", type=float, nargs="+", default=[0.0, 0.2],
                        help="with --second-looks both: the noise levels at which runs with second looks are made too")
    parser.add_argument("--weigh-answers", choices=("off", "on"), default="off",
                        help="search on the labeller model's beliefs in the answers (elsa.search.labeller)")
    parser.add_argument("--strategy", default="portfolio")
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", default=str(RESULTS / "noise"))
    parser.add_argument("--workers", type=int, default=1, help="processes running cells at once (one BLAS thread each)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the existing results file's rows of other spaces and second-look settings")
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    from elsa.search.second_look import SecondLooks

    looks = {"off": (False,), "on": (True,), "both": (False, True)}[args.second_looks]
    rows, t0 = [], time.time()
    todo = [(space, cls, noise, on) for space in args.spaces for cls in args.classes for noise in args.noise
            for on in looks if not (on and args.second_looks == "both" and noise not in args.looks_noise)]
    for space in args.spaces:  # each space's pools and graphs built here, before the workers read them
        for cls in args.classes:
            space_pool(space, cls, 0.01)
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_worker_init) as pool:
        futures = [pool.submit(run_cell, *cell, args) for cell in todo]
        for f in as_completed(futures):
            new = f.result()
            rows += new
            print(json.dumps({k: new[0][k] for k in ("space", "cls", "noise", "second_looks")}
                             | {"found": [r["found"] for r in new], "rechecks": [r["rechecks"] for r in new]}),
                  flush=True)
    rows.sort(key=lambda r: (args.spaces.index(r["space"]), r["cls"], r["noise"], setting(r), r["run"]))
    meta = dict(argv=" ".join(sys.argv[1:] if argv is None else argv), strategy=args.strategy, budget=args.budget,
                runs=args.runs, classes=args.classes, seconds=round(time.time() - t0, 1),
                second_looks=SecondLooks().get_params())
    if args.merge and Path(args.out + ".json").exists():
        old = json.loads(Path(args.out + ".json").read_text())
        new = {setting(r) for r in rows}
        rows = [r for r in old["runs"] if setting(r) not in new or r["space"] not in args.spaces] + rows
        meta["argv"] = f"{old['meta']['argv']}`, then `python -m benchmarks.noise {meta['argv']}"
    summary = summarise(rows)
    write_results(args.out + ".json", dict(meta=meta, summary=summary, runs=rows),
                  sys.argv[1:] if argv is None else argv)
    Path(args.out + ".md").write_text(markdown(summary, meta))
    print(markdown(summary, meta))


if __name__ == "__main__":
    main()
