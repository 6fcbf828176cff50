"""Uniform random sampling of unlabelled items: the reference every strategy must beat."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..state import SearchState
from .base import Sampler


class RandomSampler(Sampler):
    """``batch_size`` unlabelled items drawn uniformly without replacement."""

    name = "random"

    def __init__(self, batch_size: int = 100):
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        pool = np.flatnonzero(~state.labelled)
        if pool.size <= self.batch_size:
            return rng.permutation(pool)
        return rng.choice(pool, self.batch_size, replace=False)
