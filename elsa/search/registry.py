"""The strategies as data: one :class:`StrategySpec` each (parameters, defaults, rounds or
epochs, cold start, builder), which the command line, the session checks and the factory
all read, without importing a sampler or a model (so `elsa --help` starts at once).

:mod:`elsa.search.strategies` builds the strategies from these. Adding a strategy: its
sampler's module, one entry in :data:`SPECS`, its tests and the table in docs/algorithm.md.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from ..exceptions import ParameterError
from ..samplers.choices import CRITERIA, DISTRIBUTIONS


# Defaults from the paper's section 6 (a = l = 50, b = 50 growing, alpha1 = 1, 10 epochs)
# where it gives them; the rest are this project's choices (see each class's docstring).
DEFAULTS = {
    "a": 50,
    "l": 50,
    "b": 50,
    "b_growth": 0.5,
    "alpha1": 1.0,
    "alpha2": 2.0,
    "final": "auto",
    "final_size": None,
    "hidden": 64,
    "head_alpha": 1e-4,
    "head_max_iter": 200,
    "score_neighbours": 0,
    "batch_size": 100,
    "low": 0.85,
    "high": 0.95,
    "weight": 1.0,
    "cells": 16,
    "distribution": "clustered-normal",
    "k": 100,
    "criterion": "maxent",
    "head": "mlp",
    "head_c": 1.0,
    "gamma": 0.05,
    "horizon": 1000,
    "n_random": 100,
    "discount": 0.97,
    "rankings": "knn,blend:0.01,blend:1,head:1",
}
HEADS = ("mlp", "logistic")

# How each parameter is given on the command line: its kind and what it does (the CLI adds
# the default). Kinds: "pos_int", "nonneg_int", "float", "probability", "text" (a value its
# sampler reads, such as portfolio's rankings), or a tuple of choices.
PARAM_HELP = {
    "a": ("pos_int", "NN search radius: items per NN search"),
    "l": ("pos_int", "RandS: random candidates drawn per epoch"),
    "b": ("pos_int", "RandS: initial pairs kept per epoch"),
    "b_growth": ("float", "RandS: extra pairs per positive found"),
    "alpha1": ("float", "sampler threshold: mean + alpha1 * std of head scores"),
    "alpha2": ("float", "final-search threshold multiplier"),
    "final": (("auto", "threshold", "top", "none"), "final search: top items within the budget, above the alpha2 "
              "threshold, auto (top when --budget is set, else threshold) or none"),
    "final_size": ("nonneg_int", "final search: label exactly this many top items"),
    "head": (HEADS, "head of elsa-shaped strategies, seals and uncertainty: the paper's MLP or a class-balanced "
             "logistic regression"),
    "hidden": ("pos_int", "MLP head: hidden units"),
    "head_alpha": ("float", "MLP head: L2 penalty"),
    "head_max_iter": ("pos_int", "head: L-BFGS iterations"),
    "head_c": ("float", "logistic head (seals, cal, blend): inverse L2 penalty C"),
    "score_neighbours": ("nonneg_int", "head: score only the union of the K nearest neighbours of every labelled "
                         "item (SEALS-style; the rest count as confident negatives); 0 scores the whole pool. Saves "
                         "most of an epoch on a faiss index; changes results (see docs/large-pools.md)"),
    "batch_size": ("pos_int", "items per round: random, seals, uncertainty, knn-search, ens, blend, portfolio (a page)"),
    "low": ("probability", "greedys: lower end of the probability band"),
    "high": ("probability", "greedys: upper end of the probability band"),
    "weight": ("float", "fars: weight of the confidence term"),
    "cells": ("pos_int", "grids: cells per axis of the grid"),
    "distribution": (DISTRIBUTIONS, "latent: the draw distribution"),
    "k": ("pos_int", "neighbours: seals's per labelled item; the k-NN model's (knn-search, ens, blend, portfolio)"),
    "criterion": (CRITERIA, "seals: candidate score"),
    "gamma": ("probability", "k-NN model (knn-search, ens, blend, portfolio): prior probability of an item with no "
              "labelled neighbour"),
    "horizon": ("pos_int", "ens: labels assumed left when there is no --budget"),
    "n_random": ("nonneg_int", "cal, blend, portfolio: random unlabelled items taken as negatives in each fit"),
    "discount": ("probability", "portfolio: weight of a ranking's answers one round older in its hit rate"),
    "rankings": ("text", "portfolio: the rankings that share each page, comma-separated: knn (the k-NN model), "
                 "blend:C (its rank average with a logistic head of inverse penalty C), head:C (the head alone), mlp "
                 "(an MLP head's ranking)"),
}
# The component each parameter belongs to: its name in a plan is ``component.param``
# (``knn.k``, ``seals.k``), so one flat command-line name never means two things in a
# plan or a results file. ``COMPONENT_OF`` overrides it for one strategy.
COMPONENTS = {
    "a": "nn", "l": "rands", "b": "explore", "b_growth": "explore", "alpha1": "explore",
    "alpha2": "final", "final": "final", "final_size": "final",
    "head": "head", "hidden": "head", "head_alpha": "head", "head_max_iter": "head", "head_c": "head",
    "score_neighbours": "head", "n_random": "head",
    "batch_size": "pages", "low": "greedys", "high": "greedys", "weight": "fars", "cells": "grids",
    "distribution": "latent", "k": "knn", "gamma": "knn", "criterion": "seals", "horizon": "ens",
    "discount": "portfolio", "rankings": "portfolio",
}
COMPONENT_OF = {("seals", "k"): "seals"}  # SEALS's k: neighbours per labelled item, not a k-NN model's


def param_component(strategy: str, param: str) -> str:
    """The component ``param`` of ``strategy`` belongs to (``knn``, ``seals``, ``head``, ...)."""
    return COMPONENT_OF.get((strategy, param), COMPONENTS[param])


_HEAD = ("head", "hidden", "head_alpha", "head_max_iter", "head_c", "score_neighbours")
_ELSA_FRAME = ("a", "alpha2", "final", "final_size") + _HEAD


@dataclass(frozen=True)
class StrategySpec:
    """One strategy, as data: what the command line, the session checks and the factory read.

    ``build`` names the loop's shape in :mod:`elsa.search.strategies` (``elsa_shaped``,
    ``nn``, ``explore``, ``headed`` or ``no_active``); ``sampler`` the sampler it puts in
    the loop as ``module:Class`` in :mod:`elsa.samplers` (for ``elsa_shaped``, the
    exploration sampler), built by its ``from_params``; ``cold_start`` what picks items
    while no positive is known (``usl``, ``usl-t``, ``latent`` or ``random``; None: the strategy's own
    samplers, which fall back to random items). ``rounds``: the strategy runs in rounds until its budget (no
    epoch limit by default) rather than the paper's 10 epochs. ``seedless``: designed to
    start without seeds. ``defaults``: this strategy's values where they differ from
    :data:`DEFAULTS`. ``dense_only``: it needs dense vectors (PCA or k-means of the
    pool), so it refuses text features (:func:`check_pool_kind`).
    """

    name: str
    summary: str
    params: tuple[str, ...]
    build: str
    sampler: str | None = None
    cold_start: str | None = None
    rounds: bool = False
    seedless: bool = False
    defaults: dict = field(default_factory=dict)
    dense_only: bool = False


SPECS = {spec.name: spec for spec in (
    StrategySpec("elsa", "the paper's search: NN around the positives, RandS exploration, an MLP head, a final search",
                 ("l", "b", "b_growth", "alpha1") + _ELSA_FRAME, "elsa_shaped", "rands:RandS"),
    StrategySpec("no-active", "the paper's ablation: NN and RandS on a random pool, no head, a proximity final search",
                 ("a", "l", "b", "b_growth", "alpha2", "final", "final_size"), "no_active"),
    StrategySpec("nn", "NN search around the last call's positives (the paper's baseline)", ("a",), "nn"),
    StrategySpec("nn-large", "NN search with 200 neighbours per search", ("a",), "nn", defaults={"a": 200}),
    StrategySpec("random", "random items", ("batch_size",), "explore", "random:RandomSampler", seedless=True),
    StrategySpec("greedys", "ELSA with GreedyS exploration (items in a band of head probability)",
                 ("b", "b_growth", "low", "high") + _ELSA_FRAME, "elsa_shaped", "greedys:GreedyS", cold_start="random"),
    StrategySpec("fars", "ELSA with FarS exploration (confident items far from the labelled ones)",
                 ("b", "b_growth", "alpha1", "weight") + _ELSA_FRAME, "elsa_shaped", "fars:FarS", cold_start="random"),
    StrategySpec("grids", "ELSA with GridS exploration (a grid over the pool's first two principal axes)",
                 ("b", "b_growth", "cells") + _ELSA_FRAME, "elsa_shaped", "grids:GridS", cold_start="random",
                 dense_only=True),
    StrategySpec("latent", "ELSA with latent sampling (draws in a PCA space), also before the first positive",
                 ("b", "b_growth", "distribution") + _ELSA_FRAME, "elsa_shaped", "latent:LatentSampler", cold_start="latent",
                 dense_only=True, seedless=True),
    StrategySpec("usl", "ELSA started from USL's representative items when there are no seeds",
                 ("l", "b", "b_growth", "alpha1") + _ELSA_FRAME, "elsa_shaped", "rands:RandS", cold_start="usl",
                 dense_only=True, seedless=True),
    StrategySpec("usl-t", "ELSA started from USL-T's items (one per cluster learnt without labels; needs torch) "
                 "when there are no seeds", ("l", "b", "b_growth", "alpha1") + _ELSA_FRAME, "elsa_shaped", "rands:RandS",
                 cold_start="usl-t", dense_only=True, seedless=True),
    StrategySpec("seals", "SEALS: a head over the labelled items' neighbours only",
                 ("batch_size", "k", "criterion") + _HEAD, "headed", "seals:SEALSSampler"),
    StrategySpec("uncertainty", "uncertainty sampling: the items the head is least sure of",
                 ("batch_size",) + _HEAD, "headed", "uncertainty:UncertaintySampler"),
    StrategySpec("nn-keep-going", "NN around the last call's positives, around every positive when that is empty",
                 ("a",), "nn", rounds=True),
    StrategySpec("knn-search", "one-step Bayesian active search: the most likely items under the k-NN model",
                 ("batch_size", "k", "gamma"), "explore", "knn_search:KNNSearchSampler", rounds=True,
                 defaults={"k": 50, "batch_size": 1}),
    StrategySpec("ens", "efficient nonmyopic active search on the k-NN model",
                 ("batch_size", "k", "gamma", "horizon"), "explore", "ens:ENSSampler", rounds=True,
                 defaults={"k": 50, "batch_size": 1}),
    StrategySpec("cal", "AutoTAR's continuous active learning: a logistic head's top items, in growing batches",
                 ("n_random", "head_c"), "explore", "cal:CALSampler", rounds=True),
    StrategySpec("blend", "pages by the mean rank of the k-NN model and a logistic head",
                 ("batch_size", "k", "gamma", "head_c", "n_random"), "explore", "blend:BlendSampler", rounds=True,
                 defaults={"k": 50, "batch_size": 10, "head_c": 0.01}),
    StrategySpec("portfolio", "the default: pages shared between the k-NN model, a head and their rank averages "
                 "by their recent hit rates", ("batch_size", "k", "gamma", "n_random", "discount", "rankings"),
                 "explore", "portfolio:PortfolioSampler", rounds=True, defaults={"k": 50, "batch_size": 10}),
)}
STRATEGIES = tuple(SPECS)
DEFAULT_STRATEGY = "portfolio"  # not the paper's algorithm (that is "elsa"): see elsa/samplers/portfolio.py

# When to choose each strategy, one line each (``elsa strategies``), from the benchmarks'
# results (README, benchmarks/results/) and each strategy's design.
USE_WHEN = {
    "portfolio": "you have a few seeds: the default, best on the median benchmark pool (the results say where "
                 "another did better)",
    "blend": "you want the previous default (a fixed mix of the k-NN model and a logistic head)",
    "elsa": "you reproduce the paper, or want its fixed 10-epoch schedule and final search",
    "cal": "text screening as in ASReview/AutoTAR (a logistic head's top items)",
    "knn-search": "a baseline from the active-search literature (one-step Bayesian, k-NN model)",
    "ens": "a nonmyopic baseline from the literature (slower per label)",
    "seals": "a very large pool where a head over the labelled items' neighbours is enough",
    "nn": "a plain nearest-neighbour baseline (similarity search around the positives)",
    "nn-large": "nn with 200 neighbours per search",
    "nn-keep-going": "nn that never stalls: around every positive when the last call found none",
    "random": "a baseline, or an unbiased sample",
    "uncertainty": "a baseline: uncertainty sampling (the head's least sure items)",
    "no-active": "the paper's ablation without the head",
    "greedys": "comparing exploration samplers (a band of head probability)",
    "fars": "comparing exploration samplers (confident items far from the labelled ones)",
    "grids": "comparing exploration samplers (a grid over the first two principal axes)",
    "latent": "you have no seeds and dense vectors (draws in a PCA space)",
    "usl": "you have no seeds and dense vectors (USL's representative items first)",
    "usl-t": "you have no seeds, dense vectors and torch (USL-T's learnt clusters first)",
}


def check_pool_kind(name: str, X) -> None:
    """Raise :class:`ParameterError` when strategy ``name`` cannot search pool ``X``: a
    ``dense_only`` strategy on text features (a sparse pool)."""
    from .._validation import is_sparse

    if is_sparse(X) and spec_of(name).dense_only:
        ok = ", ".join(s.name for s in SPECS.values() if not s.dense_only)
        raise ParameterError(f"strategy {name} needs dense vectors (it runs PCA or k-means on the pool); text "
                             f"features are sparse: choose one of {ok}")


def spec_of(name: str) -> StrategySpec:
    if name not in SPECS:
        raise ParameterError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return SPECS[name]


def epochs_help() -> str:
    """What ``--epochs`` defaults to, from the specs."""
    return f"default 10 for the paper's strategies, no limit for those that run until their budget: " \
           f"{', '.join(name for name, spec in SPECS.items() if spec.rounds)}"


def describe_strategies() -> str:
    """Every strategy, the default first: what it is, when to use it, whether it takes text
    records, how it runs and its parameters' defaults (``elsa strategies``)."""
    lines = []
    for name in (DEFAULT_STRATEGY, *(n for n in SPECS if n != DEFAULT_STRATEGY)):
        spec = SPECS[name]
        runs = "rounds until the budget" if spec.rounds else "10 epochs" + (", a final search" * ("final" in spec.params))
        start = " starts without seeds;" if spec.seedless else ""
        text = "no (it needs dense vectors)" if spec.dense_only else "yes"
        mark = " (the default)" if name == DEFAULT_STRATEGY else ""
        values = strategy_params(name)
        params = ", ".join(f"{p}={values[p]}" for p in spec.params)
        lines.append(f"{name}{mark}\n    {spec.summary}\n    use it when: {USE_WHEN[name]}\n    text records: {text}\n"
                     + textwrap.fill(
            f"{runs};{start} {params}", 100, initial_indent="    ", subsequent_indent="      "))
    lines.append("\nEach strategy's options: elsa simulate --strategy NAME --help")
    return "\n".join(lines)


def default_epochs(name: str) -> int | None:
    """Epochs a strategy runs when none are given: the paper's 10, or no limit for those that
    run in rounds until their budget (or a stopping rule) ends them."""
    return None if spec_of(name).rounds else 10


def strategy_params(name: str, **params) -> dict:
    """The full parameter set of a strategy: its defaults updated with ``params``."""
    spec = spec_of(name)
    allowed = spec.params
    unknown = sorted(k for k, v in params.items() if k not in allowed and v is not None)
    if unknown:
        raise ParameterError(
            f"strategy {name!r} does not take {', '.join(unknown)}; its parameters are {', '.join(allowed)}"
        )
    merged = {k: DEFAULTS[k] for k in allowed}
    merged.update(spec.defaults)
    merged.update({k: v for k, v in params.items() if v is not None})
    if merged.get("head", "mlp") not in HEADS:
        raise ParameterError(f"unknown head {merged['head']!r}; choose one of {', '.join(HEADS)}")
    return merged


EPOCHS_STORED_AS_NO_LIMIT = 10**9  # how session files before the search plan stored "no epoch limit"


def resolve_epochs(name: str, epochs: int | str | None) -> int | None:
    """``epochs``, with ``"auto"`` meaning the strategy's own default (:func:`default_epochs`)."""
    return default_epochs(name) if epochs == "auto" else epochs
