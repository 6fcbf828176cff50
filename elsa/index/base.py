"""The index interface: every search backend answers the same three calls.

Distances and ids come back in faiss's order, ``D, I = index.search(Q, k)``, with
squared L2 distances ascending. Rows missing from a result (fewer than ``k``
eligible items) have distance ``+inf`` and id ``-1``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Index(ABC):
    """A searchable pool ``X`` of ``n`` vectors of dimension ``dim``."""

    X: np.ndarray

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def dim(self) -> int:
        return self.X.shape[1]

    @abstractmethod
    def search(self, queries, k: int, *, exclude=None, query_ids=None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest pool rows of each query: ``(D, I)`` of shape ``(m, k)``.

        ``exclude`` is a boolean mask of rows never to return. ``query_ids`` gives,
        for queries that are themselves pool rows, their ids, so that each query does
        not return itself (it may still return another query's row).
        """

    @abstractmethod
    def search_set(self, queries, k: int, *, exclude=None) -> tuple[np.ndarray, np.ndarray]:
        """Distance-to-a-set query (the paper's Algorithm 1).

        The ``k`` rows with the smallest distance to *any* query, ``min_j ||x - q_j||^2``,
        ascending: ``(D, I)`` of shape ``(<= k,)``. One pass over the pool, not one kNN
        search per query.
        """

    @abstractmethod
    def distance_to_set(self, queries) -> np.ndarray:
        """``min_j ||x_i - q_j||^2`` for every pool row ``i``, shape ``(n,)``."""
