"""The head's scores of the pool, and the few reductions of them the search reads.

ELSA reads the head's confidence of every item in four ways:

* the active-learning threshold, ``mean + alpha * std`` of the scores (Algorithm 3),
  from three sums: how many, their sum, and the sum of their squares;
* the unlabelled items above that threshold, most confident first (Algorithm 3, and
  the final search in threshold mode);
* the ``k`` most confident unlabelled items (the final search in top mode);
* Quant's four sums of ``p`` and ``p (1 - p)``, over the searched items and over all
  (the estimate of how many positives remain).

In one process the scores are an ``(n,)`` array and these run on it. On a sharded
pool (:class:`~elsa.index.sharded.ShardedScores`) the scores stay on the shards, each
shard runs the same functions on its own slice, and only the sums, the ids above the
threshold and each shard's top ``k`` travel to the driver, where they are merged:
counts and sums are added, id lists are concatenated and sorted. So per epoch only the
head's weights go out and these small answers come back, never ``n`` scores.

The sums are float64. The merged ones equal the single-array ones to float64
rounding, not bitwise (a sum's rounding depends on how the array is cut), so a
threshold can differ in its last float64 bit between a sharded and a single run, and
an item's side of it changes only if its float32 score lies within that bit of the
threshold: about one chance in a billion per epoch. The candidate lists and top ``k``
are exact, ties broken by the smaller id.

Samplers that need arbitrary scores (FarS, GreedyS, GridS, SEALS, ...) index the
scores (``scores[ids]``) or take the whole array (``np.asarray(scores)``); a sharded
pool gathers those from the shards.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 1 << 20


def local_stats(scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``[count, sum, sum of squares]`` (float64) of ``scores``, or of ``scores[mask]``."""
    basis = scores if mask is None else scores[mask]
    out = np.zeros(3)
    out[0] = basis.size
    for start in range(0, basis.size, _CHUNK):
        block = basis[start : start + _CHUNK].astype(np.float64)
        out[1] += block.sum()
        out[2] += block @ block
    return out


def local_above(scores: np.ndarray, threshold: float, excluded: np.ndarray | None) -> np.ndarray:
    """Ids with score > ``threshold``, outside ``excluded`` (a boolean mask), unordered."""
    hit = scores > threshold
    if excluded is not None:
        hit &= ~excluded
    return np.flatnonzero(hit)


def local_top(scores: np.ndarray, k: int, excluded: np.ndarray | None) -> np.ndarray:
    """The ``k`` highest-scoring ids outside ``excluded``, by descending score, ties by id."""
    ids = np.flatnonzero(~excluded) if excluded is not None else np.arange(scores.size)
    if k < ids.size:
        vals = scores[ids]
        kth = np.partition(-vals, k - 1)[k - 1] if k > 0 else -np.inf
        ids = ids[-vals <= kth]
    return by_score(ids, scores)[:k]


def local_quant(scores: np.ndarray, searched: np.ndarray) -> np.ndarray:
    """Quant's sums ``[p searched, p not searched, p(1-p) all, p(1-p) not searched]``,
    with ``p = (score + 1) / 2`` the probability of "positive"."""
    p = np.asarray((scores + 1.0) / 2.0, np.float64)
    prod = p * (1.0 - p)
    return np.array([p[searched].sum(), p[~searched].sum(), prod.sum(), prod[~searched].sum()])


def by_score(ids: np.ndarray, scores) -> np.ndarray:
    """``ids`` sorted by descending ``scores[ids]``, ties by ascending id."""
    return ids[np.lexsort((ids, -np.asarray(scores[ids])))]


def threshold(scores, alpha: float, scored: np.ndarray | None = None) -> float:
    """``mean + alpha * std`` of the scores (of the ``scored`` items only, when given)."""
    count, total, total_sq = scores.stats(scored) if hasattr(scores, "stats") else local_stats(scores, scored)
    mean = total / count
    return float(mean + alpha * np.sqrt(max(total_sq / count - mean * mean, 0.0)))


def above(scores, value: float, labelled: np.ndarray) -> np.ndarray:
    """Unlabelled ids with score > ``value``, most confident first, ties by id."""
    if hasattr(scores, "above"):
        return scores.above(value, labelled)
    return by_score(local_above(scores, value, labelled), scores)


def top(scores, k: int, labelled: np.ndarray) -> np.ndarray:
    """The ``k`` most confident unlabelled ids, most confident first, ties by id."""
    return scores.top(k, labelled) if hasattr(scores, "top") else local_top(scores, k, labelled)


def quant_sums(scores, searched: np.ndarray) -> np.ndarray:
    """Quant's four sums (see :func:`local_quant`)."""
    return scores.quant_sums(searched) if hasattr(scores, "quant_sums") else local_quant(scores, np.asarray(searched, bool))
