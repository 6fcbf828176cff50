"""Ways of choosing what to label, all behind :class:`Sampler.select`."""

from .base import Sampler
from .blend import BlendSampler
from .cal import CALSampler
from .confidence import ConfidenceSampler, FinalSearch
from .ens import ENSSampler
from .fars import FarS
from .greedys import GreedyS
from .grids import GridS
from .knn_search import KNNSearchSampler
from .latent import LatentSampler
from .nn import NearestNeighbourSampler
from .portfolio import PortfolioSampler
from .rands import RandS
from .random import RandomSampler
from .seals import CandidatePool, SEALSSampler
from .uncertainty import UncertaintySampler
from .usl import USL

__all__ = [
    "USL",
    "BlendSampler",
    "CALSampler",
    "CandidatePool",
    "ConfidenceSampler",
    "ENSSampler",
    "FarS",
    "FinalSearch",
    "GreedyS",
    "GridS",
    "KNNSearchSampler",
    "LatentSampler",
    "NearestNeighbourSampler",
    "PortfolioSampler",
    "RandS",
    "RandomSampler",
    "SEALSSampler",
    "Sampler",
    "UncertaintySampler",
]
