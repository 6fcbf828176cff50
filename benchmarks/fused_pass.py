"""One read of the pool for the head's scoring and the next NN step, against two.

An ELSA epoch reads the whole pool for three passes: the NN step's distance-to-set
search, RandS's neighbour search, and the head's scoring. The NN step needs only the
answers of the last oracle call, as the scoring does, so the exact index answers both
in one read (``ExactIndex.score_and_search_set``); RandS's queries depend on the fresh
scores, so it needs a read of its own: two reads per epoch instead of three.

Each variant runs ELSA on the ``epoch_scaling`` pools (memory-mapped ``.npy``, 128-d,
float32), each row in its own process:

* ``fused``: as shipped; ``separate``: the same run with the two passes made one after
  the other (the base ``Index.score_and_search_set``); the asked items are identical.
* ``warm``: the pool stays in the page cache; ``cold``: before every pass over the pool
  its pages are unmapped (``madvise(DONTNEED)``) and dropped from the page cache
  (``posix_fadvise(DONTNEED)``), as when the pool is larger than the memory that could
  cache it, so every pass reads it from disk.

Reported: the median epoch (epochs 2 on) and the bytes the process read from storage
per epoch (``/proc/self/io``, ``read_bytes``), in the same run.

    python -m benchmarks.fused_pass
    python -m benchmarks.fused_pass --sizes 1000000 --epochs 4

Writes ``benchmarks/results/fused_pass.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import platform
import subprocess
import time

import numpy as np

from .harness import ROOT, command, python_m, write_results
from .pools import pool_path, scaling_pool

RESULTS = ROOT / "benchmarks" / "results"
PASSES = ("search", "search_set", "score", "score_and_search_set")


def read_bytes() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("read_bytes:"))


def one(n: int, variant: str, cache: str, epochs: int) -> dict:
    from elsa.index import ExactIndex
    from elsa.index.base import Index
    from elsa.oracle import SimulatedOracle
    from elsa.search import make_strategy

    path = pool_path(n)
    X, labels = scaling_pool(n)
    if variant == "separate":
        ExactIndex.score_and_search_set = Index.score_and_search_set
    fd = os.open(path, os.O_RDONLY)
    if cache == "cold":
        for name in PASSES:
            real = getattr(ExactIndex, name)

            def evicting(self, *args, _real=real, **kwargs):
                X._mmap.madvise(mmap.MADV_DONTNEED)  # unmap this process's pages (mapped ones stay cached) ...
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # ... then drop them from the page cache
                return _real(self, *args, **kwargs)

            setattr(ExactIndex, name, evicting)
    positives = np.flatnonzero(labels == 0)[: max(10, n // 1000)]
    truth = np.zeros(n, bool)
    truth[positives] = True
    index = ExactIndex(X)
    marks = [(time.perf_counter(), read_bytes())]

    def record(rnd, state):
        if rnd.kind == "epoch":
            marks.append((time.perf_counter(), read_bytes()))

    result = make_strategy("elsa", epochs=epochs).run(X, positives[:5], SimulatedOracle(truth), random_state=0,
                                                      index=index, callback=record)
    os.close(fd)
    seconds = np.diff([m[0] for m in marks])[1:]
    read = np.diff([m[1] for m in marks])[1:]
    return {"n": n, "variant": variant, "cache": cache, "epoch_s": round(float(np.median(seconds)), 3),
            "read_gb_per_epoch": round(float(np.median(read)) / 1e9, 2), "pool_gb": round(X.nbytes / 1e9, 2),
            "asked": int(result.queried_ids.size), "asked_digest": int(np.bitwise_xor.reduce(result.queried_ids * 2654435761 % 2**31))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n, variant, cache = args.child.split(":")
        print(json.dumps(one(int(n), variant, cache, args.epochs)))
        return
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        subprocess.run(python_m("benchmarks.epoch_scaling", "--make-pool", f"{n}:float32"), check=True, cwd=ROOT)
        for cache in ("warm", "cold"):
            for variant in ("separate", "fused"):
                out = subprocess.run(python_m("benchmarks.fused_pass", "--child", f"{n}:{variant}:{cache}", "--epochs",
                                              str(args.epochs)), capture_output=True, text=True, check=True, cwd=ROOT)
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(rows[-1], flush=True)
    doc = {"benchmark": "fused_pass", "command": command(),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           "rows": rows}
    write_results(RESULTS / "fused_pass.json", doc)
    lines = ["# One read for scoring and the NN step, against two (ELSA, exact index, x 128 float32)", "",
             f"`{doc['command'].strip()}` on {os.cpu_count()} cores; median of epochs 2-{args.epochs}, each row in its own "
             "process. cold: the pool's pages dropped from the page cache before every pass (a pool larger than "
             "memory). Same asked items in both variants (`asked`, digest).", "",
             "| pool | cache | separate: epoch s | fused: epoch s | ratio | separate: GB read / epoch | fused: GB read / epoch | pool GB | same items |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i in range(0, len(rows), 2):
        a, b = rows[i], rows[i + 1]
        same = a["asked"] == b["asked"] and a["asked_digest"] == b["asked_digest"]
        lines.append(f"| {a['n']:,} | {a['cache']} | {a['epoch_s']} | {b['epoch_s']} | {b['epoch_s'] / a['epoch_s']:.2f}x | "
                     f"{a['read_gb_per_epoch']} | {b['read_gb_per_epoch']} | {a['pool_gb']} | {'yes' if same else 'NO'} |")
    (RESULTS / "fused_pass.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
