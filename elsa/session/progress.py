"""What a labelling session reports: the items waiting for an answer, and how far it has come."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_int
from .checks import CheckRecords
from .labels import OUTSIDE

STOP_MESSAGES = {
    "knee": "the knee rule says the search has stopped finding positives",
    "budget": "the label budget is spent",
    "epochs": "all epochs and the final search are done",
    "no candidates": "the search has nothing left to propose",
}


@dataclass
class Batch:
    """The items waiting for an answer, oldest round first, each round in priority order."""

    ids: np.ndarray
    names: list[str]
    rounds: np.ndarray  # the round each item belongs to
    kind: str  # kind of the newest round ("epoch" or "final"), or "" when nothing is pending

    def __len__(self) -> int:
        return int(self.ids.size)


@dataclass
class Progress:
    target: str
    strategy: str
    epoch: int
    epochs: int | None  # None: no limit (a stopping rule ends the session)
    budget: int | None
    queries: int  # items proposed by the search (charged to the budget)
    labels: int  # of those, answered; and the second answers to checks (elsa.session.checks), also charged
    found: int  # positives among the answered proposals (seeds excluded)
    seeds: int  # positives supplied by the person (initial, added, imported)
    unsure: int
    pending: int
    status: str  # labelling | searching | done | error
    message: str
    curve: list[tuple[int, int]] = field(default_factory=list)  # (answers, positives) along the session
    stop: str | None = None  # the stopping rule, as given
    audit: int = 0  # audit items answered (random checks, hidden from the search)
    estimate: dict | None = None  # the recall estimate shown (RecallEstimate.as_dict())
    certificate: dict | None = None  # recall:R@C, audit:R@C or qbcb:R@C: SessionAudit.certificate

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def answer_curve(labels: list[str], points: int = 400) -> list[tuple[int, int]]:
    """(answers, positives) along the answers to the search's proposals, from (0, 0), thinned
    to about ``points`` points and always ending at the last answer."""
    labels = np.asarray(labels)
    found = np.cumsum(labels == "positive") if labels.size else np.zeros(0, int)
    step = max(1, labels.size // points)
    curve = [(0, 0)] + [(int(i + 1), int(found[i])) for i in range(step - 1, labels.size, step)]
    if labels.size and curve[-1][0] != labels.size:
        curve.append((int(labels.size), int(found[-1])))
    return curve


class Reports:
    """What a session reports, read from its ``store``, its ``settings`` and its ``audit``
    (:attr:`Session.reports <elsa.session.Session>`; the session forwards its methods)."""

    def __init__(self, store, settings: dict, audit):
        self.store, self.settings, self.audit = store, settings, audit
        self.checks = CheckRecords(store.query)

    def progress(self, answers: np.ndarray, status: str, message: str, pending: int) -> Progress:
        """Where the session stands, with the search's view of the labels ``answers``, its
        ``status`` and ``message``, and the items ``pending``."""
        labels = self.store.rounds.answered_proposals()
        counts = self.store.positives_by_origin()
        audit = self.store.rounds.audit_answers()
        estimates = self.audit.estimate(answers, audit)
        epochs = self.settings["epochs"]
        return Progress(
            target=self.settings["target"], strategy=self.settings["strategy"], epoch=self.store.rounds.count_rounds("epoch"),
            epochs=epochs, budget=self.settings["budget"],
            queries=int(self.store.rounds.proposed_items().size),
            labels=len(labels) + self.checks.count_answered(),
            found=sum(lab == "positive" for lab in labels),
            seeds=int(sum(counts.get(o, 0) for o in ("seed", "import", *OUTSIDE))),
            unsure=int(self.unsure_items().size), pending=pending, status=status, message=message,
            curve=answer_curve(labels), stop=self.settings.get("stop"), audit=len(audit[0]),
            # the unbiased one when there is an audit, else the search's own model, else Quant
            estimate=estimates.get("audit") or estimates.get("model") or estimates.get("quant"),
            certificate=self.audit.certificate(answers, audit),
        )

    def unsure_items(self) -> np.ndarray:
        return self.store.items_labelled("unsure")

    def positive_items(self) -> np.ndarray:
        """Every known positive: seeds, imported and answered, in the order they became positive."""
        return self.store.items_labelled("positive")

    def examples(self, limit: int = 8) -> list[tuple[int, str]]:
        """What the target looks like: ``[(item, "seed" | "found")]``, the positives the person
        gave (seeds, imported, answered outside the search, as :meth:`progress` counts
        seeds) first, then the first positives the search found, each in the order they
        became positive."""
        given = ("seed", "import", *OUTSIDE)
        rows = self.store.examples(given, check_int(limit, "limit", minimum=0))
        return [(int(i), "seed" if origin in given else "found") for i, origin in rows]

    def item_labels(self, items) -> dict[int, dict]:
        """Current label, event, who and when for ``items`` (unlabelled ones are absent)."""
        return self.store.item_labels(items)

    def shown_rounds(self) -> tuple[list[int], list[tuple[int, str]]]:
        """What a labelling page shows: the rounds with items waiting (else the last round), and
        their items in order as ``(item, source)``, the search's first, then the audit's."""
        return self.store.rounds.shown_rounds()

    def search_curve(self) -> list[tuple[int, int]]:
        """(queries, positives found) after each round the person has finished answering."""
        return self.store.rounds.search_curve()
