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


def test_head_scorer_reuses_its_scores_while_the_training_labels_are_unchanged(blobs, monkeypatch):
    X, truth = blobs
    state = make_state(X, positives=[200, 201], negatives=[0, 1, 2])
    scorer = HeadScorer(MLPHead(hidden=4))
    scorer.prepare(state)
    fits = []
    real_fit = scorer.head.fit
    monkeypatch.setattr(scorer.head, "fit", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
    first = scorer.update(state, rng_a)
    state.answers[3] = 2  # an "unsure" answer: nothing new to train on
    again = scorer.update(state, rng_a)
    assert again is first and len(fits) == 1 and scorer.last_seconds["head_fit"] == 0.0
    # The seed a fit would have drawn was drawn all the same.
    rng_b.integers(2**31 - 1), rng_b.integers(2**31 - 1)
    assert rng_a.integers(1000) == rng_b.integers(1000)
    state.answers[4] = -1  # a new negative: retrained and rescored
    assert scorer.update(state, rng_a) is not first and len(fits) == 2
