"""Conformance templates generated from the registries: every registered strategy and every
index backend is tested the day it is registered, by the same contract.

* A strategy (``elsa.search.registry.SPECS``) runs a small search from seeds: it never asks
  about an item twice or about a seed, stays within its budget, counts what it found as
  the oracle answered, and repeats itself exactly from the same random state.
* An index backend (``elsa.index.select.BACKENDS``), under settings that make it visit every
  row (:data:`EXHAUSTIVE`), answers as the exact index does: the reference.
"""

import numpy as np
import pytest

from elsa.index import ExactIndex, make_index
from elsa.index.select import BACKENDS
from elsa.oracle import SimulatedOracle
from elsa.search import make_strategy
from elsa.search.registry import SPECS, STRATEGIES

NEEDS = {"usl-t": "torch"}  # strategies that need an optional extra: skipped where it is missing

# Settings under which each backend visits every row; a new backend adds its own here (the
# test that every backend has an entry fails until it does). "auto" is a choice among the
# others, "exact" the reference itself.
EXHAUSTIVE = {"ivf": {"nprobe": 10_000}, "ivfpq": {"nprobe": 10_000, "rerank": 50}, "hnsw": {"ef_search": 1000},
              "ray": {"shards": 2}}
NOT_BACKENDS = ("auto", "exact")


@pytest.fixture(scope="module")
def pool():
    """Six clusters of 50 rows in 8-d; the positives are one of them."""
    rng = np.random.default_rng(11)
    centres = rng.normal(0, 5, (6, 8))
    labels = np.repeat(np.arange(6), 50)
    X = (centres[labels] + rng.normal(0, 1, (300, 8))).astype(np.float32)
    return X, labels == 2


def _run(name, X, truth, seeds, budget):
    return make_strategy(name, budget=budget).run(X, seeds, SimulatedOracle(truth), random_state=5, progress=False)


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_registered_strategy_keeps_the_search_contract(name, pool):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    X, truth = pool
    seeds = np.flatnonzero(truth)[:3]
    result = _run(name, X, truth, seeds, budget=30)
    asked = result.queried_ids
    assert asked.dtype.kind == "i" and ((asked >= 0) & (asked < X.shape[0])).all()
    assert np.unique(asked).size == asked.size, "no item asked about twice"
    assert not np.isin(asked, seeds).any(), "never a seed"
    assert asked.size <= 30, "within the budget"
    assert np.array_equal(result.answers, truth[asked]), "the answers are the oracle's"
    again = _run(name, X, truth, seeds, budget=30)
    assert np.array_equal(again.queried_ids, asked), "same random state, same run"


def test_the_templates_cover_every_registered_name():
    assert set(STRATEGIES) == set(SPECS) and len(STRATEGIES) >= 19
    assert set(NEEDS) <= set(STRATEGIES)
    assert set(BACKENDS) - set(NOT_BACKENDS) == set(EXHAUSTIVE), "each backend says how to make it exhaustive"


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b not in NOT_BACKENDS])
def test_every_index_backend_agrees_with_the_exact_index_when_exhaustive(backend, pool, request):
    pytest.importorskip("faiss")
    if backend == "ray":
        request.getfixturevalue("ray_cluster")
    X, _ = pool
    rng = np.random.default_rng(2)
    exclude = np.zeros(X.shape[0], bool)
    exclude[rng.choice(X.shape[0], 30, replace=False)] = True
    ids = rng.choice(np.flatnonzero(~exclude), 12, replace=False)
    exact, index = ExactIndex(X), make_index(X, backend, **EXHAUSTIVE[backend])
    D0, I0 = exact.search(X[ids], 8, exclude=exclude, query_ids=ids)
    D1, I1 = index.search(X[ids], 8, exclude=exclude, query_ids=ids)
    assert I1.shape == I0.shape == (12, 8)
    assert (I1 == I0).mean() >= 0.99 and np.allclose(D1, D0, atol=1e-3)
    assert not exclude[I1].any() and not (I1 == ids[:, None]).any()
    s0, s1 = exact.search_set(X[ids[:4]], 40, exclude=exclude), index.search_set(X[ids[:4]], 40, exclude=exclude)
    assert np.array_equal(s1[1], s0[1]) and np.allclose(s1[0], s0[0], atol=1e-3)
