"""A labelling session: a person is the oracle, every answer is saved the moment it is given.

The search is the same :class:`~elsa.search.ActiveSearch` that ``elsa simulate`` runs,
driven one oracle call at a time. A *round* is one oracle call: the batch of an epoch
(NN around the frontier plus the exploration sampler) or the final search. A round is
written to the session file when it is proposed; the person answers its items in any
order; when no proposed item is left unanswered the next round is computed (in a
background thread for the web app, or on the next :meth:`Session.next_batch` call).

Each round takes the same steps as ``elsa simulate``'s loop
(:meth:`~elsa.search.ActiveSearch.next_step`, after retraining the scorer on the answers
to an epoch), with the same stopping rules, drawing from the same random stream: repeat
0's search stream of ``random_state`` (:func:`elsa.search.run_streams`). So a session
answered as a simulated oracle would answer proposes exactly the rounds ``elsa simulate``
asks about with the same random state.

Recomputed, never pickled: on opening, the search state is rebuilt from the label
events (answers, frontier, epoch, labels spent) and the head is retrained from them.
The random generator's state is saved with every round, so a session that was killed
and reopened proposes exactly the rounds an uninterrupted one would. (A session file
from before this was saved, format 2, continues from a stream of its own.)

Choices where the paper (a simulated oracle answering a whole batch at once) is silent:

* **Unsure** answers count as answered for the round and against the budget, are never
  proposed again and never trained on; they can be revisited (answered again with
  ``expect="unsure"``).
* **Frontier**: the positives among the last round's items (Algorithm 4, line 10), plus
  seeds added by hand since that round was proposed. Before the first round, every
  known positive.
* **Undo** returns an item to its previous label (or to unlabelled, and so back into the
  queue of items to answer). A round already proposed is not withdrawn when an answer
  it was computed from is undone; the next round uses the corrected labels.
* **Seeds** added during a session (by id or from a "more like this" search) are
  positives the person supplies, like the initial seeds: they are not oracle queries
  and are not charged to the budget.
* A round computed while the labels changed under it (an undo or a seed arriving
  during the computation) is kept, minus any item labelled meanwhile.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .._validation import check_int
from ..exceptions import InputError
from ..index import make_index
from ..search import DEFAULT_STRATEGY, make_strategy, run_streams
from ..search.streams import load_generator, save_generator
from ..state import NEGATIVE, POSITIVE, SearchState
from ..stopping import quant_from_state
from .answers import Answers
from .audit import SessionAudit
from .images import ItemImages
from .texts import ItemTexts, target_examples
from .progress import STOP_MESSAGES, Batch, Reports
from .setup import check_new_session, default_user, load_pool, start_session
from .store import DB_NAME, SessionLock, Store, no_session
from .worker import Background, Waiting

log = logging.getLogger("elsa.session")


class Session(Answers, Reports, Waiting):
    """A labelling session in a project directory. Open one with :meth:`create` or :meth:`open`.

    Typical use from Python::

        s = Session.create("proj", "emb.npy", target="cracked screws", seed_ids=[3, 17])
        batch = s.next_batch()
        s.answer(batch.ids[0], "positive")

    The object is thread-safe; the web app shares one between request threads.
    """

    def __init__(self, folder: Path, store: Store, lock: SessionLock, user: str | None):
        self.folder = folder
        self.store = store
        self._lock = lock
        self.user = user or default_user()
        meta = store.meta()
        self.settings = meta
        self.X, records, vocabulary = load_pool(meta)
        self.names = store.item_names()
        if len(self.names) != self.X.shape[0]:
            raise InputError(f"session file lists {len(self.names)} items but the pool has {self.X.shape[0]} rows")
        self.images = ItemImages(meta.get("images", {"kind": "none"}), self.names)
        self.texts = ItemTexts(records, self.X, vocabulary)
        self.described = target_examples(meta, vocabulary)  # the target's words as a positive row, or None
        self.index = make_index(self.X, meta.get("index", "auto"), random_state=meta["random_state"],
                                **meta.get("index_options", {}))
        self.search = make_strategy(meta["strategy"], epochs=meta["epochs"], budget=meta["budget"], **meta["params"])
        stream = run_streams(meta["random_state"])[0].search
        self.search.prepare(self._state(), stream)
        self._first = save_generator(stream)  # where the first round's draws start
        self._advance_lock = threading.Lock()
        self._background = Background(self)
        self.audit = SessionAudit(store, self.settings, len(self.names))
        self.status, self.message = "labelling", ""
        self.n_pending = store.count_pending()
        self._refresh_status()

    # --- opening ----------------------------------------------------------------------

    @classmethod
    def create(cls, folder, embeddings=None, *, records=None, text_columns=None, manifest=None, target: str = "",
               seed_ids=(), seed_items=(), strategy: str = DEFAULT_STRATEGY, epochs: int | str | None = "auto",
               budget: int | None = None,
               params: dict | None = None, random_state: int = 0, user: str | None = None, labels_from=None,
               stop: str | None = None, audit_share: float | None = None, audit_positives: int | None = None,
               index: str = "auto", index_options: dict | None = None) -> "Session":
        """Start a session in ``folder`` (created if needed) over the pool in ``embeddings`` (.npy,
        or a .npz of text features) or over text ``records``; every argument is checked before
        the session file is written. :func:`~elsa.session.setup.check_new_session` says what
        each one means."""
        new = check_new_session(
            embeddings, manifest=manifest, target=target, seed_ids=seed_ids, seed_items=seed_items,
            strategy=strategy, epochs=epochs, budget=budget, params=params, random_state=random_state,
            labels_from=labels_from, stop=stop, audit_share=audit_share, audit_positives=audit_positives,
            index=index, index_options=index_options, records=records, text_columns=text_columns,
        )
        folder = Path(folder)
        return start_session(folder, new, user or default_user(), lambda store, lock: cls(folder, store, lock, user))

    @classmethod
    def open(cls, folder, *, user: str | None = None) -> "Session":
        """Reopen the session in ``folder`` where it stopped."""
        folder = Path(folder)
        if not (folder / DB_NAME).exists():
            raise no_session(folder)
        lock = SessionLock(folder)
        try:
            return cls(folder, Store(folder / DB_NAME), lock, user)
        except BaseException:
            lock.release()
            raise

    def close(self) -> None:
        """Stop the background search (a round being computed is abandoned) and release the project."""
        self._background.close()
        if hasattr(self.index, "close"):  # a cluster backend's actors
            self.index.close()
        self.store.close()
        self._lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- the state, rebuilt from the session file ----------------------------------------

    def labels(self, *, search_view: bool = False) -> np.ndarray:
        """(n,) int8 of current labels: +1 positive, -1 negative, 2 unsure, 0 unlabelled.

        ``search_view``: only what the search may see: audit answers stay hidden until the
        search proposes the item itself.
        """
        return self.store.label_codes(self.X.shape[0], search_view=search_view)

    def _state(self, last: dict | None = None) -> SearchState:
        """The search's state now; ``last``: :meth:`Store.last_round`, when the caller has it."""
        meta = self.settings
        with self.store.lock:
            answers = self.labels(search_view=True)
            last = self.store.last_round() if last is None else last
            epochs_done = self.store.count_rounds("epoch")
            if last is not None:
                frontier = np.array(last["items"] + self.store.positives_given_after(last["after_event"]), np.int64)
                frontier = np.unique(frontier[answers[frontier] == POSITIVE]) if frontier.size else frontier
            else:
                frontier = np.flatnonzero(answers == POSITIVE)
            proposals = self.store.proposals()
            final_done = self.store.final_done()
        proposed = np.concatenate([p.ids for p in proposals]) if proposals else np.zeros(0, np.int64)
        stalled = bool(meta.get("no_candidates"))
        phase = "final" if stalled else "epochs"
        if final_done and (stalled or epochs_done >= meta["epochs"]):
            phase = "done"
        budget = meta["budget"]
        return SearchState(
            X=self.X, index=self.index, answers=answers, frontier=frontier, proposals=proposals,
            n_found=int((answers[proposed] == POSITIVE).sum()) if proposed.size else 0,
            queries=int(proposed.size), epoch=int(epochs_done),
            budget_left=None if budget is None else max(0, budget - int(proposed.size)),
            phase=phase, ended="no candidates" if stalled else "epochs", examples=self.described,
        )

    def pending(self) -> Batch:
        """Items waiting for an answer: the search's proposals, then the round's audit items."""
        rows = self.store.pending_rows()
        ids = np.array([r[0] for r in rows], np.int64)
        return Batch(ids, [self.names[i] for i in ids], np.array([r[1] for r in rows], np.int64),
                     rows[-1][2] if rows else "")

    @contextmanager
    def _write(self, doing: str):
        """A store transaction; if it fails, the in-memory count of pending items is recounted."""
        try:
            with self.store.transaction(doing) as db:
                yield db
        except BaseException:
            self.n_pending = self.store.count_pending()
            raise

    def finished(self) -> bool:
        """True once the search has nothing more to propose (epochs and final search done,
        budget spent, or no candidates left)."""
        return self.settings.get("stop_reason") is not None

    # --- the search ---------------------------------------------------------------------

    def advance(self) -> Batch:
        """Compute the next round if nothing is pending and the search is not finished.

        Returns the pending items afterwards (empty when the session is finished).
        """
        with self._advance_lock:
            batch = self.pending()
            if len(batch) or self.finished():
                return batch
            self.status, self.message = "searching", "choosing the next items to label"
            try:
                self._next_round()
            except BaseException:
                self.status = "error"
                raise
            self.status = "labelling"
            self._refresh_status()
            return self.pending()

    def _generator(self, last: dict | None) -> np.random.Generator:
        """The search's random generator where the last round left it."""
        if last is None:
            return load_generator(self._first)
        if last["rng"] is not None:
            return load_generator(last["rng"])
        return np.random.default_rng([self.settings["random_state"], last["round"]])  # a format-2 session

    def _next_round(self) -> None:
        with self.store.lock:  # one consistent view: no answer or seed lands between these reads
            last = self.store.last_round()
            state = self._state(last)
            after = self.store.last_event()
        if self.settings.get("hand_over") is not None and not self.audit.waiting(state):  # after it: random checks
            return self._finish(self.settings["hand_over"]["reason"], state, after)
        rng = self._generator(last)
        timings, quant = {}, None
        # As the loop does after an epoch's answers; and after a final search when the session
        # was extended with more epochs, or before the first round when labels were imported
        # (which a simulation never has: it starts from seeds alone).
        if (last is not None and (last["kind"] == "epoch" or state.phase == "epochs")) or (
                last is None and (state.answers == NEGATIVE).any()):
            timings.update(self.search.update_scores(state, rng))
            estimate = quant_from_state(state) if self.search.scorer is not None else None
            quant = None if estimate is None else estimate.as_dict()
        step = self.search.next_step(state, rng, stop=self.audit.rule(self.search.positives_left),
                                     curve=self.store.search_curve())
        if state.ended == "no candidates" and not self.settings.get("no_candidates"):
            self._set_meta({"no_candidates": True})
        if step.kind == "stop":
            if step.reason in ("epochs", "no candidates") or self.audit.audits_after_search:
                return self._finish(step.reason, state, after)
            return self._stop(step.reason)
        chosen = step.selection
        timings.update(chosen.seconds)
        with self._write("save the next round") as db:
            round_id, kept, waiting = self.store.add_round(db, step.kind, state.epoch, after, chosen.ids,
                                                           chosen.owners, chosen.sources, timings,
                                                           save_generator(rng))
            if not kept:  # everything was labelled while this round was computed: compute afresh
                return
            self.n_pending += waiting
            self.n_pending += self.audit.draw(db, round_id, kept)
            values = {"quant": quant} if quant is not None else {}
            values["positives_left"] = self.search.positives_left()  # the model estimate's, for the page and reopening
            self.store.set_meta(db, values)
            self.settings.update(values)
        log.info("round (%s, epoch %s): %d items %s", step.kind, state.epoch, kept, chosen.sources)

    def _finish(self, reason: str, state, after: int) -> None:
        """The search has nothing more to propose: stop, or first complete a recall certificate's
        target set with rounds of audit items alone (:meth:`SessionAudit.final_reason`)."""
        final = self.audit.final_reason(reason, state)
        if final is not None:
            return self._stop(final)
        with self._write("save the audit round") as db:
            self.n_pending += self.audit.draw(db, self.store.add_audit_round(db, state.epoch, after), 0,
                                              size=self.audit.ROUND)

    def _stop(self, reason: str) -> None:
        self._set_meta({"stop_reason": reason})

    def _set_meta(self, values: dict) -> None:
        with self._write("save the session settings") as db:
            self.store.set_meta(db, values)
        self.settings.update(values)

    # --- audit, estimates and stopping rules -------------------------------------------

    def certificate(self, answers=None, audit=None) -> dict | None:
        """For a ``recall:R@C`` or ``recall:R@C`` stop: where the certificate stands
        (:meth:`SessionAudit.certificate`; the search's view of the labels unless given)."""
        return self.audit.certificate(self.labels(search_view=True) if answers is None else answers, audit)

    def estimate(self, answers=None, audit=None) -> dict:
        """The recall estimates available now (:meth:`SessionAudit.estimate`)."""
        return self.audit.estimate(self.labels(search_view=True) if answers is None else answers, audit)

    def extend(self, epochs: int) -> None:
        """Allow ``epochs`` more epochs (and another final search) after the session finished or before."""
        epochs = check_int(epochs, "epochs", minimum=1)
        done = self.store.count_rounds("epoch")
        with self._write("extend the session") as db:
            values = {"epochs": max(self.settings["epochs"], done) + epochs, "stop_reason": None, "no_candidates": False}
            self.store.set_meta(db, values)
        self.settings.update(values)
        self.search.epochs = self.settings["epochs"]
        self._refresh_status()
        self._notify()

    def set_budget(self, budget: int | None) -> None:
        """Change the label budget (None: no limit); a finished session may continue."""
        budget = None if budget is None else check_int(budget, "budget", minimum=1)
        values = {"budget": budget}
        if self.settings.get("stop_reason") == "budget":
            values["stop_reason"] = None
        self._set_meta(values)
        self.search.budget = budget
        self._refresh_status()
        self._notify()

    # --- progress -------------------------------------------------------------------

    def _refresh_status(self) -> None:
        if self.status == "searching":
            return
        if self.finished():
            reason = self.settings["stop_reason"]
            self.status, self.message = "done", STOP_MESSAGES.get(reason, reason)
        elif self.status != "error":
            self.status, self.message = "labelling", ""

    # --- import / export ------------------------------------------------------------

    def export(self, path, fmt: str | None = None) -> int:
        """Write the labels to ``path``: .csv, .jsonl, .txt (the positives' item paths), or .ris
        (text sessions; their .csv follows ASReview's columns, :mod:`elsa.session.transfer`)."""
        from .transfer import export_labels

        return export_labels(self.store, self.names, path, fmt, self.texts.records)


__all__ = ["Session"]
