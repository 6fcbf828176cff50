"""One-step Bayesian active search with the k-NN model (Garnett et al., ICML 2012).

The greedy (one-step) policy of active search: label the item most likely to be
positive under the k-NN model (:class:`~elsa.head.knn.KNNModel`), observe it, update,
repeat. The anchors were run one item at a time (``batch_size=1``), as in the paper; a
larger batch takes the ``batch_size`` most likely items of one model state (the
"greedy batch" of Jiang et al., NeurIPS 2018).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..head.knn import KNNModel
from ..scores import local_top
from ..index.graph import neighbour_graph
from ..state import SearchState
from .base import Sampler


def knn_model(state: SearchState, k: int, gamma: float) -> KNNModel:
    """A k-NN model on ``state``'s pool graph (computed or read from the cache once per pool)."""
    return KNNModel(k, gamma).attach(neighbour_graph(state.X, k, index=state.index, progress=state.progress))


class KNNSearchSampler(Sampler):
    """The ``batch_size`` unlabelled items with the highest k-NN probability, ties by smaller id.

    Parameters
    ----------
    k : int
        Neighbours per item in the model (50 in the literature's citation-network runs).
    gamma : float
        The model's prior probability (0.05 there).
    batch_size : int
        Items per oracle call.
    """

    name = "knn-search"

    def __init__(self, k: int = 50, gamma: float = 0.05, batch_size: int = 1):
        self.k = check_int(k, "k", minimum=1)
        self.gamma = KNNModel(k, gamma).gamma
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self._model: KNNModel | None = None

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        self._model = knn_model(state, self.k, self.gamma)

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if self._model is None:
            self.prepare(state, rng)
        self._model.sync(state)
        return local_top(self._model.probabilities(), self.batch_size, state.labelled)
