"""Scorers give every item of the pool a score after each oracle call.

The loop stores the result in ``state.scores`` for the samplers and the final search.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod

import numpy as np

from ..state import NEGATIVE, POSITIVE, SearchState
from .mlp import MLPHead


class Scorer(ABC):
    """Scores every item after each oracle call.

    ``last_seconds`` holds the wall time of the last update's phases (the loop adds them
    to the round's timings).
    """

    name = "scorer"
    last_seconds: dict[str, float] = {}

    def prepare(self, state: SearchState) -> None:
        """Called once before the first epoch."""

    @abstractmethod
    def update(self, state: SearchState, rng: np.random.Generator) -> np.ndarray | None:
        """Scores of every item given the answers so far, or None when it cannot score yet."""


class HeadScorer(Scorer):
    """ELSA's active-learning head, retrained on every labelled positive and negative.

    Seeds count as positives; items answered unsure are left out. Until at least one negative has been labelled the head
    cannot be trained and the scores stay None.

    When the training labels are exactly those of the last update (a round answered
    only "unsure", or a session recomputing after an undo that was redone), the head is
    not retrained and the pool is not rescored: the last scores are returned. The random
    seed a fit would have used is still drawn, so later random choices do not move.
    """

    name = "head"

    def __init__(self, head: MLPHead | None = None):
        self.head = head if head is not None else MLPHead()
        self._last: tuple[bytes, np.ndarray] | None = None  # (training labels' digest, scores)

    def prepare(self, state: SearchState) -> None:
        self.head.prepare(state.X)
        self._last = None

    def update(self, state: SearchState, rng: np.random.Generator) -> np.ndarray | None:
        labelled = np.flatnonzero(state.decided)
        y = state.answers[labelled] == POSITIVE
        if not (state.answers == NEGATIVE).any() or not y.any():
            return None
        seed = int(rng.integers(2**31 - 1))
        key = hashlib.sha256(labelled.tobytes() + y.tobytes()).digest()
        if self._last is not None and self._last[0] == key:
            self.last_seconds = {"head_fit": 0.0, "head_score": 0.0}
            return self._last[1]
        t0 = time.perf_counter()
        self.head.fit(state.X[labelled], y, random_state=seed)
        t1 = time.perf_counter()
        scores = state.index.map(self.head.confidence)  # where the pool lives (shards, for a cluster)
        self.last_seconds = {"head_fit": t1 - t0, "head_score": time.perf_counter() - t1}
        self._last = (key, scores)
        return scores


class ProximityScorer(Scorer):
    """No learning: the score is minus the squared distance to the nearest known positive.

    Used for the final search of the paper's "No Active" ablation, which has a final
    search but no trained head; the paper does not say what ranks that search, and the
    closest items to everything found so far is the head-free choice.
    """

    name = "proximity"

    def update(self, state: SearchState, rng: np.random.Generator) -> np.ndarray | None:
        positives = state.positive_ids
        if positives.size == 0:
            return None
        return -state.index.distance_to_set(state.X[positives])
