"""Scorers give every item of the pool a score after each oracle call.

The loop stores the result in ``state.scores`` for the samplers and the final search.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod

import numpy as np

from .._validation import check_int
from ..index.candidates import CandidatePool
from ..state import NEGATIVE, POSITIVE, SearchState
from .base import Head
from .mlp import MLPHead


class Scorer(ABC):
    """Scores every item after each oracle call.

    ``last_seconds`` holds the wall time of the last update's phases (the loop adds them
    to the round's timings).
    """

    name = "scorer"
    last_seconds: dict[str, float] = {}

    def prepare(self, state: SearchState) -> None:
        """Called once before the first epoch."""

    @abstractmethod
    def update(self, state: SearchState, rng: np.random.Generator, ahead=None) -> np.ndarray | None:
        """Scores of every item given the answers so far, or None when it cannot score yet.

        ``ahead`` is a search the loop will make next, ``(key, query ids, k)`` (the NN
        step's); a scorer that reads the whole pool may answer it in the same pass and
        leave ``(key, ids)`` in ``state.prefetched``.
        """


class HeadScorer(Scorer):
    """ELSA's active-learning head, retrained on every labelled positive and negative.

    Seeds count as positives; items answered unsure are left out. Until at least one negative has been labelled the head
    cannot be trained and the scores stay None.

    ``neighbours`` > 0 restricts scoring SEALS-style (seed 004): only the union of the
    ``neighbours`` nearest neighbours of every labelled item (grown incrementally, one
    k-NN search per newly labelled item) and the labelled items themselves are scored;
    every other item gets confidence -1, a confident negative, and ``scored`` marks which
    were scored. That saves scoring the whole pool each epoch (most of an epoch on a
    faiss index) at the price of a k-NN search per new label, and it changes results:
    items far from everything labelled can no longer be proposed by the head. The
    measured effect on positives found is in ``benchmarks/results/restricted_scoring.md``.

    When the head would not change (the training labels and the fit's random seed are
    those of the last update: a session retrying a failed round, or recomputing one
    whose labels were undone and redone meanwhile), it is not retrained and the pool is
    not rescored; the last scores are returned. A head is a deterministic function of
    its labels and seed, so this never changes a result, and a reopened session, which
    retrains, gets the same scores.
    """

    name = "head"

    def __init__(self, head: Head | None = None, *, neighbours: int = 0):
        self.head = head if head is not None else MLPHead()
        self.neighbours = check_int(neighbours, "score_neighbours", minimum=0)
        self._last: tuple[bytes, np.ndarray, np.ndarray | None] | None = None  # (labels' digest, scores, scored)
        self._pool = None
        self.scored: np.ndarray | None = None

    def prepare(self, state: SearchState) -> None:
        self.head.prepare(state.X)
        self._last = None
        self.scored = None
        if self.neighbours:
            self._pool = CandidatePool(self.neighbours)

    def update(self, state: SearchState, rng: np.random.Generator, ahead=None) -> np.ndarray | None:
        labelled = np.flatnonzero(state.decided)
        y = state.answers[labelled] == POSITIVE
        if not (state.answers == NEGATIVE).any() or not y.any():
            return None
        seed = int(rng.integers(2**31 - 1))
        key = hashlib.sha256(labelled.tobytes() + y.tobytes() + seed.to_bytes(8, "little")).digest()
        if self._last is not None and self._last[0] == key:
            self.last_seconds = {"head_fit": 0.0, "head_score": 0.0}
            self.scored = self._last[2]
            return self._last[1]
        t0 = time.perf_counter()
        self.head.fit(state.X[labelled], y, random_state=seed)
        t1 = time.perf_counter()
        if self._pool is None:
            if ahead is None:
                scores = state.index.score(self.head.confidence)  # left where the pool lives (on shards, for a cluster)
            else:  # the next NN step's search in the same read of the pool
                key, ids, k = ahead
                scores, (_, found) = state.index.score_and_search_set(
                    self.head.confidence, state.X[ids], k, exclude=state.labelled, fn_rows=self.head.chunk_rows)
                state.prefetched = (key, found)
            self.scored = None
            self.last_seconds = {"head_fit": t1 - t0, "head_score": time.perf_counter() - t1}
        else:
            self._pool.update(state)
            t2 = time.perf_counter()
            self.scored = self._pool.member | state.labelled
            ids = np.flatnonzero(self.scored)
            scores = np.full(state.n, -1.0, np.float32)
            scores[ids] = self.head.confidence(state.X[ids])
            self.last_seconds = {"head_fit": t1 - t0, "head_neighbours": t2 - t1, "head_score": time.perf_counter() - t2}
        self._last = (key, scores, self.scored)
        return scores


class ProximityScorer(Scorer):
    """No learning: the score is minus the squared distance to the nearest known positive.

    Used for the final search of the paper's "No Active" ablation, which has a final
    search but no trained head; the paper does not say what ranks that search, and the
    closest items to everything found so far is the head-free choice.
    """

    name = "proximity"

    def update(self, state: SearchState, rng: np.random.Generator, ahead=None) -> np.ndarray | None:
        positives = state.positive_ids
        if positives.size == 0:
            return None
        return -state.index.distance_to_set(state.X[positives])
