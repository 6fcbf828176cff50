"""k-means lists of a pool: the partition the approximate k-NN graph is searched by.

:func:`make_lists` trains k-means (faiss) on a sample, assigns every row to its nearest
centroid, halves the lists k-means leaves too large (:func:`split_large`), and orders
each list's neighbouring lists; :mod:`elsa.index.graph_build` searches a list's rows
against its neighbours' rows, and proves rows exact with the lists' radii.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from .._validation import as_generator

DEFAULT_PROBES = 16
MAX_LISTS = 4096
MAX_PROBES = 128  # each list's nearest lists are ordered up to this many
BALANCE = 2.0  # make_lists splits lists over this many times the mean size
ITERATIONS = 8  # k-means iterations
TRAIN_PER_LIST = 16  # k-means training rows a list


def _faiss():
    from .faiss_index import require_faiss

    return require_faiss()


def _rows(X: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Rows ``ids`` of the pool as contiguous float32 (a memory map or float16 pool is read here)."""
    return np.ascontiguousarray(X[ids], dtype=np.float32)


@dataclass
class Lists:
    """A k-means partition of the pool: ``members(c)`` are list ``c``'s rows (ascending),
    ``near[c]`` the lists by distance of their centroid to ``c``'s (``c`` first)."""

    assign: np.ndarray  # (n,) each row's list
    ptr: np.ndarray  # (lists + 1,) offsets into order
    order: np.ndarray  # row ids grouped by list
    near: np.ndarray  # (lists, max probes)
    centroids: np.ndarray  # (lists, d) float32
    radius: np.ndarray  # (lists,) float64: the largest distance of a member to its centroid

    @property
    def count(self) -> int:
        return self.ptr.size - 1

    def members(self, c: int) -> np.ndarray:
        return self.order[self.ptr[c] : self.ptr[c + 1]]

    def candidates(self, c: int, probes: int, skip: int = 0) -> np.ndarray:
        """The rows of list ``c``'s nearest ``probes`` lists, without its nearest ``skip``."""
        lists = self.near[c, skip:probes]
        return np.concatenate([self.members(int(j)) for j in lists]) if lists.size else np.zeros(0, self.order.dtype)


def default_lists(n: int, probes: int = DEFAULT_PROBES) -> int:
    """``sqrt(probes n)``, at most :data:`MAX_LISTS`: the list count that balances the
    assignment (``lists`` comparisons a row) against the pass (``probes n / lists``), capped
    because larger lists make larger matrix products (faiss's k-NN ran 34 GFLOP/s on
    790 x 6,300 blocks and 81 GFLOP/s on 2,440 x 19,500 ones on 2 cores), and because a
    neighbourhood split over many small lists needs more probes to cover it."""
    return int(max(1, min(n // 8, MAX_LISTS, round(math.sqrt(probes * n)))))


def make_lists(X: np.ndarray, lists: int, *, max_probes: int = MAX_PROBES, iterations: int = ITERATIONS,
               train_per_list: int = TRAIN_PER_LIST, balance: float | None = BALANCE, random_state=0,
               progress: bool = True) -> Lists:
    """Train k-means (faiss) on ``train_per_list x lists`` sampled rows, assign every row to
    its nearest centroid (in chunks), split the lists over ``balance`` times the mean size
    (:func:`split_large`; None: keep them), and order the centroids' neighbours."""
    from tqdm.auto import tqdm

    faiss = _faiss()
    n, d = X.shape
    rng = as_generator(random_state)
    sample = np.sort(rng.choice(n, min(n, train_per_list * lists), replace=False))
    kmeans = faiss.Kmeans(d, lists, niter=iterations, seed=int(rng.integers(2**31 - 1)), verbose=False,
                          min_points_per_centroid=1, max_points_per_centroid=max(train_per_list, 1) + 1)
    kmeans.train(_rows(X, sample))
    quantizer = faiss.IndexFlatL2(d)
    quantizer.add(kmeans.centroids)
    assign = np.empty(n, np.int64)
    step = 65536
    bar = tqdm(total=n, desc=f"assigning rows to {lists:,} lists", unit="row", disable=None if progress else True,
               dynamic_ncols=True, file=sys.stderr, leave=False)
    try:
        for start in range(0, n, step):
            stop = min(n, start + step)
            assign[start:stop] = quantizer.search(_rows(X, slice(start, stop)), 1)[1][:, 0]
            bar.update(stop - start)
    finally:
        bar.close()
    centroids = kmeans.centroids
    if balance is not None:
        assign, centroids = split_large(X, assign, centroids, max(1, int(balance * n / lists)))
    count = centroids.shape[0]
    order = np.argsort(assign, kind="stable")
    ptr = np.searchsorted(assign[order], np.arange(count + 1))
    radius = list_radius(X, assign, centroids)
    quantizer = faiss.IndexFlatL2(d)
    quantizer.add(centroids)
    near = quantizer.search(centroids, min(count, max_probes))[1]
    # A centroid is its own nearest unless two coincide: put it first either way.
    own = np.arange(count)[:, None]
    is_own = near == own
    near = np.take_along_axis(near, np.argsort(np.where(is_own, -1, np.arange(near.shape[1])), axis=1), 1)
    missing = ~is_own.any(axis=1)
    near[missing] = np.concatenate([own[missing], near[missing, :-1]], axis=1)
    return Lists(assign=assign, ptr=ptr, order=order, near=near, centroids=centroids, radius=radius)


def split_large(X: np.ndarray, assign: np.ndarray, centroids: np.ndarray, cap: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Lists of at most ``cap`` rows: each larger list is halved at the median of its rows'
    projections on their leading principal direction, again until every part fits (a
    PCA tree under the list), and each part gets its members' mean as its centroid.

    k-means in high dimensions gives lists of very uneven sizes (on 1M x 128 pools with
    4,000 lists: from 1 row to 2,500-4,400 where the mean is 250, from centroids drawn
    towards the middle of a cluster), and a list costs its rows times its probed lists'
    rows, so a few large lists made the pass 3.4-6.5x the cost of equal ones (measured
    once, issue 37). The split keeps each part a contiguous piece of space, which is what
    lets its rows share one candidate set."""
    sizes = np.bincount(assign, minlength=centroids.shape[0])
    large = np.flatnonzero(sizes > cap)
    if large.size == 0:
        return assign, centroids
    assign = assign.copy()
    order = np.argsort(assign, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(sizes)])
    extra: list[np.ndarray] = []
    next_id = centroids.shape[0]
    rng = np.random.default_rng(0)
    for c in large:
        pending = [order[ptr[c] : ptr[c + 1]]]
        parts = []
        while pending:
            rows = pending.pop()
            if rows.size <= cap:
                parts.append(rows)
                continue
            Y = _rows(X, rows)
            Y -= Y.mean(axis=0)
            v = rng.standard_normal(Y.shape[1]).astype(np.float32)
            for _ in range(8):  # power iteration: the leading principal direction
                v = Y.T @ (Y @ v)
                v /= np.linalg.norm(v) or 1.0
            half = np.argsort(Y @ v, kind="stable")
            pending += [np.sort(rows[half[: rows.size // 2]]), np.sort(rows[half[rows.size // 2 :]])]
        centroids[c] = _rows(X, parts[0]).mean(axis=0)  # the first part keeps the list's number
        for rows in parts[1:]:
            assign[rows] = next_id
            extra.append(_rows(X, rows).mean(axis=0))
            next_id += 1
        assign[parts[0]] = c
    return assign, np.concatenate([centroids, np.asarray(extra, np.float32).reshape(-1, X.shape[1])])


def list_radius(X: np.ndarray, assign: np.ndarray, centroids: np.ndarray, step: int = 65536) -> np.ndarray:
    """Each list's largest distance from a member to its centroid, in float64 (an exact
    radius for :func:`certify_exact`)."""
    radius = np.zeros(centroids.shape[0])
    for start in range(0, X.shape[0], step):
        stop = min(X.shape[0], start + step)
        dist = np.linalg.norm(_rows(X, slice(start, stop)).astype(np.float64) - centroids[assign[start:stop]], axis=1)
        np.maximum.at(radius, assign[start:stop], dist)
    return radius
