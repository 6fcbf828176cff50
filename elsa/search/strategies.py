"""The paper's method and its baselines (Table 1), built from the same parts.

============  ===  =====  ===============  ============
strategy      NN   RandS  active learning  final search
============  ===  =====  ===============  ============
elsa          yes  yes    yes              yes
no-active     yes  yes    no (random)      yes (proximity)
nn            yes  no     no               no
nn-large      yes  no     no               no     (``a = 200``)
random        no   no     no               no     (``batch_size`` random items per epoch)
============  ===  =====  ===============  ============
"""

from __future__ import annotations

from ..exceptions import ParameterError
from ..head import HeadScorer, MLPHead, ProximityScorer
from ..samplers import ConfidenceSampler, FinalSearch, NearestNeighbourSampler, RandomSampler, RandS
from .loop import ActiveSearch

STRATEGIES = ("elsa", "nn", "nn-large", "no-active", "random")

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
    "batch_size": 100,
}
PARAMS = {
    "elsa": ("a", "l", "b", "b_growth", "alpha1", "alpha2", "final", "final_size", "hidden", "head_alpha", "head_max_iter"),
    "no-active": ("a", "l", "b", "b_growth", "alpha2", "final", "final_size"),
    "nn": ("a",),
    "nn-large": ("a",),
    "random": ("batch_size",),
}
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


def make_strategy(name: str, *, epochs: int = 10, budget: int | None = None, **params) -> ActiveSearch:
    """Build the search loop of strategy ``name`` with any of its parameters overridden."""
    p = strategy_params(name, **params)
    if name in ("nn", "nn-large"):
        return ActiveSearch(nn=NearestNeighbourSampler(p["a"]), epochs=epochs, budget=budget)
    if name == "random":
        return ActiveSearch(explore=RandomSampler(p["batch_size"]), epochs=epochs, budget=budget)
    final = None if p["final"] == "none" else FinalSearch(p["final"], p["alpha2"], p["final_size"])
    if name == "elsa":
        return ActiveSearch(
            nn=NearestNeighbourSampler(p["a"]),
            explore=RandS(p["l"], p["b"], p["b_growth"], candidates=ConfidenceSampler(p["alpha1"])),
            scorer=HeadScorer(MLPHead(p["hidden"], p["head_alpha"], p["head_max_iter"])),
            final=final,
            epochs=epochs,
            budget=budget,
        )
    return ActiveSearch(  # no-active
        nn=NearestNeighbourSampler(p["a"]),
        explore=RandS(p["l"], p["b"], p["b_growth"], candidates=None),
        scorer=ProximityScorer(),
        final=final,
        epochs=epochs,
        budget=budget,
    )
