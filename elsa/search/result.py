"""What a search run records: its oracle calls (:class:`Round`) and the run as a whole
(:class:`SearchResult`), from which its finds, labels spent and gain curve are read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Round:
    """One oracle call."""

    kind: str  # "epoch", "final", "check" (second looks), "double" (second labellers) or "resolve"
    epoch: int
    ids: np.ndarray
    answers: np.ndarray  # the oracle's answers (True = positive)
    sources: dict[str, int]  # items each sampler contributed to this call
    seconds: dict[str, float]  # wall time of each phase before and after the call


REPEATS = ("check", "double", "resolve")  # items asked before: second looks, second labellers, resolutions


@dataclass
class SearchResult:
    seed_ids: np.ndarray
    rounds: list[Round] = field(default_factory=list)
    stop_reason: str = ""
    seconds: float = 0.0

    @property
    def queried_ids(self) -> np.ndarray:
        """Every item asked, once each, in the order first asked (second answers are not repeated)."""
        rounds = [r.ids for r in self.rounds if r.kind not in REPEATS]
        return np.concatenate(rounds) if rounds else np.zeros(0, np.int64)

    @property
    def first_answers(self) -> np.ndarray:
        """The first answer about each of :attr:`queried_ids`."""
        rounds = [r.answers for r in self.rounds if r.kind not in REPEATS]
        return np.concatenate(rounds) if rounds else np.zeros(0, bool)

    @property
    def answers(self) -> np.ndarray:
        """The answer that stands for each of :attr:`queried_ids`: the latest one (a second
        look or a resolution replaces the first; a second labeller's answer does not)."""
        ids, said = self.queried_ids, self.first_answers
        order = np.argsort(ids)
        for r in self.rounds:
            if r.kind in ("check", "resolve") and r.ids.size:
                said[order[np.searchsorted(ids[order], r.ids)]] = r.answers
        return said

    @property
    def queries(self) -> int:
        """Labels spent: every answer, second looks and second labellers included."""
        return int(sum(r.ids.size for r in self.rounds))

    @property
    def rechecks(self) -> int:
        """Labels spent on second looks."""
        return int(sum(r.ids.size for r in self.rounds if r.kind == "check"))

    def positive_ids(self) -> np.ndarray:
        """Seeds plus every item the oracle answered positive, in discovery order."""
        return np.concatenate([self.seed_ids, self.queried_ids[self.answers]])

    def curve(self, truth: np.ndarray | None = None) -> list[tuple[int, int]]:
        """(queries spent, positives found) after every oracle call, from (0, 0).

        Positives found are true positives among the queried items when ``truth`` is
        given, else the oracle's positive answers. Seeds are not counted.
        """
        points = [(0, 0)]
        queries = found = 0
        latest: dict[int, bool] = {}
        for r in self.rounds:
            queries += r.ids.size
            if truth is not None:
                found += 0 if r.kind in REPEATS else int(truth[r.ids].sum())
            elif r.kind != "double":
                for i, a in zip(r.ids.tolist(), r.answers.tolist()):
                    found += int(a) - int(latest.get(i, False))
                    latest[i] = a
            points.append((queries, found))
        return points
