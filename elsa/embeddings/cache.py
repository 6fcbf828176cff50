"""A content-addressed store of embeddings, one SQLite file per encoder fingerprint.

Each image's vector is stored under the SHA-256 of its content (a file's bytes, or an
array image's shape and pixels), so a changed image is re-embedded alone, a renamed or
duplicated one is not re-embedded at all, and an interrupted run keeps every shard it
committed. Images that could not be decoded are stored with their reason, so a re-run
does not decode them again.

Files live in ``$ELSA_CACHE_DIR`` (default ``~/.cache/elsa``) under ``embeddings/``.
A cache that cannot be opened or written (read-only home, full disk) only costs speed:
the store then lives in memory for the run.

``FileHashes`` remembers each file's hash by path, size and modification time, so a
second run over a large folder does not read every file again to find it unchanged.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np

from .._io import cache_root
from ..digests import sha256_file

_CHUNK = 500  # SQLite host parameters per statement


def cache_dir() -> Path:
    return cache_root() / "embeddings"


_VECTORS = ("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)",
            "CREATE TABLE IF NOT EXISTS failures (key TEXT PRIMARY KEY, reason TEXT NOT NULL)")
_FILES = ("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER, sha TEXT NOT NULL)",)


def _open(path: Path | None, schema: tuple[str, ...]) -> tuple[sqlite3.Connection, Path | None]:
    """A connection with ``schema`` created: on disk (WAL) if possible, else in memory."""
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            for statement in schema:
                db.execute(statement)
            db.commit()
            return db, path
        except (OSError, sqlite3.Error):
            pass  # unwritable or damaged: this run works in memory
    db = sqlite3.connect(":memory:")
    for statement in schema:
        db.execute(statement)
    return db, None


class VectorStore:
    """Vectors by content key for one encoder; ``persistent=False`` keeps them in memory."""

    def __init__(self, fingerprint: str, persistent: bool = True):
        path = cache_dir() / f"vectors-{fingerprint[:24]}.sqlite" if persistent else None
        self.db, self.path = _open(path, _VECTORS)

    def _select(self, table: str, column: str, keys: list[str]) -> dict[str, object]:
        found: dict[str, object] = {}
        for i in range(0, len(keys), _CHUNK):
            part = keys[i:i + _CHUNK]
            q = f"SELECT key, {column} FROM {table} WHERE key IN ({','.join('?' * len(part))})"
            found.update(self.db.execute(q, part).fetchall())
        return found

    def known(self, keys: list[str]) -> tuple[set[str], dict[str, str]]:
        """Keys with a stored vector, and keys stored as failures with their reasons."""
        return set(self._select("vectors", "1", keys)), self._select("failures", "reason", keys)

    def get(self, keys: list[str]) -> np.ndarray:
        """float32 ``(len(keys), D)`` in the order of ``keys``; every key must be stored."""
        blobs = self._select("vectors", "vec", list(dict.fromkeys(keys)))
        return np.stack([np.frombuffer(blobs[k], dtype=np.float32) for k in keys])

    def put(self, vectors: dict[str, np.ndarray], failures: dict[str, str]) -> None:
        """Store one shard in one transaction; on a write error keep going in memory."""
        rows = [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()]
        try:
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
                self.db.executemany("INSERT OR REPLACE INTO failures VALUES (?, ?)", list(failures.items()))
        except sqlite3.Error:
            if self.path is None:
                raise
            self._to_memory()
            self.put(vectors, failures)

    def _to_memory(self) -> None:
        memory, _ = _open(None, _VECTORS)
        try:
            self.db.backup(memory)
        except sqlite3.Error:
            pass  # what was committed stays on disk for the next run
        self.db.close()
        self.db, self.path = memory, None

    def close(self) -> None:
        self.db.close()


class FileHashes:
    """SHA-256 of files, remembered by (absolute path, size, mtime in ns)."""

    def __init__(self, persistent: bool = True):
        self.db, _ = _open(cache_dir() / "file-hashes.sqlite" if persistent else None, _FILES)
        self._new: list[tuple] = []

    def sha(self, path: Path) -> str | None:
        """The file's hash, or None if it cannot be read."""
        try:
            st = os.stat(path)
            key = os.path.abspath(path)  # not resolve(): a realpath walk per file cost 0.1 ms
            row = self.db.execute("SELECT size, mtime, sha FROM files WHERE path = ?", (key,)).fetchone()
            if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
                return row[2]
            sha = sha256_file(path)
        except OSError:
            return None
        self._new.append((key, st.st_size, st.st_mtime_ns, sha))
        if len(self._new) >= 1000:
            self.flush()
        return sha

    def flush(self) -> None:
        try:
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", self._new)
        except sqlite3.Error:
            pass  # only a speed-up
        self._new = []

    def close(self) -> None:
        self.flush()
        self.db.close()
