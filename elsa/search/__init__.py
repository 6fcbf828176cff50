"""The search loop and the strategies built from it.

The registry (names, parameters, defaults) is imported at once; the loop and the
strategies, which need scikit-learn, when first used (PEP 562), so that the command
line starts without them.
"""

from .registry import DEFAULT_STRATEGY, DEFAULTS, STRATEGIES, default_epochs, strategy_params
from .streams import run_streams

from .._lazy import lazy_names

__all__ = ["DEFAULTS", "DEFAULT_STRATEGY", "STRATEGIES", "ActiveSearch", "Round", "SearchResult", "default_epochs",
           "make_strategy", "run_streams", "strategy_params"]
__getattr__ = lazy_names(__name__, {"ActiveSearch": "loop", "Round": "result", "SearchResult": "result",
                                    "make_strategy": "strategies"}, globals())
