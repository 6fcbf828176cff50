"""RandS, the paper's random search for new clusters (Algorithm 2 and appendix B)."""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_float, check_int
from ..state import SearchState
from .base import Sampler, growing_batch
from .confidence import ConfidenceSampler


class RandS(Sampler):
    """Draw ``l`` random candidates; label the nearest neighbours of the closest pairs.

    Appendix B: take ``l`` random points from the candidate set (the active-learning
    sampler's output: items the head is confident about); for each, find its nearest
    neighbour excluding itself; keep the ``b`` (point, neighbour) pairs with the
    smallest distances. The neighbours are what the oracle labels (Algorithm 2 returns
    ``delta = NN(L*, b)``, the neighbours, not the sampled points).

    ``b`` grows linearly with the positives discovered (section 6), here
    ``b_t = b + floor(b_growth * n_found)``; the paper gives no slope, so it is a
    parameter. When ``b_t`` exceeds the number of sampled points, one neighbour per
    point cannot fill it; each point then contributes its ``ceil(b_t / l)`` nearest
    neighbours and the ``b_t`` closest pairs overall are kept. For ``b_t <= l`` this is
    exactly appendix B. A neighbour shared by two points counts once, at its smaller
    distance. Neighbours are unlabelled items of the whole pool; a sampled point may be
    another point's neighbour.

    Parameters
    ----------
    l : int
        Random candidates drawn per call.
    b : int
        Initial number of pairs kept.
    b_growth : float
        Extra pairs per positive discovered.
    candidates : Sampler or None
        Where the ``l`` points are drawn from: the active-learning sampler for ELSA,
        ``None`` for every unlabelled item (the paper's "No Active" ablation).
    """

    name = "rands"

    @classmethod
    def from_params(cls, params: dict) -> "RandS":
        """ELSA's RandS: candidates from the head's confident items (``alpha1``)."""
        return cls(params["l"], params["b"], params["b_growth"], candidates=ConfidenceSampler(params["alpha1"]))

    def __init__(self, l: int = 50, b: int = 50, b_growth: float = 0.5, candidates: Sampler | None = None):  # noqa: E741
        self.l = check_int(l, "l", minimum=1)
        self.b = check_int(b, "b", minimum=1)
        self.b_growth = check_float(b_growth, "b_growth", minimum=0.0)
        self.candidates = candidates

    def current_b(self, n_found: int) -> int:
        return growing_batch(self.b, self.b_growth, n_found)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if self.candidates is None:
            pool = np.flatnonzero(~state.labelled)
        else:
            pool = self.candidates.select(state, rng)
        if pool.size == 0:
            return np.zeros(0, np.int64)
        drawn = rng.choice(pool, min(self.l, pool.size), replace=False)
        b = self.current_b(state.n_found)
        k = math.ceil(b / drawn.size)
        D, I = state.index.search(state.X[drawn], k, exclude=state.labelled, query_ids=drawn)
        dist, ids = D.ravel(), I.ravel()
        valid = ids >= 0
        dist, ids = dist[valid], ids[valid]
        order = np.lexsort((ids, dist))
        dist, ids = dist[order], ids[order]
        _, first = np.unique(ids, return_index=True)  # keep each neighbour at its smallest distance
        return ids[np.sort(first)][:b]
