"""Continuous active learning in AutoTAR's form (Cormack and Grossman, SIGIR 2015).

Each round trains a logistic regression on every label so far plus ``n_random``
unlabelled items drawn at random and *taken as negatives* (AutoTAR's trick for a rare
class: a random unlabelled item is almost surely negative, and this supplies negatives
before any is labelled), scores the pool, and labels the ``b`` highest-scored unlabelled
items. The batch starts at 1 and grows by ``ceil(b / 10)`` each round (1, 2, 3, 4, 5,
6, 7, 8, 9, 10, 11, 13, ...). The pseudo-negatives are drawn afresh every round.

Where this differs from AutoTAR: its features are tf-idf vectors of documents and its
learner Sofia-ML's logistic regression; here the features are the pool's embeddings,
standardised, and the learner scikit-learn's (:class:`~elsa.head.logistic.LogisticHead`,
``C = 1``, classes not reweighted). The seeds play the part of AutoTAR's synthetic seed
document. Unsure answers are not trained on.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_float, check_int, is_sparse
from .. import scores
from ..head.logistic import LogisticHead
from ..state import POSITIVE, SearchState
from .base import Sampler, uniform_unlabelled


def cal_batch(round_no: int) -> int:
    """AutoTAR's batch size in round ``round_no`` (1-based): 1, then ``b + ceil(b / 10)``."""
    b = 1
    for _ in range(round_no - 1):
        b += math.ceil(b / 10)
    return b


def fit_with_random_negatives(heads, state: SearchState, rng: np.random.Generator, n_random: int) -> bool:
    """Fit ``heads`` (one head, or several on the same data) on every decided label plus
    ``n_random`` random unlabelled items taken as negatives (drawn afresh from ``rng``),
    and the state's :attr:`~elsa.state.SearchState.examples` as positives (AutoTAR's
    synthetic positive: the topic's own text); False, with nothing fitted, while one class
    is missing."""
    decided = np.flatnonzero(state.decided)
    pseudo = uniform_unlabelled(state, rng, n_random)
    ids = np.concatenate([decided, pseudo])
    y = np.concatenate([state.answers[decided] == POSITIVE, np.zeros(pseudo.size, bool)])
    weight = None
    if state.belief is not None:  # each answer as far as it is believed (:mod:`elsa.search.labeller`)
        q = state.soft_labels(decided)
        doubt = (q > 0.0) & (q < 1.0)  # in doubt: a negative row weighted 1 - q and a positive row weighted q
        ids = np.concatenate([ids, decided[doubt]])
        y = np.concatenate([q >= 1.0, np.zeros(pseudo.size, bool), np.ones(int(doubt.sum()), bool)])
        weight = np.concatenate([np.where(doubt, 1.0 - q, 1.0), np.ones(pseudo.size), q[doubt]])
    rows = state.X[ids]
    if state.examples is not None and state.examples.shape[0]:
        rows = stack_rows(rows, state.examples)
        y = np.concatenate([y, np.ones(state.examples.shape[0], bool)])
        if weight is not None:
            weight = np.concatenate([weight, np.ones(state.examples.shape[0])])
    if y.all() or not y.any():
        return False
    seed = int(rng.integers(2**31 - 1))
    for head in heads if isinstance(heads, (list, tuple)) else (heads,):
        head.fit(rows, y, random_state=seed, sample_weight=weight)
    return True


def stack_rows(a, b):
    """Rows of ``b`` under those of ``a`` (both sparse, or both dense)."""
    if is_sparse(a):
        from scipy.sparse import vstack

        return vstack([a, b], format="csr")
    return np.concatenate([np.asarray(a), np.asarray(b, dtype=np.asarray(a).dtype)])


class CALSampler(Sampler):
    """AutoTAR's CAL round: a fresh logistic regression, the top ``cal_batch(round)`` items.

    Parameters
    ----------
    n_random : int
        Random unlabelled items taken as negatives each round.
    C : float
        The logistic regression's inverse L2 penalty.
    """

    name = "cal"

    @classmethod
    def from_params(cls, params: dict) -> "CALSampler":
        return cls(params["n_random"], params["head_c"])

    def __init__(self, n_random: int = 100, C: float = 1.0):
        self.n_random = check_int(n_random, "n_random", minimum=0)
        self.C = check_float(C, "C", minimum=0.0, exclusive_minimum=True)
        self._head = LogisticHead(C, balanced=False)

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        self._head = LogisticHead(self.C, balanced=False).prepare(state.X)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        size = cal_batch(max(state.epoch, 1))
        if not fit_with_random_negatives(self._head, state, rng, self.n_random):  # nothing to contrast yet
            return uniform_unlabelled(state, rng, size)
        held = state.index.score(self._head.decision_function)
        return scores.top(held, size, state.labelled)
