"""The distributed backend: the pool's row shards held by Ray actors.

``RayIndex`` is a :class:`~elsa.index.sharded.ShardedIndex` whose shards live in Ray
actors, one per shard, each holding its rows and their index for the whole search.
Every ELSA call (the NN sampler's distance-to-set search, RandS's k-NN search, the
head's scoring through :meth:`Index.map`) fans out to the actors at once and is merged
at the driver, exactly as in one process. Only the queries, each shard's excluded ids
and the head's weights travel per call; the pool never does.

Why Ray rather than Dask: a shard is state that lives for the whole search (its rows
and, for a faiss shard, an index that took minutes to build), and Ray's actors are
made for that, with numpy arguments passed through its shared-memory object store.
Dask's actors are marked experimental, and its futures would re-send or re-find the
shard on every call. Ray's ``ray.init()`` also connects a script to a running cluster
from ``RAY_ADDRESS`` with no code change.

Where the rows come from:

* a pool memory-mapped from a ``.npy`` file (what ``elsa simulate`` and ``elsa label``
  open): each actor maps its own rows of the same file, so the file must be readable at
  the same path on every node (a shared or replicated file system). Nothing is copied.
* a pool in memory: each shard is put once into Ray's object store, which the actors on
  a node read without copying.

Connecting: with ``address`` None, ``ray.init()`` joins the cluster named by the
``RAY_ADDRESS`` environment variable, or else starts a local one on this machine.
Ray is an optional dependency: ``pip install 'elsa-search[ray]'``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from .._io import memmap_base
from .._validation import check_embeddings, check_int
from ..exceptions import ElsaError, MissingDependencyError
from .exact import _DEFAULT_CHUNK_ROWS
from .._parallel import row_ranges
from .sharded import Shard, ShardedIndex


def require_ray():
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(
            "the distributed backend needs Ray: pip install 'elsa-search[ray]' (or pip install ray)"
        ) from None
    return ray


def connect(address: str | None = None, **init_options):
    """Join a Ray cluster (``address``, else ``RAY_ADDRESS``, else a new local one) unless
    this process already has; returns the ``ray`` module."""
    ray = require_ray()
    if not ray.is_initialized():
        options = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False,
                   **init_options}
        try:
            ray.init(address=address, **options)
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError ...
            where = address or "RAY_ADDRESS or a new local cluster"
            raise ElsaError(f"could not start or join a Ray cluster ({where}): {exc}") from None
    return ray


@dataclass(frozen=True)
class MemmapRows:
    """Rows ``start:stop`` of a pool of ``dtype`` (float32 or float16) stored in a file at
    ``path`` (byte ``offset`` of row 0)."""

    path: str
    offset: int
    start: int
    stop: int
    dim: int
    dtype: str = "float32"

    def open(self) -> np.ndarray:
        itemsize = np.dtype(self.dtype).itemsize
        return np.memmap(self.path, np.dtype(self.dtype), "r", offset=self.offset + self.start * self.dim * itemsize,
                         shape=(self.stop - self.start, self.dim))


def backing_file(X: np.ndarray) -> tuple[str, int] | None:
    """``(path, byte offset of row 0)`` when ``X`` (C-contiguous, as pools are) is a view
    of a memory-mapped file, else None."""
    base = memmap_base(X)
    if base is None or getattr(base, "filename", None) is None:
        return None
    delta = X.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return str(base.filename), int(base.offset) + int(delta)


class ShardHost(Shard):
    """A :class:`Shard` built inside a Ray actor from a :class:`MemmapRows` or an array.

    The actor's passes (search and the head's scoring) use ``threads`` threads, the CPUs
    Ray gave it, not every core of its machine.
    """

    def __init__(self, rows, start: int, backend: str, options: dict, threads: int = 1):
        os.environ["ELSA_THREADS"] = str(threads)  # this process is the actor's own
        X = rows.open() if isinstance(rows, MemmapRows) else rows
        super().__init__(X, start, backend, options)

    def ready(self) -> int:
        return self.index.n


class RayIndex(ShardedIndex):
    """An index whose shards are Ray actors.

    Parameters
    ----------
    X : (n, d) float32 or float16 pool at the driver (a memory map: the driver reads only the
        rows it gathers, such as the labelled points and the queries).
    shards : number of shards (and actors); default, one per CPU the cluster offers.
    shard_backend : each shard's own index, ``exact`` (default) or a faiss kind.
    address : the cluster to join (default: ``RAY_ADDRESS``, else a new local one).
    chunk_rows : the exact index's block size; shard boundaries are multiples of it.
    cpus_per_shard : CPUs Ray reserves for each actor (its BLAS threads).
    random_state : seeds a faiss shard's training.
    ready_timeout : seconds to wait for the actors to start and build their indexes.
    options : passed to each shard's index (``nlist``, ``nprobe`` ...).
    """

    name = "ray"

    def __init__(self, X, *, shards: int | None = None, shard_backend: str = "exact", address: str | None = None,
                 chunk_rows: int = _DEFAULT_CHUNK_ROWS, cpus_per_shard: float = 1, random_state=0, ready_timeout: float = 300, **options):
        self.X = check_embeddings(X)
        ray = connect(address)
        self._ray = ray
        if shards is None:
            shards = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_shard))
        chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
        self.bounds = row_ranges(self.n, check_int(shards, "shards", minimum=1), chunk_rows)
        options = ({"chunk_rows": chunk_rows, **options} if shard_backend == "exact"
                   else {"random_state": random_state, **options})
        source = backing_file(self.X)
        actor = ray.remote(num_cpus=cpus_per_shard)(ShardHost)
        self.actors = []
        for start, stop in self.bounds:
            rows = (MemmapRows(source[0], source[1], start, stop, self.dim, self.X.dtype.name) if source is not None
                    else ray.put(np.ascontiguousarray(self.X[start:stop])))
            self.actors.append(actor.remote(rows, start, shard_backend, options, max(1, int(cpus_per_shard))))
        try:  # build errors surface here, once
            ray.get([a.ready.remote() for a in self.actors], timeout=ready_timeout)
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise ElsaError(
                f"the Ray cluster did not start {len(self.bounds)} shard actors of {cpus_per_shard} CPU each within "
                f"{ready_timeout:g} s (free now: {ray.available_resources().get('CPU', 0):g} CPUs); ask for fewer "
                "shards, or close the indexes that hold the others") from None
        self.shard_backend = shard_backend
        self.in_place = source is not None

    def _call(self, method, per_shard_args):
        ray = self._ray
        # A large argument shared by every shard (the queries) goes to the object store once.
        shared = {}
        args = []
        for shard_args in per_shard_args:
            row = []
            for value in shard_args:
                if isinstance(value, np.ndarray) and value.nbytes > 65536:
                    key = id(value)
                    if key not in shared:
                        shared[key] = ray.put(value)
                    value = shared[key]
                row.append(value)
            args.append(row)
        return ray.get([getattr(a, method).remote(*row) for a, row in zip(self.actors, args)])

    def close(self) -> None:
        """Stop the actors and free their CPUs (the cluster itself stays up)."""
        for actor in getattr(self, "actors", []):
            try:
                self._ray.kill(actor)
            except Exception:  # the cluster is already gone
                pass
        self.actors = []

    def __del__(self):
        self.close()
