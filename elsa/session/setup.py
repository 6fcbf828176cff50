"""Starting a session: every setting and input file checked before anything is written,
the session file written in one transaction, and a start that fails taken back.

:func:`check_new_session` reads and checks what :meth:`Session.create` is given;
:func:`start_session` writes it under the project's lock and leaves nothing behind
(no session file, no lock file, no folder it made) if anything fails, so the same
command can simply be run again.
"""

from __future__ import annotations

import getpass
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .._io import load_npy
from .._validation import check_embeddings, check_float
from ..digests import file_digest
from ..exceptions import InputError, ParameterError
from ..plan import SearchPlan
from ..search.registry import check_pool_kind
from .images import image_source
from .store import DB_NAME, LOCK_NAME, SessionLock, Store

@dataclass
class NewSession:
    """A checked session, not yet written: its settings, item names and starting labels."""

    meta: dict
    names: list[str]
    seed_ids: list[int]
    imported: list[tuple[int, str]]


@dataclass(frozen=True)
class PoolFiles:
    """A session's pool as files: ``path`` is embeddings (a ``.npy`` from ``elsa embed``, or a
    ``.npz`` of text features whose manifest names its records) or text records (``.csv``,
    ``.tsv``, ``.jsonl``, ``.ris``, ``.txt``, :mod:`elsa.text`, shown as text cards named by
    record id). ``manifest``: the JSON ``elsa embed`` wrote (default:
    ``<emb>.manifest.json`` beside the array, if present; its item paths name the images
    shown). ``text_columns``: the records' columns searched and shown (as ``--text-columns``)."""

    path: str | Path
    manifest: str | Path | None = None
    text_columns: list[str] | None = None

    @classmethod
    def of(cls, pool) -> "PoolFiles":
        if isinstance(pool, PoolFiles):
            return pool
        if pool is None:
            raise ParameterError("a session needs a pool: embeddings (.npy, .npz) or text records")
        return cls(pool)

    @property
    def is_records(self) -> bool:
        from ..text.records import FORMATS

        return Path(self.path).suffix.lower() in FORMATS


def check_new_session(pool, plan: SearchPlan, *, target: str = "", seeds=(), labels_from=None,
                      double_share: float = 0.0) -> NewSession:
    """Everything :meth:`Session.create` is given checked, and its files read; nothing written.

    ``pool``: a path or :class:`PoolFiles`. ``plan``: the search (:class:`~elsa.plan.SearchPlan`;
    its ``index`` is kept in the session and used again on reopening; a ``qbcb:R@C`` stop
    adds random audit items to each round, 0.1 of its size unless the plan's
    ``audit_share`` says otherwise). ``seeds``: row numbers (ints) or item names (strings:
    image paths as in the manifest, or record ids). ``labels_from``: a CSV or JSONL file of
    labels to start from; a records file's ``label_included`` values start the labels too.
    """
    if not isinstance(plan, SearchPlan):
        raise ParameterError(f"plan must be a SearchPlan, got {type(plan).__name__}")
    X, names, source, recs = _read_pool(PoolFiles.of(pool))
    check_pool_kind(plan.strategy, X)
    seed_ids = _seed_rows(seeds, names)
    imported = []
    if recs is not None and labels_from is None and recs.labels is not None:  # e.g. an ASReview export
        imported = [(i, "positive" if v == 1 else "negative") for i, v in enumerate(recs.labels.tolist()) if v >= 0]
    if labels_from is not None:
        from .transfer import read_labels

        imported = read_labels(labels_from, names)
        clash = [names[i] for i, label in imported if label != "positive" and i in set(seed_ids)]
        if clash:
            raise InputError(f"{labels_from}: seeds {clash[:3]} are labelled negative or unsure there")
    meta = {**source, "shape": list(X.shape), "target": target, **plan.to_dict(),
            "audit_share": plan.round_share(True), "stop_reason": None,
            "double_share": check_float(double_share, "double share", minimum=0.0, maximum=1.0)}
    return NewSession(meta, names, seed_ids, [(i, lab) for i, lab in imported if i not in seed_ids])


def _read_pool(pool: PoolFiles):
    """``(X, item names, the session's source settings, records or None)``."""
    records, text_columns = (pool.path, pool.text_columns) if pool.is_records else (None, pool.text_columns)
    if records is None and Path(pool.path).suffix.lower() == ".npz":
        records, text_columns = text_manifest(Path(pool.path).resolve(), pool.manifest)
    if records is not None:  # a text session: the pool is the records' features
        from ..text.pool import records_pool

        rec_path = Path(records).resolve()
        X, recs, _ = records_pool(rec_path, text_columns)  # its label_included values start the labels
        source = {"embeddings": None, "digest": file_digest(rec_path), "manifest": None, "images": {"kind": "none"},
                  "records": {"path": str(rec_path), "text_columns": list(recs.text_columns),
                              "problems": recs.problems, "describe": True}}  # the target's words are an example
        return X, unique_names(recs.ids), source, recs
    if pool.text_columns is not None:
        raise ParameterError("text columns apply only to text records")
    emb_path = Path(pool.path).resolve()
    X = check_embeddings(load_npy(emb_path, "embeddings"))
    man_path, man = read_manifest(emb_path, pool.manifest)
    names = list(man["items"]) if man and "items" in man else [f"row {i}" for i in range(X.shape[0])]
    if len(names) != X.shape[0]:
        raise InputError(f"the manifest {man_path} lists {len(names)} items but {emb_path} has {X.shape[0]} rows")
    source = {"embeddings": str(emb_path), "digest": file_digest(emb_path),
              "manifest": str(man_path) if man_path else None, "images": image_source(man)}
    return X, names, source, None


def _seed_rows(seeds, names: list[str]) -> list[int]:
    """Seeds as row numbers, each once: ints are rows, strings item names."""
    seeds = [seeds] if isinstance(seeds, (str, int, np.integer)) else list(np.asarray(seeds, dtype=object).ravel())
    by_name = None
    rows = []
    for seed in seeds:
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            rows.append(int(seed))
        elif isinstance(seed, str):
            by_name = by_name or {name: i for i, name in enumerate(names)}
            if seed not in by_name:
                missing = [t for t in seeds if isinstance(t, str) and t not in by_name]
                raise ParameterError(f"seeds {', '.join(map(repr, missing[:3]))} name no item of the pool: give "
                                     "record ids (the record_id column) or image paths as in the manifest")
            rows.append(by_name[seed])
        else:
            raise ParameterError(f"seeds are row numbers or item names, got {seed!r}")
    bad = [i for i in rows if not 0 <= i < len(names)]
    if bad:
        raise ParameterError(f"seed ids {bad[:5]} are outside the pool's rows 0..{len(names) - 1}")
    return list(dict.fromkeys(rows))


def start_session(folder: Path, new: NewSession, user: str, build: Callable):
    """Write ``new`` into ``folder`` (made if needed) and return ``build(store, lock)``.

    On any failure, ``build``'s included, the session file, its lock file and the folders
    this call made are removed, and the error is raised as it was.
    """
    if (folder / DB_NAME).exists():
        raise InputError(f"{folder} already holds a session; reopen it (elsa label --resume {folder}) "
                         "or choose another folder")
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = SessionLock(folder)
    except BaseException:  # the lock is not ours: only the empty folders this call made go
        _remove(folder, made, files=False)
        raise
    store = None
    try:
        store = Store(folder / DB_NAME, create=True)
        with store.transaction("create the session") as db:
            store.set_meta(db, {**new.meta, "created": time.time()})
            store.add_items(db, new.names)
            for i in new.seed_ids:
                store.add_label(db, i, "positive", origin="seed", user=user, expect=None)
            for i, label in new.imported:
                store.add_label(db, i, label, origin="import", user=user, expect=None)
        return build(store, lock)
    except BaseException:
        if store is not None:
            store.close()
        _remove(folder, made)
        lock.release()
        raise


def _remove(folder: Path, made: list[Path], *, files: bool = True) -> None:
    """Take back a start that failed: its files (while it holds the lock), and the folders
    it made, if they are empty, the deepest first."""
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", LOCK_NAME) if files else ():
        try:
            (folder / name).unlink()
        except OSError:
            pass
    for path in made:
        try:
            path.rmdir()
        except OSError:
            break


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def read_manifest(emb_path: Path, manifest) -> tuple[Path | None, dict | None]:
    if manifest is None:
        stem = emb_path.with_suffix("")
        guess = stem.with_name(stem.name + ".manifest.json")
        if not guess.exists():
            return None, None
        manifest = guess
    path = Path(manifest).resolve()
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"manifest {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"manifest {path} is not readable JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items", []), list):
        raise InputError(f"manifest {path} has no list of items (write it with `elsa embed`)")
    return path, doc


def unique_names(ids: list[str]) -> list[str]:
    """Record ids as item names, each once: a repeated id gets its row (``"7 (row 12)"``)."""
    seen, out = set(ids), []
    first = set()
    for row, rid in enumerate(ids):
        name = rid
        if rid in first:
            name, k = f"{rid} (row {row})", 1
            while name in seen:  # an id spelled like a renamed one
                name, k = f"{rid} (row {row}, {k})", k + 1
            seen.add(name)
        first.add(rid)
        out.append(name)
    return out


def text_manifest(npz: Path, manifest) -> tuple[str, list[str]]:
    """The records file and text columns a text features file (``elsa embed RECORDS --out F.npz``) came from."""
    man_path, man = read_manifest(npz, manifest)
    if not man or man.get("kind") != "text" or not man.get("source"):
        raise InputError(f"{npz}: a .npz pool needs the manifest `elsa embed RECORDS --out {npz.name}` wrote "
                         "beside it (it names the records file the page shows); or start with --records FILE")
    return man["source"], man.get("text_columns")


def load_pool(meta: dict):
    """The session's pool and, for a text session, its records and the features' vocabulary:
    ``(X, records or None, vocabulary or None)``."""
    if meta.get("records"):
        from ..text.features import text_features_and_vocabulary
        from .texts import read_session_records

        records = read_session_records(meta)
        X, vocabulary = text_features_and_vocabulary(records.texts())
        return X, records, vocabulary
    path = Path(meta["embeddings"])
    if not path.exists():
        raise InputError(f"the session's embeddings {path} are missing; put the file back to reopen the session")
    if file_digest(path) != meta["digest"]:
        raise InputError(f"the embeddings {path} changed since the session began; "
                         "a session's labels only make sense over the pool they were given on")
    return check_embeddings(load_npy(path, "embeddings")), None, None
