"""The benchmarks are one package run as ``python -m benchmarks.NAME``: none edits ``sys.path``
or imports the tests, and they share one timer and one results writer (``benchmarks/harness.py``)."""

import ast
import importlib
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def _harness():
    """``benchmarks.harness``, imported as a package module where the repository root is on
    the path (``python -m pytest``), else loaded from its file (it imports no sibling)."""
    try:
        return importlib.import_module("benchmarks.harness")
    except ModuleNotFoundError:
        spec = importlib.util.spec_from_file_location("benchmarks_harness", ROOT / "benchmarks" / "harness.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
        return module


def _path_mutations(tree: ast.AST) -> list[str]:
    """``sys.path.insert/append/extend/...`` calls, ``sys.path`` assignments and ``sys.path[...] = ...``."""
    def is_sys_path(node) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
                and node.value.id == "sys")

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_sys_path(node.func.value):
            found.append(f"line {node.lineno}: sys.path.{node.func.attr}(...)")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if is_sys_path(t) or (isinstance(t, ast.Subscript) and is_sys_path(t.value)):
                    found.append(f"line {node.lineno}: sys.path assigned")
    return found


def _test_imports(tree: ast.AST) -> list[str]:
    """Imports of the ``tests`` package or of a module of it (``test_web``, ``helpers``, ``conftest``)."""
    local_tests = {p.stem for p in (ROOT / "tests").glob("*.py")}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "tests" or top in local_tests:
                found.append(f"line {node.lineno}: import {name}")
    return found


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_a_benchmark_neither_edits_sys_path_nor_imports_the_tests(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    assert _path_mutations(tree) == []
    assert _test_imports(tree) == []


def test_the_checks_catch_what_they_look_for():
    bad = ast.parse("import sys\nsys.path.insert(0, 'x')\nsys.path.append('y')\nsys.path = []\n"
                    "from tests.helpers import a\nfrom test_web import LiveServer\nimport tests\n")
    assert len(_path_mutations(bad)) == 3
    assert len(_test_imports(bad)) == 3
    good = ast.parse("import sys\nprint(sys.path)\nfrom .harness import timed\nfrom elsa.search import x\n")
    assert _path_mutations(good) == [] and _test_imports(good) == []


def test_the_benchmarks_are_a_package():
    assert (ROOT / "benchmarks" / "__init__.py").exists()


class FakeClock:
    """A clock that moves only when the timed function says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_timed_reports_the_median_p90_and_min_of_its_runs():
    h = _harness()
    clock, calls = FakeClock(), []
    durations = iter([99.0, 3.0, 1.0, 4.0, 1.5, 5.0])  # the first call is the warm-up: not timed

    def fn():
        calls.append(1)
        clock.now += next(durations)

    t = h.timed(fn, repeats=5, warmup=1, clock=clock)
    assert len(calls) == 6
    assert t.runs == (3.0, 1.0, 4.0, 1.5, 5.0)
    assert t.median == 3.0
    assert t.min == 1.0
    assert t.max == 5.0
    assert t.p90 == pytest.approx(4.6)  # sorted 1, 1.5, 3, 4, 5: 0.9 of the way is 4 + 0.6 (5 - 4)
    assert t.as_dict() == {"median": 3.0, "p90": pytest.approx(4.6), "min": 1.0, "max": 5.0,
                           "runs": [3.0, 1.0, 4.0, 1.5, 5.0]}
    assert h.Timing.from_runs([2.0, 4.0]).median == 3.0  # an even count: the mean of the middle two
    with pytest.raises(ValueError):
        h.timed(fn, repeats=0)


def test_timed_on_the_real_clock_without_warm_up():
    h = _harness()
    counter = []
    t = h.timed(lambda: counter.append(1), repeats=3, warmup=0)
    assert len(counter) == 3 and len(t.runs) == 3
    assert 0 <= t.min <= t.median <= t.p90 <= t.max


def test_write_results_keeps_the_document_and_adds_the_run(tmp_path):
    h = _harness()
    doc = {"benchmark": "x", "command": "old", "rows": [{"a": 1}], "run": "an earlier file's record"}
    path = tmp_path / "deeper" / "x.json"
    written = h.write_results(path, doc, ["--sizes", "100", "a b"], module="benchmarks.x")
    got = json.loads(path.read_text())
    assert got == written
    assert list(got) == ["benchmark", "command", "rows", "run"]
    assert {k: got[k] for k in ("benchmark", "command", "rows")} == {k: doc[k] for k in ("benchmark", "command", "rows")}
    run = got["run"]
    assert run["command"] == "python -m benchmarks.x --sizes 100 'a b'"
    assert run["commit"] is None or len(run["commit"]) == 40
    assert run["dirty"] in (True, False, None)
    assert run["date"][:2] == "20"
    assert run["machine"]["logical_cores"] >= 1 and "platform" in run["machine"] and "cpu" in run["machine"]
    assert run["versions"]["numpy"]
    assert isinstance(run["blas"]["libraries"], list)
    assert set(run["blas"]["env"]) >= {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}
    assert doc["run"] == "an earlier file's record"  # the caller's document is not changed
    h.write_results(path, {"rows": []}, [], module="benchmarks.x", indent=None)
    assert path.read_text().count("\n") == 1 and json.loads(path.read_text())["run"]["command"] == "python -m benchmarks.x"


def test_noise_ratios_and_their_bootstrap_pair_run_r_at_each_level():
    noise = pytest.importorskip("benchmarks.noise")

    def row(cls, p, run, found, weigh=False):
        return dict(space="s", cls=cls, noise=p, second_looks=False, weigh_answers=weigh, run=run, found=found,
                    queries=100, rechecks=0, flips_rechecked=None, rechecks_flipped=None, flip_rate_estimate=None)

    # Class 0 finds 10 without noise and 8 at 20 % in every run (0.8); class 1 finds 20 and
    # 20 (1.0): every resample gives the same ratios, so the intervals are points.
    rows = [row(c, p, r, f) for r in range(4) for c, p, f in ((0, 0.0, 10), (0, 0.2, 8), (1, 0.0, 20), (1, 0.2, 20))]
    (at0, at20) = noise.summarise(rows)
    assert (at0["ratio_median_class"], at0["ratio_worst_class"]) == (1.0, 1.0)
    assert (at20["ratio_median_class"], at20["ratio_worst_class"], at20["worst_class"]) == (0.9, 0.8, 0)
    assert at20["ratio_median_class_90"] == [0.9, 0.9] and at20["ratio_worst_class_90"] == [0.8, 0.8]
    # Class 0's runs pair 10 with 5 and 10 with 10 (ratio of medians 0.75): resamples of the
    # run indices keep the pairs, so the worst class's ratio stays within [0.5, 1].
    rows = [row(0, 0.0, r, 10) for r in range(2)] + [row(0, 0.2, 0, 5), row(0, 0.2, 1, 10)]
    (_, at20) = noise.summarise(rows)
    assert at20["ratio_worst_class"] == 0.75
    assert 0.5 <= at20["ratio_worst_class_90"][0] <= 0.75 <= at20["ratio_worst_class_90"][1] <= 1.0
    # Weighed answers are a setting of their own, with ratios to their own noise-free runs.
    weighed = [row(0, p, 0, f, weigh=True) for p, f in ((0.0, 4), (0.2, 2))]
    assert [(c["weigh_answers"], c["noise"], c["ratio_worst_class"]) for c in noise.summarise(rows + weighed)] == [
        (False, 0.0, 1.0), (False, 0.2, 0.75), (True, 0.0, 1.0), (True, 0.2, 0.5)]


def test_double_labelling_ratios_pair_each_run_with_and_without_second_answers():
    double = pytest.importorskip("benchmarks.double")

    def row(cls, share, run, found, disputes=0, wrong=0):
        return dict(space="s", cls=cls, noise=0.2, share=share, run=run, found=found, queries=500,
                    double_labels=45 if share else 0, disputes=disputes, disputes_first_wrong=wrong,
                    flip_rate_estimates=[0.2, 0.18] if share else None)

    # Class 0 finds 10 with one answer each and 9 with double labels (0.9); class 1, 20 and 22
    # (1.1): the median class is 1.0, the worst 0.9, and every resample gives the same.
    rows = [row(c, s, r, f, disputes=4, wrong=1 if s else 0) for r in range(4)
            for c, s, f in ((0, 0.0, 10), (0, 0.1, 9), (1, 0.0, 20), (1, 0.1, 22))]
    (cell,) = double.summarise(rows)
    assert (cell["ratio_median_class"], cell["ratio_worst_class"], cell["worst_class"]) == (1.0, 0.9, 0)
    assert cell["ratio_worst_class_90"] == [0.9, 0.9] and (cell["classes_ahead"], cell["classes_behind"]) == (1, 1)
    assert cell["disputes_first_wrong"] == 0.25 and cell["flip_rate_estimate"] == 0.19
    assert (cell["found_single"], cell["found_double"]) == (15.0, 15.5)
