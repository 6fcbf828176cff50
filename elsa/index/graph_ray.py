"""The k-NN graph's list-by-list pass on Ray: lists in tasks, rows merged at the driver.

:func:`elsa.index.graph_build.lists_graph` trains the k-means lists and chooses the
probes in the driver (a few seconds at 1M rows); the pass over the lists, nearly all of
the time, is cut into tasks of whole lists. A task searches its lists' rows against
their probed lists' rows, with one faiss thread, and returns each row's neighbours; the
driver writes them into the graph. Every row's answer is computed by the same call on
the same rows as in one process, so the graph is the one-process graph.

The pool reaches a task as in :mod:`elsa.index.ray_backend`: a memory-mapped ``.npy``
by its path and offset (each task maps the file; the path must be readable on every
node), an array in memory through Ray's object store (put once, read without copying
by the tasks on a node).

Tasks are balanced by cost (each list's rows times its candidates), and at most
``workers`` run at once (default: the cluster's CPUs). ``task_cpus`` is what each task
reserves: 1, or 0 when the run's :class:`~elsa.index.ray_backend.RayIndex` already holds
the cluster's CPUs in its actors, which sit idle while the graph is built. With 0, Ray
no longer counts the tasks' CPUs: they are spread over the nodes evenly (``SPREAD``),
not by each node's cores, and other work on the cluster meanwhile shares the cores.
Running the pass inside the index's actors would keep the accounting; not done.
"""

from __future__ import annotations

import sys
from typing import Callable

import numpy as np

from ..exceptions import ElsaError
from .graph_build import Lists, search_parts, split_lists
from .ray_backend import MemmapRows, backing_file, connect

TASKS_PER_WORKER = 16  # small enough tasks that the last ones finish together


def _pass(source, lists: Lists, k: int, probes: int, which: np.ndarray):
    """One task: the rows of lists ``which`` and their neighbours."""
    X = source.open() if isinstance(source, MemmapRows) else source
    return search_parts(X, k, lists, probes, which)


def ray_search(*, workers: int | None = None, task_cpus: float = 1, address: str | None = None,
               progress: bool = True) -> Callable:
    """A ``search`` for :func:`~elsa.index.graph_build.lists_graph` that runs on Ray."""

    def search(X: np.ndarray, k: int, lists: Lists, probes: int, out: np.ndarray) -> int:
        from tqdm.auto import tqdm

        ray = connect(address)
        n_workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        source = backing_file(X)
        src = (MemmapRows(source[0], source[1], 0, X.shape[0], X.shape[1], X.dtype.name) if source is not None
               else ray.put(np.ascontiguousarray(X)))
        lists_ref = ray.put(lists)
        task = ray.remote(num_cpus=task_cpus, scheduling_strategy="SPREAD")(_pass)
        pending = split_lists(lists, probes, n_workers * TASKS_PER_WORKER)
        running = []
        bar = tqdm(total=X.shape[0], desc=f"k-NN graph on Ray ({n_workers} workers; {lists.count:,} lists, "
                   f"{probes} probes)", unit="row", disable=None if progress else True, dynamic_ncols=True,
                   file=sys.stderr, leave=False)
        try:
            while pending or running:
                while pending and len(running) < n_workers:
                    running.append(task.remote(src, lists_ref, k, probes, pending.pop(0)))
                done, running = ray.wait(running, num_returns=1)
                rows, found = ray.get(done[0])
                out[rows] = found
                bar.update(rows.size)
        except ray.exceptions.RayError as exc:
            raise ElsaError(f"a Ray task computing the k-NN graph failed: {exc}") from None
        finally:
            bar.close()
            for ref in running:
                ray.cancel(ref)
        return n_workers

    return search
