"""Text corpora for the text benchmark (issue 22), built offline from what this machine has.

=============  ================================================================================
name           records (``title``, ``abstract``) and their class
=============  ================================================================================
docstrings     Python docstrings (the standard library's and those of the packages the test
               extra installs, :func:`feature_spaces.docstrings`): title the function, class or
               module name, abstract the docstring; class the package and first subpackage
               (``scipy.stats``)
manpages       every English manual page under ``/usr/share/man/man1``-``man8`` (Debian's
               ``manpages`` and ``manpages-dev`` and whatever else installed pages): title the
               NAME line, abstract the DESCRIPTION section's text (roff macros stripped, cut at
               4,000 characters); class the section (1-8). Pages that only include another
               (``.so``) are skipped.
fortunes       every fortune of Debian's ``fortunes`` package (``/usr/share/games/fortunes``,
               about 15,000 quips, quotes and jokes): title the first line, abstract the rest
               (often empty); class the file it comes from (``food``, ``law``, ``startrek``, ...).
               Short records with few shared words: the hard case for word TF-IDF.
=============  ================================================================================

Targets are chosen by a rule, not by hand: the classes whose share of the corpus lies
between 0.7 % and 2.7 % (the held-out check's range); where more than five qualify,
five spaced evenly through them by size. Debian's package descriptions are deliberately not used: they are held out.

Each corpus is written once to ``$ELSA_CACHE_DIR/benchmarks/text/NAME.csv`` with the
columns ``record_id,title,abstract,category`` (ASReview reads the same file), and
``NAME.labels.npy`` (the category's index in ``NAME.classes.txt``).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import re
from pathlib import Path

import numpy as np

CORPORA = ("docstrings", "manpages", "fortunes")
MAN_ROOT = Path("/usr/share/man")
FORTUNE_ROOT = Path("/usr/share/games/fortunes")
MAX_ABSTRACT = 4000
TARGET_SHARE = (0.007, 0.027)
MAX_TARGETS = 5


def text_cache() -> Path:
    from elsa._io import cache_root

    return cache_root() / "benchmarks" / "text"


_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),  # strings
    (re.compile(r"\\\((em|en|hy|lq|rq|aq|dq|bu|co|rg|tm|mi|pl|mu|di|>=|<=|!=|->|<-)"), " "),
    (re.compile(r"\\\[[^\]]*\]"), " "),
    (re.compile(r"\\[-e&|^%c0 ]"), lambda m: "-" if m.group(0) == "\\-" else ("\\" if m.group(0) == "\\e" else " ")),
    (re.compile(r"\\s[-+]?\d"), ""),
    (re.compile(r"\\[a-zA-Z]"), ""),
]


def _roff_line(line: str) -> str:
    """A roff line's text: macros' arguments kept (``.B foo`` -> ``foo``), escapes removed."""
    if line.startswith((".\\\"", "'\\\"", '.\\"')):
        return ""
    if line.startswith((".", "'")):
        parts = line[1:].split(None, 1)
        if not parts:
            return ""
        macro = parts[0]
        if macro in ("B", "I", "BR", "RB", "BI", "IB", "IR", "RI", "SM", "SB", "Nm", "Ar", "Fl", "Fn", "Xr",
                     "Em", "Sy", "Pa", "Dq", "Ql", "Li", "Cm", "Nd", "Va", "Dv", "Ev", "Er", "Fa", "Ft", "Ic",
                     "It", "TP", "IP", "Op", "Ss", "SS"):
            line = parts[1] if len(parts) > 1 else ""
            line = line.replace('"', " ")
        else:
            return ""
    for pattern, repl in _ESCAPES:
        line = pattern.sub(repl, line)
    return line.replace("\\", " ")


def _man_sections(source: str) -> dict[str, str]:
    """A page's sections' text by upper-case heading (``.SH``/``.Sh``)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in source.splitlines():
        m = re.match(r'^\.(SH|Sh)\s+"?([^"]*)"?\s*$', line)
        if m:
            current = m.group(2).strip().upper()
            out.setdefault(current, [])
            continue
        if current is not None:
            text = _roff_line(line)
            if text.strip():
                out[current].append(text.strip())
    return {k: re.sub(r"\s+", " ", " ".join(v)).strip() for k, v in out.items()}


def manpages() -> tuple[list[dict], list[str]]:
    """(records, categories) of every English manual page (see the module docstring)."""
    records, cats = [], []
    for section in range(1, 9):
        folder = MAN_ROOT / f"man{section}"
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.name.endswith(".gz") or path.is_symlink():
                continue
            try:
                source = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
            except (OSError, EOFError):
                continue
            if re.match(r"^\s*\.so\s", source):
                continue
            parts = _man_sections(source)
            name = parts.get("NAME", "")
            desc = parts.get("DESCRIPTION", "")
            if not name and not desc:
                continue
            records.append({"record_id": path.name[:-3], "title": name, "abstract": desc[:MAX_ABSTRACT]})
            cats.append(str(section))
    return records, cats


def fortunes() -> tuple[list[dict], list[str]]:
    """(records, categories) of every fortune (see the module docstring). Needs Debian's
    ``fortunes`` package (``apt-get install fortunes``)."""
    if not FORTUNE_ROOT.is_dir():
        raise SystemExit(f"the fortunes corpus needs Debian's fortunes package: {FORTUNE_ROOT} is missing")
    records, cats = [], []
    for path in sorted(FORTUNE_ROOT.iterdir()):
        if path.suffix or not path.is_file():  # NAME.dat, NAME.u8 are strfile's indexes and links
            continue
        for j, text in enumerate(path.read_text("utf-8", "replace").split("\n%\n")):
            lines = [line.strip() for line in text.strip("%\n").splitlines() if line.strip()]
            if not lines:
                continue
            records.append({"record_id": f"{path.name}.{j}", "title": lines[0],
                            "abstract": " ".join(lines[1:])[:MAX_ABSTRACT]})
            cats.append(path.name)
    return records, cats


def docstring_records() -> tuple[list[dict], list[str]]:
    from .feature_spaces import docstrings

    texts, cats = docstrings()
    records = []
    for i, t in enumerate(texts):
        title, _, body = t.partition(" ")
        records.append({"record_id": f"d{i}", "title": title, "abstract": body})
    return records, cats


def targets(cats: list[str]) -> list[str]:
    """The corpus's target classes by the rule of the module docstring."""
    names, counts = np.unique(cats, return_counts=True)
    share = counts / len(cats)
    order = [i for i in np.lexsort((names, -counts)) if TARGET_SHARE[0] <= share[i] <= TARGET_SHARE[1]]
    step = -(-len(order) // MAX_TARGETS)  # evenly spaced by size when more than MAX_TARGETS qualify
    return [str(names[i]) for i in order[::max(step, 1)][:MAX_TARGETS]]


def build(name: str) -> tuple[Path, np.ndarray, list[str]]:
    """The corpus's CSV path, its class labels (index into the class list) and the class list."""
    folder = text_cache()
    path, labels_path, classes_path = folder / f"{name}.csv", folder / f"{name}.labels.npy", folder / f"{name}.classes.txt"
    if not (path.exists() and labels_path.exists() and classes_path.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        records, cats = {"docstrings": docstring_records, "manpages": manpages, "fortunes": fortunes}[name]()
        classes = sorted(set(cats))
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, ["record_id", "title", "abstract", "category"])
            w.writeheader()
            for r, c in zip(records, cats):
                w.writerow({**r, "category": c})
        tmp.replace(path)
        np.save(labels_path, np.array([classes.index(c) for c in cats], np.int64))
        classes_path.write_text("\n".join(classes) + "\n")
    classes = classes_path.read_text().split("\n")[:-1]
    return path, np.load(labels_path), classes


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    for corpus in CORPORA:
        p, y, classes = build(corpus)
        names = [classes[i] for i in y]
        t = targets(names)
        print(corpus, p, len(y), "targets:", [(c, int((np.array(names) == c).sum())) for c in t])
