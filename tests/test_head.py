import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier

from elsa.exceptions import InputError
from elsa.head import HeadScorer, MLPHead, ProximityScorer
from helpers import make_state


def test_confidence_is_in_range_and_separates_blobs(blobs):
    X, truth = blobs
    labelled = np.r_[np.arange(0, 200, 10), np.arange(200, 205)]
    head = MLPHead().prepare(X).fit(X[labelled], truth[labelled], random_state=0)
    conf = head.confidence(X)
    assert conf.dtype == np.float32 and conf.min() >= -1 and conf.max() <= 1
    assert (conf[truth] > 0).all() and (conf[~truth] < 0).all()


def test_folded_standardisation_equals_sklearn_on_standardised_inputs():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(300, 6)) * [1, 10, 100, 0.1, 1, 5] + [0, 50, -3, 0, 7, 1]).astype(np.float32)
    y = X[:, 0] + 0.01 * X[:, 1] > 0.5
    head = MLPHead(hidden=8).prepare(X).fit(X[:200], y[:200], random_state=3)
    Xs = (X - X.mean(0)) / X.std(0)
    ref = MLPClassifier((8,), solver="lbfgs", alpha=1e-4, max_iter=200, random_state=3).fit(Xs[:200], y[:200])
    np.testing.assert_allclose(head.confidence(X), 2 * ref.predict_proba(Xs)[:, 1] - 1, atol=2e-3)


def test_one_class_cannot_train():
    with pytest.raises(InputError, match="at least one positive and one negative"):
        MLPHead().fit(np.zeros((3, 2), np.float32), np.ones(3, bool), random_state=0)


def test_head_scorer_waits_for_a_negative():
    state = make_state(np.arange(6, dtype=np.float32), positives=[0, 1])
    scorer = HeadScorer()
    scorer.prepare(state)
    assert scorer.update(state, np.random.default_rng(0)) is None
    state.answers[5] = -1
    scores = scorer.update(state, np.random.default_rng(0))
    assert scores.shape == (6,) and scores[0] > scores[5]


def test_proximity_scores_are_minus_squared_distance_to_nearest_positive():
    state = make_state(np.array([0, 1, 3, 10], np.float32), positives=[1])
    np.testing.assert_allclose(ProximityScorer().update(state, None), [-1, 0, -4, -81])


def test_head_scorer_reuses_its_scores_while_the_head_would_not_change(blobs, monkeypatch):
    X, truth = blobs
    state = make_state(X, positives=[200, 201], negatives=[0, 1, 2])
    scorer = HeadScorer(MLPHead(hidden=4))
    scorer.prepare(state)
    fits = []
    real_fit = scorer.head.fit
    monkeypatch.setattr(scorer.head, "fit", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    first = scorer.update(state, np.random.default_rng(0))
    state.answers[3] = 2  # an "unsure" answer: nothing new to train on, and the same seed
    again = scorer.update(state, np.random.default_rng(0))
    assert again is first and len(fits) == 1 and scorer.last_seconds["head_fit"] == 0.0
    other_seed = scorer.update(state, np.random.default_rng(1))  # another head: retrained
    assert other_seed is not first and len(fits) == 2
    state.answers[4] = -1  # a new negative: retrained and rescored
    assert scorer.update(state, np.random.default_rng(1)) is not other_seed and len(fits) == 3


def test_scoring_restricted_to_the_labelled_items_neighbourhoods(blobs):
    X, truth = blobs
    state = make_state(X, positives=[200, 201], negatives=[0, 1, 2])
    scorer = HeadScorer(MLPHead(hidden=4), neighbours=3)
    scorer.prepare(state)
    scores = scorer.update(state, np.random.default_rng(0))
    d = ((X[:, None, :] - X[None, [200, 201, 0, 1, 2], :]) ** 2).sum(-1)  # (n, 5)
    d[[200, 201, 0, 1, 2], np.arange(5)] = np.inf  # each labelled item's own row
    near = np.unique(np.argsort(d, axis=0, kind="stable")[:3].ravel())
    expected = np.zeros(len(X), bool)
    expected[near] = True
    expected[[200, 201, 0, 1, 2]] = True
    np.testing.assert_array_equal(scorer.scored, expected)
    assert (scores[~expected] == -1).all()
    np.testing.assert_allclose(scores[expected], scorer.head.confidence(X)[expected], atol=1e-6)
    # The active-learning threshold is taken over the scored items only.
    from elsa.samplers import ConfidenceSampler

    state.scores, state.scored = scores, scorer.scored
    basis = scores[expected]
    above = np.flatnonzero((scores > basis.mean() + basis.std()) & ~state.labelled)
    assert sorted(ConfidenceSampler(1.0).select(state, np.random.default_rng(0)).tolist()) == sorted(above.tolist())
