import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from skens.metrics import (
    coverage_curve,
    crps_gaussian_loss,
    gaussian_nll_loss,
    interval_coverage_score,
    mean_interval_width,
    quantile_calibration_error,
)


def test_gaussian_nll_matches_scipy():
    rng = np.random.RandomState(0)
    y, mean, std = rng.randn(50), rng.randn(50), rng.rand(50) + 0.2
    assert gaussian_nll_loss(y, mean, std) == pytest.approx(-norm.logpdf(y, mean, std).mean())


def test_gaussian_nll_sample_weight_and_multioutput():
    rng = np.random.RandomState(1)
    y, mean, std = rng.randn(20, 2), rng.randn(20, 2), rng.rand(20, 2) + 0.2
    w = rng.rand(20)
    per_sample = -norm.logpdf(y, mean, std).mean(axis=1)
    assert gaussian_nll_loss(y, mean, std, sample_weight=w) == pytest.approx(
        np.average(per_sample, weights=w)
    )


@pytest.mark.parametrize(
    "args, match",
    [
        (([0.0], [0.0], [0.0]), "strictly positive"),
        (([0.0, 1.0], [0.0], [1.0]), "inconsistent numbers of samples"),
        (([np.nan], [0.0], [1.0]), "NaN"),
    ],
)
def test_gaussian_nll_validation(args, match):
    with pytest.raises(ValueError, match=match):
        gaussian_nll_loss(*args)


# --------------------------------------------------------------------------- CRPS
def _crps_by_integration(y, mu, sigma):
    """integral (F(x) - 1[x >= y])**2 dx, split at the step."""
    below, _ = quad(lambda x: norm.cdf(x, mu, sigma) ** 2, -np.inf, y)
    above, _ = quad(lambda x: norm.sf(x, mu, sigma) ** 2, y, np.inf)
    return below + above


@pytest.mark.parametrize(
    "y, mu, sigma", [(0.0, 0.0, 1.0), (1.3, -0.2, 0.7), (-4.0, 1.0, 2.5), (10.0, 9.0, 0.1)]
)
def test_crps_matches_numerical_integration(y, mu, sigma):
    assert crps_gaussian_loss([y], [mu], [sigma]) == pytest.approx(
        _crps_by_integration(y, mu, sigma), rel=1e-6
    )


def test_crps_of_a_point_prediction_is_the_absolute_error():
    assert crps_gaussian_loss([3.0, -1.0], [1.0, 0.0], [0.0, 0.0]) == 1.5
    # and the Gaussian CRPS tends to it as the std shrinks
    assert crps_gaussian_loss([3.0], [1.0], [1e-6]) == pytest.approx(2.0, abs=1e-5)


def test_crps_sample_weight_and_multioutput():
    rng = np.random.RandomState(2)
    y, mean, std = rng.randn(6, 2), rng.randn(6, 2), rng.rand(6, 2) + 0.3
    w = rng.rand(6)
    per_value = np.vectorize(_crps_by_integration)(y, mean, std)
    assert crps_gaussian_loss(y, mean, std, sample_weight=w) == pytest.approx(
        np.average(per_value.mean(axis=1), weights=w), rel=1e-6
    )


# --------------------------------------------------------------------------- intervals
def test_interval_coverage_and_width_hand_worked():
    y = [0.0, 1.0, 5.0, 2.0]
    lower = [-1.0, 0.0, 0.0, 2.0]
    upper = [1.0, 1.0, 4.0, 3.0]
    # inside: yes, yes (upper bound included), no, yes (lower bound included)
    assert interval_coverage_score(y, lower, upper) == 0.75
    assert interval_coverage_score(y, lower, upper, sample_weight=[1, 1, 2, 0]) == 0.5
    # widths 2, 1, 4, 1
    assert mean_interval_width(lower, upper) == 2.0
    assert mean_interval_width(lower, upper, sample_weight=[1, 1, 2, 0]) == 2.75


def test_interval_metrics_multioutput_average_over_outputs():
    y = np.array([[0.0, 10.0], [1.0, 0.0]])
    lower = np.array([[-1.0, 0.0], [0.0, 0.0]])
    upper = np.array([[1.0, 1.0], [2.0, 4.0]])
    assert interval_coverage_score(y, lower, upper) == 0.75  # sample means 0.5 and 1
    assert (
        mean_interval_width(lower, upper) == 2.25
    )  # widths (2, 1) and (2, 4): sample means 1.5 and 3


# --------------------------------------------------------------------------- Gaussian coverage
def test_coverage_curve_matches_scipy_intervals():
    rng = np.random.RandomState(3)
    y, mean, std = rng.randn(30), rng.randn(30), rng.rand(30) + 0.2
    w = rng.rand(30)
    levels = [0.1, 0.5, 0.9]
    expected = []
    for level in levels:
        lower, upper = norm.interval(level, loc=mean, scale=std)
        expected.append(np.average((lower <= y) & (y <= upper), weights=w))
    got_levels, observed = coverage_curve(y, mean, std, levels=levels, sample_weight=w)
    np.testing.assert_array_equal(got_levels, levels)
    np.testing.assert_allclose(observed, expected)


def test_default_levels():
    levels, observed = coverage_curve([0.0], [0.0], [1.0])
    np.testing.assert_allclose(levels, np.linspace(0.05, 0.95, 19))
    np.testing.assert_array_equal(observed, np.ones(19))  # y == mean is inside every interval


def test_quantile_calibration_error_hand_worked():
    # z-scores 0, 0.5, 3: the 50% interval (|z| <= 0.674) holds 2 of 3, the 99% one (2.576) too.
    # (|2/3 - 0.5| + |2/3 - 0.99|) / 2
    error = quantile_calibration_error([0.0, 0.5, 3.0], [0.0] * 3, [1.0] * 3, levels=[0.5, 0.99])
    assert error == pytest.approx((abs(2 / 3 - 0.5) + abs(2 / 3 - 0.99)) / 2)


def test_quantile_calibration_error_small_for_calibrated_large_for_overconfident():
    rng = np.random.RandomState(4)
    mean, std = rng.randn(20_000), rng.rand(20_000) + 0.5
    y = mean + std * rng.randn(20_000)
    assert quantile_calibration_error(y, mean, std) < 0.01
    assert quantile_calibration_error(y, mean, std / 3) > 0.25
    _, observed = coverage_curve(y, mean, std / 3)
    assert np.all(observed < np.linspace(0.05, 0.95, 19))  # over-confident: under-covers


def test_quantile_calibration_error_multioutput_and_weights():
    rng = np.random.RandomState(5)
    y, mean, std = rng.randn(40, 2), rng.randn(40, 2), rng.rand(40, 2) + 0.2
    w = rng.randint(0, 3, size=40)
    repeated = np.repeat(np.arange(40), w)
    assert quantile_calibration_error(y, mean, std, sample_weight=w) == pytest.approx(
        quantile_calibration_error(y[repeated], mean[repeated], std[repeated])
    )
    # Two outputs: the coverage is the mean of the per-output coverages.
    _, observed = coverage_curve(y, mean, std, levels=[0.5, 0.8])
    per_output = [
        coverage_curve(y[:, k], mean[:, k], std[:, k], levels=[0.5, 0.8])[1] for k in (0, 1)
    ]
    np.testing.assert_allclose(observed, np.mean(per_output, axis=0))


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("metric", [crps_gaussian_loss, coverage_curve, quantile_calibration_error])
@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0.0], [0.0], [-1.0]), {}, "y_std must be non-negative"),
        (([0.0, 1.0], [0.0], [1.0]), {}, "inconsistent numbers of samples"),
        (([0.0, 1.0], [[0.0, 1.0], [0.0, 1.0]], [1.0, 1.0]), {}, "must have the same shape"),
        (([np.nan], [0.0], [1.0]), {}, "NaN"),
        (([0.0], [0.0], [np.inf]), {}, "NaN or infinity"),
        (([0.0], [0.0], [1.0]), {"sample_weight": [-1.0]}, "Negative values"),
        (([0.0], [0.0], [1.0]), {"sample_weight": [0.0]}, "at least one non-zero"),
    ],
)
def test_gaussian_metric_validation(metric, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric(*args, **kwargs)


@pytest.mark.parametrize("metric", [coverage_curve, quantile_calibration_error])
@pytest.mark.parametrize(
    "levels, match",
    [
        ([0.0, 0.5], r"open interval \(0, 1\)"),
        ([0.5, 1.0], r"open interval \(0, 1\)"),
        ([np.nan], r"open interval \(0, 1\)"),
        ([[0.5]], "non-empty 1-D array"),
        ([], "non-empty 1-D array"),
    ],
)
def test_levels_validation(metric, levels, match):
    with pytest.raises(ValueError, match=match):
        metric([0.0], [0.0], [1.0], levels=levels)


@pytest.mark.parametrize(
    "metric, args, match",
    [
        (
            interval_coverage_score,
            ([0.0, 1.0], [1.0, 0.0], [0.0, 2.0]),
            "y_lower must not exceed y_upper",
        ),
        (mean_interval_width, ([1.0, 0.0], [0.0, 2.0]), "y_lower must not exceed y_upper"),
        (
            interval_coverage_score,
            ([0.0], [0.0, 1.0], [1.0, 2.0]),
            "inconsistent numbers of samples",
        ),
        (
            mean_interval_width,
            ([0.0, 1.0], [[1.0, 2.0], [1.0, 2.0]]),
            "y_lower and y_upper must have the same shape",
        ),
        (interval_coverage_score, ([0.0], [np.nan], [1.0]), "NaN"),
        (mean_interval_width, ([0.0], [np.inf]), "NaN or infinity"),
    ],
)
def test_interval_validation(metric, args, match):
    with pytest.raises(ValueError, match=match):
        metric(*args)
