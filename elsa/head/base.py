"""What every head shares: pool standardisation folded into the first layer, chunked scoring.

A head is a small feed-forward network over embeddings (no hidden layer for logistic
regression, one for the paper's MLP). Its inputs are standardised with the mean and
standard deviation of the whole pool (computed once, unsupervised) and the
standardisation is folded into the first layer's weights, so scoring reads the raw
pool without a standardised copy. Training runs with one BLAS thread: on 2 cores, two
threads made scikit-learn's fits 2-4x slower (measured with ``threadpoolctl``).
Scoring is a chunked float32 forward pass, not ``predict_proba`` (which would hold a
float64 copy of the pool), over one row range per core (:mod:`elsa._parallel`; the
same blocks, so the same values, as one thread).
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._parallel import BLOCK_ROWS, cpu_count, map_ranges, one_blas_thread, row_ranges
from .._validation import float_rows, is_sparse
from ..exceptions import InputError


class Head(ABC):
    """A binary classifier over embeddings: ``fit`` on labelled rows, score any rows.

    The pool is scored in chunks of ``chunk_rows`` rows (the exact index's blocks); a
    caller that scores it block by block (a fused pass, a shard) cuts blocks on
    multiples of it, so every value is the same.
    """

    chunk_rows = BLOCK_ROWS

    def __init__(self):
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.weights_: list[np.ndarray] | None = None
        self.biases_: list[np.ndarray] | None = None

    @property
    def is_fitted(self) -> bool:
        return self.weights_ is not None

    def prepare(self, X: np.ndarray) -> "Head":
        """Learn the standardisation from the whole pool (no labels used).

        A sparse pool (text features) is not centred (that would make every row dense),
        and its terms are not scaled one by one (unit variance would give the rarest terms,
        a few records' typos and names, the largest weights for the same penalty). Every
        term is scaled by one factor, ``sqrt(mean non-zeros per row)``: a unit-length row
        of ``m`` non-zeros then has entries of about 1, as standardised dense features
        do, so a head's ``C`` means about the same on text as on vectors. Without it, the
        default's ``C = 0.01`` head gives near-constant scores on TF-IDF. The evidence is
        thin: on 8 text classes (one paired run each, design runs recorded in issue 22's
        notes) the default found more with it on 5, fewer on 2 and as many on 1 at 100
        labels, and more on 4 and fewer on 4 at 500 (largest changes +20 and -6).
        """
        if is_sparse(X):
            factor = float(np.sqrt(max(X.nnz / X.shape[0], 1.0)))
            self.mean_ = np.zeros(X.shape[1], np.float32)
            self.scale_ = np.full(X.shape[1], 1.0 / factor, np.float32)
            return self
        total = np.zeros(X.shape[1], np.float64)
        total_sq = np.zeros(X.shape[1], np.float64)
        for start in range(0, X.shape[0], BLOCK_ROWS):
            block = float_rows(X[start : start + BLOCK_ROWS]).astype(np.float64)
            total += block.sum(axis=0)
            total_sq += np.einsum("ij,ij->j", block, block)
        mean = total / X.shape[0]
        var = np.maximum(total_sq / X.shape[0] - mean**2, 0.0)
        self.mean_ = mean.astype(np.float32)
        # A constant feature carries no information; a unit scale keeps it harmless.
        self.scale_ = np.where(var > 1e-12, np.sqrt(var), 1.0).astype(np.float32)
        return self

    def fit(self, X: np.ndarray, y: np.ndarray, random_state: int, sample_weight: np.ndarray | None = None) -> "Head":
        """Train on labelled rows ``X`` with boolean labels ``y`` (both classes needed)."""
        y = np.asarray(y, dtype=bool)
        if y.all() or not y.any():
            raise InputError("the head needs at least one positive and one negative label to train")
        if self.mean_ is None:
            self.prepare(X)
        if is_sparse(X):  # one factor for every term (see prepare), so the rows stay sparse
            Xs = float_rows(X) * np.float32(1.0 / self.scale_[0])
        else:
            Xs = (float_rows(X) - self.mean_) / self.scale_
        with one_blas_thread(), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            coefs, intercepts = self._fit_layers(Xs, y, int(random_state), sample_weight)
        w0 = np.asarray(coefs[0], np.float32)
        # Fold the standardisation into the first layer: ((x - m) / s) W = x (W / s) - (m / s) W.
        self.weights_ = [w0 / self.scale_[:, None]] + [np.asarray(w, np.float32) for w in coefs[1:]]
        self.biases_ = ([np.asarray(intercepts[0], np.float32) - (self.mean_ / self.scale_) @ w0]
                        + [np.asarray(b, np.float32) for b in intercepts[1:]])
        return self

    @abstractmethod
    def _fit_layers(self, Xs, y, random_state: int, sample_weight) -> tuple[list, list]:
        """The trained network on standardised inputs: (weight matrices, bias vectors), last layer (h, 1)."""

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """The logit of "positive" for every row, chunked float32."""
        if not self.is_fitted:
            raise InputError("the head is not trained yet")
        out = np.empty(X.shape[0], np.float32)
        chunk = self.chunk_rows

        def score(a, b):
            for start in range(a, b, chunk):
                h = float_rows(X[start : min(start + chunk, b)]) @ self.weights_[0]
                h += self.biases_[0]
                for w, bias in zip(self.weights_[1:], self.biases_[1:]):
                    np.maximum(h, 0.0, out=h)
                    h = h @ w + bias
                out[start : start + h.shape[0]] = h[:, 0]

        map_ranges(score, row_ranges(X.shape[0], cpu_count(), chunk))
        return out

    def confidence(self, X: np.ndarray) -> np.ndarray:
        """``2 p - 1`` in [-1, +1], where ``p`` is the probability of "positive"."""
        # 2 * sigmoid(z) - 1 == tanh(z / 2), without overflow for large |z|.
        return np.tanh(self.decision_function(X) / 2.0)

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}
