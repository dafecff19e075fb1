"""Quantiles of Gaussian mixtures and of skens regressors' predictive distributions."""

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from skens.base import EnsembleRegressorMixin
from skens.metrics import gaussian_mixture_quantiles
from skens.utils import QuantileView, quantile_views

LEVELS = np.array([1e-6, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1 - 1e-6])


def _reference_quantile(means, stds, weights, q):
    """The mixture quantile by scipy's CDF and Brent's root finder."""
    if q <= 0.5:
        def f(x):
            return np.sum(weights * norm.cdf(x, means, stds)) - q
    else:
        def f(x):
            return (1 - q) - np.sum(weights * norm.sf(x, means, stds))
    lo = np.min(norm.ppf(q, means, stds)) - 1
    hi = np.max(norm.ppf(q, means, stds)) + 1
    return brentq(f, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=500)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weighted", [False, True])
def test_mixture_quantiles_match_scipy(seed, weighted):
    rng = np.random.default_rng(seed)
    n_members, n_samples = rng.integers(1, 6), 6
    means = rng.normal(0, rng.uniform(0.1, 50), (n_members, n_samples))
    stds = rng.uniform(0.01, 10, (n_members, n_samples))
    weights = rng.uniform(0, 1, n_members) if weighted else None
    means_before, stds_before = means.copy(), stds.copy()
    got = gaussian_mixture_quantiles(means, stds, LEVELS, weights=weights)
    assert got.shape == (n_samples, len(LEVELS))
    w = np.full(n_members, 1 / n_members) if weights is None else weights / weights.sum()
    for i in range(n_samples):
        expected = [_reference_quantile(means[:, i], stds[:, i], w, q) for q in LEVELS]
        np.testing.assert_allclose(got[i], expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(means, means_before)  # inputs untouched
    np.testing.assert_array_equal(stds, stds_before)


def test_one_member_is_the_normal_ppf():
    rng = np.random.default_rng(0)
    means, stds = rng.normal(size=(1, 20, 3)), rng.uniform(0.1, 5, (1, 20, 3))
    got = gaussian_mixture_quantiles(means, stds, LEVELS)
    assert got.shape == (20, 3, len(LEVELS))
    expected = norm.ppf(LEVELS, means[0][..., None], stds[0][..., None])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_shapes_monotonicity_and_weights():
    rng = np.random.default_rng(1)
    means, stds = rng.normal(size=(3, 8)), rng.uniform(0.5, 2, (3, 8))
    assert gaussian_mixture_quantiles(means, stds, 0.3).shape == (8,)
    assert gaussian_mixture_quantiles(means, stds, [0.3]).shape == (8, 1)
    assert gaussian_mixture_quantiles(means[:, 0], stds[:, 0], [0.1, 0.9]).shape == (2,)
    q = gaussian_mixture_quantiles(means, stds, np.linspace(0.01, 0.99, 25))
    assert np.all(np.diff(q, axis=-1) > 0)
    # all the weight on one member: that member's quantiles
    only_second = gaussian_mixture_quantiles(means, stds, LEVELS, weights=[0, 1, 0])
    np.testing.assert_allclose(
        only_second, norm.ppf(LEVELS, means[1][:, None], stds[1][:, None]), atol=1e-9
    )
    # a symmetric two-member mixture has its median at the middle
    median = gaussian_mixture_quantiles([[-5.0], [5.0]], [[1.0], [1.0]], 0.5)
    np.testing.assert_allclose(median, [0.0], atol=1e-9)


def test_point_masses():
    # a zero std is a point mass: the quantiles of {0, 1} with equal weights
    got = gaussian_mixture_quantiles([[0.0], [1.0]], [[0.0], [0.0]], [0.25, 0.75])
    np.testing.assert_allclose(got, [[0.0, 1.0]], atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(quantiles=[0.0, 0.5]), "open interval"),
        (dict(quantiles=[0.5, 1.0]), "open interval"),
        (dict(quantiles=[[0.5]]), "1-D"),
        (dict(quantiles=[]), "non-empty"),
        (dict(quantiles="median"), "numbers in"),
        (dict(stds=[[1.0, 1.0]]), "same shape"),
        (dict(stds=[[-1.0], [1.0]]), "non-negative"),
        (dict(means=[[np.nan], [0.0]]), "finite"),
        (dict(means=5.0, stds=1.0), "member axis first"),
        (dict(weights=[1.0]), "weights must have shape"),
        (dict(weights=[0.0, 0.0]), "not all zero"),
    ],
)
def test_mixture_quantiles_errors(kwargs, match):
    args = dict(means=[[0.0], [1.0]], stds=[[1.0], [1.0]], quantiles=[0.5])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        gaussian_mixture_quantiles(
            args["means"], args["stds"], args["quantiles"], weights=args.get("weights")
        )


class _Members(EnsembleRegressorMixin, BaseEstimator):
    """A torch-free ensemble of fixed member Gaussians, in two batches."""

    def __init__(self, means, variances, y_ndim=1, weights=None):
        self.means, self.variances, self._y_ndim = means, variances, y_ndim
        if weights is not None:
            self.weights_ = np.asarray(weights)
        self.n_features_in_ = 1

    def fit(self, X, y):  # pragma: no cover - fitted at construction
        return self

    def __sklearn_is_fitted__(self):
        return True

    def _iter_member_gaussians(self, X):
        n = len(X)
        half = n // 2
        for rows in (slice(0, half), slice(half, n)):
            yield self.means[:, rows], self.variances[:, rows]


@pytest.mark.parametrize("weights", [None, [0.2, 0.5, 0.3]])
def test_predict_quantiles_is_the_mixture_of_the_members(weights):
    rng = np.random.default_rng(2)
    means, variances = rng.normal(size=(3, 9, 1)), rng.uniform(0.1, 2, (3, 9, 1))
    model = _Members(means, variances, weights=weights)
    X = np.zeros((9, 1))
    got = model.predict_quantiles(X, LEVELS)
    assert got.shape == (9, len(LEVELS))
    member_means, member_stds = model.predict_members(X, return_std=True)
    expected = gaussian_mixture_quantiles(member_means, member_stds, LEVELS, weights=weights)
    np.testing.assert_allclose(got, expected)
    assert model.predict_quantiles(X, 0.5).shape == model.predict(X).shape
    # the mixture's quantiles bracket its mean where it is unimodal-ish
    q = model.predict_quantiles(X, [0.05, 0.95])
    mean = model.predict(X)
    assert np.all((q[:, 0] < mean) & (mean < q[:, 1]))


def test_predict_quantiles_multi_output_and_errors():
    rng = np.random.default_rng(3)
    model = _Members(rng.normal(size=(2, 4, 3)), rng.uniform(0.1, 2, (2, 4, 3)), y_ndim=2)
    assert model.predict_quantiles(np.zeros((4, 1)), [0.1, 0.9]).shape == (4, 3, 2)
    assert model.predict_quantiles(np.zeros((4, 1)), 0.1).shape == (4, 3)
    with pytest.raises(ValueError, match="open interval"):
        model.predict_quantiles(np.zeros((4, 1)), [0.5, 1.5])


def test_quantile_view():
    rng = np.random.default_rng(4)
    model = _Members(rng.normal(size=(2, 6, 1)), rng.uniform(0.1, 2, (2, 6, 1)))
    X = np.zeros((6, 1))
    lower, upper, median = quantile_views(model, [0.05, 0.95, 0.5])
    np.testing.assert_allclose(lower.predict(X), model.predict_quantiles(X, 0.05))
    np.testing.assert_allclose(upper.predict(X), model.predict_quantiles(X, 0.95))
    assert median.fit(X, np.ones(6)) is median  # a no-op
    np.testing.assert_allclose(median.predict(X), model.predict_quantiles(X, 0.5))
    assert median.is_fitted and median.quantile == 0.5
    assert repr(median) == "QuantileView(_Members(...), quantile=0.5)"
    with pytest.raises(ValueError, match="open interval"):
        QuantileView(model, 1.0)
    with pytest.raises(ValueError, match="single number"):
        QuantileView(model, [0.5])
    with pytest.raises(ValueError, match="1-D array of levels"):
        quantile_views(model, 0.5)
    with pytest.raises(TypeError, match="predict_quantiles"):
        QuantileView(object(), 0.5)


def test_deep_ensemble_regressor_quantiles():
    pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from skens import DeepEnsembleRegressor, MCDropoutRegressor

    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (200, 2))
    y = X[:, 0] + 0.3 * rng.normal(size=200)
    tiny = dict(hidden_layer_sizes=(16,), max_epochs=3, early_stopping=False, random_state=0)
    with pytest.raises(NotFittedError):
        QuantileView(DeepEnsembleRegressor(**tiny), 0.5)
    for model in [DeepEnsembleRegressor(n_members=2, **tiny), MCDropoutRegressor(**tiny)]:
        model.fit(X, y)
        got = model.predict_quantiles(X[:20], [0.1, 0.5, 0.9])
        assert got.shape == (20, 3) and np.all(np.diff(got, axis=1) > 0)
        means, stds = model.predict_members(X[:20], return_std=True)
        expected = gaussian_mixture_quantiles(means, stds, [0.1, 0.5, 0.9])
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
        view = QuantileView(model, 0.9)
        np.testing.assert_allclose(view.predict(X[:20]), got[:, 2])
        with pytest.raises(ValueError, match="open interval"):
            model.predict_quantiles(X[:20], [-0.1])
