"""A session's search, driven one oracle call at a time.

Before each round the search's state is rebuilt from the session file
(:meth:`~elsa.search.ActiveSearch.resume`), the search takes its next step
(:meth:`~elsa.search.ActiveSearch.next_step`, after retraining the scorer where the loop
would), and the round is written with the random generator's state, so a session that
was killed and reopened proposes exactly the rounds an uninterrupted one would. (A
session file from before the generator was saved, format 2, continues from a stream of
its own.)

Checks (:mod:`elsa.session.checks`): a share of every new round goes to a second labeller,
drawn when the round is written; the search's second looks are rounds of kind ``check``;
the items answered twice reach the search as votes (:class:`~elsa.search.reliability.Votes`),
and the second labellers' answers are spent from the budget. (A rebuilt search counts no
second look as a correction, :attr:`~elsa.state.SearchState.corrected`: where two answers
disagree the search weighs both instead of taking the second.)
"""

from __future__ import annotations

import logging

import numpy as np

from .._validation import check_int
from ..search import run_streams
from ..search.streams import load_generator, save_generator
from ..state import NEGATIVE, POSITIVE, SearchState
from ..stopping import quant_from_state
from .checks import CheckRecords

log = logging.getLogger("elsa.session")


class SearchDriver:
    """The search over the session in ``store`` (its ``settings``, writes through ``ledger``,
    random checks and certificates in ``audit``) on the pool ``X`` with ``index``;
    ``described``: the target's words as a positive row, or None."""

    def __init__(self, store, ledger, settings: dict, search, audit, X, index, described, checks):
        self.store, self.ledger, self.settings, self.search, self.audit = store, ledger, settings, search, audit
        self.checks = checks
        self.X, self.index, self.described = X, index, described
        stream = run_streams(settings["random_state"])[0].search
        search.prepare(self.state(), stream)
        self._first = save_generator(stream)  # where the first round's draws start

    def state(self, last: dict | None = None) -> SearchState:
        """The search's state now (:meth:`ActiveSearch.resume` from the session file); ``last``:
        :meth:`Store.last_round`, when the caller has it."""
        with self.store.lock:
            answers = self.store.label_codes(self.X.shape[0], search_view=True)
            last = self.store.rounds.last_round() if last is None else last
            page = last if last is None or last["kind"] != "check" else self.store.rounds.last_round(pages_only=True)
            epochs_done = self.store.rounds.count_rounds("epoch")
            if page is not None:
                frontier = np.array(page["items"] + self.store.positives_given_after(page["after_event"]), np.int64)
                frontier = np.unique(frontier[answers[frontier] == POSITIVE]) if frontier.size else frontier
            else:
                frontier = np.flatnonzero(answers == POSITIVE)
            proposals = self.store.rounds.proposals()
            final_done = self.store.rounds.final_done()
            votes, doubles = self.checks.votes()
        return self.search.resume(self.X, self.index, answers, proposals, frontier, epochs_done, final_done=final_done,
                                  stalled=bool(self.settings.get("no_candidates")), examples=self.described,
                                  votes=votes, extra_labels=doubles)

    def _generator(self, last: dict | None) -> np.random.Generator:
        """The search's random generator where the last round left it."""
        if last is None:
            return load_generator(self._first)
        if last["rng"] is not None:
            return load_generator(last["rng"])
        return np.random.default_rng([self.settings["random_state"], last["round"]])  # a format-2 session

    def next_round(self) -> None:
        """Compute the next round and write it (or the reason the search stops, or a round of
        audit items alone): the state from the file, :meth:`ActiveSearch.next_step`, one write."""
        with self.store.lock:  # one consistent view: no answer or seed lands between these reads
            last = self.store.rounds.last_round()
            state = self.state(last)
            after = self.store.last_event()
        if self.settings.get("hand_over") is not None and not self.audit.waiting(state):  # after it: random checks
            return self._finish(self.settings["hand_over"]["reason"], state, after)
        rng = self._generator(last)
        timings, quant = {}, None
        # As the loop does after an epoch's answers; and after a final search when the session
        # was extended with more epochs, or before the first round when labels were imported
        # (which a simulation never has: it starts from seeds alone).
        if state.queries:  # the labeller model's beliefs and the disputed answers', before the scorer reads them
            self.search.weigh(state)
        if (last is not None and (last["kind"] == "epoch" or state.phase == "epochs")) or (
                last is None and (state.answers == NEGATIVE).any()):
            timings.update(self.search.update_scores(state, rng))
            estimate = quant_from_state(state) if self.search.scorer is not None else None
            quant = None if estimate is None else estimate.as_dict()
        step = self.search.next_step(state, rng, stop=self.audit.rule(self.search.positives_left),
                                     curve=self.store.rounds.search_curve())
        if state.ended == "no candidates" and not self.settings.get("no_candidates"):
            self.ledger.set_meta({"no_candidates": True})
        if step.kind == "stop":
            if step.reason in ("epochs", "no candidates") or self.audit.audits_after_search:
                return self._finish(step.reason, state, after)
            return self._stop(step.reason)
        chosen = step.selection
        timings.update(chosen.seconds)
        if step.kind == "check":  # second looks: answered items, asked again
            with self.ledger.write("save the second looks") as db:
                self.ledger.pending += CheckRecords.add_second_looks(db, state.epoch, after, chosen.ids, timings,
                                                                     save_generator(rng))
            return
        with self.ledger.write("save the next round") as db:
            round_id, kept, waiting = self.store.rounds.add_round(db, step.kind, state.epoch, after, chosen.ids,
                                                           chosen.owners, chosen.sources, timings,
                                                           save_generator(rng))
            if not kept:  # everything was labelled while this round was computed: compute afresh
                return
            self.ledger.pending += waiting
            self.ledger.pending += self.audit.draw(db, round_id, kept)
            CheckRecords.add_doubles(db, round_id, self.store.rounds.round_items(db, round_id),
                                     float(self.settings.get("double_share") or 0.0), self.settings["random_state"],
                                     None if state.budget_left is None else state.budget_left - kept)
            values = {"quant": quant} if quant is not None else {}
            values["positives_left"] = self.search.positives_left()  # the model estimate's, for the page and reopening
            self.store.set_meta(db, values)
            self.settings.update(values)
        log.info("round (%s, epoch %s): %d items %s", step.kind, state.epoch, kept, chosen.sources)

    def extend(self, epochs: int) -> None:
        """Allow ``epochs`` more epochs (and another final search), also after the search finished."""
        epochs = check_int(epochs, "epochs", minimum=1)
        done = self.store.rounds.count_rounds("epoch")
        limit = self.settings["epochs"]  # None: no limit, which more epochs do not change
        self.ledger.set_meta({"epochs": None if limit is None else max(limit, done) + epochs, "stop_reason": None,
                              "no_candidates": False})
        self.search.epochs = self.settings["epochs"]

    def set_budget(self, budget: int | None) -> None:
        """Change the label budget (None: no limit); a search stopped by its budget may go on."""
        budget = None if budget is None else check_int(budget, "budget", minimum=1)
        values = {"budget": budget}
        if self.settings.get("stop_reason") == "budget":
            values["stop_reason"] = None
        self.ledger.set_meta(values)
        self.search.budget = budget

    def _finish(self, reason: str, state, after: int) -> None:
        """The search has nothing more to propose: stop, or first complete a recall certificate's
        target set with rounds of audit items alone (:meth:`SessionAudit.final_reason`)."""
        final = self.audit.final_reason(reason, state)
        if final is not None:
            return self._stop(final)
        with self.ledger.write("save the audit round") as db:
            self.ledger.pending += self.audit.draw(db, self.store.rounds.add_audit_round(db, state.epoch, after), 0,
                                              size=self.audit.ROUND)

    def _stop(self, reason: str) -> None:
        self.ledger.set_meta({"stop_reason": reason})
