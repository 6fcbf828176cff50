"""How soon the labelling page shows the next page once the server has it (issue 22).

A text session over Python's standard-library docstrings (``elsa demo --text``'s corpus,
the ``email`` package's docstrings as the target) is served by uvicorn in this process
and labelled in headless Chromium (Debian's ``chromium``, driven by playwright) with the
keyboard, page after page. For each page turn three times are taken on one clock
(``time.perf_counter`` in this process):

* the last answer's key press;
* the moment the server has the next page (the session's ``advance`` returns in the
  background search thread);
* the moment the page shows the new tiles (playwright, polling on animation frames).

*Delay* is the last minus the second: what the page adds to the search's own time. The
page asks for the state with a long poll while the search runs (``/api/state?wait=20``),
so it should be about one request's round trip. Before issue 22 the page polled every
500 ms and the delay was 0.58 s (median of 10, measured by hand on an icon folder).

    python -m benchmarks.page_turn            # 10 page turns

Writes ``benchmarks/results/page_turn.{json,md}``.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from elsa.web.server import LiveServer

from .harness import ROOT, write_results

RESULTS = ROOT / "benchmarks" / "results"
TURNS = 10


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    from playwright import sync_api

    from elsa.datasets.docstrings import stdlib_docstrings
    from elsa.session import Session

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    corpus = stdlib_docstrings()
    truth = np.array(corpus["categories"]) == "email"
    with tempfile.TemporaryDirectory() as tmp:
        records = Path(tmp) / "records.csv"
        with open(records, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["record_id", "title", "abstract"])
            for i, (t, a) in enumerate(zip(corpus["titles"], corpus["abstracts"])):
                w.writerow([i, t, a])
        seeds = [int(i) for i in np.flatnonzero(truth)[:5]]
        s = Session.create(Path(tmp) / "p", records, target="the email package", seeds=seeds)
        ready: dict[int, float] = {}  # a page's first item -> when the server had the page
        advance = s.advance

        def timed_advance(*a, **kw):
            out = advance(*a, **kw)
            if len(out):
                ready.setdefault(int(out.ids[0]), time.perf_counter())
            return out

        s.advance = timed_advance
        s.start_background()
        turns = []
        try:
            with LiveServer(s) as srv, sync_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                page.goto(srv.url)
                page.wait_for_selector(".tile .card")
                for _ in range(TURNS):
                    ids = [int(t) for t in page.eval_on_selector_all(".tile", "els => els.map(e => e.dataset.id)")]
                    for i in ids[:-1]:
                        page.keyboard.press("y" if truth[i] else "n")
                    page.wait_for_function(f"document.querySelectorAll('.tile.positive, .tile.negative').length "
                                           f"=== {len(ids) - 1}")
                    pressed = time.perf_counter()
                    page.keyboard.press("y" if truth[ids[-1]] else "n")
                    page.wait_for_function(f"!document.querySelector('.tile[data-id=\"{ids[0]}\"]') && "
                                           "document.querySelectorAll('.tile .card').length > 0", polling="raf",
                                           timeout=60_000)
                    shown = time.perf_counter()
                    first = int(page.get_attribute(".tile", "data-id"))
                    while first not in ready:  # recorded as the round returns, just before the page is told
                        time.sleep(0.001)
                    turns.append({"search_s": ready[first] - pressed, "delay_s": shown - ready[first],
                                  "total_s": shown - pressed})
                browser.close()
        finally:
            s.close()
    delays = [t["delay_s"] for t in turns]
    doc = {"turns": turns, "median_delay_s": float(np.median(delays)), "max_delay_s": float(np.max(delays)),
           "median_search_s": float(np.median([t["search_s"] for t in turns])),
           "median_total_s": float(np.median([t["total_s"] for t in turns])), "records": int(truth.size)}
    write_results(RESULTS / "page_turn.json", doc)
    md = ["# Page turn in the labeller", "",
          f"`python -m benchmarks.page_turn`: {TURNS} page turns of a text session ({doc['records']:,} Python "
          "docstrings, pages of 10) in headless Chromium, on 2 cores. *Search*: from the last answer's key press to "
          "the server having the next page; *delay*: from then to the page showing it.", "",
          "| page turns | search median s | delay median s | delay max s | total median s |", "|---|---|---|---|---|",
          f"| {TURNS} | {doc['median_search_s']:.3f} | {doc['median_delay_s']:.3f} | {doc['max_delay_s']:.3f} | "
          f"{doc['median_total_s']:.3f} |", "",
          "Before issue 22 the page polled every 500 ms: 0.58 s from the server having the page to showing it "
          "(median of 10, measured by hand). Now the page asks with a long poll that the search's end answers.", ""]
    (RESULTS / "page_turn.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
