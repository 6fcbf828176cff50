"""Second answers in a session: "please check" cards, agreement between labellers, and
disagreements to resolve (issue 41).

A *check* asks for a second answer to an item someone has answered. Two things make one:

* ``double``: a share of the items of every search round (the session's ``double_share``,
  drawn per item from the random state, so a reopened session draws the same) goes to a
  second labeller: anyone but the person who answered it first. It does not hold up the
  search: the next round is computed when the round's own items are answered.
* ``second-look``: the search itself asks again about answers its models doubt (a plan
  with ``second_looks``, :mod:`elsa.search.second_look`): a round of its own, answered by
  anyone, the first labeller included; the search waits for it as for any round.

The check is answered blind: its card shows no earlier answer. The second answer is an
event of origin ``check`` in the session's history, with who gave it; it does not change
the item's standing label. Where it disagrees with the first answer (both "yes" or "no"),
the item is a *disagreement* until someone resolves it (an event of origin ``resolve``,
which becomes the standing label). While unresolved, the search reads both answers
weighed by each labeller's estimated reliability (:mod:`elsa.search.reliability`), and
the resolutions are what that estimate learns most from. Agreement is Cohen's kappa
(scikit-learn) over the items two labellers (or one labeller twice) both answered "yes"
or "no".

The ``checks`` table (session format 5) holds one row per item: the round that asked and its
place in it, the reason, and the check's answer (its event; NULL while waiting). Its SQL is here, in
:class:`CheckRecords`.
"""

from __future__ import annotations

import json
import time
from typing import Callable

import numpy as np

from .._validation import check_float
from ..exceptions import ConflictError, InputError
from ..oracle.simulated import keyed_uniform
from ..search.reliability import UNRESOLVED, Votes, flip_rates
from .labels import normalise_label
from .ledger import Ledger
from .store import LIVE_ANSWERS

DOUBLE, SECOND_LOOK = "double", "second-look"
DECIDED = ("positive", "negative")
CHECKED = ("check", "resolve")  # the origins of answers that are not the answer a check checks


def first_of(answers: list[dict]) -> dict | None:
    """The answer a check checks, among an item's live answers: the newest that is neither a
    check nor a resolution."""
    return next((a for a in reversed(answers) if a["origin"] not in CHECKED), None)


def double_key(random_state: int) -> np.uint64:
    """The key of a session's draws of the items given to two labellers."""
    return np.uint64(np.random.default_rng([int(random_state), 41]).integers(2**63, dtype=np.uint64))


class CheckRecords:
    """The ``checks`` table; ``query(sql, params)`` reads it (:meth:`Store.query`)."""

    def __init__(self, query):
        self.query = query

    @staticmethod
    def add_doubles(db, round_id: int, items, share: float, random_state: int, budget_left: int | None) -> int:
        """Give the share ``share`` of a new round's ``items`` to a second labeller, within the
        labels ``budget_left`` after the round (None: no limit) less the checks already
        waiting, first items first; returns how many."""
        ids = np.asarray(items, np.int64)
        if share <= 0 or not ids.size:
            return 0
        chosen = ids[keyed_uniform(double_key(random_state), ids, np.zeros(ids.size, np.uint32)) < share]
        if budget_left is not None:
            waiting = db.execute("SELECT COUNT(*) FROM checks WHERE reason = ? AND event IS NULL", (DOUBLE,)).fetchone()
            chosen = chosen[:max(0, budget_left - int(waiting[0]))]
        db.executemany("INSERT OR IGNORE INTO checks (item, round, pos, reason) VALUES (?, ?, ?, ?)",
                       [(int(i), round_id, pos, DOUBLE) for pos, i in enumerate(chosen)])
        return int(chosen.size)

    @staticmethod
    def add_second_looks(db, epoch: int, after_event: int, items, seconds: dict, rng: dict) -> int:
        """A round of second looks the search asked for (kind ``check``); returns the items
        waiting: those not checked already (a check waiting for a second labeller becomes the
        search's, which waits for it)."""
        answered = {r[0] for r in db.execute("SELECT item FROM checks WHERE event IS NOT NULL")}
        items = [int(i) for i in items if int(i) not in answered]
        if not items:
            return 0
        cur = db.execute("INSERT INTO rounds (kind, epoch, created, after_event, sources, seconds, rng) "
                         "VALUES ('check', ?, ?, ?, ?, ?, ?)", (epoch, time.time(), after_event,
                                                               json.dumps({SECOND_LOOK: len(items)}),
                                                               json.dumps(seconds), json.dumps(rng)))
        db.executemany("INSERT OR REPLACE INTO checks (item, round, pos, reason) VALUES (?, ?, ?, ?)",
                       [(i, cur.lastrowid, pos, SECOND_LOOK) for pos, i in enumerate(items)])
        return len(items)

    @staticmethod
    def check_of(db, item: int) -> tuple[str, int | None] | None:
        """``(reason, answer event or None)`` of the check of ``item``, or None without one."""
        row = db.execute("SELECT reason, event FROM checks WHERE item = ?", (item,)).fetchone()
        return None if row is None else (row[0], row[1])

    @staticmethod
    def first_answer(db, item: int) -> tuple[int, str, str] | None:
        """``(event, label, user)`` of the answer a check checks: the newest live answer that is
        neither a check nor a resolution."""
        return db.execute(f"SELECT id, label, user FROM ({LIVE_ANSWERS}) WHERE item = ? "
                          "AND origin NOT IN ('check', 'resolve') ORDER BY id DESC LIMIT 1", (item,)).fetchone()

    @staticmethod
    def record_answer(db, item: int, label: str, user: str) -> int:
        cur = db.execute("INSERT INTO events (item, label, origin, user, at) VALUES (?, ?, 'check', ?, ?)",
                         (item, label, user, time.time()))
        db.execute("UPDATE checks SET event = ? WHERE item = ?", (cur.lastrowid, item))
        return int(cur.lastrowid)

    def live(self) -> dict[int, list[dict]]:
        """The live answers of the items in a check, in order: ``{event, label, origin, user, at}``."""
        out: dict[int, list[dict]] = {}
        for event, item, label, origin, user, at in self.query(
                LIVE_ANSWERS + " AND item IN (SELECT item FROM checks) ORDER BY id"):
            out.setdefault(item, []).append({"event": event, "label": label, "origin": origin, "user": user, "at": at})
        return out

    def waiting(self, live: dict[int, list[dict]] | None = None) -> list[tuple[int, str, str]]:
        """``(item, reason, first answer's user)`` of every check whose item is answered and
        whose second answer is not in, oldest round first (``live``: :meth:`live`, when read)."""
        rows = self.query("SELECT c.item, c.reason FROM checks c WHERE c.event IS NULL AND c.item IN "
                          "(SELECT item FROM labels) ORDER BY c.round, c.pos")
        if live is None:
            live = self.live() if rows else {}
        return [(item, reason, (first_of(live.get(item, [])) or {}).get("user", "")) for item, reason in rows]

    def answered(self, live: dict[int, list[dict]] | None = None) -> list[dict]:
        """Every check with its second answer in: the item, the reason, the first answer, the
        second and the resolution (None where there is none), each ``{label, user, at, event}``
        (``live``: :meth:`live`, when read)."""
        rows = self.query("SELECT item, reason, event FROM checks WHERE event IS NOT NULL ORDER BY event")
        if not rows:
            return []
        live = self.live() if live is None else live
        standing = dict(self.query("SELECT l.item, l.event FROM labels l JOIN events e ON e.id = l.event "
                                   "WHERE e.origin = 'resolve'"))
        out = []
        for item, reason, event in rows:
            answers = live.get(item, [])
            first = first_of(answers)
            second = next((a for a in answers if a["event"] == event), None)
            if first is not None and second is not None:
                out.append({"item": item, "reason": reason, "first": first, "second": second,
                            "resolution": next((a for a in answers if a["event"] == standing.get(item)), None)})
        return out

    def count_answered(self, reason: str | None = None) -> int:
        """Checks answered (of ``reason``, or all)."""
        if reason is None:
            return int(self.query("SELECT COUNT(*) FROM checks WHERE event IS NOT NULL")[0][0])
        return int(self.query("SELECT COUNT(*) FROM checks WHERE event IS NOT NULL AND reason = ?", (reason,))[0][0])


class Checks:
    """Second answers in the session in ``ledger`` over the items ``names``; ``user``
    answers unless a call names another; ``changed(wake)`` after every change, as
    :class:`~elsa.session.answers.Answers` has it (:attr:`Session.checks <elsa.session.Session>`)."""

    def __init__(self, ledger: Ledger, names: list[str], user: str, changed: Callable[[bool], None], check_item):
        self.ledger, self.store, self.names, self.user = ledger, ledger.store, names, user
        self.changed, self.check_item = changed, check_item
        self.records = CheckRecords(self.store.query)

    def set_share(self, share: float) -> None:
        """Give this share of the items of every round from now on to a second labeller too."""
        self.ledger.set_meta({"double_share": check_float(share, "double share", minimum=0.0, maximum=1.0)})

    # --- answers ----------------------------------------------------------------------

    def answer(self, item, label, *, user: str | None = None) -> int:
        """The second answer to ``item``'s check, by ``user``; returns its event id.

        :class:`ConflictError` when someone else checked it first; :class:`InputError` when
        the item has no check, its first answer is not in yet, or (a ``double`` check) the
        user is the one who answered it first.
        """
        item, label, user = self.check_item(item), normalise_label(label), user or self.user
        with self.ledger.write("save the check") as db:
            check = CheckRecords.check_of(db, item)
            if check is None:
                raise InputError(f"item {item} has no check to answer; answer it as any other item")
            reason, done = check
            if done is not None:
                who = db.execute("SELECT user FROM events WHERE id = ?", (done,)).fetchone()[0]
                raise ConflictError(f"item {item} was already checked by {who}; reload to see it", item=item,
                                    current=self.store.current(db, item)[0])
            first = CheckRecords.first_answer(db, item)
            if first is None:
                raise InputError(f"item {item} has no answer to check yet")
            if reason == DOUBLE and first[2] == user:
                raise InputError(f"{user} answered item {item} first; its check goes to another labeller")
            event = CheckRecords.record_answer(db, item, label, user)
            self.ledger.pending -= reason == SECOND_LOOK
        self.changed(True)
        return event

    def resolve(self, item, label, *, user: str | None = None) -> int:
        """Settle the disagreement over ``item`` with ``label``, which becomes its standing
        label (by ``user``); returns the event id. :class:`ConflictError` when someone
        resolved it first, :class:`InputError` when it is no disagreement."""
        item, label = self.check_item(item), normalise_label(label)
        if label not in DECIDED:
            raise InputError(f"a disagreement is resolved positive or negative, got {label}")
        with self.ledger.write("save the resolution") as db:  # one view: two people resolving, the first wins
            now = self.store.current(db, item)
            by = db.execute("SELECT user FROM events WHERE id = ? AND origin = 'resolve'",
                            (now[1] if now else -1,)).fetchone()
            if by is not None:
                raise ConflictError(f"item {item} was already resolved {now[0]} by {by[0]}; reload to see it",
                                    item=item, current=now[0])
            if item not in {d["item"] for d in self.disagreements()}:
                raise InputError(f"item {item} is not a disagreement waiting to be resolved")
            event = self.store.add_label(db, item, label, origin="resolve", user=user or self.user,
                                         expect=now[0] if now else None)
        self.changed(True)
        return event

    # --- reading ----------------------------------------------------------------------

    def waiting_for(self, user: str | None = None) -> list[tuple[int, str]]:
        """``(item, reason)`` of the checks ``user`` may answer now: the search's second looks,
        and the items someone else answered first that go to two."""
        user = user or self.user
        return [(item, reason) for item, reason, first in self.records.waiting()
                if reason == SECOND_LOOK or first != user]

    def disagreements(self, *, resolved: bool = False, answered: list[dict] | None = None) -> list[dict]:
        """The checks whose two answers differ ("yes" against "no"), unresolved ones (or,
        ``resolved``, all), in the order their second answers came (of ``answered``:
        :meth:`CheckRecords.answered`, when read)."""
        return [c for c in (self.records.answered() if answered is None else answered)
                if c["first"]["label"] in DECIDED and c["second"]["label"] in DECIDED
                and c["first"]["label"] != c["second"]["label"] and (resolved or c["resolution"] is None)]

    def agreement(self) -> dict:
        """Cohen's kappa for every pair of labellers over the items both answered "yes" or "no"
        (a pair of one name: one labeller asked twice), and over all pairs together; with
        the checks waiting and the disagreements unresolved."""
        from sklearn.metrics import cohen_kappa_score

        live = self.records.live()  # read once: the answers, the waiting checks and the disagreements
        answered = self.records.answered(live)
        pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for c in answered:
            a, b = c["first"], c["second"]
            if a["label"] in DECIDED and b["label"] in DECIDED:
                key = tuple(sorted((a["user"], b["user"])))
                first, second = (a, b) if key == (a["user"], b["user"]) else (b, a)
                pairs.setdefault(key, []).append((first["label"], second["label"]))

        def summary(labels: list[tuple[str, str]]) -> dict:
            x, y = zip(*labels)
            agree = sum(u == v for u, v in labels)
            kappa = None
            if len(set(x) | set(y)) > 1:
                kappa = float(cohen_kappa_score(x, y, labels=list(DECIDED)))
                kappa = None if np.isnan(kappa) else round(kappa, 3)
            return {"items": len(labels), "agree": agree, "kappa": kappa}

        every = [pair for labels in pairs.values() for pair in labels]
        return {"pairs": [{"users": list(k), **summary(v)} for k, v in sorted(pairs.items())],
                "overall": summary(every) if every else None, "checks_waiting": len(self.records.waiting(live)),
                "disagreements": len(self.disagreements(answered=answered))}

    def votes(self) -> tuple[Votes, int]:
        """What the search reads of the checks: the items answered twice "yes" or "no" and who
        said what (:class:`~elsa.search.reliability.Votes`, resolutions included), and the
        second labellers' answers to spend from the budget (the ``double`` checks answered)."""
        answered = self.records.answered()
        rows = [c for c in answered if c["first"]["label"] in DECIDED and c["second"]["label"] in DECIDED]
        names = sorted({c[k]["user"] for c in rows for k in ("first", "second")})
        index = {n: i for i, n in enumerate(names)}
        voted = {c["item"] for c in rows}
        votes = Votes(names=tuple(names), also=np.array([c["item"] for c in answered if c["item"] not in voted],
                                                        np.int64))
        if rows:
            votes.add([c["item"] for c in rows], [index[c["first"]["user"]] for c in rows],
                      [c["first"]["label"] == "positive" for c in rows], [index[c["second"]["user"]] for c in rows],
                      [c["second"]["label"] == "positive" for c in rows])
            votes.resolved = np.array([UNRESOLVED if c["resolution"] is None
                                       else int(c["resolution"]["label"] == "positive") for c in rows], np.int8)
        return votes, self.records.count_answered(DOUBLE)

    def reliability(self) -> dict[str, float]:
        """Each labeller's estimated chance of a wrong answer, from the checks (:mod:`elsa.search.reliability`)."""
        votes, _ = self.votes()
        if not len(votes):
            return {}
        eps = flip_rates(votes, self.store.label_codes(len(self.names)))
        return {name: round(float(e), 4) for name, e in zip(votes.names, eps)}
