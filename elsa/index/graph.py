"""The pool's k-nearest-neighbour graph: every row's ``k`` nearest other rows, computed once.

The k-NN model of active search (:mod:`elsa.head.knn`) gives an item a probability
from the labels among its own ``k`` nearest neighbours, so when one item is labelled
the probabilities that change are those of the items that list it: its *reverse*
neighbours. Both directions come from one graph of the whole pool:

* ``forward[i]``: row ``i``'s ``k`` nearest other rows, nearest first (an ``(n, k)``
  int32 array; ``-1`` pads a pool of ``k`` rows or fewer);
* ``reverse(j)``: the rows whose lists contain ``j`` (a CSR over the transposed graph).

The graph is computed through a search index, ``k + 0`` neighbours per row with the row
itself excluded (``query_ids``), in chunks of queries with a progress bar: exactly by
the :class:`~elsa.index.exact.ExactIndex` up to :data:`EXACT_GRAPH_ROWS` rows (a
63,000 x 1,280 pool takes about 100 s on 2 cores), by a faiss IVF index beyond when
faiss is installed (its recall against the exact graph is what ``index_backends.md``
reports for IVF). Every other search of a run still goes through the run's own index.

Choice: the whole graph once, not lazily for the candidates. Lazily, every labelled
item's reverse neighbours would need the lists of every row near it, which is most of
the rows a search ever touches and one k-NN search per row per round; once computed,
the graph makes each round's update ``O(k)`` per new label. It is cached on disk,
keyed by the pool's contents (SHA-256), ``k`` and how it was computed, under
``$ELSA_CACHE_DIR/neighbours`` (default ``~/.cache/elsa``), so a session, a simulation
and a benchmark on the same pool compute it once. ``benchmarks/results/search_latency.md``
has the times.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from .._io import cache_root, save_npy
from .._validation import check_embeddings, check_int, is_sparse
from .base import Index

log = logging.getLogger("elsa")  # notes for the user; printed to stderr unless logging is set up

EXACT_GRAPH_ROWS = 250_000  # above this, a faiss IVF index computes the graph when faiss is installed
_QUERY_CHUNK = 1024
_RECENT: list[tuple[np.ndarray, int, "NeighbourGraph"]] = []  # (pool, k, graph): repeated runs on one pool


def pool_digest(X: np.ndarray) -> str:
    """SHA-256 of a pool's shape, dtype and values (read in 16 MB pieces, never copied whole);
    of a sparse pool, its CSR arrays."""
    if is_sparse(X):
        digest = hashlib.sha256(f"sparse|{X.shape}|{X.dtype.str}".encode())
        for part in (X.indptr, X.indices, X.data):
            digest.update(np.ascontiguousarray(part).data)
        return digest.hexdigest()
    digest = hashlib.sha256(f"{X.shape}|{X.dtype.str}".encode())
    flat = X.reshape(-1)
    step = max(1, (16 << 20) // max(X.dtype.itemsize, 1))
    for start in range(0, flat.size, step):
        digest.update(np.ascontiguousarray(flat[start : start + step]).data)
    return digest.hexdigest()


def _cache_folder() -> Path:
    return cache_root() / "neighbours"


class NeighbourGraph:
    """Forward and reverse k-NN lists of a pool (see the module docstring).

    Parameters
    ----------
    forward : (n, k) int array
        Each row's neighbours, nearest first, ``-1`` padding.
    """

    def __init__(self, forward: np.ndarray):
        self.forward = np.asarray(forward)
        self._ptr: np.ndarray | None = None
        self._rev: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.forward.shape[0]

    @property
    def k(self) -> int:
        return self.forward.shape[1]

    def _transpose(self) -> None:
        """The reverse lists by a counting sort (scipy's CSR to CSC): ``O(n k)``, int32 rows."""
        from scipy.sparse import csr_matrix

        n, k = self.forward.shape
        valid = self.forward >= 0
        if valid.all():
            indices, indptr = self.forward.reshape(-1), np.arange(0, n * k + 1, k, dtype=np.int64)
        else:
            indices, indptr = self.forward[valid], np.concatenate([[0], np.cumsum(valid.sum(axis=1))])
        matrix = csr_matrix((np.ones(indices.size, np.int8), indices, indptr), shape=(n, n))
        reverse = matrix.tocsc()  # column j's rows, ascending: the rows that list j
        self._ptr, self._rev = reverse.indptr, reverse.indices

    def transposed(self) -> tuple[np.ndarray, np.ndarray]:
        """The reverse lists as CSR: ``(ptr, rows)``; row ``j``'s are ``rows[ptr[j]:ptr[j + 1]]``."""
        if self._ptr is None:
            self._transpose()
        return self._ptr, self._rev

    def reverse(self, j: int) -> np.ndarray:
        """The rows that list ``j`` among their neighbours, ascending."""
        ptr, rows = self.transposed()
        return rows[ptr[j] : ptr[j + 1]]

    def in_degree(self) -> np.ndarray:
        """How many rows list each row (its number of reverse neighbours)."""
        return np.diff(self.transposed()[0])

    def prefix(self, k: int) -> "NeighbourGraph":
        """The graph of each row's first ``k`` neighbours (a view, for a smaller ``k``)."""
        return self if k == self.k else NeighbourGraph(self.forward[:, :k])


def _graph_index(X: np.ndarray, index: Index | None, random_state: int) -> tuple[str, Callable[[], Index]]:
    """The name of the index that computes the graph (part of the cache key) and how to build it.

    The run's own index, unless it is exact (or absent) on a pool above
    :data:`EXACT_GRAPH_ROWS` rows, where faiss's IVF takes over when installed. Building
    waits for a cache miss: a faiss index on a large pool takes minutes to train.
    """
    from .exact import ExactIndex
    from .local import make_local_index

    # A sparse pool (text features) has no faiss index: the exact one, whatever its size.
    if X.shape[0] > EXACT_GRAPH_ROWS and not is_sparse(X) and (index is None or isinstance(index, ExactIndex)):
        from .faiss_index import FaissIndex, require_faiss

        try:
            require_faiss()
            return "ivf", lambda: FaissIndex(X, "ivf", random_state=random_state)
        except ImportError:  # no faiss: exact, slowly
            log.warning(f"note: computing the k-NN graph of {X.shape[0]:,} rows exactly; install faiss "
                        "(pip install 'elsa-search[faiss]') to compute it approximately and faster")
    if index is not None:
        return index.name, lambda: index
    return ExactIndex.name, lambda: make_local_index(X, "exact")  # the sparse exact index for a sparse pool


def compute_graph(X: np.ndarray, k: int, index: Index, *, progress: bool = True) -> np.ndarray:
    """Every row's ``k`` nearest other rows through ``index``, ``(n, k)`` int32."""
    from tqdm.auto import tqdm

    n = X.shape[0]
    out = np.empty((n, k), np.int32)
    bar = tqdm(total=n, desc=f"k-NN graph (k={k})", unit="row", disable=None if progress else True,
               dynamic_ncols=True, file=sys.stderr, leave=False)  # None: shown on a terminal only
    try:
        for start in range(0, n, _QUERY_CHUNK):
            ids = np.arange(start, min(start + _QUERY_CHUNK, n))
            _, I = index.search(X[ids], k, query_ids=ids)
            out[ids] = I
            bar.update(ids.size)
    finally:
        bar.close()
    return out


def neighbour_graph(X, k: int = 50, *, index: Index | None = None, cache: bool = True, progress: bool = True,
                    random_state: int = 0) -> NeighbourGraph:
    """The pool's k-NN graph, from the disk cache or computed (and then cached).

    ``index`` is the run's search index (an exact one is made when None); on a pool
    above :data:`EXACT_GRAPH_ROWS` rows an exact index is replaced by a faiss IVF one
    for this computation when faiss is installed. ``cache=False`` neither reads nor
    writes the disk cache.
    """
    X = check_embeddings(X)
    k = check_int(k, "k", minimum=1)
    for pool, k_seen, graph in _RECENT:  # the same array, searched again (repeats, several samplers)
        if _same_array(pool, X) and k_seen >= k:
            return graph.prefix(k)
    graph = _load_or_compute(X, k, index, cache, progress, random_state)
    _RECENT.insert(0, (X, k, graph))
    del _RECENT[2:]
    return graph


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """The same memory seen the same way (one memory map wrapped twice counts as the same)."""
    if is_sparse(a) or is_sparse(b):
        return a is b
    return a is b or (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
                      and a.shape == b.shape and a.dtype == b.dtype and a.strides == b.strides)


def _load_or_compute(X, k, index, cache, progress, random_state) -> NeighbourGraph:
    k_eff = min(k, max(X.shape[0] - 1, 0))
    backend, build = _graph_index(X, index, random_state)
    path = None
    if cache:
        path = _cache_folder() / f"{pool_digest(X)}-k{k}-{backend}.npy"
        if path.exists():
            try:
                forward = np.load(path, mmap_mode="r", allow_pickle=False)
                if forward.shape == (X.shape[0], k):
                    return NeighbourGraph(forward)
            except (ValueError, OSError, EOFError):
                pass  # unreadable (a crash mid-write cannot leave one; a disk error can): recompute
    forward = np.full((X.shape[0], k), -1, np.int32)
    if k_eff:
        forward[:, :k_eff] = compute_graph(X, k_eff, build(), progress=progress)
    if path is not None:
        _save(path, forward)
    return NeighbourGraph(forward)


def _save(path: Path, array: np.ndarray) -> None:
    """Cache ``array`` at ``path`` (atomically); a read-only or full cache only costs a recomputation."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_npy(path, array)
    except OSError as exc:
        log.warning(f"note: could not cache the k-NN graph in {path.parent}: {exc}")
