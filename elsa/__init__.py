"""ELSA: find every example of a rare class in a large unlabelled pool, labelling as little as possible.

The search of "Explorative Latent Self-supervised Active search" (ELSA): iterative
nearest-neighbour search around the positives found so far, an active-learning head,
the RandS diversity sampler and a final search, with the paper's baselines.
"""

from ._lazy import lazy_names
from .exceptions import ElsaError, EmptyPoolError, InputError, MissingDependencyError, ParameterError

__version__ = "0.1.0"

# The rest is imported on first use, so that `elsa --help`, a usage error or a cached
# re-run of `elsa embed` does not wait for scikit-learn and scipy.
__getattr__ = lazy_names(__name__, {
    "MLPHead": "head", "ExactIndex": "index", "Index": "index",
    "corrected_labelling_efficiency": "metrics", "discovery_rate": "metrics", "labelling_efficiency": "metrics",
    "NoisyOracle": "oracle", "SimulatedOracle": "oracle",
    "ConfidenceSampler": "samplers", "FinalSearch": "samplers", "NearestNeighbourSampler": "samplers",
    "RandomSampler": "samplers", "RandS": "samplers", "Sampler": "samplers",
    "STRATEGIES": "search", "ActiveSearch": "search", "SearchResult": "search", "make_strategy": "search",
    "simulate": "simulation", "Trial": "simulation", "SearchPlan": "plan",
}, globals())

__all__ = [
    "STRATEGIES",
    "ActiveSearch",
    "ConfidenceSampler",
    "ElsaError",
    "EmptyPoolError",
    "ExactIndex",
    "FinalSearch",
    "Index",
    "InputError",
    "MLPHead",
    "MissingDependencyError",
    "NearestNeighbourSampler",
    "NoisyOracle",
    "ParameterError",
    "RandS",
    "SearchPlan",
    "Trial",
    "RandomSampler",
    "Sampler",
    "SearchResult",
    "SimulatedOracle",
    "corrected_labelling_efficiency",
    "discovery_rate",
    "labelling_efficiency",
    "make_strategy",
    "simulate",
]
