"""What the default's check costs in labels: a ranking that knows nothing, added to the portfolio.

The default (:mod:`elsa.samplers.portfolio`) shares each page between rankings by their
record on their own proposals, so a ranking that finds nothing keeps getting a slot now
and then while its record is too short, or too old, to rule it out. To measure that
cost, a *decoy* is added: a ranking that orders the unlabelled items at random (it
knows nothing of the target). The decoy's labels are the check's cost for one useless
ranking; the positives found with and without it, on the same seeds, are what that
cost does to the search.

Also reported:

* from ``search_quality.runs.jsonl`` (the full benchmark's runs of the default), the
  share of each space's labels that went to each ranking, which shows the default
  leaning on the k-NN model where the linear heads fail;
* why ``blend`` (the rank average, the default before) fails where its head does: in
  its runs on the spectral features' two worst classes, at 200, 500 and 800 labels,
  how many unlabelled items have a k-NN probability above the prior (a positive among
  their neighbours: the *band*), what share of the page comes from the band, and the
  rank correlation (Spearman) within the band of the rank average with the head's rank
  and with the k-NN model's.

    python -m benchmarks.portfolio_check                    # about 20 minutes on 2 cores
    python -m benchmarks.portfolio_check --summarize

Writes ``benchmarks/results/portfolio_check.{json,md}``.
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

from .harness import write_results
from .pools import build_space, space_pool

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = RESULTS / "portfolio_check.runs.jsonl"
CASES = {"fm-encoder": (0, 4, 6), "fm-spectral": (0, 4, 6), "text-docstrings": (0, 1, 6)}
BUDGETS = (100, 250, 500, 1000)
BAND_CASES = {"fm-spectral": (4, 6)}
BAND_AT = (200, 500, 800)
BANDS = RESULTS / "portfolio_check.band.jsonl"



def decoy_portfolio(**params):
    from elsa.samplers import PortfolioSampler

    class WithDecoy(PortfolioSampler):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.parts = self.parts + ("decoy",)

        def top_lists(self, state, rng):
            out = super().top_lists(state, rng)
            unlabelled = np.flatnonzero(~state.labelled)
            out["decoy"] = rng.choice(unlabelled, min(self.batch_size, unlabelled.size), replace=False)
            return out

    return WithDecoy(**params)


def paired_runs(cell: dict):
    """The class's pool at 1 %, and for each run its index, seeds and search random state: those of
    ``search_quality.py``'s runs (5 seeds drawn as ``simulate`` draws them)."""
    from elsa.simulation import draw_seeds

    c = cell["cls"]
    Xc, yc, _ = space_pool(cell["space"], c, 0.01)
    truth = yc == c
    for r, child in enumerate(np.random.SeedSequence(1000 + c).spawn(cell["runs"])):
        seed_rng, search_rng, _, _ = (np.random.default_rng(s) for s in child.spawn(4))
        yield r, Xc, truth, draw_seeds(truth, 5, seed_rng), search_rng


def run_cell(cell: dict) -> list[dict]:
    from elsa.oracle import SimulatedOracle
    from elsa.samplers import PortfolioSampler
    from elsa.search import ActiveSearch
    from elsa.simulation import _totals

    c = cell["cls"]
    rows = []
    for r, Xc, truth, seeds, search_rng in paired_runs(cell):
        sampler = decoy_portfolio() if cell["variant"] == "decoy" else PortfolioSampler()
        t0 = time.perf_counter()
        result = ActiveSearch(explore=sampler, epochs=None, budget=max(BUDGETS)).run(
            Xc, seeds, SimulatedOracle(truth), random_state=search_rng, progress=False)
        hits = np.cumsum(truth[result.queried_ids])
        owners = np.concatenate([[o for o, n in rnd.sources.items() for _ in range(n)] for rnd in result.rounds])
        rows.append({"space": cell["space"], "cls": c, "variant": cell["variant"], "run": r,
                     "found_at": {str(b): int(hits[b - 1]) for b in BUDGETS},
                     "decoy_at": {str(b): int((owners[:b] == "portfolio/decoy").sum()) for b in BUDGETS},
                     "sources": _totals(result.rounds, "sources"), "seconds": time.perf_counter() - t0})
    print(cell, [row["found_at"]["1000"] for row in rows], flush=True)
    return rows


def band_cell(cell: dict) -> list[dict]:
    """``blend``'s runs on one class, and at a few label counts the band statistics."""
    from scipy.stats import spearmanr

    from elsa.oracle import SimulatedOracle
    from elsa.samplers import BlendSampler
    from elsa.samplers._ranks import percentile_ranks, ranks_with_common_value
    from elsa.search import ActiveSearch

    c = cell["cls"]
    rows = []
    for r, Xc, truth, seeds, search_rng in paired_runs(cell):
        sampler = BlendSampler()
        select = sampler.select

        def spy(state, rng, select=select, sampler=sampler):
            page = select(state, rng)
            if state.queries in BAND_AT:
                model, unlabelled = sampler._model, np.flatnonzero(~state.labelled)
                p = model.probabilities(unlabelled)
                band = p > sampler.gamma
                z = np.asarray(state.index.score(sampler._head.decision_function))[unlabelled].astype(np.float64)
                rank_p = ranks_with_common_value(p, ~model.labels_near(unlabelled), sampler.gamma)
                rank_z = percentile_ranks(z)
                total = rank_p + rank_z
                rows.append({"space": cell["space"], "cls": c, "run": r, "labels": int(state.queries),
                             "band": int(band.sum()), "page_in_band": float(np.isin(page, unlabelled[band]).mean()),
                             "rho_head": float(spearmanr(total[band], rank_z[band]).correlation),
                             "rho_knn": float(spearmanr(total[band], rank_p[band]).correlation)})
            return page

        sampler.select = spy
        ActiveSearch(explore=sampler, epochs=None, budget=max(BAND_AT) + 10).run(
            Xc, seeds, SimulatedOracle(truth), random_state=search_rng, progress=False)
    return rows


def _init():
    os.environ["ELSA_THREADS"] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def run(args) -> None:
    done = {(r["space"], r["cls"], r["variant"]) for r in load(RUNS)}
    todo = [dict(space=s, cls=c, variant=v, runs=args.runs) for s, classes in CASES.items() for c in classes
            for v in ("plain", "decoy") if (s, c, v) not in done]
    for s in CASES:
        build_space(s)
    bands = [] if BANDS.exists() else [dict(space=s, cls=c, runs=args.runs) for s, cl in BAND_CASES.items() for c in cl]
    with ProcessPoolExecutor(args.workers, initializer=_init) as pool:
        futures = {pool.submit(run_cell, c): RUNS for c in todo}
        futures.update({pool.submit(band_cell, c): BANDS for c in bands})
        for f in as_completed(futures):
            with futures[f].open("a") as fh:
                for row in f.result():
                    fh.write(json.dumps(row) + "\n")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def summarize() -> tuple[str, dict]:
    rows = load(RUNS)
    lines = ["# What the default's check costs in labels", "",
             f"Generated by `python -m benchmarks.portfolio_check` ({len(rows)} runs, {platform.machine()}). A decoy "
             "ranking (the unlabelled items in random order) is added to the default's first three (measured before head:1 was added, discount 0.9); 5 seeds, 1 % rarity, "
             "the seeds of `search_quality.py`'s runs. Labels given to the decoy, and positives found with and "
             "without it, per class (medians over runs; the ratio is paired).", "",
             "| space | class | decoy's labels within " + " / ".join(map(str, BUDGETS)) + " | found without decoy | "
             "with | ratio at " + " / ".join(map(str, BUDGETS)) + " |", "|---|---|---|---|---|---|"]
    doc: dict = {"decoy": []}
    for space, classes in CASES.items():
        for c in classes:
            plain = {r["run"]: r for r in rows if (r["space"], r["cls"], r["variant"]) == (space, c, "plain")}
            decoy = {r["run"]: r for r in rows if (r["space"], r["cls"], r["variant"]) == (space, c, "decoy")}
            runs = sorted(set(plain) & set(decoy))
            if not runs:
                continue
            spent = [np.median([decoy[i]["decoy_at"][str(b)] for i in runs]) for b in BUDGETS]
            f0 = [np.median([plain[i]["found_at"][str(b)] for i in runs]) for b in BUDGETS]
            f1 = [np.median([decoy[i]["found_at"][str(b)] for i in runs]) for b in BUDGETS]
            ratio = [b_ / max(a, 1e-9) for a, b_ in zip(f0, f1)]
            doc["decoy"].append({"space": space, "cls": c, "runs": len(runs), "decoy_labels": spent,
                                 "found_plain": f0, "found_decoy": f1, "ratio": ratio})
            lines.append(f"| {space} | {c} | {' / '.join(f'{v:.0f}' for v in spent)} | "
                         f"{' / '.join(f'{v:.0f}' for v in f0)} | {' / '.join(f'{v:.0f}' for v in f1)} | "
                         f"{' / '.join(f'{v:.2f}' for v in ratio)} |")
    if doc["decoy"]:
        at = {b: [d["decoy_labels"][i] / b for d in doc["decoy"]] for i, b in enumerate(BUDGETS)}
        lines += ["", "Share of labels the decoy got, median (max) over the cases: " + ", ".join(
            f"{np.median(v):.1%} ({max(v):.1%}) within {b}" for b, v in at.items()) + "."]
    band = load(BANDS)
    if band:
        doc["band"] = band
        lines += ["", "## Why the rank average follows its head", "",
                  "`blend`'s runs on the spectral features' classes 4 and 6 (5 seeds, 1 %): at each label count, the "
                  "unlabelled items with a k-NN probability above the prior (the band), the share of the page from "
                  "the band, and the rank correlation within the band of the rank average with the head's rank and "
                  "with the k-NN model's (median over runs).", "",
                  "| class | labels | band items | page from the band | with the head | with the k-NN model |",
                  "|---|---|---|---|---|---|"]
        for c in sorted({r["cls"] for r in band}):
            for at in BAND_AT:
                sel = [r for r in band if r["cls"] == c and r["labels"] == at]
                if sel:
                    med = {k: float(np.median([r[k] for r in sel])) for k in ("band", "page_in_band", "rho_head",
                                                                                "rho_knn")}
                    lines.append(f"| {c} | {at} | {med['band']:.0f} | {med['page_in_band']:.0%} | "
                                 f"{med['rho_head']:.3f} | {med['rho_knn']:.2f} |")
    from elsa.samplers import PortfolioSampler

    parts = PortfolioSampler().parts + ("random",)  # the default's rankings, and its first random page
    lines += ["", "## Where the default's labels went in the full benchmark", "",
              "From `search_quality.runs.jsonl` (the default's runs at 2,000 labels, 5 seeds, 1 %): each ranking's "
              "share of the labels, median over the space's classes, and the class that gave the k-NN model the "
              "largest share.", "", "| space | runs | " + " | ".join(parts) + " | most knn |",
              "|---|---|" + "---|" * (len(parts) + 1)]
    doc["shares"] = {}
    main = [r for r in load(RESULTS / "search_quality.runs.jsonl")
            if r["strategy"] == "default" and r.get("sources") and r["rarity"] == 0.01 and r["n_seeds"] == 5]
    for space in dict.fromkeys(r["space"] for r in main):
        mine = [r for r in main if r["space"] == space]
        share = {}
        for part in parts:
            per_class = {}
            for r in mine:
                per_class.setdefault(r["cls"], []).append(r["sources"].get(f"portfolio/{part}", 0) / r["labels"])
            share[part] = {c: float(np.median(v)) for c, v in per_class.items()}
        top = max(share["knn"], key=share["knn"].get)
        doc["shares"][space] = share
        lines.append(f"| {space} | {len(mine)} | " + " | ".join(
            f"{np.median(list(share[p].values())):.0%}" for p in parts)
            + f" | class {top}: {share['knn'][top]:.0%} |")
    return "\n".join(lines) + "\n", doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args()
    if not args.summarize:
        RESULTS.mkdir(parents=True, exist_ok=True)
        run(args)
    md, doc = summarize()
    (RESULTS / "portfolio_check.md").write_text(md)
    write_results(RESULTS / "portfolio_check.json", doc)
    print(md)


if __name__ == "__main__":
    sys.exit(main())
