"""Recall estimates and stopping rules in simulation: do the intervals cover, does the certificate hold?

Setup: all 70,000 Fashion-MNIST images (Debian's ``dataset-fashion-mnist`` plus the
built-in test split) embedded with the built-in encoder; each class in turn thinned to
1 % (636 positives among 63,636 items) and to 0.1 % (63 among 63,063); 5 seeds; ELSA
with the paper's settings and no epoch limit, run until ``--cap`` labels.

A stopping rule does not change what the search asks, and the audit sample is hidden
from the search, so one search trajectory per (class, prevalence, repeat) is recorded
(the items asked in order, and the Quant estimate after every oracle call), and the
rules and the audit estimates are replayed on it with many independent audit draws.
That is exact, not an approximation: it is what a run with that audit draw would have
done.

Reported:

* **Certified stop** (QBCB, ``recall:R@C`` with ``n`` target positives): per audit
  draw, the oracle call at which the search had found ``j`` of the ``n`` target
  positives. Share of draws certified within the cap; among all draws, the share that
  stopped with true recall below R (the guarantee: at most 1 - C); labels at the stop
  (the search's plus the audit's, an item labelled by both counted once) against the
  labels an oracle that knows the truth needs (the first oracle call at which the
  search's recall reaches R).
* **Knee**: labels and true recall at the knee stop.
* **Estimates along the run**: coverage of the 90 % interval of the search's recall
  (the share of (oracle call, draw) pairs with the truth inside) and the median width,
  for the audit estimate with 5 % and 10 % of each call's labels spent on audit items,
  and for the Quant estimate (no extra labels).
* A plot of estimated against true recall along one run.

    python -m benchmarks.stopping                 # 10 classes x 2 prevalences x 1 repeat
    python -m benchmarks.stopping --repeats 2 --draws 1000

Trajectories are cached in ``benchmarks/.cache/stopping/`` (a rerun only analyses).
Writes ``benchmarks/results/stopping.{json,md}`` and ``stopping_recall.png``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from elsa.datasets import CLASS_NAMES
from elsa.oracle import SimulatedOracle
from elsa.search import make_strategy
from elsa.simulation import draw_seeds, make_rare
from elsa.stopping import audit_estimate, knee_reached, min_target_positives, qbcb_threshold, quant_from_state

from .harness import ROOT, command, write_results
from .pools import fashion_mnist_encoded

RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / "benchmarks" / ".cache" / "stopping"
PREVALENCES = (0.01, 0.001)
CERTIFICATES = ((0.9, 0.95, None), (0.9, 0.95, 50), (0.8, 0.9, None), (0.8, 0.9, 30))
AUDIT_SHARES = (0.05, 0.10)
LEVEL = 0.9


def trajectory(X, labels, target, fraction, repeat, cap) -> dict:
    """One ELSA run on a thinned pool: items asked in order, round sizes, Quant after each call."""
    path = CACHE / f"c{target}-p{fraction:g}-r{repeat}-cap{cap}.npz"
    if path.exists():
        z = np.load(path)
        return {k: z[k] for k in z.files}
    rng = np.random.default_rng([target, int(fraction * 1e6), repeat])
    keep = make_rare(labels, target, fraction, rng)
    Xk, truth = X[keep], labels[keep] == target
    seeds = draw_seeds(truth, 5, rng)
    quant = []

    def on_round(rnd, state):
        e = quant_from_state(state, level=LEVEL)
        quant.append((math.nan, math.nan, math.nan) if e is None else (e.recall, e.recall_low, e.recall_high))

    t0 = time.perf_counter()
    result = make_strategy("elsa", epochs=None, budget=cap).run(
        Xk, seeds, SimulatedOracle(truth), random_state=rng, callback=on_round)
    out = {
        "truth": truth, "seeds": seeds, "asked": result.queried_ids,
        "round_sizes": np.array([r.ids.size for r in result.rounds]), "quant": np.array(quant),
        "seconds": np.array(time.perf_counter() - t0),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def analyse(t: dict, draws: int, rng: np.random.Generator) -> dict:
    truth, asked, sizes = t["truth"].astype(bool), t["asked"], t["round_sizes"]
    n, total = truth.size, int(truth.sum())
    ends = np.cumsum(sizes)  # labels spent after each oracle call
    hits = np.cumsum(truth[asked])
    known = len(t["seeds"]) + hits[ends - 1]  # positives the search knows after each call
    recall = known / total
    # when each item was asked by the search (oracle call index), inf if never
    call_of = np.full(n, np.inf)
    call_of[asked] = np.repeat(np.arange(sizes.size), sizes)
    call_of[t["seeds"]] = -1
    perms = np.array([rng.permutation(n) for _ in range(draws)])
    out: dict = {"total_positives": total, "labels": int(ends[-1]), "final_recall": float(recall[-1]),
                 "calls": int(sizes.size), "seconds": float(t["seconds"])}
    # --- certified stop ---
    cert = {}
    for target, conf, n_pos in CERTIFICATES:
        n_t = n_pos or min_target_positives(target, conf)
        j = qbcb_threshold(n_t, target, conf)
        oracle_call = np.flatnonzero(recall >= target)
        oracle_labels = int(ends[oracle_call[0]]) if oracle_call.size else None
        rows = []
        for perm in perms:
            pos_in_perm = np.flatnonzero(truth[perm])
            if pos_in_perm.size < n_t:
                rows.append((False, math.nan, math.nan, math.nan))
                continue
            audit = perm[: pos_in_perm[n_t - 1] + 1]
            targets = perm[pos_in_perm[:n_t]]
            stop_call = np.sort(call_of[targets])[j - 1]  # the call at which the j-th target was found
            if not np.isfinite(stop_call):
                rows.append((False, math.nan, math.nan, float(audit.size)))
                continue
            c = int(max(stop_call, 0))
            searched = asked[: ends[c]]
            labels_total = np.union1d(searched, audit).size
            rows.append((True, float(recall[c]), float(labels_total), float(audit.size)))
        rows_a = np.array(rows, dtype=float)
        stopped = rows_a[:, 0] == 1
        cert[f"recall:{target:g}@{conf:g} n={n_t}"] = {
            "target": target, "confidence": conf, "n": n_t, "j": j,
            "certified_share": float(stopped.mean()),
            "below_target_share": float((stopped & (rows_a[:, 1] < target)).mean()),
            # A draw not certified by the cap stops later, at a recall at least the recall at
            # the cap: when that is above the target it reaches the target too; otherwise it
            # is undecided (the run would have to go on).
            "undecided_share": float((~stopped).mean()) if recall[-1] < target else 0.0,
            "recall_at_stop_median": float(np.nanmedian(rows_a[stopped, 1])) if stopped.any() else None,
            "labels_at_stop_median": float(np.nanmedian(rows_a[stopped, 2])) if stopped.any() else None,
            "audit_labels_median": float(np.nanmedian(rows_a[:, 3])),
            "oracle_labels": oracle_labels,
        }
    out["certified"] = cert
    # --- knee ---
    curve = [(0, 0)] + [(int(e), int(hits[e - 1])) for e in ends]
    knee_call = next((i for i in range(1, len(curve)) if knee_reached(curve[: i + 1])), None)
    out["knee"] = None if knee_call is None else {"labels": int(ends[knee_call - 1]),
                                                  "recall": float(recall[knee_call - 1])}
    # --- estimates along the run ---
    est = {}
    for share in AUDIT_SHARES:
        m = np.cumsum(np.ceil(share * sizes)).astype(int)
        inside, widths = [], []
        for perm in perms[: max(1, draws // 10)]:
            for c in range(sizes.size):
                searched = call_of <= c
                e = audit_estimate(perm[: m[c]], truth[perm[: m[c]]], searched, int(known[c]), level=LEVEL)
                if math.isnan(e.recall):
                    continue
                inside.append(e.recall_low <= recall[c] <= e.recall_high)
                widths.append(e.recall_high - e.recall_low)
        est[f"audit {int(share * 100)} %"] = {"coverage": float(np.mean(inside)), "width_median": float(np.median(widths)),
                                              "extra_labels": int(m[-1])}
    q = t["quant"]
    ok = ~np.isnan(q[:, 0])
    est["quant"] = {"coverage": float(np.mean((q[ok, 1] <= recall[ok]) & (recall[ok] <= q[ok, 2]))),
                    "width_median": float(np.median(q[ok, 2] - q[ok, 1])),
                    "bias_median": float(np.median(q[ok, 0] - recall[ok])), "extra_labels": 0}
    out["estimates"] = est
    return out


def plot_run(t: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth, asked, sizes = t["truth"].astype(bool), t["asked"], t["round_sizes"]
    ends = np.cumsum(sizes)
    known = len(t["seeds"]) + np.cumsum(truth[asked])[ends - 1]
    recall = known / truth.sum()
    call_of = np.full(truth.size, np.inf)
    call_of[asked] = np.repeat(np.arange(sizes.size), sizes)
    call_of[t["seeds"]] = -1
    perm = np.random.default_rng(0).permutation(truth.size)
    m = np.cumsum(np.ceil(0.10 * sizes)).astype(int)
    audit = np.array([[getattr(audit_estimate(perm[: m[c]], truth[perm[: m[c]]], call_of <= c, int(known[c]),
                                              level=LEVEL), k) for k in ("recall", "recall_low", "recall_high")]
                      for c in range(sizes.size)])
    q = t["quant"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(ends, recall, color="black", lw=2, label="true recall")
    ax.plot(ends, audit[:, 0], color="tab:blue", label="audit estimate (10 % extra labels)")
    ax.fill_between(ends, audit[:, 1], audit[:, 2], color="tab:blue", alpha=0.2, label="audit 90 % interval")
    ax.plot(ends, q[:, 0], color="tab:orange", label="Quant estimate (no extra labels)")
    ax.fill_between(ends, q[:, 1], q[:, 2], color="tab:orange", alpha=0.3, label="Quant 90 % interval")
    ax.set_xlabel("labels spent by the search")
    ax.set_ylabel("recall (seeds included)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--draws", type=int, default=500, help="audit draws per trajectory")
    ap.add_argument("--cap", type=int, default=20000, help="labels per search trajectory")
    ap.add_argument("--classes", default="0,1,2,3,4,5,6,7,8,9")
    ap.add_argument("--prevalences", default=",".join(f"{p:g}" for p in PREVALENCES))
    ap.add_argument("--only-trajectories", action="store_true", help="record trajectories, skip the analysis")
    args = ap.parse_args()
    X, labels = fashion_mnist_encoded()
    classes = [int(c) for c in args.classes.split(",")]
    prevalences = [float(p) for p in args.prevalences.split(",")]
    rows = []
    for fraction in prevalences:
        for target in classes:
            for repeat in range(args.repeats):
                t = trajectory(X, labels, target, fraction, repeat, args.cap)
                print(f"class {target} at {fraction:g}, repeat {repeat}: {t['asked'].size} labels, "
                      f"{float(t['seconds']):.0f} s", flush=True)
                if args.only_trajectories:
                    continue
                a = analyse(t, args.draws, np.random.default_rng([target, repeat, 7]))
                rows.append({"class": target, "fraction": fraction, "repeat": repeat, **a})
    if args.only_trajectories:
        return
    summary = summarise(rows)
    doc = {"benchmark": "stopping", "command": command(),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
           "settings": {"cap": args.cap, "draws": args.draws, "repeats": args.repeats, "level": LEVEL,
                        "seeds": 5, "strategy": "elsa (paper settings, no epoch limit)"},
           "summary": summary, "runs": rows}
    write_results(RESULTS / "stopping.json", doc)
    (RESULTS / "stopping.md").write_text(markdown(doc))
    t = trajectory(X, labels, classes[0], prevalences[0], 0, args.cap)
    plot_run(t, RESULTS / "stopping_recall.png",
             f"ELSA on Fashion-MNIST, '{CLASS_NAMES[classes[0]]}' at {100 * prevalences[0]:g} % "
             f"({int(t['truth'].sum())} positives), 5 seeds")
    print(markdown(doc))


def summarise(rows: list[dict]) -> dict:
    out = {}
    for fraction in sorted({r["fraction"] for r in rows}, reverse=True):
        rs = [r for r in rows if r["fraction"] == fraction]
        s: dict = {"trajectories": len(rs), "positives_median": float(np.median([r["total_positives"] for r in rs])),
                   "final_recall_median": float(np.median([r["final_recall"] for r in rs]))}
        cert = {}
        for key in rs[0]["certified"]:
            c = [r["certified"][key] for r in rs]
            ratio = [x["labels_at_stop_median"] / x["oracle_labels"] for x in c
                     if x["labels_at_stop_median"] is not None and x["oracle_labels"]]
            cert[key] = {
                "confidence": c[0]["confidence"], "target": c[0]["target"], "n": c[0]["n"], "j": c[0]["j"],
                "certified_share": float(np.mean([x["certified_share"] for x in c])),
                "below_target_share": float(np.mean([x["below_target_share"] for x in c])),
                "below_target_share_max": float(np.max([x["below_target_share"] for x in c])),
                "reaches_target_at_least": 1 - float(np.mean([x["below_target_share"] + x["undecided_share"] for x in c])),
                "reaches_target_at_most": 1 - float(np.mean([x["below_target_share"] for x in c])),
                "undecided_share": float(np.mean([x["undecided_share"] for x in c])),
                "recall_at_stop_median": _median([x["recall_at_stop_median"] for x in c]),
                "labels_at_stop_median": _median([x["labels_at_stop_median"] for x in c]),
                "oracle_labels_median": _median([x["oracle_labels"] for x in c]),
                "audit_labels_median": _median([x["audit_labels_median"] for x in c]),
                "cost_ratio_median": _median(ratio),
                "oracle_reached_share": float(np.mean([x["oracle_labels"] is not None for x in c])),
            }
        s["certified"] = cert
        knees = [r["knee"] for r in rs if r["knee"] is not None]
        s["knee"] = {"fired_share": len(knees) / len(rs), "labels_median": _median([k["labels"] for k in knees]),
                     "recall_median": _median([k["recall"] for k in knees]),
                     "recall_min": float(np.min([k["recall"] for k in knees])) if knees else None}
        s["estimates"] = {key: {"coverage": float(np.mean([r["estimates"][key]["coverage"] for r in rs])),
                                "width_median": float(np.median([r["estimates"][key]["width_median"] for r in rs])),
                                "extra_labels_median": float(np.median([r["estimates"][key]["extra_labels"] for r in rs]))}
                          for key in rs[0]["estimates"]}
        s["estimates"]["quant"]["bias_median"] = float(np.median([r["estimates"]["quant"]["bias_median"] for r in rs]))
        out[f"{fraction:g}"] = s
    return out


def _median(values):
    v = [x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(np.median(v)) if v else None


def markdown(doc: dict) -> str:
    st = doc["settings"]
    lines = ["# Recall estimates and stopping rules (Fashion-MNIST, ELSA)", "",
             f"`{doc['command'].strip()}`: each class thinned to the prevalence, 5 seeds, ELSA (paper settings, no "
             f"epoch limit) run to {st['cap']:,} labels; {st['repeats']} trajectory per class; rules and audit "
             f"estimates replayed on each trajectory with {st['draws']} independent audit draws (estimates: "
             f"{max(1, st['draws'] // 10)}). Recall counts the seeds.", ""]
    for fraction, s in doc["summary"].items():
        lines += [f"## Prevalence {float(fraction) * 100:g} % ({s['positives_median']:.0f} positives; "
                  f"{s['trajectories']} trajectories, median recall at the cap {s['final_recall_median']:.3f})", "",
                  "**Certified stop (QBCB).** *Certified below target*: the share of audit draws that certified "
                  "while the true recall was under the target; the guarantee bounds it by 1 - confidence "
                  f"(*allowed*; with {st['draws']} draws the standard error of one trajectory's share near 0.05 is "
                  f"{math.sqrt(0.05 * 0.95 / st['draws']):.3f}). *Undecided*: draws not certified within the cap on "
                  "a trajectory whose recall at the cap is still under the target (run longer, they would stop "
                  "either way); every other draw reaches the target, so the share reaching it lies between "
                  "1 - below - undecided and 1 - below. *Cost*: labels at the stop (search + audit, an item "
                  "labelled by both counted once) over the labels an oracle knowing the truth needs to reach the "
                  "target; medians over trajectories of the median over certified draws.", "",
                  "| rule | n | j | allowed | certified below target (mean / worst class) | undecided | certified "
                  "within cap | recall at stop | labels at stop | audit labels | oracle labels | cost |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for key, c in s["certified"].items():
            lines.append(
                f"| {key.split(' ')[0]} | {c['n']} | {c['j']} | {1 - c['confidence']:.2f} | "
                f"{c['below_target_share']:.3f} / {c['below_target_share_max']:.3f} | {c['undecided_share']:.2f} | "
                f"{c['certified_share']:.2f} | "
                f"{_fmt(c['recall_at_stop_median'], '.3f')} | {_fmt(c['labels_at_stop_median'], ',.0f')} | "
                f"{_fmt(c['audit_labels_median'], ',.0f')} | {_fmt(c['oracle_labels_median'], ',.0f')} | "
                f"{_fmt(c['cost_ratio_median'], '.2f')}x |")
        k = s["knee"]
        lines += ["", f"**Knee.** Fired in {k['fired_share']:.0%} of trajectories, at a median "
                  f"{_fmt(k['labels_median'], ',.0f')} labels with median recall {_fmt(k['recall_median'], '.3f')} "
                  f"(lowest {_fmt(k['recall_min'], '.3f')}).", "",
                  "**Estimates along the run** (90 % intervals of the search's recall, after every oracle call):", "",
                  "| estimate | coverage | median width | extra labels (median) |", "|---|---|---|---|"]
        for key, e in s["estimates"].items():
            lines.append(f"| {key} | {e['coverage']:.3f} | {e['width_median']:.3f} | {e['extra_labels_median']:,.0f} |")
        lines.append(f"\nQuant's median bias (estimate - truth): {s['estimates']['quant']['bias_median']:+.3f}.\n")
    return "\n".join(lines) + "\n"


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


if __name__ == "__main__":
    main()
