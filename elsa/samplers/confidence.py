"""The active-learning sampler (the paper's Algorithm 3) and the final search.

Both read the head's confidence of every item (``state.scores``) through the
reductions of :mod:`elsa.scores`, which run where the scores are (on the shards,
for a sharded pool). Threshold statistics (mean and standard deviation) are taken over
the whole pool, labelled items included, as in Algorithm 3 ("H = S_i, I_i in D"), in
float64; only unlabelled items are returned.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_float, check_int
from ..exceptions import ParameterError
from .. import scores
from ..state import SearchState
from .base import Sampler


def _above_threshold(state: SearchState, alpha: float) -> np.ndarray:
    """Unlabelled ids with score > mean + alpha * std, most confident first.

    When the head scored only part of the pool (``state.scored``), the mean and standard
    deviation are those of the scored items: the others' -1 is not a measurement.
    """
    return scores.above(state.scores, scores.threshold(state.scores, alpha, state.scored), state.labelled)


class ConfidenceSampler(Sampler):
    """Unlabelled items whose confidence exceeds ``mean + alpha * std`` (Algorithm 3).

    Before the head has been trained (``state.scores is None``: the first epoch, or no
    negative labelled yet) there is no confidence to rank by, and every unlabelled item
    is a candidate. That fallback is a choice: the paper starts RandS with an untrained
    head and does not say what it returns.
    """

    name = "confidence"

    def __init__(self, alpha: float = 1.0):
        self.alpha = check_float(alpha, "alpha1")

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if state.scores is None:
            return np.flatnonzero(~state.labelled)
        return _above_threshold(state, self.alpha)


class FinalSearch(Sampler):
    """The final search of Algorithm 4 (lines 13-14): the most confident unlabelled items.

    Appendix C describes two ways, both supported:

    * ``mode="threshold"``: every unlabelled item with confidence above
      ``mean + alpha2 * std`` (the loop still cuts it to the remaining budget);
    * ``mode="top"``: the ``size`` most confident items, or as many as the remaining
      label budget allows when ``size`` is None ("labelling the most confident samples
      depending on the labelling budget");
    * ``mode="auto"`` (default): ``top`` when the run has a label budget, else
      ``threshold``.

    Appendix C's values of alpha2 (25, 50, 100) cannot be standard-deviation
    multipliers of a confidence in [-1, 1]; they read as result counts, which is what
    ``mode="top", size=...`` provides. ``alpha2`` here is the multiplier of
    Algorithm 3's threshold.
    """

    name = "final"
    MODES = ("auto", "threshold", "top")

    def __init__(self, mode: str = "auto", alpha2: float = 2.0, size: int | None = None):
        self.mode = check_choice(mode, "final", self.MODES)
        self.alpha2 = check_float(alpha2, "alpha2")
        self.size = None if size is None else check_int(size, "final_size", minimum=0)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if state.scores is None:
            return np.zeros(0, np.int64)
        mode = self.mode
        if mode == "auto":
            mode = "top" if (self.size is not None or state.budget_left is not None) else "threshold"
        if mode == "threshold":
            return _above_threshold(state, self.alpha2)
        k = self.size if self.size is not None else state.budget_left
        if k is None:
            raise ParameterError("final search mode 'top' needs final_size or a label budget")
        return scores.top(state.scores, k, state.labelled)
