"""The certified stop, ``recall:R@C``: search, label a random sample of what is left, then
race the search against a longer sample.

1. **Search.** The search runs, and after every oracle call :class:`SampleHandOver` asks
   whether more search labels still pay for themselves. With ``F`` positives known and
   ``N`` items unlabelled, the sample that phase 2 needs has ``m(F)`` items; a positive
   the search finds raises ``F`` and so shrinks the sample, by ``v = (m(F) - m(F + d)) /
   d`` labels on average over the ``d = R / (1 - R)`` positives that move the tolerable
   count by one (9 for recall 0.9). The search goes on while it finds a positive per ``v``
   labels, and hands over once its last ``v`` labels found none (the audited stop's
   test, :class:`~elsa.stopping.audited.HandOver`, with this sample's economics). A cost
   heuristic only: the guarantee does not depend on it, as long as it is decided without
   the sample's answers.
2. **Sample.** The ``N`` items unlabelled at the hand-over are put in one uniformly
   random order, and its first ``m`` are labelled apart from the search and hidden from
   it: ``m`` the fewest after which, if none of them is a positive the search has not
   found, the bound below certifies.
3. **Race.** If the sample holds positives the search has not found, the search
   resumes, still without the sample's answers, for as many labels as extending the
   sample would cost (the labels after which the bound would certify with no new
   positive in the extension); each positive of the sample it finds shortens that. If
   it has not certified by then, the sample is extended along the same order, a page at
   a time, until it certifies or meets a new positive the search has not found, which
   starts a new race. Neither side can run up more than about twice the cheaper one's
   cost (a ski-rental argument), and a search still finding positives in its tail wins.

**The bound.** After ``m`` sample labels, let ``u`` be the sample's positives that the
search has not found. :class:`~elsa.stopping.sequence.HiddenPositives` (the audit's
confidence sequence: Waudby-Smith and Ramdas's prior-posterior martingale for the
hypergeometric) is read with ``u`` positives in ``m`` draws; the run is certified when
it bounds the hidden positives by :func:`~elsa.stopping.audited.tolerable` of the
positives the search knows, at the target recall. The prior is a spike: mass
:data:`SPIKE` on no positive hidden and the rest geometric with mean a quarter of the
count that would break the target (the audit's). So a sample that meets no unfound
positive certifies after barely more labels than the best fixed-size test (the
exact hypergeometric zero-miss size at ``1 - C``: ``SPIKE`` makes it that test at ``(1
- C) SPIKE``, 3.5 % more labels at 95 %), while a sample that meets some can still
certify by growing.

**Guarantee.** With probability at least ``C``, recall is at least ``R`` when the
certificate is given, whatever the data and whatever the search does. The search's
labels do not depend on the sample, so let ``t*`` be the last page at which its recall
is below ``R`` (fixed before the order is drawn), and ``U`` the positives it has not
found there, at least ``tolerable(F(t*)) + 1`` of them. A certificate below the target
at page ``t <= t*`` after ``m`` sample labels needs the bound to exclude the count of
positives unfound at ``t``, hence (as unfound positives at ``t*`` are also unfound at
``t``, and the bound grows with ``u``) to exclude ``|U|`` when fed the sample's
positives in ``U``: the sequence's own error event for the fixed set ``U``, of
probability at most ``1 - C`` over all ``m`` at once (Ville's inequality). This is
QBCB's argument (Lewis, Yang and Frieder, "Certifying One-Phase Technology-Assisted
Reviews", CIKM 2021) made sequential, on the unlabelled items only.

**Cost.** Any rule valid at ``C`` that certifies a run with nothing hidden must label
about ``N (1 - (1 - C)^(1/M))`` items the search did not (``M`` hidden positives look
like none until a label touches one): where the sample meets no unfound positive this
rule pays about that, after its hand-over.

Where this differs: QBCB draws its sample from the whole pool before the search, until
it holds ``n`` positives (29 for 0.9 at 95 %), and certifies when the search has found
``j`` of them; here the sample is drawn at the hand-over from the items the search
left, and grows only when the search is slower than growing it. The audited stop
(``audit:R@C``, :mod:`elsa.stopping.audited`) stops the search at the hand-over for
good and counts the audit's positives as found; QBCB stays available as ``qbcb:R@C``.

**Assumption:** the answers are right. An "unsure" answer in the sample counts as a
positive that the search has not found (answer it again to resolve it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_int
from ..state import NEGATIVE, POSITIVE, UNSURE
from .audited import HandOver, prior_mean, tolerable
from .base import StopRule, certified_reason, check_target
from .sequence import HiddenPositives, geometric_log_prior

SPIKE = 0.9  # the prior's mass on no positive hidden (see the module docstring)


def zero_miss_size(n: int, hidden: int, alpha: float) -> int | None:
    """The fewest of ``n`` items a uniform sample (without replacement) needs so that it
    misses all of ``hidden`` given items with probability at most ``alpha``:
    ``C(n - hidden, m) / C(n, m) <= alpha`` (the best any fixed-size test can do; the
    benchmarks' floor). None for ``hidden = 0`` (nothing to find)."""
    n = check_int(n, "unlabelled items", minimum=0)
    hidden = check_int(hidden, "hidden positives", minimum=0)
    if hidden == 0:
        return None
    if hidden > n:
        return 0  # that many cannot be hidden: no world to rule out
    i = np.arange(hidden, dtype=np.float64)

    def log_miss(m: int) -> float:  # log C(n - hidden, m) / C(n, m) = sum_i log(1 - m / (n - i))
        return -math.inf if m > n - hidden else float(np.log1p(-m / (n - i)).sum())

    lo, hi, target = 0, n - hidden + 1, math.log(alpha)
    while lo < hi:
        mid = (lo + hi) // 2
        if log_miss(mid) <= target + 1e-12:
            hi = mid
        else:
            lo = mid + 1
    return min(lo, n)


def spike_log_prior(n: int, spike: float, slab_mean: float):
    """``log pi(K)`` for ``K = 0..n``: mass ``spike`` on ``K = 0`` plus ``1 - spike`` spread
    geometrically with mean ``slab_mean`` (truncated at ``n``)."""
    geometric = geometric_log_prior(n, slab_mean)

    def log_prior(K: np.ndarray) -> np.ndarray:
        K = np.asarray(K, np.float64)
        slab = math.log1p(-spike) + geometric(K)
        return np.where(K == 0, np.logaddexp(math.log(spike), slab), slab)

    return log_prior


class SampleCertificate:
    """The bound after a hand-over with ``found`` positives known (seeds included), ``n``
    items unlabelled and ``unsure`` answered "unsure" (outside the sample: each counts as a
    positive missed).

    :meth:`labels_needed` ``(unfound, found)``: the sample labels after which, with
    ``unfound`` of its positives not found by the search and ``found`` positives known,
    recall ``target`` is certified (None: not even the whole order would). :attr:`first`:
    the first sample's size (no unfound positive, the hand-over's ``found``).
    """

    def __init__(self, n: int, found: int, target: float, confidence: float, unsure: int = 0):
        self.n = check_int(n, "unlabelled items", minimum=0)
        self.found = check_int(found, "positives found", minimum=0)
        self.unsure = check_int(unsure, "unsure items", minimum=0)
        self.target, self.confidence = check_target(target, confidence)
        self.slab_mean = prior_mean(self.found, self.target)
        self.sequence = HiddenPositives(self.n, spike_log_prior(self.n, SPIKE, self.slab_mean), 1.0 - self.confidence)
        self._needed: dict[tuple[int, int], int | None] = {}
        self.first = self.labels_needed(0, self.found)

    @property
    def possible(self) -> bool:
        """Whether a sample can certify at all (positives known, unsure answers few enough)."""
        return self.first is not None

    def labels_needed(self, unfound: int, found: int) -> int | None:
        limit = (tolerable(found, self.target) - self.unsure) if found > 0 else -1
        key = (int(unfound), int(limit))
        if key not in self._needed:
            self._needed[key] = None if limit < unfound else self.sequence.labels_needed(*key)
        return self._needed[key]

    def certified(self, m: int, unfound: int, found: int) -> bool:
        needed = self.labels_needed(unfound, found)
        return needed is not None and m >= needed

    def move(self, m: int, unfound: int, found: int, searched: int) -> str:
        """The race's next move after ``m`` sample labels with ``unfound`` positives the
        search has not found, ``found`` positives known, and ``searched`` search labels
        since the sample last met an unfound positive (or was first labelled):
        ``certified``, ``sample`` (label the next page of the order) or ``search``."""
        if self.certified(m, unfound, found):
            return "certified"
        if self.first is not None and m < self.first:
            return "sample"
        needed = self.labels_needed(unfound, found)
        if needed is None or m >= self.n:  # growing the sample cannot certify: only the search can
            return "search"
        return "search" if searched < needed - m else "sample"

    def report(self, m: int, positives: int, unfound: int, found: int) -> dict:
        needed = self.labels_needed(unfound, found)
        return {"method": "sample-wait", "target": self.target, "confidence": self.confidence,
                "unlabelled_at_hand_over": self.n, "found_at_hand_over": self.found,
                "unsure_at_hand_over": self.unsure, "first_sample": self.first, "sample_labels": int(m),
                "sample_positives": int(positives), "unfound_by_search": int(unfound), "found": int(found),
                "certified": self.certified(m, unfound, found),
                "labels_to_certificate": None if needed is None else max(0, needed - m)}

    def describe(self, m: int, positives: int, unfound: int, found: int) -> str:
        if not self.possible:
            return "no certificate possible (no positive known, or too many unsure answers)"
        if self.certified(m, unfound, found):
            return certified_reason(self.target, self.confidence)
        if m < self.first:
            return (f"random sample: {m:,} of {self.first:,} labelled, {positives} positive(s) so far "
                    f"(if none the search has not found: recall {self.target:g} certified at "
                    f"{100 * self.confidence:g} %)")
        needed = self.labels_needed(unfound, found)
        more = "" if needed is None else f", or {max(0, needed - m):,} more random labels if they find none"
        return (f"the random sample ({m:,} labelled) holds {unfound} positive(s) the search has not found: "
                f"certified once the search finds them{more}")


@dataclass
class SampleHandOver(HandOver):
    """The search phase of ``recall:R@C``: the audited stop's test (:class:`HandOver`: the
    search ends once its last ``v`` labels found no positive) with this sample's
    economics, ``v`` the sample labels one more positive found saves (:meth:`window`).
    See the module docstring.

    Tried and not kept (issue 35's note): a gate that hands over only once the model's
    estimate (:func:`~elsa.stopping.estimates.model_estimate`) puts at most 0.5, 1 or 2
    unfound positives in the sample (better on one long tail, 3.75x the floor instead of
    1.7x on text, where the model overstates what is left); a floor of 50-200 labels on
    ``v`` (within a few percent either way)."""

    name = "sample hand-over"
    reason = "hand over to the random sample"

    def first_sample(self, found: int, unlabelled: int) -> int | None:
        return SampleCertificate(unlabelled, found, self.target, self.confidence).first

    def window(self, found: int, unlabelled: int) -> float:
        """Sample labels saved per positive found, ``(m(F) - m(F + d)) / d``; cached on
        rounded sizes (it moves slowly). Tried and not kept: adding the race a hidden
        positive may cost, ``(m / N) (m1 - m)`` as the audit's hand-over does (issue 35's
        note: later hand-overs, 1.26-1.34x the floor where the search finds every
        positive instead of 1.10-1.12x, and no better on long tails)."""
        key = (found, int(round(unlabelled, -2)))
        if key not in self._cost:
            u = key[1] or unlabelled
            now = self.first_sample(found, u)
            d = max(1, round(self.target / (1.0 - self.target)))
            later = self.first_sample(found + d, u)
            self._cost[key] = math.inf if now is None else (now - (later or 0)) / d
        return self._cost[key]


class SampleWait(StopRule):
    """The race, as the search sees it: stop, certified, once the sample's answers so far
    (``ids``, their codes ``labels``: the order's answered prefix) and the search's own
    answers certify; :meth:`move` says what comes next."""

    name = "sample-wait"

    def __init__(self, certificate: SampleCertificate, ids, labels, searched: int = 0):
        self.cert = certificate
        self.ids = np.asarray(ids, np.int64)
        self.labels = np.asarray(labels, np.int8)
        self.searched = searched  # search labels since the sample last met an unfound positive

    @property
    def positives(self) -> np.ndarray:
        """The sample's items answered positive or unsure."""
        return self.ids[(self.labels == POSITIVE) | (self.labels == UNSURE)]

    def unfound(self, answers) -> int:
        return int((np.asarray(answers)[self.positives] != POSITIVE).sum())

    def status(self, answers) -> tuple[int, int, int, int]:
        """(sample labels, sample positives, unfound by the search, positives the search knows)."""
        answers = np.asarray(answers)
        return self.ids.size, self.positives.size, self.unfound(answers), int((answers == POSITIVE).sum())

    def move(self, answers) -> str:
        m, _, unfound, found = self.status(answers)
        return self.cert.move(m, unfound, found, self.searched)

    def report(self, answers) -> dict:
        st = self.status(answers)
        return {**self.cert.report(*st), "describe": self.cert.describe(*st)}

    def check(self, state, curve) -> str | None:
        m, _, unfound, found = self.status(state.answers)
        if self.cert.certified(m, unfound, found):
            return certified_reason(self.cert.target, self.cert.confidence)
        return None


class SampleWaitStop(StopRule):
    """All of ``recall:R@C`` as one rule, for a driver that can label sample items at once
    (``elsa simulate``): the search phase (:class:`SampleHandOver`); at the hand-over one
    random order of the unlabelled items (from ``rng``), whose pages ``label(ids)``
    answers, hidden from the search; then the race (:meth:`SampleCertificate.move`),
    checked after every search page. :attr:`sample_ids` are the items the sample labelled."""

    name = "sample-wait"
    PAGE = 10  # sample labels per step of the race

    def __init__(self, target: float, confidence: float, label, rng: np.random.Generator,
                 window_share: float = 1.0):
        self.hand_over = SampleHandOver(target, confidence, window_share)
        self.label, self.rng = label, rng
        self.wait: SampleWait | None = None
        self.order = np.zeros(0, np.int64)
        self._labels = np.zeros(0, np.int8)  # the answers along the order (its labelled prefix)
        self.handed_over_at: int | None = None  # the search's labels at the hand-over
        self._since = 0  # the search's labels when the sample last met an unfound positive

    @property
    def target(self) -> float:
        return self.hand_over.target

    @property
    def confidence(self) -> float:
        return self.hand_over.confidence

    @property
    def sample_ids(self) -> np.ndarray:
        return np.zeros(0, np.int64) if self.wait is None else self.wait.ids

    def start(self, state) -> None:
        """Hand over now: the certificate for this state and the random order."""
        unlabelled = np.flatnonzero(~state.labelled)
        cert = SampleCertificate(unlabelled.size, int((state.answers == POSITIVE).sum()), self.target,
                                 self.confidence, int((state.answers == UNSURE).sum()))
        self.order = self.rng.permutation(unlabelled)
        self._labels = np.zeros(self.order.size, np.int8)
        self.handed_over_at = self._since = int(state.queries)
        self.wait = SampleWait(cert, self.order[:0], self._labels[:0])
        self._grow(cert.first or 0)

    def _grow(self, size: int) -> None:
        """Label the order's next ``size`` items."""
        m = self.wait.ids.size
        ids = self.order[m : m + size]
        self._labels[m : m + ids.size] = np.where(np.asarray(self.label(ids), bool), POSITIVE, NEGATIVE)
        self.wait = SampleWait(self.wait.cert, self.order[: m + ids.size], self._labels[: m + ids.size])

    def check(self, state, curve) -> str | None:
        if self.wait is None:
            if self.hand_over.check(state, curve) is None:
                return None
            self.start(state)
        if not self.wait.cert.possible:
            return f"recall {self.target:g} cannot be certified (no positive known)"
        while True:
            self.wait.searched = int(state.queries) - self._since
            move = self.wait.move(state.answers)
            if move == "certified":
                return certified_reason(self.target, self.confidence)
            if move == "search":
                return None
            before = self.wait.unfound(state.answers)
            self._grow(self.PAGE)
            if self.wait.unfound(state.answers) > before:  # a new positive: the search's turn again
                self._since = int(state.queries)

    def certificate(self, answers) -> dict:
        """Where the certificate stands for the search's ``answers``."""
        if self.wait is None:
            return {"method": "sample-wait", "target": self.target, "confidence": self.confidence,
                    "phase": "search", "certified": False}
        return {**self.wait.report(answers), "phase": "race", "search_labels_at_hand_over": self.handed_over_at}
