"""The search loop (the paper's Algorithm 4), with any samplers plugged in.

Each epoch: the nearest-neighbour sampler searches around the positives of the last
oracle call, the exploration sampler (RandS in ELSA) proposes items elsewhere, the
oracle labels the union in one call, and the scorer (the head) is retrained on every
answer so far. After the last epoch the final search labels the items the scorer is
most confident about. A run stops after ``epochs`` epochs or when the label
``budget`` is spent, whichever comes first; the final search gets whatever budget is
left.

Where the union of one epoch's proposals exceeds the remaining budget, it is cut in
priority order: the nearest-neighbour results first (closest first), then the
exploration sampler's.
"""

from __future__ import annotations

import time
from typing import Callable, NamedTuple

import numpy as np

from .._validation import as_generator, check_embeddings, check_examples, check_ids, check_int
from ..exceptions import InputError, ParameterError
from ..head.scorers import Scorer
from ..index import Index
from ..index.local import make_local_index
from ..samplers.base import Sampler
from ..state import NEGATIVE, POSITIVE, Proposal, SearchState
from .labeller import LabellerModel
from .reliability import Votes, weigh_disputes
from .result import Round, SearchResult
from .second_look import OWNER as SECOND_LOOK
from .second_look import SecondLooks, is_check, record_check


class Selection(NamedTuple):
    """One oracle call's items, in priority order, and where they came from."""

    ids: np.ndarray
    sources: dict[str, int]  # items per owner: a sampler's name, or ``name/part``
    seconds: dict[str, float]  # wall time of each sampler
    owners: tuple[str, ...]  # the owner of each item


def _merge(parts: list[tuple[Sampler, Proposal]], limit: int | None) -> tuple[np.ndarray, dict[str, int], tuple]:
    """Union of the samplers' proposals in priority order, without repeats, cut to ``limit``;
    with the items per owner and each item's owner (:attr:`Proposal.owners`)."""
    ids = np.concatenate([p.ids for _, p in parts]) if parts else np.zeros(0, np.int64)
    names = [o for _, p in parts for o in p.owners]
    _, first = np.unique(ids, return_index=True)
    first = np.sort(first)[:limit] if limit is not None else np.sort(first)
    owners = tuple(names[i] for i in first)
    sources = {sampler.name: 0 for sampler, _ in parts}
    for o in owners:
        sources[o] = sources.get(o, 0) + 1
    for sampler, _ in parts:  # a sampler made of parts is counted by part
        if sources[sampler.name] == 0 and any(o.startswith(sampler.name + "/") for o in sources):
            del sources[sampler.name]
    return ids[first].astype(np.int64), sources, owners


class Step(NamedTuple):
    """The search's next move: ask about ``selection`` (kind ``epoch``, ``final`` or ``check``:
    second looks at answers already given), or stop (kind ``stop``) for ``reason``."""

    kind: str
    selection: Selection | None
    reason: str = ""


class ActiveSearch:
    """The ELSA loop, with its components as parameters.

    Parameters
    ----------
    nn : Sampler or None
        Searches around the frontier (the last call's positives).
    explore : Sampler or None
        Proposes items elsewhere (RandS for ELSA, a random sampler for the baseline).
    scorer : Scorer or None
        Scores every item after each oracle call (the head).
    final : Sampler or None
        The final search after the last epoch.
    cold_start : Sampler or None
        Used instead of ``nn`` and ``explore`` while no positive is known (a search
        started without seeds), until the oracle confirms the first positive.
    epochs : int or None
        Number of epochs (oracle calls before the final search); None for no limit (the
        budget, a stopping rule or running out of candidates ends the run).
    budget : int or None
        Total oracle queries allowed, final search included; None for no limit.
    second_looks : SecondLooks or None
        Between epochs, ask again about the answers the held-out k-NN model most
        disagrees with (:mod:`.second_look`): a round of kind ``check``, after which the
        stopping rule is asked again; none after the last epoch or the final search.
        None: never.
    labeller : LabellerModel or None
        After every oracle call (and before the first step of a state rebuilt from a
        session's file), weigh every answer against its neighbours' and the labeller's
        estimated flip rate (:mod:`.labeller`); the samplers' models read those beliefs
        (:attr:`~elsa.state.SearchState.belief`) instead of the answers. None: the answers
        stand as given.
    """

    def __init__(
        self,
        *,
        nn: Sampler | None = None,
        explore: Sampler | None = None,
        scorer: Scorer | None = None,
        final: Sampler | None = None,
        cold_start: Sampler | None = None,
        epochs: int | None = 10,
        budget: int | None = None,
        second_looks: "SecondLooks | None" = None,
        labeller: "LabellerModel | None" = None,
    ):
        if nn is None and explore is None and final is None and cold_start is None:
            raise ParameterError("a search needs at least one of nn, explore, final or cold_start")
        self.nn = nn
        self.explore = explore
        self.scorer = scorer
        self.final = final
        self.cold_start = cold_start
        self.epochs = None if epochs is None else check_int(epochs, "epochs", minimum=0)
        self.budget = None if budget is None else check_int(budget, "budget", minimum=0)
        self.second_looks = second_looks
        self.labeller = labeller
        if second_looks is not None:  # beliefs that are not the labeller model's say nothing of undisputed answers
            second_looks.read_beliefs = labeller is not None

    ROLES = ("cold_start", "nn", "explore", "final")

    def positives_left(self) -> dict[str, float]:
        """Its samplers' models' expected positives among the unlabelled items, by model
        (:meth:`elsa.samplers.base.Sampler.positives_left`; empty where none has a model)."""
        out: dict[str, float] = {}
        for role in self.ROLES:
            sampler = getattr(self, role)
            if sampler is not None:
                out.update(sampler.positives_left())
        return out

    def estimates_recall(self) -> bool:
        """Whether a sampler of this search has its own probabilities (:meth:`positives_left`)."""
        return any(type(s).positives_left is not Sampler.positives_left
                   for s in (getattr(self, role) for role in self.ROLES) if s is not None)

    def get_params(self) -> dict:
        params: dict = {"epochs": self.epochs, "budget": self.budget}
        for role in self.ROLES:
            sampler = getattr(self, role)
            params[role] = None if sampler is None else {"sampler": sampler.name, **_plain(sampler.get_params())}
        params["scorer"] = None if self.scorer is None else self.scorer.name
        params["second_looks"] = None if self.second_looks is None else self.second_looks.get_params()
        if self.labeller is not None:
            params["labeller"] = self.labeller.get_params()
        return params

    def run(
        self,
        X,
        seed_ids,
        oracle,
        *,
        random_state=None,
        index: Index | None = None,
        callback: Callable[[Round, SearchState], None] | None = None,
        stop=None,
        progress: bool = True,
        examples=None,
    ) -> SearchResult:
        """Search ``X`` from ``seed_ids`` (known positives), asking ``oracle.label(ids)``.

        ``examples``: positive rows in ``X``'s feature space that are not pool items (a
        description of the target: :attr:`elsa.state.SearchState.examples`), or None.

        ``random_state`` (an int, a numpy Generator or None) drives every random choice,
        so a fixed value gives the same run. ``callback(round, state)`` is called after
        every oracle call. ``stop`` (an :class:`elsa.stopping.StopRule`) is asked after
        every epoch's oracle call; when it gives a reason, the run ends there, without
        the final search, and ``stop_reason`` is that reason. ``progress``: show bars for
        long one-off work (the pool's k-NN graph, for the samplers that use it).

        A short driver over the steps a labelling session takes too: :meth:`next_step`
        (what to ask next, or why to stop) and :meth:`observe` (record the answers and
        retrain the scorer), drawing from one generator in the same order.
        """
        X = check_embeddings(X)
        seed_ids = check_ids(seed_ids, X.shape[0], "seed_ids")
        rng = as_generator(random_state)
        started = time.perf_counter()
        index = index if index is not None else make_local_index(X, "exact")  # sparse pools: the sparse exact index
        answers = np.zeros(X.shape[0], np.int8)
        answers[seed_ids] = POSITIVE
        state = SearchState(X=X, index=index, answers=answers, frontier=seed_ids, budget_left=self.budget,
                            progress=progress, examples=check_examples(examples, X),
                            tally=None if self.labeller is None else np.zeros((X.shape[0], 2), np.int16))
        result = SearchResult(seed_ids=seed_ids)
        self.prepare(state, rng)
        curve = [(0, 0)]  # (queries, positives answered) after each call: what the knee rule reads
        while True:
            step = self.next_step(state, rng, stop=stop, curve=curve)
            if step.kind == "stop":
                result.stop_reason = step.reason
                break
            batch, timings = step.selection.ids, dict(step.selection.seconds)
            t0 = time.perf_counter()
            said = np.asarray(oracle.label(batch))
            timings["oracle"] = time.perf_counter() - t0
            if said.shape != batch.shape:
                raise InputError(f"the oracle answered {said.shape[0] if said.ndim else said} labels for "
                                 f"{batch.size} items")
            said = said.astype(bool)
            second = None
            if step.kind != "check" and hasattr(oracle, "second_opinions"):  # a panel of labellers
                left = None if state.budget_left is None else max(0, state.budget_left - batch.size)
                second = oracle.second_opinions(batch, said, left)
            timings.update(self.observe(state, step, said, rng, second=second))
            curve.append((state.queries, state.n_found))
            page = Round(step.kind, state.epoch, batch, said, step.selection.sources, timings)
            result.rounds.append(page)
            if second is not None and second.ids.size:
                result.rounds.append(Round("double", state.epoch, second.ids, second.said,
                                           {"double": int(second.ids.size)}, {}))
                settled = np.zeros(0, bool) if second.resolved is None else second.resolved >= 0
                if settled.any():
                    result.rounds.append(Round("resolve", state.epoch, second.ids[settled],
                                               second.resolved[settled] == 1, {"resolve": int(settled.sum())}, {}))
            if callback is not None:  # with the page (its size grows an audit; its kind is the epoch's)
                callback(page, state)
        result.seconds = time.perf_counter() - started
        return result

    def next_step(self, state: SearchState, rng, *, stop=None, curve=()) -> "Step":
        """What to ask next, given the answers in ``state``: an epoch's batch, the final
        search's, or the reason to stop.

        In order: the stopping rule ``stop`` (asked, with the gain curve ``curve``, after
        every epoch's call); the budget; the next epoch while epochs remain and the last
        one found candidates; then the final search once; then stop, for ``budget``,
        ``epochs`` or ``no candidates``. Moves ``state.epoch`` and ``state.phase`` on.
        """
        if state.queries and state.belief is None:  # a state rebuilt from a file
            self.weigh(state)
        if state.phase == "epochs":
            reason = stop.check(state, curve) if stop is not None and state.epoch > 0 else None
            if reason:
                return Step("stop", None, reason)
            if self.epochs is None or state.epoch < self.epochs:
                if state.budget_left == 0:
                    return Step("stop", None, "budget")
                check = self.select_check(state)
                if check.ids.size:
                    return Step("check", check)
                state.epoch += 1
                chosen = self.select_epoch(state, rng)
                if chosen.ids.size:
                    return Step("epoch", chosen)
                state.ended = "no candidates"
            state.phase = "final"
        if state.phase == "final":
            state.phase = "done"
            if self.final is not None and state.budget_left != 0:
                chosen = self.select_final(state, rng)
                if chosen.ids.size:
                    return Step("final", chosen)
        return Step("stop", None, "budget" if state.budget_left == 0 else state.ended)

    def observe(self, state: SearchState, step: "Step", said: np.ndarray, rng, *, second=None) -> dict[str, float]:
        """Record the answers ``said`` (bool, one per item of ``step``) in ``state``, and
        ``second`` (:class:`~elsa.oracle.SecondOpinions`: a second labeller's answers to some
        of them, or None); after an epoch, retrain the scorer. Returns the scorer's phase
        times. (A labelling session rebuilds the same state from its file and calls
        :meth:`update_scores` itself.)"""
        batch = step.selection.ids
        if state.tally is not None:
            state.tally[batch, np.where(said, 0, 1)] += 1
        if step.kind == "check":  # retrain only when a second answer changed a label
            retrain = bool(record_check(state, batch, said).any())
        else:
            state.answers[batch] = np.where(said, POSITIVE, NEGATIVE)
            state.frontier = batch[said]
            state.n_found += int(said.sum())
            retrain = step.kind == "epoch"
        state.proposals.append(Proposal(batch, step.selection.owners, epoch=state.epoch))
        state.queries += batch.size
        if state.budget_left is not None:
            state.budget_left -= batch.size
        if second is not None and second.ids.size:
            self._record_second(state, second)
        if self.labeller is not None or state.votes is not None:
            self.weigh(state)
        return self.update_scores(state, rng) if retrain else {}

    @staticmethod
    def _record_second(state: SearchState, second) -> None:
        """A second labeller's answers: votes beside the first answers, labels spent."""
        if state.votes is None:
            state.votes = Votes()
        n = int(max(second.first.max(initial=-1), second.second.max(initial=-1))) + 1
        if len(state.votes.names) < n:
            state.votes.names = tuple(str(u) for u in range(n))
        state.votes.add(second.ids, second.first, second.first_said, second.second, second.said)
        if state.tally is not None:
            state.tally[second.ids, np.where(second.said, 0, 1)] += 1
        spent = second.ids.size
        if second.resolved is not None and (second.resolved >= 0).any():  # a resolution is the answer that stands
            settled = second.resolved >= 0
            state.votes.resolved[-second.ids.size:] = second.resolved
            record_check(state, second.ids[settled], second.resolved[settled] == 1)
            spent += int(settled.sum())
        state.queries += spent
        if state.budget_left is not None:
            state.budget_left -= spent

    def weigh(self, state: SearchState) -> None:
        """How far each answer is believed: the labeller model's beliefs (with one), then the
        disputed items' (:mod:`.reliability`), in ``state.belief``."""
        if self.labeller is not None:
            self.labeller.update(state)
        weigh_disputes(state, on_beliefs=self.labeller is not None)

    def resume(self, X, index, answers: np.ndarray, proposals: list[Proposal], frontier: np.ndarray,
               epochs_done: int, *, final_done: bool, stalled: bool, examples=None, votes=None,
               extra_labels: int = 0) -> SearchState:
        """The state a run is in after the oracle calls ``proposals`` (oldest first), answered
        as ``answers`` says: what a labelling session rebuilds from its file before each
        round. Its phase follows :meth:`next_step`'s rules: the final search once the epochs
        are used up or a call found no candidates (``stalled``), done once that is past
        (``final_done``); its budget and counts follow :meth:`observe`'s. ``votes``: the items
        answered twice (:class:`~.reliability.Votes`); ``extra_labels``: second answers
        that are not in ``proposals`` (a second labeller's), spent from the budget."""
        proposed = np.concatenate([p.ids for p in proposals]) if proposals else np.zeros(0, np.int64)
        first = [p.ids for p in proposals if not is_check(p)]
        first = np.concatenate(first) if first else np.zeros(0, np.int64)
        spent = int(proposed.size) + int(extra_labels)
        phase = "final" if stalled else "epochs"
        if final_done and (stalled or (self.epochs is not None and epochs_done >= self.epochs)):
            phase = "done"
        return SearchState(
            X=X, index=index, answers=answers, frontier=frontier, proposals=proposals,
            n_found=int((answers[first] == POSITIVE).sum()) if first.size else 0,
            queries=spent, epoch=int(epochs_done),
            budget_left=None if self.budget is None else max(0, self.budget - spent),
            phase=phase, ended="no candidates" if stalled else "epochs", examples=examples,
            votes=votes if votes is not None and (len(votes) or votes.also.size) else None,
        )

    def prepare(self, state: SearchState, rng) -> None:
        """Let the scorer and every sampler precompute what depends only on the pool."""
        if self.scorer is not None:
            self.scorer.prepare(state)
        if self.second_looks is not None:
            self.second_looks.prepare(state)
        if self.labeller is not None:
            self.labeller.prepare(state)
        for role in self.ROLES:
            if getattr(self, role) is not None:
                getattr(self, role).prepare(state, rng)

    # The parts of a step.

    def select_epoch(self, state: SearchState, rng) -> Selection:
        """One epoch's batch: NN around the frontier, then the exploration sampler (or the
        cold-start sampler while no positive is known), merged and cut to the budget left."""
        timings: dict[str, float] = {}
        parts = []
        cold = self.cold_start is not None and not (state.answers == POSITIVE).any()
        for role in ("cold_start",) if cold else ("nn", "explore"):
            sampler = getattr(self, role)
            if sampler is not None:
                t0 = time.perf_counter()
                parts.append((sampler, sampler.propose(state, rng)))
                timings[sampler.name] = time.perf_counter() - t0
        batch, sources, owners = _merge(parts, state.budget_left)
        return Selection(batch, sources, timings, owners)

    def select_check(self, state: SearchState) -> Selection:
        """The second looks due after the last page (empty when none are, or when off)."""
        if self.second_looks is None or state.epoch == 0:
            return Selection(np.zeros(0, np.int64), {}, {}, ())
        t0 = time.perf_counter()
        ids = self.second_looks.select(state)
        owners = (SECOND_LOOK,) * ids.size
        return Selection(ids, {SECOND_LOOK: int(ids.size)} if ids.size else {},
                         {SECOND_LOOK: time.perf_counter() - t0}, owners)

    def select_final(self, state: SearchState, rng) -> Selection:
        """The final search's batch (empty without a final sampler)."""
        if self.final is None:
            return Selection(np.zeros(0, np.int64), {}, {}, ())
        t0 = time.perf_counter()
        batch, sources, owners = _merge([(self.final, self.final.propose(state, rng))], state.budget_left)
        return Selection(batch, sources, {self.final.name: time.perf_counter() - t0}, owners)

    def update_scores(self, state: SearchState, rng) -> dict[str, float]:
        """Retrain the scorer on every answer so far; returns the phases' wall times."""
        if self.scorer is None:
            return {}
        t0 = time.perf_counter()
        self.scorer.last_seconds = {}
        state.prefetched = None
        ahead = getattr(self.nn, "ahead", None)  # the next NN search, answered in the scoring pass
        if ahead is not None and (self.epochs is None or state.epoch < self.epochs) and state.budget_left != 0:
            ahead = ahead(state)
        else:  # no epoch follows (the final search needs no NN step)
            ahead = None
        state.scores = self.scorer.update(state, rng, ahead=ahead)
        state.scored = getattr(self.scorer, "scored", None)
        return {self.scorer.name: time.perf_counter() - t0, **self.scorer.last_seconds}


def _plain(params: dict) -> dict:
    """Sampler parameters as JSON-friendly values (nested samplers by name and params)."""
    out = {}
    for key, value in params.items():
        if isinstance(value, Sampler):
            out[key] = {"sampler": value.name, **_plain(value.get_params())}
        else:
            out[key] = value
    return out
