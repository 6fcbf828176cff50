"""The paper's metrics (section 3.1) and the noisy-oracle correction of seed 000.

Conventions, stated once:

* ``found``: positives among the oracle's queries. Seeds are given, not queried, and
  are never counted in ``found`` or ``queries``.
* discovery rate ``= (n_seeds + found) / total_positives``: the share of all positives
  in the pool known at the end (the paper's ``|L+| / |D+|``, whose ``L+`` includes the
  seeds it starts from).
* labelling efficiency ``= found / queries``: positives per label spent (the paper's
  ``|L+| / |L|`` counted over what the oracle was asked).

Runs also report the raw counts, so any other convention can be recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._validation import check_float


def discovery_rate(found: int, total_positives: int, n_seeds: int = 0) -> float:
    """``(n_seeds + found) / total_positives``; NaN when the pool has no positive."""
    if total_positives <= 0:
        return math.nan
    return (n_seeds + found) / total_positives


def labelling_efficiency(found: int, queries: int) -> float:
    """``found / queries``; NaN when nothing was queried."""
    if queries <= 0:
        return math.nan
    return found / queries


def corrected_labelling_efficiency(efficiency: float, error_rate: float) -> float:
    """Labelling efficiency under an oracle that errs with probability ``error_rate``.

    Seed 000's formula: with ``L_e`` the efficiency measured with a perfect oracle and
    ``eps`` the oracle's error rate, the efficiency becomes
    ``L_e (1 - eps) / (1 + (1 - L_e) eps)``.
    """
    le = check_float(efficiency, "efficiency", minimum=0.0, maximum=1.0)
    eps = check_float(error_rate, "error_rate", minimum=0.0, maximum=1.0)
    return le * (1.0 - eps) / (1.0 + (1.0 - le) * eps)


def found_at(curve: Sequence[Sequence[int]], queries: int) -> int:
    """Positives found once ``queries`` labels were spent: the last curve point at or below it."""
    best = 0
    for spent, found in curve:
        if spent > queries:
            break
        best = found
    return int(best)


def found_within(curves: Sequence[Sequence[Sequence[int]]], points: Sequence[int]) -> list[float]:
    """The median over runs (their ``(labels, found)`` curves) of the positives found within
    each number of labels in ``points``."""
    return [float(np.median([found_at(c, b) for c in curves])) for b in points]


def median_curve(curves: Sequence[Sequence[Sequence[int]]]) -> list[tuple[int, float]]:
    """One curve for several runs: at every number of labels where any run's curve steps,
    the median over runs of the positives found within it."""
    grid = sorted({int(q) for c in curves for q, _ in c})
    return list(zip(grid, found_within(curves, grid)))


def quartiles(values) -> dict[str, float]:
    """Median and first and third quartiles, ignoring NaN."""
    arr = np.asarray(list(values), dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return {"median": math.nan, "q1": math.nan, "q3": math.nan}
    q1, med, q3 = np.percentile(arr, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3)}
