"""The member-output seam: any object that yields member outputs gets the prediction API."""

import numpy as np
import pytest

from skens.base import EnsembleClassifierMixin, EnsembleRegressorMixin
from skens.metrics import entropy_decomposition, gaussian_variance_decomposition


class ToyClassifier(EnsembleClassifierMixin):
    """Three fixed 'members', softmax of X @ W_k, yielded in batches of 4 rows."""

    classes_ = np.array(["a", "b"])

    def __init__(self, weights=None):
        rng = np.random.RandomState(0)
        self.W = rng.normal(size=(3, 2, 2))
        if weights is not None:
            self.weights_ = np.asarray(weights, dtype=float)

    def member_proba(self, X):
        logits = np.einsum("nf,kfc->knc", X, self.W)
        e = np.exp(logits - logits.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def _iter_member_proba(self, X):
        for start in range(0, len(X), 4):
            yield self.member_proba(X[start : start + 4])


class ToyRegressor(EnsembleRegressorMixin):
    _y_ndim = 1

    def __init__(self, weights=None):
        if weights is not None:
            self.weights_ = np.asarray(weights, dtype=float)

    def members(self, X):
        means = np.stack([X[:, :1] * k for k in (1.0, 2.0, 3.0)])
        variances = np.stack([np.full((len(X), 1), v) for v in (0.5, 1.0, 2.0)])
        return means, variances

    def _iter_member_gaussians(self, X):
        for start in range(0, len(X), 4):
            yield self.members(X[start : start + 4])


X = np.random.RandomState(1).normal(size=(10, 2))


@pytest.mark.parametrize("weights", [None, [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
def test_classifier_api_from_member_probabilities(weights):
    est = ToyClassifier(weights)
    members = est.member_proba(X)
    w = np.full(3, 1 / 3) if weights is None else np.asarray(weights) / np.sum(weights)
    expected = np.tensordot(w, members, axes=1)
    np.testing.assert_allclose(est.predict_proba(X), expected)
    np.testing.assert_array_equal(est.predict(X), est.classes_[expected.argmax(1)])
    np.testing.assert_allclose(est.predict_proba_members(X), members)
    u = est.predict_uncertainty(X)
    reference = entropy_decomposition(members, weights=weights)
    for key in ("total", "aleatoric", "epistemic"):
        np.testing.assert_allclose(u[key], reference[key])
    if weights == [1.0, 0.0, 0.0]:  # one member carries all the weight: no disagreement
        np.testing.assert_allclose(u.epistemic, 0.0, atol=1e-12)


@pytest.mark.parametrize("weights", [None, [0.2, 0.3, 0.5]])
def test_regressor_api_from_member_gaussians(weights):
    est = ToyRegressor(weights)
    means, variances = est.members(X)
    w = np.full(3, 1 / 3) if weights is None else np.asarray(weights) / np.sum(weights)
    mean = np.tensordot(w, means, axes=1)[:, 0]
    var = np.tensordot(w, variances + (means - mean[None, :, None]) ** 2, axes=1)[:, 0]
    got_mean, got_std = est.predict(X, return_std=True)
    np.testing.assert_allclose(got_mean, mean)
    np.testing.assert_allclose(got_std, np.sqrt(var))
    np.testing.assert_allclose(est.predict(X), mean)
    member_mean, member_std = est.predict_members(X, return_std=True)
    np.testing.assert_allclose(member_mean, means[..., 0])
    np.testing.assert_allclose(member_std, np.sqrt(variances[..., 0]))
    u = est.predict_uncertainty(X)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic)
    np.testing.assert_allclose(u.total, var)


def test_uniform_weights_equal_no_weights():
    means = np.random.RandomState(0).normal(size=(4, 6, 2))
    variances = np.random.RandomState(1).uniform(0.1, 1, size=(4, 6, 2))
    plain = gaussian_variance_decomposition(means, variances)
    weighted = gaussian_variance_decomposition(means, variances, weights=[2, 2, 2, 2])
    for key in plain:
        np.testing.assert_allclose(weighted[key], plain[key])


@pytest.mark.parametrize(
    "weights, match",
    [([1.0, 2.0], "shape"), ([1.0, -1.0, 1.0], "non-negative"), ([0.0, 0.0, 0.0], "not all zero")],
)
def test_bad_member_weights_are_rejected(weights, match):
    proba = np.full((3, 2, 2), 0.5)
    with pytest.raises(ValueError, match=match):
        entropy_decomposition(proba, weights=weights)
    with pytest.raises(ValueError, match=match):
        gaussian_variance_decomposition(proba, proba, weights=weights)
