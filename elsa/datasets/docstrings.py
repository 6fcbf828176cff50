"""A text corpus every Python install has: the standard library's docstrings, by package.

Read from the installed standard library's source with :mod:`ast` (nothing is imported,
nothing is downloaded): every module's, class's and function's docstring of at least
80 characters, each once. A record's title is the function, class or module name, its
abstract the docstring, and its category the top-level module or package it is in
(``email``, ``asyncio``, ``tkinter``...). Tests and IDLE are left out. The corpus is a
function of the Python version, which :func:`stdlib_docstrings` reports.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import sysconfig
from pathlib import Path

from .._io import cache_root, write_json
from ..exceptions import InputError

MIN_CHARS = 80
_SKIP = {"test", "tests", "idlelib", "__pycache__", "site-packages", "dist-packages", "lib2to3", "turtledemo"}


def stdlib_docstrings(use_cache: bool = True) -> dict:
    """``{"titles", "abstracts", "categories", "python"}`` of the standard library's docstrings
    (read once per Python version and install, then from ``$ELSA_CACHE_DIR/datasets``)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    key = hashlib.sha256(f"{sys.version}|{root}|{MIN_CHARS}|{sorted(_SKIP)}".encode()).hexdigest()[:16]
    cache = cache_root() / "datasets" / f"stdlib-docstrings-{key}.json"
    if use_cache and cache.exists():
        try:
            return json.loads(cache.read_text())
        except (OSError, ValueError):
            pass
    doc = _read(root)
    if use_cache:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            write_json(cache, doc)
        except OSError:
            pass  # a read-only cache only costs the reading
    return doc


def iter_docstrings(root: Path, skip, seen: set, min_chars: int = MIN_CHARS):
    """``(module path parts, name, docstring)`` of every module, class and function under
    ``root`` (sorted walk) whose docstring has at least ``min_chars`` characters and is not
    in ``seen`` (SHA-1 digests, updated: a docstring met twice is kept once)."""
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.endswith(".dist-info")
                             and not d.startswith("."))
        rel = Path(dirpath).relative_to(root).parts
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            try:
                tree = ast.parse(Path(dirpath, name).read_text(encoding="utf-8", errors="replace"))
            except (SyntaxError, ValueError, RecursionError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
                    doc = ast.get_docstring(node)
                    if not doc or len(doc) < min_chars:
                        continue
                    key = hashlib.sha1(doc.encode("utf-8", "replace")).digest()
                    if key in seen:
                        continue
                    seen.add(key)
                    yield rel + (name[:-3],), getattr(node, "name", name[:-3]), doc


def _read(root: Path) -> dict:
    titles, abstracts, cats = [], [], []
    for parts, name, doc in iter_docstrings(root, _SKIP, set()):
        titles.append(name)
        abstracts.append(doc)
        cats.append(parts[0])  # the top-level module or package
    if not titles:
        raise InputError(f"no standard-library source found under {root} (is the Python source installed?)")
    return {"titles": titles, "abstracts": abstracts, "categories": cats, "python": sys.version.split()[0]}
