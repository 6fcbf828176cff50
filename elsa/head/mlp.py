"""The active-learning head: a small MLP giving every item a confidence in [-1, +1].

The paper trains "an MLP head" after every epoch on all labelled positives and
negatives and reads a confidence between -1 and +1 from it (seed 000 says so
explicitly). Here it is scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`
(one hidden ReLU layer of 64 units, L-BFGS, L2 penalty ``alpha``), retrained from
scratch on every call to :meth:`fit`, with the confidence ``2 p - 1`` where ``p`` is
its probability of "positive".

Choices the paper leaves open, made here:

* Inputs are standardised with the mean and standard deviation of the whole pool
  (computed once, unsupervised), folded into the first layer's weights so scoring
  reads the raw pool without a standardised copy.
* Training runs with one BLAS thread: on 2 cores, two threads made fitting 2-4x
  slower (measured with ``threadpoolctl``).
* Scoring the pool is a chunked float32 forward pass, not ``predict_proba`` (which
  would hold a float64 copy of the pool), over one row range per core
  (:mod:`elsa._parallel`; the same blocks, so the same values, as one thread).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from .._parallel import BLOCK_ROWS, cpu_count, map_ranges, row_ranges
from .._validation import check_float, check_int, float_rows
from ..exceptions import InputError

_SCORE_CHUNK_ROWS = BLOCK_ROWS  # the exact index's blocks, so shards (cut on them) score rows as one pass does


class MLPHead:
    """Binary MLP head over embeddings.

    The pool is scored in chunks of ``chunk_rows`` rows; a caller that scores it block by
    block (a fused pass) cuts blocks on multiples of it, so every value is the same.

    Parameters
    ----------
    hidden : int
        Units in the hidden layer.
    alpha : float
        L2 penalty.
    max_iter : int
        L-BFGS iterations per fit.
    """

    chunk_rows = _SCORE_CHUNK_ROWS

    def __init__(self, hidden: int = 64, alpha: float = 1e-4, max_iter: int = 200):
        self.hidden = check_int(hidden, "hidden", minimum=1)
        self.alpha = check_float(alpha, "alpha", minimum=0.0)
        self.max_iter = check_int(max_iter, "max_iter", minimum=1)
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.weights_: list[np.ndarray] | None = None
        self.biases_: list[np.ndarray] | None = None

    @property
    def is_fitted(self) -> bool:
        return self.weights_ is not None

    def prepare(self, X: np.ndarray) -> "MLPHead":
        """Learn the standardisation from the whole pool (no labels used)."""
        total = np.zeros(X.shape[1], np.float64)
        total_sq = np.zeros(X.shape[1], np.float64)
        for start in range(0, X.shape[0], _SCORE_CHUNK_ROWS):
            block = X[start : start + _SCORE_CHUNK_ROWS].astype(np.float64)
            total += block.sum(axis=0)
            total_sq += np.einsum("ij,ij->j", block, block)
        mean = total / X.shape[0]
        var = np.maximum(total_sq / X.shape[0] - mean**2, 0.0)
        self.mean_ = mean.astype(np.float32)
        # A constant feature carries no information; a unit scale keeps it harmless.
        self.scale_ = np.where(var > 1e-12, np.sqrt(var), 1.0).astype(np.float32)
        return self

    def fit(self, X: np.ndarray, y: np.ndarray, random_state: int) -> "MLPHead":
        """Train on labelled rows ``X`` with boolean labels ``y`` (both classes needed)."""
        y = np.asarray(y, dtype=bool)
        if y.all() or not y.any():
            raise InputError("the head needs at least one positive and one negative label to train")
        if self.mean_ is None:
            self.prepare(X)
        Xs = (float_rows(X) - self.mean_) / self.scale_
        model = MLPClassifier(
            hidden_layer_sizes=(self.hidden,),
            solver="lbfgs",
            alpha=self.alpha,
            max_iter=self.max_iter,
            random_state=int(random_state),
        )
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Xs, y)
        w0 = model.coefs_[0].astype(np.float32)
        # Fold the standardisation into the first layer: ((x - m) / s) W = x (W / s) - (m / s) W.
        w0_folded = w0 / self.scale_[:, None]
        b0_folded = model.intercepts_[0].astype(np.float32) - (self.mean_ / self.scale_) @ w0
        self.weights_ = [w0_folded] + [w.astype(np.float32) for w in model.coefs_[1:]]
        self.biases_ = [b0_folded] + [b.astype(np.float32) for b in model.intercepts_[1:]]
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """The logit of "positive" for every row, chunked float32."""
        if not self.is_fitted:
            raise InputError("the head is not trained yet")
        out = np.empty(X.shape[0], np.float32)

        def score(a, b):
            for start in range(a, b, _SCORE_CHUNK_ROWS):
                h = float_rows(X[start : min(start + _SCORE_CHUNK_ROWS, b)]) @ self.weights_[0]
                h += self.biases_[0]
                for w, bias in zip(self.weights_[1:], self.biases_[1:]):
                    np.maximum(h, 0.0, out=h)
                    h = h @ w + bias
                out[start : start + h.shape[0]] = h[:, 0]

        map_ranges(score, row_ranges(X.shape[0], cpu_count(), _SCORE_CHUNK_ROWS))
        return out

    def confidence(self, X: np.ndarray) -> np.ndarray:
        """``2 p - 1`` in [-1, +1], where ``p`` is the probability of "positive"."""
        # 2 * sigmoid(z) - 1 == tanh(z / 2), without overflow for large |z|.
        return np.tanh(self.decision_function(X) / 2.0)
