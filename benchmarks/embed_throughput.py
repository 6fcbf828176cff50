"""Embedding throughput of the built-in encoder on this machine (images/s), against bare inference.

Every figure that the goals compare is a ratio measured in the same run, against bare
onnxruntime inference of EfficientNet-Lite0 on ready-made tensors of the same images
at the same size and batch size.

* **Arrays** (``embed_array``, the demo's path): the built-in Fashion-MNIST test split,
  2,048 images per size, preprocessing overlapped with inference, no cache.
* **Batch size**: bare inference at 64 and 224 px for batches of 16 to 256.
* **Folders, cold** (``elsa embed``'s pipeline, ``embed_folder``: hash each file,
  decode, resize, embed, commit vectors to the SQLite cache, write a memory-mapped
  ``.npy``), each with a fresh cache, at 64 and 224 px:

  - ``png-28``: the 2,048 Fashion-MNIST images as 28 x 28 PNG files;
  - ``jpeg-1024x768``: 256 generated photographs (smooth shapes and noise, JPEG
    quality 90, about 0.2 MB each);
  - ``jpeg-4000x3000``: 24 generated 12-megapixel photographs (about 3 MB each).

  Also timed, one thread, per image: reading and hashing the file, decoding it (a JPEG
  at libjpeg's reduced scale, Pillow's ``draft``), resizing and normalising it, and the
  inference itself per image on two cores: where the time goes.
* **Cached re-runs**: 10,000 unchanged PNG files embedded again (every vector from the
  cache) against their cold run; and 300 files through the real ``elsa embed`` in a
  subprocess, wall time including start-up (imports, the encoder's fingerprint), cold
  and cached.

Medians of ``--repeats`` (default 3) where a run is short enough to repeat.

    python -m benchmarks.embed_throughput [--quick]

Writes ``benchmarks/results/embed_throughput.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from elsa.datasets import load_fashion_mnist
from elsa.embeddings import OnnxImageEncoder, embed_array, embed_folder
from elsa.embeddings.encoder import BATCH_SIZE
from elsa.embeddings.images import open_rgb

from .harness import ROOT, write_results

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (64, 224)


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def bare_inference(encoder: OnnxImageEncoder, tensors: np.ndarray, n: int) -> float:
    """Images/s of ``encoder.embed_prepared`` alone over ``n`` images cycled from ``tensors``."""
    bs = encoder.batch_size
    batches = [tensors[i:i + bs] for i in range(0, len(tensors), bs) if len(tensors[i:i + bs]) == bs] or [tensors]
    encoder.embed_prepared(batches[0])  # warm-up: the session is created here
    done, t0 = 0, time.perf_counter()
    while done < n:
        b = batches[(done // bs) % len(batches)]
        encoder.embed_prepared(b)
        done += len(b)
    return rate(done, time.perf_counter() - t0)


def arrays_section(images: np.ndarray, repeats: int) -> list[dict]:
    rows = []
    for size in (64, 128, 224):
        encoder = OnnxImageEncoder(image_size=size)
        tensors = encoder.prepare_batch(images[: encoder.batch_size])
        end_to_end, inference = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            embed_array(images, encoder, progress=False, use_cache=False)
            end_to_end.append(rate(len(images), time.perf_counter() - t0))
            inference.append(bare_inference(encoder, tensors, len(images)))
        rows.append({"image_size": size, "end_to_end_images_per_s": float(np.median(end_to_end)),
                     "inference_images_per_s": float(np.median(inference))})
        print(rows[-1], flush=True)
    return rows


def batch_section(images: np.ndarray, n: int) -> list[dict]:
    rows = []
    for size in SIZES:
        for bs in (16, 32, 64, 128, 256):
            encoder = OnnxImageEncoder(image_size=size, batch_size=bs)
            tensors = encoder.prepare_batch(images[:bs])
            rows.append({"image_size": size, "batch_size": bs,
                         "inference_images_per_s": bare_inference(encoder, tensors, max(n // (4 if size > 64 else 1),
                                                                                         bs))})
            print(rows[-1], flush=True)
    return rows


def photographs(folder: Path, count: int, width: int, height: int, seed: int) -> None:
    """``count`` JPEGs that compress like photographs: smooth colour fields, edges, fine noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(count):
        coarse = Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)).resize((width, height),
                                                                                         Image.BICUBIC)
        pixels = np.asarray(coarse, dtype=np.int16)
        pixels[height // 3: height // 2, width // 4: width // 2] //= 2  # an object with hard edges
        pixels += rng.integers(-6, 7, pixels.shape, dtype=np.int16)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / f"{i:05d}.jpg", quality=90)


def pngs(folder: Path, images: np.ndarray) -> None:
    for i, im in enumerate(images):
        sub = folder / f"{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(im).save(sub / f"{i:05d}.png")


def breakdown(paths: list[Path], encoder: OnnxImageEncoder) -> dict:
    """Milliseconds per image, one thread: read + SHA-256, decode, resize + normalise."""
    t0 = time.perf_counter()
    for p in paths:
        hashlib.sha256(p.read_bytes()).hexdigest()
    t1 = time.perf_counter()
    decoded = [open_rgb(p, encoder.image_size) for p in paths]
    t2 = time.perf_counter()
    for i in range(0, len(decoded), encoder.batch_size):
        encoder.prepare_batch(decoded[i:i + encoder.batch_size])
    t3 = time.perf_counter()
    n = len(paths)
    return {"hash_ms": 1e3 * (t1 - t0) / n, "decode_ms": 1e3 * (t2 - t1) / n, "prepare_ms": 1e3 * (t3 - t2) / n}


def folder_section(tmp: Path, images: np.ndarray, repeats: int, quick: bool) -> list[dict]:
    kinds = {"png-28": (lambda f: pngs(f, images)),
             "jpeg-1024x768": (lambda f: photographs(f, 64 if quick else 256, 1024, 768, 1)),
             "jpeg-4000x3000": (lambda f: photographs(f, 6 if quick else 24, 4000, 3000, 2))}
    rows = []
    for kind, make in kinds.items():
        root = tmp / kind
        make(root)
        paths = sorted(p for p in root.rglob("*") if p.is_file())
        mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
        for size in SIZES:
            encoder = OnnxImageEncoder(image_size=size)
            sample = paths[: encoder.batch_size]
            tensors = encoder.prepare_batch([open_rgb(p, size) for p in sample])
            cold, bare = [], []
            for r in range(repeats):
                os.environ["ELSA_CACHE_DIR"] = str(tmp / f"cache-{kind}-{size}-{r}")
                t0 = time.perf_counter()
                emb = embed_folder(root, encoder, out=tmp / "e.npy", progress=False)
                cold.append(rate(len(emb.items), time.perf_counter() - t0))
                bare.append(bare_inference(encoder, tensors, min(len(paths), 1024)))
            parts = breakdown(sample[:64], encoder)
            parts["inference_ms"] = 1e3 / float(np.median(bare))
            # What these cores allow: inference takes every core, and the one-thread work per
            # image (hash, decode, prepare) takes its share of the same cores.
            core_ms = (os.cpu_count() or 1) * parts["inference_ms"]
            parts["ceiling"] = core_ms / (core_ms + parts["hash_ms"] + parts["decode_ms"] + parts["prepare_ms"])
            rows.append({"kind": kind, "image_size": size, "files": len(paths), "mb_per_file": mb,
                         "cold_images_per_s": float(np.median(cold)), "bare_inference_images_per_s": float(np.median(bare)),
                         "ratio": float(np.median(cold)) / float(np.median(bare)), **parts})
            print(rows[-1], flush=True)
    return rows


def elsa_embed(folder: Path, out: Path, cache: Path) -> float:
    env = {**os.environ, "ELSA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "elsa", "embed", str(folder), "--out", str(out), "--quiet"], env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def cached_section(tmp: Path, quick: bool, repeats: int) -> dict:
    many = load_fashion_mnist("test")[0][: 2000 if quick else 10000]
    root = tmp / "many"
    pngs(root, many)
    os.environ["ELSA_CACHE_DIR"] = str(tmp / "cache-many")
    encoder = OnnxImageEncoder(image_size=64)
    t0 = time.perf_counter()
    embed_folder(root, encoder, out=tmp / "m.npy", progress=False)
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeats):
        encoder = OnnxImageEncoder(image_size=64)  # a new run: a new encoder, whose session is never opened
        t0 = time.perf_counter()
        emb = embed_folder(root, encoder, out=tmp / "m.npy", progress=False)
        warm.append(time.perf_counter() - t0)
        assert emb.from_cache and "_session" not in encoder.__dict__, "a cached re-run opened the ONNX session"
    small = tmp / "small"
    pngs(small, many[:300])
    cli_cold = elsa_embed(small, tmp / "s.npy", tmp / "cache-small")
    cli_warm = float(np.median([elsa_embed(small, tmp / "s.npy", tmp / "cache-small") for _ in range(repeats)]))
    doc = {"files": len(many), "cold_s": cold, "warm_s": float(np.median(warm)),
           "warm_over_cold": float(np.median(warm)) / cold,
           "cli_300_cold_s": cli_cold, "cli_300_warm_s": cli_warm}
    print(doc, flush=True)
    return doc


def write_markdown(doc: dict) -> str:
    lines = [
        "# Embedding throughput of the built-in encoder (EfficientNet-Lite0, ONNX, CPU)",
        "",
        f"Generated by `python -m benchmarks.embed_throughput` on {doc['cpus']} cores. Every ratio compares two "
        "figures measured in the same run; bare inference is onnxruntime on ready-made tensors of the same images "
        f"at the same size and batch size ({BATCH_SIZE}, the default).",
        "",
        f"## Arrays ({doc['images']} Fashion-MNIST images, `embed_array`, median of {doc['repeats']})",
        "",
        "| input size | end to end (images/s) | inference only (images/s) | ratio |",
        "|---|---|---|---|",
    ] + [f"| {r['image_size']} px | {r['end_to_end_images_per_s']:.0f} | {r['inference_images_per_s']:.0f} | "
         f"{r['end_to_end_images_per_s'] / r['inference_images_per_s']:.2f} |" for r in doc["rows"]]
    lines += ["", "## Batch size (bare inference, images/s)", "",
              "| input size | " + " | ".join(str(b) for b in sorted({r["batch_size"] for r in doc["batch"]})) + " |",
              "|---|" + "---|" * len({r["batch_size"] for r in doc["batch"]})]
    for size in SIZES:
        cells = [f"{r['inference_images_per_s']:.0f}" for r in doc["batch"] if r["image_size"] == size]
        lines.append(f"| {size} px | " + " | ".join(cells) + " |")
    lines += ["", "## Folders, cold (`embed_folder`: hash, decode, resize, embed, cache, write the .npy)", "",
              "Milliseconds per image: read and hash, decode, resize and normalise (one thread each), and "
              "inference (two cores).", "",
              "*Ceiling* is what these cores allow if the rest were free and perfectly overlapped: inference "
              "needs every core for *inference ms* per image, and hashing, decoding and preparing take their "
              "share of the same cores, so cold / bare cannot pass cores x inference / (cores x inference + hash + "
              "decode + prepare). Where decoding costs more than a tenth of inference, 90 % of bare inference "
              "needs more cores than the model uses.", "",
              "| files | size | cold (images/s) | bare inference (images/s) | cold / bare | ceiling | hash ms | "
              "decode ms | prepare ms | inference ms |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["folders"]:
        lines.append(f"| {r['files']} x {r['kind']} ({r['mb_per_file']:.2f} MB) | {r['image_size']} px | "
                     f"{r['cold_images_per_s']:.0f} | {r['bare_inference_images_per_s']:.0f} | {r['ratio']:.2f} | "
                     f"{r['ceiling']:.2f} | "
                     f"{r['hash_ms']:.2f} | {r['decode_ms']:.2f} | {r['prepare_ms']:.2f} | {r['inference_ms']:.2f} |")
    c = doc["cached"]
    lines += ["", "## Cached re-runs", "",
              "| run | seconds |", "|---|---|",
              f"| {c['files']} PNG files at 64 px, cold | {c['cold_s']:.2f} |",
              f"| the same, unchanged: every vector from the cache (no ONNX session, no decoding) | {c['warm_s']:.2f} "
              f"({c['warm_over_cold']:.3f}x the cold run) |",
              f"| `elsa embed` on 300 files, cold, wall time with start-up | {c['cli_300_cold_s']:.2f} |",
              f"| `elsa embed` on the same 300 files, cached, wall time with start-up | {c['cli_300_warm_s']:.2f} |"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer images: a smoke check, not for the results")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    images = load_fashion_mnist("test")[0][: 512 if args.quick else 2048]
    doc = {"machine": platform.platform(), "cpus": os.cpu_count(), "images": len(images), "repeats": args.repeats}
    doc["rows"] = arrays_section(images, args.repeats)
    doc["batch"] = batch_section(images, len(images))
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.environ.get("ELSA_CACHE_DIR")
        try:
            doc["folders"] = folder_section(Path(tmp), images, args.repeats, args.quick)
            doc["cached"] = cached_section(Path(tmp), args.quick, args.repeats)
        finally:
            if saved is None:
                os.environ.pop("ELSA_CACHE_DIR", None)
            else:
                os.environ["ELSA_CACHE_DIR"] = saved
    text = write_markdown(doc)
    print(text)
    if not args.quick:
        write_results(RESULTS / "embed_throughput.json", doc, argv)
        (RESULTS / "embed_throughput.md").write_text(text)


if __name__ == "__main__":
    main()
