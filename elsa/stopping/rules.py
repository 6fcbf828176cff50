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
    """The search phase's rule for a parsed ``--stop`` (None for none): :meth:`StopSpec.search_rule`."""
    return None if spec is None else spec.search_rule(audit, n, left)


class StopSpec:
    """A parsed ``--stop``: one subclass per kind, each knowing what the run around it needs.

    ``kind``: the rule's name on the command line. ``phases``: what a run with it goes
    through (``search``, then ``sample`` for ``recall:R@C`` or ``audit`` for ``audit:R@C``;
    ``qbcb:R@C``'s audit runs beside the search). ``certified``: whether it gives a
    certificate. :meth:`cap` is the budget it allows, :meth:`check_audit` the random
    checks it needs (a share of each round and, for QBCB, the target set's size),
    :meth:`search_rule` the :class:`~elsa.stopping.base.StopRule` the search asks after
    every oracle call. Made by :func:`parse_stop` (the only place a rule is read from text).
    """

    kind = ""
    method = ""  # a certified rule's name in an export: sample-wait, audit or qbcb
    phases: tuple[str, ...] = ("search",)
    certified = False
    needs_estimate = False  # reads the search's own probabilities (ActiveSearch.estimates_recall)
    target: float | None = None
    confidence: float | None = None

    def cap(self, budget: int | None) -> int | None:
        """The label budget with this rule: ``budget`` unless the rule sets a smaller one."""
        return budget

    def check_audit(self, share: float | None, positives: int | None) -> tuple[float | None, int | None]:
        """``(audit share, target-set positives)`` checked for this rule (a share of None
        stays None: :meth:`round_share` reads it); raises :class:`ParameterError` for a
        pair it cannot use."""
        share = None if share is None else check_float(share, "audit_share", minimum=0.0, maximum=1.0)
        if positives is not None:
            raise ParameterError("audit_positives only applies to a qbcb:R@C stop")
        return share, None

    def round_share(self, share: float | None, session: bool) -> float:
        """The random checks added to each oracle call, as a share of its size: ``share``,
        or the rule's default when None (0)."""
        return 0.0 if share is None else share

    def search_rule(self, audit=None, n: int | None = None, left=None) -> StopRule:
        raise NotImplementedError

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and str(other) == str(self)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class BudgetSpec(StopSpec):
    """``budget:N``: stop after ``N`` labels."""

    kind = "budget"

    def __init__(self, budget: int):
        self.budget = check_int(budget, "budget", minimum=1)

    def __str__(self) -> str:
        return f"budget:{self.budget}"

    def cap(self, budget):
        return self.budget if budget is None else min(budget, self.budget)

    def search_rule(self, audit=None, n=None, left=None):
        return BudgetStop(self.budget)


class KneeSpec(StopSpec):
    """``knee``: the knee of the gain curve (:class:`KneeStop`)."""

    kind = "knee"

    def __str__(self) -> str:
        return "knee"

    def search_rule(self, audit=None, n=None, left=None):
        return KneeStop()


class EstimateSpec(StopSpec):
    """``estimate:R``: the search's own recall estimate (:class:`EstimateStop`)."""

    kind = "estimate"
    needs_estimate = True

    def __init__(self, target: float):
        self.target = target

    def __str__(self) -> str:
        return f"estimate:{self.target:g}"

    def search_rule(self, audit=None, n=None, left=None):
        if left is None:
            raise ParameterError("estimate:R needs the search's own probabilities")
        return EstimateStop(self.target, left)


class _CertifiedSpec(StopSpec):
    certified = True

    def __init__(self, target: float, confidence: float):
        self.target, self.confidence = target, confidence

    def __str__(self) -> str:
        return f"{self.kind}:{self.target:g}@{self.confidence:g}"


class _AfterSearch(_CertifiedSpec):
    """Random checks after the search, never during it."""

    def check_audit(self, share, positives):
        share, positives = super().check_audit(share, positives)
        if share:
            raise ParameterError(f"{self} labels its random checks after the search; random checks during it "
                                 "(--audit-share) go with qbcb:R@C or no stopping rule")
        return share, positives


class SampleSpec(_AfterSearch):
    """``recall:R@C``: the search, then one random sample of the rest and the race
    (:mod:`elsa.stopping.sample_wait`); the search phase ends at :class:`SampleHandOver`."""

    kind = "recall"
    method = "sample-wait"
    phases = ("search", "sample")

    def search_rule(self, audit=None, n=None, left=None):
        return SampleHandOver(self.target, self.confidence)


class AuditSpec(_AfterSearch):
    """``audit:R@C``: the search, then a random audit of the rest (:mod:`elsa.stopping.audited`);
    the search phase ends at :class:`~elsa.stopping.audited.HandOver`."""

    kind = "audit"
    method = "audit"
    phases = ("search", "audit")

    def search_rule(self, audit=None, n=None, left=None):
        return HandOver(self.target, self.confidence)


class QBCBSpec(_CertifiedSpec):
    """``qbcb:R@C``: Lewis et al.'s one-phase certificate (:class:`CertifiedStop`) on an audit
    hidden from the search. A session grows the audit by ``share`` of each round (default
    0.1, and it must be above 0); ``elsa simulate`` draws it before the search until it
    holds the target set."""

    kind = "qbcb"
    method = "qbcb"
    SESSION_SHARE = 0.1

    def least_positives(self) -> int:
        return min_target_positives(self.target, self.confidence)

    def check_audit(self, share, positives):
        share = None if share is None else check_float(share, "audit_share", minimum=0.0, maximum=1.0)
        least = self.least_positives()
        if positives is None:
            return share, least
        positives = check_int(positives, "audit_positives", minimum=1)
        if positives < least:
            raise ParameterError(f"--audit-positives {positives} cannot certify recall {self.target:g} at "
                                 f"{self.confidence:g}; it needs at least {least}")
        return share, positives

    def round_share(self, share, session):
        if not session:  # elsa simulate draws the target set before the search
            return 0.0 if share is None else share
        share = self.SESSION_SHARE if share is None else share
        if share == 0:
            raise ParameterError("qbcb:R@C needs audit items: give an audit share above 0")
        return share

    def search_rule(self, audit=None, n=None, left=None):
        return CertifiedStop(self.target, self.confidence, audit, n)


_CERTIFIED_SPECS = {"recall": SampleSpec, "audit": AuditSpec, "qbcb": QBCBSpec}
_RECALL = re.compile(r"^(recall|qbcb|audit):([0-9.]+)@([0-9.]+)$")
_ESTIMATE = re.compile(r"^estimate:([0-9.]+)$")
USAGE = "budget:N, recall:R@C (e.g. recall:0.9@0.95), estimate:R, audit:R@C, qbcb:R@C or knee"


def parse_stop(text: str) -> StopSpec:
    """``budget:N``, ``recall:R@C``, ``qbcb:R@C`` or ``audit:R@C`` (R and C in (0, 1)),
    ``estimate:R`` or ``knee``."""
    text = str(text).strip().lower()
    if text == "knee":
        return KneeSpec()
    if text.startswith("budget:"):
        value = text.split(":", 1)[1]
        if not value.isdigit() or int(value) < 1:
            raise ParameterError(f"--stop budget:N needs a whole number of labels >= 1, got {value!r}")
        return BudgetSpec(int(value))
    m = _RECALL.match(text)
    if m:
        try:
            target, confidence = float(m.group(2)), float(m.group(3))
        except ValueError:
            target = confidence = -1.0
        if not (0 < target < 1 and 0 < confidence < 1):
            raise ParameterError(f"--stop {m.group(1)}:R@C needs R and C between 0 and 1 (exclusive), got {text!r}")
        return _CERTIFIED_SPECS[m.group(1)](target, confidence)
    m = _ESTIMATE.match(text)
    if m:
        try:
            target = float(m.group(1))
        except ValueError:
            target = -1.0
        if not 0 < target < 1:
            raise ParameterError(f"--stop estimate:R needs R between 0 and 1 (exclusive), got {text!r}")
        return EstimateSpec(target)
    raise ParameterError(f"unknown --stop {text!r}; use {USAGE}")
