"""What every stopping rule is: asked after each oracle call, it returns the reason to stop or None."""

from __future__ import annotations

from abc import ABC, abstractmethod

from .._validation import check_float


class StopRule(ABC):
    name = "rule"

    @abstractmethod
    def check(self, state, curve) -> str | None:
        """The reason to stop now, or None (``curve``: ``[(queries, found), ...]`` from (0, 0))."""


def check_target(target, confidence) -> tuple[float, float]:
    """A certificate's target recall and confidence, each strictly between 0 and 1."""
    target = check_float(target, "target recall", minimum=0.0, maximum=1.0, exclusive_minimum=True,
                         exclusive_maximum=True)
    confidence = check_float(confidence, "confidence", minimum=0.0, maximum=1.0, exclusive_minimum=True,
                             exclusive_maximum=True)
    return target, confidence


def certified_reason(target: float, confidence: float) -> str:
    """Why a run stops once its certificate holds (the same words for every certified stop)."""
    return f"recall {target:g} certified at {100 * confidence:g} %"
