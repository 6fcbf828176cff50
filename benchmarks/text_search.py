"""Text search against ASReview on its own ground (issues 22 and 36).

Corpora and targets are :mod:`text_corpora`'s (Python docstrings by package, manual
pages by section; targets chosen by a rule, 0.7-2.7 % of each corpus). Each target is
searched ``--runs`` times from 5 seed positives (run ``r`` of class ``c`` draws its seeds
with ``numpy.random.default_rng([corpus, c, r])``), the same seeds for every method
(paired), with pages of 10:

=============  ================================================================================
name           what runs
=============  ================================================================================
asreview       ASReview 3.0.8's default model (``elas_u4``: TF-IDF of words and word pairs, a
               linear SVM, class balancing), ``asreview simulate FILE.csv --prior-idx SEEDS
               --n-query 10 --n-stop N --seed r``, in its own venv (``--asreview``)
default        ELSA's default search on the records' sparse TF-IDF (``elsa.text.features``),
               as ``elsa simulate --records`` runs it
cal, knn,      ``cal``, ``knn-search`` and ``seals`` (the most-likely-positive criterion, a logistic
seals          head, pages of 10) on the same features
default-svd    the default on the TF-IDF reduced to 128 dense dimensions by SVD (the
               representation issue 22 measured against ASReview), to show what the sparse
               features are worth
described      the default with the target's description (``text_descriptions.json``, one
               line per target, written from the class's name as a user would) as one more
               positive example (``elsa simulate --describe``, :mod:`elsa.text.describe`)
described-0    the same description and **no seeds**: the description chooses the first page
               (found counts every positive, the seeds' five included)
random-0       no seeds and no description: the default labels random records until the
               first positive (found counts every positive)
=============  ================================================================================

Found = positives among the labels after the seeds (ASReview's priors are the seeds, not
counted), at 100, 250, 500 and 1,000 labels. Finished runs are appended to
``benchmarks/results/text_search.runs.jsonl`` (committed), so it resumes; ``--summarize``
rebuilds ``text_search.{md,json}`` from it.

    python -m benchmarks.text_search --asreview /path/to/venv/bin/asreview      # ~1.5 h on 2 cores
    python -m benchmarks.text_search --methods default cal --runs 3
    python -m benchmarks.text_search --summarize
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from . import text_corpora
from .harness import write_results as write_json

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = Path(os.environ.get("TEXT_SEARCH_RUNS", RESULTS / "text_search.runs.jsonl"))  # a scratch file for trials
BUDGETS = (100, 250, 500, 1000)
METHODS = ("asreview", "default", "cal", "knn", "seals", "default-svd", "described", "described-0", "random-0")
DESCRIPTIONS = json.loads((Path(__file__).resolve().parent / "text_descriptions.json").read_text())
STRATEGY = {"default": ("portfolio", {}), "cal": ("cal", {}), "knn": ("knn-search", {}),
            "seals": ("seals", {"criterion": "positive", "head": "logistic", "batch_size": 10}),
            "default-svd": ("portfolio", {}), "described": ("portfolio", {}), "described-0": ("portfolio", {}),
            "random-0": ("portfolio", {})}
N_SEEDS = 5
SATURATED = 0.9  # a cell where ASReview finds this share of what the budget allows is exempt from the 1.1x goal


def corpus_data(corpus: str):
    """(csv path, class names per record, targets, records)."""
    from elsa.text.records import read_records

    path, y, classes = text_corpora.build(corpus)
    names = np.array([classes[i] for i in y])
    return path, names, text_corpora.targets(list(names)), read_records(path, "title,abstract")


def features(corpus: str, dense: bool):
    from elsa.text.features import text_features

    _, _, _, records = corpus_data(corpus)
    X = text_features(records.texts(), progress=False)
    if not dense:
        return X
    cache = text_corpora.text_cache() / f"{corpus}.svd128.npy"
    if cache.exists():
        return np.load(cache)
    from sklearn.decomposition import TruncatedSVD

    Z = TruncatedSVD(128, random_state=0).fit_transform(X).astype(np.float32)
    np.save(cache, Z)
    return Z


def seeds_for(corpus: str, target: str, run: int, names: np.ndarray) -> list[int]:
    positives = np.flatnonzero(names == target)
    rng = np.random.default_rng([text_corpora.CORPORA.index(corpus), int(np.unique(names).tolist().index(target)), run])
    return sorted(int(i) for i in rng.choice(positives, N_SEEDS, replace=False))


def run_elsa(corpus: str, target: str, run: int, method: str, budget: int = max(BUDGETS)) -> dict:
    from elsa.simulation import simulate

    _, names, _, _ = corpus_data(corpus)
    X = features(corpus, method == "default-svd")
    y = (names == target).astype(np.int64)
    seeds = [] if method.endswith("-0") else seeds_for(corpus, target, run, names)
    examples = None
    if method.startswith("described"):
        from elsa.text.describe import describe
        from elsa.text.features import text_features_and_vocabulary

        _, vocabulary = text_features_and_vocabulary(corpus_data(corpus)[3].texts(), progress=False)
        examples = describe(DESCRIPTIONS[f"{corpus}/{target}"], vocabulary)
    t0 = time.perf_counter()
    strategy, params = STRATEGY[method]
    doc = simulate(X, y, 1, SearchPlan(strategy, params=params, budget=budget, epochs=None, random_state=run),
                   seeds=seeds, trial=Trial(found_at=tuple(range(1, budget + 1)), progress=False), examples=examples)
    hits = np.array([doc["runs"][0]["found_at"][str(b)] for b in range(1, budget + 1)])
    return {**found_and_hits(hits), "seconds": time.perf_counter() - t0}


def found_and_hits(hits: np.ndarray) -> dict:
    """``found_at`` each of :data:`BUDGETS` from the running count of positives, label by
    label, and ``hit_labels``: the label (1-based) at which each positive was found."""
    hits = np.asarray(hits)
    return {"found_at": {str(b): int(hits[min(b, hits.size) - 1]) if hits.size else 0 for b in BUDGETS},
            "hit_labels": (np.flatnonzero(np.diff(np.concatenate([[0], hits])) > 0) + 1).tolist()}


def run_asreview(corpus: str, target: str, run: int, asreview: str, budget: int = max(BUDGETS)) -> dict:
    path, names, _, records = corpus_data(corpus)
    seeds = seeds_for(corpus, target, run, names)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "records.csv"
        with open(data, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["record_id", "title", "abstract", "label_included"])
            for i, (t, a) in enumerate(zip(records.columns["title"], records.columns["abstract"])):
                w.writerow([i, t, a, int(names[i] == target)])
        out = Path(tmp) / "sim.asreview"
        t0 = time.perf_counter()
        subprocess.run([asreview, "simulate", str(data), "--prior-idx", *map(str, seeds), "--n-query", "10",
                        "--n-stop", str(budget + N_SEEDS), "--seed", str(run), "-o", str(out)],
                       check=True, capture_output=True, cwd=tmp)  # it leaves a cache file in its folder
        seconds = time.perf_counter() - t0
        with zipfile.ZipFile(out) as z:
            z.extract("results.db", tmp)
        con = sqlite3.connect(Path(tmp) / "results.db")
        rows = con.execute("SELECT record_id, label FROM results ORDER BY rowid").fetchall()
        con.close()
    after = [label for rid, label in rows if rid not in set(seeds)]
    return {**found_and_hits(np.cumsum(after)[:budget]), "seconds": seconds}


def task(corpus, target, run, method, asreview, budget=max(BUDGETS)):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out = (run_asreview(corpus, target, run, asreview, budget) if method == "asreview"
           else run_elsa(corpus, target, run, method, budget))
    return {"corpus": corpus, "target": target, "run": run, "method": method, "budget": budget, **out}


def load_runs() -> list[dict]:
    return [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()] if RUNS.exists() else []


def run(args) -> None:
    done = {(r["corpus"], r["target"], r["run"], r["method"]) for r in load_runs()}
    todo = []
    for corpus in args.corpora:
        _, names, targets, _ = corpus_data(corpus)
        features(corpus, False)
        if "default-svd" in args.methods:
            features(corpus, True)
        for r in range(args.runs):
            for target in targets:
                for method in args.methods:
                    if (corpus, target, r, method) not in done:
                        todo.append((corpus, target, r, method))
    run_tasks([(*t, args.asreview) for t in todo], args.workers, RUNS)


def run_tasks(todo: list[tuple], workers: int, runs: Path) -> None:
    """:func:`task` on each argument tuple of ``todo``, ``workers`` at a time, each finished
    row appended to ``runs`` (so a later call resumes); a failed run is reported and the
    others go on."""
    print(f"{len(todo)} runs to do", file=sys.stderr)
    with ProcessPoolExecutor(workers) as pool:
        futures = {pool.submit(task, *t): t for t in todo}
        for n, fut in enumerate(as_completed(futures), 1):
            try:
                row = fut.result()
            except Exception as exc:
                print(f"[{n}/{len(todo)}] {futures[fut][:4]} FAILED: {exc!r}", file=sys.stderr)
                continue
            with open(runs, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(f"[{n}/{len(todo)}] {row['corpus']} {row['target']} run {row['run']} {row['method']}: "
                  f"{row['found_at']}, {len(row['hit_labels'])} found in {row['budget']} ({row['seconds']:.0f} s)",
                  file=sys.stderr)


def arguments(description: str, methods) -> argparse.ArgumentParser:
    """The options both text benchmarks take."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--corpora", nargs="+", default=list(text_corpora.CORPORA))
    p.add_argument("--methods", nargs="+", default=list(methods))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--asreview", default=str(Path(os.environ.get("ASREVIEW_VENV", "/work/asr-venv")) / "bin" / "asreview"))
    p.add_argument("--summarize", action="store_true")
    return p


def write_results(name: str, md: str, doc: dict) -> None:
    (RESULTS / f"{name}.md").write_text(md)
    write_json(RESULTS / f"{name}.json", doc)
    print(md)


def summarize(rows: list[dict]) -> tuple[str, dict]:
    """Per corpus and target, each method's median found at each budget; the default against
    ASReview, per class (ratio of medians over paired runs), median and worst class."""
    table: dict = {}
    for r in rows:
        table.setdefault((r["corpus"], r["target"]), {}).setdefault(r["method"], []).append(r)
    totals = {}
    for corpus in {c for c, _ in table}:
        _, names, _, _ = corpus_data(corpus)
        for c, t in table:
            if c == corpus:
                totals[(c, t)] = int((names == t).sum()) - N_SEEDS
    methods = [m for m in METHODS if any(m in v for v in table.values())]
    lines = ["# Text search against ASReview (issues 22 and 36)", "",
             "Written by `python -m benchmarks.text_search` from `text_search.runs.jsonl`. Positives found after the 5 seeds "
             "(median of the paired runs), pages of 10; `described-0` and `random-0` start without seeds and count "
             "every positive they find.", ""]
    out = {"budgets": list(BUDGETS), "cells": {}, "against_asreview": {}}
    for b in BUDGETS:
        lines += [f"## {b} labels", "", "| corpus | target | left to find | " + " | ".join(methods) + " |",
                  "|---|---|---|" + "---|" * len(methods)]
        for (c, t) in sorted(table):
            meds = {m: float(np.median([r["found_at"][str(b)] for r in table[(c, t)][m]])) for m in methods
                    if m in table[(c, t)]}
            out["cells"].setdefault(f"{c}/{t}", {})[str(b)] = meds
            lines.append(f"| {c} | {t} | {totals[(c, t)]} | " + " | ".join(
                f"{meds[m]:g}" if m in meds else "" for m in methods) + " |")
        lines.append("")
    for method, ref, title in (("default", "asreview", "The default against ASReview"),
                               ("described", "asreview", "The default with the description against ASReview"),
                               ("described", "default", "The description's own effect: with it against without it"),
                               ("described-0", "random-0", "No seeds: the description against a random start")):
        lines += against(table, totals, out, method, ref, title)
    secs = {m: float(np.median([r["seconds"] for r in rows if r["method"] == m])) for m in methods}
    lines += ["", "Median seconds per run (1,000 labels; both methods featurise inside the run): "
              + ", ".join(f"{m} {s:.0f}" for m, s in secs.items()), ""]
    out["seconds"] = secs
    return "\n".join(lines), out


def against(table, totals, out, method, ref, title) -> list[str]:
    """Per corpus and budget, ``method`` against ``ref``: per class the ratio of the medians
    over paired runs, the median and worst class; a class where ``ref`` finds 90 % of what
    the budget allows is saturated (marked *). Adds ``out[f"{method}/{ref}"]``."""
    corpora = sorted({c for (c, t) in table if method in table[(c, t)] and ref in table[(c, t)]})
    if not corpora:
        return []
    lines = [f"## {title}", "",
             f"Per class, the ratio of the medians over paired runs ({method} / {ref}); a cell where {ref} finds "
             f"{SATURATED:.0%} or more of what the budget allows (min(budget, positives left)) is saturated "
             "and marked *. Median: over all classes; unsaturated: the median over the unsaturated ones.", "",
             "| corpus | labels | median class | unsaturated | worst class | saturated classes | per class |",
             "|---|---|---|---|---|---|---|"]
    doc = out.setdefault(f"{method}/{ref}", {})
    if method == "default" and ref == "asreview":
        out["against_asreview"] = doc  # the name earlier results used
    for corpus in corpora:
        for b in BUDGETS:
            ratios, per = [], []
            for (c, t) in sorted(table):
                if c != corpus or method not in table[(c, t)] or ref not in table[(c, t)]:
                    continue
                m = out["cells"][f"{c}/{t}"][str(b)]
                extra = N_SEEDS if ref.endswith("-0") else 0  # without seeds, the seeds are among the finds
                saturated = m[ref] >= SATURATED * min(b, totals[(c, t)] + extra)
                ratio = m[method] / max(m[ref], 1.0)
                per.append(f"{t}: {ratio:.2f}{'*' if saturated else ''}")
                ratios.append((ratio, saturated))
            rs = [r for r, _ in ratios]
            unsat = [r for r, sat in ratios if not sat]
            doc[f"{corpus}/{b}"] = {"median": float(np.median(rs)), "worst": float(min(rs)), "unsaturated": unsat}
            lines.append(f"| {corpus} | {b} | {np.median(rs):.2f} | "
                         f"{f'{np.median(unsat):.2f}' if unsat else '-'} | {min(rs):.2f} | "
                         f"{len(rs) - len(unsat)} of {len(rs)} | " + ", ".join(per) + " |")
    return lines + [""]


def main() -> None:
    p = arguments(__doc__.split("\n")[0], METHODS)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    if not args.summarize:
        run(args)
    write_results("text_search", *summarize(load_runs()))


if __name__ == "__main__":
    main()
