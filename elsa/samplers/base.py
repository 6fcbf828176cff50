"""The sampler interface: every way of choosing what to label next answers ``select``."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..state import SearchState


class Sampler(ABC):
    """Chooses unlabelled items for the oracle.

    ``__init__`` stores its keyword parameters unchanged (validated); all randomness
    comes from the ``rng`` passed to :meth:`select`, so a loop with a fixed random state
    is reproducible.
    """

    name: str = "sampler"

    @abstractmethod
    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        """Ids of unlabelled items, in priority order (most wanted first), no repeats."""

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
