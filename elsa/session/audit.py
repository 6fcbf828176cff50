"""A session's audit sample and the recall certificate and estimates drawn from it.

The audit is a prefix of one random permutation of the pool (as
:class:`~elsa.stopping.AuditSample` draws it in ``elsa simulate``), hidden from the search;
a session grows it with each round, by ``audit_share`` of the round's size, until a
``recall:R@C`` certificate's target set is complete. The certificate itself is the
simulation's: :class:`~elsa.stopping.CertifiedStop` on the audit answers so far.
"""

from __future__ import annotations

import math

import numpy as np

from ..state import POSITIVE
from ..stopping import AuditAnswers, AuditSample, CertifiedStop, audit_estimate, make_rule, parse_stop

_STREAM = 3  # the audit order: numpy.random.default_rng([random_state, 0, 3])


class SessionAudit:
    """The audit of the session stored in ``store`` with ``settings`` over a pool of ``n`` items."""

    ROUND = 50  # random checks per round once the search has nothing left to propose

    def __init__(self, store, settings: dict, n: int):
        self.store, self.settings, self.n = store, settings, n
        self._order = None

    def order(self) -> np.ndarray:
        """The order the audit draws items in: one random permutation of the pool."""
        if self._order is None:
            rng = np.random.default_rng([self.settings["random_state"], 0, _STREAM])
            self._order = AuditSample(self.n, rng).order
        return self._order

    def draw(self, db, round_id: int, round_size: int, *, size: int | None = None) -> int:
        """Add ``audit_share`` of the round's size of audit items to it (or ``size`` items);
        none once a recall certificate's target set is complete. Returns how many of them
        wait for an answer."""
        share = self.settings.get("audit_share") or 0.0
        if share <= 0 and size is None:
            return 0
        drawn, positives = self.store.audit_status(db)
        n_targets = self.settings.get("audit_positives")
        if n_targets and positives >= n_targets:
            return 0
        k = size if size is not None else int(math.ceil(share * round_size))
        return self.store.add_audit(db, self.order()[drawn : drawn + k], round_id, drawn)

    def rule(self, audit=None):
        """The session's stopping rule (:func:`elsa.stopping.make_rule`), on the audit answers so far."""
        spec = parse_stop(self.settings["stop"]) if self.settings.get("stop") else None
        if spec is not None and spec.kind == "budget":  # the session's budget holds it (set_budget may raise it)
            return None
        if spec is None or spec.kind != "recall":
            return make_rule(spec)
        ids, labels = self.store.audit_answers() if audit is None else audit
        return make_rule(spec, AuditAnswers(ids, labels), self.settings["audit_positives"])

    def certificate(self, answers, audit=None) -> dict | None:
        """For a ``recall:R@C`` stop: the target set so far and how many of it the search found."""
        rule = self.rule(audit)
        return rule.certificate(answers) if isinstance(rule, CertifiedStop) else None

    def estimate(self, answers, audit=None) -> dict:
        """The recall estimates available now: ``audit`` (from the audit items) and ``quant``
        (from the head's probabilities at the last round), as :class:`RecallEstimate` dicts."""
        found = int((answers == POSITIVE).sum())
        out = {}
        ids, labels = self.store.audit_answers() if audit is None else audit
        if ids.size:
            out["audit"] = audit_estimate(ids, labels, answers != 0, found).as_dict()
        if self.settings.get("quant"):
            out["quant"] = self.settings["quant"]
        return out

    def final_reason(self, reason: str, state) -> str | None:
        """Why the session ends, now that the search has nothing more to propose for ``reason``;
        None while a recall certificate's target set is incomplete and the pool has items
        left to audit (the session then asks for :attr:`ROUND` audit items alone)."""
        c = self.certificate(state.answers)
        if c is None:
            return reason
        if c["in_sample"] < c["n"] and self.store.audit_size() < self.n:
            return None
        if c["certified"]:
            return self.rule().check(state, ())
        return (f"{reason}; recall {c['target']:g} not certified: the search found {c['found']} of the "
                f"{c['in_sample']} audit positives, {c['j']} were needed")
