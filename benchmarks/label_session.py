"""How long a person waits on ELSA in a labelling session, and what an answer costs.

A simulated person answers every item of each batch from ground truth through the same
:class:`elsa.session.Session` API the web app calls, with the search running in its
background thread as under ``elsa label``. Measured per round: the wait between the
last answer of a batch and the next batch being ready (the only time a person can be
kept waiting), and the latency of every ``answer`` call (one SQLite transaction with an
fsync). Pools:

* ``demo``: the session ``elsa label`` opens with no arguments: the built-in
  Fashion-MNIST test split, T-shirt/top thinned to 1 % (91 of 9,091), 5 seeds,
  built-in encoder (1280-d), ELSA with the paper's settings, 10 epochs + final search.
* ``fashion-mnist-70k``: all 70,000 Fashion-MNIST images (Debian's
  ``dataset-fashion-mnist``), class 0 thinned to 1 % (636 of 63,636), same settings.

    python -m benchmarks.label_session

Writes ``benchmarks/results/label_session.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from elsa.datasets import load_fashion_mnist
from elsa.session import Session
from elsa.session.demo import open_demo_session
from elsa.simulation import draw_seeds, make_rare

from .harness import ROOT, write_results
from .pools import fashion_mnist_encoded

RESULTS = ROOT / "benchmarks" / "results"


def person(session: Session, truth: np.ndarray) -> dict:
    session.start_background()
    waits, latencies, sizes = [], [], []
    while True:
        t0 = time.perf_counter()
        batch = session.next_batch()
        waits.append(time.perf_counter() - t0)
        if not len(batch):
            break
        sizes.append(len(batch))
        for i in batch.ids:
            t = time.perf_counter()
            session.answer(i, bool(truth[i]))
            latencies.append(time.perf_counter() - t)
    p = session.progress()
    rounds = session.store.query("SELECT kind, seconds FROM rounds ORDER BY round")
    compute = [sum(json.loads(s).values()) for _, s in rounds]
    lat = np.array(latencies) * 1000
    return {
        "rounds": len(sizes),
        "batch_sizes": sizes,
        "labels": p.labels,
        "found": p.found,
        "wait_s": {"median": round(float(np.median(waits[1:])), 3), "max": round(float(np.max(waits[1:])), 3),
                   "first": round(waits[0], 3), "all": [round(w, 3) for w in waits]},
        "round_compute_s": [round(c, 3) for c in compute],
        "answer_ms": {"p50": round(float(np.percentile(lat, 50)), 2), "p99": round(float(np.percentile(lat, 99)), 2),
                      "max": round(float(lat.max()), 2)},
        "stop": session.settings["stop_reason"],
    }


def demo_pool(tmp: Path) -> tuple[Session, np.ndarray]:
    session = open_demo_session(tmp / "demo", progress=False, log=lambda m: None)
    _, labels = load_fashion_mnist("test")
    rows = np.array([int(n.rsplit("/", 1)[1]) for n in session.names])
    return session, labels[rows] == 0


def full_pool(tmp: Path) -> tuple[Session, np.ndarray]:
    X, labels = fashion_mnist_encoded()  # train then test, as load_fashion_mnist("all") reads them
    rng = np.random.default_rng(0)
    keep = make_rare(labels, 0, 0.01, rng)
    truth = labels[keep] == 0
    np.save(tmp / "fm70k.npy", X[keep])
    seeds = draw_seeds(truth, 5, rng)
    return Session.create(tmp / "fm70k", tmp / "fm70k.npy", target="T-shirt/top", seeds=seeds), truth


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in [("demo", demo_pool), ("fashion-mnist-70k", full_pool)]:
            session, truth = make(Path(tmp))
            with session:
                runs[name] = {"pool": list(session.X.shape), "positives": int(truth.sum()), **person(session, truth)}
            print(name, {k: v for k, v in runs[name].items() if k not in ("batch_sizes", "round_compute_s")})
    doc = {
        "benchmark": "label_session",
        "command": "python -m benchmarks.label_session",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "runs": runs,
    }
    write_results(RESULTS / "label_session.json", doc)
    lines = [
        "# Waiting on ELSA in a labelling session",
        "",
        f"`{doc['command']}` on {os.cpu_count()} cores. A simulated person answers every item of each batch "
        "through the Session API with the search in its background thread. *Wait*: from the last answer of a "
        "batch to the next batch being ready (the first batch excluded: it is computed when the session opens).",
        "",
        "| pool | rounds | labels | found / positives | wait median s | wait max s | first batch s | "
        "answer p50 ms | answer p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        lines.append(
            f"| {name} ({r['pool'][0]:,} x {r['pool'][1]}) | {r['rounds']} | {r['labels']} | "
            f"{r['found']} / {r['positives'] - 5} | {r['wait_s']['median']} | {r['wait_s']['max']} | "
            f"{r['wait_s']['first']} | {r['answer_ms']['p50']} | {r['answer_ms']['p99']} |"
        )
    (RESULTS / "label_session.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
