"""Simulated oracles built from ground truth, for benchmarks and tests."""

from __future__ import annotations

import numpy as np

from .._validation import as_generator, check_float
from ..exceptions import InputError


class SimulatedOracle:
    """Answers from ground truth: ``truth[i]`` is True when item ``i`` is a positive."""

    def __init__(self, truth):
        self.truth = np.asarray(truth, dtype=bool)
        if self.truth.ndim != 1:
            raise InputError(f"truth must be 1-d, got shape {self.truth.shape}")
        self.queries = 0

    def label(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        self.queries += ids.size
        return self.truth[ids].copy()


class NoisyOracle(SimulatedOracle):
    """Flips each answer independently with probability ``p`` (the paper's appendix D)."""

    def __init__(self, truth, p: float, random_state=None):
        super().__init__(truth)
        self.p = check_float(p, "noise", minimum=0.0, maximum=1.0)
        self._rng = as_generator(random_state)
        self.flips = 0

    def label(self, ids) -> np.ndarray:
        answers = super().label(ids)
        flip = self._rng.random(answers.size) < self.p
        self.flips += int(flip.sum())
        return answers ^ flip
