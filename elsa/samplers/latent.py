"""Latent-space sampling (seed 002, Algorithm 1): random draws in the space, snapped to items."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from .._validation import check_choice, check_float, check_int
from ..index import ExactIndex
from ..state import SearchState
from ._geometry import pca_project, sq_dists
from .base import Sampler, growing_batch
from .choices import DISTRIBUTIONS



class LatentSampler(Sampler):
    """Draw points from a distribution over the embedding space; label the items near them.

    Seed 002's Algorithm 1: for each cluster ``S`` (one cluster, the whole pool, for the
    unclustered variants), ``n_S = round(n |S| / N)`` items are wanted; draw ``z ~ f_S``
    and add every item of ``S`` within distance ``t`` of ``z``, until ``n_S`` are found.
    ``f_S`` is uniform over the bounding box of ``S`` or normal with the mean and
    per-dimension standard deviation of ``S``. Choices, as the seed works in a 10-d
    auto-encoder latent space and ELSA's embeddings are 1280-d:

    * draws and distances live in the pool's first ``dims`` principal components
      (default 10, the seed's latent size); a uniform draw in 1280-d would almost never
      land near an item;
    * clusters: k-means with ``clusters`` centres (default 10) in that projection;
    * ``t`` defaults to the median distance from an item to its nearest neighbour (on
      2,000 random items);
    * the normal variant uses a diagonal covariance;
    * each cluster stops after ``max_draws`` draws, so a sparse cluster cannot loop
      forever; the batch may then be short;
    * only unlabelled items are taken; ``n`` grows like RandS's (``b + b_growth * found``).

    Usable for the first queries without seeds (the ``cold_start`` role) and as a
    diversity sampler in the ELSA loop (the ``explore`` role); it never reads the head.
    """

    name = "latent"

    def __init__(self, distribution: str = "clustered-normal", b: int = 50, b_growth: float = 0.5,
                 dims: int = 10, clusters: int = 10, threshold: float | None = None, max_draws: int = 5000):
        self.distribution = check_choice(distribution, "distribution", DISTRIBUTIONS)
        self.b = check_int(b, "b", minimum=1)
        self.b_growth = check_float(b_growth, "b_growth", minimum=0.0)
        self.dims = check_int(dims, "dims", minimum=1)
        self.clusters = check_int(clusters, "clusters", minimum=1)
        self.threshold = None if threshold is None else check_float(threshold, "threshold", minimum=0.0)
        self.max_draws = check_int(max_draws, "max_draws", minimum=1)

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        P = pca_project(state.X, self.dims, rng)
        if self.distribution.startswith("clustered") and self.clusters > 1 and P.shape[0] > self.clusters:
            km = KMeans(self.clusters, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit(P)
            labels = km.labels_
        else:
            labels = np.zeros(P.shape[0], np.int64)
        # Per cluster, what every draw needs: its members, their coordinates and squared
        # norms, and the parameters of its distribution (computed once, not per draw).
        self._clusters = []
        for c in np.unique(labels):
            S = np.flatnonzero(labels == c)
            PS = P[S]
            if self.distribution.endswith("uniform"):
                params = (PS.min(axis=0), PS.max(axis=0))
            else:
                params = (PS.mean(axis=0), PS.std(axis=0))
            self._clusters.append((S, PS, (PS**2).sum(1), params))
        if self.threshold is None:
            probe = rng.choice(P.shape[0], min(2000, P.shape[0]), replace=False)
            self._t2 = float(np.median(ExactIndex(P).search(P[probe], 1, query_ids=probe)[0][:, 0])) if P.shape[0] > 1 else 0.0
        else:
            self._t2 = self.threshold**2

    def _draw(self, params, rng: np.random.Generator, count: int) -> np.ndarray:
        draw = rng.uniform if self.distribution.endswith("uniform") else rng.normal
        return draw(*params, size=(count, params[0].shape[0]))

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        n = growing_batch(self.b, self.b_growth, state.n_found)
        total = state.n
        picked: list[int] = []
        taken = state.labelled.copy()
        for S, PS, PS_sq, params in self._clusters:
            want = int(round(n * S.size / total))
            got = 0
            for start in range(0, self.max_draws, 64):
                if got >= want:
                    break
                Z = self._draw(params, rng, min(64, self.max_draws - start)).astype(np.float32)
                d2 = sq_dists(PS, Z, PS_sq)
                for j in range(Z.shape[0]):
                    near = S[(d2[:, j] < self._t2) & ~taken[S]]
                    taken[near] = True
                    picked.extend(near.tolist())
                    got += near.size
                    if got >= want:
                        break
        return np.asarray(picked[:n], dtype=np.int64)
