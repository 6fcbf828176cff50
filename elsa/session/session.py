"""A labelling session: a person is the oracle, every answer is saved the moment it is given.

The search is the same :class:`~elsa.search.ActiveSearch` that ``elsa simulate`` runs,
driven one oracle call at a time. A *round* is one oracle call: the batch of an epoch
(NN around the frontier plus the exploration sampler) or the final search. A round is
written to the session file when it is proposed; the person answers its items in any
order; when no proposed item is left unanswered the next round is computed (in a
background thread for the web app, or on the next :meth:`Session.next_batch` call).

Recomputed, never pickled: on opening, the search state is rebuilt from the label
events (answers, frontier, epoch, labels spent) and the head is retrained from them.
Randomness is derived from ``random_state`` and the round number, so a session that
was killed and reopened proposes exactly the rounds an uninterrupted one would.

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

import json
import math
import logging
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._validation import check_int, is_integer, short_repr
from ..exceptions import ConflictError, ElsaError, InputError, ParameterError
from ..index import make_index
from ..search import DEFAULT_STRATEGY, make_strategy
from ..search.registry import NO_EPOCH_LIMIT
from ..state import NEGATIVE, POSITIVE, UNLABELLED, UNSURE, SearchState
from ..stopping import audit_estimate, knee_reached, parse_stop, qbcb_threshold, quant_from_state
from .images import ItemImages
from .setup import check_new_session, default_user, load_pool, start_session
from .store import DB_NAME, LABELS, SessionLock, Store, no_session

log = logging.getLogger("elsa.session")

_CODES = {"positive": POSITIVE, "negative": NEGATIVE, "unsure": UNSURE}
_ALIASES = {
    "positive": "positive", "pos": "positive", "p": "positive", "y": "positive", "yes": "positive", "1": "positive",
    "true": "positive", "negative": "negative", "neg": "negative", "n": "negative", "no": "negative",
    "0": "negative", "false": "negative", "unsure": "unsure", "u": "unsure", "skip": "unsure", "?": "unsure",
}


def normalise_label(value) -> str:
    """``positive``, ``negative`` or ``unsure`` from the usual spellings (y/n/u, yes/no, 1/0, True/False)."""
    if isinstance(value, (bool, np.bool_)):
        return "positive" if value else "negative"
    key = str(value).strip().lower()
    if key not in _ALIASES:
        raise ParameterError(f"unknown label {value!r}; use positive/negative/unsure (or y/n/u)")
    return _ALIASES[key]


def _rng(random_state: int, round_no: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([random_state, round_no, purpose])


_PREPARE, _FIT, _SELECT = 0, 1, 2


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
    labels: int  # of those, answered
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
    certificate: dict | None = None  # recall:R@C: target positives found, needed, in the target set

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Session:
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
        self.X = load_pool(meta)
        self.names = [r[0] for r in store.query("SELECT name FROM items ORDER BY id")]
        if len(self.names) != self.X.shape[0]:
            raise InputError(f"session file lists {len(self.names)} items but the pool has {self.X.shape[0]} rows")
        self.images = ItemImages(meta.get("images", {"kind": "none"}), self.names)
        self.index = make_index(self.X, meta.get("index", "auto"), **meta.get("index_options", {}))
        self.search = make_strategy(meta["strategy"], epochs=meta["epochs"], budget=meta["budget"], **meta["params"])
        state = self._state()
        self.search.prepare(state, _rng(meta["random_state"], 0, _PREPARE))
        self._advance_lock = threading.Lock()
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False
        self.status, self.message = "labelling", ""
        self._n_pending = self._count_pending()
        self._refresh_status()

    # --- opening ----------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        folder,
        embeddings,
        *,
        manifest=None,
        target: str = "",
        seed_ids=(),
        seed_items=(),
        strategy: str = DEFAULT_STRATEGY,
        epochs: int | str | None = "auto",
        budget: int | None = None,
        params: dict | None = None,
        random_state: int = 0,
        user: str | None = None,
        labels_from=None,
        stop: str | None = None,
        audit_share: float | None = None,
        audit_positives: int | None = None,
        index: str = "auto",
        index_options: dict | None = None,
    ) -> "Session":
        """Start a session in ``folder`` (created if needed) over the pool in ``embeddings`` (.npy).

        ``manifest`` is the JSON written by ``elsa embed`` (default: ``<emb>.manifest.json``
        beside the array, if present); its item paths name the images shown. Seeds are
        row ids (``seed_ids``) or item paths from the manifest (``seed_items``).
        ``labels_from`` is a CSV or JSONL file of labels to start from. Everything is
        checked before the session file is written.

        ``strategy`` defaults to this project's default search (``portfolio``; ``elsa`` is the
        paper's). ``epochs``: ``"auto"`` (10 for the paper's strategies, no limit for the
        round-based ones), a number, or None (no limit).

        ``stop``: ``budget:N``, ``recall:R@C`` or ``knee`` (:mod:`elsa.stopping`); with a
        rule, ``epochs=None`` (no limit) lets the rule end the session. ``audit_share``:
        random audit items added to each round, as a share of its size (default 0.1 with
        ``recall:R@C``, which needs them, else 0); they are hidden from the search and give
        the unbiased recall estimate. ``audit_positives``: the certificate's target set
        (default: the fewest that can certify). ``index`` and ``index_options``: the search
        backend (:func:`elsa.index.make_index`; ``ray`` with ``{"shards": N}`` runs on a
        cluster), kept in the session and used again on reopening.
        """
        new = check_new_session(
            embeddings, manifest=manifest, target=target, seed_ids=seed_ids, seed_items=seed_items,
            strategy=strategy, epochs=epochs, budget=budget, params=params, random_state=random_state,
            labels_from=labels_from, stop=stop, audit_share=audit_share, audit_positives=audit_positives,
            index=index, index_options=index_options,
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
        self._closed = True
        with self._wake:
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=60)
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
        out = np.zeros(self.X.shape[0], np.int8)
        sql = "SELECT item, label FROM labels"
        if search_view:
            sql = ("SELECT l.item, l.label FROM labels l JOIN events e ON e.id = l.event "
                   "WHERE e.origin != 'audit' OR l.item IN (SELECT item FROM round_items)")
        rows = self.store.query(sql)
        if rows:
            ids, labs = zip(*rows)
            out[list(ids)] = [_CODES[lab] for lab in labs]
        return out

    def _state(self) -> SearchState:
        with self.store.lock:
            answers = self.labels(search_view=True)
            proposed = np.array([r[0] for r in self.store.query("SELECT item FROM round_items")], np.int64)
            rounds = self.store.query("SELECT round, epoch, after_event FROM rounds ORDER BY round DESC LIMIT 1")
            epochs_done = self.store.query("SELECT COUNT(*) FROM rounds WHERE kind = 'epoch'")[0][0]
            if rounds:
                last, _, after = rounds[0]
                last_items = [r[0] for r in self.store.query("SELECT item FROM round_items WHERE round = ?", (last,))]
                late_seeds = [r[0] for r in self.store.query(
                    "SELECT l.item FROM labels l JOIN events e ON e.id = l.event "
                    "WHERE e.origin IN ('seed', 'import') AND l.label = 'positive' AND e.id > ?", (after,))]
                frontier = np.array(last_items + late_seeds, np.int64)
                frontier = np.unique(frontier[answers[frontier] == POSITIVE]) if frontier.size else frontier
            else:
                frontier = np.flatnonzero(answers == POSITIVE)
            proposals = self.store.proposals()
        budget = self.settings["budget"]
        return SearchState(
            X=self.X, index=self.index, answers=answers, frontier=frontier, proposals=proposals,
            n_found=int((answers[proposed] == POSITIVE).sum()) if proposed.size else 0,
            queries=int(proposed.size), epoch=int(epochs_done),
            budget_left=None if budget is None else max(0, budget - int(proposed.size)),
        )

    _QUEUE = ("SELECT item, round, k, pos FROM (SELECT item, round, 0 AS k, pos FROM round_items "
              "UNION ALL SELECT item, round, 1 AS k, pos FROM audit WHERE item NOT IN (SELECT item FROM round_items)) q "
              "WHERE item NOT IN (SELECT item FROM labels)")

    def pending(self) -> Batch:
        """Items waiting for an answer: the search's proposals, then the round's audit items."""
        rows = self.store.query(
            f"SELECT q.item, q.round, r.kind FROM ({self._QUEUE}) q JOIN rounds r ON r.round = q.round "
            "ORDER BY q.round, q.k, q.pos"
        )
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
            self._n_pending = self._count_pending()
            raise

    def _count_pending(self) -> int:
        return int(self.store.query(f"SELECT COUNT(*) FROM ({self._QUEUE})")[0][0])

    def shown_rounds(self) -> tuple[list[int], list[tuple[int, str]]]:
        """What a labelling page shows: the rounds with items waiting (else the last round), and
        their items in order as ``(item, source)``, the search's first, then the audit's."""
        rounds = [r[0] for r in self.store.query(f"SELECT DISTINCT round FROM ({self._QUEUE}) ORDER BY round")]
        if not rounds:
            rounds = [r[0] for r in self.store.query("SELECT MAX(round) FROM rounds") if r[0] is not None]
        items: list[tuple[int, str]] = []
        for rnd in rounds:
            items += self.store.query(
                "SELECT item, source FROM (SELECT item, source, 0 AS k, pos FROM round_items WHERE round = ? "
                "UNION ALL SELECT item, 'audit', 1, pos FROM audit WHERE round = ? "
                "AND item NOT IN (SELECT item FROM round_items)) ORDER BY k, pos", (rnd, rnd))
        return rounds, items

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

    def _next_round(self) -> None:
        meta, rs = self.settings, self.settings["random_state"]
        state = self._state()
        after = self.store.query("SELECT COALESCE(MAX(id), 0) FROM events")[0][0]
        timings = {}
        if state.budget_left == 0:
            return self._stop("budget")
        reason = self._rule_reason(state)
        if reason:
            return self._stop(reason)
        done_epochs = state.epoch
        quant = None
        if self.search.scorer is not None:
            timings.update(self.search.update_scores(state, _rng(rs, done_epochs, _FIT)))
            estimate = quant_from_state(state)
            quant = None if estimate is None else estimate.as_dict()
        kind, chosen = "epoch", None
        if done_epochs < meta["epochs"] and not meta.get("no_candidates"):
            state.epoch = done_epochs + 1
            chosen = self.search.select_epoch(state, _rng(rs, state.epoch, _SELECT))
            if chosen.ids.size == 0:
                self._set_meta({"no_candidates": True})
        if chosen is None or chosen.ids.size == 0:
            final_done = self.store.query(
                "SELECT COUNT(*) FROM rounds WHERE kind = 'final' AND round > "
                "(SELECT COALESCE(MAX(round), 0) FROM rounds WHERE kind = 'epoch')")[0][0]
            if final_done:
                return self._finish("epochs", state, after)
            kind = "final"
            chosen = self.search.select_final(state, _rng(rs, state.epoch + 1, _SELECT))
            if chosen.ids.size == 0:
                return self._finish("no candidates" if meta.get("no_candidates") else "epochs", state, after)
        timings.update(chosen.seconds)
        batch, sources, owner = chosen.ids, chosen.sources, chosen.owners
        with self._write("save the next round") as db:
            # Items labelled while this round was computed are dropped; audit items the search
            # proposes are kept: their answers, hidden until now, become the search's (no one
            # labels them twice, and they are not pending).
            taken = {r[0] for r in db.execute(
                "SELECT l.item FROM labels l JOIN events e ON e.id = l.event WHERE e.origin != 'audit' "
                "UNION SELECT item FROM round_items")}
            keep = [(int(i), str(o)) for i, o in zip(batch, owner) if int(i) not in taken]
            if not keep:  # everything was labelled while this round was computed: compute afresh
                return
            answered = {r[0] for r in db.execute(
                f"SELECT item FROM labels WHERE item IN ({','.join('?' * len(keep))})", [i for i, _ in keep])}
            cur = db.execute(
                "INSERT INTO rounds (kind, epoch, created, after_event, sources, seconds) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, state.epoch, time.time(), after, json.dumps(sources), json.dumps(timings)),
            )
            db.executemany("INSERT INTO round_items VALUES (?, ?, ?, ?)",
                           [(cur.lastrowid, pos, i, o) for pos, (i, o) in enumerate(keep)])
            self._n_pending += len(keep) - len(answered)
            self._draw_audit(db, cur.lastrowid, len(keep))
            if quant is not None:
                self.store.set_meta(db, {"quant": quant})
                self.settings["quant"] = quant
        log.info("round (%s, epoch %s): %d items %s", kind, state.epoch, len(keep), sources)

    # --- audit, estimates and stopping rules -------------------------------------------

    def _audit_order(self) -> np.ndarray:
        if getattr(self, "_order", None) is None:
            self._order = np.random.default_rng([self.settings["random_state"], 0, _AUDIT]).permutation(len(self.names))
        return self._order

    def _draw_audit(self, db, round_id: int, round_size: int, *, size: int | None = None) -> None:
        """Add ``audit_share`` of the round's size of audit items to it (or ``size`` items);
        none once a recall certificate's target set is complete."""
        share = self.settings.get("audit_share") or 0.0
        if share <= 0 and size is None:
            return
        n_targets = self.settings.get("audit_positives")
        if n_targets:
            have = db.execute("SELECT COUNT(*) FROM audit a JOIN labels l ON l.item = a.item "
                              "WHERE l.label = 'positive'").fetchone()[0]
            if have >= n_targets:
                return
        drawn = db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        new = self._audit_order()[drawn : drawn + (size if size is not None else int(math.ceil(share * round_size)))]
        db.executemany("INSERT INTO audit (pos, item, round) VALUES (?, ?, ?)",
                       [(drawn + k, int(i), round_id) for k, i in enumerate(new)])
        if len(new):  # the new audit items nobody has answered or been asked yet are pending
            marks = ",".join("?" * len(new))
            known = {r[0] for r in db.execute(f"SELECT item FROM labels WHERE item IN ({marks}) UNION "
                                              f"SELECT item FROM round_items WHERE item IN ({marks})",
                                              [int(i) for i in new] * 2)}
            self._n_pending += sum(1 for i in new if int(i) not in known)

    def _audit_answers(self) -> tuple[np.ndarray, np.ndarray]:
        """Audit items answered positive or negative, in audit order, and their answers."""
        rows = self.store.query("SELECT a.item, l.label FROM audit a JOIN labels l ON l.item = a.item "
                                "WHERE l.label IN ('positive', 'negative') ORDER BY a.pos")
        return np.array([r[0] for r in rows], np.int64), np.array([r[1] == "positive" for r in rows], bool)

    def certificate(self, answers=None, audit=None) -> dict | None:
        """For a ``recall:R@C`` stop: the target set so far and how many of it the search found.

        ``answers`` (the search's view of the labels) and ``audit`` (:meth:`_audit_answers`)
        are read from the session file unless given."""
        spec = self._spec()
        if spec is None or spec.kind != "recall":
            return None
        n = self.settings["audit_positives"]
        ids, labels = self._audit_answers() if audit is None else audit
        targets = ids[labels][:n]
        answers = self.labels(search_view=True) if answers is None else answers
        found = int((answers[targets] == POSITIVE).sum())
        j = qbcb_threshold(n, spec.target, spec.confidence)
        return {"target": spec.target, "confidence": spec.confidence, "n": n, "j": j, "in_sample": int(targets.size),
                "found": found, "certified": bool(targets.size >= n and found >= j)}

    def estimate(self, answers=None, audit=None) -> dict:
        """The recall estimates available now: ``audit`` (from the audit items) and ``quant``
        (from the head's probabilities at the last round), as :class:`RecallEstimate` dicts."""
        answers = self.labels(search_view=True) if answers is None else answers
        found = int((answers == POSITIVE).sum())
        out = {}
        ids, labels = self._audit_answers() if audit is None else audit
        if ids.size:
            out["audit"] = audit_estimate(ids, labels, answers != 0, found).as_dict()
        if self.settings.get("quant"):
            out["quant"] = self.settings["quant"]
        return out

    def _spec(self):
        return parse_stop(self.settings["stop"]) if self.settings.get("stop") else None

    def search_curve(self) -> list[tuple[int, int]]:
        """(queries, positives found) after each round the person has finished answering."""
        rows = self.store.query(
            "SELECT ri.round, COUNT(*), SUM(l.label = 'positive'), COUNT(l.item) FROM round_items ri "
            "LEFT JOIN labels l ON l.item = ri.item GROUP BY ri.round ORDER BY ri.round")
        curve, q, f = [(0, 0)], 0, 0
        for _, size, pos, answered in rows:
            if answered < size:
                break
            q, f = q + size, f + (pos or 0)
            curve.append((q, f))
        return curve

    def _rule_reason(self, state) -> str | None:
        spec = self._spec()
        if spec is None:
            return None
        if spec.kind == "knee" and knee_reached(self.search_curve()):
            return "knee"
        if spec.kind == "recall":
            c = self.certificate(state.answers)
            if c["certified"]:
                return f"recall {spec.target:g} certified at {100 * spec.confidence:g} %"
        return None

    AUDIT_ROUND = 50  # random checks per round once the search has nothing left to propose

    def _finish(self, reason: str, state, after: int) -> None:
        """The search has nothing more to propose. A recall certificate whose target set is
        still incomplete gets rounds of audit items alone until it is complete (or the pool
        runs out); then the rule decides, and failing it the session stops for ``reason``."""
        c = self.certificate(state.answers)
        drawn = self.store.query("SELECT COUNT(*) FROM audit")[0][0]
        if c is None or c["in_sample"] >= c["n"] or drawn >= len(self.names):
            if c is not None and not c["certified"]:
                reason += (f"; recall {c['target']:g} not certified: the search found {c['found']} of the "
                           f"{c['in_sample']} audit positives, {c['j']} were needed")
            return self._stop(reason)
        with self._write("save the audit round") as db:
            cur = db.execute(
                "INSERT INTO rounds (kind, epoch, created, after_event, sources, seconds) VALUES "
                "('audit', ?, ?, ?, '{}', '{}')", (state.epoch, time.time(), after))
            self._draw_audit(db, cur.lastrowid, 0, size=self.AUDIT_ROUND)

    def _stop(self, reason: str) -> None:
        self._set_meta({"stop_reason": reason})

    def _set_meta(self, values: dict) -> None:
        with self._write("save the session settings") as db:
            self.store.set_meta(db, values)
        self.settings.update(values)

    def extend(self, epochs: int) -> None:
        """Allow ``epochs`` more epochs (and another final search) after the session finished or before."""
        epochs = check_int(epochs, "epochs", minimum=1)
        done = self.store.query("SELECT COUNT(*) FROM rounds WHERE kind = 'epoch'")[0][0]
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

    def next_batch(self, timeout: float | None = None) -> Batch:
        """The items to label now; computes the next round first when none is pending.

        With a background search running, waits (up to ``timeout`` seconds) for it instead.
        """
        if self._worker is None:
            return self.advance()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            while True:
                batch = self.pending()
                if len(batch) or self.finished() or self.status == "error":
                    return batch
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return batch
                self._wake.wait(0.05 if left is None else min(left, 0.05))

    # --- answers --------------------------------------------------------------------

    def _check_item(self, item) -> int:
        """``item`` as an int: Python and numpy integers only (not bool, str or float: 1.5 or "5" is no id)."""
        if not is_integer(item):
            raise InputError(f"item ids are whole numbers, got {short_repr(item)}")
        item = int(item)
        if not 0 <= item < len(self.names):
            raise InputError(f"no item {short_repr(item)}: ids run from 0 to {len(self.names) - 1}")
        return item

    def answer(self, item, label, *, expect: str | None = None, user: str | None = None) -> int:
        """Record ``label`` (positive/negative/unsure, or y/n/u) for ``item``; returns the event id.

        ``expect`` is the label the answerer saw (None: unlabelled; ``"unsure"`` to revisit
        an unsure item). If the item's label is something else by now (another tab
        answered first), :class:`~elsa.exceptions.ConflictError` is raised and nothing
        is written.
        """
        item = self._check_item(item)
        label = normalise_label(label)
        expect = None if expect is None else normalise_label(expect)
        with self._write("save the answer") as db:
            origin = self._origin(db, item)
            event = self.store.add_label(db, item, label, origin=origin, user=user or self.user, expect=expect)
            self._n_pending -= origin in ("round", "audit") and expect is None
        self._after_answer()
        return event

    def answer_many(self, items, label, *, expect: str | None = None, user: str | None = None) -> dict:
        """The same label for many items in one transaction (bulk "all of these are negative").

        Items whose label is no longer ``expect`` are skipped and reported, not overwritten.
        Returns ``{"events": {item: event}, "conflicts": {item: current label}}``.
        """
        label = normalise_label(label)
        expect = None if expect is None else normalise_label(expect)
        items = [self._check_item(i) for i in items]
        events, conflicts = {}, {}
        with self._write("save the answers") as db:
            for item in dict.fromkeys(items):
                origin = self._origin(db, item)
                try:
                    events[item] = self.store.add_label(db, item, label, origin=origin, user=user or self.user,
                                                        expect=expect)
                except ConflictError as exc:
                    conflicts[item] = exc.current
                else:
                    self._n_pending -= origin in ("round", "audit") and expect is None
        self._after_answer()
        return {"events": events, "conflicts": conflicts}

    @staticmethod
    def _origin(db, item: int) -> str:
        if db.execute("SELECT 1 FROM round_items WHERE item = ?", (item,)).fetchone():
            return "round"
        if db.execute("SELECT 1 FROM audit WHERE item = ?", (item,)).fetchone():
            return "audit"
        return "extra"

    def undo(self, event: int | None = None, *, user: str | None = None) -> tuple[int, str | None]:
        """Take back answer ``event`` (default: the latest answer not yet taken back).

        Returns ``(item, label now)``; an item back to unlabelled is pending again.
        """
        if event is not None:
            if not is_integer(event):
                raise InputError(f"event ids are whole numbers, got {short_repr(event)}")
            if not 0 < event < 2**63:  # event ids are positive SQLite integers (int64)
                raise InputError(f"no answer with event id {short_repr(event)} to undo")
        with self._write("save the undo") as db:
            if event is None:
                row = db.execute(
                    "SELECT l.event FROM labels l JOIN events e ON e.id = l.event WHERE e.origin != 'seed' "
                    "ORDER BY l.event DESC LIMIT 1").fetchone()
                if row is None:
                    raise InputError("nothing to undo")
                event = row[0]
            result = self.store.undo(db, int(event), user=user or self.user)
            self._n_pending = self._count_pending()
        self._refresh_status()
        return result

    def add_seeds(self, items, *, user: str | None = None) -> list[int]:
        """Mark ``items`` as known positives (seeds). Items already positive are left as they are;
        an item answered negative or unsure must be undone first. Returns the items added."""
        items = [self._check_item(i) for i in np.asarray(items, dtype=object).ravel()]
        added = []
        with self._write("save the seeds") as db:
            for item in dict.fromkeys(items):
                now = self.store.current(db, item)
                if now is not None and now[0] == "positive":
                    continue
                self.store.add_label(db, item, "positive", origin="seed", user=user or self.user, expect=None)
                self._n_pending -= self._origin(db, item) in ("round", "audit") and now is None
                added.append(item)
        self._after_answer()
        return added

    def similar(self, item, k: int = 24) -> np.ndarray:
        """The ``k`` unlabelled items nearest to ``item`` ("more like this"), closest first."""
        item = self._check_item(item)
        k = check_int(k, "k", minimum=1, maximum=1000)
        labelled = self.labels() != UNLABELLED
        _, ids = self.index.search(self.X[item : item + 1], k, exclude=labelled, query_ids=[item])
        return ids[0][ids[0] >= 0]

    def _after_answer(self) -> None:
        self._refresh_status()
        self._notify()

    # --- progress -------------------------------------------------------------------

    def _refresh_status(self) -> None:
        if self.status == "searching":
            return
        if self.finished():
            self.status, self.message = "done", _STOP_MESSAGES.get(self.settings["stop_reason"], self.settings["stop_reason"])
        elif self.status != "error":
            self.status, self.message = "labelling", ""

    def progress(self) -> Progress:
        rows = self.store.query(
            "SELECT l.label FROM round_items ri JOIN labels l ON l.item = ri.item ORDER BY l.event"
        )
        labels = np.array([r[0] for r in rows])
        found = np.cumsum(labels == "positive") if labels.size else np.zeros(0, int)
        step = max(1, labels.size // 400)
        curve = [(0, 0)] + [(int(i + 1), int(found[i])) for i in range(step - 1, labels.size, step)]
        if labels.size and curve[-1][0] != labels.size:
            curve.append((int(labels.size), int(found[-1])))
        counts = dict(self.store.query(
            "SELECT e.origin, COUNT(*) FROM labels l JOIN events e ON e.id = l.event "
            "WHERE l.label = 'positive' GROUP BY e.origin"))
        unsure = self.store.query("SELECT COUNT(*) FROM labels WHERE label = 'unsure'")[0][0]
        answers, audit = self.labels(search_view=True), self._audit_answers()
        estimates = self.estimate(answers, audit)
        queries = self.store.query("SELECT COUNT(*) FROM round_items")[0][0]
        epoch = self.store.query("SELECT COUNT(*) FROM rounds WHERE kind = 'epoch'")[0][0]
        return Progress(
            target=self.settings["target"], strategy=self.settings["strategy"], epoch=int(epoch),
            epochs=None if self.settings["epochs"] >= NO_EPOCH_LIMIT else self.settings["epochs"], budget=self.settings["budget"], queries=int(queries),
            labels=int(labels.size), found=int(found[-1]) if labels.size else 0,
            seeds=int(counts.get("seed", 0) + counts.get("import", 0) + counts.get("extra", 0)),
            unsure=int(unsure), pending=self._n_pending, status=self.status, message=self.message, curve=curve,
            stop=self.settings.get("stop"), audit=len(audit[0]),
            estimate=estimates.get("audit") or estimates.get("quant"),  # the unbiased one when there is an audit
            certificate=self.certificate(answers, audit),
        )

    def unsure_items(self) -> np.ndarray:
        return np.array([r[0] for r in self.store.query(
            "SELECT item FROM labels WHERE label = 'unsure' ORDER BY event")], np.int64)

    def positive_items(self) -> np.ndarray:
        """Every known positive: seeds, imported and answered, in the order they became positive."""
        return np.array([r[0] for r in self.store.query(
            "SELECT item FROM labels WHERE label = 'positive' ORDER BY event")], np.int64)

    def examples(self, limit: int = 8) -> list[tuple[int, str]]:
        """What the target looks like: ``[(item, "seed" | "found")]``, the positives the person
        gave (seeds, imported, answered outside the search, as :meth:`progress` counts
        seeds) first, then the first positives the search found, each in the order they
        became positive."""
        given = ("seed", "import", "extra")
        rows = self.store.query(
            "SELECT l.item, e.origin FROM labels l JOIN events e ON e.id = l.event WHERE l.label = 'positive' "
            "ORDER BY e.origin NOT IN (?, ?, ?), l.event LIMIT ?", (*given, check_int(limit, "limit", minimum=0)))
        return [(int(i), "seed" if origin in given else "found") for i, origin in rows]

    def item_labels(self, items) -> dict[int, dict]:
        """Current label, event, who and when for ``items`` (unlabelled ones are absent)."""
        items = [int(i) for i in items]
        out = {}
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            rows = self.store.query(
                "SELECT l.item, l.label, l.event, e.user, e.at FROM labels l JOIN events e ON e.id = l.event "
                f"WHERE l.item IN ({','.join('?' * len(chunk))})", chunk)
            out.update({r[0]: {"label": r[1], "event": r[2], "user": r[3], "at": r[4]} for r in rows})
        return out

    # --- background search ------------------------------------------------------------

    def start_background(self) -> None:
        """Compute each next round in a thread as soon as the last pending item is answered."""
        if self._worker is not None:
            return
        self._worker = threading.Thread(target=self._work, name="elsa-search", daemon=True)
        self._worker.start()
        self._notify()

    def retry(self) -> None:
        """After a failed round, try again."""
        self.status, self.message = "labelling", ""
        self._notify()

    def _notify(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def _work(self) -> None:
        while not self._closed:
            with self._wake:
                while not self._closed and (self.status == "error" or self.finished() or self._n_pending > 0):
                    self._wake.wait(1.0)
            if self._closed:
                return
            try:
                self.advance()
            except ElsaError as exc:
                self.status, self.message = "error", f"the search failed: {exc}; your answers are saved"
                log.error("round failed: %s", exc)
            except Exception as exc:  # a bug in a sampler must not take the labeller down
                self.status, self.message = "error", f"the search failed ({type(exc).__name__}: {exc}); your answers are saved"
                log.error("round failed:\n%s", traceback.format_exc())
            self._notify()

    # --- import / export ------------------------------------------------------------

    def import_labels(self, path) -> int:
        from .transfer import read_labels

        rows = read_labels(path, self.names)
        n = 0
        with self._write("import the labels") as db:
            for item, label in rows:
                now = self.store.current(db, item)
                if now is not None:
                    if now[0] != label:
                        raise ConflictError(f"{path}: item {self.names[item]!r} is {label} there but already "
                                            f"{now[0]} in this session; nothing was imported", item=item, current=now[0])
                    continue
                self.store.add_label(db, item, label, origin="import", user=self.user, expect=None)
                n += 1
            self._n_pending = self._count_pending()
        self._after_answer()
        return n

    def export(self, path, fmt: str | None = None) -> int:
        """Write the labels to ``path``: .csv, .jsonl, or .txt (the positives' item paths)."""
        from .transfer import export_labels

        return export_labels(self.store, self.names, path, fmt)


_AUDIT = 3  # the audit order's stream: random_state, round 0, purpose 3

_STOP_MESSAGES = {
    "knee": "the knee rule says the search has stopped finding positives",
    "budget": "the label budget is spent",
    "epochs": "all epochs and the final search are done",
    "no candidates": "the search has nothing left to propose",
}


__all__ = ["Batch", "LABELS", "Progress", "Session", "normalise_label"]
