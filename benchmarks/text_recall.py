"""Finding them all on text: labels to reach 50, 80, 90 and 95 % of a class, against ASReview (issue 36).

The same corpora, targets, seeds and methods as :mod:`text_search` (ASReview 3.0.8's
default and ELSA's default, 5 seeds, pages of 10), each run to 4,000 labels after the
seeds (``--budget``). For each share, the labels at which the run had found that share of
the positives left after the seeds; a run that never gets there counts as
``budget + 1``. Per class, ELSA's labels over ASReview's (one paired run each, run 0's
seeds); a class where neither gets there is left out; the median class and the worst.

    python -m benchmarks.text_recall --asreview /path/to/venv/bin/asreview     # ~1 h on 2 cores
    python -m benchmarks.text_recall --summarize

Runs are appended to ``benchmarks/results/text_recall.runs.jsonl`` (committed); writes
``text_recall.{md,json}``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from . import text_search

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = Path(os.environ.get("TEXT_RECALL_RUNS", RESULTS / "text_recall.runs.jsonl"))  # a scratch file for trials
SHARES = (0.5, 0.8, 0.9, 0.95)
METHODS = ("asreview", "default")


def labels_to_reach(hit_labels: list[int], left: int, share: float, budget: int) -> int:
    """The label at which ``ceil(share * left)`` positives had been found, else ``budget + 1``."""
    need = int(np.ceil(share * left - 1e-9))
    return int(hit_labels[need - 1]) if 0 < need <= len(hit_labels) else budget + 1


def load_runs() -> list[dict]:
    return [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()] if RUNS.exists() else []


def run(args) -> None:
    done = {(r["corpus"], r["target"], r["method"]) for r in load_runs()}
    todo = [(c, t, m) for c in args.corpora for t in text_search.corpus_data(c)[2] for m in args.methods
            if (c, t, m) not in done]
    text_search.run_tasks([(c, t, 0, m, args.asreview, args.budget) for c, t, m in todo], args.workers, RUNS)


def summarize(rows: list[dict]) -> tuple[str, dict]:
    by = {(r["corpus"], r["target"], r["method"]): r for r in rows}
    cells, lines = {}, ["# Finding them all on text: labels to reach a share of the class (issue 36)", "",
                        "Written by `python -m benchmarks.text_recall`. One paired run per target (run 0's 5 seeds, pages of "
                        "10), to the budget after the seeds; labels after the seeds at which the run had found each "
                        "share of the positives left; `never` = budget + 1. Ratio: default / ASReview.", "",
                        "| corpus | target | left | share | asreview | default | ratio |", "|---|---|---|---|---|---|---|"]
    for (c, t, m), r in sorted(by.items()):
        if m != "default" or (c, t, "asreview") not in by:
            continue
        a = by[(c, t, "asreview")]
        left = int((text_search.corpus_data(c)[1] == t).sum()) - text_search.N_SEEDS
        budget = min(r["budget"], a["budget"])
        for share in SHARES:
            mine, theirs = (labels_to_reach([h for h in x["hit_labels"] if h <= budget], left, share, budget)
                            for x in (r, a))
            never = budget + 1
            cells.setdefault(c, {}).setdefault(share, []).append((t, mine, theirs, never))
            shown = [("never" if v == never else str(v)) for v in (theirs, mine)]
            ratio = "-" if mine == theirs == never else f"{mine / theirs:.2f}"
            lines.append(f"| {c} | {t} | {left} | {share:.0%} | {shown[0]} | {shown[1]} | {ratio} |")
    lines += ["", "| corpus | share | median class | worst class | classes (both never: left out) |", "|---|---|---|---|---|"]
    out = {"shares": list(SHARES), "corpora": {}}
    for c in sorted(cells):
        for share in SHARES:
            ratios = [m / a for t, m, a, never in cells[c][share] if not (m == a == never)]
            left_out = sum(1 for t, m, a, never in cells[c][share] if m == a == never)
            if not ratios:
                lines.append(f"| {c} | {share:.0%} | - | - | 0 ({left_out} left out) |")
                continue
            out["corpora"].setdefault(c, {})[str(share)] = {"median": float(np.median(ratios)),
                                                            "worst": float(max(ratios)), "classes": len(ratios)}
            lines.append(f"| {c} | {share:.0%} | {np.median(ratios):.2f} | {max(ratios):.2f} | "
                         f"{len(ratios)} ({left_out} left out) |")
    return "\n".join(lines) + "\n", out


def main() -> None:
    p = text_search.arguments(__doc__.split("\n")[0], METHODS)
    p.add_argument("--budget", type=int, default=4000)
    args = p.parse_args()
    if not args.summarize:
        run(args)
    text_search.write_results("text_recall", *summarize(load_runs()))


if __name__ == "__main__":
    main()
