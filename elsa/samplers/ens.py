"""Efficient nonmyopic active search (ENS; Jiang et al., ICML 2017), and a batch version.

ENS scores an unlabelled item ``x`` by the positives it expects from labelling ``x``
now and then spending the remaining ``r`` labels greedily, approximated as if those
``r`` were chosen at once after ``x``'s label is known::

    score(x) = p(x) + E_y[ sum of the r largest probabilities given D + (x, y) ]

with ``p`` the k-NN model (:class:`~elsa.head.knn.KNNModel`) and ``r`` the budget left
after ``x``. Observing ``x`` changes only the probabilities of ``x``'s reverse
neighbours, so each term is the top-``r`` sum of the current probabilities with ``x``
and those neighbours replaced by their updated values. As in the authors' code
(``shalijiang/efficient_nonmyopic_active_search``, ``ens_with_pruning.m``),
candidates are scored in descending ``p`` and the search stops at the paper's upper
bound: ``p(x) + p(x) U+ + (1 - p(x)) U-``, where ``U-`` is the current top-``r`` sum (a
negative label lowers probabilities) and ``U+`` replaces the ``m`` largest terms by
the largest probability any item could reach with one more positive neighbour (``m``
the largest number of reverse neighbours in the graph). The bound grows with ``p(x)``,
so the first candidate whose bound falls below the best score ends the search.

Where this differs from the reference code:

* The top-``r`` sums are computed by merging the few changed probabilities into a sorted
  prefix of the current ones (prefix sums and a binary search), not by re-sorting, which
  gives the same sums.
* **Batches** (``batch_size > 1``) are built by sequential simulation (Jiang et al.,
  NeurIPS 2018, section 4): pick by ENS, pretend the pick was labelled *negative* (the
  pessimistic fictional oracle, which spreads a batch out), pick again with one label
  fewer left, and so on; the fictions are removed before the real labels arrive. The
  paper's batch-ENS proper (which samples the batch's joint labels) is not built.
* With no label budget (a session without ``--budget``), ``r`` is counted from
  ``horizon`` labels.

Cost: the bound prunes less as ``r`` grows (the top-``r`` sum moves with more items). On
the 63,636-item spectral pool of ``benchmarks/search_quality.py`` a step with ``r``
near 2,000 took about 0.27 s on 2 cores, so a 2,000-label search one item at a time
takes about 9 minutes; the benchmark has ENS at budgets up to 500.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..head.knn import KNNModel
from ..scores import local_top
from ..state import SearchState
from .base import Sampler
from .knn_search import knn_model


class ENSSampler(Sampler):
    """ENS with its pruning bound; batches by pessimistic sequential simulation.

    Parameters
    ----------
    k, gamma : the k-NN model's neighbours and prior (as :class:`~elsa.samplers.knn_search.KNNSearchSampler`).
    batch_size : int
        Items per oracle call.
    horizon : int
        Labels assumed left when the run has no budget.
    """

    name = "ens"

    def __init__(self, k: int = 50, gamma: float = 0.05, batch_size: int = 1, horizon: int = 1000):
        self.k = check_int(k, "k", minimum=1)
        self.gamma = KNNModel(k, gamma).gamma
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.horizon = check_int(horizon, "horizon", minimum=1)
        self._model: KNNModel | None = None
        self._max_influence = 0
        self.evaluated: list[int] = []  # candidates scored per pick (pruning's effect; for benchmarks)

    def prepare(self, state: SearchState, rng: np.random.Generator) -> None:
        self._model = knn_model(state, self.k, self.gamma)
        self._influence = self._model.graph.in_degree().astype(np.int64)
        self._max_influence = int(self._influence.max(initial=0))
        self._seen = np.zeros(state.n, bool)
        self.evaluated = []

    def _sync_influence(self, labelled: np.ndarray) -> None:
        """``_influence[x]``: the unlabelled items that list ``x`` (whose probabilities its label changes)."""
        forward = self._model.graph.forward
        for ids, step in ((np.flatnonzero(labelled & ~self._seen), -1), (np.flatnonzero(~labelled & self._seen), 1)):
            listed = forward[ids].reshape(-1)
            np.add.at(self._influence, listed[listed >= 0], step)
        self._seen = labelled.copy()

    def select(self, state: SearchState, rng: np.random.Generator) -> np.ndarray:
        if self._model is None:
            self.prepare(state, rng)
        model = self._model
        model.sync(state)
        self._sync_influence(state.labelled)
        left = state.budget_left if state.budget_left is not None else self.horizon
        labelled = state.labelled.copy()
        influence = self._influence.copy()
        forward = model.graph.forward
        size = min(self.batch_size, max(left, 0), int((~labelled).sum()))
        chosen: list[int] = []
        for i in range(size):
            x = self.choose(labelled, left - i - 1, influence)
            chosen.append(x)
            labelled[x] = True
            listed = forward[x]
            np.add.at(influence, listed[listed >= 0], -1)
            if i < size - 1:
                model.observe([x], 0.0)  # the pessimistic fiction
        if len(chosen) > 1:
            model.observe(chosen[:-1], 0.0, sign=-1.0)
        return np.asarray(chosen, np.int64)

    def choose(self, labelled: np.ndarray, r: int, influence: np.ndarray) -> int:
        """The ENS pick among unlabelled items with ``r`` labels left after it.

        ``influence[x]`` is the number of unlabelled items that list ``x`` (whose
        probabilities labelling ``x`` changes).
        """
        model = self._model
        p = model.probabilities()
        unlabelled_ids = np.flatnonzero(~labelled)
        r = min(r, unlabelled_ids.size - 1)
        if r <= 0:
            return int(local_top(p, 1, labelled)[0])
        M = self._max_influence
        L = min(unlabelled_ids.size, r + M + 1)  # enough to hold r items after any removal
        top = local_top(p, L, labelled)  # descending p, ties by id
        ptop = p[top]
        prefix = np.concatenate([[0.0], np.cumsum(ptop)])
        where = np.full(p.size, -1, np.int64)
        where[top] = np.arange(top.size)
        # The pruning bound, per candidate: with a = its influence, after a positive label the
        # top-r sum is at most max_{j <= a} (top r - j current values + top j reachable values).
        reach = np.sort(model.probabilities_if(unlabelled_ids, True))[::-1][: min(M, r)]
        j = np.arange(reach.size + 1)
        u_pos = np.maximum.accumulate(prefix[r - j] + np.concatenate([[0.0], np.cumsum(reach)]))
        u_neg = prefix[r]
        best = (-np.inf, 0.0, 0)  # (score, p, -id): ties to the more likely item, then the smaller id
        plain = self._plain(unlabelled_ids, labelled, r, influence)
        rest = unlabelled_ids
        if plain is not None:
            best = max(best, self._plain_best(unlabelled_ids[plain], influence, r, prefix))
            rest = unlabelled_ids[~plain]
        pc = p[rest]
        upper = pc + pc * u_pos[np.minimum(influence[rest], reach.size)] + (1.0 - pc) * u_neg
        hopeful = upper >= best[0]
        rest, pc, upper = rest[hopeful], pc[hopeful], upper[hopeful]
        order = np.lexsort((rest, -pc, -upper))  # the most promising bound first
        scored, start, chunk = 0, 0, 8  # in growing chunks, each pruned by the best score so far
        while start < order.size:
            block = order[start : start + chunk]
            block = block[upper[block] >= best[0]]
            if block.size == 0:
                break
            cand = rest[block]
            for score, x in zip(self._scores(cand, labelled, r, p, ptop, prefix, where).tolist(), cand.tolist()):
                best = max(best, (score, p[x], -x))
            scored += cand.size
            start += chunk
            chunk = min(chunk * 2, 256)
        self.evaluated.append(scored)
        return -best[2]

    def _scores(self, cand, labelled, r, p, ptop, prefix, where) -> np.ndarray:
        """ENS's scores of the items ``cand``, all at once.

        For each candidate and each label, the top-r sum after its label is the best split
        of r between its affected items' new values (sorted, taken j at a time) and the
        current sorted prefix with the candidate and its affected items removed; the
        position of the j-th kept item comes from a binary search over the removed
        positions. Everything is one pass over the candidates' affected items.
        """
        model = self._model
        ptr, rev = model.graph.transposed()
        counts = ptr[cand + 1] - ptr[cand]
        seg = np.repeat(np.arange(cand.size), counts)
        first = np.repeat(ptr[cand] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        members = rev[np.arange(seg.size) + first].astype(np.int64)
        keep = ~labelled[members] & (members != cand[seg])
        seg, members = seg[keep], members[keep]
        sizes = np.bincount(seg, minlength=cand.size)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        # Positions in the sorted prefix of the removed items (the candidate and its affected ones).
        rseg = np.concatenate([seg, np.arange(cand.size)])
        rpos = np.concatenate([where[members], where[cand]])
        inside = rpos >= 0
        rseg, rpos = rseg[inside], rpos[inside]
        o = np.lexsort((rpos, rseg))
        rseg, rpos = rseg[o], rpos[o]
        rstarts = np.concatenate([[0], np.cumsum(np.bincount(rseg, minlength=cand.size))[:-1]])
        kept_before = rpos - (np.arange(rseg.size) - rstarts[rseg])  # kept items ahead of each removed one
        rcum = np.concatenate([[0.0], np.cumsum(ptop[rpos])])  # removed values, cumulated
        big = p.size + r + 2
        rkey = rseg * big + kept_before
        # (segment, j) pairs: j = 0..min(size, r) of the segment's new values taken.
        jmax = np.minimum(sizes, r)
        bounds = np.concatenate([[0], np.cumsum(jmax + 1)[:-1]])
        jseg = np.repeat(np.arange(cand.size), jmax + 1)
        j = np.arange(jseg.size) - bounds[jseg]
        need = r - j
        c = np.searchsorted(rkey, jseg * big + need, side="left") - rstarts[jseg]
        kept = prefix[np.minimum(need + c, ptop.size)] - (rcum[rstarts[jseg] + c] - rcum[rstarts[jseg]])
        future = []
        for positive in (True, False):
            q = model.probabilities_if(members, positive)
            qcum = np.concatenate([[0.0], np.cumsum(q[np.lexsort((-q, seg))])])
            taken = qcum[starts[jseg] + j] - qcum[starts[jseg]]  # a segment's j largest new values
            future.append(np.maximum.reduceat(taken + kept, bounds))
        pc = p[cand]
        return pc + pc * future[0] + (1.0 - pc) * future[1]

    def _plain(self, unlabelled_ids, labelled, r, influence) -> np.ndarray | None:
        """Which unlabelled items are *plain*: no labelled neighbour, like every unlabelled item listing them.

        A mask over ``unlabelled_ids``. Plain items' scores depend only on how many items
        list them (:meth:`_plain_best`), so they are scored together. None when there are
        none, or too few prior-valued items remain for that shortcut.
        """
        model = self._model
        touched = model.labels_near()
        near = touched.copy()
        listed = model.graph.forward[touched & ~labelled].reshape(-1)
        near[listed[listed >= 0]] = True
        plain = ~near[unlabelled_ids]
        count = int(plain.sum())
        # Removing an item and its affected ones (all at the prior) must leave r prior-valued items.
        if count == 0 or count < r + int(influence[unlabelled_ids[plain]].max(initial=0)) + 1:
            return None
        return plain

    def _plain_best(self, plain, influence, r, prefix) -> tuple[float, float, int]:
        """The best plain item: every item at the prior, so its score is a function of its influence ``a``.

        After its label, its ``a`` affected items all move to the same value ``c`` and the
        removed prior values are replaced by other prior values, so the top-r sum is
        ``max_j (j c + prefix[r - j])``, ``j <= a``. ``plain`` is ascending, so the first item
        of each influence is the smallest id with it.
        """
        g = self._model.gamma
        sizes, first = np.unique(np.minimum(influence[plain], r), return_index=True)
        j = np.arange(int(sizes[-1]) + 1)
        rest = prefix[r - j]
        fut_pos = np.maximum.accumulate(j * ((g + 1.0) / 2.0) + rest)[sizes]
        fut_neg = np.maximum.accumulate(j * (g / 2.0) + rest)[sizes]
        scores = g + g * fut_pos + (1.0 - g) * fut_neg
        i = int(np.argmax(scores))  # the first maximum: the smallest influence with it, as ties go
        best = (float(scores[i]), g, -int(plain[first[i]]))
        for a in np.flatnonzero(scores == scores[i]).tolist():  # equal scores: the smallest id
            best = max(best, (float(scores[a]), g, -int(plain[first[a]])))
        return best
