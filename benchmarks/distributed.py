"""The distributed backend's overhead: Ray actors holding shards against one process, same data.

On a pool of ``--n`` x 128 float32 (clustered like embeddings, memory-mapped from
``benchmarks/.cache/scaling/``, the pool ``epoch_scaling.py`` writes) this measures, in
one run on this machine:

* each ELSA call (NN ``search_set`` for 50 frontier positives, RandS's ``search`` of 50
  queries x 10, the head's scoring through ``map``) on the exact index in this process
  (two BLAS threads) and on ``RayIndex`` with 1 and 2 shards (one CPU each), medians of
  ``--repeats``; and a shard's own rate (rows per second per call) for the design note;
* the Ray round trip of an empty call (the engine's fixed cost per call);
* whole ELSA runs of ``--epochs`` epochs on both, with their median epoch time, and
  whether their discovery curves are identical (they must be);
* ``elsa embed`` of ``--images`` generated 64 px images, locally and with
  ``--engine ray`` (tasks of 256 images).

    python -m benchmarks.distributed
    python -m benchmarks.distributed --n 100000 --images 500

Writes ``benchmarks/results/distributed.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from .harness import ROOT, command, timed, write_results
from .pools import scaling_pool

RESULTS = ROOT / "benchmarks" / "results"


def calls(index, X, head, repeats: int, rng) -> dict:
    labelled = np.zeros(X.shape[0], bool)
    labelled[rng.choice(X.shape[0], 5000, replace=False)] = True
    frontier = rng.choice(np.flatnonzero(~labelled), 50, replace=False)
    drawn = rng.choice(np.flatnonzero(~labelled), 50, replace=False)
    Qf, Qd = np.asarray(X[frontier]), np.asarray(X[drawn])
    return {
        "nn_search_set": timed(lambda: index.search_set(Qf, 50, exclude=labelled), repeats=repeats).median,
        "rands_search": timed(lambda: index.search(Qd, 10, exclude=labelled, query_ids=drawn), repeats=repeats).median,
        "head_score": timed(lambda: index.map(head.confidence), repeats=repeats).median,
    }


def elsa_run(X, labels, index, epochs: int) -> tuple[float, list]:
    from elsa.oracle import SimulatedOracle
    from elsa.search import make_strategy

    positives = np.flatnonzero(labels == 0)[: max(10, X.shape[0] // 1000)]
    truth = np.zeros(X.shape[0], bool)
    truth[positives] = True
    epochs_s: list[float] = []

    def record(rnd, state):
        if rnd.kind == "epoch":
            epochs_s.append(sum(v for k, v in rnd.seconds.items() if k in ("nn", "rands", "head_fit", "head_score")))

    result = make_strategy("elsa", epochs=epochs).run(X, positives[:5], SimulatedOracle(truth), random_state=0,
                                                      index=index, callback=record)
    return float(np.median(epochs_s[1:])), result.curve(truth)


def embed_rates(images: int) -> dict:
    from PIL import Image

    from elsa.embeddings import embed_folder

    root = Path(tempfile.mkdtemp(prefix="elsa-bench-imgs-"))
    try:
        rng = np.random.default_rng(0)
        for i in range(images):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(root / f"{i:05d}.png")
        out = {}
        for engine, options in [("local", None), ("ray", {"task_size": 256})]:
            t0 = time.perf_counter()
            emb = embed_folder(root, progress=False, use_cache=False, engine=engine, engine_options=options)
            seconds = time.perf_counter() - t0
            out[engine] = {"seconds": round(seconds, 2), "images_per_s": round(images / seconds, 1)}
            out.setdefault("vectors", []).append(emb.vectors)
        a, b = out.pop("vectors")
        out["max_abs_difference"] = float(np.abs(a - b).max())
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--images", type=int, default=2000)
    args = ap.parse_args()

    from elsa.head.mlp import MLPHead
    from elsa.index import ExactIndex
    from elsa.index.ray_backend import RayIndex, connect

    X, labels = scaling_pool(args.n)
    rng = np.random.default_rng(0)
    head = MLPHead().prepare(X)
    sample = rng.choice(args.n, 2000, replace=False)
    head.fit(np.asarray(X[np.sort(sample)]), labels[np.sort(sample)] < 100, random_state=0)
    X[:].max()  # page the pool in once

    t0 = time.perf_counter()
    ray = connect(num_cpus=os.cpu_count())
    startup = time.perf_counter() - t0
    rows = []
    exact = ExactIndex(X)
    rows.append({"backend": "exact, 1 process", "shards": 1, "build_s": 0.0,
                 **{k: round(v, 4) for k, v in calls(exact, X, head, args.repeats, np.random.default_rng(1)).items()}})
    shard_rates = {}
    for shards in (1, 2):
        t0 = time.perf_counter()
        idx = RayIndex(X, shards=shards)
        build = time.perf_counter() - t0
        seconds = calls(idx, X, head, args.repeats, np.random.default_rng(1))
        rows.append({"backend": f"ray, {shards} actor(s)", "shards": shards, "build_s": round(build, 2),
                     **{k: round(v, 4) for k, v in seconds.items()}})
        if shards == 1:
            shard_rates = {k: round(args.n / v) for k, v in seconds.items()}  # rows per second per shard
        idx.close()

    @ray.remote(num_cpus=0)
    def nothing(x):
        return x

    roundtrip = timed(lambda: ray.get(nothing.remote(None)), repeats=50).median

    idx = RayIndex(X, shards=2)
    exact_epoch, exact_curve = elsa_run(X, labels, exact, args.epochs)
    ray_epoch, ray_curve = elsa_run(X, labels, idx, args.epochs)
    idx.close()
    embedding = embed_rates(args.images) if args.images else None
    ray.shutdown()

    doc = {"benchmark": "distributed", "command": command(),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                       "ray": ray.__version__},
           "n": args.n, "dim": int(X.shape[1]), "ray_startup_s": round(startup, 2),
           "ray_empty_call_ms": round(roundtrip * 1000, 2), "calls": rows, "shard_rows_per_s": shard_rates,
           "elsa_epoch_s": {"exact": round(exact_epoch, 3), "ray_2_shards": round(ray_epoch, 3)},
           "curves_identical": exact_curve == ray_curve, "curve": exact_curve, "embedding": embedding}
    write_results(RESULTS / "distributed.json", doc)
    lines = [f"# The Ray backend against one process ({args.n:,} x {X.shape[1]}, memory-mapped)", "",
             f"`{doc['command'].strip()}` on {os.cpu_count()} cores, Ray {ray.__version__}, a local cluster on the "
             f"same machine. Medians of {args.repeats}. Ray started in {doc['ray_startup_s']} s; an empty remote "
             f"call takes {doc['ray_empty_call_ms']} ms.", "",
             "| backend | start actors s | NN search_set s | RandS search s | head scoring s |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['build_s']} | {r['nn_search_set']} | {r['rands_search']} | "
                     f"{r['head_score']} |")
    e = doc["elsa_epoch_s"]
    lines += ["", f"A whole ELSA epoch (median of epochs 2-{args.epochs}): {e['exact']} s in one process, "
              f"{e['ray_2_shards']} s on 2 Ray actors ({e['ray_2_shards'] / e['exact']:.2f}x). Discovery curves "
              f"identical: {doc['curves_identical']}.", "",
              "One shard's rate (1 actor, 1 CPU), rows per second per call: "
              + ", ".join(f"{k} {v:,}" for k, v in shard_rates.items()) + "."]
    if embedding:
        lines += ["", f"Embedding {args.images} generated 64 px PNGs with the built-in encoder: "
                  f"{embedding['local']['images_per_s']} images/s locally, {embedding['ray']['images_per_s']} with "
                  f"--engine ray (largest difference between the vectors {embedding['max_abs_difference']:.1e})."]
    (RESULTS / "distributed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
