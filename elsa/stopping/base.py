"""What every stopping rule is: asked after each oracle call, it returns the reason to stop or None."""

from __future__ import annotations

from abc import ABC, abstractmethod


class StopRule(ABC):
    name = "rule"

    @abstractmethod
    def check(self, state, curve) -> str | None:
        """The reason to stop now, or None (``curve``: ``[(queries, found), ...]`` from (0, 0))."""
