"""Embedding a folder on a Ray cluster: a batch map over files, one task per ``task_size`` images.

The same job as the local pipeline (:func:`elsa.embeddings.pipeline._embed_missing`), with
the decoding and inference spread over the cluster's workers:

* Each task gets the encoder (pickled once, into Ray's object store) and a list of image
  loaders, which for a folder are ``open_rgb(path)`` partials: only paths travel, so the
  files must be readable at the same paths on every node (a shared file system).
* A task decodes and embeds its images in the encoder's batches and returns the vectors
  and the decode failures. Tasks ask Ray for ``cpus_per_task`` CPUs (and one GPU each
  where the cluster has GPUs; an ONNX encoder then runs on CUDA when the worker's
  onnxruntime offers it, a torch encoder on its ``cuda`` device).
* The driver alone writes the content-addressed cache, committing a shard as results
  arrive, so an interrupted run loses at most the tasks in flight and the same command
  resumes, exactly as a local run does. At most two tasks per worker are in flight.
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from .._validation import check_int
from .cache import VectorStore
from .encoder import ImageEncoder, OnnxImageEncoder
from .batches import ShardWriter, decode


_WORKER_ENCODERS: dict[str, ImageEncoder] = {}  # per worker process: the model is loaded once, not per task


def _embed_task(encoder: ImageEncoder, loaders: list[Callable], keys: list[str]):
    """Decode and embed one task's images: ``(keys done, vectors, {key: failure})``."""
    import ray

    if ray.get_gpu_ids() and isinstance(encoder, OnnxImageEncoder):
        encoder.device = "cuda"
    encoder = _WORKER_ENCODERS.setdefault(f"{encoder.fingerprint}/{getattr(encoder, 'device', '')}", encoder)
    prepared, done, failed = decode(encoder, loaders, keys)
    if prepared is None:
        return done, None, failed
    batch = encoder.batch_size
    vectors = np.concatenate([encoder.embed_prepared(prepared[i:i + batch]) for i in range(0, len(prepared), batch)])
    return done, vectors, failed


def embed_missing_on_ray(todo: list[int], keys: Sequence[str], loaders: Sequence[Callable], encoder: ImageEncoder,
                         store: VectorStore, *, shard_size: int, desc: str, progress: bool, task_size: int = 512,
                         cpus_per_task: int = 1, address: str | None = None) -> None:
    """Embed items ``todo`` on the cluster and store their vectors (or failures) as they arrive."""
    from ..index.ray_backend import connect

    ray = connect(address)
    task_size = check_int(task_size, "task_size", minimum=1)
    gpus = ray.cluster_resources().get("GPU", 0)
    remote = ray.remote(num_cpus=cpus_per_task, num_gpus=1 if gpus else 0, max_retries=2)(_embed_task)
    worker_encoder = copy.copy(encoder)
    if hasattr(worker_encoder, "threads"):
        worker_encoder.threads = cpus_per_task  # one task per CPU it asked for: no oversubscription
    encoder_ref = ray.put(worker_encoder)
    chunks = [todo[i:i + task_size] for i in range(0, len(todo), task_size)]
    slots = max(1, 2 * int(ray.cluster_resources().get("CPU", 1) // cpus_per_task))
    writer = ShardWriter(store, shard_size)
    running: dict = {}
    with tqdm(total=len(todo), desc=desc, unit="img", disable=not progress, dynamic_ncols=True, smoothing=0.1) as bar:
        try:
            submitted = 0
            while submitted < len(chunks) or running:
                while submitted < len(chunks) and len(running) < slots:
                    chunk = chunks[submitted]
                    ref = remote.remote(encoder_ref, [loaders[i] for i in chunk], [keys[i] for i in chunk])
                    running[ref] = len(chunk)
                    submitted += 1
                ready, _ = ray.wait(list(running), num_returns=1)
                count = running.pop(ready[0])
                writer.add(*ray.get(ready[0]))
                bar.update(count)
        finally:
            for ref in running:
                ray.cancel(ref)
            writer.close()  # keep what arrived, on Ctrl-C too
