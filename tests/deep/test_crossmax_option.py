"""aggregation='crossmax': a robust vote of the members through decision_function."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris
from sklearn.utils._param_validation import InvalidParameterError

from skens import DeepEnsembleClassifier
from skens.ensemble import crossmax

SMALL = dict(n_members=5, hidden_layer_sizes=(16,), max_epochs=40, random_state=0)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _member_logits(clf, X):
    return np.log(clf.predict_proba_members(X))  # log-probabilities: shifted logits


def test_crossmax_scores_and_predictions(iris):
    X, y = iris
    clf = DeepEnsembleClassifier(aggregation="crossmax", **SMALL).fit(X, y)
    scores = clf.decision_function(X)
    np.testing.assert_allclose(scores, crossmax(_member_logits(clf, X), k=2), atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(axis=1)])
    assert np.all(scores <= 0) and clf.score(X, y) > 0.9
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)  # still the mean


def test_one_wild_member_flips_the_mean_but_not_crossmax(iris):
    X, y = iris
    # Briefly trained: the members are unsure, so one loud member can sway the mean.
    clf = DeepEnsembleClassifier(**{**SMALL, "max_epochs": 6}).fit(X, y)
    clean = clf.predict(X)
    with torch.no_grad():  # member 0 now gives class 2 huge logits on every row
        clf.net_.module_.network.output.bias[0, 0, 2] += 200.0
    flipped = clf.predict(X) != clean
    # The mean probability moves by up to 1 / n_members: rows the others are
    # unsure of now go to class 2.
    assert flipped.sum() >= 5 and np.all(clf.predict(X)[flipped] == 2)
    clf.set_params(aggregation="crossmax")
    assert np.mean(clf.predict(X)[flipped] == clean[flipped]) > 0.8


def test_binary_decision_function_and_mean(iris):
    X, y = iris
    binary = y > 0
    clf = DeepEnsembleClassifier(**SMALL).fit(X, binary)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(clf.decision_function(X), np.log(proba[:, 1] / proba[:, 0]),
                               rtol=1e-6)
    clf.set_params(aggregation="crossmax")
    scores = clf.decision_function(X)
    assert scores.shape == (150,)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(scores > 0).astype(int)])


def test_one_member_scores_by_its_log_probabilities_and_bad_values_raise(iris):
    X, y = iris
    clf = DeepEnsembleClassifier(**{**SMALL, "n_members": 1}, aggregation="crossmax")
    clf.fit(X, y)
    # CrossMax of one member would score every class 0; its log-probabilities instead.
    np.testing.assert_allclose(clf.decision_function(X), np.log(clf.predict_proba(X)),
                               atol=1e-6)
    assert clf.score(X, y) > 0.9
    with pytest.raises(InvalidParameterError, match="'aggregation' parameter"):
        DeepEnsembleClassifier(aggregation="median").fit(X, y)
