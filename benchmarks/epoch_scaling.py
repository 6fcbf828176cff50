"""How an ELSA epoch grows with the pool: 100k to 10M vectors, read from disk, exact and IVF.

For each pool size (default 100k, 1M, 10M x 128 float32, clustered like embeddings) the
pool is written once to ``benchmarks/.cache/scaling/`` as a ``.npy`` and memory-mapped,
as ``elsa simulate`` reads it. The exact backend also runs on the same pool stored as
float16 (half the bytes; each block is converted to float32 as it is read, so the
search asks for the same items). faiss keeps its own float32 copy of the vectors, so
float16 saves nothing there and is not run with it. Each (size, backend) runs in its own process so its peak
memory (``ru_maxrss``) is its own. A rare class is planted (one cluster thinned to
0.1 %), ELSA runs ``--epochs`` epochs from 5 seeds, and the median epoch (epochs 2 on)
is split into its phases: NN search, RandS, head fit, head scoring.

Lower bounds, measured in the same process: the NN step and RandS's search each need
one pass of matrix products over the pool (``2 n d m`` flops at this machine's GEMM
rate) or one read of it at its memory rate, whichever is slower; scoring needs
``2 n d h`` flops for ``h`` hidden units. The epoch's bound is their sum (head fitting
on the few labelled items is not bounded by the pool).

    python -m benchmarks.epoch_scaling
    python -m benchmarks.epoch_scaling --sizes 100000,1000000 --backends exact --dtypes float32

Writes ``benchmarks/results/epoch_scaling.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import time

import numpy as np

from .harness import ROOT, command, python_m, write_results
from .pools import SCALING_D as D, pool_path, scaling_pool

RESULTS = ROOT / "benchmarks" / "results"
HIDDEN = 64
PHASES = ("nn", "rands", "head_fit", "head_score")


def one(n: int, backend: str, dtype: str, epochs: int) -> dict:
    """Run in a child process: one pool size, one backend, one dtype."""
    from elsa.index import make_index
    from elsa.oracle import SimulatedOracle
    from elsa.search import make_strategy

    X, labels = scaling_pool(n, dtype)
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4096, 4096)).astype(np.float32)
    A @ A
    t0 = time.perf_counter()
    A @ A
    gemm = 2 * 4096**3 / (time.perf_counter() - t0)
    head = X[: min(n, 1_000_000)].view(np.float32)  # the same bytes whatever the dtype: a read rate
    head.max()  # page the head of the pool in once
    t0 = time.perf_counter()
    head.max()
    read = min(n, 1_000_000) * D * X.itemsize / (time.perf_counter() - t0)
    positives = np.flatnonzero(labels == 0)[: max(10, n // 1000)]
    truth = np.zeros(n, bool)
    truth[positives] = True
    t0 = time.perf_counter()
    index = make_index(X, backend)
    build = time.perf_counter() - t0
    phases: list[dict] = []

    def record(rnd, state):
        if rnd.kind == "epoch":  # the phases; "head" is head_fit + head_score again
            phases.append({k: rnd.seconds.get(k, 0.0) for k in PHASES} | {"labels": int(state.queries)})

    make_strategy("elsa", epochs=epochs).run(X, positives[:5], SimulatedOracle(truth), random_state=0, index=index,
                                             callback=record)
    med = {k: float(np.median([p[k] for p in phases[1:]])) for k in PHASES}
    epoch = float(np.median([sum(p[k] for k in PHASES) for p in phases[1:]]))
    one_pass = max(2 * n * D * 50 / gemm, n * D * X.itemsize / read)
    knn_pass = max(2 * n * D * 100 / gemm, n * D * X.itemsize / read)
    score = 2 * n * D * HIDDEN / gemm
    return {"n": n, "backend": backend, "dtype": dtype, "build_s": round(build, 2), "epoch_s": round(epoch, 3),
            "phases_s": {k: round(v, 3) for k, v in med.items()},
            "lower_bound_s": round(one_pass + knn_pass + score, 3),
            "gemm_gflops": round(gemm / 1e9, 1), "read_gb_per_s": round(read / 1e9, 1),
            "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
            "pool_gb": round(n * D * X.itemsize / 2**30, 2), "labels_at_end": phases[-1]["labels"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--backends", default="exact,ivf")
    ap.add_argument("--dtypes", default="float32,float16", help="float16 runs with the exact backend only")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--make-pool", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_pool:
        n, dtype = args.make_pool.split(":")
        pool_path(int(n), dtype)
        return
    if args.child:
        n, backend, dtype = args.child.split(":")
        print(json.dumps(one(int(n), backend, dtype, args.epochs)))
        return
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        runs = [(b, t) for b in args.backends.split(",") for t in args.dtypes.split(",")
                if t == "float32" or b == "exact"]
        for backend, dtype in runs:
            # Written by a child: a process's peak RSS passes to the children it starts,
            # so the pages written here would count against every later measurement.
            subprocess.run(python_m("benchmarks.epoch_scaling", "--make-pool", f"{n}:{dtype}"), check=True, cwd=ROOT)
            out = subprocess.run(python_m("benchmarks.epoch_scaling", "--child", f"{n}:{backend}:{dtype}", "--epochs",
                                          str(args.epochs)), capture_output=True, text=True, check=True, cwd=ROOT)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(row, flush=True)
    doc = {"benchmark": "epoch_scaling", "command": command(),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           "rows": rows}
    write_results(RESULTS / "epoch_scaling.json", doc)
    lines = ["# ELSA epoch time against pool size (x 128, memory-mapped from disk)", "",
             f"`{doc['command'].strip()}` on {os.cpu_count()} cores; median of epochs 2-{args.epochs}; each row in its "
             "own process. Lower bound: one pass of matrix products (or one read) for the NN step and for RandS's "
             f"search, plus scoring through {HIDDEN} hidden units, at the GEMM and read rates measured in that process. "
             "On the exact index the NN step is answered in the head's scoring pass (one read for both; "
             "`fused_pass.md`), so its time is in head_score and nn is near 0.",
             "", "| pool | backend | dtype | build s | epoch s | lower bound s | ratio | phases (s) | peak RSS GB | pool GB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        phases = ", ".join(f"{k} {v}" for k, v in r["phases_s"].items())
        lines.append(f"| {r['n']:,} | {r['backend']} | {r['dtype']} | {r['build_s']} | {r['epoch_s']} | {r['lower_bound_s']} | "
                     f"{r['epoch_s'] / r['lower_bound_s']:.1f}x | {phases} | {r['peak_rss_gb']} | {r['pool_gb']} |")
    (RESULTS / "epoch_scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
