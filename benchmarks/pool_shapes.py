"""Pools of several shapes, 1M x 128 float32, for the k-NN graph's benchmarks (issue 37).

The graph's cost depends on how k-means lists split a pool, so its benchmarks build it on
pools that split differently, each memory-mapped from ``benchmarks/.cache/shapes/``:

* ``clusters-1000``: ``epoch_scaling.py``'s pool (1,000 Gaussian clusters, centres
  N(0, 3^2), unit noise), the pool the earlier figures were measured on;
* ``clusters-2000``: 2,000 well-separated Gaussian clusters (centres N(0, 3^2)), unit noise,
  uniform sizes: the pool a user's check took 122 s on;
* ``many-small``: 20,000 clusters of about 50 rows (centres N(0, 3^2), unit noise), so a
  row's 50 neighbours reach beyond its own cluster;
* ``few-large``: 20 clusters of about 50,000 rows (centres N(0, 3^2), unit noise);
* ``skewed``: 2,000 clusters with Zipf sizes (exponent 1.1: the largest holds 12 % of
  the pool, half of them under 60 rows), centres N(0, 3^2), unit noise;
* ``uniform``: uniform noise in the unit cube, no cluster structure at all;
* ``fm-encoder``: the built-in encoder's Fashion-MNIST vectors (70,000 x 1,280,
  ``feature_spaces.py``), projected to 128 dimensions by PCA and tiled to 1M rows, each
  copy moved by Gaussian noise of a quarter of the median nearest-neighbour distance per
  row (so copies are near, not equal).

Each row's class (the cluster, or the Fashion-MNIST class) is saved beside the pool.

    python -m benchmarks.pool_shapes            # make every shape (about a minute each)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .harness import ROOT, new_npy

CACHE = ROOT / "benchmarks" / ".cache" / "shapes"
N, D = 1_000_000, 128
SHAPES = ("clusters-1000", "clusters-2000", "many-small", "few-large", "skewed", "uniform", "fm-encoder")
CHUNK = 250_000


def shape_path(name: str, n: int = N) -> Path:
    """The shape's pool (made the first time), ``n x 128`` float32 ``.npy``; its labels beside it."""
    if name not in SHAPES:
        raise ValueError(f"unknown pool shape {name!r}; choose one of {', '.join(SHAPES)}")
    if name == "clusters-1000" and n == N:
        from .pools import SCALING_CACHE as SCALING, pool_path

        path = pool_path(n)
        labels = CACHE / f"{name}-{n}.labels.npy"
        if not labels.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            np.save(labels, np.load(SCALING / f"labels-{n}.npy"))
        return path
    path = CACHE / f"{name}-{n}.npy"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SHAPES.index(name))
    with new_npy(path, (n, D)) as out:
        labels = np.empty(n, np.int32)
        if name == "fm-encoder":
            _tiled_encoder(out, labels, rng)
        else:
            _clustered(name, out, labels, rng)
        np.save(CACHE / f"{name}-{n}.labels.npy", labels)
    return path


def _clustered(name: str, out: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
    """Fill ``out`` and ``labels`` with a clustered shape's rows (uniform rows for ``uniform``)."""
    n = out.shape[0]
    clusters = {"clusters-1000": 1000, "clusters-2000": 2000, "many-small": 20_000, "few-large": 20,
                "skewed": 2000, "uniform": 0}[name]
    if clusters:
        centres = rng.normal(0, 3, (clusters, D)).astype(np.float32)
        weights = (1.0 / np.arange(1, clusters + 1) ** 1.1) if name == "skewed" else np.ones(clusters)
        weights /= weights.sum()
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        if clusters:
            lab = rng.choice(clusters, stop - start, p=weights)
            out[start:stop] = centres[lab] + rng.normal(0, 1, (stop - start, D)).astype(np.float32)
        else:
            lab = np.zeros(stop - start, np.int32)
            out[start:stop] = rng.random((stop - start, D), dtype=np.float32)
        labels[start:stop] = lab


def shape_labels(name: str, n: int = N) -> np.ndarray:
    shape_path(name, n)
    return np.load(CACHE / f"{name}-{n}.labels.npy")


def _tiled_encoder(out: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> None:
    import faiss
    from sklearn.decomposition import PCA

    from .feature_spaces import build_space

    E, y = build_space("fm-encoder")
    P = PCA(D, random_state=0).fit_transform(np.asarray(E, np.float32)).astype(np.float32)
    sample = rng.choice(P.shape[0], 2000, replace=False)
    dist, _ = faiss.knn(P[sample], P, 2)
    scale = 0.25 * float(np.median(np.sqrt(np.maximum(dist[:, 1], 0)))) / np.sqrt(D)  # per coordinate
    n = out.shape[0]
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        src = np.arange(start, stop) % P.shape[0]
        out[start:stop] = P[src] + rng.normal(0, scale, (stop - start, D)).astype(np.float32)
        labels[start:stop] = y[src]


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    for shape in SHAPES:
        print(shape, shape_path(shape), flush=True)
