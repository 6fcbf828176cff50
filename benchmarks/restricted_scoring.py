"""What restricting the head's scoring to labelled items' neighbourhoods saves, and what it costs.

``--score-neighbours K`` (SEALS-style, seed 004) scores only the union of the ``K``
nearest neighbours of every labelled item; the rest of the pool gets confidence -1.
It is an approximation, so this benchmark measures both sides in the same run:

* **Positives found** on Fashion-MNIST (70k, built-in encoder, 1280-d): each class in
  turn thinned to 1 % (636 positives), 5 seeds, ELSA for 10 epochs and its final search
  with a 2,000-label budget, with ``K`` = 0 (the whole pool, ELSA's default) and each
  ``K`` in ``--ks``; same seeds and random state for every ``K``.
* **Epoch time** on the 1M x 128 clustered pool of ``epoch_scaling.py`` (memory-mapped),
  on the exact index and on IVF-Flat, 6 epochs, median of epochs 2-6, by phase.

    python -m benchmarks.restricted_scoring
    python -m benchmarks.restricted_scoring --classes 0,1 --ks 100 --skip-scaling

Writes ``benchmarks/results/restricted_scoring.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from elsa.oracle import SimulatedOracle
from elsa.search import make_strategy
from elsa.simulation import draw_seeds, make_rare

from .harness import ROOT, command, write_results
from .pools import fashion_mnist_encoded, scaling_pool

RESULTS = ROOT / "benchmarks" / "results"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def found_on_fashion_mnist(classes, ks, budget: int, epochs: int) -> list[dict]:
    X, labels = fashion_mnist_encoded()
    rows = []
    for target in classes:
        rng = np.random.default_rng([target, 10_000])
        keep = make_rare(labels, target, 0.01, rng)
        Xk, truth = np.ascontiguousarray(X[keep]), labels[keep] == target
        seeds = draw_seeds(truth, 5, rng)
        row = {"class": target, "name": CLASS_NAMES[target], "positives": int(truth.sum()), "pool": int(truth.size)}
        for k in [0] + list(ks):
            t0 = time.perf_counter()
            result = make_strategy("elsa", epochs=epochs, budget=budget, score_neighbours=k).run(
                Xk, seeds, SimulatedOracle(truth), random_state=7)
            row[f"found_k{k}"] = int(truth[result.queried_ids].sum())
            row[f"seconds_k{k}"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        print(row, flush=True)
    return rows


def epoch_times(backends, ks, epochs: int) -> list[dict]:
    from elsa.index import make_index

    n = 1_000_000
    X, labels = scaling_pool(n)
    positives = np.flatnonzero(labels == 0)[: n // 1000]
    truth = np.zeros(n, bool)
    truth[positives] = True
    X[:].max()
    rows = []
    for backend in backends:
        index = make_index(X, backend)
        for k in [0] + list(ks):
            phases = []

            def record(rnd, state):
                if rnd.kind == "epoch":
                    phases.append(dict(rnd.seconds))

            result = make_strategy("elsa", epochs=epochs, score_neighbours=k).run(
                X, positives[:5], SimulatedOracle(truth), random_state=0, index=index, callback=record)
            names = ("nn", "rands", "head_fit", "head_neighbours", "head_score")
            med = {p: round(float(np.median([ph.get(p, 0.0) for ph in phases[1:]])), 3) for p in names}
            epoch = float(np.median([sum(ph.get(p, 0.0) for p in names) for ph in phases[1:]]))
            row = {"backend": backend, "k": k, "epoch_s": round(epoch, 3), "phases_s": med,
                   "found": int(truth[result.queried_ids].sum()), "labels": int(result.queries)}
            rows.append(row)
            print(row, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    ap.add_argument("--ks", default="30,100")
    ap.add_argument("--budget", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--skip-scaling", action="store_true")
    args = ap.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    fm = found_on_fashion_mnist([int(c) for c in args.classes.split(",")], ks, args.budget, args.epochs)
    scaling = [] if args.skip_scaling else epoch_times(("exact", "ivf"), ks, 6)
    doc = {"benchmark": "restricted_scoring",
           "command": command(),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           "fashion_mnist": fm, "epoch_1m": scaling}
    write_results(RESULTS / "restricted_scoring.json", doc)
    cols = [0] + ks
    lines = ["# Head scoring restricted to labelled items' neighbourhoods (`--score-neighbours K`)", "",
             f"`{doc['command'].strip()}` on {os.cpu_count()} cores. K = 0 scores the whole pool (the default).", "",
             f"## Positives found on Fashion-MNIST (class at 1 %, 5 seeds, {args.epochs} epochs + final search, "
             f"budget {args.budget})", "",
             "| class | positives | " + " | ".join(f"found, K={k}" for k in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for r in fm:
        lines.append(f"| {r['name']} | {r['positives']} | " + " | ".join(str(r[f"found_k{k}"]) for k in cols) + " |")
    totals = {k: sum(r[f"found_k{k}"] for r in fm) for k in cols}
    lines.append("| **total** | " + str(sum(r["positives"] for r in fm)) + " | "
                 + " | ".join(f"**{totals[k]}** ({totals[k] / totals[0]:.3f}x)" for k in cols) + " |")
    if scaling:
        lines += ["", "## Epoch time on 1M x 128 (median of epochs 2-6, seconds)", "",
                  "| backend | K | epoch | NN | RandS | head fit | neighbour search | head scoring | found / labels |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in scaling:
            p = r["phases_s"]
            lines.append(f"| {r['backend']} | {r['k']} | {r['epoch_s']} | {p['nn']} | {p['rands']} | {p['head_fit']} | "
                         f"{p['head_neighbours']} | {p['head_score']} | {r['found']} / {r['labels']} |")
    (RESULTS / "restricted_scoring.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
