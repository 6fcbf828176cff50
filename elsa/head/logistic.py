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

from sklearn.linear_model import LogisticRegression

from .._validation import check_float, check_int
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
        model.fit(Xs, y, sample_weight=sample_weight)
        return [model.coef_.T], [model.intercept_]
