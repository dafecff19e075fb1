"""Multi-head ensembles: a shared trunk, one head per member, per-head views of the data."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skens import MultiHeadClassifier, MultiHeadRegressor
from skens.nn import EnsembleLinear, SharedLinear

KW = dict(n_heads=3, hidden_layer_sizes=(16,), max_epochs=8, random_state=0, device="cpu")


def _classification():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _regression():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    return X, X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * rng.normal(size=120)


@pytest.mark.parametrize("view", ["bootstrap", "feature_dropout", "noise"])
def test_classifier_views_fit_and_predict(view):
    X, y = _classification()
    clf = MultiHeadClassifier(view=view, **KW).fit(X, y)
    members = clf.predict_proba_members(X[:5])
    assert members.shape == (3, 5, 2)
    assert not np.allclose(members[0], members[1])  # the heads differ
    np.testing.assert_allclose(clf.predict_proba(X[:5]), members.mean(axis=0))
    assert clf.predict(X[:5]).shape == (5,)
    network = clf.net_.module_.network
    assert isinstance(network.hidden[0], SharedLinear)
    assert isinstance(network.output, EnsembleLinear) and network.output.n_members == 3
    assert (network.views is None) == (view == "bootstrap")
    if view != "bootstrap":
        # Only the scaled numeric columns (not the missing-value indicators, say).
        assert network.views.n_features == clf.preprocessor_.column_layout_.n_numeric


@pytest.mark.parametrize("view", ["bootstrap", "feature_dropout", "noise"])
def test_regressor_views_and_return_std(view):
    X, y = _regression()
    reg = MultiHeadRegressor(view=view, **KW).fit(X, y)
    mean, std = reg.predict(X[:6], return_std=True)
    assert mean.shape == std.shape == (6,) and (std > 0).all()
    members = reg.predict_members(X[:6])
    assert members.shape == (3, 6)
    np.testing.assert_allclose(mean, members.mean(axis=0))


def test_parameters_map_onto_the_deep_ensemble():
    clf = MultiHeadClassifier(n_heads=5, view="feature_dropout")
    assert clf.n_members == 5 and clf.ensemble_type == "shared" and not clf.bootstrap
    assert MultiHeadClassifier(view="bootstrap").bootstrap and not MultiHeadClassifier().bootstrap
    params = clf.get_params()
    assert "n_heads" in params and not {"n_members", "ensemble_type", "bootstrap"} & set(params)
    assert clone(clf).n_members == 5
    assert MultiHeadRegressor(view="noise")._view_strength() == 0.1
    assert MultiHeadRegressor(view="feature_dropout")._view_strength() == 0.2
    assert MultiHeadRegressor(view="noise", view_strength=0.3)._view_strength() == 0.3
    for name in ("n_members", "ensemble_type", "bootstrap"):
        assert f"    {name} : " not in MultiHeadClassifier.__doc__


def test_views_are_reproducible_and_strength_matters():
    X, y = _regression()
    a = MultiHeadRegressor(view="noise", **KW).fit(X, y).predict(X)
    b = MultiHeadRegressor(view="noise", **KW).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    c = MultiHeadRegressor(view="noise", view_strength=0.5, **KW).fit(X, y).predict(X)
    assert not np.allclose(a, c)


@pytest.mark.parametrize(
    "params",
    [dict(view="bagging"), dict(view_strength=1.0), dict(view_strength=-0.1), dict(n_heads=0)],
)
def test_invalid_parameters_raise(params):
    X, y = _classification()
    with pytest.raises(InvalidParameterError):
        MultiHeadClassifier(**{**KW, **params}).fit(X, y)


def test_pickle_round_trip():
    X, y = _classification()
    clf = MultiHeadClassifier(view="feature_dropout", **KW).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert again.n_members == 3


# scikit-learn's common checks run on both estimators in tests/test_common.py.
