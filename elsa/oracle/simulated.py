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
    """Flips each answer independently with probability ``p`` (the paper's appendix D).

    The ``j``-th answer about item ``i`` flips when a uniform draw keyed by ``(i, j)`` (and
    the random state) is below ``p``, not by the next draw of one stream. So two searches
    from the same random state meet the same mistakes on the items both ask about, in
    whatever order they ask (a paired comparison: second looks on and off differ only by
    what the search did), and asking again about an item draws afresh, independently.
    """

    def __init__(self, truth, p: float, random_state=None):
        super().__init__(truth)
        self.p = check_float(p, "noise", minimum=0.0, maximum=1.0)
        self._key = np.uint64(as_generator(random_state).integers(2**63, dtype=np.uint64))
        self._asked = np.zeros(self.truth.size, np.uint32)  # answers given so far, per item
        self.flips = 0

    def label(self, ids) -> np.ndarray:
        shape = np.shape(ids)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        answers = super().label(ids)
        asks = np.zeros(ids.size, np.uint32)
        for j, i in enumerate(ids.tolist()):  # an item twice in one call: its first and second answer
            asks[j] = self._asked[i]
            self._asked[i] += 1
        flip = keyed_uniform(self._key, ids, asks) < self.p
        self.flips += int(flip.sum())
        return (answers ^ flip).reshape(shape)


def keyed_uniform(key: np.uint64, ids: np.ndarray, asks: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) for each ``(ids[j], asks[j])`` under ``key``: splitmix64's
    finaliser of the three mixed together (a counter-based generator, vectorised)."""
    x = (np.uint64(key) ^ (ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
         ^ (asks.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03)))
    for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        x = (x ^ (x >> np.uint64(shift))) * np.uint64(mult)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)
