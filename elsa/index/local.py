"""Choosing and building a backend in one process: exact unless the pool is large, then faiss.

``make_local_index(X, "auto")`` picks:

* ``exact`` up to ``EXACT_MAX_ROWS`` rows (2 million): the blocked numpy search answers
  an ELSA epoch's calls on 1M x 128 in well under a second on two cores, needs no
  build and no copy of the pool, and is exact;
* beyond that, ``ivf`` (IVF-Flat, one more copy of the pool inside faiss) when the
  memory available holds that copy with a 20 % margin, else ``ivfpq`` (compressed codes
  plus exact re-ranking);
* ``exact`` whatever the size when faiss is not installed (with a note on stderr);
* for a sparse pool (text features), the exact index over sparse rows
  (:mod:`elsa.index.sparse`), the only backend that takes one.

A shard of a sharded pool (:mod:`elsa.index.sharded`) is built here too, so this module
imports no cluster backend; :func:`elsa.index.make_index` adds ``ray``.
"""

from __future__ import annotations

import logging
import os

from .._validation import check_choice, check_embeddings, is_sparse
from ..exceptions import ParameterError
from .base import Index
from .exact import ExactIndex

log = logging.getLogger("elsa")  # notes for the user; printed to stderr unless logging is set up

EXACT_MAX_ROWS = 2_000_000
LOCAL_BACKENDS = ("auto", "exact", "ivf", "ivfpq", "hnsw")
SPARSE_BACKENDS_NOTE = ("the {backend} backend needs dense vectors; text features (a sparse pool) run on the "
                        "exact backend (--index exact or auto)")


def available_memory() -> int | None:
    """Bytes of memory available now (Linux), or None when it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def choose_backend(n: int, d: int, *, memory: int | None = None, faiss_installed: bool | None = None) -> str:
    """The backend ``auto`` stands for, for a pool of ``n`` x ``d`` float32."""
    if n <= EXACT_MAX_ROWS:
        return "exact"
    if faiss_installed is None:
        try:
            import faiss  # noqa: F401

            faiss_installed = True
        except ImportError:
            faiss_installed = False
    if not faiss_installed:
        return "exact"
    memory = available_memory() if memory is None else memory
    copy = n * d * 4
    return "ivf" if memory is None or memory >= 1.2 * copy else "ivfpq"


def make_local_index(X, backend: str = "auto", *, random_state=0, **options) -> Index:
    """An index over ``X`` in this process: ``backend`` is ``auto`` or one of ``exact``, ``ivf``,
    ``ivfpq``, ``hnsw``."""
    backend = check_choice(backend, "index backend", LOCAL_BACKENDS)
    X = check_embeddings(X)
    if is_sparse(X):
        if backend not in ("auto", "exact"):
            raise ParameterError(SPARSE_BACKENDS_NOTE.format(backend=backend))
        from .sparse import SparseExactIndex

        return SparseExactIndex(X, **options)
    if backend == "auto":
        backend = choose_backend(*X.shape)
        if backend == "exact" and X.shape[0] > EXACT_MAX_ROWS:
            log.warning(f"note: {X.shape[0]:,} rows: install faiss (pip install 'elsa-search[faiss]') for an "
                        "approximate index; searching exactly")
    if backend == "exact":
        return ExactIndex(X, **options)
    from .faiss_index import FaissIndex

    return FaissIndex(X, backend, random_state=random_state, **options)
