"""The demo: the default search, the paper's ELSA and nearest-neighbour search on the built-in data.

Fashion-MNIST's test split (shipped with the package) is embedded with the built-in
encoder (cached after the first run), one class is thinned to about 1 % of the pool,
and three strategies start from the same 5 seeds: ELSA with the paper's settings (10
epochs, a = l = b = 50), then the default (``portfolio``, pages of 10) and NN that keeps
searching (``nn-keep-going``), each given the labels ELSA spent. The result is a
side-by-side table and a PNG of positives found against labels spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ._validation import check_float, check_int
from .datasets import CLASS_NAMES, load_fashion_mnist
from .embeddings import embed_array
from .exceptions import ParameterError
from .metrics import discovery_rate, found_at, labelling_efficiency
from .oracle import SimulatedOracle
from .plotting import plot_discovery
from .search import DEFAULT_STRATEGY, SearchResult, make_strategy
from .simulation import draw_seeds, make_rare

DEMO_TARGET = 0  # "T-shirt/top"
DEMO_STRATEGIES = ("elsa", DEFAULT_STRATEGY, "nn-keep-going")  # ELSA first: the others get its labels
LABELS = {"elsa": "ELSA", DEFAULT_STRATEGY: "default", "nn-keep-going": "NN"}


@dataclass
class DemoRun:
    strategy: str
    result: SearchResult
    curve: list
    found: int
    queries: int


def run_demo(
    target: int = DEMO_TARGET,
    *,
    fraction: float = 0.01,
    n_seeds: int = 5,
    epochs: int = 10,
    random_state: int = 0,
    plot_path="elsa-demo.png",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Run the demo and return ``{"runs": {strategy: DemoRun}, "total_positives", "n_seeds", "plot"}``."""
    target = check_int(target, "target", minimum=0, maximum=len(CLASS_NAMES) - 1)
    n_seeds = check_int(n_seeds, "seeds", minimum=1)
    images, labels = load_fashion_mnist("test")
    natural = float(np.mean(labels == target))  # every class is 10 % of the test split
    fraction = check_float(fraction, "fraction", minimum=0.0, maximum=natural, exclusive_minimum=True)
    rng = np.random.default_rng(random_state)
    keep = make_rare(labels, target, fraction, rng)  # checked before the (slow, first-time) embedding
    truth = labels[keep] == target
    total = int(truth.sum())
    if n_seeds >= total:
        raise ParameterError(f"fraction {fraction:g} leaves {total} positive(s) in the pool, not more than the "
                             f"{n_seeds} seeds; raise the fraction or lower the seeds")
    emb = embed_array(images, progress=progress, desc="embedding built-in Fashion-MNIST")
    if emb.from_cache:
        log(f"embeddings: {emb.vectors.shape[0]} images, read from the cache")
    X = emb.vectors[keep]
    seeds = draw_seeds(truth, n_seeds, rng)
    name = CLASS_NAMES[target]
    log(
        f"pool: {X.shape[0]} images, target class {target} ({name}) thinned to {total} items "
        f"({100 * total / X.shape[0]:.1f} %), {n_seeds} seeds, {total - n_seeds} left to find"
    )
    runs: dict[str, DemoRun] = {}
    budget = None
    for strategy in DEMO_STRATEGIES:
        label = LABELS[strategy]
        seen = {"found": 0, "logged": 0}

        def report(rnd, state, label=label, seen=seen):
            seen["found"] += int(truth[rnd.ids].sum())
            if rnd.kind == "epoch" and label != "ELSA" and state.queries - seen["logged"] < 250 \
                    and state.budget_left != 0:
                return  # the page-sized rounds: a line every 250 labels
            seen["logged"] = state.queries
            step = f"epoch {rnd.epoch:>2}/{epochs}" if label == "ELSA" else f"round {rnd.epoch:>3}"
            if rnd.kind == "final":
                step = "final search"
            log(f"  {label:<7} {step}: {state.queries:>4} labels, found {seen['found']}/{total - n_seeds}")

        search = make_strategy(strategy, epochs=epochs if strategy == "elsa" else None, budget=budget)
        result = search.run(X, seeds, SimulatedOracle(truth), random_state=random_state, callback=report,
                            progress=progress)
        curve = result.curve(truth)
        runs[strategy] = DemoRun(strategy, result, curve, curve[-1][1], result.queries)
        budget = runs["elsa"].queries
    plot = plot_discovery(
        {f"{LABELS[s]} ({r.found} found, {r.queries} labels)": r.curve for s, r in runs.items()},
        total - n_seeds,
        Path(plot_path),
        title=f"Fashion-MNIST '{name}' at {100 * total / X.shape[0]:.1f} % of {X.shape[0]} images, {n_seeds} seeds",
    )
    return {"runs": runs, "total_positives": total, "n_seeds": n_seeds, "plot": plot, "class_name": name}


def format_table(demo: dict) -> str:
    """The side-by-side table the demo prints."""
    runs, total, n_seeds = demo["runs"], demo["total_positives"], demo["n_seeds"]
    labels = demo.get("labels", LABELS)
    header = f"{'':<34}" + "".join(f"{labels[s]:>10}" for s in runs)
    rows = [
        ("labels spent (oracle queries)", lambda r: f"{r.queries}"),
        ("positives found (seeds excluded)", lambda r: f"{r.found}"),
        ("discovery rate (seeds included)", lambda r: f"{discovery_rate(r.found, total, n_seeds):.3f}"),
        ("labelling efficiency", lambda r: f"{labelling_efficiency(r.found, r.queries):.3f}"),
    ]
    rows += [(f"found within {b} labels", lambda r, b=b: f"{found_at(r.curve, b)}") for b in (100, 250, 500)]
    lines = [header] + [f"{title:<34}" + "".join(f"{fmt(r):>10}" for r in runs.values()) for title, fmt in rows]
    return "\n".join(lines)
