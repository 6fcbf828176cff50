"""Content digests (SHA-256) of files and pools, remembered by the file's identity.

A session checks that its embeddings file has not changed, and the k-NN graph's cache is
keyed by the pool's contents. Both are SHA-256 digests of every byte, which at 10M x 128
means reading 2.4-5 GB from disk each time a pool is reopened (4-23 s). So a digest, once
computed, is remembered under ``$ELSA_CACHE_DIR/digests`` against the file's identity:

* its resolved path, device, inode, size and modification time (nanoseconds);
* and 64 blocks of 64 KiB sampled at fixed, evenly spaced offsets (the first and the last
  included), hashed on every reopening (4 MB read).

**What this trusts:** that a file whose path, inode, size, modification time and sampled
blocks are all unchanged has unchanged contents. A write in place that restores the
modification time and touches none of the sampled blocks would go unseen.
``ELSA_VERIFY_POOL=1`` (or ``verify=True``) reads every byte instead, and remembers what it
found. A copy of the pool (a new inode) is read whole once; its digest is the same, so
its cached graph is found.

A pool that is not a memory map of a whole ``.npy`` file (an array built in memory, a slice,
a converted copy) is hashed whole every time, as before.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ._io import atomic_write, cache_root, memmap_base
from ._validation import is_sparse

SAMPLED_BLOCKS = 64
BLOCK_BYTES = 64 << 10
_READ = 1 << 20  # bytes hashed at a time (pools: 16 MB)
VERSION = 1  # part of every remembered key: a change to what is hashed forgets the old ones


def verify_requested() -> bool:
    """Whether ``ELSA_VERIFY_POOL`` asks for every byte to be read."""
    return os.environ.get("ELSA_VERIFY_POOL", "").strip().lower() not in ("", "0", "no", "false")


def file_digest(path, *, verify: bool | None = None) -> str:
    """SHA-256 of a file's bytes, remembered by its identity (module docstring)."""
    path = Path(path)
    return _remembered(path, "file", lambda: sha256_file(path), verify)


def pool_digest(X, *, verify: bool | None = None) -> str:
    """SHA-256 of a pool's shape, dtype and values (read in 16 MB pieces, never copied whole);
    of a sparse pool, its CSR arrays. A memory map of a whole ``.npy`` file is remembered by
    the file's identity (module docstring)."""
    if is_sparse(X):
        digest = hashlib.sha256(f"sparse|{X.shape}|{X.dtype.str}".encode())
        for part in (X.indptr, X.indices, X.data):
            digest.update(np.ascontiguousarray(part).data)
        return digest.hexdigest()
    source = _whole_file(X)
    if source is None:
        return _hash_pool(X)
    return _remembered(source, f"pool|{X.shape}|{X.dtype.str}", lambda: _hash_pool(X), verify)


def sha256_file(path) -> str:
    """SHA-256 of a file's bytes, read whole every time (small files: model weights, images)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_READ), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_pool(X: np.ndarray) -> str:
    digest = hashlib.sha256(f"{X.shape}|{X.dtype.str}".encode())
    flat = X.reshape(-1)
    step = max(1, (16 << 20) // max(X.dtype.itemsize, 1))
    for start in range(0, flat.size, step):
        digest.update(np.ascontiguousarray(flat[start : start + step]).data)
    return digest.hexdigest()


def _whole_file(X) -> Path | None:
    """The file ``X`` maps, when ``X`` is the whole array stored in it (C order), else None."""
    base = memmap_base(X)
    filename = getattr(base, "filename", None)
    if base is None or filename is None or not X.flags.c_contiguous:
        return None
    same = (base.__array_interface__["data"][0] == X.__array_interface__["data"][0] and base.shape == X.shape
            and base.dtype == X.dtype)
    if not same:
        return None
    path = Path(filename)
    try:
        header_end = path.stat().st_size - X.nbytes
    except OSError:
        return None
    return path if header_end == getattr(base, "offset", None) else None


def _identity(path: Path, what: str) -> str | None:
    """The key a digest is remembered under: the file's identity and sampled blocks."""
    try:
        path = path.resolve()
        st = path.stat()
        sampled = hashlib.sha256()
        with open(path, "rb") as fh:
            last = max(st.st_size - BLOCK_BYTES, 0)
            for offset in dict.fromkeys(np.linspace(0, last, SAMPLED_BLOCKS).astype(np.int64).tolist()):
                fh.seek(offset)
                sampled.update(fh.read(BLOCK_BYTES))
    except OSError:
        return None
    parts = [VERSION, what, str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, sampled.hexdigest()]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _remembered(path: Path, what: str, compute, verify: bool | None) -> str:
    key = _identity(path, what)
    memo = cache_root() / "digests" / f"{key}.json" if key else None
    if memo is not None and not (verify_requested() if verify is None else verify):
        try:
            found = json.loads(memo.read_text()).get("sha256")
            if isinstance(found, str) and len(found) == 64:
                return found
        except (OSError, ValueError, AttributeError):
            pass  # not remembered (or unreadable): read every byte
    digest = compute()
    if memo is not None and key == _identity(path, what):  # unchanged while it was read
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(memo, lambda fh: fh.write(json.dumps({"sha256": digest, "path": str(path)}).encode()))
        except OSError:
            pass  # a read-only cache: the next reopening reads every byte again
    return digest
