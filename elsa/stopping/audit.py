"""The audit sample: uniformly random items labelled apart from the search, and hidden from it.

An audit sample is a prefix of one random permutation of the pool, so after ``m``
draws it is a simple random sample of ``m`` items, and the positives in it are a simple
random sample of the pool's positives. Both estimates and certificates rest on the
search not seeing it: its labels are never passed to the search (not trained on, not
searched around, not excluded from proposals). The search may still propose an audit
item later; it is then answered like any other (in a labelling session the answer is
copied from the audit, so nobody labels it twice).

Choice: the issue also allows stratifying the audit by head score with known stratum
weights. Only the simple random sample is implemented: strata drawn from a head that
changes every epoch would need the weights fixed at one epoch, which a search that
runs for hundreds of epochs cannot keep honest without redrawing.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_generator, check_int


class AuditAnswers:
    """Audit items in the order they were drawn and their answers (True: positive): what a
    certificate reads (:class:`~elsa.stopping.CertifiedStop`). A labelling session's audit
    answers so far are one (a prefix of its audit order, less the unsure);
    :class:`AuditSample` is one that draws and labels its own items."""

    def __init__(self, ids, labels):
        self.ids = np.asarray(ids, np.int64)
        self.labels = np.asarray(labels, bool)

    @property
    def size(self) -> int:
        return int(self.labels.size)

    @property
    def positive_ids(self) -> np.ndarray:
        return self.ids[self.labels]


class AuditSample(AuditAnswers):
    """A simple random sample of the pool, drawn in a fixed random order as it grows.

    Parameters
    ----------
    n : int
        Pool size.
    random_state : int, Generator or None
        Fixes the order in which items enter the sample.
    """

    def __init__(self, n: int, random_state=None):
        self.n = check_int(n, "pool size", minimum=1)
        self.order = as_generator(random_state).permutation(self.n)
        self.labels = np.zeros(0, bool)  # answers for order[:size]

    @property
    def ids(self) -> np.ndarray:
        return self.order[: self.size]

    def extend(self, k: int, oracle) -> np.ndarray:
        """Label the next ``k`` items of the order (fewer at the end of the pool); returns them."""
        k = check_int(k, "audit items", minimum=0)
        new = self.order[self.size : self.size + k]
        if new.size:
            self.labels = np.concatenate([self.labels, np.asarray(oracle.label(new), bool)])
        return new

    def extend_until(self, positives: int, oracle, *, step: int = 256) -> int:
        """Label items in order until the sample holds ``positives`` positives (or the pool
        runs out); returns the number of items labelled. The sample ends at the item that
        completed the count, so its size does not depend on ``step``."""
        positives = check_int(positives, "audit positives", minimum=1)
        start = self.size
        while int(self.labels.sum()) < positives and self.size < self.n:
            self.extend(step, oracle)
        hits = np.flatnonzero(self.labels)
        if hits.size >= positives:
            self.labels = self.labels[: hits[positives - 1] + 1]
        return self.size - start

