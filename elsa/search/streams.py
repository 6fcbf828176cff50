"""The random streams of one search: who draws what, so that runs can be replayed.

``elsa simulate`` splits its ``random_state`` with :class:`numpy.random.SeedSequence`
into one child per repeat, and each child into four streams: the seed draw, the search
(every sampler's and head's random choice, in the order :class:`~elsa.search.ActiveSearch`
makes them), the simulated oracle's noise and the audit sample. A labelling session with
the same ``random_state`` follows repeat 0's search stream, so it proposes the rounds
``elsa simulate`` asks about (when answered the same way), and saves the generator's
state with every round so that a reopened session continues the stream.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Streams(NamedTuple):
    seeds: np.random.Generator
    search: np.random.Generator
    noise: np.random.Generator
    audit: np.random.Generator


def run_streams(random_state: int, repeats: int = 1) -> list[Streams]:
    """The streams of each of ``repeats`` runs from ``random_state``; run ``r``'s do not
    depend on ``repeats`` (spawning more children leaves the first ones unchanged)."""
    return [Streams(*(np.random.default_rng(s) for s in child.spawn(4)))
            for child in np.random.SeedSequence(random_state).spawn(repeats)]


def save_generator(rng: np.random.Generator) -> dict:
    """The generator's state as JSON-ready data (:func:`load_generator` restores it)."""
    return rng.bit_generator.state


def load_generator(saved: dict) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = saved
    return rng
