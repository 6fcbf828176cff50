"""Does USL-T cover more classes than USL and random at equal budgets? (issue 25, seed 003)

Seed 003 claims that USL-T's picks, one per cluster learnt without labels, cover the
classes better than USL's and random ones. Here the four cold starts pick ``budget``
items from a pool with no label at all, and the picks are scored by the pool's classes:

* ``usl-t``: :class:`elsa.samplers.USLT` (a head trained on the embeddings);
* ``usl``: :class:`elsa.samplers.USL` (the training-free variant);
* ``random``: uniform without replacement;
* ``k-means++``: scikit-learn's ``kmeans_plusplus`` seeding on the same features the
  two USLs cluster (the first 64 principal components of the L2-normalised rows), a
  baseline here, not a strategy.

Pools, per feature space (``fm-encoder``: Fashion-MNIST's 70,000 images through the
built-in encoder; ``digits``: scikit-learn's 1,797; any of ``feature_spaces.py``'s dense
spaces with ``--spaces``):

* ``balanced``: the whole space; reported: classes covered (of 10) at each budget.
* ``long-tailed``: class ``c`` kept at ``100 ** (-rank(c) / 9)`` of its size (imbalance
  ratio 100, as CIFAR-10-LT), the ranks a random permutation per seed, so each seed makes
  other classes rare (the rarest class is 0.4 % of the pool). Reported: classes covered,
  and the positives found for the rarest class and the three rarest.

Every method gets the same seeds (paired): seed ``s`` builds the long-tailed pool and
is each sampler's random state. Cells are medians over seeds, with the worst seed.

    python -m benchmarks.usl_t                       # the committed results (about 15 minutes)
    python -m benchmarks.usl_t --spaces digits --seeds 5

Writes ``benchmarks/results/usl_t.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .harness import ROOT, write_results
from .pools import build_space, prefill_graph

RESULTS = ROOT / "benchmarks" / "results"
METHODS = ("usl-t", "usl", "random", "k-means++")
BUDGETS = (10, 20, 50, 100)
SPACES = ("fm-encoder", "digits")
IMBALANCE = 100.0


def long_tailed(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row ids of a long-tailed pool (sorted) and its classes from the most to the least common."""
    rng = np.random.default_rng(seed)
    classes = rng.permutation(np.unique(y[y >= 0]))
    keep = []
    for rank, c in enumerate(classes):
        members = np.flatnonzero(y == c)
        count = max(1, round(members.size * IMBALANCE ** (-rank / (classes.size - 1))))
        keep.append(rng.choice(members, count, replace=False))
    return np.sort(np.concatenate(keep)), classes


def picks(method: str, state, budget: int, seed: int) -> tuple[np.ndarray, float]:
    from sklearn.cluster import kmeans_plusplus

    from elsa.samplers import USL, USLT
    from elsa.samplers._geometry import pca_project

    t0 = time.perf_counter()
    if method == "random":
        ids = np.random.default_rng(seed).choice(state.n, budget, replace=False)
    elif method == "k-means++":
        P = pca_project(state.X, 64, np.random.default_rng(seed), unit=True)
        _, ids = kmeans_plusplus(P, budget, random_state=seed)
    else:
        sampler = USLT(m=budget) if method == "usl-t" else USL(m=budget)
        sampler.prepare(state, np.random.default_rng(seed))
        ids = sampler.select(state, np.random.default_rng(seed))[:budget]
    return np.asarray(ids), time.perf_counter() - t0


def make_state(X):
    from elsa.index import ExactIndex
    from elsa.state import SearchState

    return SearchState(X=X, index=ExactIndex(X), answers=np.zeros(X.shape[0], np.int8),
                       frontier=np.empty(0, np.int64), progress=False)


def run_pool(space: str, kind: str, seed: int, budgets) -> list[dict]:
    X, y = build_space(space)
    if kind == "balanced":
        keep, order = np.arange(X.shape[0]), None
    else:
        keep, order = long_tailed(y, seed)
    if space != "digits":
        prefill_graph(space, keep, 50)  # the neighbours USL-T trains on, cut from the cached exact lists
    Xp, yp = np.ascontiguousarray(X[keep]), y[keep]
    state = make_state(Xp)
    rows = []
    for budget in budgets:
        for method in METHODS:
            ids, seconds = picks(method, state, budget, seed)
            got = yp[ids]
            row = dict(space=space, pool=kind, seed=seed, budget=budget, method=method, n=int(keep.size),
                       labels=int(ids.size), covered=int(np.unique(got[got >= 0]).size), seconds=round(seconds, 2))
            if order is not None:
                row["rarest"] = int((got == order[-1]).sum())
                row["rarest3"] = int(np.isin(got, order[-3:]).sum())
                row["rarest_share"] = round(float((yp == order[-1]).mean()), 4)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    cells = {}
    for r in rows:
        cells.setdefault((r["space"], r["pool"], r["budget"], r["method"]), []).append(r)
    out = []
    for (space, pool, budget, method), rs in cells.items():
        cell = dict(space=space, pool=pool, budget=budget, method=method, seeds=len(rs),
                    covered_median=float(np.median([r["covered"] for r in rs])),
                    covered_worst=min(r["covered"] for r in rs),
                    seconds_median=float(np.median([r["seconds"] for r in rs])))
        if pool == "long-tailed":
            cell["rarest_median"] = float(np.median([r["rarest"] for r in rs]))
            cell["rarest_found_share"] = float(np.mean([r["rarest"] > 0 for r in rs]))
            cell["rarest3_median"] = float(np.median([r["rarest3"] for r in rs]))
        out.append(cell)
    return out


def markdown(summary: list[dict], meta: dict) -> str:
    lines = ["# USL-T against USL, random and k-means++ as a cold start (issue 25)", "",
             f"`python -m benchmarks.usl_t {meta['argv']}`; {meta['seeds']} paired seeds; no labels used by any "
             "method. Cells: median over seeds (worst seed in brackets).", ""]
    for space in dict.fromkeys(c["space"] for c in summary):
        for pool in ("balanced", "long-tailed"):
            cells = [c for c in summary if c["space"] == space and c["pool"] == pool]
            if not cells:
                continue
            budgets = sorted({c["budget"] for c in cells})
            get = {(c["budget"], c["method"]): c for c in cells}
            lines += [f"## {space}, {pool} pool", "",
                      "| method | " + " | ".join(f"classes @ {b}" for b in budgets)
                      + (" | " + " | ".join(f"rarest class @ {b} (runs finding it)" for b in budgets)
                         if pool == "long-tailed" else "") + " | seconds @ 100 |",
                      "|---|" + "---|" * (len(budgets) * (2 if pool == "long-tailed" else 1) + 1)]
            for method in METHODS:
                row = [f"{get[(b, method)]['covered_median']:g} ({get[(b, method)]['covered_worst']})" for b in budgets]
                if pool == "long-tailed":
                    row += [f"{get[(b, method)]['rarest_median']:g} ({get[(b, method)]['rarest_found_share']:.0%})"
                            for b in budgets]
                row.append(f"{get[(budgets[-1], method)]['seconds_median']:.1f}")
                lines.append(f"| {method} | " + " | ".join(row) + " |")
            lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spaces", nargs="+", default=list(SPACES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--out", default=str(RESULTS / "usl_t"))
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    rows = []
    t0 = time.time()
    for space in args.spaces:
        for kind in ("balanced", "long-tailed"):
            for seed in range(args.seeds):
                rows += run_pool(space, kind, seed, args.budgets)
    summary = summarise(rows)
    meta = dict(argv=" ".join(sys.argv[1:] if argv is None else argv), seeds=args.seeds, budgets=args.budgets,
                seconds=round(time.time() - t0, 1))
    write_results(args.out + ".json", dict(meta=meta, summary=summary, runs=rows), sys.argv[1:] if argv is None else argv)
    Path(args.out + ".md").write_text(markdown(summary, meta))
    print(markdown(summary, meta))


if __name__ == "__main__":
    main()
