"""The session file's record of the search: its rounds, their items and the audit sample.

:class:`RoundRecords` is :attr:`Store.rounds <elsa.session.store.Store>`: every SQL
statement on the ``rounds``, ``round_items`` and ``audit`` tables lives here, behind a
named method. Reads go through the store's ``query``; writes take the ``db`` of an open
:meth:`Store.transaction`.
"""

from __future__ import annotations

import itertools
import json
import time

import numpy as np

from ..state import Proposal

# Items waiting for an answer: the search's proposals, then the audit items the search has
# not proposed itself; anything labelled (by anyone, for any reason) is no longer waiting;
# and the search's second looks (elsa.session.checks) until someone answers them.
_QUEUE = ("SELECT item, round, k, pos FROM (SELECT item, round, 0 AS k, pos FROM round_items "
          "UNION ALL SELECT item, round, 1 AS k, pos FROM audit WHERE item NOT IN (SELECT item FROM round_items)) q "
          "WHERE item NOT IN (SELECT item FROM labels) "
          "UNION ALL SELECT item, round, 2 AS k, pos FROM checks WHERE reason = 'second-look' AND event IS NULL "
          "AND item IN (SELECT item FROM labels)")


class RoundRecords:
    """The rounds, round items and audit tables of a session file; ``query(sql, params)``
    reads it (:meth:`Store.query`, under the store's lock)."""

    def __init__(self, query):
        self.query = query

    # --- the search's rounds ------------------------------------------------------------

    def proposals(self) -> list[Proposal]:
        """Every round's items in priority order, with the round's epoch and each item's
        source (what proposed it), oldest round first: the search's record of its proposals
        (its rounds of second looks included, :mod:`elsa.session.checks`)."""
        rows = self.query("SELECT ri.round, r.epoch, ri.item, ri.source, ri.pos FROM round_items ri "
                          "JOIN rounds r ON r.round = ri.round UNION ALL "
                          "SELECT c.round, r.epoch, c.item, 'second-look', c.pos FROM checks c "
                          "JOIN rounds r ON r.round = c.round WHERE c.reason = 'second-look' ORDER BY 1, 5")
        return [Proposal(np.array([r[2] for r in group], np.int64), tuple(r[3] for r in group), epoch=group[0][1])
                for group in (list(g) for _, g in itertools.groupby(rows, key=lambda r: r[0]))]

    def proposed_items(self) -> np.ndarray:
        return np.array([r[0] for r in self.query("SELECT item FROM round_items")], np.int64)

    def count_rounds(self, kind: str) -> int:
        return int(self.query("SELECT COUNT(*) FROM rounds WHERE kind = ?", (kind,))[0][0])

    def last_round(self, *, pages_only: bool = False) -> dict | None:
        """The newest round of the search (audit-only rounds aside; ``pages_only``: second looks
        aside too): ``round``, ``kind``, ``epoch``, ``after_event``, its ``items`` (none for
        second looks) and the search generator's state saved with it (``rng``)."""
        skip = "('audit', 'check')" if pages_only else "('audit')"
        rows = self.query(f"SELECT round, kind, epoch, after_event, rng FROM rounds WHERE kind NOT IN {skip} "
                          "ORDER BY round DESC LIMIT 1")
        if not rows:
            return None
        rnd, kind, epoch, after, rng = rows[0]
        items = [r[0] for r in self.query("SELECT item FROM round_items WHERE round = ? ORDER BY pos", (rnd,))]
        return {"round": rnd, "kind": kind, "epoch": epoch, "after_event": after, "items": items,
                "rng": None if rng is None else json.loads(rng)}

    def final_done(self) -> bool:
        """Whether a final search ran after the last epoch."""
        return bool(self.query(
            "SELECT COUNT(*) FROM rounds WHERE kind = 'final' AND round > "
            "(SELECT COALESCE(MAX(round), 0) FROM rounds WHERE kind = 'epoch')")[0][0])

    def add_round(self, db, kind: str, epoch: int, after_event: int, items, owners, sources: dict,
                  seconds: dict, rng: dict | None) -> tuple[int, int, int]:
        """Save a round of ``items`` in priority order, less any labelled meanwhile (audit
        answers aside: those become the search's, and nobody labels them twice) or proposed
        before. Returns the round's id, the items kept and how many of those wait for an
        answer; nothing is written when no item is left (round id 0)."""
        taken = {r[0] for r in db.execute(
            "SELECT l.item FROM labels l JOIN events e ON e.id = l.event WHERE e.origin != 'audit' "
            "UNION SELECT item FROM round_items")}
        keep = [(int(i), str(o)) for i, o in zip(items, owners) if int(i) not in taken]
        if not keep:
            return 0, 0, 0
        cur = db.execute(
            "INSERT INTO rounds (kind, epoch, created, after_event, sources, seconds, rng) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, epoch, time.time(), after_event, json.dumps(sources), json.dumps(seconds),
             None if rng is None else json.dumps(rng)))
        db.executemany("INSERT INTO round_items VALUES (?, ?, ?, ?)",
                       [(cur.lastrowid, pos, i, o) for pos, (i, o) in enumerate(keep)])
        ids = [i for i, _ in keep]
        answered = db.execute(f"SELECT COUNT(*) FROM labels WHERE item IN ({','.join('?' * len(ids))})",
                              ids).fetchone()[0]
        return int(cur.lastrowid), len(ids), len(ids) - int(answered)

    @staticmethod
    def round_items(db, round_id: int) -> list[int]:
        """The items of round ``round_id`` in priority order."""
        return [r[0] for r in db.execute("SELECT item FROM round_items WHERE round = ? ORDER BY pos", (round_id,))]

    def add_audit_round(self, db, epoch: int, after_event: int) -> int:
        cur = db.execute("INSERT INTO rounds (kind, epoch, created, after_event, sources, seconds) VALUES "
                         "('audit', ?, ?, ?, '{}', '{}')", (epoch, time.time(), after_event))
        return int(cur.lastrowid)

    def search_curve(self) -> list[tuple[int, int]]:
        """(queries, positives found) after each round the person has finished answering."""
        rows = self.query(
            "SELECT ri.round, COUNT(*), SUM(l.label = 'positive'), COUNT(l.item) FROM round_items ri "
            "LEFT JOIN labels l ON l.item = ri.item GROUP BY ri.round ORDER BY ri.round")
        curve, q, f = [(0, 0)], 0, 0
        for _, size, pos, answered in rows:
            if answered < size:
                break
            q, f = q + size, f + (pos or 0)
            curve.append((q, f))
        return curve

    def answered_proposals(self) -> list[str]:
        """The labels of the search's proposals answered so far, in the order they were given."""
        return [r[0] for r in self.query(
            "SELECT l.label FROM round_items ri JOIN labels l ON l.item = ri.item ORDER BY l.event")]

    # --- what is waiting for an answer ----------------------------------------------------

    def pending_rows(self) -> list[tuple[int, int, str]]:
        """``(item, round, round kind)`` of every item waiting, oldest round first, search items first."""
        return self.query(f"SELECT q.item, q.round, r.kind FROM ({_QUEUE}) q JOIN rounds r ON r.round = q.round "
                          "ORDER BY q.round, q.k, q.pos")

    def count_pending(self) -> int:
        return int(self.query(f"SELECT COUNT(*) FROM ({_QUEUE})")[0][0])

    def shown_rounds(self) -> tuple[list[int], list[tuple[int, str]]]:
        """The rounds with items waiting (else the last round), and their items in order as
        ``(item, source)``, the search's first, then the audit's."""
        rounds = [r[0] for r in self.query(f"SELECT DISTINCT round FROM ({_QUEUE}) ORDER BY round")]
        if not rounds:
            rounds = [r[0] for r in self.query("SELECT MAX(round) FROM rounds") if r[0] is not None]
        items: list[tuple[int, str]] = []
        for rnd in rounds:
            items += self.query(
                "SELECT item, source FROM (SELECT item, source, 0 AS k, pos FROM round_items WHERE round = ? "
                "UNION ALL SELECT item, 'audit', 1, pos FROM audit WHERE round = ? "
                "AND item NOT IN (SELECT item FROM round_items)) ORDER BY k, pos", (rnd, rnd))
        return rounds, items

    @staticmethod
    def origin(db, item: int) -> str:
        """Where an answer to ``item`` comes from: ``round``, ``audit`` or ``extra`` (neither)."""
        if db.execute("SELECT 1 FROM round_items WHERE item = ?", (item,)).fetchone():
            return "round"
        if db.execute("SELECT 1 FROM audit WHERE item = ?", (item,)).fetchone():
            return "audit"
        return "extra"

    # --- the audit sample -----------------------------------------------------------------

    @staticmethod
    def audit_status(db) -> tuple[int, int]:
        """Audit items drawn so far, and how many of them are answered positive."""
        drawn = db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        positives = db.execute("SELECT COUNT(*) FROM audit a JOIN labels l ON l.item = a.item "
                               "WHERE l.label = 'positive'").fetchone()[0]
        return int(drawn), int(positives)

    @staticmethod
    def add_audit(db, items, round_id: int, drawn: int) -> int:
        """Append ``items`` to the audit in order after the ``drawn`` already there (as
        :meth:`audit_status` counts them), shown in ``round_id``; returns how many of them
        are now waiting (neither labelled nor proposed by the search)."""
        items = [int(i) for i in items]
        db.executemany("INSERT INTO audit (pos, item, round) VALUES (?, ?, ?)",
                       [(drawn + k, i, round_id) for k, i in enumerate(items)])
        if not items:
            return 0
        marks = ",".join("?" * len(items))
        known = {r[0] for r in db.execute(f"SELECT item FROM labels WHERE item IN ({marks}) UNION "
                                          f"SELECT item FROM round_items WHERE item IN ({marks})", items * 2)}
        return sum(1 for i in items if i not in known)

    def audit_answers(self) -> tuple[np.ndarray, np.ndarray]:
        """Audit items answered positive or negative, in audit order, and their answers."""
        rows = self.query("SELECT a.item, l.label FROM audit a JOIN labels l ON l.item = a.item "
                          "WHERE l.label IN ('positive', 'negative') ORDER BY a.pos")
        return np.array([r[0] for r in rows], np.int64), np.array([r[1] == "positive" for r in rows], bool)

    def audit_labels_in_order(self) -> list[str | None]:
        """The current label of every audit item in audit order (None: not answered yet)."""
        return [r[0] for r in self.query("SELECT l.label FROM audit a LEFT JOIN labels l ON l.item = a.item "
                                         "ORDER BY a.pos")]

    def audit_size(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM audit")[0][0])
