"""Labels in and out of a session: CSV, JSON lines, and a plain list of positives.

Export formats, chosen by ``fmt`` or the file's suffix:

* ``.csv`` / ``.jsonl``: one row per labelled item: ``id``, ``item`` (the manifest path),
  ``label`` (positive/negative/unsure), ``origin`` (seed, round, extra, import), ``user``
  and ``at`` (UTC, ISO 8601).
* ``.txt``: the positives' item paths, one per line, in the order they were found.

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

from .._io import atomic_write, check_writable
from ..exceptions import InputError, ParameterError
from .labels import normalise_label

FORMATS = ("csv", "jsonl", "txt")


def _fmt(path: Path, fmt: str | None) -> str:
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt == "json":
        fmt = "jsonl"
    if fmt not in FORMATS:
        raise ParameterError(f"cannot tell the export format of {path.name!r}; name it .csv, .jsonl or .txt "
                             "(positives only), or give the format")
    return fmt


def label_rows(store, names: list[str]) -> list[dict]:
    """Every labelled item of a session file, in the order of the answers that set the labels."""
    return [
        {"id": item, "item": names[item], "label": label, "origin": origin, "user": user,
         "at": datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")}
        for item, label, origin, user, at in store.label_history()
    ]


def render_labels(store, names: list[str], fmt: str) -> tuple[str, int]:
    """A session's labels as text in ``fmt`` (csv, jsonl, or txt for the positives), and the row count."""
    rows = label_rows(store, names)
    if fmt == "txt":
        rows = [r for r in rows if r["label"] == "positive"]
        return "".join(r["item"] + "\n" for r in rows), len(rows)
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in rows), len(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["id", "item", "label", "origin", "user", "at"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue(), len(rows)


def export_labels(store, names: list[str], path, fmt: str | None = None) -> int:
    """Write a session's labels to ``path`` (atomically); returns the number of rows."""
    path = check_writable(path, "export file")
    text, n = render_labels(store, names, _fmt(path, fmt))
    atomic_write(path, lambda f: f.write(text.encode()))
    return n


def export_project(folder, path, fmt: str | None = None) -> int:
    """Export the labels of the session in ``folder`` without opening it for labelling: it
    works while ``elsa label`` serves it, and from read-only storage."""
    from .store import DB_NAME, Store

    store = Store(Path(folder) / DB_NAME, read_only=True)
    try:
        return export_labels(store, store.item_names(), path, fmt)
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
