"""This project's default search: a portfolio of rankings, each page shared out by how well each has done.

Not the paper's algorithm (that is the ``elsa`` strategy). No single model of "where the
positives are" holds on every kind of feature space: the k-NN model of active search
finds little where the pool's neighbourhoods mix classes, a linear head finds little
where the class is not linearly separable, and the rank average of the two that
:mod:`elsa.samplers.blend` uses inherits the worse one's failure (on graph-spectral
features it found half of what either model found alone on its worst class). So each
round's page of ``batch_size`` items is filled from three *rankings* of the unlabelled
items, and the rankings that have found more lately get more of the page:

* ``knn``: the k-NN model's probability (:class:`~elsa.head.knn.KNNModel`: the labels
  among an item's 50 nearest neighbours, prior 0.05), as ``knn-search`` ranks;
* ``blend:0.01`` and ``blend:1``: the rank average of that probability and a logistic
  regression's score (:class:`~elsa.samplers.blend.BlendSampler`), with the head
  strongly (``C = 0.01``) and mildly (``C = 1``) regularised. Neither ``C`` suits every
  space: 0.01 is better on 1,280-d image embeddings, 1 on 20 spectral features.

**The check.** Every item a ranking put on the page is that ranking's own bet, and its
answer is a test of that ranking on an item it had not yet seen. Each slot of the page
goes to the ranking with the largest draw from a Beta posterior of its hit rate
(Thompson sampling) over the answers to its own proposals, each weighted by
``discount ** age`` (``age`` in rounds), so the record follows the search as regions run
out. The slot takes that ranking's best item not already on the page. A ranking whose
picks come back negative is starved of slots after a few pages, and no longer pulls the
others down; when the others' hit rates fall below what its record still allows, it is
drawn again.

The records start from a prior: ``blend:0.01`` from ``Beta(2, 1)``, the others from
``Beta(1, 2)``, so in the first pages most slots go to the strongly regularised rank
average and the others must earn theirs. In design runs (3 classes of each of seven
feature spaces, 3 runs each) that ranking alone was at least as good as the k-NN model
alone at 100 labels in 18 of 21 cells, and with flat priors the first pages, shared
three ways by chance, found 30-40 % fewer positives by 100 labels on the encoder's
embeddings (classes 2, 4, 6: 66, 32, 38 against 80, 49, 40 with this prior) while the
prior changed little by 1,000 labels on the spectral features' worst classes (163 and
132 with flat priors, 165 and 124 with it, 9 runs each).

What the check costs in labels is the slots a worse ranking still gets while the
posteriors overlap; :mod:`benchmarks.portfolio_check` measures it with a decoy ranking
that knows nothing, and the share of labels each ranking got in the full benchmark.

Every round is a function of the labels and of the record of who proposed what, which a
search keeps in :attr:`elsa.state.SearchState.proposals` (a labelling session rebuilds it
from its rounds, whose items are stored with their owner, ``portfolio/knn`` and so on),
and of the round's random state: a reopened session chooses as the uninterrupted one
would. Undoing an answer takes it out of the record.

Cost per round: one k-NN model update (``O(k)`` per new label), two logistic fits on the
labels plus ``n_random`` random unlabelled items taken as negatives (CAL's device), one
pass scoring the pool with both heads (:class:`~elsa.head.logistic.StackedLogits`), and
two rank averages found without sorting the pool
(:mod:`elsa.samplers._ranks`). Before any positive is known it labels uniformly random
items.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_float, check_int
from ..exceptions import ParameterError
from ..head.knn import KNNModel
from ..head.logistic import LogisticHead, StackedLogits
from ..head.scores import local_top
from ..state import NEGATIVE, POSITIVE, SearchState
from ._ranks import ranks_with_common_value, top_by_rank_sum
from .base import Sampler, uniform_unlabelled
from .cal import fit_with_random_negatives
from .knn_search import knn_model

HEAD_CS = (0.01, 1.0)
LEAD = "blend:0.01"  # the ranking that starts ahead (see the module docstring)
LEAD_PRIOR, OTHERS_PRIOR = (2.0, 1.0), (1.0, 2.0)  # Beta pseudo-counts: (positives, negatives)


class PortfolioSampler(Sampler):
    """A page shared between rankings by Thompson sampling on their recent hit rates.

    Parameters
    ----------
    batch_size : int
        Items per round (a page).
    k, gamma : the k-NN model's neighbours and prior.
    head_cs : tuple of float
        The logistic heads' inverse L2 penalties: one ``blend:C`` ranking each.
    n_random : int
        Random unlabelled items taken as negatives in each fit.
    discount : float
        Weight of an answer one round older, in (0, 1].
    lead : str or None
        The ranking whose record starts from ``Beta(2, 1)`` where the others' starts from
        ``Beta(1, 2)``; None starts every record from ``Beta(1, 1)``.
    """

    name = "portfolio"

    def __init__(self, batch_size: int = 10, k: int = 50, gamma: float = 0.05, head_cs=HEAD_CS,
                 n_random: int = 100, discount: float = 0.9, lead: str | None = LEAD):
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.k = check_int(k, "k", minimum=1)
        self.gamma = KNNModel(k, gamma).gamma
        self.head_cs = tuple(check_float(c, "head_cs", minimum=0.0, exclusive_minimum=True) for c in head_cs)
        self.n_random = check_int(n_random, "n_random", minimum=0)
        self.discount = check_float(discount, "discount", minimum=0.0, maximum=1.0, exclusive_minimum=True)
        if lead is not None and lead not in self.parts:
            raise ParameterError(f"lead {lead!r} is not one of the rankings {', '.join(self.parts)}")
        self.lead = lead
        self._model: KNNModel | None = None
        self._heads: list[LogisticHead] = []
        self._owner: dict[int, str] = {}

    @property
    def parts(self) -> tuple[str, ...]:
        """The rankings' names, as they appear in owners (``portfolio/knn``) and sources."""
        return ("knn",) + tuple(f"blend:{c:g}" for c in self.head_cs)

    @property
    def prior(self) -> tuple[np.ndarray, np.ndarray]:
        """Each ranking's Beta prior (pseudo-positives, pseudo-negatives), in :attr:`parts` order."""
        if self.lead is None:
            return np.ones(len(self.parts)), np.ones(len(self.parts))
        pairs = [LEAD_PRIOR if part == self.lead else OTHERS_PRIOR for part in self.parts]
        return np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        self._model = knn_model(state, self.k, self.gamma)
        self._heads = [LogisticHead(c, balanced=False).prepare(state.X) for c in self.head_cs]

    def rankings(self, state: SearchState, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Each ranking's ``batch_size`` best unlabelled ids, best first (draws the heads'
        pseudo-negatives from ``rng``). Without both classes to fit on, the heads' rankings
        are the k-NN model's."""
        model = self._model
        model.sync(state)
        unlabelled = np.flatnonzero(~state.labelled)
        p = model.probabilities(unlabelled)
        out = {"knn": unlabelled[local_top(p, self.batch_size, None)]}
        if not fit_with_random_negatives(self._heads, state, rng, self.n_random):
            return {part: out["knn"] for part in self.parts}
        rank_p = ranks_with_common_value(p, ~model.labels_near(unlabelled), self.gamma)
        Z = np.asarray(state.index.map(StackedLogits(self._heads)))[unlabelled]  # every head in one pass
        for j, part in enumerate(self.parts[1:]):
            out[part] = unlabelled[top_by_rank_sum(rank_p, Z[:, j].astype(np.float64), self.batch_size)]
        return out

    def record(self, state: SearchState) -> tuple[np.ndarray, np.ndarray]:
        """Discounted positives and negatives among each ranking's own proposals (in
        :attr:`parts` order), from :attr:`~elsa.state.SearchState.proposals` and the
        current answers (unanswered, unsure and undone items count for nothing)."""
        where = {f"{self.name}/{part}": i for i, part in enumerate(self.parts)}
        hits, misses = np.zeros(len(self.parts)), np.zeros(len(self.parts))
        for proposal in state.proposals:
            arm = np.array([where.get(o, -1) for o in proposal.owners])
            mine = arm >= 0
            if not mine.any():
                continue
            weight = self.discount ** max(state.epoch - proposal.epoch, 0)
            answers = state.answers[proposal.ids[mine]]
            hits += weight * np.bincount(arm[mine][answers == POSITIVE], minlength=len(self.parts))
            misses += weight * np.bincount(arm[mine][answers == NEGATIVE], minlength=len(self.parts))
        return hits, misses

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if self._model is None:
            self.prepare(state, rng)
        if not (state.answers == POSITIVE).any():  # nothing to search around yet
            ids = uniform_unlabelled(state, rng, self.batch_size)
            self._owner = {int(i): "random" for i in ids}
            return ids
        lists = self.rankings(state, rng)
        hits, misses = self.record(state)
        hits, misses = hits + self.prior[0], misses + self.prior[1]
        chosen: list[int] = []
        self._owner = {}
        nxt = {part: 0 for part in self.parts}
        size = min(self.batch_size, int((~state.labelled).sum()))
        while len(chosen) < size:
            draw = rng.beta(hits, misses)
            for i in np.argsort(-draw, kind="stable"):
                part, ranked = self.parts[i], lists[self.parts[i]]
                while nxt[part] < ranked.size and int(ranked[nxt[part]]) in self._owner:
                    nxt[part] += 1
                if nxt[part] < ranked.size:
                    item = int(ranked[nxt[part]])
                    self._owner[item] = part
                    chosen.append(item)
                    break
            else:  # every ranking is used up (fewer unlabelled items than a page)
                break
        return np.asarray(chosen, np.int64)

    def owners(self, ids: np.ndarray) -> list[str]:
        return [f"{self.name}/{self._owner.get(int(i), 'random')}" for i in ids]
