"""``recall:R@C`` in a session: the sample after the hand-over, and the race between the
search and a longer sample (:mod:`elsa.stopping.sample_wait`).

The hand-over is recorded as for ``audit:R@C`` (:meth:`~elsa.session.audit.SessionAudit.hand_over`),
and the sample is the audit order's prefix: the items unlabelled at the hand-over in one
random order, shown a page at a time as random checks, hidden from the search. While
:meth:`~elsa.stopping.sample_wait.SampleCertificate.move` says ``sample`` the session
shows the next page of checks; while it says ``search`` the search proposes pages as
before, without the checks' answers (an item it proposes that was checked takes the
check's answer: nobody is asked twice). The race's clock, the search's labels since
the sample last met a positive, is kept in ``meta["sample_stage"]`` (the sample's
positives and the search's labels when it started), so a reopened session makes the
same moves.
"""

from __future__ import annotations

import numpy as np

from ..state import NEGATIVE, POSITIVE, UNSURE
from ..stopping.base import certified_reason
from ..stopping.sample_wait import SampleCertificate, SampleHandOver, SampleWait

_CODES = {"positive": POSITIVE, "negative": NEGATIVE, "unsure": UNSURE}


class SessionSample:
    """The sample and the race of the session whose audit is ``audit`` (a
    :class:`~elsa.session.audit.SessionAudit`: its store, settings, spec and order)."""

    def __init__(self, audit):
        self.audit = audit
        self._cert: SampleCertificate | None = None

    @property
    def settings(self) -> dict:
        return self.audit.settings

    def cert(self) -> SampleCertificate:
        """The bound for the recorded hand-over."""
        if self._cert is None:
            h, spec = self.settings["hand_over"], self.audit.spec
            self._cert = SampleCertificate(h["unlabelled"], h["found"], spec.target, spec.confidence, h["unsure"])
        return self._cert

    def wait(self, queries: int | None = None) -> SampleWait:
        """The sample's answered prefix; with ``queries`` (the search's labels now), the
        race's clock read (and restarted if the sample met a new positive)."""
        labels = self.audit.store.rounds.audit_labels_in_order()
        m = next((i for i, lab in enumerate(labels) if lab is None), len(labels))
        codes = np.array([_CODES[lab] for lab in labels[:m]], np.int8)
        wait = SampleWait(self.cert(), self.audit.final_order()[:m], codes)
        if queries is not None:
            wait.searched = self._clock(int(wait.positives.size), int(queries))
        return wait

    def _clock(self, positives: int, queries: int) -> int:
        stage = self.settings.get("sample_stage")
        if stage is None or stage["positives"] != positives:
            stage = {"positives": positives, "queries": queries}
            with self.audit.store.transaction("save the sample's race") as db:
                self.audit.store.set_meta(db, {"sample_stage": stage})
            self.settings["sample_stage"] = stage
        return queries - stage["queries"]

    def waiting(self, state) -> bool:
        """Whether the search has the race's turn (after the hand-over)."""
        if self.settings.get("hand_over") is None or not self.cert().possible:
            return False
        return self.wait(state.queries).move(state.answers) == "search"

    def rule(self):
        """Before the hand-over, the hand-over rule; after it, the check that certifies
        after a search page."""
        if self.settings.get("hand_over") is None:
            return SampleHandOver(self.audit.spec.target, self.audit.spec.confidence)
        return self.wait()

    def certificate(self, answers) -> dict:
        spec = self.audit.spec
        if self.settings.get("hand_over") is None:
            found, unlabelled = int((answers == POSITIVE).sum()), int((answers == 0).sum())
            first = SampleCertificate(unlabelled, found, spec.target, spec.confidence,
                                      int((answers == UNSURE).sum())).first
            return {"method": "sample-wait", "phase": "search", "target": spec.target, "confidence": spec.confidence,
                    "labels_to_certificate": first}
        report = self.wait().report(answers)
        return {**report, "phase": "sample" if report["sample_labels"] < (self.cert().first or 0) else "race"}

    def final_reason(self, reason: str, state) -> str | None:
        """Why the session ends now, or None for the next page of the sample (the race says
        so, or the search has nothing more to propose)."""
        h = self.audit.hand_over(reason)
        cert = self.cert()
        if not cert.possible:
            return f"{h['reason']}; recall {cert.target:g} cannot be certified (no positive known)"
        wait = self.wait(state.queries)
        if wait.move(state.answers) == "certified":
            return certified_reason(cert.target, cert.confidence)
        if wait.ids.size >= cert.n:
            return f"{reason}; every item checked, recall {cert.target:g} not certified"
        return None
