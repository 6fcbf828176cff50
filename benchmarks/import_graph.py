"""A real citation-like graph built offline: the import graph of 27 pinned Python packages (issue 34).

The search benchmarks' other spectral spaces come from k-NN graphs of images, which have
no hubs and no communities beyond the classes. A citation graph has both: a few nodes
that everyone cites and groups that cite each other. An import graph has the same shape.
A module *cites* the modules it imports: ``numpy`` and ``django.db.models`` are hubs,
and a subpackage such as ``sympy.physics`` or ``nova.tests`` is a community with links
to the rest.

* **Nodes**: every ``.py`` file of the wheels in :data:`PACKAGES` (exact versions,
  CPython 3.11, manylinux x86_64, fetched once with ``pip download --no-deps`` into
  ``$ELSA_CACHE_DIR/benchmarks/wheels`` and read from the zip files, never installed or
  imported), named as its module (``sympy/physics/units/__init__.py`` ->
  ``sympy.physics.units``). Files that do not parse as Python 3 are left out.
* **Edges**: ``import a.b.c`` links to the longest prefix of ``a.b.c`` that is a module
  of the corpus; ``from a.b import c`` to ``a.b.c`` when that is a module, else to
  ``a.b``; relative imports are resolved against the importing module's package. Imports
  anywhere in the file count (also inside functions and ``try`` blocks). Edges are made
  undirected and unweighted; the largest connected component is kept.
* **Classes**: a module's package and first subpackage (``sympy.physics``,
  ``nova.api``), as the docstring corpus does. The targets are rare communities as they
  are in the graph: the :data:`CLASSES` subpackages whose size is nearest 1 % of the
  component's modules (by ratio, ties by name) become classes 0-9, the rest stay in the
  pool as class -1. :mod:`search_quality` thins a class to 1 % of the pool, so these
  are thinned a little (248 modules to about 180) or not at all, and keep the links
  among themselves; the largest subpackages (``transformers.models``, 1,576 modules)
  would lose nine in ten of their members and be searched as scattered nodes.
* **Features** (in :mod:`feature_spaces`): the first 20 eigenvectors of the normalised
  Laplacian (``py-imports``), and the 20 after the trivial one scaled by 1 / eigenvalue
  (``py-imports-scaled``, the ENS paper's recipe for its citation graph).

``python -m benchmarks.import_graph`` builds the graph and prints its size, degrees and
classes (also written to ``benchmarks/results/import_graph.md``).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = (
    "ansible-core==2.17.6", "astropy==6.1.4", "bokeh==3.6.1", "dask==2024.11.2", "django==5.1.3",
    "docutils==0.21.2", "jax==0.4.35", "keras==3.7.0", "kubernetes==31.0.0", "matplotlib==3.9.2", "mne==1.8.0",
    "moto==5.0.21", "networkx==3.4.2", "neutron==25.0.0", "nova==30.0.0", "numba==0.60.0", "numpy==2.1.3",
    "pandas==2.2.3", "pygments==2.18.0", "scikit-learn==1.5.2", "scipy==1.14.1", "sphinx==8.1.3",
    "sqlalchemy==2.0.36", "statsmodels==0.14.4", "sympy==1.13.3", "tensorflow-probability==0.25.0",
    "transformers==4.46.3",
)
CLASSES = 10
RARITY = 0.01  # the targets' size, as a share of the graph's modules


def wheel_folder() -> Path:
    from elsa._io import cache_root

    return cache_root() / "benchmarks" / "wheels"


def fetch_wheels() -> list[Path]:
    """The pinned wheels, downloaded once (pip, no dependencies, binary only)."""
    folder = wheel_folder()
    folder.mkdir(parents=True, exist_ok=True)
    def by_name():
        return {p.name.split("-")[0].lower().replace("_", "-"): p for p in folder.glob("*.whl")}

    missing = [spec for spec in PACKAGES if spec.split("==")[0] not in by_name()]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--platform", "manylinux2014_x86_64", "--python-version", "3.11", "-d", str(folder),
                        *missing], check=True)
    wheels = by_name()
    out = []
    for spec in PACKAGES:
        name, version = spec.split("==")
        path = wheels[name]
        if f"-{version}-" not in path.name:
            raise RuntimeError(f"{path.name} is not {spec}: remove it from {folder}")
        out.append(path)
    return out


def module_name(path: str) -> str | None:
    """``a/b/c.py`` -> ``a.b.c``; ``a/b/__init__.py`` -> ``a.b``; None for files outside a
    package tree (``.dist-info``, ``.data``) or with names that are not identifiers."""
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def imports_of(source: bytes, module: str, is_package: bool) -> list[tuple[str, tuple[str, ...]]] | None:
    """``(base, names)`` per import statement of a module's source, relative imports resolved
    (``names`` empty for ``import a.b``); None when the source does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts):
                    continue
                anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{anchor}.{base}" if base and anchor else (anchor or base)
            if base:
                out.append((base, tuple(alias.name for alias in node.names if alias.name != "*")))
    return out


def build_graph() -> dict:
    """The corpus's modules, their edges and categories, cached as JSON by the wheels' digests."""
    wheels = fetch_wheels()
    digest = hashlib.sha256("".join(p.name for p in wheels).encode()).hexdigest()[:16]
    cache = wheel_folder().parent / "spaces" / f"py-imports-graph-{digest}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    sources: dict[str, tuple[bytes, bool]] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for name in sorted(z.namelist()):
                if name.endswith(".py") and (module := module_name(name)) is not None:
                    sources[module] = (z.read(name), name.endswith("__init__.py"))
    parsed = {m: imports_of(src, m, pkg) for m, (src, pkg) in sources.items()}
    modules = sorted(m for m, imp in parsed.items() if imp is not None)
    known = set(modules)

    def resolve(name: str) -> str | None:  # the longest prefix of a dotted name that is a module
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    index = {m: i for i, m in enumerate(modules)}
    edges = set()
    for m in modules:
        for base, names in parsed[m]:
            targets = [resolve(f"{base}.{n}") if f"{base}.{n}" in known else resolve(base) for n in names] or [resolve(base)]
            for t in targets:
                if t is not None and t != m:
                    a, b = index[m], index[t]
                    edges.add((min(a, b), max(a, b)))
    doc = {"modules": modules, "edges": sorted(edges), "unparsed": len(parsed) - len(modules),
           "packages": list(PACKAGES)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(doc))
    return doc


def category(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def largest_component():
    """The graph's adjacency (symmetric, unweighted) restricted to its largest connected
    component, the kept modules' indices into ``build_graph()["modules"]``, and the graph."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    doc = build_graph()
    n = len(doc["modules"])
    e = np.asarray(doc["edges"], np.int64).reshape(-1, 2)
    A = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    A = ((A + A.T) > 0).astype(np.float64)
    _, comp = connected_components(A, directed=False)
    keep = np.flatnonzero(comp == np.bincount(comp).argmax())
    return A[keep][:, keep], keep, doc


def classes(modules: list[str]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Class ids (the CLASSES categories whose size is nearest RARITY of the modules, by
    ratio, ties by name; -1 for the rest), the categories' names and their sizes, in
    class order."""
    cats = [category(m) for m in modules]
    names, counts = np.unique(cats, return_counts=True)
    order = np.lexsort((names, np.abs(np.log(counts / (RARITY * len(modules))))))[:CLASSES]
    top = [names[i] for i in order]
    y = np.array([top.index(c) if c in top else -1 for c in cats], np.int64)
    return y, top, counts[order]


def import_space(dims: int = 20, scaled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The largest component's spectral features and classes (see the module docstring)."""
    from .feature_spaces import laplacian_features

    A, keep, doc = largest_component()
    y, _, _ = classes([doc["modules"][i] for i in keep])
    # Signs fixed, so every machine gets the same rows.
    return laplacian_features(A, dims, scaled, tol=1e-8, fixed_signs=True), y


def describe() -> str:
    A, keep, doc = largest_component()
    deg = np.asarray(A.sum(axis=1)).ravel()
    y, top, sizes = classes([doc["modules"][i] for i in keep])
    hubs = np.argsort(-deg)[:5]
    lines = ["# The import graph (benchmarks/import_graph.py)", "",
             f"{len(PACKAGES)} pinned packages ({', '.join(PACKAGES)}); {len(doc['modules'])} modules parsed "
             f"({doc['unparsed']} files left out: not Python 3), {len(doc['edges'])} import edges; the largest "
             f"connected component has {keep.size} modules and {int(deg.sum() / 2)} edges.", "",
             f"Degrees: median {np.median(deg):.0f}, 90th percentile {np.percentile(deg, 90):.0f}, 99th "
             f"{np.percentile(deg, 99):.0f}, largest {deg.max():.0f}. Hubs: "
             + ", ".join(f"`{doc['modules'][keep[i]]}` ({deg[i]:.0f})" for i in hubs) + ".", "",
             "| class | category | modules |", "|---|---|---|"]
    lines += [f"| {c} | `{name}` | {size} |" for c, (name, size) in enumerate(zip(top, sizes))]
    lines += ["", f"The other {int((y < 0).sum())} modules are in the pool as class -1."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    text = describe()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "import_graph.md").write_text(text)
    print(text)
