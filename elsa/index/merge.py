"""Merging partial answers exactly: the k smallest ``(distance, id)`` pairs of several parts.

Both the exact index (one part per thread's row range) and the sharded index (one part
per shard) cut the pool into contiguous row ranges, search each for its own ``k`` best,
and keep the ``k`` smallest pairs of the union here. Ties are broken by the smaller id,
so the merged answer is exactly a single pass's answer.
"""

from __future__ import annotations

import numpy as np


def take_smallest(dist: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest (distance, id) pairs, sorted by distance then id (exact under ties)."""
    if dist.size > k:
        kth = np.partition(dist, k - 1)[k - 1]
        keep = dist <= kth
        dist, ids = dist[keep], ids[keep]
    order = np.lexsort((ids, dist))[:k]
    return dist[order], ids[order]


def merge_knn(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each query's ``k`` smallest ``(distance, id)`` over the parts' ``(m, k)`` answers,
    ascending, ties by the smaller id; ``inf`` and ``-1`` where fewer than ``k`` exist."""
    if len(parts) == 1:
        return parts[0]
    D = np.concatenate([p[0] for p in parts], axis=1)
    I = np.concatenate([p[1] for p in parts], axis=1)
    big = np.iinfo(np.int64).max
    order = np.lexsort((np.where(I < 0, big, I), D), axis=1)[:, :k]
    D, I = np.take_along_axis(D, order, 1), np.take_along_axis(I, order, 1)
    return D, np.where(np.isfinite(D), I, -1)


def merge_set(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest ``(distance, id)`` pairs over the parts' distance-to-set answers."""
    if len(parts) == 1:
        return parts[0]
    D = np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False)
    I = np.concatenate([p[1] for p in parts]).astype(np.int64, copy=False)
    return take_smallest(D, I, k)
