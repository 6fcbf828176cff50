"""Certified stopping rules side by side on the default search's trajectories, against the floor.

For each trajectory of ``stopping_trajectories.py`` (the default search on Fashion-MNIST
classes at 1 % and 0.1 % and on the docstrings corpus), every rule is replayed exactly:
the audits are hidden from the search, so a rule's stop is what a run with that audit
draw would have done. ``recall:0.9@0.95`` throughout.

Rules:

* **audit** (ours, :mod:`elsa.stopping.audited`): the search hands over when its last
  ``h`` labels found nothing, then a random audit of the unlabelled items runs until a
  confidence sequence certifies. ``--draws`` audit orders per trajectory.
* **QBCB** (Lewis, Yang and Frieder 2021, :class:`elsa.stopping.CertifiedStop`): a
  uniform sample of the pool drawn until it holds 29 positives; stop when the search has
  found all 29. ``--draws`` samples per trajectory.
* **BUSCAR** (Callaghan and Mueller-Hansen 2020; the test of ``buscarpy.calculate_h0``,
  bias 1, reimplemented and checked against ``buscarpy`` when ``--buscarpy`` names a
  Python that has it): after every page, the search's own last labels taken as a random
  sample of the items not yet screened; stop when the smallest p-value is below 0.05. No
  audit: it assumes the search finds positives at least as often as random sampling.
* **knee** (Cormack and Grossman 2016): no guarantee.
* **sample-wait** (planned, not yet a rule): at the audit's hand-over, a fixed uniform
  sample of the unlabelled items, of the exact size that misses ``M`` hidden positives
  with probability at most 0.05, hidden from the search; certified at once if it holds
  no positive, else when the search has found its positives itself.

Reported per pool, per trajectory and overall: labels at stop (search + audit) over the
**floor** and over the oracle's labels (the first page at which the search's recall
reaches 0.9), recall at stop, and the share of stops with recall below 0.9, with its
95 % Clopper-Pearson interval over all draws.

The floor (issue 23): a rule valid at 95 % that certifies in half of its runs must,
after the search has labelled ``q`` items and found ``F`` positives, audit at least a
share ``1 - 0.1^(1/M)`` of the ``u`` unlabelled items, ``M`` the fewest hidden
positives that would put recall under 0.9. The floor is the least ``q + u (1 -
0.1^(1/M))`` over the pages where the search's recall is at least 0.9 (stopping
earlier is stopping below the target).

    python benchmarks/stopping_rules.py --draws 2000 --buscarpy /work/buscar-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.stats import hypergeom

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from elsa.stopping import knee_reached, min_target_positives, qbcb_threshold  # noqa: E402
from elsa.stopping import audited  # noqa: E402
from elsa.stopping.audited import Audit, HandOver, tolerable  # noqa: E402
from elsa.stopping.estimates import clopper_pearson  # noqa: E402

import stopping_trajectories as st  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TARGET, CONFIDENCE = 0.9, 0.95
PAGE = 10


def extended_pages(t: dict) -> tuple[np.ndarray, np.ndarray, bool]:
    """Page sizes and positives per page; a trajectory that found every positive is
    continued with empty pages (nothing is left to find, whatever it would have asked)."""
    truth, asked, sizes = t["truth"].astype(bool), t["asked"], t["round_sizes"]
    hits = np.add.reduceat(truth[asked].astype(np.int64), np.r_[0, np.cumsum(sizes)[:-1]])
    complete = len(t["seeds"]) + int(hits.sum()) >= int(truth.sum())
    if complete:
        n_left = truth.size - len(t["seeds"]) - int(sizes.sum())
        extra = n_left // PAGE
        sizes = np.r_[sizes, np.full(extra, PAGE)]
        hits = np.r_[hits, np.zeros(extra, np.int64)]
    return sizes, hits, complete


def floor_labels(labels: np.ndarray, found: np.ndarray, n: int, seeds: int, total: int) -> tuple[float, int | None]:
    """(floor, oracle labels) from the curve at page ends: labels (search) and found (seeds included)."""
    reached = np.flatnonzero(found >= TARGET * total - 1e-9)
    if not reached.size:
        return math.nan, None
    best = math.inf
    for q, F in zip(labels[reached[0]:], found[reached[0]:]):
        M = tolerable(int(F), TARGET) + 1
        u = n - seeds - q
        best = min(best, q + u * (1.0 - 0.1 ** (1.0 / M)))
        if q >= best:
            break
    return best, int(labels[reached[0]])


def replay_audit(labels, found, n, seeds, total, draws, rng, window_share=1.0) -> dict:
    rule = HandOver(TARGET, CONFIDENCE, window_share)
    curve = [(0, 0)]
    switch = None
    for i, (q, F) in enumerate(zip(labels, found)):
        curve.append((int(q), int(F) - seeds))
        if rule.should_hand_over(curve, n, seeds):
            switch = i
            break
    forced = switch is None
    if forced:
        switch = labels.size - 1
    q, F = int(labels[switch]), int(found[switch])
    u, K = n - seeds - q, total - F
    audit = Audit(u, F, TARGET, CONFIDENCE)
    stops = np.empty((draws, 2))
    for d in range(draws):
        pos = np.sort(rng.choice(u, K, replace=False)) + 1 if K else np.zeros(0, np.int64)
        stops[d] = audit.stop_labels(pos, PAGE)
    recall = (F + stops[:, 1]) / total
    return {"hand_over_labels": q, "hand_over_recall": F / total, "forced": forced, "m0": audit.labels_needed(0),
            "labels": q + stops[:, 0], "recall": recall, "switch": switch}


def zero_miss_sample(u: int, M: int, alpha: float) -> int:
    """The fewest of ``u`` items a uniform sample needs so that it misses all of ``M``
    given items with probability at most ``alpha``: ``C(u - M, m) / C(u, m) <= alpha``."""
    def p_miss(m):
        i = np.arange(M)
        return float(np.exp(np.sum(np.log1p(-m / (u - i))))) if m < u - M + 1 else 0.0
    lo, hi = 0, u
    while lo < hi:
        mid = (lo + hi) // 2
        if p_miss(mid) <= alpha:
            hi = mid
        else:
            lo = mid + 1
    return lo


def replay_sample_wait(t, labels, found, n, seeds, total, switch, draws, rng) -> dict:
    """Not yet a rule (the plan for issue 23's next part): at the same hand-over, a fixed
    uniform sample of the unlabelled items, hidden from the search, of the exact size that
    misses M hidden positives with probability <= 0.05; certified at once if it holds no
    positive, else the search resumes and certifies when it has found the sample's
    positives itself (QBCB's monotonicity argument, on the unlabelled items only)."""
    truth, asked = t["truth"].astype(bool), t["asked"]
    q, F = int(labels[switch]), int(found[switch])
    u = n - seeds - q
    m = zero_miss_sample(u, tolerable(F, TARGET) + 1, 1 - CONFIDENCE)
    ask_at = np.full(n, np.inf)
    ask_at[asked] = np.arange(1, asked.size + 1)
    ask_at[t["seeds"]] = 0
    unl = np.flatnonzero(ask_at > q)  # the items unlabelled at the hand-over
    hidden_at = ask_at[unl]
    is_pos = truth[unl]
    ends = labels  # the search's page ends (empty pages after the last positive included)
    out_labels, out_recall = [], []
    for _ in range(draws):
        sample = rng.choice(unl.size, m, replace=False)
        wait = hidden_at[sample[is_pos[sample]]]
        if not wait.size:
            end = q
        elif np.isfinite(wait.max()):
            end = int(ends[np.searchsorted(ends, wait.max())])
        else:
            out_labels.append(math.nan)
            out_recall.append(math.nan)
            continue
        overlap = int(np.count_nonzero(hidden_at[sample] <= end))
        out_labels.append(end + m - overlap)
        out_recall.append(float(found[np.searchsorted(labels, end)] / total))
    return {"m": m, **_stops(np.array(out_labels, float), np.array(out_recall, float))}


def best_hand_over(labels, found, n, seeds, total, draws, rng, points: int = 80) -> dict:
    """Not a rule: the audit after the hand-over that is cheapest in hindsight (the
    median labels at stop over ``draws`` audit orders, on a grid of ``points`` pages from
    the oracle's page on). What the two-phase design could reach with a perfect hand-over."""
    reached = np.flatnonzero(found >= TARGET * total - 1e-9)
    if not reached.size:  # the search never reaches the target in its trajectory
        return {"labels_median": None, "hand_over_labels": None}
    start = int(reached[0])
    stop = min(labels.size - 1, int(np.searchsorted(labels, labels[start] + n / 2)))
    grid = np.unique(np.linspace(start, stop, points).astype(int))
    best = (math.inf, None)
    for i in grid:
        q, F = int(labels[i]), int(found[i])
        u, K = n - seeds - q, total - F
        audit = Audit(u, F, TARGET, CONFIDENCE)
        if audit.labels_needed(0) is None:
            continue
        stops = [audit.stop_labels(np.sort(rng.choice(u, K, replace=False)) + 1)[0] for _ in range(draws)]
        cost = q + float(np.median(stops))
        if cost < best[0]:
            best = (cost, q)
        if q >= best[0]:
            break
    return {"labels_median": best[0], "hand_over_labels": best[1]}


def replay_qbcb(t, sizes, n, total, draws, rng) -> dict:
    truth, asked = t["truth"].astype(bool), t["asked"]
    n_t = min_target_positives(TARGET, CONFIDENCE)
    j = qbcb_threshold(n_t, TARGET, CONFIDENCE)
    ends = np.cumsum(sizes)
    call_of = np.full(n, np.inf)
    real = t["round_sizes"].size
    call_of[asked] = np.repeat(np.arange(real), t["round_sizes"])
    call_of[t["seeds"]] = -1
    found = len(t["seeds"]) + np.cumsum(np.add.reduceat(truth[asked].astype(np.int64),
                                                        np.r_[0, np.cumsum(t["round_sizes"])[:-1]]))
    labels_out, recall_out = [], []
    for _ in range(draws):
        perm = rng.permutation(n)
        hits = np.flatnonzero(truth[perm])
        audit = perm[: hits[n_t - 1] + 1]
        at = np.sort(call_of[perm[hits[:n_t]]])[j - 1]  # the call at which the j-th target was found
        if not np.isfinite(at):  # not certified within the cap
            labels_out.append(math.nan)
            recall_out.append(math.nan)
            continue
        c = int(max(at, 0))
        searched = asked[: ends[c]]
        labels_out.append(np.union1d(searched, audit).size)
        recall_out.append(found[c] / total)
    return {"labels": np.array(labels_out), "recall": np.array(recall_out)}


def buscar_p(screened: np.ndarray, n: int, target: float) -> float:
    """``buscarpy.calculate_h0`` with bias 1: the smallest p-value over the urns of the last 1, 2, ... labels."""
    r_seen = int(screened.sum())
    urns = screened[::-1]
    sizes = np.arange(1, urns.size + 1)
    in_urn = np.cumsum(urns)
    k_hat = np.floor(r_seen / target + 1 - (r_seen - in_urn))
    return float(hypergeom.cdf(in_urn, n - (urns.size - sizes), k_hat, sizes).min())


def replay_buscar(t, sizes, hits, n, total) -> dict:
    truth, asked = t["truth"].astype(bool), t["asked"]
    seq = np.r_[np.ones(len(t["seeds"]), np.int8), truth[asked].astype(np.int8)]
    seq = np.r_[seq, np.zeros(int(sizes.sum()) - asked.size, np.int8)]  # the empty pages after the last positive
    ends = len(t["seeds"]) + np.cumsum(sizes)
    found = len(t["seeds"]) + np.cumsum(hits)
    for e, f in zip(ends, found):
        if (e - len(t["seeds"])) % 100 and e != ends[-1]:  # every 100 labels (buscarpy's example: every 1,000)
            continue
        if buscar_p(seq[:e], n, TARGET) < 1 - CONFIDENCE:
            return {"labels": int(e - len(t["seeds"])), "recall": float(f / total), "sequence": seq[:e]}
    return {"labels": None, "recall": None, "sequence": None}


def check_buscarpy(python: str, seqs: list[np.ndarray], n: int) -> list[float]:
    code = ("import sys, json, numpy as np, buscarpy\n"
            "d = json.load(sys.stdin)\n"
            "print(json.dumps([float(buscarpy.calculate_h0(np.array(s, dtype=np.int8), N=d['n'], recall_target=d['r']))"
            " for s in d['seqs']]))\n")
    doc = json.dumps({"n": n, "r": TARGET, "seqs": [s.tolist() for s in seqs]})
    out = subprocess.run([python, "-c", code], input=doc, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def knee_stop(sizes, hits, total, seeds) -> dict:
    ends, found = np.cumsum(sizes), np.cumsum(hits)
    curve = [(0, 0)]
    for e, f in zip(ends, found):
        curve.append((int(e), int(f)))
        if knee_reached(curve):
            return {"labels": int(e), "recall": float((f + seeds) / total)}
    return {"labels": None, "recall": None}


def analyse(t: dict, draws: int, rng, buscarpy: str | None, window_share: float = 1.0, anchors: bool = True) -> dict:
    truth = t["truth"].astype(bool)
    n, total, seeds = truth.size, int(truth.sum()), len(t["seeds"])
    sizes, hits, complete = extended_pages(t)
    labels, found = np.cumsum(sizes), seeds + np.cumsum(hits)
    floor, oracle = floor_labels(labels, found, n, seeds, total)
    out = {"n": n, "positives": total, "labels_recorded": int(t["asked"].size), "complete": bool(complete),
           "recall_at_cap": float(found[-1] / total), "floor": floor, "oracle": oracle}
    a = replay_audit(labels, found, n, seeds, total, draws, rng, window_share)
    out["audit"] = {k: a[k] for k in ("hand_over_labels", "hand_over_recall", "forced", "m0")}
    out["audit"].update(_stops(a["labels"], a["recall"]))
    out["sample_wait"] = replay_sample_wait(t, labels, found, n, seeds, total, a["switch"], draws, rng)
    if not anchors:
        return out
    out["audit_hindsight"] = best_hand_over(labels, found, n, seeds, total, max(50, draws // 10), rng)
    q = replay_qbcb(t, sizes, n, total, draws, rng)
    out["qbcb"] = _stops(q["labels"], q["recall"])
    b = replay_buscar(t, sizes, hits, n, total)
    out["buscar"] = {"labels": b["labels"], "recall": b["recall"],
                     "below": None if b["recall"] is None else bool(b["recall"] < TARGET)}
    if buscarpy and b["sequence"] is not None:
        ours = buscar_p(b["sequence"], n, TARGET)
        theirs = check_buscarpy(buscarpy, [b["sequence"]], n)[0]
        out["buscar"]["p_ours"], out["buscar"]["p_buscarpy"] = ours, theirs
    out["knee"] = knee_stop(sizes, hits, total, seeds)
    return out


def _stops(labels: np.ndarray, recall: np.ndarray) -> dict:
    """Over all draws; a draw not certified within the trajectory counts as never stopping
    (its labels infinite), so a median that is not certified is None ("beyond the cap")."""
    ok = ~np.isnan(labels)
    med = float(np.median(np.where(ok, labels, np.inf)))
    return {"draws": int(labels.size), "certified": int(ok.sum()),
            "labels_median": med if math.isfinite(med) else None,
            "recall_median": float(np.median(recall[ok])) if ok.any() else None,
            "below": int((recall[ok] < TARGET - 1e-12).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pools", default="fm-1%,fm-0.1%,docstrings")
    ap.add_argument("--classes", default="0,2,4,6,8")
    ap.add_argument("--cap", type=int, default=15000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--buscarpy", default=None, help="a Python with buscarpy installed, to check our BUSCAR test")
    ap.add_argument("--window-share", type=float, default=1.0, help="variant: the hand-over's quiet stretch as a share of h")
    ap.add_argument("--prior-share", type=float, default=None, help="variant: the audit prior's mean as a share of M")
    ap.add_argument("--variant", action="store_true", help="the audit rule alone, printed, nothing written")
    ap.add_argument("--render", action="store_true", help="rewrite the .md from the committed .json, nothing run")
    args = ap.parse_args()
    if args.render:
        (RESULTS / "stopping_rules.md").write_text(markdown(json.loads((RESULTS / "stopping_rules.json").read_text())))
        return
    if args.prior_share is not None:
        audited.PRIOR_SHARE = args.prior_share
    rows = []
    for name in args.pools.split(","):
        todo = st.classes(name) if name not in st.FM_POOLS else [int(c) for c in args.classes.split(",")]
        for cls in todo:
            path = st.CACHE / f"{st.DEFAULT_STRATEGY}-{name}-{cls}-r0-cap{args.cap}.npz"
            if not path.exists():
                print(f"{name} {cls}: no trajectory yet ({path.name})", flush=True)
                continue
            t = st.trajectory(name, cls, 0, args.cap)
            a = analyse(t, args.draws, np.random.default_rng([len(rows), 23]), args.buscarpy, args.window_share,
                        anchors=not args.variant)
            rows.append({"pool": name, "class": str(t["label"]), **a})
            print(_line(rows[-1]) if not args.variant else _variant_line(rows[-1]), flush=True)
    if args.variant:
        return
    doc = {"benchmark": "stopping_rules", "command": "python benchmarks/stopping_rules.py " + " ".join(sys.argv[1:]),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
           "settings": {"target": TARGET, "confidence": CONFIDENCE, "draws": args.draws, "cap": args.cap},
           "runs": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "stopping_rules.json").write_text(json.dumps(doc, indent=1) + "\n")
    (RESULTS / "stopping_rules.md").write_text(markdown(doc))
    print(markdown(doc))


def _variant_line(r: dict) -> str:
    a, w = r["audit"], r["sample_wait"]
    return (f"{r['pool']} {r['class']}: floor {r['floor']:,.0f} audit {_x(a['labels_median'], r['floor'])} "
            f"(hand-over at {a['hand_over_labels']}, recall {a['hand_over_recall']:.3f}, below {a['below']}/{a['draws']}); "
            f"sample-wait {_x(w['labels_median'], r['floor'])} (m {w['m']}, certified {w['certified']}/{w['draws']}, "
            f"below {w['below']})")


def _line(r: dict) -> str:
    def ratio(v):
        return "-" if v is None or not math.isfinite(r["floor"]) else f"{v / r['floor']:.2f}x"

    return (f"{r['pool']} {r['class']}: floor {r['floor']:,.0f}, oracle {r['oracle']}, audit {ratio(r['audit']['labels_median'])} "
            f"(hand-over at {r['audit']['hand_over_labels']}, recall {r['audit']['hand_over_recall']:.3f}, below "
            f"{r['audit']['below']}/{r['audit']['draws']}), qbcb {ratio(r['qbcb']['labels_median'])}, "
            f"buscar {ratio(r['buscar']['labels'])}, hindsight {ratio(r['audit_hindsight']['labels_median'])} at {r['audit_hindsight']['hand_over_labels']}, knee {r['knee']['labels']} recall {r['knee']['recall']}")


def markdown(doc: dict) -> str:
    s = doc["settings"]
    lines = ["# Certified stopping on the default search's trajectories", "",
             f"`{doc['command'].strip()}`: recall {s['target']:g} at {s['confidence']:g} (`audit:{s['target']:g}@"
             f"{s['confidence']:g}`, QBCB's `recall:{s['target']:g}@{s['confidence']:g}`, BUSCAR); {s['draws']} audit "
             "draws per trajectory for the rules that audit; *below*: draws certified with recall under the target, "
             "out of all draws (the guarantee bounds that share by 1 - confidence). *Floor*: the fewest labels any rule valid at 95 % that certifies in "
             "half its runs could stop at (see the script). Labels count the search's and the audit's. *beyond the "
             "cap*: the median run is not certified within the trajectory (the search's labels ran out at the cap "
             "first). *hindsight*: the audit after the cheapest hand-over (not a rule).", ""]
    rules = ("audit", "sample_wait", "qbcb", "buscar", "knee")
    for pool in dict.fromkeys(r["pool"] for r in doc["runs"]):
        rs = [r for r in doc["runs"] if r["pool"] == pool]
        lines += [f"## {pool} ({len(rs)} trajectories)", "",
                  "| class | positives | search's recall at the cap | oracle | floor | audit: labels (x floor) | "
                  "hand-over (recall) | below | hindsight | sample-wait (planned) | QBCB | BUSCAR | knee (recall) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            f = r["floor"]
            a, q, b, k, w = r["audit"], r["qbcb"], r["buscar"], r["knee"], r["sample_wait"]
            lines.append(
                f"| {r['class']} | {r['positives']} | {r['recall_at_cap']:.3f} | {r['oracle'] or '-'} | {f:,.0f} | "
                f"{_n(a['labels_median'])} "
                f"({_x(a['labels_median'], f)}) | {a['hand_over_labels']:,} ({a['hand_over_recall']:.3f})"
                f"{' forced' if a['forced'] else ''} | {a['below']}/{a['draws']} | "
                f"{_x(r['audit_hindsight']['labels_median'], f)} | {_n(w['labels_median'])} ({_x(w['labels_median'], f)}; "
                f"{w['certified']}/{w['draws']} certified, {w['below']} below) | {_n(q['labels_median'])} "
                f"({_x(q['labels_median'], f)}; {q['certified']}/{q['draws']} certified, {q['below']} below) | "
                f"{_n(b['labels'])} ({_x(b['labels'], f)}) | {_n(k['labels'])} "
                f"({'-' if k['recall'] is None else format(k['recall'], '.3f')}) |")
        lines.append("")
        lines += ["| rule | median x floor | worst x floor | median x oracle | stops below 0.9 (95 % interval) |",
                  "|---|---|---|---|---|"]
        for rule in rules:
            key = "labels_median" if rule in ("audit", "sample_wait", "qbcb") else "labels"
            ratios = [r[rule][key] / r["floor"] for r in rs if r[rule].get(key) is not None and math.isfinite(r["floor"])]
            oracle = [r[rule][key] / r["oracle"] for r in rs if r[rule].get(key) is not None and r["oracle"]]
            if rule in ("audit", "sample_wait", "qbcb"):  # the guarantee: P(certified and below) <= 1 - C, over all draws
                below = sum(r[rule]["below"] for r in rs)
                n = sum(r[rule]["draws"] for r in rs)
            else:
                below = sum(bool(r[rule]["recall"] is not None and r[rule]["recall"] < TARGET) for r in rs)
                n = sum(r[rule]["recall"] is not None for r in rs)
            lo, hi = clopper_pearson(below, n, 0.95) if n else (math.nan, math.nan)
            share = f"{below}/{n} ({lo:.3f}-{hi:.3f})" if n else "- (never stopped)"
            lines.append(f"| {rule} | {_med(ratios)} | {_max(ratios)} | {_med(oracle)} | {share} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _n(v):
    return "beyond the cap" if v is None else f"{v:,.0f}"


def _x(v, f):
    return "-" if v is None or not math.isfinite(f) else f"{v / f:.2f}x"


def _med(v):
    return "-" if not v else f"{np.median(v):.2f}x"


def _max(v):
    return "-" if not v else f"{np.max(v):.2f}x"


if __name__ == "__main__":
    main()
