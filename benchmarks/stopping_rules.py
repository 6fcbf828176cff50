"""Stopping rules side by side on the default search's trajectories, against the floor.

For each trajectory of ``stopping_trajectories.py`` (the default search on Fashion-MNIST
classes at 1 % and 0.1 % and on the docstrings corpus), every rule is replayed exactly:
samples and audits are hidden from the search, so a rule's stop is what a run with that
draw would have done. Recall 0.9 at 95 % throughout.

Rules:

* **recall** (``recall:0.9@0.95``, the default certificate, :mod:`elsa.stopping.sample_wait`):
  the search hands over when its last ``v`` labels found nothing, one uniform sample of
  the unlabelled items of the exact zero-miss size is labelled (hidden from the search),
  and the run is certified once the search has found the sample's positives (at once
  if it holds none). ``--draws`` samples per trajectory.
* **audit** (``audit:0.9@0.95``, :mod:`elsa.stopping.audited`): the search hands over
  when its last ``h`` labels found nothing, then a random audit of the unlabelled items
  runs until a confidence sequence certifies. ``--draws`` audit orders per trajectory.
* **QBCB** (``qbcb:0.9@0.95``; Lewis, Yang and Frieder 2021): a uniform sample of the
  pool drawn until it holds 29 positives; stop when the search has found all 29.
* **BUSCAR** (Callaghan and Mueller-Hansen 2020; the test of ``buscarpy.calculate_h0``,
  bias 1, reimplemented and checked against ``buscarpy`` when ``--buscarpy`` names a
  Python that has it): after every 100 labels, the search's own last labels taken as a
  random sample of the items not yet screened; stop when the smallest p-value is below
  0.05. No audit: it assumes the search finds positives at least as often as random
  sampling.
* **estimate** (``estimate:0.9``): the first page where the search's own model (its
  logistic head with ``C = 1``, recorded with each round) puts recall at 0.9. No guarantee.
* **knee** (Cormack and Grossman 2016): no guarantee.

Reported per trajectory and over the trajectories that reach 0.9 within the cap: labels
at stop (search + sample or audit) over the **floor** (:func:`floor_labels`), over the
audit after the cheapest hand-over in hindsight (**audit hindsight**, the yardstick on
long tails) and over the **oracle** (the first page at which the search's recall
reaches 0.9), the recall at stop, and the share of draws certified below 0.9 with its
95 % Clopper-Pearson interval, per trajectory and pooled.

    python -m benchmarks.stopping_rules --draws 500 --buscarpy /work/buscar-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys

import numpy as np
from scipy.stats import hypergeom

from elsa.stopping import knee_reached, min_target_positives, qbcb_threshold
from elsa.stopping import audited
from elsa.stopping.audited import Audit, HandOver, tolerable
from elsa.stopping.estimates import ESTIMATE_MODEL
from elsa.stopping.sample_wait import SampleCertificate, SampleHandOver
from elsa.stopping.estimates import clopper_pearson

from . import stopping_trajectories as st
from .harness import ROOT, command as command_line, write_results

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
    """(floor, oracle labels) from the curve at page ends: labels (search) and found (seeds
    included). The floor (issue 35): at a page where the search has labelled ``q`` items
    and found ``F`` positives with recall already at the target, a world with ``M =
    tolerable(F) + 1`` more positives hidden among the ``u`` unlabelled items has recall
    below it and looks the same until a label touches one of them; a rule valid at ``C``
    that certifies the run must miss all ``M`` with probability at most ``1 - C``, so it
    labels at least ``u (1 - (1 - C)^(1/M))`` of them. The floor is the least ``q`` plus that."""
    reached = np.flatnonzero(found >= TARGET * total - 1e-9)
    if not reached.size:
        return math.nan, None
    best = math.inf
    for q, F in zip(labels[reached[0]:], found[reached[0]:]):
        M = tolerable(int(F), TARGET) + 1
        u = n - seeds - q
        best = min(best, q + u * (1.0 - (1.0 - CONFIDENCE) ** (1.0 / M)))
        if q >= best:
            break
    return best, int(labels[reached[0]])


def hand_over_page(rule, labels, found, n, seeds) -> tuple[int, bool]:
    """The page after which ``rule`` (a :class:`HandOver`) ends the search on this curve,
    and whether it was forced (the recorded trajectory ended first: its last page)."""
    curve = [(0, 0)]
    for i, (q, F) in enumerate(zip(labels, found)):
        curve.append((int(q), int(F) - seeds))
        if rule.should_hand_over(curve, n, seeds):
            return i, False
    return labels.size - 1, True


def replay_audit(labels, found, n, seeds, total, draws, rng, window_share=1.0) -> dict:
    switch, forced = hand_over_page(HandOver(TARGET, CONFIDENCE, window_share), labels, found, n, seeds)
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


def replay_recall(t, labels, found, n, seeds, total, draws, rng, window_share=1.0) -> dict:
    """``recall:R@C`` (:mod:`elsa.stopping.sample_wait`) replayed: the hand-over of
    :class:`SampleHandOver` on the curve, then the sample and the race over ``draws``
    random orders (:func:`sample_wait_draws`)."""
    switch, forced = hand_over_page(SampleHandOver(TARGET, CONFIDENCE, window_share), labels, found, n, seeds)
    out = sample_wait_draws(t, labels, found, seeds, total, switch, draws, rng)
    return {"hand_over_labels": int(labels[switch]), "hand_over_recall": float(found[switch] / total),
            "forced": forced, **out}


def sample_wait_draws(t, labels, found, seeds, total, switch, draws, rng) -> dict:
    """The sample and the race after the hand-over at page ``switch``, over ``draws``
    random orders of the items unlabelled there, moved as :meth:`SampleCertificate.move`
    says after every search page and every page of the sample (as ``elsa simulate`` does)."""
    truth, asked = t["truth"].astype(bool), t["asked"]
    n = truth.size
    q, F = int(labels[switch]), int(found[switch])
    ask_at = np.full(n, np.inf)
    ask_at[asked] = np.arange(1, asked.size + 1)
    ask_at[t["seeds"]] = 0
    unl = np.flatnonzero(ask_at > q)  # the items unlabelled at the hand-over
    cert = SampleCertificate(unl.size, F, TARGET, CONFIDENCE)
    at_u, pos_u = ask_at[unl], truth[unl]
    # Past the recorded trajectory the search is taken to find nothing more (its pages cost
    # labels and find nothing): the race goes on, and a draw costs at most what it would.
    left = n - len(t["seeds"]) - int(labels[-1])
    if left > 0:
        labels = np.r_[labels, labels[-1] + PAGE * np.arange(1, left // PAGE + 1)]
        found = np.r_[found, np.full(left // PAGE, found[-1])]
    out_labels, out_recall, empty = np.full(draws, math.nan), np.full(draws, math.nan), 0
    for d in range(draws if cert.possible else 0):
        perm = rng.permutation(unl.size)
        order_pos, order_at = pos_u[perm], at_u[perm]
        hits = np.flatnonzero(order_pos)  # positions of the positives in the order
        hit_at = order_at[hits]  # the search's labels when it found each (inf: never)
        m, i, since = cert.first, switch, q
        empty += not np.any(hits < m)
        while True:
            seen = hit_at[hits < m]
            unfound = int(np.count_nonzero(seen > labels[i]))
            move = cert.move(m, unfound, int(found[i]), int(labels[i] - since))
            if move == "certified":
                break
            if move == "sample" and m < unl.size:
                new = min(unl.size, m + PAGE)
                if np.any((hits >= m) & (hits < new) & (hit_at > labels[i])):
                    since = labels[i]  # a new positive the search has not found: the search's turn
                m = new
                continue
            if i + 1 >= labels.size:
                i = None  # not certified even with every item labelled
                break
            i += 1
        if i is None:
            continue
        overlap = int(np.count_nonzero(order_at[:m] <= labels[i]))
        out_labels[d] = labels[i] + m - overlap
        out_recall[d] = found[i] / total
    return {"m": cert.first, "sample_empty": int(empty), **_stops(out_labels, out_recall)}


def recall_hindsight(t, labels, found, seeds, total, draws, rng, points: int = 60) -> dict:
    """Not a rule: sample-wait after the hand-over that is cheapest in hindsight (median
    labels over ``draws`` samples, on a grid of pages from the oracle's page on)."""
    reached = np.flatnonzero(found >= TARGET * total - 1e-9)
    if not reached.size:
        return {"labels_median": None, "hand_over_labels": None}
    start = int(reached[0])
    stop = min(labels.size - 1, int(np.searchsorted(labels, labels[start] + labels[-1] / 2)))
    best = (math.inf, None)
    for i in np.unique(np.linspace(start, stop, points).astype(int)):
        if labels[i] >= best[0]:
            break
        med = sample_wait_draws(t, labels, found, seeds, total, int(i), draws, rng)["labels_median"]
        if med is not None and med < best[0]:
            best = (med, int(labels[i]))
    return {"labels_median": None if best[1] is None else best[0], "hand_over_labels": best[1]}


def replay_estimate(t, sizes, labels, found, total, model=ESTIMATE_MODEL) -> dict:
    """``estimate:R``: the first page after which found / (found + the model's expected
    positives left) reaches R; the model's value is the one the search computed when it
    chose that page (as the live rule reads it). Pages after the recorded trajectory (all
    positives found) keep its last value."""
    key = f"left_{model}"
    if key not in t:
        return {"labels": None, "recall": None}
    left = np.asarray(t[key], float)
    left = np.r_[left, np.full(sizes.size - left.size, left[-1])]
    with np.errstate(invalid="ignore", divide="ignore"):
        est = found / (found + left)
    hit = np.flatnonzero(np.nan_to_num(est, nan=0.0) >= TARGET)
    if not hit.size:
        return {"labels": None, "recall": None}
    i = int(hit[0])
    return {"labels": int(labels[i]), "recall": float(found[i] / total), "estimate": float(est[i])}


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
    out["recall"] = replay_recall(t, labels, found, n, seeds, total, draws, rng, window_share)
    out["estimate"] = replay_estimate(t, sizes, labels, found, total)
    out["estimate_head_0.01"] = replay_estimate(t, sizes, labels, found, total, "head:0.01")  # a variant, not a rule
    out["audit_hindsight"] = best_hand_over(labels, found, n, seeds, total, max(50, draws // 10), rng)
    if not anchors:
        return out
    out["recall_hindsight"] = recall_hindsight(t, labels, found, seeds, total, max(50, draws // 10), rng)
    a = replay_audit(labels, found, n, seeds, total, draws, rng)
    out["audit"] = {k: a[k] for k in ("hand_over_labels", "hand_over_recall", "forced", "m0")}
    out["audit"].update(_stops(a["labels"], a["recall"]))
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
    ap.add_argument("--window-share", type=float, default=1.0,
                    help="variant: recall:R@C's hand-over's quiet stretch as a share of v")
    ap.add_argument("--prior-share", type=float, default=None, help="variant: the audit prior's mean as a share of M")
    ap.add_argument("--variant", action="store_true", help="recall:R@C and the estimate alone, printed, nothing written")
    ap.add_argument("--render", action="store_true", help="rewrite the .md from the committed .json, nothing run")
    ap.add_argument("--merge", action="store_true",
                    help="keep the committed .json's other trajectories (those not replayed now)")
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
    command = command_line([a for a in sys.argv[1:] if a != "--merge"])
    if args.merge:  # one command per run of the trajectories, the rest kept as they were
        old = json.loads((RESULTS / "stopping_rules.json").read_text())
        done = {(r["pool"], r["class"]) for r in rows}
        rows = [r for r in old["runs"] if (r["pool"], r["class"]) not in done] + rows
        command = old["command"] + "; then " + command
        order = {name: i for i, name in enumerate(args.pools.split(",") + [r["pool"] for r in old["runs"]])}
        rows.sort(key=lambda r: order[r["pool"]])
    doc = {"benchmark": "stopping_rules", "command": command,
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
           "settings": {"target": TARGET, "confidence": CONFIDENCE, "draws": args.draws, "cap": args.cap},
           "runs": rows}
    write_results(RESULTS / "stopping_rules.json", doc)
    (RESULTS / "stopping_rules.md").write_text(markdown(doc))
    print(markdown(doc))


def _variant_line(r: dict) -> str:
    w, e = r["recall"], r["estimate"]
    return (f"{r['pool']} {r['class']}: floor {r['floor']:,.0f} oracle {r['oracle']} recall {_x(w['labels_median'], r['floor'])} "
            f"(x audit hindsight {_x(w['labels_median'], r['audit_hindsight']['labels_median'] or math.nan)}; hand-over at "
            f"{w['hand_over_labels']}, recall {w['hand_over_recall']:.3f}, m {w['m']}, empty {w['sample_empty']}/{w['draws']}, "
            f"certified {w['certified']}, below {w['below']}); estimate {e['labels']} "
            f"({_x(e['labels'], r['oracle'] or math.nan)} oracle, recall {e['recall']})")


def _line(r: dict) -> str:
    out = _variant_line(r)
    return (out + f"; audit {_x(r['audit']['labels_median'], r['floor'])}, qbcb {_x(r['qbcb']['labels_median'], r['floor'])}, "
            f"buscar {_x(r['buscar']['labels'], r['floor'])}, recall hindsight "
            f"{_x(r['recall_hindsight']['labels_median'], r['floor'])}")


CERTIFIED_RULES = ("recall", "audit", "qbcb")  # replayed over audit or sample draws


def markdown(doc: dict) -> str:
    s = doc["settings"]
    lines = ["# Stopping on the default search's trajectories", "",
             f"`{doc['command'].strip()}`: recall {s['target']:g} at {s['confidence']:g}; {s['draws']} sample or "
             "audit draws per trajectory for the certified rules (each trajectory's figure is the median over its "
             "draws). Rules: **recall** (`recall:R@C`, the default certificate: search, a random sample of the "
             "rest, then the search races a longer sample), **audit** (`audit:R@C`), **QBCB** "
             "(`qbcb:R@C`), **BUSCAR** (no audit: it assumes the search beats random sampling), **estimate** "
             "(`estimate:R`, the search's own model, its head with C = 1, no guarantee; *estimate_head_0.01*: the same read "
             "on its head with C = 0.01, a variant) and the **knee** (no guarantee). Labels count the "
             "search's and the sample's or audit's.", "",
             "*Floor*: the fewest labels any rule valid at 95 % that certifies whenever nothing is hidden could "
             "stop at: the least over pages with recall >= 0.9 of q + u (1 - 0.05^(1/M)), M = floor(F/9) + 1 (see "
             "`floor_labels`). *Audit hindsight*: the audit after the hand-over that is cheapest in hindsight (not a "
             "rule; on long tails the fair yardstick, as the floor understates them). *Oracle*: the first page where "
             "the search's true recall reaches 0.9. *below*: certified draws with recall under 0.9, out of all "
             "draws (the guarantee bounds it by 5 %). *beyond the cap*: not certified within the recorded trajectory "
             "(for recall:R@C, whose race can go on past it, the search is taken to find nothing more after the cap; "
             "its *certified* count is then of draws certified at all).",
             ""]
    rows = [r for r in doc["runs"]]
    for pool in dict.fromkeys(r["pool"] for r in rows):
        rs = [r for r in rows if r["pool"] == pool]
        lines += [f"## {pool} ({len(rs)} trajectories)", "",
                  "| class | positives | recall at the cap | oracle | floor | recall: labels (x floor) | x audit "
                  "hindsight | hand-over (recall) | sample empty | below (95 % interval) | audit | QBCB | BUSCAR | "
                  "estimate: labels (x oracle, recall) | knee (recall) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            f, w, e = r["floor"], r["recall"], r["estimate"]
            a, q, b, k = r["audit"], r["qbcb"], r["buscar"], r["knee"]
            h = r["audit_hindsight"]["labels_median"]
            lo, hi = clopper_pearson(w["below"], w["draws"], 0.95)
            lines.append(
                f"| {r['class']} | {r['positives']} | {r['recall_at_cap']:.3f} | {r['oracle'] or '-'} | "
                f"{_n(f) if math.isfinite(f) else '- (never 0.9)'} | "
                f"{_n(w['labels_median'])} ({_x(w['labels_median'], f)}) | {_x(w['labels_median'], h or math.nan)} | "
                f"{w['hand_over_labels']:,} ({w['hand_over_recall']:.3f}){' forced' if w['forced'] else ''} | "
                f"{w['sample_empty']}/{w['draws']} | {w['below']}/{w['draws']} ({lo:.3f}-{hi:.3f}) | "
                f"{_x(a['labels_median'], f)} | {_x(q['labels_median'], f)} | {_x(b['labels'], f)} | "
                f"{_n(e['labels'])} ({_x(e['labels'], r['oracle'] or math.nan)}, "
                f"{'-' if e['recall'] is None else format(e['recall'], '.3f')}) | {_n(k['labels'])} "
                f"({'-' if k['recall'] is None else format(k['recall'], '.3f')}) |")
        lines.append("")
    lines += summary(rows)
    return "\n".join(lines) + "\n"


def summary(rows) -> list[str]:
    """Over the trajectories that reach 0.9 within their cap: each rule's median and worst
    ratio to the floor, to the audit hindsight and to the oracle, and its stops below 0.9."""
    rs = [r for r in rows if r["oracle"]]
    lines = [f"## Summary ({len(rs)} trajectories that reach 0.9 within the cap)", "",
             "| rule | median x floor | worst x floor | median x audit hindsight | worst x audit hindsight | "
             "median x oracle | certified | stops below 0.9 (95 % interval) |",
             "|---|---|---|---|---|---|---|---|"]
    for rule in ("recall", "audit", "qbcb", "buscar", "estimate", "estimate_head_0.01", "knee"):
        key = "labels_median" if rule in CERTIFIED_RULES else "labels"
        have = [r for r in rs if rule in r and (r[rule].get(key) is not None or rule in CERTIFIED_RULES)]

        def value(r):  # a certified rule whose median draw never certifies counts as never stopping
            return math.inf if r[rule].get(key) is None else r[rule][key]

        floor = [value(r) / r["floor"] for r in have]
        hind = [value(r) / r["audit_hindsight"]["labels_median"] for r in have if r["audit_hindsight"]["labels_median"]]
        oracle = [value(r) / r["oracle"] for r in have]
        if rule in CERTIFIED_RULES:  # the guarantee: P(certified and below) <= 1 - C, over all draws pooled
            below, n = sum(r[rule]["below"] for r in rs), sum(r[rule]["draws"] for r in rs)
            cert = f"{sum(r[rule]['certified'] for r in rs)}/{n} draws"
        else:
            below = sum(bool(r[rule]["recall"] is not None and r[rule]["recall"] < TARGET) for r in rs if rule in r)
            n = sum(r[rule]["recall"] is not None for r in rs if rule in r)
            cert = f"{n}/{len(rs)} trajectories stopped"
        lo, hi = clopper_pearson(below, n, 0.95) if n else (math.nan, math.nan)
        share = f"{below}/{n} ({lo:.3f}-{hi:.3f})" if n else "- (never stopped)"
        lines.append(f"| {rule} | {_med(floor)} | {_max(floor)} | {_med(hind)} | {_max(hind)} | {_med(oracle)} | "
                     f"{cert} | {share} |")
    return lines + [""]


def _n(v):
    return "beyond the cap" if v is None or not math.isfinite(v) else f"{v:,.0f}"


def _x(v, f):
    return "-" if v is None or not math.isfinite(f) else f"{v / f:.2f}x"


def _med(v):
    return "-" if not v else "never" if not np.isfinite(np.median(v)) else f"{np.median(v):.2f}x"


def _max(v):
    return "-" if not v else "never" if not np.isfinite(np.max(v)) else f"{np.max(v):.2f}x"


if __name__ == "__main__":
    main()
