import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.calibration import CalibrationDisplay  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.gaussian_process import GaussianProcessRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from skens.metrics import (  # noqa: E402
    RegressionUncertaintyDisplay,
    ReliabilityDisplay,
    RiskCoverageDisplay,
    aurc_loss,
    coverage_curve,
    expected_calibration_error,
    interval_coverage_score,
    reliability_curve,
    risk_coverage_curve,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def multiclass():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    return clf, X, y


# ---------------------------------------------------------------- reliability
def test_reliability_display_from_predictions(multiclass):
    clf, X, y = multiclass
    proba = clf.predict_proba(X)
    disp = ReliabilityDisplay.from_predictions(y, proba, n_bins=10, name="logreg")
    accuracy, confidence, _, _ = reliability_curve(y, proba, n_bins=10)
    np.testing.assert_allclose(disp.line_.get_xdata(), confidence)
    np.testing.assert_allclose(disp.line_.get_ydata(), accuracy)
    ece = expected_calibration_error(y, proba, n_bins=10)
    assert disp.ece == pytest.approx(ece)
    assert f"logreg (ECE = {ece:.3f})" in disp.ax_.get_legend_handles_labels()[1]
    assert disp.figure_ is disp.ax_.figure
    heights = [patch.get_height() for patch in disp.hist_ax_.patches]
    assert sum(heights) == pytest.approx(1.0)  # the histogram shows shares of samples
    assert isinstance(disp, CalibrationDisplay)


def test_reliability_display_from_estimator_matches_predictions(multiclass):
    clf, X, y = multiclass
    a = ReliabilityDisplay.from_estimator(clf, X, y, n_bins=8)
    b = ReliabilityDisplay.from_predictions(y, clf.predict_proba(X), n_bins=8)
    np.testing.assert_allclose(a.accuracy, b.accuracy)
    assert a.estimator_name == "LogisticRegression"


def test_reliability_display_binary_vector_and_shared_axes():
    rng = np.random.RandomState(0)
    p = rng.rand(200)
    y = (rng.rand(200) < p).astype(int)
    first = ReliabilityDisplay.from_predictions(y, p, name="a", histogram=False)
    assert first.hist_ax_ is None
    second = ReliabilityDisplay.from_predictions(y, p ** 2, name="b", ax=first.ax_, histogram=False)
    assert second.ax_ is first.ax_
    labels = first.ax_.get_legend_handles_labels()[1]
    assert sum(label.startswith(("a (ECE", "b (ECE")) for label in labels) == 2


# -------------------------------------------------------------- risk-coverage
def test_risk_coverage_display_from_predictions():
    y_true = np.array([0, 1, 1, 0, 1, 0])
    y_pred = np.array([0, 1, 0, 1, 1, 0])
    confidence = np.array([0.9, 0.8, 0.3, 0.4, 0.7, 0.6])
    disp = RiskCoverageDisplay.from_predictions(y_true, y_pred, confidence, name="m")
    coverage, risk, _ = risk_coverage_curve(y_true, y_pred, confidence)
    np.testing.assert_allclose(disp.line_.get_xdata(), coverage)
    np.testing.assert_allclose(disp.line_.get_ydata(), risk)
    assert disp.aurc == pytest.approx(aurc_loss(y_true, y_pred, confidence))
    assert disp.ax_.get_xlabel() == "Coverage"


def test_several_models_on_one_axis(multiclass):
    clf, X, y = multiclass
    weak = LogisticRegression(C=1e-4, max_iter=1000).fit(X, y)
    disp = RiskCoverageDisplay.from_estimator(clf, X, y, name="strong")
    RiskCoverageDisplay.from_estimator(weak, X, y, name="weak", ax=disp.ax_)
    labels = disp.ax_.get_legend_handles_labels()[1]
    assert len(disp.ax_.get_lines()) == 2
    assert labels[0].startswith("strong (AURC =") and labels[1].startswith("weak (AURC =")


@pytest.mark.parametrize("confidence", ["max_proba", "negative_entropy", lambda est, X: -X[:, 0]])
def test_risk_coverage_confidence_choices(multiclass, confidence):
    clf, X, y = multiclass
    disp = RiskCoverageDisplay.from_estimator(clf, X, y, confidence=confidence)
    assert disp.coverage[-1] == 1.0
    assert disp.risk[-1] == pytest.approx(1 - clf.score(X, y))


def test_risk_coverage_rejects_unknown_confidence(multiclass):
    clf, X, y = multiclass
    with pytest.raises(ValueError, match="confidence must be 'max_proba'"):
        RiskCoverageDisplay.from_estimator(clf, X, y, confidence="margin")


# ------------------------------------------------------------------ regression
@pytest.fixture(scope="module")
def gaussian_predictions():
    rng = np.random.RandomState(0)
    mean = rng.randn(500)
    std = rng.rand(500) + 0.5
    y = mean + std * rng.randn(500)  # drawn from the predicted distributions
    return y, mean, std


def test_regression_display_from_predictions(gaussian_predictions):
    y, mean, std = gaussian_predictions
    disp = RegressionUncertaintyDisplay.from_predictions(y, mean, std, name="model")
    assert len(disp.ax_) == 2 and disp.figure_ is disp.ax_[0].figure
    levels, observed = coverage_curve(y, mean, std)
    np.testing.assert_allclose(disp.coverage_line_.get_xdata(), levels)
    np.testing.assert_allclose(disp.coverage_line_.get_ydata(), observed)
    covered = interval_coverage_score(y, mean - 1.6448536 * std, mean + 1.6448536 * std)
    assert f"model: 90% intervals cover {covered:.1%}" in disp.ax_[0].get_legend_handles_labels()[1]
    assert np.abs(observed - levels).max() < 0.08  # calibrated by construction


def test_regression_display_from_estimator_on_given_axes():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 1) * 6
    y = np.sin(X[:, 0]) + 0.1 * rng.randn(60)
    gp = GaussianProcessRegressor(alpha=0.01, optimizer=None).fit(X, y)
    fig, axes = plt.subplots(1, 2)
    disp = RegressionUncertaintyDisplay.from_estimator(gp, X, y, ax=axes, max_points=20)
    assert disp.ax_[0] is axes[0] and disp.figure_ is fig
    assert disp.estimator_name == "GaussianProcessRegressor"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(interval_level=1.0), "interval_level must be in"),
        (dict(ax=[None]), "ax must hold two Axes"),
    ],
)
def test_regression_display_bad_arguments(gaussian_predictions, kwargs, match):
    y, mean, std = gaussian_predictions
    with pytest.raises(ValueError, match=match):
        RegressionUncertaintyDisplay.from_predictions(y, mean, std, **kwargs)


def test_regression_display_wants_one_output(gaussian_predictions):
    y, mean, std = gaussian_predictions
    with pytest.raises(ValueError, match="shows one output"):
        RegressionUncertaintyDisplay.from_predictions(
            np.c_[y, y], np.c_[mean, mean], np.c_[std, std]
        )
