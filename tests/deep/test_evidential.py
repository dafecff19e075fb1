"""EvidentialRegressor: deep evidential regression as a deep-ensemble estimator."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.utils._param_validation import InvalidParameterError

from skens import EvidentialRegressor

SMALL = dict(hidden_layer_sizes=(32,), max_epochs=40, random_state=0)


@pytest.fixture(scope="module")
def data():
    return make_regression(n_samples=300, n_features=4, noise=5.0, random_state=0)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return EvidentialRegressor(**SMALL).fit(X, y)


def _nig(reg, X):
    """The members' (gamma, nu, alpha, beta) in y's units, (n_members, n_samples, n_outputs)."""
    return tuple(np.concatenate(parts, axis=1) for parts in zip(*reg._iter_member_nig(X)))


def test_predictions_and_their_uncertainty(fitted, data):
    X, y = data
    reg = fitted
    assert reg.n_members == 1 and reg.noise_variance_ is None
    mean, std = reg.predict(X, return_std=True)
    assert mean.shape == std.shape == (300,)
    np.testing.assert_array_equal(reg.predict(X), mean)
    assert np.corrcoef(mean, y)[0, 1] > 0.95
    assert reg.predict_members(X).shape == (1, 300)
    u = reg.predict_uncertainty(X)
    assert set(u) == {"total", "aleatoric", "epistemic"}
    assert all(u[key].shape == (300,) for key in u)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, rtol=1e-12)
    np.testing.assert_allclose(std**2, u.total, rtol=1e-10)
    assert np.all(u.aleatoric > 0) and np.all(u.epistemic > 0)
    # The paper's moments, in the units of y.
    gamma, nu, alpha, beta = _nig(reg, X)
    np.testing.assert_allclose(mean, gamma[0, :, 0], rtol=1e-12)
    np.testing.assert_allclose(u.aleatoric, (beta / (alpha - 1))[0, :, 0], rtol=1e-12)
    np.testing.assert_allclose(u.epistemic, (beta / (nu * (alpha - 1)))[0, :, 0], rtol=1e-12)
    # The member Gaussians carry the Student-t's variance.
    _, member_std = reg.predict_members(X, return_std=True)
    np.testing.assert_allclose(member_std[0] ** 2, u.total, rtol=1e-10)


def test_rows_are_predicted_independently(fitted, data):
    X, _ = data
    np.testing.assert_array_equal(fitted.predict(X[5:6]), fitted.predict(X)[5:6])


def test_predictions_are_in_the_units_of_y(data):
    X, y = data
    small = EvidentialRegressor(**SMALL).fit(X, y)
    big = EvidentialRegressor(**SMALL).fit(X, 100 * y + 7)
    mean, std = small.predict(X, return_std=True)
    big_mean, big_std = big.predict(X, return_std=True)
    np.testing.assert_allclose(big_mean, 100 * mean + 7, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(big_std, 100 * std, rtol=1e-4)


@pytest.mark.parametrize("random_state", [0, 1])
def test_epistemic_grows_away_from_the_training_data(data, random_state):
    # Standard scaling, so that inputs far out of range stay far out of range
    # (quantile scaling would clip them to the extreme quantiles). The periodic
    # embeddings (the default) matter too: with plain ReLU features the evidence
    # outputs grow linearly away from the data and the epistemic variance may
    # shrink instead, a known weakness of evidential regression.
    X, y = data
    params = {**SMALL, "random_state": random_state}
    reg = EvidentialRegressor(numeric_scaling="standard", **params).fit(X, y)
    inside, outside = reg.predict_uncertainty(X), reg.predict_uncertainty(10 * X)
    # Over four seeds the ratios were 4.8 to 12 (means) and 3.4 to 8.6 (medians).
    assert outside.epistemic.mean() > 2 * inside.epistemic.mean()
    assert np.median(outside.epistemic) > 2 * np.median(inside.epistemic)


def test_an_ensemble_adds_the_members_disagreement(data):
    X, y = data
    reg = EvidentialRegressor(n_members=3, **SMALL).fit(X, y)
    members = reg.predict_members(X)
    assert members.shape == (3, 300)
    mean, std = reg.predict(X, return_std=True)
    np.testing.assert_allclose(mean, members.mean(axis=0))
    u = reg.predict_uncertainty(X)
    gamma, nu, alpha, beta = (t[..., 0] for t in _nig(reg, X))
    np.testing.assert_allclose(u.aleatoric, (beta / (alpha - 1)).mean(axis=0), rtol=1e-12)
    expected = (beta / (nu * (alpha - 1))).mean(axis=0) + members.var(axis=0)
    np.testing.assert_allclose(u.epistemic, expected, rtol=1e-10)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, rtol=1e-12)
    np.testing.assert_allclose(std**2, u.total, rtol=1e-10)
    assert np.all(members.var(axis=0) > 0)


def test_multi_output(data):
    X, y = data
    Y = np.c_[y, -2 * y + 3]
    reg = EvidentialRegressor(n_members=2, **SMALL).fit(X, Y)
    assert reg.n_outputs_ == 2
    mean, std = reg.predict(X, return_std=True)
    assert mean.shape == std.shape == (300, 2)
    assert reg.predict_members(X).shape == (2, 300, 2)
    u = reg.predict_uncertainty(X)
    assert all(u[key].shape == (300, 2) for key in u)
    np.testing.assert_allclose(std**2, u.total, rtol=1e-10)
    assert np.corrcoef(mean[:, 1], Y[:, 1])[0, 1] > 0.95
    # A 2-D y with one column keeps its column.
    single = EvidentialRegressor(**{**SMALL, "max_epochs": 2}).fit(X, y[:, None])
    assert single.predict(X).shape == single.predict_uncertainty(X).total.shape == (300, 1)


def test_mixed_precision_fit(data):
    X, y = data
    reg = EvidentialRegressor(precision="bf16", **{**SMALL, "max_epochs": 5}).fit(X, y)
    u = reg.predict_uncertainty(X)
    assert all(np.all(np.isfinite(u[key])) and np.all(u[key] > 0) for key in u)


def test_pickle_round_trip(fitted, data):
    X, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    mean, std = fitted.predict(X, return_std=True)
    restored_mean, restored_std = restored.predict(X, return_std=True)
    np.testing.assert_array_equal(restored_mean, mean)
    np.testing.assert_array_equal(restored_std, std)
    for key, value in fitted.predict_uncertainty(X).items():
        np.testing.assert_array_equal(restored.predict_uncertainty(X)[key], value)


def test_params_and_clone():
    reg = EvidentialRegressor(coeff=0.5, n_members=2, hidden_layer_sizes=(8,))
    params = reg.get_params()
    assert params["coeff"] == 0.5 and params["n_members"] == 2
    assert "loss" not in params and not hasattr(reg, "loss")
    cloned = clone(reg)
    assert cloned.get_params() == params
    assert cloned.set_params(coeff=0.0).coeff == 0.0
    assert EvidentialRegressor().n_members == 1 and EvidentialRegressor().coeff == 1e-2
    with pytest.raises(TypeError):
        EvidentialRegressor(loss="mse")


@pytest.mark.parametrize("coeff", [-0.1, "large", None])
def test_bad_coeff_raises(data, coeff):
    X, y = data
    with pytest.raises(InvalidParameterError, match="'coeff' parameter"):
        EvidentialRegressor(coeff=coeff, max_epochs=1).fit(X, y)


def test_training_records_the_evidential_losses(fitted):
    assert fitted._task.loss_name == "evidential" and fitted._task.coeff == 1e-2
    assert len(fitted.loss_curve_) == fitted.n_iter_
    assert len(fitted.validation_loss_curve_) == fitted.n_iter_
    assert np.all(np.isfinite(fitted.loss_curve_))
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]


# scikit-learn's common checks run on EvidentialRegressor in tests/test_common.py.
