"""How long text takes: ``elsa simulate --records`` on 60,000 records, and a labeller page (issue 22).

The records are :mod:`text_corpora`'s two corpora together (Python docstrings and manual
pages: 60,699 records, a median of about 300 characters each), as one CSV with
``record_id,title,abstract`` and ``label_included`` for one target (``ray._private``).

* **Simulation, cold.** The command a user runs, as a subprocess with an empty
  ``$ELSA_CACHE_DIR``: reading the records, featurising them, the k-NN graph and a
  500-label run of the default, end to end (wall clock), then the same command again
  with the cache warm.
* **Labeller pages.** A session over the same records, without their labels
  (``Session.create(records=...)``,
  as ``elsa label --records`` makes it) answered from the truth through the Session API
  with its background search, as a person answers: the wait from the last answer of a
  page to the next page being ready, for 30 pages; and the page's document as the
  browser gets it (``GET /api/state``: every card's text and the terms it shares with
  the positives, :mod:`elsa.text.highlight`), counted into the wait.

    python -m benchmarks.text_speed

Writes ``benchmarks/results/text_speed.{json,md}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import text_corpora
from .harness import ROOT, write_results

RESULTS = ROOT / "benchmarks" / "results"
TARGET = ("docstrings", "ray._private")
CORPORA = ("docstrings", "manpages")  # 60,699 records (the third corpus, fortunes, came later)
PAGES = 30


def write_records(path: Path) -> tuple[np.ndarray, list[int]]:
    """The combined CSV; returns the truth and 5 seeds (the first 5 positives)."""
    truth = []
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["record_id", "title", "abstract", "label_included"])
        for corpus in CORPORA:
            csv_path, y, classes = text_corpora.build(corpus)
            with open(csv_path, newline="", encoding="utf-8") as src:
                for row, label in zip(csv.DictReader(src), y):
                    positive = corpus == TARGET[0] and classes[label] == TARGET[1]
                    w.writerow([f"{corpus}:{row['record_id']}", row["title"], row["abstract"], int(positive)])
                    truth.append(positive)
    truth = np.array(truth)
    return truth, [int(i) for i in np.flatnonzero(truth)[:5]]


def simulate_wall(records: Path, seeds: list[int], cache: Path) -> float:
    env = {**os.environ, "ELSA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "elsa", "simulate", "--records", str(records), "--text-columns",
                    "title,abstract", "--target", "1", "--seed-ids", ",".join(map(str, seeds)), "--budget", "500",
                    "--random-state", "0", "--output", str(cache / "out.json"), "--quiet"],
                   check=True, env=env, capture_output=True)
    return time.perf_counter() - t0


def page_waits(records: Path, seeds: list[int], truth: np.ndarray, folder: Path) -> tuple[list[float], list[float]]:
    """The waits for the next page, and for the page's document (``GET /api/state``) after it."""
    from starlette.testclient import TestClient

    from elsa.session import Session
    from elsa.web.app import create_app

    # The session's file has no label_included column: a labelled file's labels would start
    # the session with every record labelled, and leave nothing to ask.
    unlabelled = folder.with_name("records-unlabelled.csv")
    with open(records, newline="", encoding="utf-8") as src, open(unlabelled, "w", newline="", encoding="utf-8") as dst:
        w = csv.writer(dst)
        for row in csv.reader(src):
            w.writerow(row[:3])
    waits, docs = [], []
    s = Session.create(folder, unlabelled, target=TARGET[1], seeds=seeds)
    try:
        s.start_background()
        s.next_batch()  # the first page (its round runs as the session opens)
        client = TestClient(create_app(s), base_url="http://127.0.0.1:8765")
        for _ in range(PAGES):
            batch = s.pending()
            for i in batch.ids:
                s.answer(int(i), bool(truth[i]))
            t0 = time.perf_counter()
            s.next_batch()
            t1 = time.perf_counter()
            page = client.get("/api/state", headers={"X-Elsa-Client": "benchmark"}).json()
            assert len(page["batch"]) == batch.ids.size and "terms" in page["batch"][0]["text"]
            waits.append(time.perf_counter() - t0)
            docs.append(time.perf_counter() - t1)
    finally:
        s.close()
    return waits, docs


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        records = tmp / "records.csv"
        truth, seeds = write_records(records)
        (tmp / "cache").mkdir()
        cold = simulate_wall(records, seeds, tmp / "cache")
        warm = simulate_wall(records, seeds, tmp / "cache")
        found = json.loads((tmp / "cache" / "out.json").read_text())["runs"][0]["found"]
        os.environ["ELSA_CACHE_DIR"] = str(tmp / "cache")
        waits, docs = page_waits(records, seeds, truth, tmp / "session")
    doc = {"records": int(truth.size), "positives": int(truth.sum()), "simulate_cold_s": cold, "simulate_warm_s": warm,
           "found_at_500": found, "page_wait_median_s": float(np.median(waits)), "page_wait_max_s": float(np.max(waits)),
           "page_doc_median_s": float(np.median(docs)), "page_doc_max_s": float(np.max(docs)), "pages": PAGES}
    write_results(RESULTS / "text_speed.json", doc)
    md = ["# Text: how long it takes", "",
          f"`python -m benchmarks.text_speed` on 2 cores: {doc['records']:,} records (Python docstrings and manual "
          f"pages, `text_corpora.py`), target `{TARGET[1]}` ({doc['positives']} records), 5 seeds.", "",
          "| what | seconds |", "|---|---|",
          f"| `elsa simulate --records` (500 labels), empty cache: reading, featurising, the k-NN graph, the run | "
          f"{cold:.1f} |",
          f"| the same, cache warm | {warm:.1f} |",
          f"| labeller: from a page's last answer to the next page ready and its document sent (`GET /api/state`), "
          f"median of {PAGES} | {doc['page_wait_median_s']:.3f} |",
          f"| the same, slowest page | {doc['page_wait_max_s']:.3f} |",
          f"| of which the page's document (cards, their lead terms), median | {doc['page_doc_median_s']:.3f} |",
          f"| the same, slowest | {doc['page_doc_max_s']:.3f} |", "",
          f"The simulation found {found} positives in its 500 labels.", ""]
    (RESULTS / "text_speed.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
