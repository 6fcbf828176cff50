"""The sampler interface: every way of choosing what to label next answers ``select``."""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod

import numpy as np

from ..state import Proposal, SearchState


def growing_batch(b: int, b_growth: float, n_found: int) -> int:
    """The paper's growing batch: ``b`` at first, plus ``b_growth`` per positive found."""
    return b + math.floor(b_growth * n_found)


def uniform_unlabelled(state: SearchState, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` unlabelled items drawn uniformly without replacement (all of them, shuffled,
    when fewer remain)."""
    pool = np.flatnonzero(~state.labelled)
    if pool.size <= size:
        return rng.permutation(pool)
    return rng.choice(pool, size, replace=False)


def best_per_group(ids: np.ndarray, group: np.ndarray, score: np.ndarray) -> np.ndarray:
    """The highest-scoring id of each group (ties by smaller id), in group order.

    ``ids``, ``group`` and ``score`` are aligned arrays.
    """
    order = np.lexsort((ids, -score, group))
    _, first = np.unique(group[order], return_index=True)
    return ids[order[first]]


class Sampler(ABC):
    """Chooses unlabelled items for the oracle.

    ``__init__`` stores its keyword parameters unchanged (validated); all randomness
    comes from the ``rng`` passed to :meth:`select`, so a loop with a fixed random state
    is reproducible.
    """

    name: str = "sampler"

    @classmethod
    def from_params(cls, params: dict) -> "Sampler":
        """Built from a strategy's parameters (:func:`elsa.search.strategy_params`): every
        constructor argument with the name of a parameter takes its value. A sampler whose
        arguments are named otherwise overrides this."""
        names = inspect.signature(cls.__init__).parameters
        return cls(**{name: params[name] for name in names if name != "self" and name in params})

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        """Called once before a run: precompute what depends only on the pool.

        Caches live in attributes whose names start with ``_``. The default does nothing.
        """

    @abstractmethod
    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        """Ids of unlabelled items, in priority order (most wanted first), no repeats."""

    def positives_left(self) -> dict[str, float]:
        """Its models' expected positives among the items that were unlabelled when it last
        selected (the sum of each model's probabilities over them), by model name; empty
        for a sampler without probabilities. Read by the estimate stop
        (:mod:`elsa.stopping.estimates`)."""
        return {}

    def propose(self, state: SearchState, rng: np.random.Generator) -> Proposal:
        """:meth:`select`'s items with who proposed each: this sampler's name, or ``name/part``
        for a sampler made of parts (which overrides this). The loop calls this; it keeps
        the owners in :attr:`elsa.state.SearchState.proposals` and counts them in each
        round's sources."""
        ids = self.select(state, rng)
        return Proposal(ids, (self.name,) * len(ids))

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
