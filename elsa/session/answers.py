"""What the person says: answers, bulk answers, undo, seeds and imported labels.

:attr:`Session.answers <elsa.session.Session>`; the session forwards its methods. Every
change is one :meth:`Ledger.write <elsa.session.ledger.Ledger.write>`: the first answer
wins (:class:`ConflictError` for a stale one, and nothing is written), and the count of
items waiting is kept in step.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .._validation import is_integer, short_repr
from ..exceptions import ConflictError, InputError
from .labels import OUTSIDE, normalise_label
from .ledger import Ledger


def _check_via(via):
    if via is not None and via not in OUTSIDE[1:]:
        raise InputError(f"'via' is {' or '.join(OUTSIDE[1:])} (or absent), got {short_repr(via)}")
    return via


class Answers:
    """What the person says about the items ``names`` of the session in ``ledger``;
    ``user`` answers unless a call names another. ``changed(wake)`` is called after every
    change: the session refreshes its status and, with ``wake``, lets its background
    search compute the next round."""

    def __init__(self, ledger: Ledger, names: list[str], user: str, changed: Callable[[bool], None]):
        self.ledger, self.store, self.names, self.user, self.changed = ledger, ledger.store, names, user, changed

    def check_item(self, item) -> int:
        """``item`` as an int: Python and numpy integers only (not bool, str or float: 1.5 or "5" is no id)."""
        if not is_integer(item):
            raise InputError(f"item ids are whole numbers, got {short_repr(item)}")
        item = int(item)
        if not 0 <= item < len(self.names):
            raise InputError(f"no item {short_repr(item)}: ids run from 0 to {len(self.names) - 1}")
        return item

    def answer(self, item, label, *, expect: str | None = None, user: str | None = None, via: str | None = None) -> int:
        """Record ``label`` (positive/negative/unsure, or y/n/u) for ``item``; returns the event id.

        ``expect`` is the label the answerer saw (None: unlabelled; ``"unsure"`` to revisit
        an unsure item). If the item's label is something else by now (another tab
        answered first), :class:`~elsa.exceptions.ConflictError` is raised and nothing
        is written. ``via``: where the person found an item the search did not propose,
        ``search`` (the search box) or ``similar`` ("more like this"); kept as the answer's
        origin (else ``extra``; an item the search proposed keeps ``round`` or ``audit``).
        """
        item = self.check_item(item)
        label = normalise_label(label)
        expect = None if expect is None else normalise_label(expect)
        via = _check_via(via)
        with self.ledger.write("save the answer") as db:
            origin = self.store.rounds.origin(db, item)
            origin = via if via and origin == "extra" else origin
            event = self.store.add_label(db, item, label, origin=origin, user=user or self.user, expect=expect)
            self.ledger.pending -= origin in ("round", "audit") and expect is None
        self.changed(True)
        return event

    def answer_many(self, items, label, *, expect: str | None = None, user: str | None = None) -> dict:
        """The same label for many items in one transaction (bulk "all of these are negative").

        Items whose label is no longer ``expect`` are skipped and reported, not overwritten.
        Returns ``{"events": {item: event}, "conflicts": {item: current label}}``.
        """
        label = normalise_label(label)
        expect = None if expect is None else normalise_label(expect)
        items = [self.check_item(i) for i in items]
        events, conflicts = {}, {}
        with self.ledger.write("save the answers") as db:
            for item in dict.fromkeys(items):
                origin = self.store.rounds.origin(db, item)
                try:
                    events[item] = self.store.add_label(db, item, label, origin=origin, user=user or self.user,
                                                        expect=expect)
                except ConflictError as exc:
                    conflicts[item] = exc.current
                else:
                    self.ledger.pending -= origin in ("round", "audit") and expect is None
        self.changed(True)
        return {"events": events, "conflicts": conflicts}

    def undo(self, event: int | None = None, *, user: str | None = None) -> tuple[int, str | None]:
        """Take back answer ``event`` (default: the latest answer not yet taken back).

        Returns ``(item, label now)``; an item back to unlabelled is pending again.
        """
        if event is not None:
            if not is_integer(event):
                raise InputError(f"event ids are whole numbers, got {short_repr(event)}")
            if not 0 < event < 2**63:  # event ids are positive SQLite integers (int64)
                raise InputError(f"no answer with event id {short_repr(event)} to undo")
        with self.ledger.write("save the undo") as db:
            if event is None:
                event = self.store.latest_answer(db)
                if event is None:
                    raise InputError("nothing to undo")
            result = self.store.undo(db, int(event), user=user or self.user)
            self.ledger.recount()
        self.changed(False)
        return result

    def add_seeds(self, items, *, user: str | None = None) -> list[int]:
        """Mark ``items`` as known positives (seeds). Items already positive are left as they are;
        an item answered negative or unsure must be undone first. Returns the items added."""
        items = [self.check_item(i) for i in np.asarray(items, dtype=object).ravel()]
        added = []
        with self.ledger.write("save the seeds") as db:
            for item in dict.fromkeys(items):
                now = self.store.current(db, item)
                if now is not None and now[0] == "positive":
                    continue
                self.store.add_label(db, item, "positive", origin="seed", user=user or self.user, expect=None)
                self.ledger.pending -= self.store.rounds.origin(db, item) in ("round", "audit") and now is None
                added.append(item)
        self.changed(True)
        return added

    def import_labels(self, path) -> int:
        from .transfer import read_labels

        rows = read_labels(path, self.names)
        n = 0
        with self.ledger.write("import the labels") as db:
            for item, label in rows:
                now = self.store.current(db, item)
                if now is not None:
                    if now[0] != label:
                        raise ConflictError(f"{path}: item {self.names[item]!r} is {label} there but already "
                                            f"{now[0]} in this session; nothing was imported", item=item, current=now[0])
                    continue
                self.store.add_label(db, item, label, origin="import", user=self.user, expect=None)
                n += 1
            self.ledger.recount()
        self.changed(True)
        return n
