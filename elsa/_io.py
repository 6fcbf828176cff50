"""Reading user files and writing results without ever leaving a partial file behind."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from .exceptions import InputError, ParameterError


_NPY_MAGIC = b"\x93NUMPY"


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
        with open(path, "rb") as fh:
            magic = fh.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise InputError(f"cannot read {name} file {path}: {exc.strerror}") from None
    if magic != _NPY_MAGIC:
        raise InputError(f"{name} file {path} is not a .npy array (no numpy header); save one with numpy.save, "
                         "or write it with `elsa embed`")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc) or "Python objects" in str(exc):
            raise InputError(f"{name} file {path} holds Python objects, not numbers; ELSA reads numeric .npy "
                             "arrays only (and never unpickles)") from None
        raise InputError(f"cannot read {name} file {path} as a numpy .npy array: {exc}") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {name} file {path} as a numpy .npy array (truncated?): {exc}") from None


def load_pool_file(path, name: str = "embeddings"):
    """A pool from a file: a dense ``.npy`` (:func:`load_npy`) or a sparse ``.npz`` (text
    features, as ``elsa embed RECORDS --out F.npz`` writes them: scipy's sparse format)."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        return load_npy(path, name)
    if not path.is_file():
        raise InputError(f"{name} file not found: {path}" if not path.exists() else f"{name} path is not a file: {path}")
    from scipy.sparse import load_npz

    try:
        return load_npz(path).tocsr()
    except (ValueError, OSError, EOFError, KeyError) as exc:
        raise InputError(f"cannot read {name} file {path} as a sparse matrix (scipy.sparse.save_npz's format, "
                         f"as `elsa embed RECORDS --out F.npz` writes): {exc}") from None


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


def jsonable(value):
    """``value`` with NaN and inf as None, keys as strings and numpy scalars as Python ones (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    return value


def current_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` can only set it, which
    races with threads creating files); falls back to setting and restoring it."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path, write) -> None:
    """Call ``write(fh)`` on a temporary file beside ``path``, then rename it into place.

    Readers see the old file or the new one, never a partial one; on any error the
    temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; the file gets the mode open() would give
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
    text = json.dumps(jsonable(document), indent=1, allow_nan=False) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode()))


def save_npy(path, array: np.ndarray) -> None:
    """Atomic ``np.save``."""
    atomic_write(path, lambda fh: np.save(fh, array))


def memmap_base(X) -> np.memmap | None:
    """The :class:`numpy.memmap` that ``X`` is a view of (``X`` itself when it is one), else None."""
    base = X
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    return base
