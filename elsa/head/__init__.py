"""The active-learning head and the scorers the loop reads item scores from."""

from .mlp import MLPHead
from .scorers import HeadScorer, ProximityScorer, Scorer

__all__ = ["HeadScorer", "MLPHead", "ProximityScorer", "Scorer"]
