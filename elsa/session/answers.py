"""What the person says: answers, bulk answers, undo, seeds and imported labels.

Part of :class:`~elsa.session.Session` (a base class kept in its own module). Every
change is one store transaction: the first answer wins (:class:`ConflictError` for a
stale one, and nothing is written), and the count of items waiting is kept in step.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, is_integer, short_repr
from ..exceptions import ConflictError, InputError
from ..state import UNLABELLED
from .labels import normalise_label


class Answers:
    """The answering half of a session; the session supplies ``store``, ``names``, ``X``,
    ``index``, ``user``, ``n_pending``, ``_write``, ``labels``, ``_refresh_status`` and ``_notify``."""

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
            origin = self.store.origin(db, item)
            event = self.store.add_label(db, item, label, origin=origin, user=user or self.user, expect=expect)
            self.n_pending -= origin in ("round", "audit") and expect is None
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
                origin = self.store.origin(db, item)
                try:
                    events[item] = self.store.add_label(db, item, label, origin=origin, user=user or self.user,
                                                        expect=expect)
                except ConflictError as exc:
                    conflicts[item] = exc.current
                else:
                    self.n_pending -= origin in ("round", "audit") and expect is None
        self._after_answer()
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
        with self._write("save the undo") as db:
            if event is None:
                event = self.store.latest_answer(db)
                if event is None:
                    raise InputError("nothing to undo")
            result = self.store.undo(db, int(event), user=user or self.user)
            self.n_pending = self.store.count_pending()
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
                self.n_pending -= self.store.origin(db, item) in ("round", "audit") and now is None
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
            self.n_pending = self.store.count_pending()
        self._after_answer()
        return n
