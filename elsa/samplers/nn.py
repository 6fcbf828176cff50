"""Nearest-neighbour search around the positives found last (the paper's Algorithm 1)."""

from __future__ import annotations

import hashlib

import numpy as np

from .._validation import check_int
from ..state import SearchState
from .base import Sampler


class NearestNeighbourSampler(Sampler):
    """The ``a`` unlabelled items closest to *any* frontier positive, ascending.

    A distance-to-a-set query: one pass over the pool per call, ranking every item by
    ``min_j ||x - q_j||^2`` over the queries ``q_j`` (the positives of the last oracle
    call, or the seeds), not one kNN search per query. With no frontier (the last call
    found no positive) it returns nothing, as in Algorithm 4.

    The search depends only on the frontier and the labelled items, both known as soon
    as an oracle call is answered, so the loop asks for it ahead (:meth:`ahead`) and the
    head's scoring pass over the pool answers it in the same read
    (:meth:`~elsa.index.base.Index.score_and_search_set`). :meth:`select` uses that
    answer when its key (``a``, the frontier, the labelled set) still matches, and
    searches itself otherwise (a person added seeds or undid an answer in between).

    ``keep_going=True`` is the baseline that keeps searching until the budget is spent:
    when the last call found no positive, it searches around every positive found so
    far (seeds included) instead of stopping.
    """

    name = "nn"

    def __init__(self, a: int = 50, keep_going: bool = False):
        self.a = check_int(a, "a", minimum=1)
        self.keep_going = bool(keep_going)

    def _queries(self, state: SearchState) -> np.ndarray:
        """The frontier; with ``keep_going``, every known positive when the frontier is empty."""
        if state.frontier.size == 0 and self.keep_going:
            return state.positive_ids
        return state.frontier

    def _key(self, state: SearchState) -> bytes:
        parts = (self.a.to_bytes(8, "little"), self._queries(state).astype(np.int64).tobytes(),
                 np.packbits(state.labelled).tobytes())
        return hashlib.sha256(b"|".join(parts)).digest()

    def ahead(self, state: SearchState) -> tuple[bytes, np.ndarray, int] | None:
        """The search the next :meth:`select` will make, as ``(key, query ids, k)``, or None."""
        queries = self._queries(state)
        if queries.size == 0:
            return None
        return self._key(state), queries.copy(), self.a

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        queries = self._queries(state)
        if queries.size == 0:
            return np.zeros(0, np.int64)
        if state.prefetched is not None and state.prefetched[0] == self._key(state):
            return state.prefetched[1]
        _, ids = state.index.search_set(state.X[queries], self.a, exclude=state.labelled)
        return ids
