"""Embedding a folder of images or an array of images: batched, overlapped, cached, resumable.

- Images are decoded and preprocessed in worker threads, a few batches ahead of the
  encoder, so decoding overlaps inference. A progress bar shows images/s.
- Every vector goes into a content-addressed cache (:mod:`.cache`), committed in shards
  of ``shard_size`` images. Interrupting a run (Ctrl-C, a crash) loses at most the
  shard in progress; the same command then embeds only what is missing. Changing one
  image re-embeds that image alone.
- The output is assembled from the cache in chunks. With ``out`` it is written straight
  into a memory-mapped ``.npy`` beside the target and renamed into place when complete,
  so a large pool is never held in memory and a failed run never leaves a partial file.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from .._validation import check_choice, check_images, check_int
from ..exceptions import EmptyPoolError, ParameterError
from .batches import ShardWriter, decode
from .cache import FileHashes, VectorStore, cache_dir
from .encoder import ImageEncoder, OnnxImageEncoder
from .images import Skipped, image_files, open_rgb

__all__ = ["Embeddings", "cache_dir", "embed_array", "embed_folder", "embed_items"]

ASSEMBLE_ROWS = 8192
ENGINES = ("local", "ray")


@dataclass
class Embeddings:
    """Embeddings with the item behind each row.

    ``vectors`` is an in-memory array, or a read-only memory map of the output file when
    one was given. ``n_computed`` counts the distinct images embedded in this run (the
    rest came from the cache); ``n_duplicates`` the rows whose image repeats an earlier
    row's (same content: embedded once, neither computed twice nor read from the cache
    twice); ``from_cache`` is true when nothing was computed.
    """

    vectors: np.ndarray
    items: list[str]
    skipped: list[Skipped] = field(default_factory=list)
    n_computed: int = 0
    n_duplicates: int = 0

    @property
    def n_cached(self) -> int:
        """Distinct images read from the cache rather than embedded in this run."""
        return len(self.items) - self.n_duplicates - self.n_computed

    @property
    def from_cache(self) -> bool:
        return self.n_computed == 0


def _embed_missing(todo: list[int], keys: Sequence[str], loaders: Sequence[Callable], encoder: ImageEncoder,
                   store: VectorStore, *, shard_size: int, workers: int, desc: str, progress: bool) -> None:
    """Embed items ``todo`` and store their vectors (or decode failures) shard by shard."""
    batches = [todo[i:i + encoder.batch_size] for i in range(0, len(todo), encoder.batch_size)]
    # An ONNX model runs in the worker threads too, each call on its share of the cores:
    # decoding and inference then overlap inside every core instead of the decode threads
    # pre-empting one inference that asked for all of them (a cold folder of PNGs reached
    # 0.75 and 0.92 of bare inference at 64 and 224 px, from 0.69 and 0.79 the run before;
    # benchmarks/results/embed_throughput.md). onnxruntime's run() may be called from
    # several threads at once.
    runner = encoder.for_threads(workers) if isinstance(encoder, OnnxImageEncoder) and workers > 1 else None

    def prepare(batch: list[int]):
        tensors, done, failed = decode(encoder, [loaders[i] for i in batch], [keys[i] for i in batch])
        vectors = None if runner is None or tensors is None else runner.embed_prepared(tensors)
        return tensors, vectors, done, failed, len(batch)

    writer = ShardWriter(store, shard_size)
    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool, tqdm(
        total=len(todo), desc=desc, unit="img", disable=not progress, dynamic_ncols=True, smoothing=0.1
    ) as bar:
        try:
            pending.extend(pool.submit(prepare, b) for b in batches[: workers + 1])
            submitted = len(pending)
            while pending:
                batch, vectors, done, failed, count = pending.popleft().result()
                if submitted < len(batches):
                    pending.append(pool.submit(prepare, batches[submitted]))
                    submitted += 1
                if vectors is None and batch is not None:
                    vectors = encoder.embed_prepared(batch)
                writer.add(done, vectors, failed)
                bar.update(count)
        finally:
            for future in pending:
                future.cancel()
            writer.close()  # keep the finished part of the shard on Ctrl-C too


def _assemble(keys: list[str], store: VectorStore, out: Path | None) -> np.ndarray:
    dim = store.get(keys[:1]).shape[1]
    if out is None:
        vectors = np.empty((len(keys), dim), dtype=np.float32)
        for a in range(0, len(keys), ASSEMBLE_ROWS):
            vectors[a:a + ASSEMBLE_ROWS] = store.get(keys[a:a + ASSEMBLE_ROWS])
        return vectors
    tmp = out.with_name(f".{out.name}.partial")
    try:
        mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(keys), dim))
        for a in range(0, len(keys), ASSEMBLE_ROWS):
            mm[a:a + ASSEMBLE_ROWS] = store.get(keys[a:a + ASSEMBLE_ROWS])
        mm.flush()
        del mm
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return np.load(out, mmap_mode="r")


def embed_items(names: Sequence[str], keys: Sequence[str | None], loaders: Sequence[Callable], encoder: ImageEncoder,
                *, out=None, use_cache: bool = True, progress: bool = True, desc: str = "embedding",
                shard_size: int = 4096, workers: int = 2, unreadable: dict[int, str] | None = None,
                engine: str = "local", engine_options: dict | None = None) -> Embeddings:
    """Embed items given by name, content key and a loader returning a PIL image or uint8 array.

    A ``None`` key marks an item that could not be read (reason in ``unreadable``).
    Loaders raise ``ValueError`` with a readable reason for an image they cannot decode;
    such items are skipped and reported. ``out`` writes the array to that ``.npy`` file.
    ``engine="ray"`` embeds on a Ray cluster (:mod:`.distributed`; ``engine_options``
    such as ``task_size`` go there); the loaders are then pickled to the workers.
    """
    engine = check_choice(engine, "engine", ENGINES)
    if engine_options and engine != "ray":
        raise ParameterError("engine_options apply to engine='ray' only")
    shard_size = check_int(shard_size, "shard_size", minimum=1)
    workers = check_int(workers, "workers", minimum=1)
    unreadable = unreadable or {}
    store = VectorStore(encoder.fingerprint, persistent=use_cache)
    try:
        unique = list(dict.fromkeys(k for k in keys if k is not None))
        present, failed = store.known(unique)
        first = {}
        for i, k in enumerate(keys):
            if k is not None and k not in present and k not in failed and k not in first:
                first[k] = i
        todo = list(first.values())
        if todo:
            if engine == "ray":
                from .distributed import embed_missing_on_ray

                embed_missing_on_ray(todo, keys, loaders, encoder, store, shard_size=shard_size, desc=desc,
                                     progress=progress, **(engine_options or {}))
            else:
                _embed_missing(todo, keys, loaders, encoder, store, shard_size=shard_size, workers=workers,
                               desc=desc, progress=progress)
            present, failed = store.known(unique)
        kept = [i for i, k in enumerate(keys) if k is not None and k in present]
        skipped = [Skipped(names[i], unreadable.get(i) if k is None else failed[k])
                   for i, k in enumerate(keys) if k is None or k not in present]
        if not kept:
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:3])
            raise EmptyPoolError(f"none of the {len(names)} image(s) could be read ({reasons})")
        vectors = _assemble([keys[i] for i in kept], store, Path(out) if out is not None else None)
    finally:
        store.close()
    computed = sum(keys[i] in present for i in todo)
    duplicates = len(kept) - len({keys[i] for i in kept})
    return Embeddings(vectors, [names[i] for i in kept], skipped, n_computed=computed, n_duplicates=duplicates)


def embed_array(images: np.ndarray, encoder: ImageEncoder | None = None, *, out=None, progress: bool = True,
                use_cache: bool = True, desc: str = "embedding", names: Sequence[str] | None = None,
                **kwargs) -> Embeddings:
    """Embed uint8 images ``(n, H, W)`` (greyscale) or ``(n, H, W, 3)`` (RGB), in this process."""
    if kwargs.get("engine", "local") != "local":
        raise ParameterError("an in-memory array is embedded in this process; the ray engine embeds image folders")
    encoder = encoder or OnnxImageEncoder()
    images = check_images(images)
    shape = str(images.shape[1:]).encode()
    keys = [hashlib.sha256(shape + np.ascontiguousarray(img).data).hexdigest() for img in images]
    loaders = [lambda i=i: images[i] for i in range(images.shape[0])]
    names = list(names) if names is not None else [f"#{i}" for i in range(images.shape[0])]
    return embed_items(names, keys, loaders, encoder, out=out, use_cache=use_cache, progress=progress, desc=desc,
                       **kwargs)


def embed_folder(root, encoder: ImageEncoder | None = None, *, out=None, progress: bool = True,
                 use_cache: bool = True, **kwargs) -> Embeddings:
    """Embed every image under ``root`` (recursive). Unreadable images are skipped and listed.

    Rows follow the files' relative paths in sorted order; ``items`` holds those paths.
    A link to a file outside ``root`` is skipped and listed too: the labeller serves only
    files inside the folder (so that no item name can reach the rest of the disk), and a
    row it could not show would be a broken tile that still has to be answered.
    """
    encoder = encoder or OnnxImageEncoder()
    root = Path(root)
    files = image_files(root)
    names, paths = [name for name, _ in files], [path for _, path in files]
    real_root = root.resolve()
    hashes = FileHashes(persistent=use_cache)
    keys: list[str | None] = []
    unreadable: dict[int, str] = {}
    try:
        for i, p in enumerate(tqdm(paths, desc="checking files", unit="file", disable=not progress or len(paths) < 2000,
                                   dynamic_ncols=True)):
            target = p.resolve()
            if not target.is_relative_to(real_root):
                keys.append(None)
                unreadable[i] = f"a link to {target}, outside the image folder (the labeller shows only files inside it)"
                continue
            sha = hashes.sha(p)
            keys.append(sha)
            if sha is None:
                unreadable[i] = "cannot read file (permission denied or removed)"
    finally:
        hashes.close()
    # picklable: a cluster's tasks get paths only
    loaders = [functools.partial(open_rgb, p, encoder.image_size) for p in paths]
    try:
        return embed_items(names, keys, loaders, encoder, out=out, use_cache=use_cache, progress=progress,
                           desc=f"embedding {root.name or root}", unreadable=unreadable, **kwargs)
    except EmptyPoolError as exc:
        raise EmptyPoolError(f"{root}: {exc}") from None
