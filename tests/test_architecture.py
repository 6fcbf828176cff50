"""The package's layers: no import circles, and no module importing one of a higher layer.

Every ``import`` in ``elsa/`` counts, at module level or inside a function (a lazy import
is still a dependency). A package counts as one node per module; importing a package's
name resolves to the submodule when there is one (``from ..samplers import seals``).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "elsa"

# Lowest first: a module may import its own layer's and lower layers' modules only.
LAYERS = [
    {"exceptions", "_validation", "_io", "digests", "_lazy", "_parallel", "scores", "metrics", "plotting"},
    {"index", "oracle", "datasets", "ssl", "text"},
    {"state"},
    {"head"},
    {"samplers"},
    {"search", "stopping", "embeddings"},
    {"plan"},
    {"simulation", "session", "demo", "demo_text"},
    {"web", "cli_parser", "cli", "cli_label", "cli_simulate", "__main__", "elsa"},
]
LAYER = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def _modules() -> dict[str, Path]:
    mods = {}
    for f in ROOT.rglob("*.py"):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def _imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges = {m: set() for m in mods}
    for m, f in mods.items():
        package = m.split(".") if f.name == "__init__.py" else m.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                name = ".".join(base + (node.module.split(".") if node.module else []))
                targets = [name + "." + a.name if name + "." + a.name in mods else name for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            edges[m] |= {t for t in targets if t in mods and t != m}
    return edges


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYER[parts[1] if len(parts) > 1 else "elsa"]


MODS = _modules()
EDGES = _imports(MODS)


def test_every_module_has_a_layer():
    assert all((m.split(".") + ["elsa"])[1] in LAYER or m == "elsa" for m in MODS)


@pytest.mark.parametrize("module", sorted(MODS))
def test_no_upward_import(module):
    upward = sorted(t for t in EDGES[module] if _layer(t) > _layer(module))
    assert not upward, f"{module} imports a higher layer: {upward}"


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with two or more modules: the import circles."""
    index, low, stack, on, circles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return circles


def test_no_import_circles():
    assert not _circles(EDGES)


def test_the_circle_check_finds_circles():
    # The shape of the old ones: select -> ray_backend -> sharded -> select, and a lone module.
    edges = {"select": {"ray", "exact"}, "ray": {"sharded"}, "sharded": {"select", "exact"}, "exact": set()}
    assert _circles(edges) == [["ray", "select", "sharded"]]
    assert _circles({**edges, "sharded": {"exact"}}) == []


def test_no_file_over_500_lines():
    long = {str(f.relative_to(ROOT.parent)): n for f in ROOT.rglob("*.py") if (n := len(f.read_text().splitlines())) > 500}
    assert not long


def _functions():
    """``(module path, name, lines, parameters)`` of every module-level function and method;
    a nested function's lines count in its parent's."""
    for f in ROOT.rglob("*.py"):
        tree = ast.parse(f.read_text())
        nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        nodes += [m for c in tree.body if isinstance(c, ast.ClassDef) for m in c.body
                  if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for n in nodes:
            args = n.args
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg not in ("self", "cls")]
            yield str(f.relative_to(ROOT.parent)), n.name, n.end_lineno - n.lineno + 1, len(names)


def test_no_function_over_100_lines():
    long = {f"{path}:{name}": n for path, name, n, _ in _functions() if n > 100}
    assert not long


def test_the_drivers_take_a_plan_not_a_list_of_settings():
    params = {(path, name): k for path, name, _, k in _functions()}
    assert params[("elsa/simulation.py", "simulate")] <= 8
    assert params[("elsa/session/session.py", "create")] <= 8


def test_the_stopping_rule_is_read_from_text_in_one_place():
    calls = sorted(str(f.relative_to(ROOT.parent)) for f in ROOT.rglob("*.py")
                   for node in ast.walk(ast.parse(f.read_text()))
                   if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "parse_stop")
    assert calls == ["elsa/plan.py"]
