"""The paper's active-learning head: a small MLP giving every item a confidence in [-1, +1].

The paper trains "an MLP head" after every epoch on all labelled positives and
negatives and reads a confidence between -1 and +1 from it (seed 000 says so
explicitly). Here it is scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`
(one hidden ReLU layer of 64 units, L-BFGS, L2 penalty ``alpha``), retrained from
scratch on every call to :meth:`fit`, with the confidence ``2 p - 1`` where ``p`` is
its probability of "positive". Standardisation, threads and chunked scoring are the
choices every head shares (:mod:`elsa.head.base`).
"""

from __future__ import annotations

from sklearn.neural_network import MLPClassifier

from .._validation import check_float, check_int
from .base import Head


class MLPHead(Head):
    """Binary MLP head over embeddings.

    Parameters
    ----------
    hidden : int
        Units in the hidden layer.
    alpha : float
        L2 penalty.
    max_iter : int
        L-BFGS iterations per fit.
    """

    def __init__(self, hidden: int = 64, alpha: float = 1e-4, max_iter: int = 200):
        super().__init__()
        self.hidden = check_int(hidden, "hidden", minimum=1)
        self.alpha = check_float(alpha, "alpha", minimum=0.0)
        self.max_iter = check_int(max_iter, "max_iter", minimum=1)

    def _fit_layers(self, Xs, y, random_state, sample_weight):
        model = MLPClassifier(hidden_layer_sizes=(self.hidden,), solver="lbfgs", alpha=self.alpha,
                              max_iter=self.max_iter, random_state=random_state)
        model.fit(Xs, y, sample_weight=sample_weight)  # scikit-learn >= 1.7
        return model.coefs_, model.intercepts_
