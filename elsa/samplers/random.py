"""Uniform random sampling of unlabelled items: the reference every strategy must beat."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..state import SearchState
from .base import Sampler, uniform_unlabelled


class RandomSampler(Sampler):
    """``batch_size`` unlabelled items drawn uniformly without replacement."""

    name = "random"

    def __init__(self, batch_size: int = 100):
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        return uniform_unlabelled(state, rng, self.batch_size)
