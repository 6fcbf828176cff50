"""FarS (seed 000): a batch maximising spread plus confidence, chosen greedily."""

from __future__ import annotations

import numpy as np

from .._validation import check_float, check_int, float_rows
from ..state import SearchState
from ._geometry import sq_dist_to
from .base import Sampler, growing_batch
from .confidence import ConfidenceSampler


class FarS(Sampler):
    """Maximise ``g = sum_i sum_j ||x_i - x_j|| + sum_i f_c(x_i)`` over a batch (seed 000).

    Maximiser: greedy. It starts from the most confident candidate and repeatedly adds the
    candidate with the largest gain ``2 sum_j ||x - x_j|| / s + weight * f_c(x)`` (each
    pair appears twice in the double sum), keeping every candidate's running sum of
    distances to the batch. Greedy addition is the standard heuristic for this max-sum
    dispersion objective (within a factor 2 of the optimum for the distance term alone).

    Choices: candidates are the unlabelled items above Algorithm 3's threshold
    (``mean + alpha * std`` of the confidence); distances are divided by ``s``, the mean
    distance from the candidates to their centroid, so that one unit of distance is
    comparable to one unit of confidence (the seed adds the raw terms, where distances
    in a 1280-d embedding would drown the confidence). The batch grows like RandS's.
    Before the head is trained it returns nothing.
    """

    name = "fars"

    @classmethod
    def from_params(cls, params: dict) -> "FarS":
        return cls(params["b"], params["b_growth"], params["alpha1"], params["weight"])

    def __init__(self, b: int = 50, b_growth: float = 0.5, alpha: float = 1.0, weight: float = 1.0):
        self.b = check_int(b, "b", minimum=1)
        self.b_growth = check_float(b_growth, "b_growth", minimum=0.0)
        self.alpha = check_float(alpha, "alpha1")
        self.weight = check_float(weight, "weight", minimum=0.0)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if state.scores is None:
            return np.zeros(0, np.int64)
        candidates = ConfidenceSampler(self.alpha).select(state, rng)
        size = min(growing_batch(self.b, self.b_growth, state.n_found), candidates.size)
        if size == 0:
            return np.zeros(0, np.int64)
        C = float_rows(state.X[candidates])
        conf = state.scores[candidates].astype(np.float64)
        scale = float(np.sqrt(sq_dist_to(C, C.mean(axis=0))).mean()) or 1.0
        dist_sum = np.zeros(candidates.size)
        chosen = np.zeros(candidates.size, bool)
        picked = []
        for step in range(size):
            gain = np.where(chosen, -np.inf, 2.0 * dist_sum / scale + self.weight * conf)
            i = int(np.argmax(gain)) if step else int(np.argmax(np.where(chosen, -np.inf, conf)))
            picked.append(i)
            chosen[i] = True
            dist_sum += np.sqrt(sq_dist_to(C, C[i]))
        return candidates[np.asarray(picked)]
