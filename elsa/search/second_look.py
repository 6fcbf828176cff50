"""Second looks: after each page, the answers the models most disagree with go back to the
person once, marked "please check".

A labeller makes mistakes (the paper's appendix D flips answers at random). One wrong
"no" on an early positive can cut a whole region of the pool off the search; one wrong
"yes" pulls it elsewhere. Each answer is scored by a model that never saw it: the k-NN
model of the pool's graph (:class:`elsa.head.knn.KNNModel`; an item is not its own
neighbour, so its probability is held out from its own label)::

    disagreement = p(x)       for an answer "no"
                   1 - p(x)   for an answer "yes"

Answers whose disagreement exceeds ``threshold`` (``yes_threshold`` for a "yes") are
asked again, the strongest first, once each, within an allowance that grows with the
mistakes found: 1 % of the labels spent, plus 2 re-asks for every answer a second look
changed, at most 10 % of the labels; and 10 % of the first 100 labels in any case. A
"yes" with no labelled neighbour yet has ``p = gamma`` and so the strongest disagreement
(``1 - gamma``): an isolated "yes" is looked at again before the search spends a page
around it. The latest answer stands:
an item is re-asked only when the model disagrees with its first answer, so when the two
answers differ the model sides with the second (a majority of three). Seeds (the user's
own examples) are never re-asked.

The re-asks are labels like any other: they count against the budget (with a budget, a
search with second looks is compared with one without at the same total labels; without
one, they are labels on top). They come after an epoch's answers, before the next epoch:
not after the last epoch, nor after the final search.

Experimental (issue 25): off by default; measured in ``benchmarks/noise.py``.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_float, check_int
from ..state import NEGATIVE, POSITIVE, SearchState

OWNER = "second-look"


class SecondLooks:
    """Which answers to ask again after a page.

    Parameters
    ----------
    share, per_change, max_share : float
        The re-asks may be at most ``share`` of the labels spent so far, plus
        ``per_change`` for every answer a second look changed, and never more than
        ``max_share`` (None: 10 %, or ``share`` if larger) of the labels: the allowance
        grows only while second looks find mistakes.
    early_share, early_labels :
        But at least ``early_share`` of the first ``early_labels`` labels (10 % of the
        first 100: at most 10 re-asks), whatever was found: the first pages decide where
        a search goes, and a false "yes" there can send it away for good.
    threshold, yes_threshold : float
        The least disagreement (a held-out probability against the answer) worth a re-ask
        of a "no" and of a "yes" (the same by default).
    k, gamma : the k-NN model's neighbours and prior (:class:`elsa.head.knn.KNNModel`).
    """

    name = OWNER

    def __init__(self, share: float = 0.01, threshold: float = 0.5, yes_threshold: float | None = None,
                 k: int = 50, gamma: float = 0.05, max_share: float | None = None, per_change: float = 2.0,
                 early_share: float = 0.1, early_labels: int = 100):
        self.share = check_float(share, "second-look share", minimum=0.0, maximum=1.0)
        self.max_share = max(self.share, 0.1) if max_share is None else check_float(
            max_share, "second-look max share", minimum=self.share, maximum=1.0)
        self.per_change = check_float(per_change, "second looks per change", minimum=0.0)
        self.early_share = check_float(early_share, "second-look early share", minimum=0.0, maximum=1.0)
        self.early_labels = check_int(early_labels, "second-look early labels", minimum=0)
        self.threshold = check_float(threshold, "second-look threshold", minimum=0.0, maximum=1.0)
        self.yes_threshold = self.threshold if yes_threshold is None else check_float(
            yes_threshold, "second-look yes threshold", minimum=0.0, maximum=1.0)
        self.k = check_int(k, "k", minimum=1)
        self.gamma = check_float(gamma, "gamma", minimum=0.0, maximum=1.0, exclusive_minimum=True)
        self._model = None
        self.read_beliefs = True  # the beliefs are the labeller model's (set by the loop)

    def get_params(self) -> dict:
        return {"share": self.share, "max_share": self.max_share, "per_change": self.per_change,
                "early_share": self.early_share, "early_labels": self.early_labels,
                "threshold": self.threshold, "yes_threshold": self.yes_threshold, "k": self.k, "gamma": self.gamma}

    def prepare(self, state: SearchState) -> None:
        from ..head.knn import KNNModel
        from ..index.graph import neighbour_graph

        graph = neighbour_graph(state.X, self.k, index=state.index, progress=state.progress)
        self._model = KNNModel(self.k, self.gamma).attach(graph)

    def disagreement(self, state: SearchState, ids: np.ndarray) -> np.ndarray:
        """How strongly the held-out k-NN model disagrees with each answer of ``ids``; where
        the search keeps beliefs (:mod:`.labeller`), how far each answer is doubted."""
        if state.belief is not None and self.read_beliefs:
            q = state.belief[ids]
            return np.where(state.answers[ids] == POSITIVE, 1.0 - q, q)
        if self._model is None:
            self.prepare(state)
        self._model.sync(state)
        p = self._model.probabilities(ids)
        return np.where(state.answers[ids] == POSITIVE, 1.0 - p, p)

    def select(self, state: SearchState) -> np.ndarray:
        """The answers to ask again now, the strongest disagreement first (maybe none)."""
        asked, rechecked = asked_and_rechecked(state)
        q = state.queries
        allowance = max(min(math.floor(self.share * q) + math.floor(self.per_change * state.corrected),
                            math.floor(self.max_share * q)),
                        math.floor(self.early_share * min(q, self.early_labels))) - rechecked.size
        if state.budget_left is not None:
            allowance = min(allowance, state.budget_left)
        if allowance <= 0 or not state.proposals or is_check(state.proposals[-1]):
            return np.zeros(0, np.int64)
        ids = np.setdiff1d(asked, rechecked)
        if state.votes is not None:  # answered twice already (a second labeller)
            ids = np.setdiff1d(ids, np.concatenate([state.votes.items, state.votes.also]))
        ids = ids[np.isin(state.answers[ids], (POSITIVE, NEGATIVE))]  # not unsure, not undone
        if ids.size == 0:
            return ids
        d = self.disagreement(state, ids)
        over = d > np.where(state.answers[ids] == POSITIVE, self.yes_threshold, self.threshold)
        ids, d = ids[over], d[over]
        return ids[np.lexsort((ids, -d))][:allowance]


def is_check(proposal) -> bool:
    """A round of second looks (every item owned by :data:`OWNER`)."""
    return len(proposal.owners) > 0 and all(o == OWNER for o in proposal.owners)


def asked_and_rechecked(state: SearchState) -> tuple[np.ndarray, np.ndarray]:
    """Items the oracle has answered (seeds excluded), and those already asked again."""
    def union(parts):
        return np.unique(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64)

    return (union([p.ids for p in state.proposals if not is_check(p)]),
            union([p.ids for p in state.proposals if is_check(p)]))


def record_check(state: SearchState, ids: np.ndarray, said: np.ndarray) -> np.ndarray:
    """Apply the second answers ``said`` (bool) to ``state``; returns which of ``ids`` changed."""
    before = state.answers[ids].copy()
    after = np.where(said, POSITIVE, NEGATIVE).astype(state.answers.dtype)
    state.answers[ids] = after
    changed = before != after
    if changed.any():
        state.corrected += int(changed.sum())
        state.n_found += int((after[changed] == POSITIVE).sum()) - int((before[changed] == POSITIVE).sum())
        # The next NN step searches around the last page's positives and the newly confirmed
        # ones, and no longer around a "yes" taken back.
        frontier = np.union1d(state.frontier, ids[changed & said])
        state.frontier = np.setdiff1d(frontier, ids[changed & ~said]).astype(np.int64)
    return changed
