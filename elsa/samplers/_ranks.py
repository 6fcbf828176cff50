"""Rank averages (Borda counts) of two scores, and their best items without sorting the pool.

:func:`percentile_ranks` is the reference: each value's average rank, by one sort.
:func:`top_by_rank_sum` returns exactly the items :func:`rank_sum_order` would put first
(best ``a``-rank plus ``b``-rank, then larger ``b``, then smaller id), but without a sort
of the whole pool, which at 10M items costs seconds a round:

* ``a`` is the k-NN model's probability, which equals one value (the prior) for every
  item no label is near; its ranks come from sorting only the other items
  (:func:`ranks_with_common_value`);
* for ``b`` (the head's score) only the ``m`` largest values are sorted (found by
  ``argpartition``, ``O(n)``). Every item outside them has a ``b``-rank of at most
  ``n - m``, so an outside item can reach the page only if its ``a``-rank exceeds the
  page's worst rank sum by more than that; when one could, ``m`` grows fourfold, and past
  a quarter of the pool the whole pool is sorted.
"""

from __future__ import annotations

import numpy as np


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's average rank among ``values`` (1 = smallest, ties share their mean rank)."""
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], sorted_vals.size]
    mean_rank = (starts + ends + 1) / 2.0  # ranks starts+1 .. ends, averaged
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def ranks_with_common_value(values: np.ndarray, common: np.ndarray, value: float) -> np.ndarray:
    """:func:`percentile_ranks` of ``values`` where ``values[common]`` all equal ``value``:
    only the other values are sorted."""
    rest = np.flatnonzero(~common)
    n_common = values.size - rest.size
    pooled = np.concatenate([values[rest], [value]]) if n_common else values[rest]
    distinct, inverse, counts = np.unique(pooled, return_inverse=True, return_counts=True)
    if n_common:
        counts[inverse[-1]] += n_common - 1
    mean_rank = np.cumsum(counts) - counts + (counts + 1) / 2.0
    ranks = np.full(values.size, mean_rank[inverse[-1]] if n_common else 0.0)
    ranks[rest] = mean_rank[inverse[: rest.size]]
    return ranks


def rank_sum_order(rank_a: np.ndarray, b: np.ndarray, count: int) -> np.ndarray:
    """The reference: positions of the ``count`` best by ``rank_a + rank(b)``, then ``b``, then position."""
    score = rank_a + percentile_ranks(b)
    return np.lexsort((np.arange(b.size), -b, -score))[:count]


def top_by_rank_sum(rank_a: np.ndarray, b: np.ndarray, count: int, start: int = 256) -> np.ndarray:
    """:func:`rank_sum_order`'s result, sorting only the largest values of ``b`` (module docstring)."""
    n = b.size
    count = min(count, n)
    m = max(start, 4 * count)
    while m < n // 4:
        threshold = np.partition(b, n - m)[n - m]  # the m-th largest value
        inside = np.flatnonzero(b >= threshold)  # every tie of it too: ranks inside are exact
        bi = b[inside]
        order = np.argsort(-bi, kind="stable")
        sorted_b = bi[order]
        starts = np.flatnonzero(np.r_[True, sorted_b[1:] != sorted_b[:-1]])  # groups of equal b, largest first
        ends = np.r_[starts[1:], sorted_b.size]
        above = starts  # items with a larger b, all of them inside
        ties = ends - starts
        rank = np.empty(inside.size)
        rank[order] = np.repeat(n - above - ties + (ties + 1) / 2.0, ties)
        score = rank_a[inside] + rank
        best = np.lexsort((inside, -bi, -score))[:count]
        worst = score[best[-1]]
        # Outside, b < threshold: b-rank <= n - inside.size, and a tie on the score goes to
        # the larger b (an inside item). So an outside item wins a place only by a larger sum.
        outside_best = np.max(rank_a, initial=-np.inf, where=b < threshold)
        if best.size == count and outside_best + (n - inside.size) <= worst:
            return inside[best]
        m *= 4
    return rank_sum_order(rank_a, b, count)
