"""Issue 34's design variants of the default search, each against the default and the anchors on the same seeds.

The issue asks for a default that finds 1.1 times what the best anchor finds, from new
information rather than another mix: a posterior that weighs models by what they
predicted, propagation along the k-NN graph, a prior chosen from evidence, and
lookahead. Each idea is built here as a sampler and run on issue 14's design subset
(classes 0, 2, 3, 4 and 6; 1 % rarity, 5 seeds, 3 paired runs, as
:mod:`search_quality` runs them, so the default's and the anchors' committed runs are
the comparison) in nine feature spaces, the two import-graph spaces included:

==============  ====================================================================================
variant         what it is
==============  ====================================================================================
prop            the default plus a fifth ranking, ``prop``: label propagation along the k-NN
                graph (:class:`Propagation`, a harmonic function with a prior node: the k-NN
                model that also counts its unlabelled neighbours' own beliefs)
prop-shared     ``prop``, and every ranking whose own page-sized list held an answered item is
                credited with its answer (not only the ranking that put it on the page)
eb              the default with its k-NN model's Beta prior fitted each round by maximum
                likelihood on the labelled items' leave-one-out counts (:class:`FittedPriorKNN`;
                the k-NN model's leave-one-out predictions are free)
nn-ranking      the default plus a fifth ranking: the unlabelled neighbours of the last page's
                positives, nearest first (NN's policy, which leads on graphs at 100 labels)
mlp             the default plus the ``mlp`` ranking (``--rankings knn,blend:0.01,blend:1,head:1,mlp``):
                the best unlabelled items of an MLP head (:class:`~elsa.head.mlp.MLPHead`, 64
                hidden units) fit each round on the answers and 100 random unlabelled items as
                negatives, as the logistic heads are fit: a model that is neither linear in the
                features nor local to the labels' neighbourhoods (the paper's head is an MLP)
mlp-replace     ``mlp`` in place of ``head:1`` (``--rankings knn,blend:0.01,blend:1,mlp``): four
                rankings, so the first pages are shared less thinly
stacked         one posterior instead of the portfolio: a logistic regression over the models'
                out-of-sample predictions (the k-NN model's and propagation's leave-one-out
                log-odds, two logistic heads' 5-fold cross-validated logits), greedy pages
knn-eb          one-step k-NN search (one item at a time) with the fitted prior, against the
                ``knn`` anchor
ens-eb          ENS (Jiang et al. 2017, one item at a time) on the fitted-prior k-NN model: the
                lookahead over calibrated probabilities (the anchor's model gives one positive
                neighbour a probability of 0.525, which makes ENS explore); budget 500 only
==============  ====================================================================================

Not every variant has run everywhere (the file of runs says where each has): the
import graph's cells of ``prop``, ``prop-shared``, ``eb``, ``nn-ranking`` and ``knn-eb``
were run on an earlier choice of its classes (its ten largest subpackages) and dropped
when the classes changed; ``stacked`` and ``ens-eb`` were run in design runs only
(issue 34's notes), not yet through this harness.

The tables give, per variant, space and budget, the variant's median-class count over
the default's and over the best anchor's (both from ``search_quality.runs.jsonl``, same
classes, same seeds), and the worst class's paired ratio to its best anchor and to NN.

    python -m benchmarks.search_variants                                  # every variant (hours on 2 cores)
    python -m benchmarks.search_variants --variants prop eb --spaces py-imports
    python -m benchmarks.search_variants --summarize

Runs are appended to ``benchmarks/results/search_variants.runs.jsonl`` (resumable);
writes ``search_variants.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from .pools import build_space
from .portfolio_check import paired_runs
from .search_quality import ANCHORS, STRATEGIES, load_runs as load_quality_runs

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = RESULTS / "search_variants.runs.jsonl"
SPACES = ("fm-encoder", "fm-pixels", "fm-spectral", "fm-spectral-scaled", "fm-wild-scales", "fm-encoder-l2",
          "text-docstrings", "py-imports", "py-imports-scaled")
CLASSES = (0, 2, 3, 4, 6)
BUDGET = 1000
BUDGETS = (100, 250, 500, 1000)
SLOW = {"ens-eb": 500}  # budget-aware and slow: run once at this budget


# --- the models ------------------------------------------------------------------------------

def logit(p):
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class Propagation:
    """Label propagation on the k-NN graph: the harmonic function of Zhu, Ghahramani and
    Lafferty (ICML 2003) with a prior node, written as the k-NN model extended::

        f(x) = (gamma + s(x) + beta * sum of f over x's unlabelled neighbours)
               / (1 + s(x) + n(x) + beta * u(x))

    with ``s``, ``n``, ``u`` the positive, negative and unlabelled items among x's ``k``
    nearest neighbours and labelled items fixed at 1 or 0. ``beta = 0`` is the k-NN model.
    Solved by Jacobi iterations (a contraction in the max norm, so the fixed point is
    unique) from the last round's solution, until no value moves by more than ``tol``.
    """

    def __init__(self, forward, gamma=0.05, beta=0.3, tol=1e-4, max_iter=30):
        import scipy.sparse as sp

        forward = np.asarray(forward)
        n, k = forward.shape
        valid = (forward >= 0).ravel()
        rows = np.repeat(np.arange(n), k)[valid]
        self.A = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, forward.ravel()[valid])), shape=(n, n))
        self.gamma, self.beta, self.tol, self.max_iter, self.eta = gamma, beta, tol, max_iter, 1.0
        self.f = np.full(n, gamma, np.float32)

    def _parts(self, answers):
        from elsa.state import NEGATIVE, POSITIVE, Proposal

        pos = (answers == POSITIVE).astype(np.float32)
        lab = (answers == POSITIVE) | (answers == NEGATIVE)
        unl = (~lab).astype(np.float32)
        A = self.A
        return A @ pos, A @ lab.astype(np.float32), A @ unl, unl

    def fit(self, answers) -> np.ndarray:
        P, L, U, unl = self._parts(answers)
        den = self.eta + L + self.beta * U
        num = self.eta * self.gamma + P
        f = self.f
        for _ in range(self.max_iter):
            new = (num + self.beta * (self.A @ (f * unl))) / den
            moved = float(np.abs(new - f).max())
            f = new
            if moved < self.tol:
                break
        self.f = f
        return f

    def held_out(self, answers) -> np.ndarray:
        """Every item's value from its neighbours alone (a labelled item's own label left
        out): one update of the fitted solution without clamping."""
        P, L, U, unl = self._parts(answers)
        return (self.eta * self.gamma + P + self.beta * (self.A @ (self.f * unl))) / (self.eta + L + self.beta * U)


def fitted_prior_model(state, k=50, gamma=0.05):
    """A k-NN model whose Beta(a, b) prior is refitted by :meth:`fit_prior`."""
    from scipy.optimize import minimize

    from elsa.head.knn import KNNModel
    from elsa.index.graph import neighbour_graph
    from elsa.state import POSITIVE

    class FittedPriorKNN(KNNModel):
        """``p = (a + s) / (a + b + s + f)``; ``(a, b)`` maximise the likelihood of the
        labelled items' answers under their leave-one-out counts (an item is not its own
        neighbour), with a weak normal prior on ``log a, log b`` around the anchor's
        ``(0.05, 0.95)``."""

        a, b = gamma, 1.0 - gamma

        def fit_prior(self, state):
            lab = np.flatnonzero(state.decided)
            y = (state.answers[lab] == POSITIVE).astype(float)
            s, f = self.positives[lab], self.negatives[lab]
            if y.sum() < 2 or (1 - y).sum() < 2:
                return
            centre = np.log([gamma, 1.0 - gamma])

            def nll(t):
                a, b = np.exp(t)
                p = np.clip((a + s) / (a + b + s + f), 1e-9, 1 - 1e-9)
                return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() + ((t - centre) ** 2).sum() / 8

            fit = minimize(nll, np.log([self.a, self.b]), method="L-BFGS-B", bounds=[(-9, 5), (-9, 7)])
            self.a, self.b = np.exp(fit.x)
            self.gamma = self.a / (self.a + self.b)

        def probabilities(self, ids=None):
            s = self.positives if ids is None else self.positives[ids]
            f = self.negatives if ids is None else self.negatives[ids]
            return (self.a + s) / (self.a + self.b + s + f)

        def probabilities_if(self, ids, positive):
            s = self.positives[ids] + (1.0 if positive else 0.0)
            f = self.negatives[ids] + (0.0 if positive else 1.0)
            return (self.a + s) / (self.a + self.b + s + f)

    return FittedPriorKNN(k, gamma).attach(neighbour_graph(state.X, k, index=state.index, progress=False))


# --- the samplers ----------------------------------------------------------------------------

def make_sampler(name: str):
    from elsa.head.logistic import LogisticHead, StackedLogits
    from elsa.samplers import ENSSampler, KNNSearchSampler, PortfolioSampler
    from elsa.samplers.base import Sampler, uniform_unlabelled
    from elsa.scores import local_top
    from elsa.state import NEGATIVE, POSITIVE

    class Extended(PortfolioSampler):
        """The default with extra rankings (each starting from the others' Beta(1, 2) record),
        optionally with the fitted prior and shared credit."""

        def __init__(self, extra=(), fitted_prior=False, shared=False):
            super().__init__()
            self.parts = self.parts + tuple(extra)
            self.fitted_prior, self.shared = fitted_prior, shared
            self._lists = {}

        @property
        def prior(self):
            pairs = [(2.0, 1.0) if part == self.lead else (1.0, 2.0) for part in self.parts]
            return np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])

        def prepare(self, state, rng):
            super().prepare(state, rng)
            if self.fitted_prior:
                self._model = fitted_prior_model(state, self.k, self.gamma)
            if "prop" in self.parts:
                self._prop = Propagation(self._model.graph.forward, self.gamma)

        def top_lists(self, state, rng):
            if self.fitted_prior:  # the prior refitted to the labels before the portfolio's lists read it
                self._model.sync(state)
                self._model.fit_prior(state)
            out = super().top_lists(state, rng)
            if "prop" in self.parts:
                out["prop"] = local_top(self._prop.fit(state.answers), self.batch_size, state.labelled)
            if "nn" in self.parts:
                out["nn"] = self._nn_list(state, out["knn"])
            self._lists = out
            return out

        def _nn_list(self, state, fallback):
            forward = self._model.graph.forward
            frontier = np.asarray(state.frontier, np.int64)
            frontier = frontier[state.answers[frontier] == POSITIVE] if frontier.size else frontier
            if frontier.size == 0:
                frontier = state.positive_ids
            lists = np.asarray(forward[frontier])
            rank = np.broadcast_to(np.arange(lists.shape[1]), lists.shape)
            ok = lists >= 0
            ok[ok] = ~state.labelled[lists[ok]]
            ids, r = lists[ok], rank[ok]
            if ids.size == 0:
                return fallback
            order = np.lexsort((ids, r))
            ids, r = ids[order], r[order]
            unique, first, counts = np.unique(ids, return_index=True, return_counts=True)
            return unique[np.lexsort((unique, -counts, r[first]))[: self.batch_size]]

        def propose(self, state, rng):
            page = super().propose(state, rng)
            if not self.shared:
                return page
            out = []
            for i, owner in zip(page.ids.tolist(), page.owners):
                own = owner.split("/", 1)[1]
                held = [part for part, lst in self._lists.items() if part != own and i in set(lst.tolist())]
                out.append(f"{self.name}/" + "+".join([own] + held))
            return Proposal(page.ids, tuple(out))

        def record(self, state):
            if not self.shared:
                return super().record(state)
            where = {part: i for i, part in enumerate(self.parts)}
            hits, misses = np.zeros(len(self.parts)), np.zeros(len(self.parts))
            for proposal in state.proposals:
                weight = self.discount ** max(state.epoch - proposal.epoch, 0)
                for i, owner in zip(proposal.ids.tolist(), proposal.owners):
                    answer = state.answers[i]
                    for part in owner.partition("/")[2].split("+"):
                        if part in where and answer == POSITIVE:
                            hits[where[part]] += weight
                        elif part in where and answer == NEGATIVE:
                            misses[where[part]] += weight
            return hits, misses

    class Stacked(Sampler):
        """Greedy pages by a logistic regression over the models' out-of-sample predictions."""

        name = "stacked"

        def __init__(self, batch_size=10, k=50, gamma=0.05, cs=(0.01, 1.0), n_random=100, folds=5):
            self.batch_size, self.k, self.gamma, self.cs, self.n_random, self.folds = \
                batch_size, k, gamma, cs, n_random, folds
            self._model = None

        def prepare(self, state, rng):
            from elsa.samplers.knn_search import knn_model

            self._model = knn_model(state, self.k, self.gamma)
            self._prop = Propagation(self._model.graph.forward, self.gamma)
            self._heads = [LogisticHead(c, balanced=False).prepare(state.X) for c in self.cs]
            self._folds = [[LogisticHead(c, balanced=False) for c in self.cs] for _ in range(self.folds)]
            for heads in self._folds:
                for h, h0 in zip(heads, self._heads):
                    h.mean_, h.scale_ = h0.mean_, h0.scale_

        def select(self, state, rng):
            from sklearn.linear_model import LogisticRegression

            from elsa._parallel import one_blas_thread

            if self._model is None:
                self.prepare(state, rng)
            if not (state.answers == POSITIVE).any():
                return uniform_unlabelled(state, rng, self.batch_size)
            self._model.sync(state)
            self._prop.fit(state.answers)
            G = np.stack([logit(self._model.probabilities()), logit(self._prop.held_out(state.answers))], 1)
            decided = np.flatnonzero(state.decided)
            pseudo = uniform_unlabelled(state, rng, self.n_random)
            ids = np.concatenate([decided, pseudo])
            y = np.concatenate([state.answers[decided] == POSITIVE, np.zeros(pseudo.size, bool)])
            if y.sum() < 2 or y.all():
                return local_top(G[:, 0], self.batch_size, state.labelled)
            seed = int(rng.integers(2**31 - 1))
            for head in self._heads:
                head.fit(state.X[ids], y, random_state=seed)
            Z = np.asarray(state.index.map(StackedLogits(self._heads)), np.float64)
            fold = rng.permutation(ids.size) % self.folds
            held = np.zeros((ids.size, len(self.cs)))
            for f in range(self.folds):
                train, test = fold != f, fold == f
                if y[train].all() or not y[train].any():
                    held[test] = Z[ids[test]]
                    continue
                for j, head in enumerate(self._folds[f]):
                    head.fit(state.X[ids[train]], y[train], random_state=seed)
                    held[test, j] = head.decision_function(state.X[ids[test]])
            with one_blas_thread():
                stack = LogisticRegression(max_iter=500).fit(np.hstack([G[ids], held]), y)
            score = np.hstack([G, Z]) @ stack.coef_[0] + stack.intercept_[0]
            return local_top(score, self.batch_size, state.labelled)

    class FittedPrior:
        """The k-NN model with the fitted prior, synced and refitted before each choice."""

        def _fitted(self, state, rng):
            if self._model is None:
                self.prepare(state, rng)
            self._model.sync(state)
            self._model.fit_prior(state)
            return self._model

    class FittedKNNSearch(FittedPrior, KNNSearchSampler):
        def prepare(self, state, rng):
            self._model = fitted_prior_model(state, self.k, self.gamma)

        def select(self, state, rng):
            return local_top(self._fitted(state, rng).probabilities(), self.batch_size, state.labelled)

    class FittedENS(FittedPrior, ENSSampler):
        def prepare(self, state, rng):
            super().prepare(state, rng)
            self._model = fitted_prior_model(state, self.k, self.gamma)

        def select(self, state, rng):
            self._fitted(state, rng)
            return super().select(state, rng)

        def _plain_best(self, plain, influence, r, prefix):
            # ENSSampler's shortcut with the fitted prior's values instead of gamma's.
            a, b = self._model.a, self._model.b
            g = a / (a + b)
            sizes, first = np.unique(np.minimum(influence[plain], r), return_index=True)
            j = np.arange(int(sizes[-1]) + 1)
            rest = prefix[r - j]
            fut_pos = np.maximum.accumulate(j * ((a + 1) / (a + b + 1)) + rest)[sizes]
            fut_neg = np.maximum.accumulate(j * (a / (a + b + 1)) + rest)[sizes]
            scores = g + g * fut_pos + (1.0 - g) * fut_neg
            best = max((float(scores[i]), g, -int(plain[first[i]])) for i in np.flatnonzero(scores == scores.max()))
            return best

    return {
        "prop": lambda: Extended(("prop",)),
        "prop-shared": lambda: Extended(("prop",), shared=True),
        "eb": lambda: Extended(fitted_prior=True),
        "nn-ranking": lambda: Extended(("nn",)),
        "mlp": lambda: PortfolioSampler(rankings="knn,blend:0.01,blend:1,head:1,mlp"),
        "mlp-replace": lambda: PortfolioSampler(**STRATEGIES["portfolio-mlp"][1]),
        "stacked": lambda: Stacked(),
        "knn-eb": lambda: FittedKNNSearch(batch_size=1),
        "ens-eb": lambda: FittedENS(batch_size=1),
    }[name]()


VARIANTS = ("prop", "prop-shared", "eb", "nn-ranking", "mlp", "mlp-replace", "stacked", "knn-eb", "ens-eb")
AGAINST = {"knn-eb": "knn", "ens-eb": "ens"}  # compared with this anchor as well as the default


# --- running ---------------------------------------------------------------------------------

def run_cell(cell: dict) -> list[dict]:
    from elsa.oracle import SimulatedOracle
    from elsa.search import ActiveSearch

    rows = []
    for r, Xc, truth, seeds, search_rng in paired_runs(cell):
        t0 = time.perf_counter()
        result = ActiveSearch(explore=make_sampler(cell["variant"]), epochs=None, budget=cell["budget"]).run(
            Xc, seeds, SimulatedOracle(truth), random_state=search_rng, progress=False)
        hits = np.cumsum(truth[result.queried_ids])
        rows.append({"space": cell["space"], "cls": cell["cls"], "variant": cell["variant"], "run": r,
                     "budget": cell["budget"], "seed_ids": [int(i) for i in seeds],
                     "found_at": {str(b): int(hits[b - 1]) for b in BUDGETS if b <= hits.size},
                     "seconds": time.perf_counter() - t0})
    print(f"{cell['variant']} {cell['space']} class {cell['cls']}: "
          f"{[row['found_at'].get(str(cell['budget'])) for row in rows]}", flush=True)
    return rows


def _worker_init():
    os.environ["ELSA_THREADS"] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def run(args) -> None:
    done = {(r["space"], r["cls"], r["variant"]) for r in load_runs()}
    todo = [dict(space=s, cls=c, variant=v, budget=SLOW.get(v, BUDGET), runs=3)
            for v in args.variants for s in args.spaces for c in args.classes if (s, c, v) not in done]
    for space in args.spaces:
        build_space(space)
    print(f"{len(todo)} cells to run", flush=True)
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_worker_init) as pool:
        for f in as_completed([pool.submit(run_cell, c) for c in todo]):
            with RUNS.open("a") as fh:
                for row in f.result():
                    fh.write(json.dumps(row) + "\n")


def load_runs() -> list[dict]:
    return [json.loads(line) for line in RUNS.read_text().splitlines()] if RUNS.exists() else []


# --- the tables ------------------------------------------------------------------------------

def _table(rows, budget, **match) -> dict[int, dict[int, int]]:
    out: dict[int, dict[int, int]] = {}
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()) and str(budget) in r["found_at"]:
            if r.get("strategy") == "ens" and r["budget"] != budget:
                continue
            out.setdefault(r["cls"], {})[r["run"]] = r["found_at"][str(budget)]
    return out


def _median(table, classes) -> float:
    return float(np.median([np.median(list(table[c].values())) for c in classes]))


def _paired(mine, theirs, c) -> float:
    runs = [i for i in mine[c] if i in theirs.get(c, {})]
    if not runs:
        return float("nan")
    return float(np.median([mine[c][i] for i in runs]) / max(np.median([theirs[c][i] for i in runs]), 1e-9))


def summarize() -> str:
    rows, quality = load_runs(), [r for r in load_quality_runs() if r["rarity"] == 0.01 and r["n_seeds"] == 5]
    lines = ["# Issue 34's design variants against the default and the anchors", "",
             "Generated by `python -m benchmarks.search_variants` from `search_variants.runs.jsonl`: each variant on "
             "the same classes and seeds as the default's and the anchors' runs in `search_quality.runs.jsonl` (1 % "
             "rarity, 5 seeds, 3 runs). Per space and budget: the variant's median-class count; its ratio to the "
             "default's and to the best anchor's median class (of " + ", ".join(ANCHORS) + ", where each ran on these "
             "classes); the worst class's paired ratio to its own best anchor and to NN; and, for knn-eb and ens-eb, "
             "the ratio to the anchor they modify.", ""]
    for variant in VARIANTS:
        mine_rows = [r for r in rows if r["variant"] == variant]
        if not mine_rows:
            continue
        lines += [f"## {variant}", "", "| space | labels | found | / default | / best anchor | worst / its anchor | "
                  "worst / nn | / " + AGAINST.get(variant, "-") + " |", "|---|---|---|---|---|---|---|---|"]
        for space in SPACES:
            for b in BUDGETS:
                mine = _table(mine_rows, b, space=space)
                if not mine:
                    continue
                classes = sorted(mine)
                ref = {s: _table(quality, b, space=space, strategy=s) for s in ("default", "nn", *ANCHORS)}
                anchors = {a: t for a, t in ref.items() if a in ANCHORS and all(c in t for c in classes)}
                if "default" not in ref or not all(c in ref["default"] for c in classes) or not anchors:
                    continue
                m = _median(mine, classes)
                best = max(anchors, key=lambda a: _median(anchors[a], classes))
                worst_anchor = min((_paired(mine, anchors[max(anchors, key=lambda a: np.median(
                    list(anchors[a][c].values())))], c), c) for c in classes)
                worst_nn = min((_paired(mine, ref["nn"], c), c) for c in classes) if all(
                    c in ref["nn"] for c in classes) else (float("nan"), "-")
                versus = AGAINST.get(variant)
                vs = f"{m / max(_median(ref[versus], classes), 1e-9):.2f}" if versus and all(
                    c in ref[versus] for c in classes) else "-"
                lines.append(f"| {space} | {b} | {m:.0f} | {m / max(_median(ref['default'], classes), 1e-9):.2f} | "
                             f"{m / max(_median(anchors[best], classes), 1e-9):.2f} ({best}) | "
                             f"{worst_anchor[0]:.2f} (class {worst_anchor[1]}) | {worst_nn[0]:.2f} (class "
                             f"{worst_nn[1]}) | {vs} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--spaces", nargs="+", default=list(SPACES), choices=SPACES)
    parser.add_argument("--classes", type=int, nargs="+", default=list(CLASSES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args()
    if not args.summarize:
        run(args)
    text = summarize()
    (RESULTS / "search_variants.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
