"""The search loop and the strategies built from it."""

from .loop import ActiveSearch, Round, SearchResult
from .strategies import DEFAULTS, STRATEGIES, make_strategy, strategy_params

__all__ = ["DEFAULTS", "STRATEGIES", "ActiveSearch", "Round", "SearchResult", "make_strategy", "strategy_params"]
