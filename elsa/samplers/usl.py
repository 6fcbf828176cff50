"""USL, unsupervised selective labelling (seed 003): dense, diverse items without any label."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

from .._validation import check_float, check_int
from ..scores import by_score
from ..state import SearchState
from ._geometry import pca_project, sq_dists
from .base import Sampler, best_per_group


class USL(Sampler):
    """One representative item per k-means cluster, regularised to be far from the others.

    Seed 003 (Wang et al., "Unsupervised Selective Labeling"), its training-free variant:

    1. features are L2-normalised (the unit hypersphere);
    2. utility ``U(V_i) = 1 / D(V_i, k)`` with ``D`` the mean distance to the ``k``
       nearest neighbours (the robust k-NN density);
    3. k-means into ``m`` clusters; the first selection is the densest item of each;
    4. ``iterations`` rounds of inter-cluster regularisation: for a candidate in cluster
       ``S_i``, ``Reg = sum over the previous selection outside S_i of
       1 / ||V_i - V_j||^alpha``, smoothed with momentum
       ``Reg_t = momentum * Reg_{t-1} + (1 - momentum) * Reg``, and each cluster picks
       the item maximising ``U - lam * Reg_t``.

    Choices: density, clusters and distances are computed in the first ``dims`` (64)
    principal components of the normalised features (an exact k-NN over 63,000 x 1280
    would cost minutes on 2 cores); the defaults ``k = 20``, ``alpha = 2``,
    ``momentum = 0.9``, ``iterations = 10`` are this project's, and ``lam`` is applied to
    ``Reg`` divided by its pool mean (and ``U`` by its mean) so the two terms are on one
    scale. Labelled items are never picked; a second call (the first batch found no
    positive) picks the next-best item of each cluster.

    Its role is the cold start: with zero seeds it picks the first batch for the oracle.
    """

    name = "usl"

    def __init__(self, m: int = 100, k: int = 20, dims: int = 64, lam: float = 1.0, alpha: float = 2.0,
                 momentum: float = 0.9, iterations: int = 10):
        self.m = check_int(m, "m", minimum=1)
        self.k = check_int(k, "k", minimum=1)
        self.dims = check_int(dims, "dims", minimum=1)
        self.lam = check_float(lam, "lam", minimum=0.0)
        self.alpha = check_float(alpha, "alpha", minimum=0.0)
        self.momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
        self.iterations = check_int(iterations, "iterations", minimum=0)

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        P = pca_project(state.X, self.dims, rng, unit=True)
        k = min(self.k, P.shape[0] - 1)
        if k >= 1:
            dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(P).kneighbors(P)
            mean_dist = dist[:, 1:].mean(axis=1)
        else:
            mean_dist = np.ones(P.shape[0])
        self._utility = 1.0 / np.maximum(mean_dist, 1e-12)
        m = min(self.m, P.shape[0])
        self._cluster = KMeans(m, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit(P).labels_
        self._P, self._P_sq = P, (P**2).sum(1)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        U = np.where(state.labelled, -np.inf, self._utility / self._utility.mean())
        chosen = self._per_cluster_best(U)
        reg_smooth = np.zeros(state.n)
        for _ in range(self.iterations):
            reg = self._regulariser(chosen)
            reg_smooth = self.momentum * reg_smooth + (1.0 - self.momentum) * reg
            scale = reg_smooth[np.isfinite(reg_smooth)].mean() or 1.0
            chosen = self._per_cluster_best(U - self.lam * reg_smooth / scale)
        return by_score(chosen, U)

    def _per_cluster_best(self, score: np.ndarray) -> np.ndarray:
        ids = np.flatnonzero(np.isfinite(score))
        return best_per_group(ids, self._cluster[ids], score[ids])

    def _regulariser(self, chosen: np.ndarray) -> np.ndarray:
        """``sum_j 1 / ||V_i - V_j||^alpha`` over chosen ``j`` in clusters other than ``i``'s."""
        d2 = sq_dists(self._P, self._P[chosen], self._P_sq)
        inv = 1.0 / np.maximum(np.sqrt(np.maximum(d2, 0.0)), 1e-6) ** self.alpha
        inv[self._cluster[:, None] == self._cluster[chosen][None, :]] = 0.0
        return inv.sum(axis=1)
