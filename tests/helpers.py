import builtins

import numpy as np

from elsa.index import ExactIndex
from elsa.state import SearchState


def make_state(X, *, positives=(), negatives=(), frontier=None, scores=None, n_found=0, budget_left=None):
    X = np.asarray(X, np.float32)
    if X.ndim == 1:
        X = X[:, None]
    answers = np.zeros(X.shape[0], np.int8)
    answers[list(positives)] = 1
    answers[list(negatives)] = -1
    frontier = np.asarray(positives if frontier is None else frontier, np.int64)
    return SearchState(
        X=X,
        index=ExactIndex(X),
        answers=answers,
        frontier=frontier,
        scores=None if scores is None else np.asarray(scores, np.float32),
        n_found=n_found,
        budget_left=budget_left,
    )


def hide_module(monkeypatch, module: str) -> None:
    """Make ``import module`` fail, as it does where the optional dependency is not installed."""
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == module:
            raise ImportError(f"no {module}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
