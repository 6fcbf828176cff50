"""Nearest-neighbour search around the positives found last (the paper's Algorithm 1)."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..state import SearchState
from .base import Sampler


class NearestNeighbourSampler(Sampler):
    """The ``a`` unlabelled items closest to *any* frontier positive, ascending.

    A distance-to-a-set query: one pass over the pool per call, ranking every item by
    ``min_j ||x - q_j||^2`` over the queries ``q_j`` (the positives of the last oracle
    call, or the seeds), not one kNN search per query. With no frontier (the last call
    found no positive) it returns nothing, as in Algorithm 4.
    """

    name = "nn"

    def __init__(self, a: int = 50):
        self.a = check_int(a, "a", minimum=1)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if state.frontier.size == 0:
            return np.zeros(0, np.int64)
        _, ids = state.index.search_set(state.X[state.frontier], self.a, exclude=state.labelled)
        return ids
