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

Recomputed, never pickled: before each round the search state is rebuilt from the label
events (answers, frontier, epoch, labels spent) and the head is retrained from them, and
the random generator's state is saved with every round (:mod:`elsa.session.driver`).

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

import threading
from pathlib import Path

import numpy as np

from .._validation import check_int
from ..exceptions import InputError
from ..plan import SearchPlan
from ..state import UNLABELLED
from .answers import Answers
from .checks import Checks
from .audit import SessionAudit
from .driver import SearchDriver
from .finder import Finder
from .images import ItemImages
from .ledger import Ledger
from .texts import ItemTexts, target_examples
from .progress import STOP_MESSAGES, Batch, Reports
from .setup import check_new_session, default_user, load_pool, start_session
from .store import DB_NAME, SessionLock, Store, no_session
from .worker import Background

def _forward(part: str, name: str) -> property:
    """A method of one of the session's parts, offered as the session's own."""
    def get(self):
        return getattr(getattr(self, part), name)

    return property(get, doc=f"{part}.{name} (see its docstring)")


class Session:
    """A labelling session in a project directory. Open one with :meth:`create` or :meth:`open`.

    Typical use from Python::

        s = Session.create("proj", "emb.npy", SearchPlan(budget=500), target="cracked screws", seeds=[3, 17])
        batch = s.next_batch()
        s.answer(batch.ids[0], "positive")

    The object is thread-safe; the web app shares one between request threads. It is made
    of parts with their own interfaces: :attr:`ledger` (its writes and the items waiting),
    :attr:`answers` (:class:`~elsa.session.answers.Answers`: what the person says),
    :attr:`checks` (:class:`~elsa.session.checks.Checks`: second answers, agreement and
    disagreements between labellers),
    :attr:`audit` (:class:`~elsa.session.audit.SessionAudit`: random checks, certificates,
    estimates), :attr:`reports` (:class:`~elsa.session.progress.Reports`) and its background
    search (:class:`~elsa.session.worker.Background`); the search's state is rebuilt from the
    file by :meth:`~elsa.search.ActiveSearch.resume` before each round.
    """

    answer = _forward("answers", "answer")
    answer_many = _forward("answers", "answer_many")
    undo = _forward("answers", "undo")
    add_seeds = _forward("answers", "add_seeds")
    import_labels = _forward("answers", "import_labels")
    check = _forward("checks", "answer")
    resolve = _forward("checks", "resolve")
    set_double_share = _forward("checks", "set_share")
    find = _forward("finder", "find")
    unsure_items = _forward("reports", "unsure_items")
    positive_items = _forward("reports", "positive_items")
    examples = _forward("reports", "examples")
    item_labels = _forward("reports", "item_labels")
    shown_rounds = _forward("reports", "shown_rounds")
    search_curve = _forward("reports", "search_curve")
    start_background = _forward("_background", "start")
    wait_for_batch = _forward("_background", "wait_for_batch")
    next_batch = _forward("_background", "next_batch")

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
        self.finder = Finder(self.names, records)
        self.described = target_examples(meta, vocabulary)  # the target's words as a positive row, or None
        self.plan = SearchPlan.from_dict(meta)
        self.index = self.plan.make_index(self.X)
        self.search = self.plan.build(epochs=meta["epochs"], budget=meta["budget"])
        self.audit = SessionAudit(store, self.settings, len(self.names), self.plan.stop)
        self.ledger = Ledger(store, self.settings)
        self.answers = Answers(self.ledger, self.names, self.user, self._changed)
        self.checks = Checks(self.ledger, self.names, self.user, self._changed, self.answers.check_item)
        self.driver = SearchDriver(store, self.ledger, self.settings, self.search, self.audit, self.X, self.index,
                                   self.described, self.checks)
        self._advance_lock = threading.Lock()
        self._background = Background(self)
        self.reports = Reports(store, self.settings, self.audit)
        self.status, self.message = "labelling", ""
        self._refresh_status()

    # --- opening ----------------------------------------------------------------------

    @classmethod
    def create(cls, folder, pool, plan: SearchPlan | None = None, *, target: str = "", seeds=(),
               labels_from=None, user: str | None = None, double_share: float = 0.0) -> "Session":
        """Start a session in ``folder`` (created if needed) over ``pool`` (embeddings, .npy or a
        .npz of text features, or text records: a path or a :class:`~elsa.session.setup.PoolFiles`)
        with ``plan`` (:class:`~elsa.plan.SearchPlan`; default: the default search). ``target``:
        what is looked for, shown on the page (for records, its words are also an example).
        ``seeds``: row numbers or item names. ``double_share``: the share of the search's items
        that also goes to a second labeller (:mod:`elsa.session.checks`). Everything is checked
        before the session file is written (:func:`~elsa.session.setup.check_new_session`)."""
        new = check_new_session(pool, SearchPlan() if plan is None else plan, target=target, seeds=seeds,
                                labels_from=labels_from, double_share=double_share)
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

    @property
    def n_pending(self) -> int:
        """Items waiting for an answer (:attr:`Ledger.pending`)."""
        return self.ledger.pending

    def progress(self):
        """Where the session stands (:class:`~elsa.session.progress.Progress`)."""
        return self.reports.progress(self.labels(search_view=True), self.status, self.message, self.ledger.pending)

    def similar(self, item, k: int = 24) -> np.ndarray:
        """The ``k`` unlabelled items nearest to ``item`` ("more like this"), closest first."""
        item = self.answers.check_item(item)
        k = check_int(k, "k", minimum=1, maximum=1000)
        labelled = self.labels() != UNLABELLED
        _, ids = self.index.search(self.X[item : item + 1], k, exclude=labelled, query_ids=[item])
        return ids[0][ids[0] >= 0]

    def retry(self) -> None:
        """After a failed round, try again."""
        self.status, self.message = "labelling", ""
        self._background.notify()

    def _changed(self, wake: bool) -> None:
        """After an answer, undo or seed: the status now, and (``wake``) the background search."""
        self._refresh_status()
        if wake:
            self._background.notify()

    def labels(self, *, search_view: bool = False) -> np.ndarray:
        """(n,) int8 of current labels: +1 positive, -1 negative, 2 unsure, 0 unlabelled.

        ``search_view``: only what the search may see: audit answers stay hidden until the
        search proposes the item itself.
        """
        return self.store.label_codes(self.X.shape[0], search_view=search_view)

    def pending(self) -> Batch:
        """Items waiting for an answer: the search's proposals, then the round's audit items."""
        rows = self.store.rounds.pending_rows()
        ids = np.array([r[0] for r in rows], np.int64)
        return Batch(ids, [self.names[i] for i in ids], np.array([r[1] for r in rows], np.int64),
                     rows[-1][2] if rows else "")

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
                self.driver.next_round()
            except BaseException:
                self.status = "error"
                raise
            self.status = "labelling"
            self._refresh_status()
            return self.pending()

    # --- audit, estimates and stopping rules -------------------------------------------

    def certificate(self, answers=None, audit=None) -> dict | None:
        """Where a certified stop's certificate stands (:meth:`SessionAudit.certificate`; the
        search's view of the labels unless given)."""
        return self.audit.certificate(self.labels(search_view=True) if answers is None else answers, audit)

    def estimate(self, answers=None, audit=None) -> dict:
        """The recall estimates available now (:meth:`SessionAudit.estimate`)."""
        return self.audit.estimate(self.labels(search_view=True) if answers is None else answers, audit)

    def extend(self, epochs: int) -> None:
        """Allow ``epochs`` more epochs (and another final search) after the session finished or before."""
        self.driver.extend(epochs)
        self._changed(True)

    def set_budget(self, budget: int | None) -> None:
        """Change the label budget (None: no limit); a finished session may continue."""
        self.driver.set_budget(budget)
        self._changed(True)

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
