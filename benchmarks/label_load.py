"""Load on the labelling server: concurrent clients answering over loopback.

For each number of clients, a fresh session (a random pool of 60,000 vectors, the
``random`` strategy proposing 50,000 items in one round, so answers never wait on the
search) is served by the real command, ``elsa label PROJECT --port 0``, in its own
process. Each client is a thread with its own HTTP connection that answers items drawn
at random from the round for a fixed time; clients collide on purpose, and a collision
must come back as a 409 conflict. Afterwards the session file is read back and checked:
every answer the server accepted is saved once, with its label, and nothing else is.

Every accepted answer is its own SQLite transaction with ``synchronous=FULL`` (an fsync
per answer). The clients run on the same 2 cores as the server, so the figures are a
lower bound on what the server alone sustains.

    python -m benchmarks.label_load            # 3 x 10 s
    python -m benchmarks.label_load --seconds 3

Writes ``benchmarks/results/label_load.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from elsa.session import Session

from .harness import ROOT, write_results

RESULTS = ROOT / "benchmarks" / "results"


def start_server(project: Path, emb: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "elsa", "label", str(project), "--embeddings", str(emb), "--strategy", "random",
           "--batch-size", "50000", "--epochs", "1", "--port", "0", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if "open http://" in line:
            return proc, line.split("open ", 1)[1].strip()
    raise RuntimeError(f"the server did not start: {proc.stderr.read()}")


def run(clients: int, seconds: float, workdir: Path) -> dict:
    rng = np.random.default_rng(0)
    emb = workdir / "pool.npy"
    if not emb.exists():
        np.save(emb, rng.normal(size=(60_000, 16)).astype(np.float32))
    project = workdir / f"clients-{clients}"
    proc, url = start_server(project, emb)
    try:
        with httpx.Client(base_url=url) as c:
            for _ in range(600):
                state = c.get("/api/state").json()
                if state["progress"]["pending"] >= 50_000:
                    break
                time.sleep(0.1)
            ids = np.array([b["id"] for b in state["batch"]])
        results: list[list] = [[] for _ in range(clients)]
        start = threading.Barrier(clients + 1)
        stop_at = [0.0]

        def client(k: int):
            draw = np.random.default_rng(100 + k)
            out = results[k]
            with httpx.Client(base_url=url, headers={"X-Elsa-Client": "bench"}) as c:
                start.wait()
                while time.perf_counter() < stop_at[0]:
                    item = int(draw.choice(ids))
                    label = "negative" if item % 3 else "positive"
                    t0 = time.perf_counter()
                    r = c.post("/api/answer", json={"item": item, "label": label})
                    out.append((time.perf_counter() - t0, r.status_code, item,
                                r.json().get("event") if r.status_code == 200 else None))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        stop_at[0] = time.perf_counter() + seconds
        t_start = time.perf_counter()
        start.wait()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t_start
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    rows = [r for part in results for r in part]
    lat = np.array([r[0] for r in rows]) * 1000
    accepted = sorted((r[3], r[2]) for r in rows if r[1] == 200)
    codes = {str(code): sum(1 for r in rows if r[1] == code) for code in sorted({r[1] for r in rows})}
    with Session.open(project) as s:
        saved = sorted(s.store.query("SELECT id, item FROM events"))
        labels_ok = all(lab == ("negative" if item % 3 else "positive")
                        for item, lab in s.store.query("SELECT item, label FROM labels"))
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(rows),
        "requests_per_s": round(len(rows) / elapsed, 1),
        "answers_saved_per_s": round(len(accepted) / elapsed, 1),
        "status_codes": codes,
        "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 2), "p90": round(float(np.percentile(lat, 90)), 2),
                       "p99": round(float(np.percentile(lat, 99)), 2), "max": round(float(lat.max()), 2)},
        "lost": len(set(accepted) - set(saved)),
        "unexpected_saved": len(set(saved) - set(accepted)),
        "duplicated_items": len(accepted) - len({i for _, i in accepted}),
        "labels_match": labels_ok,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run(int(c), args.seconds, Path(tmp)) for c in args.clients.split(",")]
    doc = {
        "benchmark": "label_load",
        "command": f"python -m benchmarks.label_load --clients {args.clients} --seconds {args.seconds:g}",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "runs": runs,
    }
    write_results(RESULTS / "label_load.json", doc)
    lines = [
        "# Labelling server under load (loopback)",
        "",
        f"`{doc['command']}` on {os.cpu_count()} cores; clients and server share them. Each accepted answer is "
        "one SQLite transaction with an fsync. A 409 is a collision (another client answered the item first).",
        "",
        "| clients | requests/s | answers saved/s | p50 ms | p99 ms | max ms | 200 / 409 | lost | duplicated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['clients']} | {r['requests_per_s']} | {r['answers_saved_per_s']} | {r['latency_ms']['p50']} | "
            f"{r['latency_ms']['p99']} | {r['latency_ms']['max']} | {r['status_codes'].get('200', 0)} / "
            f"{r['status_codes'].get('409', 0)} | {r['lost'] + r['unexpected_saved']} | {r['duplicated_items']} |"
        )
    (RESULTS / "label_load.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
