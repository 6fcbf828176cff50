"""ELSA: find every example of a rare class in a large unlabelled pool, labelling as little as possible.

The search of "Explorative Latent Self-supervised Active search" (ELSA): iterative
nearest-neighbour search around the positives found so far, an active-learning head,
the RandS diversity sampler and a final search, with the paper's baselines.
"""

from .exceptions import ElsaError, EmptyPoolError, InputError, MissingDependencyError, ParameterError
from .head import MLPHead
from .index import ExactIndex, Index
from .metrics import corrected_labelling_efficiency, discovery_rate, labelling_efficiency
from .oracle import NoisyOracle, SimulatedOracle
from .samplers import ConfidenceSampler, FinalSearch, NearestNeighbourSampler, RandomSampler, RandS, Sampler
from .search import STRATEGIES, ActiveSearch, SearchResult, make_strategy
from .simulation import simulate

__version__ = "0.1.0"

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
