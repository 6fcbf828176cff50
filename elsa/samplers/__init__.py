"""Ways of choosing what to label, all behind :class:`Sampler.select`."""

from .base import Sampler
from .confidence import ConfidenceSampler, FinalSearch
from .nn import NearestNeighbourSampler
from .rands import RandS
from .random import RandomSampler

__all__ = ["ConfidenceSampler", "FinalSearch", "NearestNeighbourSampler", "RandS", "RandomSampler", "Sampler"]
