"""MC dropout estimators: a network's dropout samples are the members."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_regression
from sklearn.utils._param_validation import InvalidParameterError

from skens import DeepEnsembleClassifier, MCDropoutClassifier, MCDropoutRegressor

SMALL = dict(hidden_layer_sizes=(32,), max_epochs=20, dropout=0.3, random_state=0)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


def test_the_samples_are_the_members(cancer):
    X, y = cancer
    clf = MCDropoutClassifier(n_samples=12, n_members=2, **SMALL).fit(X, y)
    members = clf.predict_proba_members(X[:20])
    assert members.shape == (24, 20, 2)
    assert np.all(members.std(axis=0) > 0)  # the samples differ on every row
    np.testing.assert_allclose(clf.predict_proba(X[:20]), members.mean(axis=0))
    assert np.all(clf.predict_uncertainty(X[:20])["epistemic"] > 0)
    # Deterministic, and a row's prediction does not depend on the rows beside it.
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.predict_proba(X[5:6]), clf.predict_proba(X)[5:6])
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_the_samples_average_to_about_the_network(cancer):
    X, y = cancer
    mc = MCDropoutClassifier(n_samples=30, **SMALL).fit(X, y)
    single = DeepEnsembleClassifier(n_members=1, **SMALL).fit(X, y)
    # Same training (same seed): the sample mean stays close to the network without dropout.
    assert np.abs(mc.predict_proba(X) - single.predict_proba(X)).mean() < 0.03
    assert np.mean(mc.predict(X) == single.predict(X)) > 0.97


def test_dropout_must_be_positive(cancer):
    X, y = cancer
    with pytest.raises(InvalidParameterError, match="'dropout' parameter"):
        MCDropoutClassifier(dropout=0.0).fit(X, y)


@pytest.mark.parametrize("loss", ["gaussian_nll", "mse"])
def test_the_regressor(loss):
    X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=0)
    reg = MCDropoutRegressor(n_samples=8, loss=loss, **{**SMALL, "max_epochs": 40}).fit(X, y)
    mean, std = reg.predict(X, return_std=True)
    members = reg.predict_members(X)
    assert members.shape == (8, 300)
    np.testing.assert_allclose(mean, members.mean(axis=0))
    assert np.all(std > 0)
    assert np.corrcoef(mean, y)[0, 1] > 0.9
    if loss == "mse":
        assert reg.noise_variance_.shape == (8, 1)
    else:
        assert reg.noise_variance_ is None
