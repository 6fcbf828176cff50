"""The search loop and the strategies built from it."""

from .loop import ActiveSearch, Round, SearchResult
from .strategies import DEFAULT_STRATEGY, DEFAULTS, STRATEGIES, default_epochs, make_strategy, strategy_params

__all__ = ["DEFAULTS", "DEFAULT_STRATEGY", "STRATEGIES", "ActiveSearch", "Round", "SearchResult", "default_epochs",
           "make_strategy", "strategy_params"]
