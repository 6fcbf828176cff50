"""GreedyS (seed 000): confident items chosen one by one to be far apart."""

from __future__ import annotations

import numpy as np

from .._validation import check_float, check_int
from ..exceptions import ParameterError
from ..state import SearchState
from ._geometry import farthest_first
from .base import Sampler, growing_batch


class GreedyS(Sampler):
    """Candidates in a confidence band, picked farthest-first from each other and the positives.

    Seed 000: "select high confidence points, say those whose confidence range in
    (0.85, 0.95), and to maximize the distance between the chosen points from each other
    and already discovered positives, choose points one by one". The band is on the head's
    probability scale, ``p = (confidence + 1) / 2``; the upper bound leaves out the items
    the head is already sure of, which NN and the final search reach anyway. Picks are
    k-center greedy (each maximises its distance to the nearest positive or earlier pick).
    The batch grows like RandS's: ``b + floor(b_growth * found)``. The picked items
    themselves are labelled. Before the head is trained there is no band, and it
    returns nothing (NN carries the first epoch).
    """

    name = "greedys"

    def __init__(self, b: int = 50, b_growth: float = 0.5, low: float = 0.85, high: float = 0.95):
        self.b = check_int(b, "b", minimum=1)
        self.b_growth = check_float(b_growth, "b_growth", minimum=0.0)
        self.low = check_float(low, "low", minimum=0.0, maximum=1.0)
        self.high = check_float(high, "high", minimum=0.0, maximum=1.0)
        if self.low >= self.high:
            raise ParameterError(f"the confidence band needs low < high, got {self.low} and {self.high}")

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if state.scores is None:
            return np.zeros(0, np.int64)
        p = (np.asarray(state.scores) + 1.0) / 2.0  # the whole pool's (gathered, for a sharded pool)
        candidates = np.flatnonzero((p >= self.low) & (p <= self.high) & ~state.labelled)
        size = growing_batch(self.b, self.b_growth, state.n_found)
        return farthest_first(state.X, candidates, state.positive_ids, size)
