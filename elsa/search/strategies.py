"""The strategies' loops, built from their specs (:data:`.registry.SPECS`).

A spec names the loop's shape (which roles its samplers take: NN search, exploration,
head, final search, cold start) and its sampler; this module turns the shape into an
:class:`ActiveSearch`. ``elsa strategies`` lists every strategy with what it is. The
paper's strategies run in epochs (``epochs``, default 10); the anchors and the default
run in rounds until their label budget is spent (:func:`.registry.default_epochs`).
"""

from __future__ import annotations

import importlib

from ..exceptions import ParameterError
from ..head import HeadScorer, LogisticHead, MLPHead, ProximityScorer
from ..samplers import USL, USLT, FinalSearch, LatentSampler, NearestNeighbourSampler, RandomSampler, RandS
from ..samplers.base import Sampler
from .loop import ActiveSearch
from .labeller import LabellerModel
from .second_look import SecondLooks
from .registry import StrategySpec, resolve_epochs, spec_of, strategy_params


def _head(p: dict) -> HeadScorer:
    if p["head"] == "logistic":  # class-balanced, as SEALS trains its proxy model
        head = LogisticHead(p["head_c"], balanced=True, max_iter=p["head_max_iter"])
    else:
        head = MLPHead(p["hidden"], p["head_alpha"], p["head_max_iter"])
    return HeadScorer(head, neighbours=p["score_neighbours"])


def _final(p: dict) -> FinalSearch | None:
    return None if p["final"] == "none" else FinalSearch(p["final"], p["alpha2"], p["final_size"])


def _sampler(spec: StrategySpec, p: dict) -> Sampler:
    """The spec's sampler (``module:Class`` in :mod:`elsa.samplers`), from the strategy's parameters."""
    module, _, cls = (spec.sampler or "").partition(":")
    try:
        sampler = getattr(importlib.import_module(f"elsa.samplers.{module}"), cls)
    except (ImportError, AttributeError, ValueError):
        raise ParameterError(f"strategy {spec.name!r} names sampler {spec.sampler!r}, which elsa.samplers "
                             "does not have") from None
    return sampler.from_params(p)


# Without seeds, the cold-start sampler picks as many items as one ELSA epoch would label.
# GreedyS, FarS and GridS propose nothing before the head is trained, so their strategies
# start from random items (ELSA's RandS draws at random then anyway).
_COLD_STARTS = {
    "usl": lambda p: USL(m=p["a"] + p["b"]),
    "usl-t": lambda p: USLT(m=p["a"] + p["b"]),
    "latent": lambda p: LatentSampler(p["distribution"], p["a"] + p["b"], 0.0),
    "random": lambda p: RandomSampler(p["a"] + p["b"]),
}

# The loop's shapes: which roles a strategy's samplers take.
_BUILDS = {
    "nn": lambda spec, p: dict(nn=NearestNeighbourSampler(p["a"], keep_going=spec.rounds)),
    "explore": lambda spec, p: dict(explore=_sampler(spec, p)),
    "headed": lambda spec, p: dict(explore=_sampler(spec, p), scorer=_head(p)),
    "no_active": lambda spec, p: dict(nn=NearestNeighbourSampler(p["a"]),
                                      explore=RandS(p["l"], p["b"], p["b_growth"], candidates=None),
                                      scorer=ProximityScorer(), final=_final(p)),
    "elsa_shaped": lambda spec, p: dict(nn=NearestNeighbourSampler(p["a"]), explore=_sampler(spec, p),
                                        scorer=_head(p), final=_final(p),
                                        cold_start=_COLD_STARTS[spec.cold_start](p) if spec.cold_start else None),
}


def make_strategy(name: str, *, epochs: int | str | None = "auto", budget: int | None = None,
                  second_looks: "bool | SecondLooks" = False, weigh_answers: bool = False,
                  **params) -> ActiveSearch:
    """Build the search loop of strategy ``name`` (its :class:`~.registry.StrategySpec`) with
    any of its parameters overridden.

    ``epochs``: a number, None for no limit, or ``"auto"`` (the default): 10 for the
    paper's strategies, no limit for those that run until their budget. ``second_looks``:
    after each page, ask again about the answers the held-out k-NN model most disagrees
    with (:class:`.second_look.SecondLooks`; True: its defaults; False: never).
    ``weigh_answers``: the samplers' models read the labeller model's beliefs in the answers
    (:class:`.labeller.LabellerModel`, its defaults) instead of the answers.
    """
    spec = spec_of(name)
    p = strategy_params(name, **params)
    if spec.build not in _BUILDS or (spec.cold_start is not None and spec.cold_start not in _COLD_STARTS):
        raise ParameterError(f"strategy {name!r}: no loop shape {spec.build!r} or cold start {spec.cold_start!r}; "
                             f"shapes: {', '.join(_BUILDS)}; cold starts: {', '.join(_COLD_STARTS)}")
    if second_looks is True:
        second_looks = SecondLooks()
    return ActiveSearch(**_BUILDS[spec.build](spec, p), epochs=resolve_epochs(name, epochs), budget=budget,
                        second_looks=second_looks or None, labeller=LabellerModel() if weigh_answers else None)
