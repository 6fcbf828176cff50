"""The neighbourhood of the labelled items: where SEALS looks, and where a restricted head scores."""

from __future__ import annotations

import numpy as np


class CandidatePool:
    """The union of the ``k`` nearest neighbours of every labelled item, grown incrementally.

    Each labelled item's neighbours are searched once, when it is first seen labelled, so
    a round costs one k-NN search for the newly labelled items only. ``update`` reads a
    :class:`~elsa.state.SearchState`'s ``n``, ``labelled``, ``X`` and ``index``.
    """

    def __init__(self, k: int):
        self.k = k
        self.reset(0)

    def reset(self, n: int) -> None:
        self.member = np.zeros(n, bool)
        self.expanded = np.zeros(n, bool)

    def update(self, state) -> np.ndarray:
        """Grow the pool with the neighbours of newly labelled items; return unlabelled members."""
        if self.member.size != state.n:
            self.reset(state.n)
        new = np.flatnonzero(state.labelled & ~self.expanded)
        for start in range(0, new.size, 512):
            chunk = new[start : start + 512]
            _, I = state.index.search(state.X[chunk], self.k, query_ids=chunk)
            self.member[I[I >= 0]] = True
        self.expanded[new] = True
        return np.flatnonzero(self.member & ~state.labelled)
