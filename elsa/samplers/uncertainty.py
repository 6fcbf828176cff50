"""Plain uncertainty sampling: the items the head is least sure about."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..state import SearchState
from .base import Sampler


class UncertaintySampler(Sampler):
    """The ``batch_size`` unlabelled items with head confidence closest to 0 (p = 0.5).

    The reference active-learning query (Lewis and Gale's uncertainty sampling). Before
    the head is trained it draws uniformly at random.
    """

    name = "uncertainty"

    def __init__(self, batch_size: int = 100):
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        pool = np.flatnonzero(~state.labelled)
        if state.scores is None:
            return rng.permutation(pool)[: self.batch_size]
        margin = np.abs(state.scores[pool])
        order = np.lexsort((pool, margin))[: self.batch_size]
        return pool[order]
