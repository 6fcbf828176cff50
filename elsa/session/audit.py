"""A session's audit sample and the recall certificate and estimates drawn from it.

Three designs, one per certified stop:

* ``recall:R@C`` (:mod:`elsa.stopping.sample_wait`): the hand-over and the audit order as
  ``audit:R@C`` below; the race after it is :class:`~elsa.session.sample.SessionSample`'s.
* ``audit:R@C`` (:mod:`elsa.stopping.audited`): the search runs until it hands over; the
  session then records the hand-over (the last label event before it, the positives
  known and the items unlabelled, in ``meta["hand_over"]``) and shows rounds of audit
  items alone: the items unlabelled at the hand-over, in the order of one random
  permutation of the pool, until the certificate holds. A reopened session rebuilds
  the same order from the random state and the hand-over event, so it certifies the same.
  An audit item answered "unsure" counts as a positive the search missed (the
  conservative reading).
* ``qbcb:R@C`` (``recall:R@C`` before session format 4): the audit is a prefix of one random permutation of the pool (as
  :class:`~elsa.stopping.AuditSample` draws it in ``elsa simulate``), hidden from the
  search; a session grows it with each round, by ``audit_share`` of the round's size,
  until the certificate's target set is complete. The certificate itself is the
  simulation's: :class:`~elsa.stopping.CertifiedStop` on the audit answers so far.
"""

from __future__ import annotations

import math

import numpy as np

from ..state import POSITIVE, UNSURE
from ..stopping import AuditAnswers, AuditSample, CertifiedStop, StopSpec, audit_estimate, model_estimate
from ..stopping.rules import BudgetSpec, QBCBSpec
from ..stopping.audited import Audit
from ..stopping.base import certified_reason
from .sample import SessionSample

_STREAM = 3  # the audit order: numpy.random.default_rng([random_state, 0, 3])


class SessionAudit:
    """The audit of the session stored in ``store`` with ``settings`` over a pool of ``n`` items."""

    ROUND = 50  # recall:R@C: random checks per round once the search has nothing left to propose
    PAGE = 10  # audit:R@C: random checks per page after the hand-over (elsa simulate reads its certificate as often)

    def __init__(self, store, settings: dict, n: int, spec: StopSpec | None):
        self.store, self.settings, self.n = store, settings, n
        self._order = None
        self._final_order = None
        self._last = None  # (sizes, Audit): see _audit
        self.spec = spec  # the plan's stopping rule
        self.samples = spec is not None and "sample" in spec.phases
        self.audits_after_search = spec is not None and len(spec.phases) > 1
        self.sample = SessionSample(self) if self.samples else None

    def waiting(self, state) -> bool:
        """Whether ``recall:R@C``'s race has given the search its turn after the hand-over."""
        return self.samples and self.sample.waiting(state)

    # --- audit:R@C, the audit after the search ---------------------------------------------

    def _audit(self, unlabelled: int, found: int, unsure: int = 0) -> Audit:
        """The audit for these sizes; the last one is kept (the search phase asks with new
        sizes every page, the audit phase always with the hand-over's)."""
        key = (unlabelled, found, unsure)
        if self._last is None or self._last[0] != key:
            self._last = (key, Audit(unlabelled, found, self.spec.target, self.spec.confidence, unsure))
        return self._last[1]

    def _final_audit(self) -> Audit:
        h = self.settings["hand_over"]
        return self._audit(h["unlabelled"], h["found"], h["unsure"])

    def hand_over(self, reason: str) -> dict:
        """Record the hand-over (once) and return it: the last label event before it, the
        positives known, the items answered unsure, the items unlabelled, and why the search
        ended."""
        if self.settings.get("hand_over") is None:
            codes = self.store.label_codes(self.n)
            h = {"event": self.store.last_event(), "found": int((codes == POSITIVE).sum()),
                 "unsure": int((codes == UNSURE).sum()), "unlabelled": int((codes == 0).sum()), "reason": reason}
            with self.store.transaction("save the hand-over to the audit") as db:
                self.store.set_meta(db, {"hand_over": h})
            self.settings["hand_over"] = h
        return self.settings["hand_over"]

    def final_order(self) -> np.ndarray:
        """The items unlabelled at the hand-over, in the pool permutation's order."""
        if self._final_order is None:
            h = self.settings["hand_over"]
            labelled = np.zeros(self.n, bool)
            labelled[self.store.labelled_at(h["event"])] = True
            order = self.order()
            self._final_order = order[~labelled[order]]
            if self._final_order.size != h["unlabelled"]:
                raise RuntimeError(f"the session's hand-over recorded {h['unlabelled']} unlabelled items but its "
                                   f"label events give {self._final_order.size}")
        return self._final_order

    def final_answers(self) -> tuple[int, int, int]:
        """The audit's answered prefix: (labels, positives, unsure)."""
        labels = self.store.rounds.audit_labels_in_order()
        m = next((i for i, lab in enumerate(labels) if lab is None), len(labels))
        done = labels[:m]
        return m, sum(lab == "positive" for lab in done), sum(lab == "unsure" for lab in done)

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
        if self.audits_after_search:  # a page of the audit after the hand-over, as elsa simulate reads it
            drawn = self.store.rounds.audit_size()
            return self.store.rounds.add_audit(db, self.final_order()[drawn : drawn + self.PAGE], round_id, drawn)
        drawn, positives = self.store.rounds.audit_status(db)
        n_targets = self.settings.get("audit_positives")
        if n_targets and positives >= n_targets:
            return 0
        k = size if size is not None else int(math.ceil(share * round_size))
        return self.store.rounds.add_audit(db, self.order()[drawn : drawn + k], round_id, drawn)

    def rule(self, left=None, audit=None):
        """The session's stopping rule (:meth:`~elsa.stopping.rules.StopSpec.search_rule`), on the audit answers
        so far; ``estimate:R`` reads the search's ``left`` (its
        :meth:`~elsa.search.ActiveSearch.positives_left`)."""
        spec = self.spec
        if spec is None or isinstance(spec, BudgetSpec):  # the session's budget holds it (set_budget may raise it)
            return None
        if self.samples:
            return self.sample.rule()
        if not isinstance(spec, QBCBSpec):  # knee, audit:R@C's hand-over or estimate:R
            return spec.search_rule(left=left or (lambda: self.settings.get("positives_left") or {}))
        ids, labels = self.store.rounds.audit_answers() if audit is None else audit
        return spec.search_rule(AuditAnswers(ids, labels), self.settings["audit_positives"])

    def certificate(self, answers, audit=None) -> dict | None:
        """For ``recall:R@C``: the target set so far and how many of it the search found. For
        ``audit:R@C``: before the hand-over, the audit labels a hand-over now would need
        if the audit found no positive (``labels_to_certificate``); after it,
        :meth:`Audit.report` with ``describe``, the line to show."""
        if self.samples:
            return self.sample.certificate(answers)
        if self.audits_after_search:
            h = self.settings.get("hand_over")
            if h is None:
                found, unlabelled = int((answers == POSITIVE).sum()), int((answers == 0).sum())
                needed = self._audit(unlabelled, found, int((answers == UNSURE).sum())).labels_needed(0)
                return {"method": "audit", "phase": "search", "target": self.spec.target,
                        "confidence": self.spec.confidence, "labels_to_certificate": needed}
            audit_ = self._final_audit()
            m, k, u = self.final_answers()
            return {**audit_.report(m, k, u), "phase": "audit", "describe": audit_.describe(m, k, u)}
        rule = self.rule(audit=audit)
        return rule.certificate(answers) if isinstance(rule, CertifiedStop) else None

    def export_record(self) -> dict | None:
        """What an export carries for a certified stop: the rule, where its certificate
        stands, and the labels so far; None without one."""
        if self.spec is None or not self.spec.certified:
            return None
        codes = self.store.label_codes(self.n)
        certificate = self.certificate(self.store.label_codes(self.n, search_view=True))
        return {"stop": str(self.spec), "method": self.spec.method,
                "target": self.spec.target, "confidence": self.spec.confidence,
                "labels": int((codes != 0).sum()), "positives": int((codes == POSITIVE).sum()),
                "stop_reason": self.settings.get("stop_reason"), "certificate": certificate}

    def estimate(self, answers, audit=None) -> dict:
        """The recall estimates available now: ``audit`` (from the audit items), ``quant``
        (from the head's probabilities at the last round) and ``model`` (the default
        search's own, :func:`~elsa.stopping.model_estimate`, at the last round), as
        :class:`RecallEstimate` dicts."""
        found = int((answers == POSITIVE).sum())
        out = {}
        ids, labels = self.store.rounds.audit_answers() if audit is None else audit
        if ids.size:
            out["audit"] = audit_estimate(ids, labels, answers != 0, found).as_dict()
        if self.settings.get("quant"):
            out["quant"] = self.settings["quant"]
        model = model_estimate(self.settings.get("positives_left") or {}, found)
        if model is not None:
            out["model"] = model.as_dict()
        return out

    def final_reason(self, reason: str, state) -> str | None:
        """Why the session ends, now that the search has nothing more to propose for ``reason``;
        None while a recall certificate's target set is incomplete and the pool has items
        left to audit (the session then asks for :attr:`ROUND` audit items alone)."""
        if self.samples:
            return self.sample.final_reason(reason, state)
        if self.audits_after_search:
            h = self.hand_over(reason)
            audit_ = self._final_audit()
            m, k, u = self.final_answers()
            if audit_.certified(m, k, u):
                return certified_reason(audit_.target, audit_.confidence)
            if self.store.rounds.audit_size() >= h["unlabelled"]:  # drawn to the end, and nothing waits
                return f"{h['reason']}; every item labelled, recall {audit_.target:g} not certified"
            return None
        c = self.certificate(state.answers)
        if c is None:
            return reason
        if c["in_sample"] < c["n"] and self.store.rounds.audit_size() < self.n:
            return None
        if c["certified"]:
            return self.rule().check(state, ())
        return (f"{reason}; recall {c['target']:g} not certified: the search found {c['found']} of the "
                f"{c['in_sample']} audit positives, {c['j']} were needed")
