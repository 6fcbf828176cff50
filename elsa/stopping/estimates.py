"""How many positives remain: estimates of the search's recall, with intervals.

Recall here is the share of the pool's positives the search knows: seeds plus the
positives among its own answers (the discovery rate). Every estimate is a
:class:`RecallEstimate` with a point value and an interval at ``level``.

* :func:`audit_estimate`: unbiased, from an :class:`~.audit.AuditSample` hidden from
  the search. The audit items the search has not labelled are a simple random sample of
  the items it has not labelled, so ``remaining = unlabelled x k / m`` (``k`` positives
  among those ``m`` items) estimates the positives it has not found; the interval is
  Clopper-Pearson's exact binomial interval for ``k / m``, scaled the same way
  (conservative for a sample drawn without replacement).
* :func:`quant_estimate`: Yang, Lewis and Frieder's Quant rule ("Heuristic stopping
  rules for technology-assisted review", DocEng 2021). Costs no label: with the head's
  probabilities ``p``, recall is estimated as ``sum(p over labelled) / sum(p over
  all)`` and its variance by their delta-method formula (as in their TARexp code); the
  interval is the normal one. It is only as good as the probabilities are calibrated,
  and a head trained on actively chosen items is not calibrated for the pool: the
  benchmark measures how far off it is.
* :func:`model_estimate`: the default search's own model (its logistic head with
  ``C = 1``, fitted every page on the labels and random unlabelled items taken as
  negatives): recall ``found / (found + left)``, ``left`` the head's probabilities
  summed over the unlabelled items. A point estimate without an interval, with Quant's
  assumption (calibrated probabilities); ``--stop estimate:R`` stops on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, norm

from .._validation import check_float
from .. import scores
from ..state import POSITIVE


ESTIMATE_MODEL = "head:1"  # the default search's model the estimate reads (its logistic head with C = 1)


@dataclass(frozen=True)
class RecallEstimate:
    method: str
    found: int  # positives the search knows (seeds included)
    remaining: float  # positives it has not found, estimated
    remaining_low: float
    remaining_high: float
    recall: float
    recall_low: float
    recall_high: float
    level: float

    @property
    def total(self) -> float:
        return self.found + self.remaining

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def describe(self) -> str:
        if math.isnan(self.recall):
            return f"{self.method}: no estimate yet"
        if self.method == "model":
            return (f"model estimate (the search's own probabilities, no guarantee): recall about {self.recall:.2f}, "
                    f"about {self.remaining:.0f} positive(s) left")
        if self.method == "quant":  # its interval is far too narrow in practice (benchmarks/stopping.py)
            return (f"quant (a heuristic from the head's probabilities, no guarantee): recall about "
                    f"{self.recall:.2f}, about {self.remaining:.0f} positive(s) left")
        return (f"{self.method}: recall {self.recall:.2f} ({100 * self.level:.0f} % interval {self.recall_low:.2f}-"
                f"{self.recall_high:.2f}), about {self.remaining:.0f} positive(s) left "
                f"({self.remaining_low:.0f}-{self.remaining_high:.0f})")


def _recall(found: int, remaining: float) -> float:
    total = found + remaining
    return found / total if total > 0 else math.nan


def clopper_pearson(k: int, m: int, level: float) -> tuple[float, float]:
    """Exact two-sided binomial interval for a proportion ``k / m`` at ``level``."""
    a = (1.0 - level) / 2.0
    low = 0.0 if k == 0 else float(beta.ppf(a, k, m - k + 1))
    high = 1.0 if k == m else float(beta.ppf(1.0 - a, k + 1, m - k))
    return low, high


def audit_estimate(audit_ids, audit_labels, searched, found: int, *, level: float = 0.9) -> RecallEstimate:
    """Estimate from an audit sample.

    ``audit_ids`` / ``audit_labels``: the sample and its answers; ``searched``: boolean
    mask of the items the search has labelled (seeds included); ``found``: positives the
    search knows.
    """
    level = check_float(level, "level", minimum=0.0, maximum=1.0, exclusive_maximum=True)
    searched = np.asarray(searched, bool)
    audit_ids = np.asarray(audit_ids, np.int64)
    outside = ~searched[audit_ids]
    m = int(outside.sum())
    k = int(np.asarray(audit_labels, bool)[outside].sum())
    unlabelled = int((~searched).sum())
    if m == 0:
        return RecallEstimate("audit", found, math.nan, 0.0, float(unlabelled), math.nan, _recall(found, unlabelled),
                              1.0 if found else math.nan, level)
    low, high = clopper_pearson(k, m, level)
    remaining = unlabelled * k / m
    r_low, r_high = unlabelled * low, unlabelled * high
    return RecallEstimate("audit", found, remaining, r_low, r_high, _recall(found, remaining),
                          _recall(found, r_high), _recall(found, r_low), level)


def quant_estimate(probabilities, searched, found: int, *, level: float = 0.9) -> RecallEstimate:
    """Yang et al.'s Quant estimate from the head's probabilities of "positive" for every item."""
    p = np.asarray(probabilities, np.float64)
    searched = np.asarray(searched, bool)
    prod = p * (1.0 - p)
    return quant_from_sums(p[searched].sum(), p[~searched].sum(), prod.sum(), prod[~searched].sum(), found, level=level)


def quant_from_sums(known_ps: float, unknown_ps: float, all_var: float, unknown_var: float, found: int, *,
                    level: float = 0.9) -> RecallEstimate:
    """Quant's estimate from its four sums: ``p`` over the searched and the other items,
    and ``p (1 - p)`` over all and over the others (see :func:`elsa.scores.local_quant`)."""
    level = check_float(level, "level", minimum=0.0, maximum=1.0, exclusive_maximum=True)
    known_ps, unknown_ps, all_var, unknown_var = map(float, (known_ps, unknown_ps, all_var, unknown_var))
    total_ps = known_ps + unknown_ps
    if total_ps <= 0:
        return RecallEstimate("quant", found, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, level)
    recall = known_ps / total_ps
    var = known_ps**2 / total_ps**4 * all_var + (all_var - unknown_var) / total_ps**2
    z = float(norm.ppf(0.5 + level / 2.0))
    half = z * math.sqrt(var)
    r_half = z * math.sqrt(unknown_var)
    return RecallEstimate("quant", found, unknown_ps, max(0.0, unknown_ps - r_half), unknown_ps + r_half, recall,
                          max(0.0, recall - half), min(1.0, recall + half), level)


def quant_from_state(state, *, level: float = 0.9) -> RecallEstimate | None:
    """Quant's estimate for a search state: its head's scores (confidence in [-1, 1]) as
    probabilities, what it has labelled, and the positives it knows; None without scores."""
    if state.scores is None:
        return None
    found = int((state.answers == POSITIVE).sum())
    return quant_from_sums(*scores.quant_sums(state.scores, state.labelled), found, level=level)


def model_estimate(left: dict, found: int, model: str = ESTIMATE_MODEL) -> RecallEstimate | None:
    """The search's own estimate: ``left`` its models' expected positives among the
    unlabelled items (:meth:`elsa.search.ActiveSearch.positives_left`), read for ``model``;
    None while the model has none."""
    value = left.get(model)
    if value is None or not math.isfinite(value) or found + value <= 0:
        return None
    recall = found / (found + value)
    return RecallEstimate("model", int(found), float(value), math.nan, math.nan, recall, math.nan, math.nan, math.nan)
