"""The pool's k-nearest-neighbour graph: every row's ``k`` nearest other rows, computed once.

The k-NN model of active search (:mod:`elsa.head.knn`) gives an item a probability
from the labels among its own ``k`` nearest neighbours, so when one item is labelled
the probabilities that change are those of the items that list it: its *reverse*
neighbours. Both directions come from one graph of the whole pool:

* ``forward[i]``: row ``i``'s ``k`` nearest other rows, nearest first (an ``(n, k)``
  int32 array; ``-1`` pads a pool of ``k`` rows or fewer);
* ``reverse(j)``: the rows whose lists contain ``j`` (a CSR over the transposed graph).

How it is computed (:func:`neighbour_graph`; :class:`~elsa.index.graph_build.GraphReport` says which, and how well):

* up to :data:`EXACT_GRAPH_ROWS` rows, exactly, through the run's index (an
  :class:`~elsa.index.exact.ExactIndex` when it has none; about 75 s at 100,000 x 128 on
  2 cores), in chunks of queries with a progress bar;
* above it, approximately, by k-means lists through faiss
  (:mod:`elsa.index.graph_build`): the probes are chosen on a pilot sample of rows for
  a recall@k against exact neighbours of at least 0.95 (up to 128 probes; a note says
  when even those miss it), and the recall is measured on other sampled rows and reported; on a :class:`~elsa.index.ray_backend.RayIndex`
  the lists are searched by Ray tasks (:mod:`elsa.index.graph_ray`). Without faiss the
  run's index computes it, with a note naming the extra;
* a sparse pool (text features) always exactly.

Choice: the whole graph once, not lazily for the candidates. Lazily, every labelled
item's reverse neighbours would need the lists of every row near it, which is most of
the rows a search ever touches and one k-NN search per row per round; once computed,
the graph makes each round's update ``O(k)`` per new label. It is cached on disk,
keyed by the pool's contents (SHA-256, remembered by the pool file's identity:
:mod:`elsa.digests`), ``k`` and how it was computed, under
``$ELSA_CACHE_DIR/neighbours`` (default ``~/.cache/elsa``), so a session, a simulation
and a benchmark on the same pool compute it once (whatever their random states: an
approximate graph's k-means is seeded by the run that builds it). It is written there as it is
computed (a memory map, renamed into place when complete, with its report beside it as
JSON) and read back as a memory map, so it never needs to fit in memory twice.
``benchmarks/results/search_latency.md`` has the times.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .._io import atomic_write, cache_root, memmap_base, save_npy
from .._validation import check_embeddings, check_int, is_sparse
from ..digests import pool_digest  # noqa: F401  (the cache key; benchmarks and tests read it here)
from .base import Index
from .graph_build import GraphReport

log = logging.getLogger("elsa")  # notes for the user; printed to stderr unless logging is set up

EXACT_GRAPH_ROWS = 100_000  # above this, k-means lists through faiss compute the graph when faiss is installed
_QUERY_CHUNK = 1024
_RECENT: list[tuple[np.ndarray, int, "NeighbourGraph"]] = []  # (pool, k, graph): repeated runs on one pool


def _cache_folder() -> Path:
    return cache_root() / "neighbours"


class NeighbourGraph:
    """Forward and reverse k-NN lists of a pool (see the module docstring).

    Parameters
    ----------
    forward : (n, k) int array
        Each row's neighbours, nearest first, ``-1`` padding.
    """

    def __init__(self, forward: np.ndarray, report: GraphReport | None = None,
                 reverse: tuple[np.ndarray, np.ndarray] | None = None):
        self.forward = np.asarray(forward)
        self.report = report  # how it was computed, and its recall@k (None: not known)
        # The reverse lists, when read from the cache with the graph (else computed on first use).
        self._ptr, self._rev = reverse if reverse is not None else (None, None)

    @property
    def n(self) -> int:
        return self.forward.shape[0]

    @property
    def k(self) -> int:
        return self.forward.shape[1]

    def _transpose(self) -> None:
        self._ptr, self._rev = transpose(self.forward)

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
        return self if k == self.k else NeighbourGraph(self.forward[:, :k], self.report)


def transpose(forward: np.ndarray, out: tuple[np.ndarray, np.ndarray] | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """The reverse lists of ``forward`` as CSR ``(ptr, rows)`` (column ``j``'s rows, ascending:
    the rows that list ``j``), by scipy's counting sort (CSR to CSC), ``O(n k)``; ``out``
    receives them (arrays of ``n + 1`` and of the valid entries' count, of
    :func:`reverse_dtype`).

    Its scattered writes make it slow at scale (35 s at 10M x 50 on this machine), so a
    cached graph keeps its reverse lists beside it and a search maps them instead."""
    from scipy.sparse import _sparsetools

    n, k = forward.shape
    kind = reverse_dtype(forward.size)  # scipy's kernel takes one index type throughout
    valid = forward >= 0
    if valid.all():
        indices = np.ascontiguousarray(forward, dtype=kind).reshape(-1)
        indptr = np.arange(0, n * k + 1, k, dtype=kind)
    else:
        indices = np.ascontiguousarray(forward[valid], dtype=kind)
        indptr = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(kind)
    ptr, rows = out if out is not None else (np.empty(n + 1, kind), np.empty(indices.size, kind))
    ones = np.ones(indices.size, np.int8)
    # scipy's own kernel behind csr_matrix.tocsc(), called on the arrays as they are: tocsc()
    # would check and copy a graph-sized matrix first.
    _sparsetools.csr_tocsc(n, n, indptr, indices, ones, ptr, rows, np.empty_like(ones))
    return ptr, rows


def reverse_dtype(entries: int) -> type:
    """int32 while the graph's entries fit in it, else int64."""
    return np.int32 if entries < 2**31 else np.int64


def _method(X, index: Index | None) -> str:
    """How the graph is computed (part of the cache key): ``lists`` (k-means lists through
    faiss, :mod:`elsa.index.graph_build`) for a dense pool above :data:`EXACT_GRAPH_ROWS`
    rows when faiss is installed, else through the run's index (its name), else ``exact``."""
    if X.shape[0] > EXACT_GRAPH_ROWS and not is_sparse(X):
        try:
            from .faiss_index import require_faiss

            require_faiss()
            return "lists"
        except ImportError:  # no faiss: through the index, slowly
            log.warning(f"note: computing the k-NN graph of {X.shape[0]:,} rows exactly; install faiss "
                        "(pip install 'elsa-search[faiss]') to compute it approximately and much faster")
    return index.name if index is not None else "exact"


def compute_graph(X: np.ndarray, k: int, index: Index, *, progress: bool = True, out: np.ndarray | None = None
                  ) -> np.ndarray:
    """Every row's ``k`` nearest other rows through ``index``, ``(n, k)`` int32."""
    from tqdm.auto import tqdm

    n = X.shape[0]
    out = np.empty((n, k), np.int32) if out is None else out
    bar = tqdm(total=n, desc=f"k-NN graph (k={k}; {index.name} index)", unit="row",
               disable=None if progress else True, dynamic_ncols=True, file=sys.stderr, leave=False)
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

    ``index`` is the run's search index (an exact one is made when None); on a dense
    pool above :data:`EXACT_GRAPH_ROWS` rows the graph is computed by k-means lists
    through faiss instead, when faiss is installed (on Ray tasks when ``index`` is a
    Ray index). ``cache=False`` neither reads nor writes the disk cache. The graph's
    :class:`~elsa.index.graph_build.GraphReport` is its ``report``.
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
    method = _method(X, index)
    path = None
    if cache:
        path = _cache_folder() / f"{pool_digest(X)}-k{k}-{method}.npy"
        if path.exists():
            try:
                forward = np.load(path, mmap_mode="r", allow_pickle=False)
                if forward.shape == (X.shape[0], k):
                    return NeighbourGraph(forward, _read_report(path), _read_reverse(path, X.shape[0]))
            except (ValueError, OSError, EOFError):
                pass  # unreadable (a crash mid-write cannot leave one; a disk error can): recompute
    with _output(path, (X.shape[0], k)) as forward:
        report = _compute(X, k, index, method, forward, progress, random_state)
    if path is None or not path.exists():
        return NeighbourGraph(forward, report)
    _write_report(path, report)
    forward = np.load(path, mmap_mode="r", allow_pickle=False)
    _release(X)  # the pool's pages: the transposition needs the memory (the search maps them again)
    _write_reverse(path, forward)
    return NeighbourGraph(forward, report, _read_reverse(path, X.shape[0]))


def _compute(X, k, index, method, forward, progress, random_state) -> GraphReport:
    """Fill ``forward`` (``-1`` already) and say how."""
    from .graph_build import lists_graph

    n = X.shape[0]
    k_eff = min(k, max(n - 1, 0))
    t0 = time.perf_counter()
    if method == "lists":
        log.warning(f"note: computing the k-NN graph of {n:,} rows (once per pool; k-means lists through faiss, "
                    "their recall measured on sampled rows)")
        search = None
        if index is not None and index.name == "ray":
            from .graph_ray import ray_search

            search = ray_search(task_cpus=0)  # the index's actors hold the CPUs, idle while the graph is built
        report = lists_graph(X, k, out=forward, random_state=random_state, progress=progress, search=search)[1]
        log.warning(f"note: {report.describe()}")
        return report
    if k_eff:
        if index is None:
            from .local import make_local_index

            index = make_local_index(X, "exact")  # the sparse exact index for a sparse pool
        if k_eff == k:
            compute_graph(X, k, index, progress=progress, out=forward)
        else:
            forward[:, :k_eff] = compute_graph(X, k_eff, index, progress=progress)
    exact = index is None or index.name == "exact"
    return GraphReport("exact" if exact else method, n, k, round(time.perf_counter() - t0, 1),
                       recall=1.0 if exact else None)


def _partial_name(path: Path) -> Path:
    """A temporary name beside ``path``, unique to this process (host, pid and a random part:
    a cache on a shared disk is written by processes on several machines)."""
    return path.with_name(f".{path.name}.{_host()}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")


def _host() -> str:
    return socket.gethostname().replace(".", "_") or "host"


def _mapped_file(tmp: Path, dtype, shape) -> np.ndarray:
    """A writable memory map of a new ``.npy`` at ``tmp``, its blocks reserved on disk first:
    a full disk is an ``OSError`` here, not a SIGBUS when a page is written later."""
    array = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
    if hasattr(os, "posix_fallocate"):
        with open(tmp, "r+b") as fh:
            try:
                os.posix_fallocate(fh.fileno(), 0, os.fstat(fh.fileno()).st_size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                    raise  # a full disk; a file system that cannot reserve blocks is used as it is
    return array


@contextmanager
def _output(path: Path | None, shape):
    """The graph's array: a memory map written beside the cache entry and renamed into it
    when complete (so a crash leaves no partial graph under the cached name), or, with no
    cache or an unwritable one, memory."""
    tmp = None
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_partials(path)
            tmp = _partial_name(path)
            forward = _mapped_file(tmp, np.int32, shape)
        except OSError as exc:
            log.warning(f"note: could not cache the k-NN graph in {path.parent}: {exc}; computing it in memory")
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            tmp = None
    if tmp is None:
        forward = np.empty(shape, np.int32)
    forward[:] = -1
    try:
        yield forward
    except BaseException:
        if tmp is not None:
            del forward
            tmp.unlink(missing_ok=True)
        raise
    if tmp is not None:
        forward.flush()
        try:
            os.replace(tmp, path)
        except OSError as exc:  # the graph is complete in the mapped file; only caching it failed
            log.warning(f"note: could not cache the k-NN graph in {path.parent}: {exc}")
            tmp.unlink(missing_ok=True)


def _remove_stale_partials(path: Path) -> None:
    """Delete this entry's partial files (graph and reverse lists) left by killed processes
    of this machine (a Ctrl-C removes its own; a kill cannot). Another machine's, or a live
    process's, are left alone."""
    host = _host()
    for old in path.parent.glob(f".{path.stem}.*.partial"):
        parts = old.name[:-len(".partial")].rsplit(".", 3)
        try:
            if len(parts) != 4 or parts[1] != host:
                continue
            os.kill(int(parts[2]), 0)  # raises when no such process
        except ProcessLookupError:
            old.unlink(missing_ok=True)
        except (ValueError, OSError):
            pass  # not ours to judge: another user's process, or a name we did not write


def _reverse_paths(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.stem + ".reverse-ptr.npy"), path.with_name(path.stem + ".reverse-rows.npy")


def _write_reverse(path: Path, forward: np.ndarray) -> None:
    """The reverse lists beside the cached graph, written into memory maps and renamed into
    place (the rows first, so a pointer file always has its rows)."""
    n = forward.shape[0]
    count = int(forward.size if forward[:, -1].min() >= 0 else (forward >= 0).sum())
    ptr_path, rows_path = _reverse_paths(path)
    tmp_ptr, tmp_rows = _partial_name(ptr_path), _partial_name(rows_path)
    try:
        kind = reverse_dtype(forward.size)
        ptr = _mapped_file(tmp_ptr, kind, (n + 1,))
        rows = _mapped_file(tmp_rows, kind, (count,))
        transpose(forward, (ptr, rows))
        ptr.flush()
        rows.flush()
        del ptr, rows
        os.replace(tmp_rows, rows_path)
        os.replace(tmp_ptr, ptr_path)
    except (OSError, MemoryError) as exc:  # a full disk: the search transposes the graph itself
        log.warning(f"note: could not cache the k-NN graph's reverse lists in {path.parent}: {exc}")
    finally:
        tmp_ptr.unlink(missing_ok=True)
        tmp_rows.unlink(missing_ok=True)


def _read_reverse(path: Path, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    ptr_path, rows_path = _reverse_paths(path)
    try:
        ptr = np.load(ptr_path, mmap_mode="r", allow_pickle=False)
        rows = np.load(rows_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None  # not written (an older cache entry, a full disk): transposed when first needed
    return (ptr, rows) if ptr.shape == (n + 1,) and rows.shape == (int(ptr[-1]),) else None


def _release(X) -> None:
    """Drop a memory-mapped pool's pages from this process's memory (they stay in the page
    cache; a later read maps them again): its peak memory is then the graph's, not both."""
    import mmap

    base = memmap_base(X)
    handle = getattr(base, "_mmap", None)
    # Read-only maps only: on a copy-on-write map the kernel would drop the process's changes.
    if handle is not None and hasattr(handle, "madvise") and getattr(base, "mode", None) == "r":
        try:
            handle.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError, AttributeError):
            pass


def _report_path(path: Path) -> Path:
    return path.with_suffix(".json")


def _read_report(path: Path) -> GraphReport | None:
    try:
        return GraphReport.from_dict(json.loads(_report_path(path).read_text()))
    except (OSError, ValueError, TypeError):
        return None  # a graph cached before reports were kept, or an unreadable one


def _write_report(path: Path, report: GraphReport) -> None:
    try:
        atomic_write(_report_path(path), lambda fh: fh.write(json.dumps(report.to_dict(), indent=1).encode()))
    except OSError:
        pass  # the graph is cached; only its report is missing


def _save(path: Path, array: np.ndarray) -> None:
    """Cache ``array`` at ``path`` (atomically); a read-only or full cache only costs a recomputation."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_npy(path, array)
    except OSError as exc:
        log.warning(f"note: could not cache the k-NN graph in {path.parent}: {exc}")
