"""Text records in: ``.csv``, ``.tsv``, ``.jsonl``, ``.ris`` or ``.txt``, one item per record.

What a screening tool's users bring: a CSV exported from a reference manager or a
database (ASReview's columns ``title``, ``abstract`` and ``label_included`` are
understood, matched without regard to case), JSON lines, RIS from a reference manager,
or plain text with one record per line.

* **Which text.** ``text_columns`` (default: ``title`` and ``abstract``, those of the two
  the file has; ``text`` for ``.txt``) are joined with a newline into each item's text.
  A requested column the file lacks is an :class:`~elsa.exceptions.InputError` that lists
  the columns it has.
* **Which item.** ``record_id`` (any case) names each record in exports; without it, the
  record's row number (0 for the first record, as ASReview's ``--prior-idx`` counts).
* **Labels.** ``label_included`` (or ``included``; ``1``/``0``/empty) when present; a RIS
  record's ``N1`` note ``ASReview_relevant`` / ``ASReview_irrelevant`` too.
* **Never fatal, always reported** (:attr:`Records.problems`, written to the manifest):
  bytes that are not UTF-8 (decoded with U+FFFD in their place; the records are named),
  records with no text in the chosen columns (kept: they are items, with no features),
  rows with fewer fields than the header (the missing ones read as empty), JSON lines that
  are not an object (skipped, by line number), records whose text repeats an earlier one
  (kept; each group named by its first record), and ``record_id`` s used twice.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import InputError

FORMATS = (".csv", ".tsv", ".jsonl", ".ris", ".txt")
DEFAULT_COLUMNS = ("title", "abstract")
LABEL_COLUMNS = ("label_included", "included")
_SHOWN = 20  # record ids listed per problem (the counts are always complete)

# RIS tags (the common ones reference managers write) and where they go.
_RIS_TITLE = ("TI", "T1", "CT", "BT")
_RIS_ABSTRACT = ("AB", "N2")
_RIS_ID = ("ID", "AN")


@dataclass
class Records:
    """Records read from one file: their ids, text fields and labels, and what was wrong."""

    path: Path
    ids: list[str]
    columns: dict[str, list[str]]  # text column -> one value per record
    labels: np.ndarray | None = None  # 1, 0, or -1 (no label) per record, when the file has labels
    problems: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def text_columns(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def texts(self) -> list[str]:
        """Each record's text: its text columns' values, joined by newlines (empty ones left out)."""
        return ["\n".join(v for v in values if v) for values in zip(*self.columns.values())]

    def title_and_body(self, i: int) -> tuple[str, str]:
        """Record ``i`` as a reader sees it (a card, an export): its ``title`` column when that
        is the first text column, and the other text columns' values joined by blank lines."""
        values = [self.columns[c][i] for c in self.text_columns]
        if self.text_columns[0] == "title":
            return values[0], "\n\n".join(v for v in values[1:] if v)
        return "", "\n\n".join(v for v in values if v)


def _decode(raw: bytes) -> tuple[str, bool]:
    """The file's text, and whether bytes that are not UTF-8 were replaced."""
    try:
        return raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8-sig", "replace"), True


def _clean(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return value.strip()


def _rows_csv(text: str, delimiter: str, problems: dict, path: Path) -> list[dict]:
    csv.field_size_limit(2**31 - 1)  # an abstract may be long; the default limit is 131,072 characters
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        raise InputError(f"records file {path}: its header is not CSV ({exc})") from None
    header = [h.strip() for h in header]
    rows, short, long = [], [], []
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # an unclosed quote, say: nothing after it can be read reliably
            raise InputError(f"records file {path}, line {reader.line_num}: not CSV ({exc})") from None
        if not any(v.strip() for v in values):
            continue  # a blank line is no record
        if len(values) < len(header):
            short.append(len(rows))
        elif len(values) > len(header):
            long.append(len(rows))
        rows.append({h: (values[i] if i < len(values) else "") for i, h in enumerate(header)})
    if short:
        problems["short_rows"] = {"count": len(short), "rows": short[:_SHOWN],
                                  "what": "rows with fewer fields than the header; the missing ones read as empty"}
    if long:
        problems["long_rows"] = {"count": len(long), "rows": long[:_SHOWN],
                                 "what": "rows with more fields than the header (an unquoted comma?); the extra "
                                         "ones are left out"}
    return rows


def _rows_jsonl(text: str, problems: dict) -> list[dict]:
    rows, bad = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            rows.append(value)
        else:
            bad.append(number)
    if bad:
        problems["skipped_lines"] = {"count": len(bad), "lines": bad[:_SHOWN],
                                     "what": "lines that are not a JSON object (skipped)"}
    return rows


def _rows_ris(text: str) -> list[dict]:
    rows, current = [], None
    for line in text.splitlines():
        m = re.match(r"^([A-Z][A-Z0-9])  -(?: (.*))?$", line.rstrip())
        if not m:
            if current is not None and current.get("_last") and line.strip():  # a continued value
                tag = current["_last"]
                current[tag][-1] += " " + line.strip()
            continue
        tag, value = m.group(1), (m.group(2) or "").strip()
        if tag == "TY":
            current = {"_last": None}
        elif current is None:
            continue
        if tag == "ER":
            rows.append(current)
            current = None
            continue
        current.setdefault(tag, []).append(value)
        current["_last"] = tag
    if current is not None and len(current) > 1:  # a last record without ER
        rows.append(current)
    out = []
    for r in rows:
        def first(tags):
            return next((" ".join(r[t]) for t in tags if t in r), "")

        row = {"title": first(_RIS_TITLE), "abstract": first(_RIS_ABSTRACT)}
        rid = first(_RIS_ID)
        if rid:
            row["record_id"] = rid
        notes = " ".join(r.get("N1", []))
        if "ASReview_relevant" in notes:
            row["label_included"] = "1"
        elif "ASReview_irrelevant" in notes:
            row["label_included"] = "0"
        if "KW" in r:
            row["keywords"] = "; ".join(r["KW"])
        out.append(row)
    return out


def _label(value) -> int:
    value = _clean(value).lower()
    if value in ("1", "1.0", "true", "yes", "y"):
        return 1
    if value in ("0", "0.0", "false", "no", "n"):
        return 0
    return -1


def _listed(ids, limit=_SHOWN) -> list[str]:
    return [str(i) for i in ids[:limit]]


def read_records(path, text_columns=None) -> Records:
    """Read a records file (see the module docstring). ``text_columns``: names, or a
    comma-separated string; None for the default."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"records file not found: {path}")
    if path.is_dir():
        raise InputError(f"records path is a folder, expected a file ({', '.join(FORMATS)}): {path}")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"records file {path} has suffix {suffix or '(none)'!r}; ELSA reads {', '.join(FORMATS)}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read records file {path}: {exc.strerror}") from None
    text, replaced = _decode(raw)
    problems: dict = {}
    if suffix in (".csv", ".tsv"):
        rows = _rows_csv(text, "\t" if suffix == ".tsv" else ",", problems, path)
    elif suffix == ".jsonl":
        rows = _rows_jsonl(text, problems)
    elif suffix == ".ris":
        rows = _rows_ris(text)
    else:
        lines = text.splitlines()
        rows = [{"text": line} for line in lines]
    if not rows:
        raise InputError(f"records file {path} has no records")
    # Columns, matched without regard to case, row by row (JSON lines may spell a key differently).
    spelled: dict[str, str] = {}  # for messages: each column as the file first spells it
    for row in rows:
        for key in row:
            spelled.setdefault(str(key).strip().lower(), str(key).strip())
    rows = [{str(k).strip().lower(): v for k, v in row.items()} for row in rows]
    if isinstance(text_columns, str):
        text_columns = [c.strip() for c in text_columns.split(",") if c.strip()]
    if text_columns:
        missing = [c for c in text_columns if c.lower() not in spelled]
        if missing:
            raise InputError(f"records file {path} has no column {', '.join(map(repr, missing))}; its columns are "
                             f"{', '.join(sorted(spelled.values(), key=str.lower))} (choose with --text-columns)")
        chosen = [c.lower() for c in text_columns]
    else:
        default = ("text",) if suffix == ".txt" else DEFAULT_COLUMNS
        chosen = [c for c in default if c in spelled]
        if not chosen:
            raise InputError(f"records file {path} has neither a 'title' nor an 'abstract' column; its columns are "
                             f"{', '.join(sorted(spelled.values(), key=str.lower))}: name the text with --text-columns")
    columns = {c: [_clean(row.get(c)) for row in rows] for c in chosen}
    ids = [_clean(row.get("record_id")) or str(i) for i, row in enumerate(rows)]
    label_key = next((c for c in LABEL_COLUMNS if c in spelled), None)
    labels = np.array([_label(row.get(label_key)) for row in rows], np.int8) if label_key else None
    records = Records(path, ids, columns, labels, problems)
    _report(records, replaced)
    return records


def _report(records: Records, replaced: bool) -> None:
    """Fill ``records.problems`` with what is odd but not fatal (see the module docstring)."""
    problems, ids = records.problems, records.ids
    texts = records.texts()
    if replaced:
        bad = [rid for rid, t in zip(ids, texts) if "\ufffd" in t]
        problems["not_utf8"] = {"count": len(bad), "records": _listed(bad),
                                "what": "record(s) with bytes that are not valid UTF-8, read as U+FFFD (is the file in "
                                        "another encoding, such as Latin-1? save it as UTF-8 to keep those characters)"}
    empty = [rid for rid, t in zip(ids, texts) if not t.strip()]
    if empty:
        problems["no_text"] = {"count": len(empty), "records": _listed(empty),
                               "what": f"records with no text in {', '.join(records.text_columns)} (kept, with no features)"}
    first: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for rid, t in zip(ids, texts):
        key = " ".join(t.lower().split())
        if not key:
            continue
        if key in first:
            groups.setdefault(first[key], [first[key]]).append(rid)
        else:
            first[key] = rid
    if groups:
        problems["duplicate_text"] = {
            "count": sum(len(g) - 1 for g in groups.values()), "groups": [g[:10] for g in list(groups.values())[:_SHOWN]],
            "what": "records whose text repeats an earlier record's (kept; the search treats them as any near neighbours)"}
    seen, repeated = set(), []
    for rid in ids:
        if rid in seen:
            repeated.append(rid)
        seen.add(rid)
    if repeated:
        problems["duplicate_ids"] = {"count": len(repeated), "records": _listed(repeated),
                                     "what": "record_id values used by more than one record (exports list each row)"}


def describe_problems(problems: dict) -> list[str]:
    """One line per kind of problem, for the terminal."""
    lines = []
    for kind, p in problems.items():
        if isinstance(p, dict) and "count" in p:
            named = p.get("records") or p.get("lines") or p.get("rows") or [g[0] for g in p.get("groups", [])]
            shown = ", ".join(map(str, named[:5])) + (", ..." if p["count"] > 5 else "")
            lines.append(f"{p['count']} {p['what']}" + (f" ({shown})" if shown else ""))
    return lines
