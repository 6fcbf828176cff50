"""Labelling sessions: a person as the oracle, durable in one SQLite file per project."""

from .._lazy import lazy_names
from .labels import LABELS, normalise_label
from .store import DB_NAME, DEMO_FOLDER

__all__ = ["Batch", "DB_NAME", "DEMO_FOLDER", "LABELS", "Progress", "Session", "normalise_label"]
# The session needs the search (scikit-learn): imported when first used.
__getattr__ = lazy_names(__name__, {"Batch": "progress", "Progress": "progress", "Session": "session"},
                         globals())
