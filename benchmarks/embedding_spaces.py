"""ELSA on different embedding spaces of Fashion-MNIST (the analogue of the paper's Table 5; issue 4).

Spaces: raw pixels (784-d, scaled to [0, 1]); the built-in EfficientNet-Lite0 (ImageNet
weights, 64 px, 1280-d); and VICReg, Barlow Twins and SimSiam trained here, on the
CPU, on the 70,000 unlabelled images with ``elsa.ssl`` defaults (narrow ResNet, 32 px)
for ``--epochs`` epochs, each used in its embedding space (encoder output, 256-d) and
its latent space (projector output, 1024-d). Training time is reported with each.

For every space, each class in turn is thinned to 1 % (636 positives among 63,636
items), 5 seeds are drawn, and ELSA spends 2,000 labels; the positives found within
250, 500, 1,000 and 2,000 labels are recorded (``simulate``'s ``found_at``). Seeds are
drawn from the same random state for every space, so runs are paired. Also reported:
10-NN label purity of each space (over all 70,000 images), a label-free-to-compute
diagnostic of how well the space separates the classes.

    python -m benchmarks.embedding_spaces                    # about 1.7 h on 2 cores
    python -m benchmarks.embedding_spaces --spaces simsiam-embedding simsiam-projector   # add or redo some
    python -m benchmarks.embedding_spaces --summarize

Writes ``benchmarks/results/embedding_spaces.{json,md}``. Trained checkpoints are kept in
``$ELSA_CACHE_DIR/ssl-benchmark`` (default ``~/.cache/elsa``), so a re-run resumes or
reuses them.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.datasets import CLASS_NAMES, load_fashion_mnist
from elsa.embeddings import OnnxImageEncoder, TorchImageEncoder, embed_array
from elsa.embeddings.pipeline import cache_dir
from elsa.index import ExactIndex
from elsa.metrics import quartiles
from elsa.simulation import make_rare, simulate

from .harness import write_results

RESULTS = Path(__file__).resolve().parent / "results"
BUDGETS = (250, 500, 1000, 2000)
SPACES = ("raw", "builtin", "vicreg-embedding", "vicreg-projector", "barlowtwins-embedding",
          "barlowtwins-projector", "simsiam-embedding", "simsiam-projector")


def knn_purity(X: np.ndarray, labels: np.ndarray, k: int = 10, sample: int = 5000) -> float:
    """Share of the k nearest neighbours (of ``sample`` random items) with the item's label."""
    rng = np.random.default_rng(0)
    q = rng.choice(X.shape[0], size=min(sample, X.shape[0]), replace=False)
    _, ids = ExactIndex(X).search(X[q], k, query_ids=q)
    return float((labels[ids] == labels[q, None]).mean())


def trained_space(method: str, space: str, images, epochs: int) -> tuple[np.ndarray, dict]:
    from elsa.ssl import TrainConfig, train
    from elsa.ssl.trainer import load_checkpoint

    folder = cache_dir().parent / "ssl-benchmark" / f"{method}-e{epochs}"
    ckpt_file = folder / "checkpoint.pt"
    if not (ckpt_file.exists() and load_checkpoint(ckpt_file)["finished"]):
        train(images, TrainConfig(method=method, epochs=epochs), folder, resume=ckpt_file.exists())
    ckpt = load_checkpoint(ckpt_file)
    log = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    epochs_log = [r for r in log if r["event"] == "epoch"]
    encoder = TorchImageEncoder(folder, space=space)
    started = time.perf_counter()
    X = embed_array(images, encoder, desc=f"embedding with {method} ({space})").vectors
    info = {"train_seconds": ckpt["seconds"], "epochs": epochs, "steps": ckpt["step"],
            "loss_first_epoch": epochs_log[0]["loss"], "loss_last_epoch": epochs_log[-1]["loss"],
            "train_images_per_s": float(np.median([r["images_per_s"] for r in epochs_log])),
            "embed_seconds": time.perf_counter() - started}
    return X, info


def make_space(name: str, images, epochs: int) -> tuple[np.ndarray, dict]:
    if name == "raw":
        return images.reshape(images.shape[0], -1).astype(np.float32) / 255.0, {}
    if name == "builtin":
        started = time.perf_counter()
        X = embed_array(images, OnnxImageEncoder(), desc="embedding with the built-in encoder").vectors
        return X, {"embed_seconds": time.perf_counter() - started}
    method, space = name.split("-")
    return trained_space(method, space, images, epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spaces", nargs="+", default=list(SPACES), choices=SPACES)
    parser.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args()
    out_json, out_md = RESULTS / "embedding_spaces.json", RESULTS / "embedding_spaces.md"
    if not args.summarize:
        run(args, out_json)
    md = summarize(json.loads(out_json.read_text()))
    out_md.write_text(md)
    print(md)


def run(args, out: Path) -> None:
    images, labels = load_fashion_mnist("all")
    doc = json.loads(out.read_text()) if out.exists() else {"meta": {}, "spaces": {}, "rows": []}
    doc["meta"] = {"machine": platform.platform(), "runs": args.runs, "seeds": args.seeds, "budgets": list(BUDGETS),
                   "rarity": 0.01, "epochs": args.epochs}
    for name in args.spaces:
        X, info = make_space(name, images, args.epochs)
        info.update(dim=int(X.shape[1]), knn10_purity=knn_purity(X, labels))
        print(f"{name}: {X.shape}, 10-NN purity {info['knn10_purity']:.3f}", flush=True)
        doc["rows"] = [r for r in doc["rows"] if r["space"] != name]
        started = time.perf_counter()
        for c in args.classes:
            keep = make_rare(labels, c, 0.01, random_state=c)
            res = simulate(X[keep], labels[keep], c, SearchPlan("elsa", budget=max(BUDGETS), epochs=1000, random_state=1000 + c),
                           seeds=args.seeds, trial=Trial(repeats=args.runs, found_at=BUDGETS))
            doc["rows"] += [{"space": name, "cls": c, "run": i, "total": r["total_positives"], "found_at": r["found_at"],
                             "queries": r["queries"], "seconds": r["seconds"]} for i, r in enumerate(res["runs"])]
            print(f"  {name} class {c}: found at 2000 {[r['found_at']['2000'] for r in res['runs']]}, "
                  f"{sum(r['seconds'] for r in res['runs']):.0f} s", flush=True)
        info["search_seconds"] = time.perf_counter() - started
        doc["spaces"][name] = info
        doc = write_results(out, doc, indent=None)
        print(f"{name} done in {info['search_seconds']:.0f} s", flush=True)


def summarize(doc: dict) -> str:
    meta, rows = doc["meta"], doc["rows"]
    classes = sorted({r["cls"] for r in rows})
    lines = [
        "# ELSA across embedding spaces (Fashion-MNIST, 1 % rarity)",
        "",
        f"Generated by `python -m benchmarks.embedding_spaces` on {meta['machine']}. Each class thinned to 1 % "
        f"(636 positives in 63,636 items), {meta['seeds']} seeds, {meta['runs']} runs per class, ELSA with a "
        "2,000-label budget. *Found at B*: positives found within B labels, median over classes of each class's "
        "median (the median class). Discovery = (seeds + found) / positives and Le = found / labels, both at 2,000 "
        "labels, medians over all runs. Self-supervised models trained on the 70,000 unlabelled images for "
        f"{meta['epochs']} epochs on this machine's CPU (2 cores).",
        "",
        "| space | dim | 10-NN purity | training | " + " | ".join(f"found at {b}" for b in BUDGETS)
        + " | discovery | Le |",
        "|---|---|---|---|" + "---|" * (len(BUDGETS) + 2),
    ]
    for name in SPACES:
        rs = [r for r in rows if r["space"] == name]
        if not rs:
            continue
        info = doc["spaces"][name]
        cells = []
        for b in BUDGETS:
            per_class = [quartiles(r["found_at"][str(b)] for r in rs if r["cls"] == c)["median"] for c in classes]
            cells.append(f"{np.median(per_class):.0f}")
        disc = quartiles((meta["seeds"] + r["found_at"]["2000"]) / r["total"] for r in rs)["median"]
        le = quartiles(r["found_at"]["2000"] / max(BUDGETS) for r in rs)["median"]
        train = f"{info['train_seconds'] / 60:.0f} min" if "train_seconds" in info else "-"
        lines.append(f"| {name} | {info['dim']} | {info['knn10_purity']:.3f} | {train} | " + " | ".join(cells)
                     + f" | {disc:.3f} | {le:.3f} |")
    base = {(r["cls"], r["run"]): r["found_at"] for r in rows if r["space"] == "builtin"}
    if base:
        lines += ["", "Paired with the built-in encoder (same class, same seeds): runs where the space finds more "
                  "positives than the built-in encoder within the budget, of all runs.", "",
                  "| space | " + " | ".join(str(b) for b in BUDGETS) + " |", "|---|" + "---|" * len(BUDGETS)]
        for name in SPACES:
            other = {(r["cls"], r["run"]): r["found_at"] for r in rows if r["space"] == name}
            if name == "builtin" or not other:
                continue
            keys = [k for k in base if k in other]
            lines.append(f"| {name} | " + " | ".join(
                f"{sum(other[k][str(b)] > base[k][str(b)] for k in keys)} of {len(keys)}" for b in BUDGETS) + " |")
    lines += ["", "Per class, positives found at 2,000 labels (median over runs):", "",
              "| space | " + " | ".join(CLASS_NAMES[c] for c in classes) + " |", "|---|" + "---|" * len(classes)]
    for name in SPACES:
        rs = [r for r in rows if r["space"] == name]
        if rs:
            lines.append(f"| {name} | " + " | ".join(
                f"{quartiles(r['found_at']['2000'] for r in rs if r['cls'] == c)['median']:.0f}" for c in classes) + " |")
    trained = {k: v for k, v in doc["spaces"].items() if "train_seconds" in v}
    if trained:
        lines += ["", "Training (one model per method; both of its spaces come from the same run):", "",
                  "| model | epochs | steps | minutes | images/s | loss, first epoch | loss, last epoch |",
                  "|---|---|---|---|---|---|---|"]
        for name, info in trained.items():
            if name.endswith("-embedding"):
                lines.append(f"| {name.split('-')[0]} | {info['epochs']} | {info['steps']} | "
                             f"{info['train_seconds'] / 60:.1f} | {info['train_images_per_s']:.0f} | "
                             f"{info['loss_first_epoch']:.4g} | {info['loss_last_epoch']:.4g} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
