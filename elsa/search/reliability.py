"""Items answered twice: how reliable each labeller is, and what to believe where two disagree.

Several people label one search (issue 41): a share of the items goes to two of them (in
a labelling session, the "please check" cards; in ``elsa simulate``, ``--labellers`` and
``--double-share``), and the search may ask for a second look itself
(:mod:`.second_look`). Where the two answers agree, the answer stands. Where they
disagree and nobody has resolved the disagreement yet, the search uses both answers,
each weighed by how reliable its labeller has been: a belief ``q = P(positive)`` that the
default's models read in place of the answer (:attr:`elsa.state.SearchState.belief`,
through :meth:`~elsa.state.SearchState.soft_labels`). Once resolved, the resolution is
the answer, and it stands.

The model is the symmetric Dawid-Skene model (Dawid & Skene 1979) with one flip rate per
labeller: labeller ``u`` gives the wrong answer with probability ``eps_u``, whatever the
item and its truth, independently of the other answers. For an item answered twice::

    logit(q) = logit(pi) + sum over its answers a of (+1 if a says "yes" else -1) * log((1 - eps_a) / eps_a)

where ``pi`` is the share of "yes" among the search's decided items (the items were asked
because a model ranked them high, so the hit rate is the prior, as in :mod:`.labeller`).
A resolved item is known: ``q`` is its resolution. The rates are estimated with the
beliefs by expectation-maximisation over the items answered twice, each with a
``Beta(1, prior_answers - 1)`` prior whose mean is ``prior_rate`` (0.1 over 10 answers:
a labeller nobody has checked yet is taken to be right nine times in ten, and a few
disagreements move that only a little). Where Dawid and Skene fit a full confusion matrix
per labeller, this fits one rate: two answers per item cannot tell a labeller's wrong
"yes" rate from their wrong "no" rate. With two labellers and no resolutions, a
disagreement is blamed on each by how often they have been in the minority against the
prior; each resolution is direct evidence of who was right.

Only the disputed items' beliefs change: the items answered once keep their answer
(nothing here says more about them), so a search with no disagreement is the search
without this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, logit

from ..state import NEGATIVE, POSITIVE, SearchState

PRIOR_RATE = 0.1  # a labeller's flip rate before any of their answers is checked
PRIOR_ANSWERS = 10.0  # the prior's weight, in answers
MAX_RATE = 0.45  # at 0.5 an answer says nothing
MIN_RATE = 1e-3
ITERATIONS = 20
UNRESOLVED = -1


@dataclass
class Votes:
    """The items answered twice, in the order they were: ``items`` (m,), ``users`` (m, 2)
    labellers by index into ``names``, ``said`` (m, 2) bool answers ("yes" is True) and
    ``resolved`` (m,) int8: the resolution (1 positive, 0 negative) or :data:`UNRESOLVED`;
    ``also``: items answered twice where an answer was neither (unsure), which are not
    asked a third time either."""

    items: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    users: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    said: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), bool))
    resolved: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    names: tuple[str, ...] = ()
    also: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.items.size)

    def add(self, items, first_users, first_said, second_users, second_said) -> None:
        """Append items answered twice (labellers by index into :attr:`names`), unresolved."""
        self.items = np.concatenate([self.items, np.asarray(items, np.int64)])
        self.users = np.concatenate([self.users, np.stack([first_users, second_users], axis=1).astype(np.int64)])
        self.said = np.concatenate([self.said, np.stack([first_said, second_said], axis=1).astype(bool)])
        self.resolved = np.concatenate([self.resolved, np.full(len(items), UNRESOLVED, np.int8)])

    @property
    def disputed(self) -> np.ndarray:
        """(m,) bool: the two answers differ and nobody has resolved them."""
        return (self.said[:, 0] != self.said[:, 1]) & (self.resolved == UNRESOLVED)


def estimate(votes: Votes, hit_rate: float, *, prior_rate: float = PRIOR_RATE,
             prior_answers: float = PRIOR_ANSWERS) -> tuple[np.ndarray, np.ndarray]:
    """Each labeller's flip rate (by index into ``votes.names``) and each voted item's
    ``P(positive)`` (the module docstring's model), from the prior ``hit_rate``."""
    n_users = max(len(votes.names), int(votes.users.max()) + 1 if len(votes) else 0)
    eps = np.full(n_users, prior_rate)
    q = np.zeros(len(votes))
    if not len(votes):
        return eps, q
    known = votes.resolved != UNRESOLVED
    sign = np.where(votes.said, 1.0, -1.0)
    base = logit(min(max(hit_rate, 0.02), 0.98))
    counts = np.bincount(votes.users.ravel(), minlength=n_users)
    for _ in range(ITERATIONS):
        weight = np.log((1.0 - eps) / eps)
        q = expit(base + (sign * weight[votes.users]).sum(axis=1))
        q[known] = votes.resolved[known]
        wrong = np.where(votes.said, 1.0 - q[:, None], q[:, None])
        wrong = np.bincount(votes.users.ravel(), weights=wrong.ravel(), minlength=n_users)
        eps = np.clip((wrong + prior_rate * prior_answers) / (counts + prior_answers), MIN_RATE, MAX_RATE)
    return eps, q


def hit_rate(answers: np.ndarray) -> float:
    """The prior of the model: the share of "yes" among the decided items of ``answers``
    (codes as :attr:`~elsa.state.SearchState.answers`; 0.5 before any)."""
    decided = (answers == POSITIVE) | (answers == NEGATIVE)
    return float((answers[decided] == POSITIVE).mean()) if decided.any() else 0.5


def flip_rates(votes: Votes, answers: np.ndarray) -> np.ndarray:
    """Each labeller's estimated flip rate, with ``answers``' hit rate as the prior (:func:`estimate`)."""
    return estimate(votes, hit_rate(answers))[0]


def weigh_disputes(state: SearchState, *, on_beliefs: bool = False) -> np.ndarray | None:
    """Beliefs for ``state``'s disputed items (:attr:`~elsa.state.SearchState.votes`), kept
    in ``state.belief``: on top of the beliefs there (``on_beliefs``: the labeller model's,
    made from the same answers just before), else of the answers; with no dispute left and
    not ``on_beliefs``, ``state.belief`` is None (the answers stand). Returns the labellers'
    estimated flip rates, or None without votes."""
    if not on_beliefs:
        state.belief = None
    votes = state.votes
    if votes is None or not len(votes):
        return None
    eps, q = estimate(votes, hit_rate(state.answers))
    disputed = votes.disputed
    if disputed.any():
        belief = (state.answers == POSITIVE).astype(np.float64) if state.belief is None else state.belief.copy()
        belief[votes.items[disputed]] = q[disputed]
        state.belief = belief
    return eps
