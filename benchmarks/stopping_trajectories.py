"""Search trajectories for the stopping benchmark: the default search, run once per pool.

A stopping rule does not change what the search asks, and an audit is hidden from the
search, so one trajectory per (pool, repeat) is recorded (the items asked in order and
the page sizes) and every rule is replayed on it with many independent audit draws.
That is exact: it is what a run with that audit draw would have done.

Pools:

* ``fm-1%`` / ``fm-0.1%``: all 70,000 Fashion-MNIST images (Debian's
  ``dataset-fashion-mnist`` plus the built-in test split) embedded with the built-in
  encoder, one class thinned to 1 % (636 positives among 63,636 items) or 0.1 % (63
  among 63,063);
* ``docstrings``: the docstrings corpus of ``text_corpora.py`` (40,674 records, TF-IDF),
  one of its target packages (0.7-2.7 %) as the class.

5 seed positives drawn at random; the default search (``portfolio``), no epoch limit,
until ``cap`` labels or until every positive is found.

    python -m benchmarks.stopping_trajectories --pools fm-1%,fm-0.1% --classes 0,2,4,6,8
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from elsa.oracle import SimulatedOracle
from elsa.search import make_strategy
from elsa.search.registry import DEFAULT_STRATEGY
from elsa.simulation import draw_seeds, make_rare

from . import text_search
from .harness import ROOT
from .pools import fashion_mnist_encoded

CACHE = ROOT / "benchmarks" / ".cache" / "stopping"
FM_POOLS = {"fm-1%": 0.01, "fm-0.1%": 0.001}
N_SEEDS = 5


class _AllFound(Exception):
    pass


def pool(name: str, cls):
    """(X, truth, label of the class) for a pool name and a class (an int for Fashion-MNIST, a package for text)."""
    if name in FM_POOLS:
        from elsa.datasets import CLASS_NAMES

        X, labels = fashion_mnist_encoded(progress=False)
        keep = make_rare(labels, int(cls), FM_POOLS[name], np.random.default_rng([int(cls), int(FM_POOLS[name] * 1e6)]))
        return X[keep], labels[keep] == int(cls), CLASS_NAMES[int(cls)]
    _, names, _, _ = text_search.corpus_data(name)
    return text_search.features(name, dense=False), names == str(cls), str(cls)


def classes(name: str) -> list:
    if name in FM_POOLS:
        return list(range(10))
    return text_search.corpus_data(name)[2]


def trajectory(name: str, cls, repeat: int, cap: int) -> dict:
    """The default search's labels in order on one pool (cached)."""
    path = CACHE / f"{DEFAULT_STRATEGY}-{name}-{cls}-r{repeat}-cap{cap}.npz"
    if path.exists():
        z = np.load(path)
        return {k: z[k] for k in z.files}
    X, truth, label = pool(name, cls)
    rng = np.random.default_rng([repeat, int.from_bytes(f"{name}/{cls}".encode()[:8], "little")])
    seeds = draw_seeds(truth, N_SEEDS, rng)
    total, found = int(truth.sum()), [N_SEEDS]

    def on_round(rnd, state):  # a search that has found every positive has nothing left to find
        found[0] += int(truth[rnd.ids].sum())
        if found[0] >= total:
            raise _AllFound

    asked, sizes, left = [], [], []
    search = make_strategy(DEFAULT_STRATEGY, epochs=None, budget=cap)
    samplers = [getattr(search, role) for role in search.ROLES if getattr(search, role) is not None]

    def record(rnd, state):
        asked.append(np.asarray(rnd.ids, np.int64))
        sizes.append(rnd.ids.size)
        left.append({k: v for s in samplers for k, v in s.positives_left().items()})
        on_round(rnd, state)

    t0 = time.perf_counter()
    try:
        search.run(X, seeds, SimulatedOracle(truth), random_state=rng, callback=record, progress=False)
    except _AllFound:
        pass
    models = sorted({k for d in left for k in d})
    out = {"truth": truth, "seeds": seeds, "asked": np.concatenate(asked), "round_sizes": np.array(sizes),
           "seconds": np.array(time.perf_counter() - t0), "label": np.array(label),
           # each model's expected positives among the unlabelled items when the round was chosen (NaN: none yet)
           **{f"left_{k}": np.array([d.get(k, np.nan) for d in left]) for k in models}}
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(path)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pools", default="fm-1%,fm-0.1%,docstrings")
    ap.add_argument("--classes", default=None, help="Fashion-MNIST classes (default all 10)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--cap", type=int, default=15000)
    args = ap.parse_args()
    for name in args.pools.split(","):
        todo = classes(name) if args.classes is None or name not in FM_POOLS else [int(c) for c in args.classes.split(",")]
        for cls in todo:
            for repeat in range(args.repeats):
                t = trajectory(name, cls, repeat, args.cap)
                print(f"{name} {cls} r{repeat}: {t['asked'].size} labels, found "
                      f"{N_SEEDS + int(t['truth'][t['asked']].sum())}/{int(t['truth'].sum())}, "
                      f"{float(t['seconds']):.0f} s", flush=True)


if __name__ == "__main__":
    main()
