"""Simulated searches: ground-truth labels stand in for the person labelling.

This is what ``elsa simulate`` and the benchmarks run. Randomness: one
``numpy.random.SeedSequence(random_state)`` is split into one child per repeat, and
each child into the seed draw, the search and the oracle's noise, so every repeat is
reproducible on its own and adding repeats does not change earlier ones.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from ._validation import as_generator, check_class_labels, check_embeddings, check_float, check_ids, check_int
from .exceptions import ParameterError
from .index import ExactIndex
from .metrics import discovery_rate, labelling_efficiency, quartiles
from .oracle import NoisyOracle, SimulatedOracle
from .search import make_strategy, strategy_params
from .search.loop import Round
from .state import SearchState


def draw_seeds(truth: np.ndarray, n_seeds: int, random_state=None) -> np.ndarray:
    """``n_seeds`` distinct positives drawn uniformly, sorted."""
    positives = np.flatnonzero(truth)
    if n_seeds > positives.size:
        raise ParameterError(f"asked for {n_seeds} seeds but the target class has only {positives.size} member(s)")
    return np.sort(as_generator(random_state).choice(positives, n_seeds, replace=False))


def make_rare(labels: np.ndarray, target: int, fraction: float, random_state=None) -> np.ndarray:
    """Row ids of a pool where class ``target`` is thinned to ``fraction`` of the pool.

    All other rows are kept; a random subset of the target class is kept so that it makes
    up ``fraction`` of the result (at least one item). Returned sorted.
    """
    fraction = check_float(fraction, "fraction", minimum=0.0, maximum=1.0, exclusive_maximum=True)
    pos = np.flatnonzero(labels == target)
    neg = np.flatnonzero(labels != target)
    if pos.size == 0:
        raise ParameterError(f"class {target} has no members")
    n_keep = max(1, min(pos.size, round(fraction * neg.size / (1.0 - fraction))))
    kept = as_generator(random_state).choice(pos, n_keep, replace=False)
    return np.sort(np.concatenate([neg, kept]))


def simulate(
    X,
    labels,
    target: int,
    *,
    strategy: str = "elsa",
    n_seeds: int = 5,
    seed_ids=None,
    repeats: int = 1,
    budget: int | None = None,
    epochs: int = 10,
    noise: float = 0.0,
    random_state: int = 0,
    params: dict | None = None,
    found_at: tuple[int, ...] = (),
    on_round: Callable[[int, Round, SearchState], None] | None = None,
) -> dict:
    """Run ``repeats`` simulated searches for class ``target`` and summarise them.

    ``found_at`` lists smaller budgets at which to also report the positives found: the
    true positives among the first ``B`` queries, in the order the oracle was asked. A
    run with budget ``B`` makes the same choices up to its last call, which it cuts to
    fit, in the same priority order, so the count equals that run's ``found`` (while the
    loop is still in its epochs: a final search is sized by the remaining budget).

    Returns the JSON document ``elsa simulate`` writes:
    ``{"strategy", "params", "runs": [...], "summary": {...}}``.
    """
    X = check_embeddings(X)
    labels = check_class_labels(labels, X.shape[0])
    repeats = check_int(repeats, "repeats", minimum=1)
    random_state = check_int(random_state, "random_state", minimum=0)
    noise = check_float(noise, "noise", minimum=0.0, maximum=1.0)
    truth = labels == target
    total = int(truth.sum())
    if total == 0:
        present = ", ".join(str(c) for c in np.unique(labels)[:20])
        raise ParameterError(f"target class {target} has no members in the labels (classes present: {present})")
    if seed_ids is not None:
        seed_ids = check_ids(seed_ids, X.shape[0], "seed_ids")
        not_positive = seed_ids[~truth[seed_ids]]
        if not_positive.size:
            raise ParameterError(f"seed ids {not_positive[:10].tolist()} are not members of class {target}")
    else:
        n_seeds = check_int(n_seeds, "seeds", minimum=0)
        if n_seeds > total:
            raise ParameterError(f"asked for {n_seeds} seeds but class {target} has only {total} member(s)")
    params = dict(params or {})
    search = make_strategy(strategy, epochs=epochs, budget=budget, **params)
    index = ExactIndex(X)
    runs = []
    for r, child in enumerate(np.random.SeedSequence(random_state).spawn(repeats)):
        seed_rng, search_rng, noise_rng = (np.random.default_rng(s) for s in child.spawn(3))
        seeds = seed_ids if seed_ids is not None else draw_seeds(truth, n_seeds, seed_rng)
        oracle = NoisyOracle(truth, noise, noise_rng) if noise > 0 else SimulatedOracle(truth)
        callback = (lambda rnd, st, r=r: on_round(r, rnd, st)) if on_round is not None else None
        t0 = time.perf_counter()
        result = search.run(X, seeds, oracle, random_state=search_rng, index=index, callback=callback)
        seconds = time.perf_counter() - t0
        queried = result.queried_ids
        found = int(truth[queried].sum())
        run = {
            "seed_ids": [int(i) for i in seeds],
            "n_seeds": int(seeds.size),
            "queries": int(queried.size),
            "found": found,
            "total_positives": total,
            "discovery_rate": discovery_rate(found, total, int(seeds.size)),
            "labelling_efficiency": labelling_efficiency(found, int(queried.size)),
            "curve": [list(p) for p in result.curve(truth)],
            "seconds": seconds,
            "epochs_run": sum(1 for rnd in result.rounds if rnd.kind == "epoch"),
            "stop_reason": result.stop_reason,
            "phase_seconds": _phase_seconds(result.rounds),
        }
        first = np.flatnonzero(truth[queried])
        run["first_positive_at"] = int(first[0]) + 1 if first.size else None
        if found_at:
            hits = np.cumsum(truth[queried])
            run["found_at"] = {str(b): int(hits[min(b, hits.size) - 1]) if hits.size and b > 0 else 0 for b in found_at}
        if noise > 0:
            run["found_reported"] = int(result.answers.sum())
            run["false_positives"] = int((result.answers & ~truth[queried]).sum())
            run["false_negatives"] = int((~result.answers & truth[queried]).sum())
        runs.append(run)
    summary = {
        key: quartiles(run[key] for run in runs)
        for key in ("found", "queries", "discovery_rate", "labelling_efficiency", "seconds")
    }
    return {
        "strategy": strategy,
        "params": {
            **strategy_params(strategy, **params),
            "epochs": epochs,
            "budget": budget,
            "target": int(target),
            "n_seeds": None if seed_ids is not None else n_seeds,
            "seed_ids": None if seed_ids is None else [int(i) for i in seed_ids],
            "repeats": repeats,
            "noise": noise,
            "random_state": random_state,
            "pool_size": int(X.shape[0]),
            "dim": int(X.shape[1]),
        },
        "runs": runs,
        "summary": summary,
    }


def _phase_seconds(rounds) -> dict[str, float]:
    """Total wall time of each phase over a run's oracle calls."""
    totals: dict[str, float] = {}
    for rnd in rounds:
        for phase, sec in rnd.seconds.items():
            totals[phase] = totals.get(phase, 0.0) + sec
    return totals
