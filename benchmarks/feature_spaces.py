"""The feature spaces the search benchmarks judge strategies on, built once and cached.

A default search must hold on whatever vectors a user brings, so the suite spans kinds
of features that break different models (issue 20):

=====================  ==========================================================================
name                   what it is
=====================  ==========================================================================
fm-encoder             Fashion-MNIST's 70,000 images through the built-in encoder at 64 px (1,280-d)
fm-pixels              their raw pixels (784-d, scaled to [0, 1])
fm-spectral            the first 20 eigenvectors of the normalised Laplacian of the symmetric
                       10-NN graph of ``fm-encoder`` (features a linear head handles badly)
fm-spectral-scaled     the 20 eigenvectors after the trivial one, each scaled by 1 / its
                       eigenvalue: the recipe of the ENS paper's citation-graph features, so the
                       coarsest directions dominate distances
fm-wild-scales         ``fm-pixels`` with each dimension multiplied by ``10 ** u``, ``u`` uniform
                       in [-2, 2] (fixed seed): un-standardised features whose distances a few
                       dimensions dominate
fm-encoder-l2          ``fm-encoder`` with every row scaled to unit length
text-docstrings        Python docstrings (the standard library's and those of the packages the
                       test extra installs), TF-IDF of words and word pairs reduced to 128-d by
                       SVD; the class is the module's package (``scipy.stats``, ``torch.nn``, ...)
digits                 scikit-learn's 1,797 8x8 digits (64-d)
py-imports             a real citation-like graph: the import graph of 27 pinned Python packages
                       modules (:mod:`import_graph`, 17,906 modules in its largest component), the
                       first 20 eigenvectors of its normalised Laplacian; the classes are the
                       ten subpackages nearest 1 % of the modules in size (``sympy.polys``, ...)
py-imports-scaled      the 20 eigenvectors after the trivial one, each scaled by 1 / its eigenvalue
=====================  ==========================================================================

The text corpus is read from source files with :mod:`ast` (nothing is imported), so it
is a function of the installed versions, which :func:`text_corpus_versions` reports.
Debian's package descriptions are deliberately not used: they are held out to check the
default on data it was not designed on.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import numpy as np

SPACES = ("fm-encoder", "fm-pixels", "fm-spectral", "fm-spectral-scaled", "fm-wild-scales", "fm-encoder-l2",
          "text-docstrings", "digits", "py-imports", "py-imports-scaled")
TEXT_PACKAGES = ("numpy", "scipy", "sklearn", "torch", "matplotlib", "sympy", "networkx", "ray")
TEXT_CLASSES = 10  # the largest packages become the classes; the rest stay in the pool as class -1
MIN_DOC_CHARS = 80


def space_cache() -> Path:
    from elsa._io import cache_root

    return cache_root() / "benchmarks" / "spaces"


def build_space(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The feature space's vectors and class labels, from the cache or computed once."""
    if name not in SPACES:
        raise ValueError(f"unknown space {name!r}; choose one of {', '.join(SPACES)}")
    folder = space_cache()
    path, labels_path = folder / f"{name}.npy", folder / f"{name}.labels.npy"
    if path.exists() and labels_path.exists():
        return np.load(path, mmap_mode="r"), np.load(labels_path)
    folder.mkdir(parents=True, exist_ok=True)
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        X, y = d.data.astype(np.float32), d.target.astype(np.int64)
    elif name == "text-docstrings":
        X, y = text_space()
    elif name in ("py-imports", "py-imports-scaled"):
        from .import_graph import import_space

        X, y = import_space(dims=20, scaled=name == "py-imports-scaled")
    else:
        from elsa.datasets import load_fashion_mnist

        _, y = load_fashion_mnist("all")
        if name == "fm-pixels":
            images, _ = load_fashion_mnist("all")
            X = (images.reshape(len(images), -1) / 255.0).astype(np.float32)
        elif name == "fm-encoder":
            from .pools import fashion_mnist_encoded

            X, _ = fashion_mnist_encoded()
        elif name == "fm-spectral":
            X = spectral_embedding(build_space("fm-encoder")[0], neighbours=10, dims=20)
        elif name == "fm-spectral-scaled":
            X = spectral_embedding(build_space("fm-encoder")[0], neighbours=10, dims=20, scaled=True)
        elif name == "fm-wild-scales":
            pixels = np.asarray(build_space("fm-pixels")[0])
            X = pixels * (10.0 ** np.random.default_rng(20).uniform(-2, 2, pixels.shape[1])).astype(np.float32)
        else:  # fm-encoder-l2
            E = np.asarray(build_space("fm-encoder")[0], np.float32)
            X = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
    from elsa._io import save_npy

    save_npy(path, np.ascontiguousarray(X, np.float32))
    save_npy(labels_path, y)
    return np.load(path, mmap_mode="r"), y


def spectral_embedding(X: np.ndarray, neighbours: int, dims: int, scaled: bool = False) -> np.ndarray:
    """Eigenvectors of the normalised Laplacian of X's symmetric k-NN graph, smallest eigenvalues first.

    ``scaled=False``: the first ``dims`` (the trivial one included), unscaled.
    ``scaled=True``: the ``dims`` after the trivial one, each divided by its eigenvalue
    (the ENS paper's features of a citation graph).
    """
    import scipy.sparse as sp

    from elsa.index.graph import neighbour_graph

    n = X.shape[0]
    forward = np.asarray(neighbour_graph(X, neighbours).forward)
    A = sp.csr_matrix((np.ones(forward.size), (np.repeat(np.arange(n), neighbours), forward.ravel())), shape=(n, n))
    return laplacian_features((A + A.T) > 0, dims, scaled)


def laplacian_features(A, dims: int, scaled: bool = False, tol: float = 1e-6, fixed_signs: bool = False) -> np.ndarray:
    """Eigenvectors of the normalised Laplacian of the symmetric graph ``A`` (sparse),
    smallest eigenvalues first, as :func:`spectral_embedding` describes; ``tol`` is
    ``eigsh``'s, and ``fixed_signs`` turns each vector so that its largest entry is
    positive (an eigenvector's sign is arbitrary)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import eigsh

    A = sp.csr_matrix(A, dtype=np.float64)
    n = A.shape[0]
    scale = sp.diags(1.0 / np.sqrt(np.asarray(A.sum(axis=1)).ravel()))
    # The Laplacian's smallest eigenvalues are the normalised adjacency's largest (lambda = 1 - mu).
    k = dims + 1 if scaled else dims
    vals, vecs = eigsh(scale @ A @ scale, k=k, which="LA", tol=tol, v0=np.random.default_rng(0).normal(size=n))
    order = np.argsort(-vals)
    vals, vecs = vals[order], vecs[:, order]
    if fixed_signs:
        vecs = vecs * np.where(vecs[np.abs(vecs).argmax(axis=0), np.arange(k)] < 0, -1.0, 1.0)
    if not scaled:
        return vecs.astype(np.float32)
    lam = np.maximum(1.0 - vals[1:], 1e-9)
    return (vecs[:, 1:] / lam).astype(np.float32)


# --- text ------------------------------------------------------------------------------------

def _package_roots() -> list[tuple[str, Path]]:
    """(name, folder) of every package the corpus reads: the standard library's, then TEXT_PACKAGES."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    roots = [("stdlib", stdlib)]
    for name in TEXT_PACKAGES:
        try:
            import importlib.util

            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            roots.append((name, Path(list(spec.submodule_search_locations)[0])))
    return roots


def text_corpus_versions() -> dict:
    """The versions the text corpus was read from."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    dist = {"sklearn": "scikit-learn"}
    for name in TEXT_PACKAGES:
        try:
            out[name] = version(dist.get(name, name))
        except PackageNotFoundError:
            out[name] = None
    return out


def docstrings() -> tuple[list[str], list[str]]:
    """Every docstring of at least MIN_DOC_CHARS characters (modules, classes, functions), deduplicated,
    with its category: the package and first subpackage of its module (``scipy.stats``; ``stdlib.email``)."""
    from elsa.datasets.docstrings import iter_docstrings

    texts, cats, seen = [], [], set()
    skip = {"tests", "test", "__pycache__", "testing", "site-packages", "idle_test"}
    for name, root in _package_roots():
        for module, node_name, doc in iter_docstrings(root, skip, seen, MIN_DOC_CHARS):
            parts = (name,) + module
            texts.append(f"{node_name} {doc}")
            cats.append(".".join(parts[:2]) if len(parts) > 2 else parts[0])
    return texts, cats


def text_space(dims: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """TF-IDF (words and word pairs, sublinear tf) reduced to ``dims`` by SVD; classes: the
    TEXT_CLASSES largest categories (by size, ties by name), numbered from 0; the rest -1."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, cats = docstrings()
    names, counts = np.unique(cats, return_counts=True)
    top = [names[i] for i in np.lexsort((names, -counts))[:TEXT_CLASSES]]
    y = np.array([top.index(c) if c in top else -1 for c in cats], np.int64)
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_df=0.5, sublinear_tf=True, dtype=np.float32)
    T = tfidf.fit_transform(texts)
    X = TruncatedSVD(dims, random_state=0).fit_transform(T)
    (space_cache() / "text-docstrings.classes.txt").write_text("\n".join(top) + "\n")
    return X.astype(np.float32), y


# --- k-NN graphs of thinned pools ------------------------------------------------------------

FULL_K = 200  # neighbours kept per row of a whole space, from which thinned pools' graphs are cut


def full_neighbours(name: str) -> np.ndarray:
    """Every row's FULL_K nearest other rows in the whole space (exact, cached)."""
    from elsa.index import ExactIndex
    from elsa.index.graph import compute_graph

    path = space_cache() / f"{name}.full-k{FULL_K}.npy"
    if path.exists():
        return np.load(path, mmap_mode="r")
    X, _ = build_space(name)
    forward = compute_graph(X, FULL_K, ExactIndex(X), progress=True)
    from elsa._io import save_npy

    save_npy(path, forward)
    return np.load(path, mmap_mode="r")


def prefill_graph(name: str, keep: np.ndarray, k: int = 50) -> None:
    """Put the k-NN graph of the thinned pool ``X[keep]`` in elsa's graph cache, cut from the whole
    space's lists instead of searched afresh (a 63,000 x 1,280 pool takes minutes to search).

    A row's first ``k`` neighbours that survive the thinning are its ``k`` nearest in the
    pool; rows left with fewer than ``k`` survivors are searched exactly in the pool. So the
    graph is the exact one, up to the order of neighbours at equal distance within float32
    rounding (the whole space's products are blocked differently).
    """
    from elsa.index import ExactIndex
    from elsa.index.graph import _cache_folder, _save, pool_digest

    X, _ = build_space(name)
    if X.shape[0] <= 2 * k:
        return
    Xc = np.ascontiguousarray(X[keep])
    path = _cache_folder() / f"{pool_digest(Xc)}-k{k}-{ExactIndex.name}.npy"
    if not path.exists():
        _save(path, derived_graph(name, keep, k))


def derived_graph(name: str, keep: np.ndarray, k: int) -> np.ndarray:
    """:func:`prefill_graph`'s graph of ``X[keep]``, ``(m, k)`` int32."""
    from elsa.index import ExactIndex

    X, _ = build_space(name)
    Xc = np.ascontiguousarray(X[keep])
    full = full_neighbours(name)
    new_id = np.full(X.shape[0], -1, np.int64)
    new_id[keep] = np.arange(keep.size)
    lists = new_id[np.asarray(full[keep])]  # (m, FULL_K): pool ids, -1 for thinned rows
    alive = lists >= 0
    enough = alive.sum(axis=1) >= k
    forward = np.full((keep.size, k), -1, np.int32)
    order = np.argsort(~alive, axis=1, kind="stable")  # survivors first, in distance order
    cut = np.take_along_axis(lists, order[:, :k], axis=1)
    forward[enough] = cut[enough]
    redo = np.flatnonzero(~enough)
    index = ExactIndex(Xc)
    for start in range(0, redo.size, 1024):
        ids = redo[start : start + 1024]
        _, I = index.search(Xc[ids], k, query_ids=ids)
        forward[ids] = I
    return forward
