"""Embedding a folder of images or an array of images, with a progress bar and a cache.

Decoding of the next batch runs in a worker thread while the current batch is in
inference. Results are cached under ``$ELSA_CACHE_DIR`` (default
``~/.cache/elsa``), keyed by the encoder's fingerprint (model file and
preprocessing) and the input's contents, so a second run over the same images is
instant and a changed image invalidates the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .._io import save_npy, write_json
from ..exceptions import EmptyPoolError, InputError
from .encoder import OnnxImageEncoder
from .images import Skipped, find_images, open_rgb


@dataclass
class Embeddings:
    """Embeddings with the item behind each row."""

    vectors: np.ndarray
    items: list[str]
    skipped: list[Skipped] = field(default_factory=list)
    from_cache: bool = False


def cache_dir() -> Path:
    return Path(os.environ.get("ELSA_CACHE_DIR") or Path.home() / ".cache" / "elsa") / "embeddings"


def _cache_load(key: str) -> Embeddings | None:
    vec_path, meta_path = cache_dir() / f"{key}.npy", cache_dir() / f"{key}.json"
    if not (vec_path.exists() and meta_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        vectors = np.load(vec_path)
    except (OSError, ValueError):
        return None  # a damaged cache entry is recomputed, never trusted
    if vectors.shape[0] != len(meta["items"]):
        return None
    skipped = [Skipped(**s) for s in meta.get("skipped", [])]
    return Embeddings(vectors, meta["items"], skipped, from_cache=True)


def _cache_store(key: str, result: Embeddings) -> None:
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        save_npy(cache_dir() / f"{key}.npy", result.vectors)
        write_json(cache_dir() / f"{key}.json", {"items": result.items, "skipped": [s.__dict__ for s in result.skipped]})
    except OSError:
        pass  # an unwritable cache only costs speed next time


def _run_batches(encoder: OnnxImageEncoder, n: int, prepare_batch, desc: str, progress: bool) -> list[np.ndarray]:
    """Embed ``n`` items in batches; ``prepare_batch(start, stop)`` decodes in a worker thread."""
    starts = list(range(0, n, encoder.batch_size))
    outputs = []
    with ThreadPoolExecutor(max_workers=1) as pool, tqdm(
        total=n, desc=desc, unit="img", disable=not progress, dynamic_ncols=True
    ) as bar:
        pending = pool.submit(prepare_batch, starts[0], min(starts[0] + encoder.batch_size, n)) if starts else None
        for i, start in enumerate(starts):
            batch, count = pending.result()
            if i + 1 < len(starts):
                nxt = starts[i + 1]
                pending = pool.submit(prepare_batch, nxt, min(nxt + encoder.batch_size, n))
            if batch is not None:
                outputs.append(encoder.embed_prepared(batch))
            bar.update(count)
    return outputs


def embed_array(images: np.ndarray, encoder: OnnxImageEncoder | None = None, *, progress: bool = True,
                use_cache: bool = True, desc: str = "embedding") -> Embeddings:
    """Embed uint8 images ``(n, H, W)`` (greyscale) or ``(n, H, W, 3)`` (RGB)."""
    encoder = encoder or OnnxImageEncoder()
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise InputError(f"images must be uint8 of shape (n, H, W) or (n, H, W, 3), got {images.dtype} {images.shape}")
    if images.shape[0] == 0:
        raise EmptyPoolError("no images to embed")
    digest = hashlib.sha256(f"{images.shape}".encode())
    digest.update(np.ascontiguousarray(images).data)
    key = hashlib.sha256(f"{encoder.fingerprint}:array:{digest.hexdigest()}".encode()).hexdigest()
    if use_cache and (hit := _cache_load(key)) is not None:
        return hit

    def prepare(start, stop):
        return np.stack([encoder.prepare(img) for img in images[start:stop]]), stop - start

    vectors = np.concatenate(_run_batches(encoder, images.shape[0], prepare, desc, progress))
    result = Embeddings(vectors, [f"#{i}" for i in range(images.shape[0])])
    if use_cache:
        _cache_store(key, result)
    return result


def _folder_key(root: Path, paths: list[Path], encoder: OnnxImageEncoder) -> str:
    digest = hashlib.sha256(encoder.fingerprint.encode())
    for p in paths:
        digest.update(p.relative_to(root).as_posix().encode() + b"\0")
        try:
            digest.update(hashlib.sha256(p.read_bytes()).digest())
        except OSError as exc:
            digest.update(f"unreadable:{exc}".encode())
    return digest.hexdigest()


def embed_folder(root, encoder: OnnxImageEncoder | None = None, *, progress: bool = True,
                 use_cache: bool = True) -> Embeddings:
    """Embed every image under ``root`` (recursive). Unreadable images are skipped and listed."""
    encoder = encoder or OnnxImageEncoder()
    root = Path(root)
    paths = find_images(root)
    key = _folder_key(root, paths, encoder)
    if use_cache and (hit := _cache_load(key)) is not None:
        return hit
    skipped: list[Skipped] = []
    kept: list[str] = []

    def prepare(start, stop):
        arrays = []
        for p in paths[start:stop]:
            try:
                arrays.append(encoder.prepare(open_rgb(p)))
                kept.append(p.relative_to(root).as_posix())
            except ValueError as exc:
                skipped.append(Skipped(p.relative_to(root).as_posix(), str(exc)))
        return (np.stack(arrays) if arrays else None), stop - start

    outputs = _run_batches(encoder, len(paths), prepare, f"embedding {root.name or root}", progress)
    if not outputs:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3])
        raise EmptyPoolError(f"none of the {len(paths)} image(s) in {root} could be read ({reasons})")
    result = Embeddings(np.concatenate(outputs), kept, skipped)
    if use_cache:
        _cache_store(key, result)
    return result
