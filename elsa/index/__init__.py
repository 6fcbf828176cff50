"""Search backends behind one interface; :class:`ExactIndex` is the reference."""

from .base import Index
from .exact import ExactIndex

__all__ = ["Index", "ExactIndex"]
