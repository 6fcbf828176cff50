"""Where the benchmarks' pools come from: one entry point per kind, so scripts load them one way.

* :func:`fashion_mnist_encoded`: all 70,000 Fashion-MNIST images (train then test,
  Debian's ``dataset-fashion-mnist`` plus the built-in test split) through the built-in
  encoder at 64 px (1,280-d; ``embed_array``'s cache makes it cheap after the first time),
  and their classes.
* :func:`thin`: one class of a pool made rare with ``elsa.simulation.make_rare``, the
  class id as its random state unless a benchmark says otherwise.
* :func:`space_pool`: :mod:`benchmarks.feature_spaces`'s space with one class thinned
  (:func:`thin`) and the thinned pool's k-NN graph cut from the whole space's and put in
  elsa's graph cache (:func:`benchmarks.feature_spaces.prefill_graph`), as the search
  benchmarks run a class. The spaces themselves: :func:`build_space` (re-exported).
* :func:`pool_path` and :func:`scaling_pool`: the clustered pools of
  :mod:`benchmarks.epoch_scaling` (1,000 Gaussian clusters x 128, 100k to 10M rows,
  float32 or float16), written once to ``benchmarks/.cache/scaling/`` and memory-mapped.
* The 1M x 128 pools of several shapes are :mod:`benchmarks.pool_shapes`'s
  (``shape_path``, ``shape_labels``); the text corpora :mod:`benchmarks.text_corpora`'s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .feature_spaces import SPACES, build_space, derived_graph, prefill_graph
from .harness import ROOT, new_npy

__all__ = ["SPACES", "build_space", "derived_graph", "prefill_graph", "fashion_mnist_encoded", "thin", "space_pool",
           "pool_path", "scaling_labels", "scaling_pool", "SCALING_CACHE", "SCALING_D"]

SCALING_CACHE = ROOT / "benchmarks" / ".cache" / "scaling"
SCALING_D = 128


def fashion_mnist_encoded(progress: bool = True, desc: str = "embedding Fashion-MNIST (70k)") -> tuple[np.ndarray, np.ndarray]:
    """The 70,000 Fashion-MNIST images (train then test) through the built-in encoder, and their classes."""
    from elsa.datasets import load_fashion_mnist
    from elsa.embeddings import embed_array

    images, labels = load_fashion_mnist("all")
    return embed_array(images, desc=desc, progress=progress).vectors, labels


def thin(X, y: np.ndarray, cls: int, rarity: float, random_state=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X[keep], y[keep], keep)`` with class ``cls`` made rare at ``rarity`` of the pool by
    ``make_rare`` (``random_state`` defaults to the class id); ``X[keep]`` C-contiguous."""
    from elsa.simulation import make_rare

    keep = make_rare(y, cls, rarity, random_state=cls if random_state is None else random_state)
    return np.ascontiguousarray(X[keep]), y[keep], keep


def space_pool(space: str, cls: int, rarity: float = 0.01, graph: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A feature space's pool with class ``cls`` thinned to ``rarity`` (:func:`thin`),
    and with ``graph`` its 50-NN graph prefilled in elsa's cache: ``(X, y, keep)``."""
    X, y = build_space(space)
    Xc, yc, keep = thin(X, y, cls, rarity)
    if graph:
        prefill_graph(space, keep)
    return Xc, yc, keep


# --- epoch_scaling's clustered pools ---------------------------------------------------------

def pool_path(n: int, dtype: str = "float32") -> Path:
    """The ``n x 128`` clustered pool's ``.npy`` (made the first time; its labels beside
    it as ``labels-{n}.npy``); a float16 pool holds the float32 one's values, rounded."""
    D = SCALING_D
    path = SCALING_CACHE / (f"pool-{n}x{D}.npy" if dtype == "float32" else f"pool-{n}x{D}-{dtype}.npy")
    if path.exists():
        return path
    if dtype != "float32":  # the same values, rounded, chunk by chunk
        src = np.load(pool_path(n), mmap_mode="r")
        with new_npy(path, src.shape, dtype) as out:
            for start in range(0, n, 500_000):
                out[start : start + 500_000] = src[start : start + 500_000]
        return path
    SCALING_CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 1, (1000, D)).astype(np.float32) * 3
    with new_npy(path, (n, D)) as out:
        labels = np.empty(n, np.int32)
        for start in range(0, n, 500_000):
            stop = min(n, start + 500_000)
            lab = rng.integers(0, 1000, stop - start)
            out[start:stop] = centers[lab] + rng.normal(0, 1, (stop - start, D)).astype(np.float32)
            labels[start:stop] = lab
        np.save(SCALING_CACHE / f"labels-{n}.npy", labels)
    return path


def scaling_labels(n: int) -> np.ndarray:
    """The clusters of the ``n``-row clustered pool's rows (the pool made first if need be)."""
    pool_path(n)
    return np.load(SCALING_CACHE / f"labels-{n}.npy")


def scaling_pool(n: int, dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """The ``n``-row clustered pool, memory-mapped as ``elsa simulate`` reads it, and its clusters."""
    from elsa._io import load_npy

    X = load_npy(pool_path(n, dtype), "pool")
    return X, scaling_labels(n)
