"""The search plan: everything that decides what a run does, checked once.

A :class:`SearchPlan` is made from the command line (:func:`elsa.cli_parser.plan_from_args`)
or from Python (``SearchPlan("cal", budget=500)``) and is then read, never parsed again,
by :func:`elsa.simulation.simulate` and :meth:`elsa.session.Session.create`.
``to_dict``/``from_dict`` give its JSON form, kept in a session file and in the results
``elsa simulate`` writes; ``from_dict`` also reads the flat settings of session files
written before the plan existed.

What a plan holds: the strategy and its own parameters (every one, defaults filled in;
in the JSON form grouped by component, ``{"knn": {"k": 50}, "pages": {...}}``, so the
k-NN model's ``k`` and SEALS's ``k`` are different names); the label budget; the epochs
(None: no limit); the stopping rule (one :class:`~elsa.stopping.rules.StopSpec` subclass
per kind, which knows its budget cap and the random checks it needs); the random checks'
share and QBCB's target set; the index backend and its options; second looks; and the
random state.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType

from ._validation import check_choice, check_float, check_int
from .exceptions import ParameterError
from .index import BACKENDS
from .search import DEFAULT_STRATEGY, STRATEGIES, make_strategy, strategy_params
from .search.registry import EPOCHS_STORED_AS_NO_LIMIT, default_epochs, param_component, spec_of
from .stopping import StopSpec, parse_stop

AUTO = "auto"
RAY_OPTIONS = ("shards", "shard_backend", "cpus_per_shard")


@dataclass(frozen=True)
class SearchPlan:
    """One run's settings, checked when made (a :class:`~elsa.exceptions.ParameterError`
    names the bad value).

    ``params``: the strategy's parameters by their names (``{"k": 20}``) or by component
    (``{"knn.k": 20}`` or ``{"knn": {"k": 20}}``); held with every default filled in.
    ``epochs``: a number, None (no limit) or ``"auto"``: no limit with a stopping rule,
    else the strategy's own (10 for the paper's, no limit for the round-based ones).
    ``stop``: ``budget:N``, ``recall:R@C``, ``estimate:R``, ``audit:R@C``, ``qbcb:R@C`` or
    ``knee`` (:func:`elsa.stopping.parse_stop`); a budget rule caps ``budget``.
    ``audit_share``: random checks added to each oracle call, as a share of its size (None:
    the rule's default, :meth:`round_share`: 0.1 for ``qbcb:R@C`` in a session, else 0). ``audit_positives``:
    QBCB's target set (None: the fewest that can certify). ``index``, ``index_options``:
    the backend (:func:`elsa.index.make_index`; options for ``ray`` only).
    ``second_looks``: ask again about the answers the held-out k-NN model most doubts.
    ``weigh_answers``: the models read each answer as far as a model of the labeller
    believes it (:mod:`elsa.search.labeller`; experimental, issue 40).
    """

    strategy: str = DEFAULT_STRATEGY
    params: dict = field(default_factory=dict)
    budget: int | None = None
    epochs: int | str | None = AUTO
    stop: StopSpec | str | None = None
    audit_share: float | None = None
    audit_positives: int | None = None
    index: str = "auto"
    index_options: dict = field(default_factory=dict)
    second_looks: bool = False
    weigh_answers: bool = False
    random_state: int = 0

    def __post_init__(self):
        put = object.__setattr__
        strategy = check_choice(self.strategy, "strategy", STRATEGIES)
        put(self, "strategy", strategy)
        put(self, "params", MappingProxyType(strategy_params(strategy, **_flat_params(strategy, self.params))))
        stop = self.stop
        if isinstance(stop, str):
            stop = parse_stop(stop)
        elif stop is not None and not isinstance(stop, StopSpec):
            raise ParameterError(f"stop must be a rule such as 'recall:0.9@0.95', got {stop!r}")
        put(self, "stop", stop)
        budget = None if self.budget is None else check_int(self.budget, "budget", minimum=1)
        put(self, "budget", budget if stop is None else stop.cap(budget))
        put(self, "epochs", self._epochs(self.epochs))
        share, positives = (stop or StopSpec()).check_audit(self.audit_share, self.audit_positives)
        put(self, "audit_share", share)
        put(self, "audit_positives", positives)
        put(self, "index", check_choice(self.index, "index backend", BACKENDS))
        put(self, "index_options", MappingProxyType(_index_options(self.index, self.index_options)))
        put(self, "second_looks", bool(self.second_looks))
        put(self, "weigh_answers", bool(self.weigh_answers))
        put(self, "random_state", check_int(self.random_state, "random_state", minimum=0))
        search = self.build()  # every parameter checked by the part that reads it (portfolio's rankings, ...)
        if stop is not None and stop.needs_estimate and not search.estimates_recall():
            raise ParameterError(f"--stop {stop} reads the search's own probabilities, which strategy {strategy} "
                                 "does not have; use the default strategy (portfolio) or a certified stop "
                                 "(recall:R@C)")

    def _epochs(self, epochs) -> int | None:
        if isinstance(epochs, str) and epochs == AUTO:
            return None if self.stop is not None else default_epochs(self.strategy)
        if epochs is None:
            return None
        return check_int(epochs, "epochs", minimum=0)

    # --- what the drivers read -------------------------------------------------------

    def build(self, *, epochs: int | None | str = AUTO, budget: int | None | str = AUTO):
        """The search loop (:func:`elsa.search.make_strategy`); a session passes the epochs and
        budget it holds now (they can change while it runs)."""
        return make_strategy(self.strategy, epochs=self.epochs if epochs == AUTO else epochs,
                             budget=self.budget if budget == AUTO else budget, second_looks=self.second_looks,
                             weigh_answers=self.weigh_answers,
                             **self.params)

    def make_index(self, X):
        from .index import make_index

        return make_index(X, self.index, random_state=self.random_state, **self.index_options)

    def round_share(self, session: bool) -> float:
        """The random checks added to each oracle call (a share of its size) in a session or
        in ``elsa simulate`` (where QBCB's target set is drawn before the search instead)."""
        return (self.stop or StopSpec()).round_share(self.audit_share, session)

    def needs_runs_end(self) -> None:
        """Raise unless something ends the run: epochs, a budget or a stopping rule."""
        if self.epochs is None and self.budget is None and self.stop is None:
            raise ParameterError(f"strategy {self.strategy} runs until its label budget: give a budget (--budget N), "
                                 "a stopping rule (--stop) or a number of epochs (--epochs)")

    def param(self, name: str):
        """A parameter by its component name (``knn.k``) or its own (``k``)."""
        flat = _flat_params(self.strategy, {name: None}) if "." in name else {name: None}
        (key,) = flat
        if key not in self.params:
            raise ParameterError(f"strategy {self.strategy} has no parameter {name!r}")
        return self.params[key]

    # --- JSON ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The plan as JSON: parameters grouped by component, the rule as its text."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        grouped: dict = {}
        for name, value in self.params.items():
            grouped.setdefault(param_component(self.strategy, name), {})[name] = value
        out.update(params=grouped, index_options=dict(self.index_options),
                   stop=None if self.stop is None else str(self.stop))
        return out

    @classmethod
    def from_dict(cls, doc: dict) -> "SearchPlan":
        """A plan from :meth:`to_dict`'s form, or from a session file's flat settings (before
        format 6: flat parameters, no limit stored as 10**9 epochs)."""
        names = {f.name for f in fields(cls)}
        given = {k: v for k, v in doc.items() if k in names}
        epochs = given.get("epochs", AUTO)
        if isinstance(epochs, int) and epochs >= EPOCHS_STORED_AS_NO_LIMIT:
            given["epochs"] = None
        given["index_options"] = dict(given.get("index_options") or {})
        return cls(**given)

    def replace(self, **changes) -> "SearchPlan":
        """A copy with ``changes`` (checked as a new plan)."""
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc.update(params=dict(self.params), index_options=dict(self.index_options))
        return SearchPlan(**(doc | changes))


def _flat_params(strategy: str, params) -> dict:
    """``{"k": 5}``, ``{"knn.k": 5}`` or ``{"knn": {"k": 5}}`` as ``{"k": 5}``, checking each
    component name against the strategy's."""
    out = {}
    for key, value in dict(params or {}).items():
        if isinstance(value, dict):
            pairs = [(key, name, v) for name, v in value.items()]
        elif "." in key:
            component, name = key.split(".", 1)
            pairs = [(component, name, value)]
        else:
            out[key] = value
            continue
        for component, name, v in pairs:
            if name not in spec_of(strategy).params or param_component(strategy, name) != component:
                raise ParameterError(f"strategy {strategy!r} has no parameter {component}.{name}")
            out[name] = v
    return out


def _index_options(index: str, options) -> dict:
    """The backend options, checked: only ``ray`` takes any (``shards``, ``shard_backend``,
    ``cpus_per_shard``)."""
    options = dict(options or {})
    if not options:
        return options
    if index != "ray":
        raise ParameterError(f"index_options apply to the ray backend only, not {index!r}")
    unknown = sorted(set(options) - set(RAY_OPTIONS))
    if unknown:
        raise ParameterError(f"unknown ray index options {unknown}; choose from {', '.join(RAY_OPTIONS)}")
    if "shards" in options:
        options["shards"] = check_int(options["shards"], "shards", minimum=1)
    if "shard_backend" in options:
        options["shard_backend"] = check_choice(options["shard_backend"], "shard backend",
                                                ("exact", "ivf", "ivfpq", "hnsw"))
    if "cpus_per_shard" in options:
        options["cpus_per_shard"] = check_float(options["cpus_per_shard"], "cpus_per_shard", minimum=0.01)
    return options
