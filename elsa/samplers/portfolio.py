"""This project's default search: a portfolio of rankings, each page shared out by how well each has done.

Not the paper's algorithm (that is the ``elsa`` strategy). No single model of "where the
positives are" holds on every kind of feature space: the k-NN model of active search
finds little where the pool's neighbourhoods mix classes, a linear head finds little
where the class is not linearly separable, and the rank average of the two that
:mod:`elsa.samplers.blend` uses inherits the worse one's failure (on graph-spectral
features it found half of what either model found alone on its worst class). So each
round's page of ``batch_size`` items is filled from four *rankings* of the unlabelled
items, and the rankings that have found more lately get more of the page:

* ``knn``: the k-NN model's probability (:class:`~elsa.head.knn.KNNModel`: the labels
  among an item's 50 nearest neighbours, prior 0.05), as ``knn-search`` ranks;
* ``blend:0.01`` and ``blend:1``: the rank average of that probability and a logistic
  regression's score (:class:`~elsa.samplers.blend.BlendSampler`), with the head
  strongly (``C = 0.01``) and mildly (``C = 1``) regularised. Neither ``C`` suits every
  space: 0.01 is better on 1,280-d image embeddings, 1 on 20 spectral features.
* ``head:1``: the ``C = 1`` head's score alone, as ``cal`` ranks. Once the regions
  around the found positives run out, the rank averages stall: an unlabelled item near
  found positives keeps a high k-NN rank even where the head scores it low, and one far
  from every label gets the k-NN model's prior, so the page stays on the explored
  frontier. The head alone reaches the class's other regions. On the docstrings' text
  vectors (classes 0, 2 and 3, 3 runs each, discount 0.9) the three rankings above
  found 236, 276 and 121 positives by 1,000 labels and 249, 315 and 179 by 2,000; with
  this ranking 254, 314 and 131, and 291, 341 and 200. It cost 0-3 % on the median class
  of the image spaces, where the blends do not run dry (``search_quality.md``,
  ``portfolio3`` against ``portfolio-d0.9``).

**The check.** Every item a ranking put on the page is that ranking's own bet, and its
answer is a test of that ranking on an item it had not yet seen. Each slot of the page
goes to the ranking with the largest draw from a Beta posterior of its hit rate
(Thompson sampling) over the answers to its own proposals, each weighted by
``discount ** age`` (``age`` in rounds), so the record follows the search as regions run
out. The slot takes that ranking's best item not already on the page. A ranking whose
picks come back negative is starved of slots after a few pages, and no longer pulls the
others down; when the others' hit rates fall below what its record still allows, it is
drawn again.

The discount is 0.97: an answer's weight halves in about 23 rounds (230 labels). Where
every ranking's hit rate is low, their records differ by a few positives, and a short
memory cannot tell them apart; 0.9 (halving in under 7 rounds) shared the page too
evenly. Paired against 0.9 on classes 0, 2, 3, 4 and 6 of seven feature spaces (3 runs,
up to 2,000 labels), 0.97 found 0.99-1.03 times as many on the median class in every
space and at every budget; 1.15-1.52 times on the 1/eigenvalue spectral features'
classes 4 and 6 at 250-1,000 labels; 0.87 times on the plain spectral features' class 6
at 1,000 labels and 0.85 times on the pixels' class 4 at 250. The longer memory did not
bring back the rank averages' stall on text (docstrings class 0: 296 by 2,000 labels,
291 with 0.9).

The records start from a prior: ``blend:0.01`` from ``Beta(2, 1)``, the others from
``Beta(1, 2)``, so in the first pages most slots go to the strongly regularised rank
average and the others must earn theirs. In design runs (3 classes of each of seven
feature spaces, 3 runs each; with the first three rankings, before ``head:1``) that ranking alone was at least as good as the k-NN model
alone at 100 labels in 18 of 21 cells, and with flat priors the first pages, shared
three ways by chance, found 30-40 % fewer positives by 100 labels on the encoder's
embeddings (classes 2, 4, 6: 66, 32, 38 against 80, 49, 40 with this prior) while the
prior changed little by 1,000 labels on the spectral features' worst classes (163 and
132 with flat priors, 165 and 124 with it, 9 runs each).

What the check costs in labels is the slots a worse ranking still gets while the
posteriors overlap; :mod:`benchmarks.portfolio_check` measures it with a decoy ranking
that knows nothing, and the share of labels each ranking got in the full benchmark.

**The ``mlp`` ranking (offered, not yet the default).** ``mlp`` in ``rankings`` adds an
MLP head's own best items (:class:`~elsa.head.mlp.MLPHead`, the paper's head: one hidden
layer of 64 ReLU units, L-BFGS), fit each round as the logistic heads are (the answers
plus ``n_random`` fresh random unlabelled items as negatives) and scored over the pool
in a pass of its own; its record starts from ``Beta(1, 2)``, as the other followers'. It
brings a model the others lack: one neither linear in the features nor local to the
labels' neighbourhoods. On the import graph's 1/eigenvalue-scaled eigenvectors
(``benchmarks/import_graph.py``), whose communities are neither, the default finds less
than the paper's ELSA (whose head is such an MLP). Measured in
``benchmarks/search_variants.py`` (classes 0, 2, 3, 4, 6 of seven image, spectral and
text spaces and all ten of the import graph's, 3 paired runs, up to 1,000 labels), on
the median class against the default:

* ``knn,blend:0.01,blend:1,mlp`` (``mlp`` in place of ``head:1``): 1.36-2.38 times at
  100-1,000 labels with the scaling and 1.04-1.12 with plain eigenvectors; 0.96-1.05 on
  Fashion-MNIST's spectral features (and twice as many on the plain ones' class 6,
  Shirt, at 1,000 labels: 133-164 against 64-80), 1.00-1.03 on text, 0.98-1.02 on the
  image spaces from 500 labels, but 0.90-0.92 on the encoder's and the pixels' at 100
  labels.
* the four default rankings and ``mlp`` (five): as much on the scaled import graph
  (1.35-2.07), but 0.71 on the plain one and 0.81 and 0.88 on the encoder's and the
  wild scales' at 100 labels, where five rankings share the first pages more thinly.

Not the default yet. The full benchmark (every class, 2,000 labels) of the first
(``portfolio-mlp`` in ``search_quality.py``) has run in seven of its ten spaces, with the
same picture (2.38-1.03 times the default's median class on the scaled import graph,
0.96-1.12 in the other spaces but digits, where every strategy finds 10-11 of 11); the pixels, wild scales and unit-length embeddings are to come.
And a round costs about twice the default's (0.064 s at 100,000 items, 0.37 s at 1
million; ``search_latency.md``): the MLP's pass over the pool (``64 x dim``
multiply-adds an item) is not timed at 10 million, where the default's round already
takes 2.1 s of its 3; it should share the logistic heads' pass before it is the default.

Every round is a function of the labels and of the record of who proposed what, which a
search keeps in :attr:`elsa.state.SearchState.proposals` (a labelling session rebuilds it
from its rounds, whose items are stored with their owner, ``portfolio/knn`` and so on),
and of the round's random state: a reopened session chooses as the uninterrupted one
would. Undoing an answer takes it out of the record.

Cost per round: one k-NN model update (``O(k)`` per new label), two logistic fits on the
labels plus ``n_random`` random unlabelled items taken as negatives (CAL's device), one
pass scoring the pool with both heads (:class:`~elsa.head.logistic.StackedLogits`), and
two rank averages and the head's best items found without sorting the pool
(:mod:`elsa.samplers._ranks`, partial sorts). Before any positive is known it labels
uniformly random items, unless the state holds positive examples (a description of the
target, :attr:`elsa.state.SearchState.examples`): then the heads, fitted on the examples
against random negatives, rank the first page, and every ranking that needs the k-NN
model takes the first head's order until a positive is found.

Tried on the way and not kept (scratch design runs on classes 4 and 6 of the spectral
features, 3-9 runs, positives at 1,000 labels, against 139 and 75 for ``blend`` and 169
and 109 for the k-NN model's pages): a stacked log-linear pool of the two models with
cross-validated weights (167, 57); the k-NN model with the head's probability as its
prior (152-155, 120-140, but well below ``blend`` on the image spaces); a rank average
local to the band of items near positives (126, 60); interleaving the two models'
pages (112, 67); the k-NN model's ranking with the head alone instead of the two
averages (148, 87); a head whose ``C`` is chosen by cross-validation each round (144,
127); crediting each ranking with the AUC of its scores on the whole page instead of
its own picks (no better); ENS on a k-NN model with the head as prior (119, 71, and
0.5-1.2 s a round at 63,000 items); flat priors (163, 132 against 165, 124). With
``head:1`` added, a ``Beta(1, 4)`` prior for it changed nothing measurable (text classes
0, 2, 3; image classes 4 and 6). On text (issue 36; 14 targets of three corpora, 3
paired runs, 100-1,000 labels, the median class against the default): a fifth ranking
by label propagation on the k-NN graph (the harmonic function, 10 steps) 0.995-1.002,
the seeds weighted five times in the heads' fits 0.996-1.000, heads on a second view of
the words 0.994-1.006 (:mod:`elsa.text.features`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._validation import check_float, check_int
from ..exceptions import ParameterError
from ..head.knn import KNNModel
from ..head.logistic import LogisticHead, StackedLogits
from ..head.mlp import MLPHead
from ..scores import local_top
from ..state import NEGATIVE, POSITIVE, Proposal, SearchState
from ._ranks import ranks_with_common_value, top_by_rank_sum
from .base import Sampler, uniform_unlabelled
from .cal import fit_with_random_negatives
from .knn_search import knn_model

RANKINGS = "knn,blend:0.01,blend:1,head:1"  # the registry's default for ``rankings`` (a test checks they agree)
LEAD = "blend:0.01"  # the ranking that starts ahead (see the module docstring)
LEAD_PRIOR, OTHERS_PRIOR = (2.0, 1.0), (1.0, 2.0)  # Beta pseudo-counts: (positives, negatives)


def parse_rankings(rankings) -> list[tuple[str, float | None]]:
    """Rankings given as ``"knn,blend:0.01"`` or as a sequence of names, parsed (see
    :func:`parse_part`); each once, at least one."""
    names = [t.strip() for t in rankings.split(",") if t.strip()] if isinstance(rankings, str) else list(rankings)
    parsed = [parse_part(name) for name in names]
    if not parsed or len(set(parsed)) < len(parsed):
        raise ParameterError(f"rankings: {rankings!r} must name at least one ranking, each once")
    return parsed


def part_name(kind: str, c: float | None) -> str:
    """A parsed ranking's name, as in :attr:`PortfolioSampler.parts`: ``("head", 1.0)`` -> ``"head:1"``."""
    return kind if c is None else f"{kind}:{c:g}"


def parse_part(part: str) -> tuple[str, float | None]:
    """``"knn"`` -> ``("knn", None)``; ``"mlp"`` -> ``("mlp", None)``; ``"blend:0.01"`` ->
    ``("blend", 0.01)``; ``"head:1"`` -> ``("head", 1.0)``. Raises
    :class:`~elsa.exceptions.ParameterError` naming anything else."""
    kind, _, c = str(part).partition(":")
    if kind in ("knn", "mlp") and not c:
        return kind, None
    if kind in ("blend", "head") and c:
        try:
            value = float(c)
        except ValueError:
            value = float("nan")
        if value > 0 and np.isfinite(value):
            return kind, value
    raise ParameterError(f"rankings: {part!r} is not a ranking (knn, mlp, blend:C or head:C with C > 0)")


class PortfolioSampler(Sampler):
    """A page shared between rankings by Thompson sampling on their recent hit rates.

    Parameters
    ----------
    batch_size : int
        Items per round (a page).
    k, gamma : the k-NN model's neighbours and prior.
    rankings : str or sequence of str
        The rankings, as names or comma-separated: ``knn``, ``blend:C`` (the rank average
        of the k-NN model and a logistic head with inverse L2 penalty ``C``), ``head:C``
        (that head alone) and ``mlp`` (an MLP head's own ranking; not in the default, see the
        module docstring). Kept, normalised, in :attr:`parts`.
    n_random : int
        Random unlabelled items taken as negatives in each fit.
    discount : float
        Weight of an answer one round older, in (0, 1].
    lead : str or None
        The ranking whose record starts from ``Beta(2, 1)`` where the others' starts from
        ``Beta(1, 2)``; None starts every record from ``Beta(1, 1)``. ``"auto"``:
        ``blend:0.01`` where it is one of the rankings, else None.
    """

    name = "portfolio"

    def __init__(self, batch_size: int = 10, k: int = 50, gamma: float = 0.05, rankings=RANKINGS,
                 n_random: int = 100, discount: float = 0.97, lead: str | None = "auto"):
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.k = check_int(k, "k", minimum=1)
        self.gamma = KNNModel(k, gamma).gamma
        self._parsed = parsed = parse_rankings(rankings)
        self.parts = tuple(part_name(kind, c) for kind, c in parsed)
        self.head_cs = tuple(dict.fromkeys(c for _, c in parsed if c is not None))  # one head per C
        self.n_random = check_int(n_random, "n_random", minimum=0)
        self.discount = check_float(discount, "discount", minimum=0.0, maximum=1.0, exclusive_minimum=True)
        if lead == "auto":
            lead = LEAD if LEAD in self.parts else None
        if lead is not None and lead not in self.parts:
            raise ParameterError(f"lead {lead!r} is not one of the rankings {', '.join(self.parts)}")
        self.lead = lead
        self._model: KNNModel | None = None
        self._heads: list[LogisticHead] = []
        self._mlp: MLPHead | None = None
        self._left: dict[str, float] = {}

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
        self._mlp = MLPHead().prepare(state.X) if "mlp" in self.parts else None

    def top_lists(self, state: SearchState, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Each ranking's ``batch_size`` best unlabelled ids, best first (draws the heads'
        pseudo-negatives from ``rng``, then the MLP's). Without both classes to fit on, the
        heads' rankings are the k-NN model's."""
        model = self._model
        model.sync(state)
        unlabelled = np.flatnonzero(~state.labelled)
        p = model.probabilities(unlabelled)
        knn = unlabelled[local_top(p, self.batch_size, None)]
        out = {part: knn for part in self.parts}
        self._left = {"knn": float(p.sum())}
        if self.head_cs and fit_with_random_negatives(self._heads, state, rng, self.n_random):
            rank_p = ranks_with_common_value(p, ~model.labels_near(unlabelled), model.gamma)
            Z = np.asarray(state.index.map(StackedLogits(self._heads)))[unlabelled]  # every head in one pass
            self._left.update({part_name("head", c): float(expit(Z[:, i].astype(np.float64)).sum())
                               for i, c in enumerate(self.head_cs)})
            for part, (kind, c) in zip(self.parts, self._parsed):
                if kind in ("blend", "head"):
                    z = Z[:, self.head_cs.index(c)].astype(np.float64)
                    top = top_by_rank_sum(rank_p, z, self.batch_size) if kind == "blend" else local_top(
                        z, self.batch_size, None)
                    out[part] = unlabelled[top]
            if not (state.answers == POSITIVE).any():  # only examples (a description): the k-NN model knows nothing yet
                out["knn"] = unlabelled[local_top(Z[:, 0].astype(np.float64), self.batch_size, None)]
        if self._mlp is not None and fit_with_random_negatives(self._mlp, state, rng, self.n_random):
            z = np.asarray(state.index.score(self._mlp.decision_function), np.float64)
            out["mlp"] = local_top(z, self.batch_size, state.labelled)
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
            ids = proposal.ids[mine]
            decided = (state.answers[ids] == POSITIVE) | (state.answers[ids] == NEGATIVE)
            q = np.where(decided, state.soft_labels(ids), 0.0)  # the answers, or the beliefs in them
            hits += weight * np.bincount(arm[mine], q, minlength=len(self.parts))
            misses += weight * np.bincount(arm[mine], decided - q, minlength=len(self.parts))
        return hits, misses

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        return self.propose(state, rng).ids

    def propose(self, state: SearchState, rng: np.random.Generator) -> Proposal:
        """A page, each item owned by the ranking that put it there (``portfolio/knn``, ...;
        ``portfolio/random`` before there is anything to go on)."""
        owner = self._choose(state, rng)
        return Proposal(np.fromiter(owner, np.int64, len(owner)), tuple(f"{self.name}/{p}" for p in owner.values()))

    def _choose(self, state: SearchState, rng: np.random.Generator) -> dict[int, str]:
        """The page's items, in order, with the ranking each came from."""
        if self._model is None:
            self.prepare(state, rng)
        if not (state.answers == POSITIVE).any() and (state.examples is None or not self.head_cs):  # nothing to go on yet
            return {int(i): "random" for i in uniform_unlabelled(state, rng, self.batch_size)}
        lists = self.top_lists(state, rng)
        hits, misses = self.record(state)
        hits, misses = hits + self.prior[0], misses + self.prior[1]
        chosen: dict[int, str] = {}
        nxt = {part: 0 for part in self.parts}
        size = min(self.batch_size, int((~state.labelled).sum()))
        while len(chosen) < size:
            draw = rng.beta(hits, misses)
            for i in np.argsort(-draw, kind="stable"):
                part, ranked = self.parts[i], lists[self.parts[i]]
                while nxt[part] < ranked.size and int(ranked[nxt[part]]) in chosen:
                    nxt[part] += 1
                if nxt[part] < ranked.size:
                    chosen[int(ranked[nxt[part]])] = part
                    break
            else:  # every ranking is used up (fewer unlabelled items than a page)
                break
        return chosen

    def positives_left(self) -> dict[str, float]:
        """The k-NN model's (``knn``) and each logistic head's (``head:C``) probabilities
        summed over the items unlabelled at the last :meth:`select` (the heads' once both
        classes are known)."""
        return dict(self._left)
