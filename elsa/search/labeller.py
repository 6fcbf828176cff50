"""A model of the labeller: how far each answer is to be believed.

A person labelling for hours makes mistakes. The search's models take every answer at its
word, so one wrong "yes" early on draws pages towards an empty region, and one wrong "no"
cuts a region of positives off. This model weighs each answer against the rest of the
evidence and hands the search a *belief* per answered item, ``q = P(positive)``, which the
default's models use in place of the answers (:attr:`elsa.state.SearchState.belief`,
read through :meth:`~elsa.state.SearchState.soft_labels`).

The noise model is the simulated oracle's (:class:`elsa.oracle.NoisyOracle`, the
paper's appendix D): each answer is wrong with probability ``eps``, whatever the item and
whatever the truth, independently of the others. For an answered item ``i``::

    y_i       share of "yes" among i's answered neighbours (the standing answers)
    t_i       = (y_i - eps) / (1 - 2 eps), clipped to [0, 1]: that share with the noise taken out
    prior     pi_i = (r + n_i t_i) / (1 + n_i)
    log-odds  logit(q_i) = logit(pi_i) + (yes_i - no_i) * log((1 - eps) / eps)

``n_i`` counts ``i``'s answered neighbours among its ``k`` nearest in the pool's graph (``i``
is not its own neighbour, so the prior is held out from ``i``'s own answers), and ``r`` is
the share of positives among all the answered items, de-noised the same way: the k-NN
model of :mod:`elsa.head.knn` with the search's hit rate as its prior mean instead of a
fixed ``gamma`` (the items were asked because some model ranked them high), read through
the noise. The neighbours enter by their answers, not by their beliefs: a belief fed back
into its neighbours' priors makes whole regions swing together (tried: on the encoder
features' class 2 at 20 % noise, beliefs fed back were wrong on 73 % of the true negatives
after 200 labels). ``yes_i - no_i`` counts the item's own answers (a second look that
agrees doubles the evidence; one that disagrees cancels it). The user's own examples (the
seeds) are positive with certainty, and count as "yes" among their neighbours'.

The flip rate ``eps`` is estimated with the beliefs by expectation-maximisation: the
expected share of wrong answers under the beliefs, with a ``Beta(1, b)`` prior
(``prior_answers = b``: as if ``b`` answers had been checked and found right, so that a
few early disagreements between neighbours do not make the model doubt a labeller who is
right). A fixed ``flip_rate`` skips the estimate. ``iterations`` rounds of (beliefs, rate)
from a rate of 0.1 each time: the beliefs are a function of the answers alone, so a
labelling session rebuilt from its file weighs them as the uninterrupted search did.

With ``eps = 0`` every belief is the answer itself and the search is the one without
this model.

Experimental (issue 40): off by default (``weigh_answers`` in a plan, ``elsa simulate
--weigh-answers``). Measured in ``benchmarks/noise.py`` (with second looks; 10 paired runs
of five classes in three feature spaces): at 20 % noise the default finds about as much
with it as without (0.80, 0.74 and 0.81 of the default's noise-free median class, against
0.79, 0.85 and 0.84 without), and with a perfect labeller it finds 3-12 % less, because
it puts that labeller's error rate at 4-22 %: the search asks at the edge of the class,
where an answer that disagrees with its neighbours is as often the edge as a mistake,
and where neither the neighbourhoods nor a linear head is surer than one answer.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from .._validation import check_float, check_int
from ..state import NEGATIVE, POSITIVE, SearchState

START_RATE = 0.1  # where each estimate starts (from 0 the beliefs would be the answers, and stay so)
MAX_RATE = 0.45  # the most it estimates (at 0.5 an answer says nothing)
EPS_FLOOR = 1e-9  # the least flip rate used in the log-odds (eps = 0 would make each answer certain)


class LabellerModel:
    """Beliefs about the answered items, and the labeller's estimated flip rate.

    Parameters
    ----------
    k : int
        Neighbours per item in the prior (a prefix of the pool's k-NN graph).
    flip_rate : float or "auto"
        The labeller's chance of a wrong answer, or ``"auto"``: estimated from the answers.
    prior_answers : float
        With ``"auto"``: the weight of the rate's prior, ``Beta(1, prior_answers)``.
    iterations : int
        Rounds of beliefs and rate per update.
    """

    name = "labeller"

    def __init__(self, k: int = 50, flip_rate="auto", prior_answers: float = 50.0, iterations: int = 10):
        self.k = check_int(k, "k", minimum=1)
        self.flip_rate = flip_rate if flip_rate == "auto" else check_float(flip_rate, "flip rate", minimum=0.0,
                                                                            maximum=0.5)
        self.prior_answers = check_float(prior_answers, "prior answers", minimum=0.0)
        self.iterations = check_int(iterations, "iterations", minimum=1)
        self._forward: np.ndarray | None = None
        self.eps = 0.0 if flip_rate == "auto" else float(flip_rate)

    def get_params(self) -> dict:
        return {"k": self.k, "flip_rate": self.flip_rate, "prior_answers": self.prior_answers,
                "iterations": self.iterations}

    def prepare(self, state: SearchState) -> None:
        from ..index.graph import neighbour_graph

        graph = neighbour_graph(state.X, self.k, index=state.index, progress=state.progress)
        self._forward = graph.prefix(min(self.k, graph.k)).forward

    def update(self, state: SearchState) -> np.ndarray:
        """The beliefs for ``state`` (a float per item: ``P(positive)`` for decided items, 0
        elsewhere), also kept in ``state.belief``; the rate in :attr:`eps`."""
        if self._forward is None:
            self.prepare(state)
        tally = answer_tally(state)
        decided = state.decided
        asked = np.flatnonzero(decided & (tally.sum(axis=1) > 0))
        seeds = np.flatnonzero(decided & (tally.sum(axis=1) == 0))  # never asked: the user's own examples
        yes, no = tally[asked, 0].astype(np.float64), tally[asked, 1].astype(np.float64)
        q = np.zeros(state.n)
        q[decided] = state.answers[decided] == POSITIVE
        near = self._forward[asked]  # (m, k): each answered item's neighbours
        labelled = decided[near]
        n_near = labelled.sum(axis=1)
        share_yes = (q[near] * labelled).sum(axis=1) / np.maximum(n_near, 1)  # the answers, not the beliefs
        hit_rate = float(q[asked].mean()) if asked.size else 0.5
        eps = START_RATE if self.flip_rate == "auto" else self.flip_rate
        for _ in range(self.iterations if asked.size else 0):
            e = max(eps, EPS_FLOOR)
            r = min(max(_denoise(hit_rate, e), 0.01), 0.99)
            prior = (r + n_near * _denoise(share_yes, e)) / (1.0 + n_near)
            q[asked] = expit(logit(np.clip(prior, 1e-6, 1 - 1e-6)) + (yes - no) * np.log((1.0 - e) / e))
            q[seeds] = 1.0
            if self.flip_rate == "auto":
                wrong = float((yes * (1.0 - q[asked]) + no * q[asked]).sum())
                eps = min(wrong / (self.prior_answers + yes.sum() + no.sum()), MAX_RATE)
        self.eps = float(eps)
        state.belief = q
        return q


def _denoise(share, eps: float):
    """A share of "yes" answers with the noise taken out: ``(share - eps) / (1 - 2 eps)`` in [0, 1]."""
    return np.clip((np.asarray(share, np.float64) - eps) / (1.0 - 2.0 * eps), 0.0, 1.0)


def answer_tally(state: SearchState) -> np.ndarray:
    """Per item, its "yes" and "no" answers (:attr:`~elsa.state.SearchState.tally` where the
    loop keeps them; else one answer per proposed item, as a labelling session has)."""
    if state.tally is not None:
        return state.tally
    tally = np.zeros((state.n, 2), np.int16)
    if state.proposals:
        asked = np.unique(np.concatenate([p.ids for p in state.proposals]))
        tally[asked, 0] = state.answers[asked] == POSITIVE
        tally[asked, 1] = state.answers[asked] == NEGATIVE
    return tally
