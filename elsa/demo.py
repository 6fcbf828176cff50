"""The demo: ELSA against iterative nearest-neighbour search on the built-in data.

Fashion-MNIST's test split (shipped with the package) is embedded with the built-in
encoder (cached after the first run), one class is thinned to about 1 % of the pool,
and both strategies start from the same 5 seeds with the paper's settings (10
epochs, a = l = b = 50). The result is a side-by-side table and a PNG of positives
found against labels spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ._validation import check_int
from .datasets import CLASS_NAMES, load_fashion_mnist
from .embeddings import embed_array
from .exceptions import ParameterError
from .metrics import discovery_rate, found_at, labelling_efficiency
from .oracle import SimulatedOracle
from .plotting import plot_discovery
from .search import SearchResult, make_strategy
from .simulation import draw_seeds, make_rare

DEMO_TARGET = 0  # "T-shirt/top"
DEMO_STRATEGIES = ("elsa", "nn")


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
    emb = embed_array(images, progress=progress, desc="embedding built-in Fashion-MNIST")
    if emb.from_cache:
        log(f"embeddings: {emb.vectors.shape[0]} images, read from the cache")
    rng = np.random.default_rng(random_state)
    keep = make_rare(labels, target, fraction, rng)
    X = emb.vectors[keep]
    truth = labels[keep] == target
    total = int(truth.sum())
    if n_seeds >= total:
        raise ParameterError(f"asked for {n_seeds} seeds but only {total} positives remain after thinning")
    seeds = draw_seeds(truth, n_seeds, rng)
    name = CLASS_NAMES[target]
    log(
        f"pool: {X.shape[0]} images, target class {target} ({name}) thinned to {total} items "
        f"({100 * total / X.shape[0]:.1f} %), {n_seeds} seeds, {total - n_seeds} left to find"
    )
    runs: dict[str, DemoRun] = {}
    for strategy in DEMO_STRATEGIES:
        label = strategy.upper()
        found_so_far = [0]

        def report(rnd, state, label=label, found_so_far=found_so_far):
            found_so_far[0] += int(truth[rnd.ids].sum())
            parts = ", ".join(f"{k} {v}" for k, v in rnd.sources.items())
            step = f"epoch {rnd.epoch:>2}/{epochs}" if rnd.kind == "epoch" else "final search"
            log(
                f"  {label:<4} {step}: labelled {rnd.ids.size:>4} ({parts}), {int(truth[rnd.ids].sum()):>3} positive;"
                f" found {found_so_far[0]}/{total - n_seeds}"
            )

        result = make_strategy(strategy, epochs=epochs).run(
            X, seeds, SimulatedOracle(truth), random_state=random_state, callback=report
        )
        if result.stop_reason == "no candidates":
            log(f"  {label:<4} stopped: its last search found no new positive to search around")
        curve = result.curve(truth)
        runs[strategy] = DemoRun(strategy, result, curve, curve[-1][1], result.queries)
    plot = plot_discovery(
        {f"{s.upper()} ({r.found} found, {r.queries} labels)": r.curve for s, r in runs.items()},
        total - n_seeds,
        Path(plot_path),
        title=f"Fashion-MNIST '{name}' at {100 * total / X.shape[0]:.1f} % of {X.shape[0]} images, {n_seeds} seeds",
    )
    return {"runs": runs, "total_positives": total, "n_seeds": n_seeds, "plot": plot, "class_name": name}


def format_table(demo: dict) -> str:
    """The side-by-side table the demo prints."""
    runs, total, n_seeds = demo["runs"], demo["total_positives"], demo["n_seeds"]
    nn_queries = runs["nn"].queries
    header = f"{'':<34}" + "".join(f"{s.upper():>10}" for s in runs)
    rows = [
        ("labels spent (oracle queries)", lambda r: f"{r.queries}"),
        ("positives found (seeds excluded)", lambda r: f"{r.found}"),
        ("discovery rate (seeds included)", lambda r: f"{discovery_rate(r.found, total, n_seeds):.3f}"),
        ("labelling efficiency", lambda r: f"{labelling_efficiency(r.found, r.queries):.3f}"),
        (f"found within {nn_queries} labels", lambda r: f"{found_at(r.curve, nn_queries)}"),
    ]
    lines = [header] + [f"{title:<34}" + "".join(f"{fmt(r):>10}" for r in runs.values()) for title, fmt in rows]
    return "\n".join(lines)
