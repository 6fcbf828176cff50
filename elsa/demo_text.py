"""The text demo: the default search against CAL and nearest-neighbour search on Python's own docstrings.

A text corpus every Python install has (:mod:`elsa.datasets.docstrings`: the standard
library's docstrings, about 4,000 records, nothing downloaded) is featurised as sparse
TF-IDF (:mod:`elsa.text`), and one package's docstrings are the target (default
``email``), thinned to 1 % of the pool as the image demo thins its class. Three strategies start from the same
5 seeds with the same budget: the default (``portfolio``), CAL (``cal``: AutoTAR's
continuous active learning, the linear model text-screening tools such as ASReview
use) and NN that keeps searching (``nn-keep-going``). The result is the same table and
plot as the image demo's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ._validation import check_int
from .datasets.docstrings import stdlib_docstrings
from .exceptions import ParameterError
from .oracle import SimulatedOracle
from .plotting import plot_discovery
from .search import DEFAULT_STRATEGY, make_strategy
from .simulation import draw_seeds, make_rare

TEXT_TOPIC = "email"
TEXT_STRATEGIES = (DEFAULT_STRATEGY, "cal", "nn-keep-going")
TEXT_LABELS = {DEFAULT_STRATEGY: "default", "cal": "CAL", "nn-keep-going": "NN"}


def run_text_demo(topic: str = TEXT_TOPIC, *, fraction: float = 0.01, n_seeds: int = 5, budget: int = 500,
                  random_state: int = 0,
                  plot_path="elsa-demo-text.png", progress: bool = True, log: Callable[[str], None] = print) -> dict:
    """Run the text demo; returns what :func:`elsa.demo.format_table` prints."""
    from .demo import DemoRun
    from .text.features import text_features

    n_seeds = check_int(n_seeds, "seeds", minimum=1)
    budget = check_int(budget, "budget", minimum=1)
    corpus = stdlib_docstrings()
    cats = np.array(corpus["categories"])
    rng = np.random.default_rng(random_state)
    keep = make_rare((cats == topic).astype(np.int64), 1, fraction, rng) if (cats == topic).any() else np.arange(cats.size)
    truth = cats[keep] == topic
    total = int(truth.sum())
    if total <= n_seeds:
        common = ", ".join(c for c, _ in sorted(zip(*np.unique(cats, return_counts=True)), key=lambda t: -t[1])[:12])
        raise ParameterError(f"topic {topic!r} leaves {total} docstring(s) of Python {corpus['python']}'s standard "
                             f"library in the pool, not more than the {n_seeds} seeds; try one of {common}")
    texts = [f"{corpus['titles'][i]}\n{corpus['abstracts'][i]}" for i in keep]
    X = text_features(texts, progress=False)
    seeds = draw_seeds(truth, n_seeds, rng)
    log(f"pool: {X.shape[0]} docstrings of Python {corpus['python']}'s standard library (TF-IDF, "
        f"{X.shape[1]:,} terms); target: the {total} of package {topic!r} ({100 * total / X.shape[0]:.1f} %), "
        f"{n_seeds} seeds, {total - n_seeds} left to find, {budget} labels each")
    runs = {}
    for strategy in TEXT_STRATEGIES:
        search = make_strategy(strategy, epochs=None, budget=budget)
        result = search.run(X, seeds, SimulatedOracle(truth), random_state=random_state, progress=progress)
        curve = result.curve(truth)
        runs[strategy] = DemoRun(strategy, result, curve, curve[-1][1], result.queries)
        log(f"  {TEXT_LABELS[strategy]:<7} {result.queries:>4} labels, found {curve[-1][1]}/{total - n_seeds}")
    plot = plot_discovery(
        {f"{TEXT_LABELS[s]} ({r.found} found, {r.queries} labels)": r.curve for s, r in runs.items()},
        total - n_seeds, Path(plot_path),
        title=f"Python docstrings of '{topic}': {total} of {X.shape[0]} ({100 * total / X.shape[0]:.1f} %), {n_seeds} seeds",
    )
    return {"runs": runs, "total_positives": total, "n_seeds": n_seeds, "plot": plot, "class_name": topic,
            "labels": TEXT_LABELS}
