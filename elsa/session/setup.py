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
from ..digests import file_digest
from .._validation import check_choice, check_embeddings, check_float, check_int
from ..exceptions import InputError, ParameterError
from ..index import BACKENDS
from ..search import STRATEGIES, make_strategy, strategy_params
from ..search.registry import NO_EPOCH_LIMIT, check_pool_kind, resolve_epochs
from ..stopping import min_target_positives, parse_stop
from .images import image_source
from .store import DB_NAME, LOCK_NAME, SessionLock, Store

RAY_OPTIONS = ("shards", "shard_backend", "cpus_per_shard")


@dataclass
class NewSession:
    """A checked session, not yet written: its settings, item names and starting labels."""

    meta: dict
    names: list[str]
    seed_ids: list[int]
    imported: list[tuple[int, str]]


def check_new_session(
    embeddings, *, manifest, target: str, seed_ids, seed_items, strategy: str, epochs, budget, params,
    random_state: int, labels_from, stop, audit_share, audit_positives, index: str, index_options,
    records=None, text_columns=None,
) -> NewSession:
    """Every argument of :meth:`Session.create` checked, and its files read; nothing written.

    The pool: ``embeddings`` (a .npy; or a .npz of text features, whose manifest names the
    records it came from), or text ``records`` (a ``.csv``, ``.tsv``, ``.jsonl``, ``.ris`` or
    ``.txt`` file, :mod:`elsa.text`; ``text_columns`` as ``--text-columns``; its
    ``label_included`` values start the labels), shown as text cards named by record id.
    ``manifest`` is the JSON written by ``elsa embed`` (default: ``<emb>.manifest.json``
    beside the array, if present); its item paths name the images shown. Seeds are row ids
    (``seed_ids``) or item names (``seed_items``). ``labels_from`` is a CSV or JSONL file of
    labels to start from.

    ``strategy`` defaults to this project's default search (``portfolio``; ``elsa`` is the
    paper's). ``epochs``: ``"auto"`` (10 for the paper's strategies, no limit for the
    round-based ones), a number, or None (no limit). ``stop``: ``budget:N``, ``recall:R@C``
    (the search, then one random sample of the rest, :mod:`elsa.stopping.sample_wait`),
    ``estimate:R``, ``audit:R@C`` (the audit after the search, :mod:`elsa.session.audit`),
    ``qbcb:R@C`` or ``knee`` (:mod:`elsa.stopping`); with a rule, ``epochs=None`` (no
    limit) lets the rule end the session. ``audit_share``: random audit items added to
    each round, as a share of its size (default 0.1 with ``qbcb:R@C``, which needs them,
    else 0; not with ``recall:R@C`` or ``audit:R@C``); they are hidden from the search
    and give the unbiased recall estimate. ``audit_positives``: the QBCB certificate's
    target set (default: the fewest that can certify). ``index`` and
    ``index_options``: the search backend (:func:`elsa.index.make_index`; ``ray`` with
    ``{"shards": N}`` runs on a cluster), kept in the session and used again on reopening.
    """
    strategy = check_choice(strategy, "strategy", STRATEGIES)
    index = check_choice(index, "index backend", BACKENDS)
    index_options = check_index_options(index, index_options)
    epochs = resolve_epochs(strategy, epochs)
    epochs = NO_EPOCH_LIMIT if epochs is None else check_int(epochs, "epochs", minimum=0)
    budget = None if budget is None else check_int(budget, "budget", minimum=1)
    spec = None if stop is None else parse_stop(stop)
    if spec is not None and spec.kind == "budget":
        budget = spec.budget if budget is None else min(budget, spec.budget)
    if audit_share is None:
        audit_share = 0.1 if spec is not None and spec.kind == "qbcb" else 0.0
    audit_share = check_float(audit_share, "audit_share", minimum=0.0, maximum=1.0)
    if spec is not None and spec.kind in ("audit", "recall") and audit_share > 0:
        raise ParameterError(f"{spec} labels its random checks after the search; random checks during it "
                             "(--audit-share) go with qbcb:R@C or no stopping rule")
    if spec is not None and spec.kind == "qbcb":
        least = min_target_positives(spec.target, spec.confidence)
        audit_positives = least if audit_positives is None else check_int(audit_positives, "audit_positives",
                                                                            minimum=least)
        if audit_share == 0:
            raise ParameterError("qbcb:R@C needs audit items: give an audit share above 0")
    elif audit_positives is not None:
        raise ParameterError("audit_positives only applies to a qbcb:R@C stop")
    random_state = check_int(random_state, "random_state", minimum=0)
    params = strategy_params(strategy, **(params or {}))
    if spec is not None and spec.kind == "estimate" and not make_strategy(strategy, **params).estimates_recall():
        raise ParameterError(f"--stop {spec} reads the search's own probabilities, which strategy {strategy} does "
                             "not have; use the default strategy (portfolio) or a certified stop (recall:R@C)")
    if records is None and embeddings is not None and Path(embeddings).suffix.lower() == ".npz":
        records, text_columns = text_manifest(Path(embeddings).resolve(), manifest)
    if records is not None:  # a text session: the pool is the records' features
        from ..text.pool import records_pool

        rec_path = Path(records).resolve()
        X, recs, _ = records_pool(rec_path, text_columns)  # its label_included values start the labels
        names = unique_names(recs.ids)
        source = {"embeddings": None, "digest": file_digest(rec_path), "manifest": None, "images": {"kind": "none"},
                  "records": {"path": str(rec_path), "text_columns": list(recs.text_columns),
                              "problems": recs.problems, "describe": True}}  # the target's words are an example
    else:
        emb_path = Path(embeddings).resolve()
        X = check_embeddings(load_npy(emb_path, "embeddings"))
        man_path, man = read_manifest(emb_path, manifest)
        names = list(man["items"]) if man and "items" in man else [f"row {i}" for i in range(X.shape[0])]
        if len(names) != X.shape[0]:
            raise InputError(f"the manifest {man_path} lists {len(names)} items but {emb_path} has {X.shape[0]} rows")
        source = {"embeddings": str(emb_path), "digest": file_digest(emb_path),
                  "manifest": str(man_path) if man_path else None, "images": image_source(man)}
    check_pool_kind(strategy, X)
    ids = np.asarray(seed_ids).ravel()
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ParameterError(f"seed ids must be whole row numbers, got {list(ids[:5])}")
    seed_ids = [int(i) for i in ids]
    if seed_items:
        by_name = {name: i for i, name in enumerate(names)}
        missing = [t for t in seed_items if t not in by_name]
        if missing:
            raise ParameterError(f"seed items {missing[:3]} are not items of the pool (see the manifest's items)")
        seed_ids += [by_name[t] for t in seed_items]
    bad = [i for i in seed_ids if not 0 <= i < X.shape[0]]
    if bad:
        raise ParameterError(f"seed ids {bad[:5]} are outside the pool's rows 0..{X.shape[0] - 1}")
    imported = []
    if records is not None and labels_from is None and recs.labels is not None:  # e.g. an ASReview export
        imported = [(i, "positive" if v == 1 else "negative") for i, v in enumerate(recs.labels.tolist()) if v >= 0]
    if labels_from is not None:
        from .transfer import read_labels

        imported = read_labels(labels_from, names)
        clash = [names[i] for i, label in imported if label != "positive" and i in set(seed_ids)]
        if clash:
            raise InputError(f"{labels_from}: seeds {clash[:3]} are labelled negative or unsure there")
    meta = {
        **source, "shape": list(X.shape),
        "target": target, "strategy": strategy, "params": params, "epochs": epochs, "budget": budget,
        "random_state": random_state, "stop_reason": None,
        "stop": None if spec is None else str(spec), "audit_share": audit_share,
        "audit_positives": audit_positives, "index": index, "index_options": index_options,
    }
    return NewSession(meta, names, list(dict.fromkeys(seed_ids)), [(i, lab) for i, lab in imported
                                                                   if i not in seed_ids])


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


def check_index_options(index: str, options: dict | None) -> dict:
    """The backend options a session keeps, checked before anything is written."""
    options = dict(options or {})
    if not options:
        return options
    if index != "ray":
        raise ParameterError(f"index_options apply to the ray backend only, not {index!r}")
    unknown = sorted(set(options) - set(RAY_OPTIONS))
    if unknown:
        raise ParameterError(f"unknown ray index options {unknown}; choose from {', '.join(RAY_OPTIONS)}")
    if "shards" in options:
        options["shards"] = check_int(options["shards"], "shards", minimum=1)
    if "shard_backend" in options:
        options["shard_backend"] = check_choice(options["shard_backend"], "shard backend", ("exact", "ivf", "ivfpq", "hnsw"))
    if "cpus_per_shard" in options:
        options["cpus_per_shard"] = check_float(options["cpus_per_shard"], "cpus_per_shard", minimum=0.01)
    return options


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
