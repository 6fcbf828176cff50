"""Labelling sessions: a person as the oracle, durable in one SQLite file per project."""

from .session import Batch, Progress, Session, normalise_label
from .store import DB_NAME, LABELS

__all__ = ["Batch", "DB_NAME", "LABELS", "Progress", "Session", "normalise_label"]
