"""The session file: one SQLite database per project directory, every answer committed at once.

Tables
------
``meta``         key -> JSON value: the session's settings (pool, target, strategy, ...).
``items``        id -> name (the manifest's item path): the only images the app may serve.
``rounds``       one row per batch the search proposed (kind ``epoch`` or ``final``; or
                 ``audit``, audit items alone), with the last event id when it was
                 proposed (seeds added later join the next round's frontier) and the
                 search's random generator state after it (``rng``, JSON), from which the
                 next round continues.
``round_items``  the items of each round in priority order, with the sampler that chose
                 them; an item is proposed at most once (``UNIQUE(item)``).
``events``       append-only label events: ``positive``, ``negative``, ``unsure``, or
                 ``undo`` (which names the event it takes back), with who, when and
                 where the answer came from (``seed``, ``round``, ``audit``, ``extra``,
                 ``import``).
``audit``        the audit sample drawn so far (random items in a fixed order, hidden from
                 the search; see :mod:`elsa.stopping`), with the round they were shown in.
``checks``       second answers asked for (issue 41; :mod:`elsa.session.checks`): one row per
                 item, with the round that asked and its place there, the reason (``double``: a second
                 labeller; ``second-look``: the search) and the answer's event (NULL while
                 waiting). A check's answer is an event of origin ``check``; a
                 disagreement's resolution one of origin ``resolve``.
``labels``       the current label of every labelled item and the event that set it,
                 written in the same transaction as the event; it is what makes "first
                 answer wins" one indexed lookup.

Durability: WAL journal with ``synchronous=FULL``, one transaction per answer (or per
bulk answer), ``BEGIN IMMEDIATE`` so concurrent writers queue instead of interleaving.
A ``kill -9`` or a power cut loses at most the transaction being written; a full disk
fails that transaction with :class:`StorageError` and leaves every earlier one intact.
Nothing is pickled: the search state is recomputed from these rows.

Every SQL statement is behind a named method: labels and events here, rounds and the
audit in :mod:`elsa.session.rounds`.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..exceptions import ConflictError, InputError, StorageError
from ..search.registry import EPOCHS_STORED_AS_NO_LIMIT
from .labels import CODES
from .rounds import RoundRecords

SCHEMA_VERSION = 5  # 2: the audit table; 3: the search generator's state with each round; 4: recall:R@C is
# sample-wait; 5: the checks table (second answers)
DB_NAME = "elsa-session.sqlite"
DEMO_FOLDER = "elsa-label-demo"  # where `elsa label` with no arguments keeps its demo session
LOCK_NAME = "elsa-session.lock"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE rounds (
    round INTEGER PRIMARY KEY, kind TEXT NOT NULL, epoch INTEGER NOT NULL, created REAL NOT NULL,
    after_event INTEGER NOT NULL, sources TEXT NOT NULL, seconds TEXT NOT NULL, rng TEXT
);
CREATE TABLE round_items (
    round INTEGER NOT NULL REFERENCES rounds(round), pos INTEGER NOT NULL, item INTEGER NOT NULL UNIQUE,
    source TEXT NOT NULL, PRIMARY KEY (round, pos)
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, item INTEGER NOT NULL, label TEXT NOT NULL,
    origin TEXT NOT NULL, user TEXT NOT NULL, at REAL NOT NULL, undoes INTEGER
);
CREATE INDEX events_item ON events(item);
CREATE TABLE labels (item INTEGER PRIMARY KEY, label TEXT NOT NULL, event INTEGER NOT NULL);
CREATE TABLE audit (pos INTEGER PRIMARY KEY, item INTEGER NOT NULL UNIQUE, round INTEGER NOT NULL);
CREATE TABLE checks (
    item INTEGER PRIMARY KEY, round INTEGER NOT NULL, pos INTEGER NOT NULL, reason TEXT NOT NULL, event INTEGER
);
"""
# Every answer not taken back (an undo is an event of its own that names the event it takes back).
LIVE_ANSWERS = ("SELECT id, item, label, origin, user, at FROM events WHERE label != 'undo' "
                "AND id NOT IN (SELECT undoes FROM events WHERE undoes IS NOT NULL)")
_LEGACY_RECALL = "UPDATE meta SET value = '\"qbcb:' || substr(value, 9) WHERE key = 'stop' AND value LIKE '\"recall:%'"
_MIGRATIONS = {  # from format N to N + 1
    1: ["CREATE TABLE audit (pos INTEGER PRIMARY KEY, item INTEGER NOT NULL UNIQUE, round INTEGER NOT NULL)"],
    2: ["ALTER TABLE rounds ADD COLUMN rng TEXT"],
    # recall:R@C meant QBCB up to format 3; it keeps that meaning under its new name
    3: [_LEGACY_RECALL],
    4: ["CREATE TABLE checks (item INTEGER PRIMARY KEY, round INTEGER NOT NULL, pos INTEGER NOT NULL, "
        "reason TEXT NOT NULL, event INTEGER)"],
}


def _storage_error(exc: sqlite3.Error, path: Path, doing: str) -> StorageError:
    text = str(exc)
    if "full" in text:
        why = "the disk is full"
    elif "readonly" in text or "read-only" in text:
        why = "the session file is read-only"
    elif "locked" in text or "busy" in text:
        why = "another process holds the session file"
    else:
        why = text
    return StorageError(f"could not {doing} in {path}: {why}; every earlier answer is saved")


def no_session(folder: Path) -> InputError:
    return InputError(f"no session in {folder} (no {DB_NAME}); start one with --embeddings E.npy or --records FILE")


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes, for exports, also from read-only storage.

    ``mode=ro`` reads the write-ahead log too, so it sees every committed answer, also while
    ``elsa label`` serves the session. It needs the log's index (``-shm``) to exist or be
    creatable; in a read-only folder after a clean close neither log file exists, the
    database file holds everything, and it is opened ``immutable``. A read-only folder that
    still holds a log (the last session was killed) cannot be read safely this way, and
    says so.
    """
    def connect(query: str) -> sqlite3.Connection:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True, isolation_level=None,
                             check_same_thread=False, timeout=30)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the connection opens lazily
        return db

    try:
        try:
            return connect("mode=ro")
        except sqlite3.OperationalError:
            wal = path.with_name(path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise StorageError(
                    f"the session file {path} has answers in {wal.name} that a read-only folder does not let "
                    "SQLite read; copy the folder somewhere writable and export from the copy"
                ) from None
            return connect("immutable=1")
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path} is not a readable ELSA session file: {exc}") from None


class SessionLock:
    """An exclusive lock on a project directory, held while a session is open for writing.

    An OS file lock (``flock``), so it is released when the process dies, ``kill -9``
    included; a second ``elsa label`` on the same project gets a clear error instead of
    two search loops writing rounds into one file.
    """

    def __init__(self, folder: Path):
        self.path = folder / LOCK_NAME
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(
                f"cannot open the session in {folder} for labelling: its lock file {self.path} cannot be written "
                f"({exc.strerror}); labelling needs write access to the folder, and "
                f"`elsa label {folder} --export FILE` works without it"
            ) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(self._fd, 64).decode(errors="replace").strip() or "another process"
            os.close(self._fd)
            raise InputError(
                f"the session in {folder} is already open (pid {other}); close that `elsa label` first"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, str(os.getpid()).encode())

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Store:
    """Thread-safe access to one session file (one connection, one lock around it): its
    settings, items and labels here, its rounds and audit in :attr:`rounds`
    (:class:`~elsa.session.rounds.RoundRecords`, which reads through :meth:`query`)."""

    def __init__(self, path: Path, *, create: bool = False, read_only: bool = False):
        self.path = Path(path)
        self.lock = threading.RLock()
        self.rounds = RoundRecords(self.query)
        if not create and not self.path.exists():
            raise no_session(self.path.parent)
        if read_only:
            self._db = _connect_read_only(self.path)
            version = self.meta().get("schema")
            if version not in range(1, SCHEMA_VERSION + 1):  # read as it is: no migration writes
                raise InputError(f"{self.path} has session format {version!r}; this ELSA reads formats "
                                 f"1-{SCHEMA_VERSION}")
            return
        self._db = None
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            if create:
                with self.transaction("create the session"):
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        self._db.execute(statement)
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (json.dumps(SCHEMA_VERSION),))
            version = self.meta().get("schema")
            while version in _MIGRATIONS:
                with self.transaction(f"update the session file from format {version}"):
                    for statement in _MIGRATIONS[version]:
                        self._db.execute(statement)
                    version += 1
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (json.dumps(version),))
            if not create:  # a read-only file opens, and would fail only at the first answer: find out now
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute("UPDATE meta SET value = value WHERE key = 'schema'")
                finally:
                    self._db.execute("ROLLBACK")
        except sqlite3.DatabaseError as exc:
            if self._db is not None:
                self._db.close()
            if not create:
                _connect_read_only(self.path).close()  # unreadable: raises InputError; else it is read-only
                raise StorageError(
                    f"cannot open the session in {self.path.parent} for labelling: the folder or the session file is "
                    f"read-only ({exc}); labelling needs write access, and "
                    f"`elsa label {self.path.parent} --export FILE` works without it"
                ) from None
            raise InputError(f"{self.path} is not a readable ELSA session file: {exc}") from None
        if version != SCHEMA_VERSION:
            raise InputError(f"{self.path} has session format {version!r}; this ELSA reads format {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self, doing: str):
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any SQLite failure rolls back and becomes a StorageError."""
        with self.lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _storage_error(exc, self.path, doing) from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(exc, sqlite3.Error):
                    raise _storage_error(exc, self.path, doing) from None
                raise

    def query(self, sql: str, params=()) -> list[tuple]:
        with self.lock:
            return self._db.execute(sql, params).fetchall()

    # --- settings -------------------------------------------------------------------

    def meta(self) -> dict:
        meta = {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta").fetchall()}
        if meta.get("schema", SCHEMA_VERSION) < 4 and str(meta.get("stop") or "").startswith("recall:"):
            meta["stop"] = "qbcb:" + meta["stop"][len("recall:"):]  # read-only, unmigrated: QBCB, as it was
        if isinstance(meta.get("epochs"), int) and meta["epochs"] >= EPOCHS_STORED_AS_NO_LIMIT:
            meta["epochs"] = None  # how "no limit" was stored before the search plan
        return meta

    def set_meta(self, db, values: dict) -> None:
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in values.items()])

    # --- labels ---------------------------------------------------------------------

    def current(self, db, item: int) -> tuple[str, int] | None:
        row = db.execute("SELECT label, event FROM labels WHERE item = ?", (item,)).fetchone()
        return None if row is None else (row[0], row[1])

    def add_label(self, db, item: int, label: str, *, origin: str, user: str, expect: str | None) -> int:
        """Record ``label`` for ``item`` if its current label is ``expect`` (None: unlabelled).

        Raises :class:`ConflictError` otherwise: the first answer wins.
        """
        now = self.current(db, item)
        if (now[0] if now else None) != expect:
            who = db.execute("SELECT user, at FROM events WHERE id = ?", (now[1],)).fetchone() if now else None
            said = f"answered {now[0]!r} by {who[0]} at {time.strftime('%H:%M:%S', time.localtime(who[1]))}" if now else "unlabelled"
            raise ConflictError(f"item {item} is {said}, not {expect or 'unlabelled'}; reload to see its current label",
                                item=item, current=now[0] if now else None)
        cur = db.execute(
            "INSERT INTO events (item, label, origin, user, at) VALUES (?, ?, ?, ?, ?)",
            (item, label, origin, user, time.time()),
        )
        db.execute("INSERT OR REPLACE INTO labels VALUES (?, ?, ?)", (item, label, cur.lastrowid))
        return int(cur.lastrowid)

    def undo(self, db, event: int, *, user: str) -> tuple[int, str | None]:
        """Take back ``event``, which must still be its item's current label.

        The item returns to the label it had before (an earlier event not itself taken
        back), or to unlabelled. Returns ``(item, label now)``. A check's answer
        (:mod:`elsa.session.checks`) is taken back alone: the item's label stays, and the
        check waits again. An answer someone has checked is taken back only after the check
        (a resolution may be taken back at any time: the disagreement is open again).
        """
        row = db.execute("SELECT item, label, undoes, origin FROM events WHERE id = ?", (event,)).fetchone()
        if row is None or row[1] == "undo":
            raise InputError(f"no answer with event id {event} to undo")
        item = row[0]
        now = self.current(db, item)
        if row[3] == "check":
            if db.execute("UPDATE checks SET event = NULL WHERE event = ?", (event,)).rowcount == 0:
                raise ConflictError(f"the check {event} of item {item} was already taken back", item=item,
                                    current=now[0] if now else None)
            db.execute("INSERT INTO events (item, label, origin, user, at, undoes) VALUES (?, 'undo', 'undo', ?, ?, ?)",
                       (item, user, time.time(), event))
            return item, now[0] if now else None
        if now is None or now[1] != event:
            current = now[0] if now else None
            if db.execute("SELECT 1 FROM events WHERE undoes = ?", (event,)).fetchone():
                raise ConflictError(f"answer {event} (item {item}) was already taken back; item {item} is now "
                                    f"{current or 'unlabelled'}", item=item, current=current)
            raise ConflictError(f"item {item} was answered again since event {event}; undo that answer first",
                                item=item, current=current)
        checked = db.execute("SELECT e.user FROM checks c JOIN events e ON e.id = c.event WHERE c.item = ?",
                             (item,)).fetchone()
        if checked is not None and row[3] != "resolve":  # the check answers this answer: take it back first
            raise ConflictError(f"{checked[0]} has checked the answer to item {item} since; undo that check first",
                                item=item, current=now[0])
        db.execute("INSERT INTO events (item, label, origin, user, at, undoes) VALUES (?, 'undo', 'undo', ?, ?, ?)",
                   (item, user, time.time(), event))
        undone = {r[0] for r in db.execute("SELECT undoes FROM events WHERE item = ? AND label = 'undo'", (item,))}
        earlier = db.execute(
            "SELECT id, label FROM events WHERE item = ? AND label != 'undo' AND origin != 'check' AND id < ? "
            "ORDER BY id DESC", (item, event)
        ).fetchall()
        previous = next(((i, lab) for i, lab in earlier if i not in undone), None)
        if previous is None:
            db.execute("DELETE FROM labels WHERE item = ?", (item,))
            return item, None
        db.execute("INSERT OR REPLACE INTO labels VALUES (?, ?, ?)", (item, previous[1], previous[0]))
        return item, previous[1]

    # --- reading labels -------------------------------------------------------------

    def label_codes(self, n: int, *, search_view: bool = False) -> np.ndarray:
        """(n,) int8 of current labels: +1 positive, -1 negative, 2 unsure, 0 unlabelled.

        ``search_view``: only what the search may see: audit answers stay hidden until the
        search proposes the item itself.
        """
        out = np.zeros(n, np.int8)
        sql = "SELECT item, label FROM labels"
        if search_view:
            sql = ("SELECT l.item, l.label FROM labels l JOIN events e ON e.id = l.event "
                   "WHERE e.origin != 'audit' OR l.item IN (SELECT item FROM round_items)")
        rows = self.query(sql)
        if rows:
            ids, labs = zip(*rows)
            out[list(ids)] = [CODES[lab] for lab in labs]
        return out

    def labelled_at(self, event: int) -> np.ndarray:
        """Items that had a label just after ``event``: an answer by then that no undo by
        then took back (an undo restores an earlier answer, itself not taken back)."""
        rows = self.query("SELECT DISTINCT item FROM events WHERE id <= ? AND label NOT IN ('undo') "
                          "AND origin != 'check' AND id NOT IN "
                          "(SELECT undoes FROM events WHERE label = 'undo' AND id <= ?)", (event, event))
        return np.array([r[0] for r in rows], np.int64)

    def last_event(self) -> int:
        return int(self.query("SELECT COALESCE(MAX(id), 0) FROM events")[0][0])

    def positives_given_after(self, event: int) -> list[int]:
        """Items made positive by a seed or an import after ``event`` (and positive still)."""
        return [r[0] for r in self.query(
            "SELECT l.item FROM labels l JOIN events e ON e.id = l.event "
            "WHERE e.origin IN ('seed', 'import') AND l.label = 'positive' AND e.id > ?", (event,))]

    @staticmethod
    def latest_answer(db) -> int | None:
        """The event of the newest answer that stands and is not a seed (what undo takes back):
        a current label, or a check's answer."""
        row = db.execute("SELECT MAX(e) FROM (SELECT l.event AS e FROM labels l JOIN events ev ON ev.id = l.event "
                         "WHERE ev.origin != 'seed' UNION ALL SELECT event FROM checks WHERE event IS NOT NULL)"
                         ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def positives_by_origin(self) -> dict[str, int]:
        return dict(self.query("SELECT e.origin, COUNT(*) FROM labels l JOIN events e ON e.id = l.event "
                               "WHERE l.label = 'positive' GROUP BY e.origin"))

    def items_labelled(self, label: str) -> np.ndarray:
        """Items whose current label is ``label``, in the order they got it."""
        return np.array([r[0] for r in self.query("SELECT item FROM labels WHERE label = ? ORDER BY event",
                                                  (label,))], np.int64)

    def examples(self, given: tuple[str, ...], limit: int) -> list[tuple[int, str]]:
        """Up to ``limit`` positives as ``(item, origin)``: those from the ``given`` origins first,
        each group in the order they became positive."""
        marks = ",".join("?" * len(given))
        return self.query(
            "SELECT l.item, e.origin FROM labels l JOIN events e ON e.id = l.event WHERE l.label = 'positive' "
            f"ORDER BY e.origin NOT IN ({marks}), l.event LIMIT ?", (*given, limit))

    def item_labels(self, items) -> dict[int, dict]:
        """Current label, event, who and when for ``items`` (unlabelled ones are absent)."""
        items = [int(i) for i in items]
        out = {}
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            rows = self.query(
                "SELECT l.item, l.label, l.event, e.user, e.at FROM labels l JOIN events e ON e.id = l.event "
                f"WHERE l.item IN ({','.join('?' * len(chunk))})", chunk)
            out.update({r[0]: {"label": r[1], "event": r[2], "user": r[3], "at": r[4]} for r in rows})
        return out

    def item_names(self) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM items ORDER BY id")]

    @staticmethod
    def add_items(db, names) -> None:
        db.executemany("INSERT INTO items VALUES (?, ?)", enumerate(names))

    def live_answers(self) -> dict[int, list[tuple]]:
        """Every answer not taken back, by item, in order: ``(label, origin, user, at)`` (a
        re-answered unsure item, a check's second answer and a resolution included)."""
        out: dict[int, list[tuple]] = {}
        for _, item, *answer in self.query(LIVE_ANSWERS + " ORDER BY id"):
            out.setdefault(item, []).append(tuple(answer))
        return out

    def label_history(self) -> list[tuple]:
        """``(item, label, origin, user, at)`` of every current label, in the order they were set."""
        return self.query("SELECT l.item, l.label, e.origin, e.user, e.at FROM labels l JOIN events e "
                          "ON e.id = l.event ORDER BY l.event")

