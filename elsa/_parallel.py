"""Full-pool passes on every core: the pool cut into row ranges, one Python thread each.

A pass over the pool (a distance search, scoring with the head) is a loop of matrix
products and element-wise numpy calls on blocks of rows. BLAS alone parallelises only
the products, and on 2 cores its threads and the element-wise work take turns. Here
each core gets a contiguous range of rows and runs the whole loop on it with one BLAS
thread; numpy releases the GIL in those calls, so the ranges run side by side.

Range boundaries are multiples of the caller's block size, so every block is the
block a single-threaded pass would cut, and every value is computed exactly as there.
Passes are serialised by a lock: BLAS's thread count is process-wide, and two passes
would compete for the same cores anyway. A pass started inside another's range (the
head scoring a stretch of a fused pass) runs its ranges one after another in that
thread. A pass of one range runs in the caller's thread, also with one BLAS thread:
BLAS's own threads split a product's rows, and OpenBLAS does not give a row the same
last bits in products of different row counts.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from threadpoolctl import ThreadpoolController

T = TypeVar("T")

# The block every full-pool pass cuts the pool into: the exact index's distance blocks and
# the head's scoring chunks. BLAS does not give a row the same value in products of
# different row counts (OpenBLAS's Haswell kernels differ in the last bits between 4096
# and 8192 rows), so every pass, and every shard boundary, uses the same grid of blocks.
BLOCK_ROWS = 4096

_LOCK = threading.Lock()
_INSIDE = threading.local()  # set in a pass's worker threads
_EXECUTOR: ThreadPoolExecutor | None = None


_CONTROLLER: tuple[int, ThreadpoolController] | None = None  # (modules loaded when made, controller)


def one_blas_thread():
    """A context with one BLAS (and OpenMP) thread: threadpoolctl's limit, from a controller
    kept between calls. Making one finds the loaded libraries by reading the process's memory
    map, about 5 ms, which every head fit and pool pass paid; it is made again only when
    modules were imported since (a new one may bring its own BLAS)."""
    global _CONTROLLER
    seen = _CONTROLLER
    if seen is None or seen[0] != len(sys.modules):
        seen = _CONTROLLER = (len(sys.modules), ThreadpoolController())
    return seen[1].limit(limits=1)


def cpu_count() -> int:
    """Threads a pass may use: ``ELSA_THREADS`` when set (a cluster worker given fewer CPUs
    than its machine has), else the CPUs this process may run on."""
    limit = os.environ.get("ELSA_THREADS", "")
    if limit.isdigit() and int(limit) > 0:
        return int(limit)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def row_ranges(n: int, parts: int, align: int) -> list[tuple[int, int]]:
    """At most ``parts`` contiguous ``(start, stop)`` ranges covering ``n`` rows, as equal as
    ``align`` allows, every inner boundary a multiple of ``align``.

    Fewer ranges come back when ``n`` is too small to give each one an aligned block.
    """
    if parts < 1:
        raise ValueError(f"parts must be at least 1, got {parts}")
    blocks = -(-n // align)
    parts = max(1, min(parts, blocks))
    cuts = [round(i * blocks / parts) * align for i in range(parts)] + [n]
    return [(start, min(stop, n)) for start, stop in zip(cuts[:-1], cuts[1:]) if start < min(stop, n)]


def map_ranges(fn: Callable[[int, int], T], ranges: list[tuple[int, int]]) -> list[T]:
    """``[fn(start, stop) for each range]``, the ranges in parallel threads with one BLAS thread each."""
    global _EXECUTOR
    if getattr(_INSIDE, "active", False):  # nested in a pass's range: one BLAS thread already
        return [fn(*r) for r in ranges]

    def run(r):
        _INSIDE.active = True
        try:
            return fn(*r)
        finally:
            _INSIDE.active = False

    if len(ranges) <= 1:  # one BLAS thread here too: BLAS's own threads would cut the blocks differently
        with _LOCK, one_blas_thread():
            return [run(r) for r in ranges]
    with _LOCK:
        if _EXECUTOR is None or _EXECUTOR._max_workers < len(ranges):
            _EXECUTOR = ThreadPoolExecutor(max_workers=max(len(ranges), cpu_count()), thread_name_prefix="elsa-pass")
        with one_blas_thread():
            return list(_EXECUTOR.map(run, ranges))
