"""An anytime-valid bound on the positives left among the unlabelled items.

When the search hands over, ``N`` items are unlabelled and ``K`` of them (unknown) are
positive. The audit labels them in a uniformly random order, without replacement.
After ``m`` audit labels with ``k`` positives, the likelihood of ``K`` is the
hypergeometric ``C(K, k) C(N - K, m - k)``. With a prior ``pi_0`` on ``K`` fixed before
the audit, the ratio of the prior to the posterior at the true ``K`` is a nonnegative
martingale with mean 1, so by Ville's inequality it ever exceeds ``1 / alpha`` with
probability at most ``alpha``. Hence

    C_m = {K : posterior_m(K) / prior(K) > alpha}

holds the true ``K`` at every ``m`` at once with probability at least ``1 - alpha``: a
confidence sequence (Waudby-Smith and Ramdas, "Confidence sequences for sampling
without replacement", NeurIPS 2020, section 2, the prior-posterior martingale). It may
be read after every label, and the audit stopped the moment it suffices, without
losing the guarantee.

The prior is a bet on where ``K`` lies; any prior is valid, a good one is cheap. It is
geometric with mean ``mean`` (the caller sets it from the number of positives that would
break the recall target, :class:`~elsa.stopping.rules.AuditedStop`). The paper's
examples use a beta-binomial prior; a geometric prior puts its mass on few
remaining positives, which is what an audit after a good search expects to see.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from .._validation import check_float, check_int
from ..exceptions import ParameterError


def geometric_log_prior(n: int, mean: float):
    """The log-probability function of ``K = 0..n`` under a geometric prior with mean
    ``mean`` (before truncation at ``n``): ``K log q + log(1 - q) - log(1 - q^(n + 1))``,
    ``q = mean / (1 + mean)``."""
    n = check_int(n, "unlabelled items", minimum=0)
    mean = check_float(mean, "prior mean", minimum=0.0, exclusive_minimum=True)
    log_q = math.log(mean / (1.0 + mean))
    log_norm = math.log1p(-math.exp(log_q)) - math.log1p(-math.exp((n + 1) * log_q))

    def log_prior(K: np.ndarray) -> np.ndarray:
        return np.asarray(K, np.float64) * log_q + log_norm

    return log_prior


def _log_choose(n, k):
    return gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)


class HiddenPositives:
    """The confidence sequence for ``K``, the positives among ``n`` unlabelled items.

    Parameters
    ----------
    n : int
        Unlabelled items when the audit starts.
    log_prior : callable
        ``log_prior(K)``: log-probabilities of the counts ``K`` (an array of whole numbers
        in ``0..n``), summing to 1 over ``0..n``; fixed before the first audit label.
    alpha : float
        1 - confidence.

    The sequence is computed over ``K = 0..cut`` only, ``cut`` a generous multiple of the
    maximum-likelihood count (at least 4,096): leaving out the prior mass above ``cut``
    can only enlarge the set, and a set that reaches ``cut`` is reported as reaching
    ``n``. Both err on the safe side, and a pool of 10 million items needs no vector of
    10 million counts.
    """

    MIN_CUT = 4096

    def __init__(self, n: int, log_prior, alpha: float):
        self.n = check_int(n, "unlabelled items", minimum=0)
        self.alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0, exclusive_minimum=True,
                                 exclusive_maximum=True)
        if not callable(log_prior):
            raise ParameterError(f"the prior must be a function of the counts K, got {type(log_prior).__name__}")
        total = np.logaddexp.reduce(log_prior(np.arange(min(self.n, 8) + 1)))
        if not np.isfinite(total):
            raise ParameterError("the prior gives no probability to the smallest counts")
        self.log_prior = log_prior

    def _cut(self, m: int, k: int) -> int:
        return min(self.n, max(self.MIN_CUT, 64 * (k + 1) * (self.n // (m + 1) + 1)))

    def log_ratio(self, m: int, k: int) -> np.ndarray:
        """``log(posterior / prior)`` for ``K = 0..cut`` after ``k`` positives in ``m`` audit
        labels (the normaliser over ``0..cut`` only: an upper bound on the ratio)."""
        m = check_int(m, "audit labels", minimum=0, maximum=self.n)
        k = check_int(k, "audit positives", minimum=0, maximum=m)
        K = np.arange(self._cut(m, k) + 1, dtype=np.float64)
        ok = (K >= k) & (self.n - K >= m - k)
        ll = np.full(K.size, -np.inf)
        ll[ok] = _log_choose(K[ok], k) + _log_choose(self.n - K[ok], m - k)
        return ll - np.logaddexp.reduce(self.log_prior(K) + ll)

    def plausible(self, m: int, k: int) -> np.ndarray:
        """The confidence set after ``k`` positives in ``m`` labels: a boolean mask over
        ``K = 0..cut`` (every count above ``cut`` is plausible when the mask's last is)."""
        return self.log_ratio(m, k) > math.log(self.alpha)

    def upper(self, m: int, k: int) -> int:
        """The largest plausible ``K``: at most this many positives were unlabelled, with
        confidence ``1 - alpha``, at every ``m`` at once."""
        mask = self.plausible(m, k)
        return self.n if mask[-1] else int(np.flatnonzero(mask)[-1])

    def labels_needed(self, k: int, limit: int, start: int = 0) -> int | None:
        """The fewest audit labels ``m >= start`` after which ``upper(m, k) <= limit``
        (if the audit finds no more than ``k`` positives by then); None if even a full audit
        would not do it. ``upper`` falls as ``m`` grows with ``k`` fixed, so this bisects."""
        k = check_int(k, "audit positives", minimum=0)
        lo, hi = max(k, start), self.n
        if lo > hi or self.upper(hi, min(k, hi)) > limit:
            return None
        while lo < hi:
            mid = (lo + hi) // 2
            if self.upper(mid, k) <= limit:
                hi = mid
            else:
                lo = mid + 1
        return lo
