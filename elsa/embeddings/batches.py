"""The steps of embedding that run wherever the work runs (in this process or on Ray
workers): decoding a batch of images, and committing vectors to the cache in shards."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .cache import VectorStore
from .encoder import ImageEncoder


def decode(encoder: ImageEncoder, loaders: Sequence[Callable], keys: Sequence[str]):
    """Load and preprocess images: ``(stacked batch or None, keys decoded, {key: reason})``.

    A loader raising ``ValueError`` (an image that cannot be decoded) is a failure, kept
    with its reason; the other images go on.
    """
    arrays, done, failed = [], [], {}
    for load, key in zip(loaders, keys):
        try:
            arrays.append(encoder.resized(load()))
            done.append(key)
        except ValueError as exc:
            failed[key] = str(exc)
    return (encoder.normalise(np.stack(arrays)) if arrays else None), done, failed


class ShardWriter:
    """Vectors and decode failures as they arrive, committed to ``store`` every ``shard_size`` items.

    ``close()`` commits the part-filled shard: call it in ``finally`` so an interrupted
    run keeps what it finished.
    """

    def __init__(self, store: VectorStore, shard_size: int):
        self.store, self.shard_size = store, shard_size
        self.vectors: dict[str, np.ndarray] = {}
        self.failures: dict[str, str] = {}

    def add(self, done: Sequence[str], vectors: np.ndarray | None, failed: dict[str, str]) -> None:
        if vectors is not None:
            self.vectors.update(zip(done, vectors))
        self.failures.update(failed)
        if len(self.vectors) + len(self.failures) >= self.shard_size:
            self.close()

    def close(self) -> None:
        self.store.put(self.vectors, self.failures)
        self.vectors, self.failures = {}, {}
