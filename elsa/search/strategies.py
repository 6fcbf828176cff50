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

The anchors of the active-search literature, and this project's default:

=============  ===========================================================================
strategy       what it labels each round
=============  ===========================================================================
nn-keep-going  NN around the last call's positives, around every positive when that is empty
knn-search     the most likely items under the k-NN model (one-step Bayesian active search)
ens            efficient nonmyopic active search on the k-NN model (batches: sequential simulation)
cal            AutoTAR's continuous active learning (growing batches)
blend          a page by the mean rank of the k-NN model and a logistic head
portfolio      the default: a page shared between the k-NN model's ranking, two blends
               (heads with C = 0.01 and 1) and the C = 1 head alone, by Thompson
               sampling on their recent hit rates
=============  ===========================================================================

The paper's strategies run in epochs (``epochs``, default 10); the anchors and the
default run in rounds until their label budget is spent (:func:`.registry.default_epochs`).
"""

from __future__ import annotations

from ..head import HeadScorer, LogisticHead, MLPHead, ProximityScorer
from ..samplers import (
    USL,
    BlendSampler,
    CALSampler,
    ConfidenceSampler,
    ENSSampler,
    FarS,
    FinalSearch,
    GreedyS,
    GridS,
    KNNSearchSampler,
    LatentSampler,
    NearestNeighbourSampler,
    PortfolioSampler,
    RandomSampler,
    RandS,
    SEALSSampler,
    UncertaintySampler,
)
from .loop import ActiveSearch
from .registry import resolve_epochs, strategy_params


def _head(p: dict) -> HeadScorer:
    if p["head"] == "logistic":  # class-balanced, as SEALS trains its proxy model
        head = LogisticHead(p["head_c"], balanced=True, max_iter=p["head_max_iter"])
    else:
        head = MLPHead(p["hidden"], p["head_alpha"], p["head_max_iter"])
    return HeadScorer(head, neighbours=p["score_neighbours"])


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


def make_strategy(name: str, *, epochs: int | str | None = "auto", budget: int | None = None,
                  **params) -> ActiveSearch:
    """Build the search loop of strategy ``name`` with any of its parameters overridden.

    ``epochs``: a number, None for no limit, or ``"auto"`` (the default): 10 for the
    paper's strategies, no limit for those that run until their budget.
    """
    p = strategy_params(name, **params)
    frame = {"epochs": resolve_epochs(name, epochs), "budget": budget}
    if name in ("nn", "nn-large", "nn-keep-going"):
        return ActiveSearch(nn=NearestNeighbourSampler(p["a"], keep_going=name == "nn-keep-going"), **frame)
    if name == "knn-search":
        return ActiveSearch(explore=KNNSearchSampler(p["k"], p["gamma"], p["batch_size"]), **frame)
    if name == "ens":
        return ActiveSearch(explore=ENSSampler(p["k"], p["gamma"], p["batch_size"], p["horizon"]), **frame)
    if name == "cal":
        return ActiveSearch(explore=CALSampler(p["n_random"], p["head_c"]), **frame)
    if name == "blend":
        return ActiveSearch(explore=BlendSampler(p["batch_size"], p["k"], p["gamma"], p["head_c"], p["n_random"]),
                            **frame)
    if name == "portfolio":
        return ActiveSearch(explore=PortfolioSampler(p["batch_size"], p["k"], p["gamma"], p["rankings"],
                                                     p["n_random"], p["discount"]), **frame)
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
