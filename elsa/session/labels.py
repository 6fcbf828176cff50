"""The label vocabulary of sessions: what a person may answer, how it is spelled, and its code."""

from __future__ import annotations

import numpy as np

from ..exceptions import ParameterError
from ..state import NEGATIVE, POSITIVE, UNSURE

LABELS = ("positive", "negative", "unsure")
# Where an answer to an item the search did not propose came from (its event's origin):
# the page's lists and tiles ("extra"), its search box ("search") or "more like this" ("similar").
OUTSIDE = ("extra", "search", "similar")
CODES = {"positive": POSITIVE, "negative": NEGATIVE, "unsure": UNSURE}
_ALIASES = {
    "positive": "positive", "pos": "positive", "p": "positive", "y": "positive", "yes": "positive", "1": "positive",
    "true": "positive", "negative": "negative", "neg": "negative", "n": "negative", "no": "negative",
    "0": "negative", "false": "negative", "unsure": "unsure", "u": "unsure", "skip": "unsure", "?": "unsure",
}


def normalise_label(value) -> str:
    """``positive``, ``negative`` or ``unsure`` from the usual spellings (y/n/u, yes/no, 1/0, True/False)."""
    if isinstance(value, (bool, np.bool_)):
        return "positive" if value else "negative"
    key = str(value).strip().lower()
    if key not in _ALIASES:
        raise ParameterError(f"unknown label {value!r}; use positive/negative/unsure (or y/n/u)")
    return _ALIASES[key]
