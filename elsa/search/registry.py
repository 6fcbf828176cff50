"""The strategies' names, parameters and defaults: what the command line and the session
checks need, without importing a sampler or a model (so `elsa --help` starts at once).

:mod:`elsa.search.strategies` builds the strategies from these.
"""

from __future__ import annotations

from ..exceptions import ParameterError

DISTRIBUTIONS = ("uniform", "normal", "clustered-uniform", "clustered-normal")  # latent sampling's draws
CRITERIA = ("maxent", "id", "positive")  # SEALS's candidate scores

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
# the default). Kinds: "pos_int", "nonneg_int", "float", "probability", or a tuple of choices.
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
                         "most of an epoch on a faiss index; changes results (see README)"),
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
    "rankings": ("rankings", "portfolio: the rankings that share each page, comma-separated: knn (the k-NN model), "
                 "blend:C (its rank average with a logistic head of inverse penalty C), head:C (the head alone)"),
}
_HEAD = ("head", "hidden", "head_alpha", "head_max_iter", "head_c", "score_neighbours")
_ELSA_FRAME = ("a", "alpha2", "final", "final_size") + _HEAD
PARAMS = {
    "elsa": ("l", "b", "b_growth", "alpha1") + _ELSA_FRAME,
    "no-active": ("a", "l", "b", "b_growth", "alpha2", "final", "final_size"),
    "nn": ("a",),
    "nn-large": ("a",),
    "random": ("batch_size",),
    "greedys": ("b", "b_growth", "low", "high") + _ELSA_FRAME,
    "fars": ("b", "b_growth", "alpha1", "weight") + _ELSA_FRAME,
    "grids": ("b", "b_growth", "cells") + _ELSA_FRAME,
    "latent": ("b", "b_growth", "distribution") + _ELSA_FRAME,
    "usl": ("l", "b", "b_growth", "alpha1") + _ELSA_FRAME,
    "seals": ("batch_size", "k", "criterion") + _HEAD,
    "uncertainty": ("batch_size",) + _HEAD,
    "nn-keep-going": ("a",),
    "knn-search": ("batch_size", "k", "gamma"),
    "ens": ("batch_size", "k", "gamma", "horizon"),
    "cal": ("n_random", "head_c"),
    "blend": ("batch_size", "k", "gamma", "head_c", "n_random"),
    "portfolio": ("batch_size", "k", "gamma", "n_random", "discount", "rankings"),
}
STRATEGIES = tuple(PARAMS)
STRATEGY_DEFAULTS = {
    "nn-large": {"a": 200},
    "knn-search": {"k": 50, "batch_size": 1},
    "ens": {"k": 50, "batch_size": 1},
    "blend": {"k": 50, "batch_size": 10, "head_c": 0.01},
    "portfolio": {"k": 50, "batch_size": 10},
}
ROUND_BASED = ("nn-keep-going", "knn-search", "ens", "cal", "blend", "portfolio")
DEFAULT_STRATEGY = "portfolio"  # not the paper's algorithm (that is "elsa"): see elsa/samplers/portfolio.py


def default_text(param: str) -> str:
    """A parameter's default as help text: ``100; knn-search, ens, blend 50``."""
    others: dict = {}
    for name, overrides in STRATEGY_DEFAULTS.items():
        if param in overrides and param in PARAMS[name]:
            others.setdefault(overrides[param], []).append(name)
    text = "none" if DEFAULTS[param] is None else str(DEFAULTS[param])
    return text + "".join(f"; {', '.join(names)} {value}" for value, names in others.items())


def default_epochs(name: str) -> int | None:
    """Epochs a strategy runs when none are given: the paper's 10, or no limit for those that
    run in rounds until their budget (or a stopping rule) ends them."""
    return None if name in ROUND_BASED else 10


def strategy_params(name: str, **params) -> dict:
    """The full parameter set of a strategy: its defaults updated with ``params``."""
    if name not in STRATEGIES:
        raise ParameterError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    allowed = PARAMS[name]
    unknown = sorted(k for k, v in params.items() if k not in allowed and v is not None)
    if unknown:
        raise ParameterError(
            f"strategy {name!r} does not take {', '.join(unknown)}; its parameters are {', '.join(allowed)}"
        )
    merged = {k: DEFAULTS[k] for k in allowed}
    merged.update(STRATEGY_DEFAULTS.get(name, {}))
    merged.update({k: v for k, v in params.items() if v is not None})
    if merged.get("head", "mlp") not in HEADS:
        raise ParameterError(f"unknown head {merged['head']!r}; choose one of {', '.join(HEADS)}")
    return merged


NO_EPOCH_LIMIT = 10**9  # epochs=None, where a count is stored: a rule, the budget or the candidates end the run


def resolve_epochs(name: str, epochs: int | str | None) -> int | None:
    """``epochs``, with ``"auto"`` meaning the strategy's own default (:func:`default_epochs`)."""
    return default_epochs(name) if epochs == "auto" else epochs
