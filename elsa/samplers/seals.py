"""SEALS (seed 004): active learning restricted to the neighbourhoods of labelled items."""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_float, check_int, float_rows
from ..index.candidates import CandidatePool
from ..state import SearchState
from ._geometry import nearest_sq_dist
from .base import Sampler, uniform_unlabelled
from .choices import CRITERIA



def nearest_first(state: SearchState, ids: np.ndarray) -> np.ndarray:
    """``ids`` by ascending squared distance to their nearest known positive, ties by id."""
    positives = state.positive_ids
    if positives.size == 0:
        return np.sort(ids)
    nearest = nearest_sq_dist(float_rows(state.X[ids]), state.X, positives, block=1024)
    return ids[np.lexsort((ids, nearest))]


class SEALSSampler(Sampler):
    """Score only the candidate pool; label the ``batch_size`` best candidates.

    Criteria (seed 004), from the head's probability ``p = (confidence + 1) / 2``:

    * ``maxent``: binary entropy of ``p`` (the most uncertain first);
    * ``id``: information density, ``entropy * (mean cosine similarity to the candidate
      pool) ** beta``;
    * ``positive``: the most likely positive first.

    Before the head is trained (no negative labelled yet) there is nothing to score by.
    SEALS starts from labelled positives and negatives; the label-free stand-ins here
    are, for ``maxent`` and ``id``, a uniform draw from the candidate pool (the seeds'
    neighbourhoods) and, for ``positive``, the candidates nearest to a known positive
    first (a search for positives should look next to them). With an empty candidate
    pool (no seeds, or every neighbour labelled) the batch is drawn uniformly from all
    unlabelled items.
    """

    name = "seals"

    def __init__(self, batch_size: int = 100, k: int = 100, criterion: str = "maxent", beta: float = 1.0):
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.k = check_int(k, "k", minimum=1)
        self.criterion = check_choice(criterion, "criterion", CRITERIA)
        self.beta = check_float(beta, "beta", minimum=0.0)
        self._pool = CandidatePool(self.k)

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        self._pool = CandidatePool(self.k)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        cand = self._pool.update(state)
        if cand.size == 0:  # nothing labelled yet (no seeds), or every neighbour already labelled
            return uniform_unlabelled(state, rng, self.batch_size)
        if state.scores is None:
            if self.criterion == "positive":
                return nearest_first(state, cand)[: self.batch_size]
            return rng.permutation(cand)[: self.batch_size]
        p = np.clip((state.scores[cand].astype(np.float64) + 1.0) / 2.0, 1e-12, 1 - 1e-12)
        if self.criterion == "positive":
            utility = p
        else:
            utility = -(p * np.log(p) + (1 - p) * np.log(1 - p))
            if self.criterion == "id":
                from sklearn.preprocessing import normalize

                Z = normalize(state.X[cand].astype(np.float64))  # dense or sparse rows; a zero row stays zero
                similarity = np.asarray(Z @ np.asarray(Z.mean(axis=0)).ravel()).ravel()
                utility = utility * np.maximum(similarity, 0.0) ** self.beta
        order = np.lexsort((cand, -utility))[: self.batch_size]
        return cand[order]
