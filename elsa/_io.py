"""Reading user files and writing results without ever leaving a partial file behind."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from .exceptions import InputError, ParameterError


def cache_root() -> Path:
    """ELSA's cache folder: ``$ELSA_CACHE_DIR``, default ``~/.cache/elsa``."""
    return Path(os.environ.get("ELSA_CACHE_DIR") or Path.home() / ".cache" / "elsa")


def load_npy(path, name: str) -> np.ndarray:
    """Load a ``.npy`` array (memory-mapped, no pickles) with a clear error on failure."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{name} file not found: {path}")
    if path.is_dir():
        raise InputError(f"{name} path is a folder, expected a .npy file: {path}")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read {name} file {path} as a numpy .npy array: {exc}") from exc


def file_digest(path) -> str:
    """SHA-256 of a file's bytes, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_writable(path, name: str) -> Path:
    """Fail early, before any long computation, if ``path`` cannot be written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ParameterError(f"{name} {path} is a folder; give a file name")
    if not parent.is_dir():
        raise ParameterError(f"{name}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ParameterError(f"{name}: folder {parent} is not writable")
    return path


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def atomic_write(path, write) -> None:
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it into place.

    Readers see the old file or the new one, never a partial one; on any error the
    temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json(path, document) -> None:
    """Atomic JSON write; NaN and inf become null so the file is strict JSON."""
    text = json.dumps(_jsonable(document), indent=1, allow_nan=False) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode()))


def save_npy(path, array: np.ndarray) -> None:
    """Atomic ``np.save``."""
    atomic_write(path, lambda fh: np.save(fh, array))
