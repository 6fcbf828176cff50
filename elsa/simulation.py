"""Simulated searches: ground-truth labels stand in for the person labelling.

This is what ``elsa simulate`` and the benchmarks run: :func:`simulate` takes the run's
:class:`~elsa.plan.SearchPlan` (what the search does) and a :class:`Trial` (how the runs
are drawn: repeats, noise, what is reported). Randomness:
:func:`elsa.search.run_streams` splits the plan's ``random_state`` into one set of streams
per repeat (the seed draw, the search, the oracle's noise, the audit), so every repeat is
reproducible on its own, adding repeats does not change earlier ones, and a labelling
session with the same random state follows repeat 0's search stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from ._validation import as_generator, check_class_labels, check_embeddings, check_float, check_ids, check_int
from .exceptions import ParameterError
from .metrics import discovery_rate, labelling_efficiency, quartiles
from .oracle import NoisyOracle, PanelOracle, SimulatedOracle
from .plan import SearchPlan
from .search import run_streams
from .search.result import REPEATS, Round
from .search.registry import check_pool_kind
from .state import SearchState


def draw_seeds(truth: np.ndarray, n_seeds: int, random_state=None) -> np.ndarray:
    """``n_seeds`` distinct positives drawn uniformly, sorted."""
    positives = np.flatnonzero(truth)
    if n_seeds > positives.size:
        raise ParameterError(f"asked for {n_seeds} seeds but the target class has only {positives.size} member(s)")
    return np.sort(as_generator(random_state).choice(positives, n_seeds, replace=False))


def make_rare(labels: np.ndarray, target: int, fraction: float, random_state=None) -> np.ndarray:
    """Row ids of a pool where class ``target`` is thinned to ``fraction`` of the pool.

    All other rows are kept; a random subset of the target class is kept so that it makes
    up ``fraction`` of the result (at least one item). Returned sorted.
    """
    fraction = check_float(fraction, "fraction", minimum=0.0, maximum=1.0, exclusive_minimum=True,
                           exclusive_maximum=True)
    pos = np.flatnonzero(labels == target)
    neg = np.flatnonzero(labels != target)
    if pos.size == 0:
        raise ParameterError(f"class {target} has no members")
    n_keep = max(1, min(pos.size, round(fraction * neg.size / (1.0 - fraction))))
    kept = as_generator(random_state).choice(pos, n_keep, replace=False)
    return np.sort(np.concatenate([neg, kept]))


@dataclass(frozen=True)
class Trial:
    """How the simulated runs are drawn and reported, apart from the search itself (the plan).

    ``repeats``: independent runs. ``noise``: each answer flipped with this probability
    (a second look is answered afresh, an independent flip). ``found_at``: smaller budgets
    at which to also report the positives found: the true positives among the first ``B``
    queries, in the order the oracle was asked (a run with budget ``B`` makes the same
    choices up to its last call, which it cuts to fit, so the count equals that run's
    ``found`` while the loop is still in its epochs). ``level``: the estimates' interval
    level; ``trace``: estimates after every oracle call, not only at the end.
    ``labellers``: several simulated labellers instead of one, each wrong with their own
    probability (:class:`~elsa.oracle.PanelOracle`; ``noise`` must then be 0), and
    ``double_share``: the share of the items asked that also goes to a second labeller.
    The second answers are labels (they count against the budget); where two answers
    disagree the search weighs them by each labeller's estimated reliability
    (:mod:`elsa.search.reliability`), unless ``resolver_rate`` is set: then a resolver
    settles each disagreement with a third answer, wrong with that probability, which
    stands (a label too). ``index_recall``: also measure a faiss backend's recall@50 against the exact search on
    200 pool rows. ``progress``: bars for long one-off work (the pool's k-NN graph).
    """

    repeats: int = 1
    noise: float = 0.0
    labellers: tuple[float, ...] = ()
    double_share: float = 0.0
    resolver_rate: float | None = None
    found_at: tuple[int, ...] = ()
    level: float = 0.9
    trace: bool = False
    index_recall: bool = False
    progress: bool = True

    def __post_init__(self):
        put = object.__setattr__
        put(self, "repeats", check_int(self.repeats, "repeats", minimum=1))
        put(self, "noise", check_float(self.noise, "noise", minimum=0.0, maximum=1.0))
        put(self, "labellers", tuple(check_float(r, "a labeller's flip rate", minimum=0.0, maximum=0.5)
                                     for r in self.labellers))
        put(self, "double_share", check_float(self.double_share, "double share", minimum=0.0, maximum=1.0))
        if self.labellers and self.noise:
            raise ParameterError("give the noise (--noise: one labeller) or the labellers' flip rates (--labellers), "
                                 "not both")
        if self.resolver_rate is not None:
            put(self, "resolver_rate", check_float(self.resolver_rate, "resolver rate", minimum=0.0, maximum=0.5))
            if not self.double_share:
                raise ParameterError("a resolver (--resolver-rate) settles the disagreements of a double share "
                                     "(--double-share)")
        if self.double_share and not self.labellers:
            raise ParameterError("a double share (--double-share) needs the labellers' flip rates (--labellers: "
                                 "two or more labellers, or one asked twice)")
        put(self, "level", check_float(self.level, "level", minimum=0.0, maximum=1.0, exclusive_minimum=True,
                                       exclusive_maximum=True))
        put(self, "found_at", tuple(check_int(b, "found_at", minimum=0) for b in self.found_at))


def simulate(X, labels, target: int, plan: SearchPlan | None = None, *, seeds=5, trial: Trial | None = None,
             examples=None, on_round: Callable[[int, Round, SearchState, dict], None] | None = None) -> dict:
    """Run ``trial.repeats`` simulated searches for class ``target`` as ``plan`` says, and summarise them.

    ``seeds``: a number of positives drawn at random for each run (the run's seed stream),
    or the row ids of the seeds every run starts from. ``plan``: :class:`~elsa.plan.SearchPlan`
    (default: the default search); ``trial``: :class:`Trial` (one noise-free run).
    ``examples``: positive rows in ``X``'s feature space that are not pool items, such as
    a description of the target featurised as a record (:func:`elsa.text.describe.describe`):
    the heads train on them from the first page (:attr:`elsa.state.SearchState.examples`).
    ``on_round(run, round, state, status)`` is called after every oracle call.

    Stopping (:mod:`elsa.stopping`, the plan's ``stop``):

    * ``audit:R@C`` (:mod:`elsa.stopping.audited`): the search hands over when it no
      longer pays, then the items it left unlabelled are audited in a random order (the
      run's audit stream) until recall R is certified at C; the run reports the
      ``certificate`` and counts the audit's labels in ``audit_labels`` and ``labels_total``.
    * ``recall:R@C`` (:mod:`elsa.stopping.sample_wait`): the search hands over when it no
      longer pays, a random sample of the items it left is labelled (the run's audit
      stream; hidden from the search), and if it holds positives the search has not found,
      the search and a longer sample race until recall R is certified at C; the sample's
      labels count in ``sample_labels`` and ``labels_total``.
    * ``estimate:R``: stop when the search's own model puts recall at R (no certificate).
    * ``qbcb:R@C`` (QBCB) draws an audit sample before the search, hidden from it, until it
      holds the plan's ``audit_positives`` positives.
    * the plan's ``audit_share``: after every oracle call, also label this share of its size of
      uniformly random audit items (hidden from the search) for the audit estimate.
    * Every run reports the search's true recall and, at its end, the Quant estimate
      (when the strategy has a head) and the audit estimate (when there is an audit),
      with intervals at ``trial.level``; ``trial.trace`` adds them after every oracle call.

    Second looks (the plan's ``second_looks``; experimental, issue 25): re-asks are labels:
    ``queries`` counts them, ``rechecks`` says how many there were, and with noise the run
    reports ``flips_rechecked`` (the share of wrong first answers asked again) and
    ``rechecks_flipped`` (the share of re-asks whose first answer was wrong).

    Randomness: :func:`elsa.search.run_streams` splits the plan's random state into one set
    of streams per repeat (seeds, search, noise, audit), so every repeat is reproducible on
    its own and a labelling session with the same random state follows repeat 0's search.

    Returns the JSON document ``elsa simulate`` writes:
    ``{"strategy", "plan", "params", "runs": [...], "summary": {...}}``.
    """
    plan = SearchPlan() if plan is None else plan
    trial = Trial() if trial is None else trial
    if not isinstance(plan, SearchPlan) or not isinstance(trial, Trial):
        raise ParameterError(f"plan must be a SearchPlan and trial a Trial, got {type(plan).__name__} and "
                             f"{type(trial).__name__}")
    X = check_embeddings(X)
    check_pool_kind(plan.strategy, X)
    labels = check_class_labels(labels, X.shape[0])
    truth = labels == target
    if not truth.any():
        present = ", ".join(str(c) for c in np.unique(labels)[:20])
        raise ParameterError(f"target class {target} has no members in the labels (classes present: {present})")
    seed_ids, n_seeds = _check_seeds(seeds, truth, target)
    plan.needs_runs_end()
    search = plan.build()
    backend = plan.make_index(X)
    measured_recall = None
    if trial.index_recall and hasattr(backend, "recall_against_exact"):
        measured_recall = backend.recall_against_exact(random_state=plan.random_state)
    runs = []
    for r, streams in enumerate(run_streams(plan.random_state, trial.repeats)):
        run_seeds = seed_ids if seed_ids is not None else draw_seeds(truth, n_seeds, streams.seeds)
        runs.append(_one_run(X, truth, run_seeds, plan, trial, search, backend, streams, examples,
                             None if on_round is None else partial(on_round, r)))
    summary = {key: quartiles(run[key] for run in runs)
               for key in ("found", "queries", "discovery_rate", "labelling_efficiency", "seconds")}
    params = {
        **plan.params, "epochs": plan.epochs, "budget": plan.budget, "stop": None if plan.stop is None else str(plan.stop),
        "audit_positives": plan.audit_positives, "audit_share": plan.round_share(False), "target": int(target),
        "n_seeds": n_seeds, "seed_ids": None if seed_ids is None else [int(i) for i in seed_ids],
        "examples": 0 if examples is None else int(examples.shape[0]), "repeats": trial.repeats, "noise": trial.noise,
        "labellers": list(trial.labellers) or None, "double_share": trial.double_share,
        "resolver_rate": trial.resolver_rate,
        "second_looks": search.second_looks.get_params() if search.second_looks is not None else None,
        "weigh_answers": search.labeller.get_params() if search.labeller is not None else None,
        "random_state": plan.random_state, "pool_size": int(X.shape[0]), "index": backend.name,
        "index_recall": measured_recall, "dim": int(X.shape[1]),
    }
    return {"strategy": plan.strategy, "plan": plan.to_dict(), "params": params, "runs": runs, "summary": summary}


def _check_seeds(seeds, truth: np.ndarray, target) -> tuple[np.ndarray | None, int | None]:
    """``(seed ids, None)`` for given rows, ``(None, n)`` for ``n`` seeds to draw."""
    total = int(truth.sum())
    if np.ndim(seeds) == 0:
        n_seeds = check_int(seeds, "seeds", minimum=0)
        if n_seeds > total:
            raise ParameterError(f"asked for {n_seeds} seeds but class {target} has only {total} member(s)")
        return None, n_seeds
    seed_ids = check_ids(seeds, truth.size, "seed_ids")
    not_positive = seed_ids[~truth[seed_ids]]
    if not_positive.size:
        raise ParameterError(f"seed ids {not_positive[:10].tolist()} are not members of class {target}")
    return seed_ids, None


def _one_run(X, truth, seeds, plan, trial, search, backend, streams, examples, on_round) -> dict:
    """One repeat: its oracle, audit and rule from its own streams, the search, and its report."""
    from .stopping import AuditSample, SampleWaitStop, make_rule

    n_targets = plan.audit_positives
    share = plan.round_share(False)
    if trial.labellers:
        oracle = PanelOracle(truth, trial.labellers, trial.double_share, streams.noise, trial.resolver_rate)
    else:
        oracle = NoisyOracle(truth, trial.noise, streams.noise) if trial.noise > 0 else SimulatedOracle(truth)
    audit = AuditSample(X.shape[0], streams.audit) if (n_targets or share > 0) else None
    spec = plan.stop
    if n_targets:  # qbcb: the target set before the search
        audit.extend_until(n_targets, oracle)
    if spec is not None and "sample" in spec.phases:
        rule = SampleWaitStop(spec.target, spec.confidence, oracle.label, streams.audit)
    else:
        rule = make_rule(spec, audit, min(n_targets, audit.positive_ids.size) if n_targets else None,
                         left=search.positives_left)
    monitor = _Monitor(truth, audit, share, oracle, trial.level, trial.trace, search, rule)
    last = {}

    def callback(rnd, st):
        last["state"] = st
        monitor(rnd, st)
        if on_round is not None:
            on_round(rnd, st, monitor.status(st))

    t0 = time.perf_counter()
    result = search.run(X, seeds, oracle, random_state=streams.search, index=backend, callback=callback, stop=rule,
                        progress=trial.progress, examples=examples)
    seconds = time.perf_counter() - t0
    final_audit = None
    if spec is not None and "audit" in spec.phases:
        final_audit = _final_audit(spec, monitor, oracle, streams.audit, trial.progress)
        result.stop_reason = final_audit["reason"]
    report = _run_report(result, truth, seeds, seconds, monitor, final_audit, trial)
    if search.labeller is not None:  # the labeller model's estimate at the run's end
        report["flip_rate_estimate"] = round(search.labeller.eps, 4)
    if trial.labellers:
        report.update(_panel_report(last.get("state"), result, truth))
    return report


def _panel_report(state, result, truth) -> dict:
    """What several labellers did: second answers, disputes, and each one's estimated flip rate."""
    from .search.reliability import flip_rates

    doubles = sum(r.ids.size for r in result.rounds if r.kind == "double")
    resolutions = sum(r.ids.size for r in result.rounds if r.kind == "resolve")
    votes = None if state is None else state.votes
    out = {"double_labels": int(doubles), "resolutions": int(resolutions), "disputes": 0, "disputes_first_wrong": 0,
           "flip_rate_estimates": None}
    if votes is not None and len(votes):
        eps = flip_rates(votes, state.answers)
        disputed = votes.said[:, 0] != votes.said[:, 1]  # resolved or not
        out["disputes"] = int(disputed.sum())
        out["disputes_first_wrong"] = int((votes.said[disputed, 0] != truth[votes.items[disputed]]).sum())
        out["flip_rate_estimates"] = [round(float(e), 4) for e in eps]
    return out


def _run_report(result, truth, seeds, seconds, monitor, final_audit, trial) -> dict:
    """What a run reports: its finds, curve, phases, estimates and certificate."""
    queried = result.queried_ids
    found, total = int(truth[queried].sum()), int(truth.sum())
    run = {
        "seed_ids": [int(i) for i in seeds],
        "n_seeds": int(seeds.size),
        "queries": result.queries,
        "rechecks": result.rechecks,
        "found": found,
        "total_positives": total,
        "discovery_rate": discovery_rate(found, total, int(seeds.size)),
        "labelling_efficiency": labelling_efficiency(found, result.queries),
        "curve": [list(p) for p in result.curve(truth)],
        "seconds": seconds,
        "epochs_run": sum(1 for rnd in result.rounds if rnd.kind == "epoch"),
        "stop_reason": result.stop_reason,
        "phase_seconds": _totals(result.rounds, "seconds"),
        "sources": _totals(result.rounds, "sources"),
    }
    # True positives in the order labels were spent (a second look or a second labeller finds nothing new).
    new_hits = np.concatenate([truth[r.ids] & (r.kind not in REPEATS) for r in result.rounds] or [np.zeros(0, bool)])
    first = np.flatnonzero(new_hits)
    run["first_positive_at"] = int(first[0]) + 1 if first.size else None
    if trial.found_at:
        hits = np.cumsum(new_hits)
        run["found_at"] = {str(b): int(hits[min(b, hits.size) - 1]) if hits.size and b > 0 else 0
                           for b in trial.found_at}
    run.update(monitor.report(result))
    if final_audit is not None:
        run["certificate"] = final_audit["certificate"]
        run["audit_labels"] += int(final_audit["ids"].size)
        run["labels_total"] += int(final_audit["ids"].size)  # the final audit labels only unlabelled items
        run["found_with_audit"] = found + int(truth[final_audit["ids"]].sum())
    run.update(monitor.certificate(queried, found))
    if trial.noise > 0 or trial.labellers:
        run["found_reported"] = int(result.answers.sum())
        run["false_positives"] = int((result.answers & ~truth[queried]).sum())
        run["false_negatives"] = int((~result.answers & truth[queried]).sum())
        run.update(_recheck_report(result, truth))
    return run


def _final_audit(spec, monitor, oracle, rng, progress) -> dict:
    """The audit phase of ``audit:R@C``: the items nobody has labelled, in a random order."""
    from .stopping.audited import Audit
    from .stopping.base import certified_reason

    state = monitor.state
    labelled = state.answers != 0
    found = int((state.answers == 1).sum())
    if monitor.audit is not None and monitor.audit.size:  # the estimate's random checks are labels too
        labelled[monitor.audit.ids] = True
        found += int(np.count_nonzero(monitor.audit.labels & (state.answers[monitor.audit.ids] != 1)))
    unlabelled = np.flatnonzero(~labelled)
    audit = Audit(unlabelled.size, found, spec.target, spec.confidence)
    out = audit.run(rng.permutation(unlabelled), oracle, progress=progress)
    certificate = {k: v for k, v in out.items() if k not in ("ids", "answers")}
    if certificate["certified"]:
        reason = certified_reason(spec.target, spec.confidence)
    else:
        reason = f"every item labelled; recall {spec.target:g} not certified"
    return {"certificate": certificate, "ids": out["ids"], "reason": reason}


class _Monitor:
    """Grows the estimate's audit after every oracle call and records the run's estimates."""

    def __init__(self, truth, audit, share, oracle, level, trace, search=None, rule=None):
        self.truth, self.audit, self.share, self.oracle = truth, audit, share, oracle
        self.search, self.rule = search, rule
        self.level, self.trace = level, trace
        self.total = int(truth.sum())
        self.points: list[dict] = []
        self.state = None

    def estimates(self, state) -> dict:
        from .stopping import audit_estimate, model_estimate, quant_from_state

        found = int((state.answers == 1).sum())
        out = {}
        quant = quant_from_state(state, level=self.level)
        if quant is not None:
            out["quant"] = quant.as_dict()
        if self.audit is not None and self.audit.size:
            out["audit"] = audit_estimate(self.audit.ids, self.audit.labels, state.labelled, found,
                                          level=self.level).as_dict()
        model = None if self.search is None else model_estimate(self.search.positives_left(), found)
        if model is not None:
            out["model"] = model.as_dict()
        return out

    def certificate(self, queried: np.ndarray, found: int) -> dict:
        """A certified stop's part of the run's report: ``certificate``, and for
        ``recall:R@C`` the sample's labels (the distinct items it adds to ``labels_total``)."""
        from .stopping import CertifiedStop, SampleWaitStop

        rule, answers = self.rule, self.state.answers
        if isinstance(rule, CertifiedStop):
            return {"certificate": {"target": rule.target, "confidence": rule.confidence, "n": rule.n, "j": rule.j,
                                    "found_targets": rule.found_targets(answers)}}
        if not isinstance(rule, SampleWaitStop):
            return {}
        sampled = np.setdiff1d(rule.sample_ids, queried)
        added = np.setdiff1d(sampled, self.audit.ids) if self.audit is not None else sampled
        return {"certificate": rule.certificate(answers), "sample_labels": int(rule.sample_ids.size),
                "labels_total": self.labels_total + int(added.size),
                "found_with_sample": found + int(self.truth[sampled].sum())}

    def status(self, state) -> dict:
        """What a user sees after every page: the model's recall estimate (``estimate``,
        None before it has one) and where the certificate stands (``certificate``: the
        labels a hand-over now would need, or the certificate's own line)."""
        from .stopping import Audit, CertifiedStop, SampleCertificate, SampleWaitStop, model_estimate

        found = int((state.answers == 1).sum())
        model = None if self.search is None else model_estimate(self.search.positives_left(), found)
        rule, text = self.rule, None
        unlabelled = int((~state.labelled).sum())
        if isinstance(rule, SampleWaitStop):
            if rule.wait is None:
                first = SampleCertificate(unlabelled, found, rule.target, rule.confidence).first
                text = None if first is None else f"a sample of {first:,} now"
            else:
                text = rule.certificate(state.answers)["describe"]
        elif isinstance(rule, CertifiedStop):
            c = rule.certificate(state.answers)
            text = f"{c['found']}/{c['j']} of the audit's positives found"
        elif rule is not None and rule.name == "hand-over":
            m0 = Audit(unlabelled, found, rule.target, rule.confidence).labels_needed(0)
            text = None if m0 is None else f"an audit of {m0:,} now"
        return {"estimate": None if model is None else model.recall, "certificate": text}

    def __call__(self, rnd, state) -> None:
        self.state = state
        if self.audit is not None and self.share > 0:
            self.audit.extend(int(np.ceil(self.share * rnd.ids.size)), self.oracle)
        if self.trace:
            known = int(self.truth[state.answers == 1].sum())
            self.points.append({"queries": int(state.queries), "recall": known / self.total,
                                **self.estimates(state)})

    def report(self, result) -> dict:
        out: dict = {"audit_labels": 0 if self.audit is None else self.audit.size}
        queried = result.queried_ids
        labelled = set(queried.tolist()) | (set(self.audit.ids.tolist()) if self.audit is not None else set())
        out["labels_total"] = self.labels_total = len(labelled)  # distinct items labelled: the search's and the audit's
        if self.state is not None:
            out["estimate"] = self.estimates(self.state)
        if self.trace:
            out["trace"] = self.points
        return out


def _recheck_report(result, truth: np.ndarray) -> dict:
    """How well second looks aimed: the share of wrong first answers that were asked again,
    and the share of re-asks whose first answer was wrong (None where nothing to share)."""
    ids = result.queried_ids
    wrong = ids[result.first_answers != truth[ids]]
    again = np.unique(np.concatenate([r.ids for r in result.rounds if r.kind == "check"] or [np.zeros(0, np.int64)]))
    hit = np.intersect1d(wrong, again).size
    return {"wrong_first_answers": int(wrong.size),
            "flips_rechecked": round(hit / wrong.size, 4) if wrong.size else None,
            "rechecks_flipped": round(hit / again.size, 4) if again.size else None}


def _totals(rounds, field: str) -> dict:
    """A per-round dict summed over a run's oracle calls: ``sources`` (items each sampler, or
    part of one such as ``portfolio/knn``, proposed) or ``seconds`` (wall time of each phase)."""
    totals: dict = {}
    for rnd in rounds:
        for key, value in getattr(rnd, field).items():
            totals[key] = totals.get(key, 0) + value
    return totals
