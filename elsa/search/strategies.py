"""The paper's method, its baselines (Table 1) and the seeds' other samplers, built from the same parts.

============  ===  ===================  ===============  ============  ==========
strategy      NN   exploration          active learning  final search  cold start
============  ===  ===================  ===============  ============  ==========
elsa          yes  RandS                yes              yes           -
no-active     yes  RandS (random pool)  no               proximity     -
nn            yes  -                    no               no            -
nn-large      yes  - (``a = 200``)      no               no            -
random        no   random items         no               no            -
greedys       yes  GreedyS              yes              yes           random
fars          yes  FarS                 yes              yes           random
grids         yes  GridS                yes              yes           random
latent        yes  latent sampling      yes              yes           latent
usl           yes  RandS                yes              yes           USL
seals         no   SEALS                yes              no            -
uncertainty   no   uncertainty          yes              no            -
============  ===  ===================  ===============  ============  ==========
"""

from __future__ import annotations

from ..exceptions import ParameterError
from ..head import HeadScorer, MLPHead, ProximityScorer
from ..samplers import (
    USL,
    ConfidenceSampler,
    FarS,
    FinalSearch,
    GreedyS,
    GridS,
    LatentSampler,
    NearestNeighbourSampler,
    RandomSampler,
    RandS,
    SEALSSampler,
    UncertaintySampler,
)
from .loop import ActiveSearch

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
}
_HEAD = ("hidden", "head_alpha", "head_max_iter", "score_neighbours")
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
}
STRATEGIES = tuple(PARAMS)
STRATEGY_DEFAULTS = {"nn-large": {"a": 200}}


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
    return merged


def _head(p: dict) -> HeadScorer:
    return HeadScorer(MLPHead(p["hidden"], p["head_alpha"], p["head_max_iter"]), neighbours=p["score_neighbours"])


def _final(p: dict) -> FinalSearch | None:
    return None if p["final"] == "none" else FinalSearch(p["final"], p["alpha2"], p["final_size"])


def _explorer(name: str, p: dict):
    """The exploration sampler of the ELSA-shaped strategies."""
    if name in ("elsa", "usl"):
        return RandS(p["l"], p["b"], p["b_growth"], candidates=ConfidenceSampler(p["alpha1"]))
    if name == "greedys":
        return GreedyS(p["b"], p["b_growth"], p["low"], p["high"])
    if name == "fars":
        return FarS(p["b"], p["b_growth"], p["alpha1"], p["weight"])
    if name == "grids":
        return GridS(p["b"], p["b_growth"], p["cells"])
    return LatentSampler(p["distribution"], p["b"], p["b_growth"])  # latent


def make_strategy(name: str, *, epochs: int = 10, budget: int | None = None, **params) -> ActiveSearch:
    """Build the search loop of strategy ``name`` with any of its parameters overridden."""
    p = strategy_params(name, **params)
    frame = {"epochs": epochs, "budget": budget}
    if name in ("nn", "nn-large"):
        return ActiveSearch(nn=NearestNeighbourSampler(p["a"]), **frame)
    if name == "random":
        return ActiveSearch(explore=RandomSampler(p["batch_size"]), **frame)
    if name == "seals":
        return ActiveSearch(explore=SEALSSampler(p["batch_size"], p["k"], p["criterion"]), scorer=_head(p), **frame)
    if name == "uncertainty":
        return ActiveSearch(explore=UncertaintySampler(p["batch_size"]), scorer=_head(p), **frame)
    if name == "no-active":
        return ActiveSearch(
            nn=NearestNeighbourSampler(p["a"]),
            explore=RandS(p["l"], p["b"], p["b_growth"], candidates=None),
            scorer=ProximityScorer(),
            final=_final(p),
            **frame,
        )
    # Without seeds, the cold-start sampler picks as many items as one ELSA epoch would
    # label. GreedyS, FarS and GridS propose nothing before the head is trained, so their
    # strategies start from random items (ELSA's RandS draws at random then anyway).
    cold = None
    if name == "usl":
        cold = USL(m=p["a"] + p["b"])
    elif name == "latent":
        cold = LatentSampler(p["distribution"], p["a"] + p["b"], 0.0)
    elif name in ("greedys", "fars", "grids"):
        cold = RandomSampler(p["a"] + p["b"])
    return ActiveSearch(
        nn=NearestNeighbourSampler(p["a"]),
        explore=_explorer(name, p),
        scorer=_head(p),
        final=_final(p),
        cold_start=cold,
        **frame,
    )
