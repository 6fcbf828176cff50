"""Labels in and out of a session: CSV, JSON lines, and a plain list of positives.

Export formats, chosen by ``fmt`` or the file's suffix:

* ``.csv`` / ``.jsonl``: one row per labelled item: ``id``, ``item`` (the manifest path),
  ``label`` (positive/negative/unsure), ``origin`` (seed, round, extra, import, or resolve:
  a disagreement's resolution), ``user`` and ``at`` (UTC, ISO 8601) of the answer that
  set the label, and ``answers``: every answer to the item not taken back, in order, with
  who gave it (several labellers, :mod:`elsa.session.checks`): in the CSV as
  ``alice: positive; bob: negative (check); carol: positive (resolve)``, in JSON lines as
  a list of ``{user, label, origin, at}``.
* ``.txt``: the positives' item paths, one per line, in the order they were found.
* A text session (started from records) exports ASReview's conventions, so a reviewer
  can move a project between the two tools: ``.csv`` lists **every** record in file
  order with ``record_id``, ``title``, ``abstract`` (its text columns), ``label_included``
  (1, 0, or empty when not labelled or unsure), then ELSA's own ``label``, ``origin``,
  ``user``, ``at`` and ``answers``; ``.ris`` writes every record (``ID``, ``TI``, ``AB``) with the note
  ``N1  - ASReview_relevant`` or ``ASReview_irrelevant`` on the labelled ones. Either file
  starts a new session again (``--records``; its labels become the starting labels).

Import reads a CSV with a header, or JSON lines, with a ``label`` column and either
``item`` (a manifest path) or ``id`` (a row). Labels may be spelled positive/negative/
unsure, y/n/u, yes/no, 1/0 or true/false. Every row is checked before anything is
written.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

from .._io import atomic_write, check_writable, write_json
from ..exceptions import InputError, ParameterError
from .labels import normalise_label

FORMATS = ("csv", "jsonl", "txt", "ris")


def _fmt(path: Path, fmt: str | None) -> str:
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt == "json":
        fmt = "jsonl"
    if fmt not in FORMATS:
        raise ParameterError(f"cannot tell the export format of {path.name!r}; name it .csv, .jsonl, .txt "
                             "(positives only) or .ris (text sessions), or give the format")
    return fmt


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")


def label_rows(store, names: list[str]) -> list[dict]:
    """Every labelled item of a session file, in the order of the answers that set the labels,
    with every answer to it (``answers``: ``{user, label, origin, at}``, oldest first)."""
    answers = store.live_answers()
    return [
        {"id": item, "item": names[item], "label": label, "origin": origin, "user": user, "at": _iso(at),
         "answers": [{"user": u, "label": lab, "origin": o, "at": _iso(t)} for lab, o, u, t in answers.get(item, [])]}
        for item, label, origin, user, at in store.label_history()
    ]


def answers_text(answers: list[dict]) -> str:
    """``alice: positive; bob: negative (check)``: who answered what, for a CSV cell (an
    answer to the item the search proposed, found or imported is shown without its origin)."""
    return "; ".join(f"{a['user']}: {a['label']}" + (f" ({a['origin']})" if a["origin"] in ("check", "resolve") else "")
                     for a in answers)


def render_records(store, names: list[str], records, fmt: str) -> tuple[str, int]:
    """A text session's records with their labels, in ASReview's columns (see the module docstring)."""
    last = {r["id"]: r for r in label_rows(store, names)}  # the history's last answer per item is its label
    included = {i: {"positive": "1", "negative": "0"}.get(r["label"], "") for i, r in last.items()}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if fmt == "csv":
        writer.writerow(["record_id", "title", "abstract", "label_included", "label", "origin", "user", "at",
                         "answers"])
    for i, rid in enumerate(records.ids):
        title, body = records.title_and_body(i)
        r = last.get(i, {})
        if fmt == "ris":
            note = {"1": "ASReview_relevant", "0": "ASReview_irrelevant"}.get(included.get(i, ""))
            buf.write(f"TY  - GEN\nID  - {rid}\nTI  - {' '.join(title.split())}\nAB  - {' '.join(body.split())}\n"
                      + (f"N1  - {note}\n" if note else "") + "ER  - \n\n")
        else:
            writer.writerow([rid, title, body, included.get(i, ""), r.get("label", ""), r.get("origin", ""),
                             r.get("user", ""), r.get("at", ""), answers_text(r.get("answers", []))])
    return buf.getvalue(), len(records.ids)


def render_labels(store, names: list[str], fmt: str, records=None) -> tuple[str, int]:
    """A session's labels as text in ``fmt`` (csv, jsonl, or txt for the positives; ris for a
    text session), and the row count. ``records``: a text session's records, whose csv and
    ris exports follow ASReview's conventions (:func:`render_records`)."""
    if records is not None and fmt in ("csv", "ris"):
        return render_records(store, names, records, fmt)
    if fmt == "ris":
        raise ParameterError("RIS export is for text sessions (started with --records); export .csv or .jsonl")
    rows = label_rows(store, names)
    if fmt == "txt":
        rows = [r for r in rows if r["label"] == "positive"]
        return "".join(r["item"] + "\n" for r in rows), len(rows)
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in rows), len(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["id", "item", "label", "origin", "user", "at", "answers"],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "answers": answers_text(r["answers"])} for r in rows)
    return buf.getvalue(), len(rows)


def export_labels(store, names: list[str], path, fmt: str | None = None, records=None) -> int:
    """Write a session's labels to ``path`` (atomically); returns the number of rows. A
    session with a certified stop (``recall:R@C``, ``audit:R@C``, ``qbcb:R@C``) also gets
    ``certificate_path(path)``: where its certificate stands, as JSON."""
    from ..plan import SearchPlan
    from .audit import SessionAudit

    path = check_writable(path, "export file")
    text, n = render_labels(store, names, _fmt(path, fmt), records)
    meta = store.meta()
    certificate = SessionAudit(store, meta, len(names), SearchPlan.from_dict(meta).stop).export_record()
    atomic_write(path, lambda f: f.write(text.encode()))
    if certificate is not None:
        write_json(certificate_path(path), certificate)
    return n


def certificate_path(path) -> Path:
    """Where an export's certificate goes: ``labels.csv`` -> ``labels.certificate.json``."""
    path = Path(path)
    return path.with_name(path.stem + ".certificate.json")


def export_project(folder, path, fmt: str | None = None) -> tuple[int, dict[str, int]]:
    """Export the labels of the session in ``folder`` without opening it for labelling: it
    works while ``elsa label`` serves it, and from read-only storage. Returns the rows
    written and the items they list by label (``{"positive": 5, "negative": 14, "unsure": 1,
    "unlabelled": 19743}``; unlabelled items are listed only by a text session's .csv and
    .ris, which list every record as ASReview's do)."""
    from .store import DB_NAME, Store

    store = Store(Path(folder) / DB_NAME, read_only=True)
    try:
        meta = store.meta()
        records = None
        if meta.get("records") and _fmt(Path(path), fmt) in ("csv", "ris"):  # they list every record's text
            from .texts import read_session_records

            records = read_session_records(meta)
        names = store.item_names()
        n = export_labels(store, names, path, fmt, records)
        labels = list({r["id"]: r["label"] for r in label_rows(store, names)}.values())  # each item's last answer
        counts = {label: labels.count(label) for label in ("positive", "negative", "unsure")}
        counts["unlabelled"] = len(names) - len(labels) if records is not None else 0  # rows for every record
        return n, counts
    finally:
        store.close()


def read_labels(path, names: list[str]) -> list[tuple[int, str]]:
    """``[(item id, label)]`` from a CSV or JSONL file; raises :class:`InputError` naming the first bad row."""

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"label file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read label file {path}: {exc}") from None
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rec = json.loads(line)
                except ValueError as exc:
                    raise InputError(f"{path}, line {n}: not JSON ({exc})") from None
                if not isinstance(rec, dict):
                    raise InputError(f"{path}, line {n}: expected an object with item/id and label")
                records.append((n, rec))
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "label" not in reader.fieldnames or not (
            {"item", "id"} & set(reader.fieldnames)
        ):
            raise InputError(f"{path}: the header must have a 'label' column and an 'item' or 'id' column, "
                             f"got {reader.fieldnames}")
        records = [(n, rec) for n, rec in enumerate(reader, 2)]
    by_name = {name: i for i, name in enumerate(names)}
    out: dict[int, str] = {}
    for n, rec in records:
        where = f"{path}, line {n}"
        if rec.get("item") not in (None, ""):
            if rec["item"] not in by_name:
                raise InputError(f"{where}: item {rec['item']!r} is not in the session's pool")
            item = by_name[rec["item"]]
        elif rec.get("id") not in (None, ""):
            try:
                item = int(rec["id"])
            except (TypeError, ValueError):
                raise InputError(f"{where}: id {rec['id']!r} is not a whole number") from None
            if not 0 <= item < len(names):
                raise InputError(f"{where}: id {item} is outside the pool's rows 0..{len(names) - 1}")
        else:
            raise InputError(f"{where}: no item or id")
        try:
            label = normalise_label(rec.get("label"))
        except ParameterError as exc:
            raise InputError(f"{where}: {exc}") from None
        if out.get(item, label) != label:
            raise InputError(f"{where}: item {names[item]!r} is labelled both {out[item]} and {label}")
        out[item] = label
    return list(out.items())
