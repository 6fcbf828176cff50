"""Simulated oracles built from ground truth, for benchmarks and tests."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import as_generator, check_float
from ..exceptions import InputError


class SimulatedOracle:
    """Answers from ground truth: ``truth[i]`` is True when item ``i`` is a positive."""

    def __init__(self, truth):
        self.truth = np.asarray(truth, dtype=bool)
        if self.truth.ndim != 1:
            raise InputError(f"truth must be 1-d, got shape {self.truth.shape}")
        self.queries = 0

    def label(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        self.queries += ids.size
        return self.truth[ids].copy()


class NoisyOracle(SimulatedOracle):
    """Flips each answer independently with probability ``p`` (the paper's appendix D).

    The ``j``-th answer about item ``i`` flips when a uniform draw keyed by ``(i, j)`` (and
    the random state) is below ``p``, not by the next draw of one stream. So two searches
    from the same random state meet the same mistakes on the items both ask about, in
    whatever order they ask (a paired comparison: second looks on and off differ only by
    what the search did), and asking again about an item draws afresh, independently.
    """

    def __init__(self, truth, p: float, random_state=None):
        super().__init__(truth)
        self.p = check_float(p, "noise", minimum=0.0, maximum=1.0)
        self._key = np.uint64(as_generator(random_state).integers(2**63, dtype=np.uint64))
        self._asked = np.zeros(self.truth.size, np.uint32)  # answers given so far, per item
        self.flips = 0

    def label(self, ids) -> np.ndarray:
        shape = np.shape(ids)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        answers = super().label(ids)
        flip = keyed_uniform(self._key, ids, count_asks(self._asked, ids)) < self.p
        self.flips += int(flip.sum())
        return (answers ^ flip).reshape(shape)


def count_asks(asked: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Which answer about its item each of ``ids`` is (0: the first), counted in ``asked``
    (answers given so far, per item), which it brings up to date."""
    asks = np.zeros(ids.size, np.uint32)
    for j, i in enumerate(ids.tolist()):  # an item twice in one call: its first and second answer
        asks[j] = asked[i]
        asked[i] += 1
    return asks


def keyed_uniform(key: np.uint64, ids: np.ndarray, asks: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) for each ``(ids[j], asks[j])`` under ``key``: splitmix64's
    finaliser of the three mixed together (a counter-based generator, vectorised)."""
    x = (np.uint64(key) ^ (ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
         ^ (asks.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03)))
    for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        x = (x ^ (x >> np.uint64(shift))) * np.uint64(mult)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


class SecondOpinions(NamedTuple):
    """Second answers from :meth:`PanelOracle.second_opinions`: the items, who answered
    each first and second (labellers by index), the first answers and the second, and
    where a resolver settled a disagreement its answer (1 positive, 0 negative; -1: none)."""

    ids: np.ndarray
    first: np.ndarray
    second: np.ndarray
    first_said: np.ndarray
    said: np.ndarray
    resolved: np.ndarray | None = None


class PanelOracle(SimulatedOracle):
    """Several simulated labellers, each wrong with their own probability ``flip_rates[u]``;
    a share ``double_share`` of the items asked also goes to a second labeller.

    Each item's first labeller is drawn uniformly, its second uniformly among the others
    (the same one again when there is one labeller: a second, independent answer). As in
    :class:`NoisyOracle`, every draw is keyed by ``(item, answer number)`` under the random
    state, not the next draw of a stream: two searches from the same random state meet the
    same labellers and the same mistakes on the items both ask about, and whether an item
    is given to two does not change its first answer. So runs with and without double
    labelling are paired.

    ``resolver_rate``: where the two answers disagree, a resolver (someone else: a lead
    who settles disagreements, as a labelling session's resolutions) answers a third time,
    wrong with this probability (0: always right); None: nobody resolves them.
    """

    def __init__(self, truth, flip_rates, double_share: float = 0.0, random_state=None,
                 resolver_rate: float | None = None):
        super().__init__(truth)
        rates = tuple(flip_rates)
        if not rates:
            raise InputError("a panel needs at least one labeller's flip rate")
        self.flip_rates = np.array([check_float(r, "a labeller's flip rate", minimum=0.0, maximum=1.0)
                                    for r in rates])
        self.double_share = check_float(double_share, "double share", minimum=0.0, maximum=1.0)
        self.resolver_rate = None if resolver_rate is None else check_float(resolver_rate, "resolver rate",
                                                                            minimum=0.0, maximum=1.0)
        keys = as_generator(random_state).integers(2**63, size=4, dtype=np.uint64)
        self._flip_key, self._who_key, self._double_key, self._other_key = (np.uint64(k) for k in keys)
        self._asked = np.zeros(self.truth.size, np.uint32)
        self.flips = 0

    def labeller_of(self, ids) -> np.ndarray:
        """The labeller who answers each item first."""
        ids = np.asarray(ids, np.int64)
        u = keyed_uniform(self._who_key, ids, np.zeros(ids.size, np.uint32))
        return np.minimum((u * self.flip_rates.size).astype(np.int64), self.flip_rates.size - 1)

    def _answer(self, ids: np.ndarray, rates) -> np.ndarray:
        """Answers about ``ids``, each wrong with its probability in ``rates``."""
        answers = super().label(ids)
        flip = keyed_uniform(self._flip_key, ids, count_asks(self._asked, ids)) < rates
        self.flips += int(flip.sum())
        return answers ^ flip

    def label(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        return self._answer(ids, self.flip_rates[self.labeller_of(ids)])

    def second_opinions(self, ids, first_said, limit: int | None = None) -> SecondOpinions:
        """Second answers for the share of ``ids`` (whose first answers are ``first_said``)
        given to two, at most ``limit`` labels in order, each from a labeller other than the
        first; with a resolver, the disagreements resolved within what is left of ``limit``."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        given = keyed_uniform(self._double_key, ids, np.zeros(ids.size, np.uint32)) < self.double_share
        chosen, first_said = ids[given][:limit], np.asarray(first_said, bool).reshape(-1)[given][:limit]
        first = self.labeller_of(chosen)
        n = self.flip_rates.size
        if n == 1:
            second = first.copy()
        else:
            u = keyed_uniform(self._other_key, chosen, np.zeros(chosen.size, np.uint32))
            second = (first + 1 + np.minimum((u * (n - 1)).astype(np.int64), n - 2)) % n
        said = self._answer(chosen, self.flip_rates[second])
        if self.resolver_rate is None:
            return SecondOpinions(chosen, first, second, first_said, said)
        resolved = np.full(chosen.size, -1, np.int8)
        disputed = np.flatnonzero(said != first_said)[:None if limit is None else max(0, limit - chosen.size)]
        resolved[disputed] = self._answer(chosen[disputed], self.resolver_rate)
        return SecondOpinions(chosen, first, second, first_said, said, resolved)
