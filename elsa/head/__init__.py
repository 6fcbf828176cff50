"""The active-learning heads and the scorers the loop reads item scores from."""

from .base import Head
from .logistic import LogisticHead
from .mlp import MLPHead
from .scorers import HeadScorer, ProximityScorer, Scorer

__all__ = ["Head", "HeadScorer", "LogisticHead", "MLPHead", "ProximityScorer", "Scorer"]
