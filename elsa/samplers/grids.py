"""GridS (seed 000): the most confident item of each cell of a grid over the pool."""

from __future__ import annotations

import numpy as np

from .._validation import check_float, check_int
from ..scores import by_score
from ..state import SearchState
from ._geometry import pca_project, sq_dist_to
from .base import Sampler, best_per_group, growing_batch


class GridS(Sampler):
    """Cut the pool's hypersphere into cells; propose each occupied cell's most confident item.

    Seed 000: find one initial point, measure the diameter ``d`` of the data set from it,
    restrict the space to the hypersphere of radius ``d`` around it, divide it into grid
    cells and choose high-confidence points in each. Choices, as the seed leaves them open:

    * the grid lives in a 2-d projection (the pool's first two principal components), as
      a grid over 1280 dimensions would have almost every item alone in its cell;
    * the initial point is the item nearest the pool's centroid in that projection, and
      the radius is the largest distance from it, so the sphere holds every item;
    * the square around the sphere is cut into ``cells x cells`` cells;
    * each occupied cell offers its most confident unlabelled item, and the ``b``
      (growing like RandS's) most confident of those are proposed.

    Before the head is trained it returns nothing.
    """

    name = "grids"

    def __init__(self, b: int = 50, b_growth: float = 0.5, cells: int = 16):
        self.b = check_int(b, "b", minimum=1)
        self.b_growth = check_float(b_growth, "b_growth", minimum=0.0)
        self.cells = check_int(cells, "cells", minimum=1)

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        P = pca_project(state.X, 2, rng)
        if P.shape[1] < 2:
            P = np.hstack([P, np.zeros((P.shape[0], 2 - P.shape[1]), np.float32)])
        centre = P[int(np.argmin(sq_dist_to(P, P.mean(axis=0))))]
        radius = float(np.sqrt(sq_dist_to(P, centre).max())) or 1.0
        side = 2.0 * radius / self.cells
        ij = np.clip(np.floor((P - centre + radius) / side), 0, self.cells - 1).astype(np.int64)
        self._cell = ij[:, 0] * self.cells + ij[:, 1]

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if state.scores is None:
            return np.zeros(0, np.int64)
        pool = np.flatnonzero(~state.labelled)
        best = best_per_group(pool, self._cell[pool], state.scores[pool])
        return by_score(best, state.scores)[: growing_batch(self.b, self.b_growth, state.n_found)]
