"""When to stop: a fixed budget, a certified recall target, or the knee of the gain curve.

A rule is asked after every epoch's oracle call, ``rule.check(state, curve)`` (``curve``: the
positives answered after each call, ``[(queries, found), ...]`` from ``(0, 0)``), and returns
the reason to stop or None. ``elsa simulate`` and a labelling session ask the same rules
at the same point (:meth:`elsa.search.ActiveSearch.next_step`). :func:`parse_stop` reads the command line's ``--stop``:

* ``budget:N``: stop after ``N`` labels (the search's queries).
* ``audit:R@C``: the audited stop (:mod:`elsa.stopping.audited`): the search runs while
  it pays, then a random audit of the unlabelled items runs until a confidence sequence
  certifies recall ``R`` with confidence ``C``. Here :class:`~elsa.stopping.audited.HandOver`
  only ends the search; the driver runs the audit.
* ``recall:R@C``: the certified stop (:mod:`elsa.stopping.sample_wait`): the search runs
  while it pays, a random sample of the items it left is labelled apart from it, and if
  the sample holds positives the search has not found, the search and a longer sample
  race until recall ``R`` is certified at ``C``. Here
  :class:`~elsa.stopping.sample_wait.SampleHandOver` only ends the search phase; the
  driver runs the sample and the race (:class:`~elsa.stopping.sample_wait.SampleWaitStop`
  in ``elsa simulate``, :mod:`elsa.session.sample` in a session).
* ``estimate:R``: :class:`EstimateStop`, stop once the default search's own probabilities
  put recall at ``R``: an estimate, not a certificate.
* ``qbcb:R@C`` (``recall:R@C`` before format 4 of a session): the certified stop of Lewis, Yang and Frieder ("Certifying One-Phase
  Technology-Assisted Reviews", CIKM 2021, QBCB). An audit sample hidden from the search
  is drawn until it holds ``n`` positives (the target set); the search stops once it has
  found ``j`` of them, ``j`` the smallest count with ``P(Binomial(n, R) >= j) <= 1 - C``,
  i.e. ``BinomCDF(j - 1; n, R) >= C``. If the search's recall were below ``R`` when it
  stops, the target positives it had found would be a draw from ``Binomial(n, <R)``
  reaching ``j``, which happens with probability at most ``1 - C``: so the true recall is
  at least ``R`` with confidence ``C``. ``n`` defaults to the smallest value for which a
  ``j <= n`` exists (29 for ``recall:0.9@0.95``), the cheapest audit.
* ``knee``: Cormack and Grossman's knee method ("Engineering Quality and Reliability in
  Technology-Assisted Review", SIGIR 2016), in the form of Yang et al.'s TARexp: with
  ``found(x)`` the positives found after ``x`` labels, the slope ratio at a candidate
  knee ``k`` (any earlier oracle call) is ``(found(k) / k) / ((found(x) - found(k) + 1) /
  (x - k))``; stop when the largest ratio reaches ``156 - min(found(x), 150)``. A
  heuristic: no guarantee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from .._validation import check_float, check_int
from ..exceptions import ParameterError
from ..state import POSITIVE
from .audited import HandOver
from .base import StopRule, certified_reason, check_target
from .estimates import ESTIMATE_MODEL, model_estimate
from .sample_wait import SampleHandOver


def qbcb_threshold(n: int, target: float, confidence: float) -> int | None:
    """The smallest ``j`` with ``P(Binomial(n, target) >= j) <= 1 - confidence``; None when no ``j <= n`` works."""
    n = check_int(n, "target-set positives", minimum=1)
    j = np.arange(n + 1)
    ok = binom.sf(j - 1, n, target) <= 1.0 - confidence + 1e-12
    return int(j[ok][0]) if ok.any() else None


def min_target_positives(target: float, confidence: float) -> int:
    """The smallest target set that can certify ``target`` recall at ``confidence`` (all of it found)."""
    # Finding all n of n certifies when target**n <= 1 - confidence.
    n = int(np.ceil(np.log(1.0 - confidence) / np.log(target) - 1e-9))
    while qbcb_threshold(max(n, 1), target, confidence) is None:
        n += 1
    return max(n, 1)


@dataclass
class BudgetStop(StopRule):
    budget: int
    name = "budget"

    def check(self, state, curve) -> str | None:
        return "budget" if state.queries >= self.budget else None


class KneeStop(StopRule):
    name = "knee"

    def check(self, state, curve) -> str | None:
        return "knee" if knee_reached(curve) else None


def knee_reached(curve) -> bool:
    """The knee rule on a gain curve ``[(labels, found), ...]`` starting at (0, 0)."""
    pts = np.asarray(curve, np.float64)
    if pts.shape[0] < 3:
        return False
    x, y = pts[1:-1, 0], pts[1:-1, 1]
    xn, yn = pts[-1]
    keep = (x > 0) & (x < xn)
    if not keep.any():
        return False
    rho = (y[keep] / x[keep]) / ((yn - y[keep] + 1.0) / (xn - x[keep]))
    return bool(rho.max() >= 156 - min(yn, 150))


class CertifiedStop(StopRule):
    """QBCB: stop once the search has found ``j`` of the audit's first ``n`` positives (the target set).

    ``audit`` is anything with ``positive_ids``, the audit's positives in the order they
    were drawn: an :class:`~elsa.stopping.AuditSample` (which ``elsa simulate`` fills
    before the search, :meth:`AuditSample.extend_until`) or a session's audit answers so
    far (:class:`~elsa.stopping.AuditAnswers`, which grow with each round). No
    certificate is given until the target set holds ``n`` positives.
    """

    name = "certified"

    def __init__(self, target: float, confidence: float, audit, n: int):
        self.target, self.confidence = check_target(target, confidence)
        self.audit = audit
        self.n = check_int(n, "target-set positives", minimum=0)
        self.j = qbcb_threshold(self.n, self.target, self.confidence) if self.n else None
        if self.j is None:
            raise ParameterError(
                f"a target set of {self.n} positive(s) cannot certify recall {self.target} at {self.confidence}: "
                f"it needs at least {min_target_positives(self.target, self.confidence)}")

    @property
    def targets(self) -> np.ndarray:
        return self.audit.positive_ids[: self.n]

    def found_targets(self, answers: np.ndarray) -> int:
        """Target positives among the search's ``answers`` (its view: the audit's are hidden)."""
        return int((answers[self.targets] == POSITIVE).sum())

    def certificate(self, answers: np.ndarray) -> dict:
        """The target set so far, how many of it the search found, and whether that certifies."""
        in_sample, found = int(self.targets.size), self.found_targets(answers)
        return {"target": self.target, "confidence": self.confidence, "n": self.n, "j": self.j,
                "in_sample": in_sample, "found": found, "certified": in_sample >= self.n and found >= self.j}

    def check(self, state, curve) -> str | None:
        if self.certificate(state.answers)["certified"]:
            return certified_reason(self.target, self.confidence)
        return None


class EstimateStop(StopRule):
    """Stop once the search's own model puts recall at ``target``: ``found / (found +
    left)``, ``left`` the model's probabilities summed over the unlabelled items
    (``left()``: :meth:`elsa.search.ActiveSearch.positives_left`, read for ``model``).

    An estimate, not a certificate: it assumes the model's probabilities are calibrated
    on the items nobody labelled, which a model trained on the items a search chose need
    not be. ``benchmarks/results/stopping_rules.md`` measures how often it stops below
    its target. No stop while the model has no estimate (before both classes are known).
    """

    name = "estimate"

    def __init__(self, target: float, left, model: str = ESTIMATE_MODEL):
        self.target = check_float(target, "target recall", minimum=0.0, maximum=1.0, exclusive_minimum=True,
                                  exclusive_maximum=True)
        self.left, self.model = left, model

    def recall(self, found: int) -> float | None:
        """The estimated recall with ``found`` positives known; None without a model estimate."""
        estimate = model_estimate(self.left(), found, self.model)
        return None if estimate is None else estimate.recall

    def check(self, state, curve) -> str | None:
        r = self.recall(int((state.answers == POSITIVE).sum()))
        if r is not None and r >= self.target:
            return f"estimated recall {r:.3f} >= {self.target:g} (the model's estimate, not certified)"
        return None


def make_rule(spec: "StopSpec | None", audit=None, n: int | None = None, left=None) -> StopRule | None:
    """The rule a parsed ``--stop`` asks for (None for none); ``qbcb`` needs the ``audit``
    and its target-set size ``n``, ``estimate`` the search's ``left`` (see
    :class:`EstimateStop`). For ``recall`` and ``audit`` this is the search phase's
    hand-over; the driver runs the sample or the audit after it."""
    if spec is None:
        return None
    if spec.kind == "knee":
        return KneeStop()
    if spec.kind == "budget":
        return BudgetStop(spec.budget)
    if spec.kind == "audit":
        return HandOver(spec.target, spec.confidence)
    if spec.kind == "recall":
        return SampleHandOver(spec.target, spec.confidence)
    if spec.kind == "estimate":
        if left is None:
            raise ParameterError("estimate:R needs the search's own probabilities")
        return EstimateStop(spec.target, left)
    return CertifiedStop(spec.target, spec.confidence, audit, n)


@dataclass(frozen=True)
class StopSpec:
    """A parsed ``--stop``: kind ``budget`` (``budget``), ``recall``, ``qbcb`` or ``audit``
    (``target``, ``confidence``), ``estimate`` (``target``) or ``knee``."""

    kind: str
    budget: int | None = None
    target: float | None = None
    confidence: float | None = None

    def __str__(self) -> str:
        if self.kind == "budget":
            return f"budget:{self.budget}"
        if self.kind in CERTIFIED:
            return f"{self.kind}:{self.target:g}@{self.confidence:g}"
        if self.kind == "estimate":
            return f"estimate:{self.target:g}"
        return "knee"

    @property
    def certified(self) -> bool:
        """Whether the rule gives a certificate (``recall``, ``qbcb``, ``audit``)."""
        return self.kind in CERTIFIED


CERTIFIED = ("recall", "qbcb", "audit")
_RECALL = re.compile(r"^(recall|qbcb|audit):([0-9.]+)@([0-9.]+)$")
_ESTIMATE = re.compile(r"^estimate:([0-9.]+)$")
USAGE = "budget:N, recall:R@C (e.g. recall:0.9@0.95), estimate:R, audit:R@C, qbcb:R@C or knee"


def parse_stop(text: str) -> StopSpec:
    """``budget:N``, ``recall:R@C``, ``qbcb:R@C`` or ``audit:R@C`` (R and C in (0, 1)),
    ``estimate:R`` or ``knee``."""
    text = str(text).strip().lower()
    if text == "knee":
        return StopSpec("knee")
    if text.startswith("budget:"):
        value = text.split(":", 1)[1]
        if not value.isdigit() or int(value) < 1:
            raise ParameterError(f"--stop budget:N needs a whole number of labels >= 1, got {value!r}")
        return StopSpec("budget", budget=int(value))
    m = _RECALL.match(text)
    if m:
        try:
            target, confidence = float(m.group(2)), float(m.group(3))
        except ValueError:
            target = confidence = -1.0
        if not (0 < target < 1 and 0 < confidence < 1):
            raise ParameterError(f"--stop {m.group(1)}:R@C needs R and C between 0 and 1 (exclusive), got {text!r}")
        return StopSpec(m.group(1), target=target, confidence=confidence)
    m = _ESTIMATE.match(text)
    if m:
        try:
            target = float(m.group(1))
        except ValueError:
            target = -1.0
        if not 0 < target < 1:
            raise ParameterError(f"--stop estimate:R needs R between 0 and 1 (exclusive), got {text!r}")
        return StopSpec("estimate", target=target)
    raise ParameterError(f"unknown --stop {text!r}; use {USAGE}")
