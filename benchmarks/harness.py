"""What every benchmark shares: one timer, one results writer, and how to run a sibling.

* :func:`timed` calls a function ``warmup`` times untimed, then ``repeats`` times on one
  clock, and returns a :class:`Timing` (``median``, ``p90``, ``min``, ``max`` and the
  ``runs``, in seconds). Runs timed by hand (interleaved with other work) become a
  :class:`Timing` with :meth:`Timing.from_runs`, so every figure of the suite is the
  same statistic of its runs.
* :func:`write_results` writes a benchmark's results document as JSON, with a ``"run"``
  key added: the command (``python -m benchmarks.NAME ARGS``), the commit and whether the
  tree was dirty, the date, the machine, the libraries' versions, and the BLAS and
  thread settings the numbers were measured under. The document's own keys are kept
  as they are.
* :func:`python_m` is the command line that runs a benchmark module in a child process
  (``python -m benchmarks.NAME``); run it with ``cwd=ROOT``.

Every benchmark runs from the repository root as ``python -m benchmarks.NAME``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ELSA_THREADS")
VERSIONS = {"numpy": ("numpy",), "scipy": ("scipy",), "sklearn": ("scikit-learn",),
            "faiss": ("faiss-cpu", "faiss-gpu", "faiss"), "elsa": ("elsa-search",)}


# --- timing ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Timing:
    """Seconds of repeated runs: their median, 90th percentile (numpy's linear
    interpolation), fastest and slowest, and the runs in the order they ran."""

    median: float
    p90: float
    min: float
    max: float
    runs: tuple[float, ...]

    @classmethod
    def from_runs(cls, runs: Sequence[float]) -> "Timing":
        if len(runs) == 0:
            raise ValueError("a timing needs at least one run")
        r = np.asarray(runs, np.float64)
        return cls(median=float(np.median(r)), p90=float(np.quantile(r, 0.9)), min=float(r.min()),
                   max=float(r.max()), runs=tuple(float(x) for x in r))

    def as_dict(self) -> dict:
        return {"median": self.median, "p90": self.p90, "min": self.min, "max": self.max, "runs": list(self.runs)}


def timed(fn: Callable[[], object], *, repeats: int, warmup: int = 1,
          clock: Callable[[], float] = time.perf_counter) -> Timing:
    """``fn()`` called ``warmup`` times untimed, then ``repeats`` times, each run timed
    on ``clock`` (seconds; ``time.perf_counter`` unless a test passes its own)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        runs.append(clock() - t0)
    return Timing.from_runs(runs)


# --- running a sibling -----------------------------------------------------------------------

def python_m(module: str, *args: str) -> list[str]:
    """The argv that runs ``module`` (``benchmarks.NAME``) with this interpreter: pass it
    to ``subprocess.run(..., cwd=ROOT)``, so that the package is found as it is here."""
    return [sys.executable, "-m", module, *map(str, args)]


# --- the results writer ----------------------------------------------------------------------

def command(argv: Sequence[str] | None = None, module: str | None = None) -> str:
    """``python -m benchmarks.NAME ARGS``: the command that ran (``argv`` defaults to
    ``sys.argv[1:]``, ``module`` to the module run as ``__main__``)."""
    module = module or main_module()
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python", "-m", module] + ([shlex.join(args)] if args else []))


def main_module() -> str:
    """The dotted name of the module run as ``__main__`` (``benchmarks.NAME`` under
    ``python -m``), else ``benchmarks.`` and the script's file name."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return spec.name
    return f"benchmarks.{Path(sys.argv[0]).stem}" if sys.argv and sys.argv[0] else "benchmarks"


def commit() -> dict:
    """``{"commit": HEAD's sha or None, "dirty": tracked files changed or None}``."""
    def git(*args) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": sha.strip() if sha else None, "dirty": None if status is None else bool(status.strip())}


def machine() -> dict:
    """The platform, CPU model (``/proc/cpuinfo``), logical cores (and those this process
    may use) and memory (``/proc/meminfo``)."""
    out = {"platform": platform.platform(), "machine": platform.machine(), "python": platform.python_version(),
           "cpu": None, "logical_cores": os.cpu_count(), "usable_cores": None, "memory_gb": None}
    try:
        out["usable_cores"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                out["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        out["cpu"] = platform.processor() or None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                out["memory_gb"] = round(int(line.split()[1]) * 1024 / 2**30, 1)
                break
    except (OSError, ValueError, IndexError):
        pass
    return out


def versions() -> dict:
    """The versions of numpy, scipy, scikit-learn, faiss and elsa (None where not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name, dists in VERSIONS.items():
        mod = sys.modules.get(name)
        out[name] = getattr(mod, "__version__", None) if mod is not None else None
        for dist in dists if out[name] is None else ():
            try:
                out[name] = version(dist)
                break
            except PackageNotFoundError:
                continue
    return out


def blas() -> dict:
    """The thread pools loaded in this process (``threadpoolctl.threadpool_info()``: the
    library, its version and threads) and the thread variables of the environment."""
    try:
        from threadpoolctl import threadpool_info

        pools = [{"library": p.get("internal_api"), "api": p.get("user_api"), "version": p.get("version"),
                  "num_threads": p.get("num_threads"), "threading_layer": p.get("threading_layer")}
                 for p in threadpool_info()]
    except Exception as exc:  # noqa: BLE001 (a record of the run must not fail the run)
        pools = [{"error": repr(exc)}]
    return {"libraries": pools, "env": {k: os.environ.get(k) for k in THREAD_ENV}}


def run_info(argv: Sequence[str] | None = None, module: str | None = None) -> dict:
    """The ``"run"`` record :func:`write_results` adds."""
    return {"command": command(argv, module), **commit(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(), "versions": versions(), "blas": blas()}


def write_results(path, doc: dict, argv: Sequence[str] | None = None, *, module: str | None = None,
                  indent: int | None = 1) -> dict:
    """Write ``doc`` as JSON to ``path`` with ``"run"`` (:func:`run_info`) added after its
    own keys (a ``"run"`` read back from an earlier file is replaced); returns what was
    written. ``indent=None`` writes one line, as the large results files are kept."""
    path = Path(path)
    out = {k: v for k, v in doc.items() if k != "run"}
    out["run"] = run_info(argv, module)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(out, indent=indent) + "\n")
    os.replace(tmp, path)
    return out


@contextmanager
def new_npy(path: Path, shape: tuple[int, ...], dtype=np.float32) -> Iterator[np.ndarray]:
    """A memory map of a new ``.npy`` to fill, written as ``path``'s ``.partial.npy`` and renamed
    to ``path`` only when the block ends without an error (a run stopped half-way leaves no
    pool under the cached name). Files that must exist beside it (a pool's labels) are
    written inside the block."""
    tmp = path.with_suffix(".partial.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
    yield out
    out.flush()
    del out
    os.replace(tmp, path)


def paired_ratio_spread(found: dict, draws: int = 1000) -> dict:
    """90 % bootstrap intervals of the median-class and worst-class ratios of medians:
    ``found[c]`` is ``(found in the setting, found in the baseline)``, arrays by run index,
    resampled together (run ``r`` of both shares its seeds and search stream, so the pairs
    stay paired). Returns the 5th and 95th percentiles of both ratios."""
    rng = np.random.default_rng(0)
    med, worst = [], []
    for _ in range(draws):
        ratios = []
        for at, base in found.values():
            pick = rng.integers(0, at.size, at.size)
            b = np.median(base[pick])
            if b > 0:
                ratios.append(np.median(at[pick]) / b)
        med.append(np.median(ratios))
        worst.append(min(ratios))
    q = lambda v: [round(float(x), 3) for x in np.percentile(v, [5, 95])]  # noqa: E731
    return {"ratio_median_class_90": q(med), "ratio_worst_class_90": q(worst)}
