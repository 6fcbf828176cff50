"""A logistic-regression head: the linear model of SEALS, CAL and the default search.

scikit-learn's :class:`~sklearn.linear_model.LogisticRegression` (L-BFGS, L2 penalty
``1 / C``) on pool-standardised inputs, refitted from scratch on every call to
:meth:`fit`. With ``balanced=True`` each class weighs as much as the other in the loss
(scikit-learn's ``class_weight="balanced"``): a rare class's few positives are not
drowned by the negatives, which is how SEALS trains its proxy model.

A cold fit, not a warm start: the objective is strictly convex, so a warm start would
reach the same optimum only to the solver's tolerance, and the last bits would then
depend on the path of earlier fits; a labelling session that is reopened retrains from
its labels and must choose exactly what the uninterrupted one chose. At the label counts
a search reaches (thousands) a cold fit takes milliseconds to tenths of a second.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from .._parallel import cpu_count, map_ranges, row_ranges
from .._validation import check_float, check_int, float_rows, is_sparse
from ..exceptions import InputError
from .base import Head


class LogisticHead(Head):
    """Binary logistic regression over embeddings.

    Parameters
    ----------
    C : float
        Inverse L2 penalty (scikit-learn's ``C``) on standardised inputs.
    balanced : bool
        Weigh the classes equally in the loss.
    max_iter : int
        L-BFGS iterations per fit.
    """

    def __init__(self, C: float = 1.0, balanced: bool = True, max_iter: int = 200):
        super().__init__()
        self.C = check_float(C, "C", minimum=0.0, exclusive_minimum=True)
        self.balanced = bool(balanced)
        self.max_iter = check_int(max_iter, "max_iter", minimum=1)

    def _fit_layers(self, Xs, y, random_state, sample_weight):
        model = LogisticRegression(C=self.C, class_weight="balanced" if self.balanced else None,
                                   max_iter=self.max_iter, random_state=random_state)
        if not is_sparse(Xs):
            model.fit(Xs, y, sample_weight=sample_weight)
            return [model.coef_.T], [model.intercept_]
        # Text: only the terms the training rows contain. A term no training row has adds
        # nothing to the loss, and the L2 penalty holds its weight at 0 from the start, so the
        # optimum (and L-BFGS's path to it) is the same; but L-BFGS's own bookkeeping costs
        # per feature, and a corpus has 10-100x more terms than a few hundred records use.
        used = np.unique(Xs.indices)
        if used.size == 0:  # no training row has a term: every weight is 0, the intercept is the prior's log-odds
            w = np.ones(y.size) if sample_weight is None else np.asarray(sample_weight, np.float64)
            if self.balanced:
                w = w * np.where(y, y.size / (2.0 * y.sum()), y.size / (2.0 * (~y).sum()))
            p = float(w[y].sum() / w.sum())
            return [np.zeros((Xs.shape[1], 1))], [np.array([np.log(p / (1.0 - p))])]
        model.fit(Xs[:, used], y, sample_weight=sample_weight)
        coef = np.zeros((Xs.shape[1], 1), model.coef_.dtype)
        coef[used, 0] = model.coef_[0]
        return [coef], [model.intercept_]


class StackedLogits:
    """Several fitted :class:`LogisticHead` s' logits in one pass over the rows: ``(rows, heads)``
    float32, the heads' weights side by side in one matrix product per chunk (a pass over a
    pool of 10M rows reads it once instead of once per head). Callable on a block of rows,
    as :meth:`elsa.index.Index.map` wants."""

    def __init__(self, heads):
        if not heads or not all(isinstance(h, LogisticHead) and h.is_fitted for h in heads):
            raise InputError("StackedLogits needs fitted logistic heads")
        self.W = np.hstack([h.weights_[0] for h in heads]).astype(np.float32)
        self.b = np.concatenate([h.biases_[0] for h in heads]).astype(np.float32)
        self.chunk_rows = heads[0].chunk_rows

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = np.empty((X.shape[0], self.W.shape[1]), np.float32)
        chunk = self.chunk_rows

        def score(a, b):
            for start in range(a, b, chunk):
                h = float_rows(X[start : min(start + chunk, b)]) @ self.W
                h += self.b
                out[start : start + h.shape[0]] = h

        map_ranges(score, row_ranges(X.shape[0], cpu_count(), chunk))
        return out
