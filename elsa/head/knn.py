"""The k-NN model of Bayesian active search (Garnett et al., ICML 2012).

An item's probability of being positive comes from the labels among its own ``k``
nearest neighbours in the pool's k-NN graph (:mod:`elsa.index.graph`)::

    p(x) = (gamma + positives among x's labelled k-NN) / (1 + labelled among x's k-NN)

With nothing labelled near it an item has the prior ``gamma``. This is the model of the
anchors' one-step search and of ENS (Jiang et al., ICML 2017), whose reference code
(``rmgarnett/active_learning``'s ``knn_model.m`` with ``alpha = [gamma, 1]``) divides by
``gamma + 1 + labelled`` instead of ``1 + labelled``; the issue that specified the
anchors gives the formula above, which ranks items the same way whenever the counts
differ and is used here.

Labelling item ``j`` changes the probabilities of ``j``'s reverse neighbours only (the
items that list ``j``), so the model keeps two count arrays and updates them by ``O(k)``
per label. :meth:`KNNModel.sync` brings them to any state's labels by the difference
from the labels it last saw, so a label taken back (undo) or changed is handled like a
new one, and the counts are always those of the state (integers, exactly). Unsure
answers and unlabelled items count for nothing.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_float, check_int
from ..index.graph import NeighbourGraph
from ..state import NEGATIVE, POSITIVE, SearchState


class KNNModel:
    """Counts of positive and negative labelled neighbours, and the probabilities from them.

    Parameters
    ----------
    k : int
        Neighbours per item (a prefix of the graph's lists).
    gamma : float
        The prior's pseudo-count: an item with no labelled neighbour has ``p = gamma``.
    """

    def __init__(self, k: int = 50, gamma: float = 0.05):
        self.k = check_int(k, "k", minimum=1)
        self.gamma = check_float(gamma, "gamma", minimum=0.0, maximum=1.0, exclusive_minimum=True)
        self.graph: NeighbourGraph | None = None
        self.positives = self.negatives = np.zeros(0)
        self._seen = np.zeros(0, np.int8)

    def attach(self, graph: NeighbourGraph) -> "KNNModel":
        """Use ``graph`` (its first ``k`` neighbours) and forget every label."""
        self.graph = graph.prefix(min(self.k, graph.k))
        n = graph.n
        self.positives = np.zeros(n, np.float64)  # float: fictional labels may be fractional
        self.negatives = np.zeros(n, np.float64)
        self._seen = np.zeros(n, np.int8)
        return self

    def observe(self, ids, positive, sign: float = 1.0) -> None:
        """Add (``sign=1``) or remove (``-1``) labels: ``positive[i]`` for item ``ids[i]``.

        ``positive`` may be a fraction (an expected label), as a fictional observation.
        """
        ids = np.atleast_1d(np.asarray(ids, np.int64))
        positive = np.broadcast_to(np.asarray(positive, np.float64), ids.shape)
        for j, y in zip(ids.tolist(), positive.tolist()):
            rev = self.graph.reverse(j)
            if y:
                self.positives[rev] += sign * y
            if y != 1.0:
                self.negatives[rev] += sign * (1.0 - y)

    def sync(self, state: SearchState) -> np.ndarray:
        """Counts for ``state``'s decided labels; returns the ids whose label changed.

        Where the state keeps beliefs (:attr:`~elsa.state.SearchState.belief`, from the
        labeller model) the counts are the beliefs' sums, recounted from zero each time (in
        the order of the ids, so a search rebuilt from the same answers counts the same
        bits); every decided item is returned."""
        if state.belief is not None:
            decided = np.flatnonzero(state.decided)
            self.positives[:] = 0.0
            self.negatives[:] = 0.0
            self.observe(decided, state.soft_labels(decided))
            self._seen = None  # the next sync without beliefs recounts from zero
            return decided
        if self._seen is None:
            self.positives[:] = 0.0
            self.negatives[:] = 0.0
            self._seen = np.zeros(state.n, np.int8)
        now = np.where(state.answers == POSITIVE, 1, np.where(state.answers == NEGATIVE, -1, 0)).astype(np.int8)
        changed = np.flatnonzero(now != self._seen)
        if changed.size:
            old, new = self._seen[changed], now[changed]
            self.observe(changed[old != 0], (old[old != 0] > 0).astype(float), sign=-1.0)
            self.observe(changed[new != 0], (new[new != 0] > 0).astype(float), sign=1.0)
            self._seen = now
        return changed

    def labels_near(self, ids=None) -> np.ndarray:
        """Whether any of ``ids``' neighbours is labelled (every item when None); where not, ``p = gamma``."""
        s = self.positives if ids is None else self.positives[ids]
        f = self.negatives if ids is None else self.negatives[ids]
        return (s + f) > 0

    def probabilities(self, ids=None) -> np.ndarray:
        """``p(x)`` for ``ids`` (every item when None)."""
        s = self.positives if ids is None else self.positives[ids]
        f = self.negatives if ids is None else self.negatives[ids]
        return (self.gamma + s) / (1.0 + s + f)

    def probabilities_if(self, ids, positive: bool) -> np.ndarray:
        """``p(x)`` for ``ids`` after one more neighbour labelled ``positive`` (ENS's look-ahead)."""
        s = self.positives[ids] + (1.0 if positive else 0.0)
        f = self.negatives[ids] + (0.0 if positive else 1.0)
        return (self.gamma + s) / (1.0 + s + f)
