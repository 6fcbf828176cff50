"""Ways of choosing what to label, all behind :class:`Sampler.select`."""

from .base import Sampler
from .confidence import ConfidenceSampler, FinalSearch
from .fars import FarS
from .greedys import GreedyS
from .grids import GridS
from .latent import LatentSampler
from .nn import NearestNeighbourSampler
from .rands import RandS
from .random import RandomSampler
from .seals import CandidatePool, SEALSSampler
from .uncertainty import UncertaintySampler
from .usl import USL

__all__ = [
    "USL",
    "CandidatePool",
    "ConfidenceSampler",
    "FarS",
    "FinalSearch",
    "GreedyS",
    "GridS",
    "LatentSampler",
    "NearestNeighbourSampler",
    "RandS",
    "RandomSampler",
    "SEALSSampler",
    "Sampler",
    "UncertaintySampler",
]
