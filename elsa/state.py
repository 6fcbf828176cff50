"""What every sampler sees: the pool, its index, the answers so far and the head's scores."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .index import Index

UNLABELLED, POSITIVE, NEGATIVE, UNSURE = 0, 1, -1, 2


@dataclass(frozen=True)
class Proposal:
    """Items as the search proposed them, in priority order: the ids and, for each, the
    sampler (and the part of it) that proposed it, such as ``"portfolio/knn"``. A sampler
    returns one from :meth:`~elsa.samplers.base.Sampler.propose`; the loop records each
    oracle call's with its ``epoch`` in :attr:`SearchState.proposals`."""

    ids: np.ndarray
    owners: tuple[str, ...]
    epoch: int = 0


@dataclass
class SearchState:
    """The loop's state between oracle calls.

    Attributes
    ----------
    X : (n, d) float32 or float16 pool (read through :func:`elsa._validation.float_rows`).
    index : the search backend over ``X``.
    answers : (n,) int8; +1 positive, -1 negative (as the oracle answered; seeds are +1), 2 unsure
        (a person skipped it: never proposed again, never trained on), 0 unlabelled.
    frontier : ids of the positives from the last oracle call (the seeds before the first); NN
        searches around these (Algorithm 4, line 10: ``delta0 = gamma+``).
    scores : (n,) head confidence of every item, or None before the head could be trained.
    scored : (n,) bool, the items the head actually scored, or None for all of them (a
        head restricted to the labelled items' neighbourhoods gives the others -1).
    prefetched : ``(key, ids)``: the next NN step's answer, found in the head's scoring pass
        (see :meth:`elsa.samplers.nn.NearestNeighbourSampler.ahead`), or None.
    n_found : positives among the oracle's answers so far (seeds excluded).
    queries : items the oracle has been asked about so far.
    epoch : the current epoch, from 1.
    budget_left : oracle queries still allowed, or None for no limit.
    progress : show progress bars for long one-off work (computing the pool's k-NN graph).
    phase : where the loop is: ``epochs`` (more epochs may follow), ``final`` (the final
        search is next) or ``done`` (:meth:`elsa.search.ActiveSearch.next_step`).
    ended : why the epochs ended: ``epochs`` (all run) or ``no candidates`` (an epoch's
        samplers had nothing to propose).
    corrected : answers a second look changed (:mod:`elsa.search.second_look`).
    proposals : every earlier oracle call's :class:`Proposal`, oldest first (a labelling
        session rebuilds them from its rounds), so a sampler can tell which of its own
        rankings proposed the items answered so far (:mod:`elsa.samplers.portfolio`).
    examples : ``(m, d)`` rows in the pool's feature space that are positive examples but
        not pool items (the user's description of the target, featurised as a record:
        :mod:`elsa.text.describe`), or None. The logistic heads train on them as positives
        (:func:`elsa.samplers.cal.fit_with_random_negatives`); nothing else sees them.
    tally : (n, 2) int16, each item's "yes" and "no" answers from the oracle (second looks
        included; seeds none), kept by the loop of a search that weighs its answers; None
        where it was not kept (then one answer per proposed item, as a labelling session
        has: :func:`elsa.search.labeller.answer_tally`).
    belief : (n,) float, ``P(positive)`` of each decided item as the labeller model
        weighs its answers (:mod:`elsa.search.labeller`), or None: the answers stand as given.
        The default's models read it through :meth:`soft_labels`. Also set where two
        labellers disagree (:mod:`elsa.search.reliability`).
    votes : the items answered twice and who said what (:class:`elsa.search.reliability.Votes`),
        or None where no item was.
    """

    X: np.ndarray
    index: Index
    answers: np.ndarray
    frontier: np.ndarray
    scores: np.ndarray | None = None
    scored: np.ndarray | None = None
    prefetched: tuple[bytes, np.ndarray] | None = None
    n_found: int = 0
    queries: int = 0
    epoch: int = 0
    budget_left: int | None = None
    progress: bool = True
    proposals: list[Proposal] = field(default_factory=list)
    phase: str = "epochs"
    ended: str = "epochs"
    corrected: int = 0
    examples: object = None
    tally: np.ndarray | None = None
    belief: np.ndarray | None = None
    votes: object = None

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def labelled(self) -> np.ndarray:
        return self.answers != UNLABELLED

    @property
    def decided(self) -> np.ndarray:
        """Items answered positive or negative: what a head trains on (unsure items are not)."""
        return (self.answers == POSITIVE) | (self.answers == NEGATIVE)

    def soft_labels(self, ids) -> np.ndarray:
        """``P(positive)`` of the decided items ``ids``: their :attr:`belief` where the search
        keeps one, else their answers (1.0 or 0.0)."""
        if self.belief is not None:
            return self.belief[ids]
        return (self.answers[ids] == POSITIVE).astype(np.float64)

    @property
    def positive_ids(self) -> np.ndarray:
        return np.flatnonzero(self.answers == POSITIVE)
