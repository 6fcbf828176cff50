"""The audited stop: search while it pays, then audit the unlabelled items until recall is certified.

``--stop audit:R@C`` works in two phases (``recall:R@C`` is QBCB, :mod:`elsa.stopping.rules`).

1. **Search.** The search runs, and after every oracle call :class:`HandOver` asks whether
   more search labels still pay for themselves. Each positive the search leaves behind
   makes the audit longer: with ``m0`` and ``m1`` the audit labels that certify after no
   and after one audit positive (:class:`Audit`), one more hidden positive costs about
   ``h = (m0 / N) (m1 - m0)`` audit labels (the chance the audit meets it before ``m0``,
   times the labels that meeting adds), and each positive it finds shortens the audit a
   little (more found, more may be missed at the same recall: :meth:`HandOver.window`).
   So the search goes on while it finds more than one positive per ``h`` (plus that
   saving) labels, and hands over when that many of its last labels found none. This is a cost heuristic only: the guarantee below does not depend on it, as
   long as the hand-over is decided without the audit's labels. It assumes few
   positives are left when the search goes quiet; when many are (a search with a long
   tail), the audit is long: see ``benchmarks/results/stopping_rules.md``.
2. **Audit.** The ``N`` items then unlabelled are labelled in a uniformly random order
   (without replacement). After every label, :class:`~elsa.stopping.sequence.HiddenPositives`
   bounds the positives among them, ``K``, at every moment at once; with ``F`` positives
   known when the search handed over and ``k`` found by the audit, recall is
   ``(F + k) / (F + K)``, and the audit stops the first time the bound on ``K`` puts
   recall at ``R`` or more.

**Guarantee.** With probability at least ``C``, the recall when the audit stops is at
least ``R``, whatever the search did and whatever the data (Ville's inequality; the
audit order is the only randomness it needs). The bound shown along the way, "recall >=
b", holds at every label at once with the same confidence, so it may be read after
every page. **Assumption:** the answers are right (the audit checks the search's
recall, not the labeller), and the audit's labels are never shown to the search before
the certificate (they are not: the search has stopped).

Where this differs from the literature: QBCB (Lewis, Yang and Frieder, CIKM 2021;
:class:`~elsa.stopping.rules.CertifiedStop`) samples the whole pool before the search
and certifies once; BUSCAR (Callaghan and Mueller-Hansen, Systematic Reviews 2020)
tests the unlabelled items with the hypergeometric distribution as here, but on the
search's own last labels, which is valid only if the search finds positives at least
as often as random sampling would, and it tests after every batch without allowing for
it. Here the audit is a random sample of the unlabelled items only, and the test is a
confidence sequence, valid at any time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_float, check_int
from ..exceptions import ParameterError
from ..state import POSITIVE
from .base import StopRule, check_target
from .sequence import HiddenPositives, geometric_log_prior

PRIOR_SHARE = 0.25  # the prior's mean, as a share of the positives that would break the target


def tolerable(found: int, target: float) -> int:
    """The most positives that may still be hidden with ``found`` known and recall at least ``target``."""
    # found / (found + K) >= target  <=>  K <= found (1 - target) / target
    K = math.floor(found * (1.0 - target) / target + 1e-9)
    while K >= 0 and found < target * (found + K) - 1e-12:
        K -= 1
    return max(K, 0) if found > 0 else -1


def prior_mean(found: int, target: float) -> float:
    """The mean of the geometric prior on the positives left: :data:`PRIOR_SHARE` of the
    fewest that would break the target (at least 0.5)."""
    return max(0.5, PRIOR_SHARE * (tolerable(found, target) + 1))


class Audit:
    """The audit of ``n`` unlabelled items after the search handed over with ``found`` positives known.

    Parameters
    ----------
    n : int
        Items unlabelled at the hand-over.
    found : int
        Positives known at the hand-over (seeds included).
    target, confidence : float
        Certify recall >= ``target`` with probability >= ``confidence``.
    unsure : int
        Items answered "unsure" before the hand-over: outside the audit, so each counts as
        a positive missed (the conservative reading).

    The methods read the audit after ``m`` labels with ``k`` positives and ``u`` "unsure"
    answers; an unsure audit answer counts as a positive for the bound on what is hidden
    (the confidence sequence is then about "positive or unsure", at least the positives)
    and not as one found.
    """

    def __init__(self, n: int, found: int, target: float, confidence: float, unsure: int = 0):
        self.n = check_int(n, "unlabelled items", minimum=0)
        self.found = check_int(found, "positives found", minimum=0)
        self.unsure = check_int(unsure, "unsure items", minimum=0)
        self.target, self.confidence = check_target(target, confidence)
        self.prior_mean = prior_mean(self.found, self.target)
        self.sequence = HiddenPositives(self.n, geometric_log_prior(self.n, self.prior_mean), 1.0 - self.confidence)
        self._needed: dict[tuple[int, int], int | None] = {}

    def run(self, order: np.ndarray, oracle, *, page: int = 10, progress: bool = True) -> dict:
        """Label ``order`` (the unlabelled items in a uniformly random order) a page at a
        time with ``oracle.label(ids)`` until the certificate holds or nothing is left;
        returns :meth:`report` of where it stopped and the ids labelled (``ids``) with their
        answers (``answers``)."""
        from tqdm.auto import tqdm

        order = np.asarray(order, np.int64)
        if order.size != self.n:
            raise ParameterError(f"the audit order must hold the {self.n} unlabelled items, got {order.size}")
        answers = np.zeros(self.n, bool)
        m, k = 0, 0
        m0 = self.labels_needed(0)
        with tqdm(total=self.n, desc="audit", unit="label", disable=not progress, leave=False) as bar:
            bar.set_postfix_str(f"certificate after about {m0:,} labels" if m0 else "no certificate possible")
            while m < self.n and not self.certified(m, k):
                ids = order[m : m + page]
                answers[m : m + ids.size] = np.asarray(oracle.label(ids), bool)
                k += int(answers[m : m + ids.size].sum())
                m += ids.size
                bar.update(ids.size)
                bar.set_postfix_str(self.describe(m, k), refresh=False)
        return {**self.report(m, k), "describe": self.describe(m, k), "ids": order[:m], "answers": answers[:m]}

    def report(self, m: int, k: int, u: int = 0) -> dict:
        """The certificate now, as a JSON-ready dict."""
        needed = self.labels_needed(k, u)
        return {"method": "audit", "target": self.target, "confidence": self.confidence,
                "unlabelled_at_hand_over": self.n, "found_at_hand_over": self.found,
                "unsure_at_hand_over": self.unsure, "prior_mean": self.prior_mean, "audit_labels": int(m),
                "audit_positives": int(k), "audit_unsure": int(u), "bound": self.bound(m, k, u),
                "certified": self.certified(m, k, u),
                "labels_to_certificate": None if needed is None else max(0, needed - m)}

    def describe(self, m: int, k: int, u: int = 0) -> str:
        """One line for a person: the bound, and what the certificate still needs."""
        pct = f"{100 * self.confidence:g} %"
        line = f"recall >= {self.bound(m, k, u):.3f} with {pct} confidence"
        if self.certified(m, k, u):
            return f"{line}: recall {self.target:g} certified"
        needed = self.labels_needed(k, u)
        if needed is None:
            return f"{line}; recall {self.target:g} cannot be certified: too many positives are unaccounted for"
        return f"{line}; {needed - m:,} more audit labels certify {self.target:g} if they find no positive"

    def _hidden(self, m: int, k: int, u: int) -> int:
        """The most positives that may still be missed: the bound on the audit's items that
        are positive or unsure, less the positives it found, plus the unsure before it."""
        return self.sequence.upper(m, k + u) - k + self.unsure

    def bound(self, m: int, k: int, u: int = 0) -> float:
        """Recall >= this, with confidence ``confidence``, at every ``m`` at once."""
        if self.found + k == 0:
            return 0.0
        return (self.found + k) / (self.found + k + self._hidden(m, k, u))

    def certified(self, m: int, k: int, u: int = 0) -> bool:
        """Whether the audit now certifies the target."""
        return self.found + k > 0 and self._hidden(m, k, u) <= tolerable(self.found + k, self.target)

    def labels_needed(self, k: int, u: int = 0) -> int | None:
        """The audit labels after which ``k`` positives and ``u`` unsure certify (if no more
        turn up); None when even labelling every item would not."""
        if (k, u) not in self._needed:
            limit = tolerable(self.found + k, self.target) + k - self.unsure
            self._needed[(k, u)] = None if limit < k + u else self.sequence.labels_needed(k + u, limit)
        return self._needed[(k, u)]

    def stop_labels(self, hit_positions: np.ndarray, page: int = 1) -> tuple[int, int]:
        """Where the audit stops when its positives come at ``hit_positions`` (1-based
        positions in the audit order, sorted) and the certificate is read after every
        ``page`` labels: (audit labels, audit positives found). Walks from hit to hit:
        between two hits the count is fixed and the certificate needs a fixed length."""
        page = check_int(page, "page size", minimum=1)
        pos, k = 0, 0
        while True:
            m = self.labels_needed(k)
            if m is not None and pos >= m:
                return pos, k
            end = self.n if m is None else min(self.n, -(-m // page) * page)
            if k >= hit_positions.size or hit_positions[k] > end:
                return end, k
            pos = min(self.n, -(-int(hit_positions[k]) // page) * page)
            k = int(np.searchsorted(hit_positions, pos, side="right"))

    def hidden_cost(self) -> float:
        """About how many more audit labels one more hidden positive costs: ``(m0 / N) (m1 - m0)``."""
        m0, m1 = self.labels_needed(0), self.labels_needed(1)
        if m0 is None or self.n == 0:
            return math.inf
        m1 = self.n if m1 is None else m1
        return m0 / self.n * max(0, m1 - m0)  # one more positive found can allow more missed: m1 < m0


@dataclass
class HandOver(StopRule):
    """The search phase of the audited stop: ends the search when its last ``h`` labels
    (:meth:`Audit.hidden_cost`) found no positive. See the module docstring."""

    target: float
    confidence: float
    window_share: float = 1.0  # the quiet stretch that ends the search, as a share of h (benchmarks try others)
    name = "hand-over"
    reason = "hand over to the audit"  # why the search ends
    _cost: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.target, self.confidence = check_target(self.target, self.confidence)
        self.window_share = check_float(self.window_share, "window share", minimum=0.0, exclusive_minimum=True)

    def window(self, found: int, unlabelled: int) -> float:
        """The audit labels one more positive found by the search would save, for ``found``
        positives known and ``unlabelled`` items left: ``h`` (it is no longer hidden) plus
        the shorter audit a larger ``found`` allows, averaged over the ``d = R / (1 - R)``
        positives that move the tolerable count by one (9 for recall 0.9; it matters while
        few are found, when an audit now would need most of the pool). Cached on rounded
        sizes: it moves slowly."""
        key = (found, int(round(unlabelled, -2)))
        if key not in self._cost:
            u = key[1] or unlabelled
            now = Audit(u, found, self.target, self.confidence)
            d = max(1, round(self.target / (1.0 - self.target)))
            m0, later = now.labels_needed(0), Audit(u, found + d, self.target, self.confidence).labels_needed(0)
            saved = ((u if m0 is None else m0) - (u if later is None else later)) / d
            self._cost[key] = now.hidden_cost() + saved if m0 is not None else math.inf
        return self._cost[key]

    def should_hand_over(self, curve, n: int, seeds: int, unlabelled: int | None = None) -> bool:
        """On the search's gain curve ``[(labels, found), ...]`` from (0, 0) (seeds not
        counted), in a pool of ``n`` items with ``seeds`` seed positives; ``unlabelled``:
        the items nobody has labelled, when it is not ``n - labels - seeds`` (second looks
        spend labels on items already labelled)."""
        labels, found = curve[-1]
        unlabelled = n - labels - seeds if unlabelled is None else unlabelled
        if unlabelled <= 0:
            return True
        h = self.window_share * self.window(found + seeds, unlabelled)
        if not math.isfinite(h) or labels < h:
            return False
        start = labels - h  # positives found in the last h labels: from the last point at or before it
        before = next((f for x, f in reversed(curve) if x <= start), 0)
        return found == before

    def check(self, state, curve) -> str | None:
        seeds = int((state.answers == POSITIVE).sum()) - state.n_found
        unlabelled = int((~state.labelled).sum())
        return self.reason if self.should_hand_over(curve, state.answers.size, seeds, unlabelled) else None
