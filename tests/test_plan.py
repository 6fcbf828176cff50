"""The search plan: every setting of a run checked once, its JSON form, and the stop rules' kinds."""

import pytest

from elsa.cli_parser import build_parser
from elsa.exceptions import ParameterError
from elsa.plan import SearchPlan
from elsa.search import STRATEGIES
from elsa.search.registry import DEFAULTS, SPECS, param_component
from elsa.stopping import AuditSpec, BudgetSpec, EstimateSpec, KneeSpec, QBCBSpec, SampleSpec, parse_stop


def test_a_plan_holds_every_parameter_of_its_strategy_and_nothing_else():
    plan = SearchPlan("cal", params={"head_c": 0.5})
    assert dict(plan.params) == {"n_random": 100, "head_c": 0.5}
    assert plan.epochs is None and plan.budget is None and plan.stop is None  # cal runs in rounds
    assert SearchPlan("elsa").epochs == 10 and SearchPlan("elsa", stop="knee").epochs is None
    with pytest.raises(ParameterError, match="strategy 'cal' does not take a; its parameters are n_random, head_c"):
        SearchPlan("cal", params={"a": 5})
    with pytest.raises(TypeError):
        SearchPlan("cal").params["k"] = 3  # frozen, its parameters too


def test_k_of_the_knn_model_and_k_of_seals_are_different_names():
    assert param_component("seals", "k") == "seals" and param_component("portfolio", "k") == "knn"
    seals = SearchPlan("seals", params={"seals.k": 7})
    assert seals.params["k"] == 7 and seals.param("seals.k") == 7 and seals.to_dict()["params"]["seals"]["k"] == 7
    portfolio = SearchPlan("portfolio", params={"knn": {"k": 20}})
    assert portfolio.param("knn.k") == 20 and "k" not in portfolio.to_dict()["params"].get("seals", {})
    with pytest.raises(ParameterError, match="strategy 'seals' has no parameter knn.k"):
        SearchPlan("seals", params={"knn.k": 7})


def test_every_parameter_has_a_component():
    assert all(param_component(name, p) for name, spec in SPECS.items() for p in spec.params)
    assert set(DEFAULTS) <= {p for spec in SPECS.values() for p in spec.params}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_json_form_gives_the_same_plan_back(strategy):
    plan = SearchPlan(strategy, budget=300, stop="budget:200", random_state=7, second_looks=True)
    assert plan.budget == 200  # the rule caps the budget
    assert SearchPlan.from_dict(plan.to_dict()) == plan
    assert plan.replace(random_state=8).random_state == 8 and plan.replace(random_state=8).params == plan.params


def test_old_session_settings_still_make_a_plan():
    # Flat parameters and "no epoch limit" stored as 10**9, as session files before the plan wrote them.
    old = {"strategy": "elsa", "params": {"a": 10, "b": 10, "l": 10}, "epochs": 10**9, "budget": None,
           "random_state": 3, "stop": "qbcb:0.8@0.9", "audit_share": 0.1, "audit_positives": 11,
           "index": "auto", "index_options": {}, "target": "cats", "shape": [300, 8]}
    plan = SearchPlan.from_dict(old)
    assert plan.epochs is None and plan.params["a"] == 10 and plan.audit_positives == 11
    assert isinstance(plan.stop, QBCBSpec) and plan.round_share(True) == 0.1


def test_each_stop_rule_knows_its_budget_audit_and_phases():
    assert isinstance(parse_stop("budget:40"), BudgetSpec) and parse_stop("budget:40").cap(100) == 40
    assert parse_stop("budget:40").cap(None) == 40 and parse_stop("knee").cap(100) == 100
    assert isinstance(parse_stop("knee"), KneeSpec) and isinstance(parse_stop("estimate:0.9"), EstimateSpec)
    assert parse_stop("recall:0.9@0.95").phases == ("search", "sample") and isinstance(parse_stop("recall:0.9@0.95"), SampleSpec)
    assert parse_stop("audit:0.9@0.95").phases == ("search", "audit") and isinstance(parse_stop("audit:0.9@0.95"), AuditSpec)
    qbcb = parse_stop("qbcb:0.9@0.95")
    assert qbcb.phases == ("search",) and qbcb.check_audit(None, None) == (None, 29)
    assert qbcb.round_share(None, session=True) == 0.1 and qbcb.round_share(None, session=False) == 0.0
    with pytest.raises(ParameterError, match="qbcb:R@C needs audit items"):
        qbcb.round_share(0.0, session=True)
    with pytest.raises(ParameterError, match="--audit-positives 5 cannot certify recall 0.9 at 0.95; it needs at least 29"):
        SearchPlan(stop="qbcb:0.9@0.95", audit_positives=5)
    with pytest.raises(ParameterError, match="random checks during it"):
        SearchPlan(stop="audit:0.9@0.95", audit_share=0.1)
    with pytest.raises(ParameterError, match="audit_positives only applies to a qbcb:R@C stop"):
        SearchPlan(audit_positives=30)
    with pytest.raises(ParameterError, match="which strategy nn does not have"):
        SearchPlan("nn", stop="estimate:0.9")
    assert parse_stop("recall:0.9@0.95") == SampleSpec(0.9, 0.95) != AuditSpec(0.9, 0.95)


def test_bad_settings_are_named():
    with pytest.raises(ParameterError, match="index_options apply to the ray backend only"):
        SearchPlan(index="exact", index_options={"shards": 2})
    with pytest.raises(ParameterError, match="unknown --stop 'soon'"):
        SearchPlan(stop="soon")
    with pytest.raises(ParameterError, match="budget"):
        SearchPlan(budget=0)
    with pytest.raises(ParameterError, match="strategy"):
        SearchPlan("best")
    with pytest.raises(ParameterError, match="give a budget"):
        SearchPlan("cal").needs_runs_end()


def test_help_lists_the_chosen_strategy_parameters_only(capsys):
    for argv in (["simulate", "--strategy", "cal", "--help"], ["simulate", "--help"]):
        with pytest.raises(SystemExit):
            build_parser(argv).parse_args(argv)
        out = capsys.readouterr().out
        assert "elsa simulate --strategy NAME --help" in out and "--a " not in out and "--k " not in out
        assert ("--head-c" in out and "head.n_random" in out) == (argv[1] == "--strategy")
    # Parameters of other strategies are still read, and refused by the plan with their names.
    args = build_parser(["simulate"]).parse_args(["simulate", "--embeddings", "E.npy", "--target", "1", "--k", "5"])
    assert args.k == 5
