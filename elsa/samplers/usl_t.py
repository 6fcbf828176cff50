"""USL-T, training-based unsupervised selective labelling (seed 003, section 2-2): clusters
learnt without labels, one confident item from each."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from .._validation import check_float, check_int
from ..state import SearchState
from ._geometry import pca_project
from .base import Sampler


class USLT(Sampler):
    """One confident item per learnt cluster (USL-T; Wang, Lian and Yu, ECCV 2022).

    A head ``f`` and ``m`` learnable centroids ``c`` are trained together, without labels:

    - soft assignment ``y_hat(x) = softmax(s(f(x), c))``, hard assignment ``y(x)`` its
      one-hot argmax;
    - **global loss** ``1/n sum over max y_hat(x) >= tau of KL(y(x) || y_hat(x))``: the
      confident items pull their centroid and are pulled to it (a learnable k-means);
    - **local loss** ``1/n sum KL(P(z(x'), z_bar, t) || y_hat(x))`` with ``x'`` one of the
      ``k`` nearest neighbours of ``x`` (drawn at each step), ``z`` logits, ``P`` the
      softmax of the *logit-adjusted* ``z(x') - alpha log z_bar`` sharpened by
      temperature ``t``, and ``z_bar`` an exponential moving average of the mean softmax
      (weight ``momentum`` on the old value): the adjustment stops one cluster taking
      everything, the sharpening stops every assignment drifting to uniform;
    - ``L = L_global + lam * L_local``; then, in each cluster, the item of highest
      ``max y_hat(x)`` is picked.

    **Adaptation, not the paper's setting.** The paper fine-tunes its contrastive backbone
    on images with augmentations. Here the pool's embeddings are fixed, so ``f`` is a small
    network on them: ``f(x) = normalise(p + g(p))`` with ``p`` the first ``dims`` (64)
    principal components of the L2-normalised features (as :class:`~.usl.USL` uses) and
    ``g`` a two-layer MLP whose last layer starts at zero, so training starts from the given
    feature space, as the paper starts from its pretrained one. There are no augmentations:
    the global loss's target and prediction come from the same forward pass (the
    authors' code takes the target from a weakly and the prediction from a strongly
    augmented view). ``s`` is the cosine similarity times ``scale`` (40), the authors'
    ``NormedLinear`` head: on unit vectors it is the negative squared L2 distance of the
    seed's ``s`` up to a constant and a scale. The centroids start at ``m`` items chosen
    by k-means++ seeding (on at most 20,000 random rows), not at random directions: in 64
    dimensions most random directions are far from every item, and their clusters stayed
    empty. The neighbours ``x'`` are the pool's own k-NN graph in its input features
    (:func:`elsa.index.graph.neighbour_graph`, shared with the k-NN model's cache), fixed
    before training as the paper says; only the first ``neighbour_count(k, n, m)`` of them,
    at most a quarter of the mean cluster size ``n / m``: with 20 neighbours of items in
    clusters of 4 (100 clusters on a pool of 441), the local loss merged clusters and
    60 % of them ended empty (``benchmarks/usl_t.py``'s long-tailed digits).

    Defaults: ``k = 20`` (the authors' ``KNN_K``), ``scale = 40`` (their ``NormedLinear``),
    ``t = 0.25`` (the PAWS sharpening their code credits); ``tau = 0.95``, ``alpha = 1``,
    ``lam = 1``, ``momentum = 0.9``, ``hidden = 256``, Adam at ``lr = 1e-3``, ``steps =
    1000`` mini-batches of ``batch_size = 256`` are this project's (the paper's training
    configuration is not in its published code), checked in
    ``benchmarks/usl_t.py``. A cluster left empty by training has no pick; the remaining
    picks are the second most confident item of each cluster, then the third, and so on,
    so a call returns ``m`` items while that many are unlabelled. A second call (the first
    batch found no positive) picks the next-best items of each cluster.

    Needs torch (the ``train`` extra); training runs on the CPU, with a progress bar, and
    is reproducible for a fixed random state.
    """

    name = "usl-t"

    def __init__(self, m: int = 100, k: int = 20, dims: int = 64, hidden: int = 256, steps: int = 1000,
                 batch_size: int = 256, lr: float = 1e-3, tau: float = 0.95, alpha: float = 1.0, t: float = 0.25,
                 lam: float = 1.0, momentum: float = 0.9, scale: float = 40.0):
        self.m = check_int(m, "m", minimum=1)
        self.k = check_int(k, "k", minimum=1)
        self.dims = check_int(dims, "dims", minimum=1)
        self.hidden = check_int(hidden, "hidden", minimum=1)
        self.steps = check_int(steps, "steps", minimum=0)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.lr = check_float(lr, "lr", minimum=0.0)
        self.tau = check_float(tau, "tau", minimum=0.0, maximum=1.0)
        self.alpha = check_float(alpha, "alpha", minimum=0.0)
        self.t = check_float(t, "t", minimum=1e-6)
        self.lam = check_float(lam, "lam", minimum=0.0)
        self.momentum = check_float(momentum, "momentum", minimum=0.0, maximum=1.0)
        self.scale = check_float(scale, "scale", minimum=1e-6)

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        from ..ssl import require_torch

        torch = require_torch("--strategy usl-t (USL-T)")  # before the PCA and the graph: a missing extra fails at once
        from ..index.graph import neighbour_graph

        P = pca_project(state.X, self.dims, rng, unit=True)
        P /= np.maximum(np.linalg.norm(P, axis=1, keepdims=True), 1e-12)
        graph = neighbour_graph(state.X, max(self.k, 50), index=state.index, progress=state.progress)
        neighbours = np.asarray(graph.forward[:, : neighbour_count(self.k, state.n, self.m)])
        seed = int(rng.integers(2**31 - 1))
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            self._cluster, self._confidence = train_usl_t(self, P, neighbours, rng, progress=state.progress)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        ids = np.flatnonzero(~state.labelled)
        if ids.size == 0:
            return ids
        cluster, confidence = self._cluster[ids], self._confidence[ids]
        order = np.lexsort((ids, -confidence, cluster))  # by cluster, most confident first
        grouped = cluster[order]
        within = np.empty(ids.size, np.int64)  # each item's rank in its cluster
        within[order] = np.arange(order.size) - np.searchsorted(grouped, grouped)
        # Every cluster's best first (most confident first), then every cluster's second, ...
        return ids[np.lexsort((ids, -confidence, within))[: self.m]]

    @property
    def clusters(self) -> np.ndarray:
        """Each item's learnt cluster (after :meth:`prepare`)."""
        return self._cluster


def neighbour_count(k: int, n: int, m: int) -> int:
    """The neighbours a row is aligned with: ``k``, at most a quarter of the mean cluster
    size ``n / m`` (at least 1), so that a neighbour mostly lies in the row's own cluster."""
    return max(1, min(k, n // (4 * m)))


def train_usl_t(params: USLT, P: np.ndarray, neighbours: np.ndarray, rng: np.random.Generator, *,
                progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Train the head and centroids on ``P`` (unit rows) with ``neighbours`` (``(n, k)``
    ids, ``-1`` padding); return each row's cluster and confidence ``max y_hat``."""
    import torch
    import torch.nn.functional as F

    n, d = P.shape
    C = min(params.m, n)
    X = torch.from_numpy(np.ascontiguousarray(P, dtype=np.float32))
    # A row without neighbours (a pool of one, or padding) is its own neighbour.
    nbr = np.where(neighbours >= 0, neighbours, np.arange(n)[:, None]) if neighbours.size else np.arange(n)[:, None]
    model = _Head(d, params.hidden, C, params.scale, torch)
    from sklearn.cluster import kmeans_plusplus

    start = rng.choice(n, min(n, 20_000), replace=False)  # k-means++ seeding on a sample: random, spread out
    _, seeds = kmeans_plusplus(P[start], C, random_state=int(rng.integers(2**31 - 1)))
    with torch.no_grad():
        model.centroids.copy_(X[start[seeds]])
    optimiser = torch.optim.Adam(model.parameters(), lr=params.lr)
    prob_ema = torch.full((C,), 1.0 / C)
    batch = min(params.batch_size, n)
    with tqdm(total=params.steps, desc=f"training USL-T ({C} clusters)", unit="step",
              disable=None if progress else True, leave=False, dynamic_ncols=True) as bar:
        for _ in range(params.steps):
            rows = rng.choice(n, batch, replace=False)
            pick = nbr[rows, rng.integers(nbr.shape[1], size=batch)]
            logits = model(X[rows])
            with torch.no_grad():
                near = model(X[pick])
                target = F.softmax((near - params.alpha * torch.log(prob_ema.clamp_min(1e-30))) / params.t, dim=1)
                prob_ema = params.momentum * prob_ema + (1 - params.momentum) * F.softmax(near, dim=1).mean(0)
                prob_ema = prob_ema / prob_ema.sum()
            log_prob = F.log_softmax(logits, dim=1)
            local = F.kl_div(log_prob, target, reduction="batchmean")
            confident, hard = log_prob.detach().exp().max(dim=1)
            mask = confident >= params.tau
            # KL(one-hot || soft) is the cross-entropy at the argmax; summed, divided by the batch
            glob = -log_prob[mask, hard[mask]].sum() / batch
            loss = glob + params.lam * local
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            bar.update()
    cluster = np.empty(n, np.int64)
    confidence = np.empty(n, np.float64)
    model.eval()
    with torch.no_grad():
        for start in range(0, n, 65536):
            prob = F.softmax(model(X[start:start + 65536]), dim=1)
            top, arg = prob.max(dim=1)
            cluster[start:start + 65536], confidence[start:start + 65536] = arg.numpy(), top.numpy()
    return cluster, confidence


def _Head(d: int, hidden: int, clusters: int, scale: float, torch):
    """``f(x) = normalise(x + g(x))`` and cosine logits against learnable centroids."""
    nn = torch.nn

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.g = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, d))
            nn.init.zeros_(self.g[2].weight)
            nn.init.zeros_(self.g[2].bias)
            self.centroids = nn.Parameter(torch.zeros(clusters, d))

        def forward(self, x):
            f = torch.nn.functional.normalize(x + self.g(x), dim=1)
            return scale * f @ torch.nn.functional.normalize(self.centroids, dim=1).T

    return Head()
