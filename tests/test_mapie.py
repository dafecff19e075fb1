"""MAPIE's conformal regressors and classifiers around skens ensembles.

Each test checks the empirical coverage on held-out rows against the target
(0.9). Margins were set from three seeds (0, 1, 2): the coverage on 500 test
rows after calibrating on 500 has a standard deviation of about 0.02.
"""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")
mapie = pytest.importorskip("mapie")

from mapie.classification import CrossConformalClassifier, SplitConformalClassifier  # noqa: E402
from mapie.regression import (  # noqa: E402
    ConformalizedQuantileRegressor,
    CrossConformalRegressor,
    JackknifeAfterBootstrapRegressor,
    SplitConformalRegressor,
)
from mapie.utils import train_conformalize_test_split  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor  # noqa: E402
from skens.metrics import interval_coverage_score, mean_interval_width  # noqa: E402
from skens.utils import quantile_views  # noqa: E402

SEED = 0
TARGET = 0.9
MARGIN = 0.05
TINY = dict(
    n_members=2,
    hidden_layer_sizes=(16,),
    max_epochs=5,
    numeric_embedding=None,
    early_stopping=False,
    batch_size=32,
    lr=1e-2,
    random_state=SEED,
)


def _heteroscedastic(n=2000, seed=SEED):
    """``sin(x0)`` plus noise whose std grows from 0.1 (x0 = 0) to 2.35 (|x0| = 3)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, (n, 2))
    y = np.sin(X[:, 0]) + (0.1 + X[:, 0] ** 2 / 4) * rng.normal(size=n)
    return X, y


@pytest.fixture(scope="module")
def regression():
    X, y = _heteroscedastic()
    X_train, X_calib, X_test, y_train, y_calib, y_test = train_conformalize_test_split(
        X, y, train_size=0.5, conformalize_size=0.25, test_size=0.25, random_state=SEED
    )
    model = DeepEnsembleRegressor(**TINY).fit(X_train, y_train)
    return model, (X_train, y_train), (X_calib, y_calib), (X_test, y_test)


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(
        n_samples=1000, n_features=6, n_informative=4, n_classes=3, random_state=SEED
    )
    X_train, X_calib, X_test, y_train, y_calib, y_test = train_conformalize_test_split(
        X, y, train_size=0.5, conformalize_size=0.25, test_size=0.25, random_state=SEED
    )
    model = DeepEnsembleClassifier(**TINY).fit(X_train, y_train)
    return model, (X_train, y_train), (X_calib, y_calib), (X_test, y_test)


def _coverage_width(y, intervals):
    """Coverage and mean width of MAPIE's ``(n_samples, 2, 1)`` intervals."""
    lower, upper = intervals[:, 0, 0], intervals[:, 1, 0]
    return interval_coverage_score(y, lower, upper), mean_interval_width(lower, upper)


def _set_coverage(y, sets):
    """Coverage and mean size of MAPIE's ``(n_samples, n_classes, 1)`` boolean sets."""
    return float(sets[np.arange(len(y)), y, 0].mean()), float(sets[:, :, 0].sum(axis=1).mean())


def test_split_conformal_regressor_absolute_and_std_normalized(regression):
    model, _, (X_calib, y_calib), (X_test, y_test) = regression
    results = {}
    for score in ["absolute", "std_normalized"]:  # std_normalized calls predict(return_std=True)
        mapie_reg = SplitConformalRegressor(
            model, confidence_level=TARGET, conformity_score=score, prefit=True
        ).conformalize(X_calib, y_calib)
        y_pred, intervals = mapie_reg.predict_interval(X_test)
        np.testing.assert_allclose(y_pred, model.predict(X_test))
        results[score] = _coverage_width(y_test, intervals)
        assert abs(results[score][0] - TARGET) <= MARGIN, (score, results[score])
    # Scaling the residuals by the ensemble's std adapts the width to the noise:
    # 0.66, 0.72 and 0.87 times the absolute score's width for seeds 0, 1, 2.
    assert results["std_normalized"][1] < 0.95 * results["absolute"][1], results


def test_conformalized_quantile_regressor_on_mixture_quantiles(regression):
    model, _, (X_calib, y_calib), (X_test, y_test) = regression
    alpha = 1 - TARGET
    views = quantile_views(model, [alpha / 2, 1 - alpha / 2, 0.5])
    cqr = ConformalizedQuantileRegressor(views, confidence_level=TARGET, prefit=True)
    cqr.conformalize(X_calib, y_calib)
    y_pred, intervals = cqr.predict_interval(X_test)
    np.testing.assert_allclose(y_pred, model.predict_quantiles(X_test, 0.5))
    coverage, width = _coverage_width(y_test, intervals)
    assert abs(coverage - TARGET) <= MARGIN, coverage
    # The corrected quantiles stay adaptive: wider where |x0| is large.
    lower, upper = intervals[:, 0, 0], intervals[:, 1, 0]
    outer = np.abs(X_test[:, 0]) > 2
    assert (upper - lower)[outer].mean() > 2 * (upper - lower)[~outer].mean()


def test_conformalized_quantile_regressor_refuses_unfitted_skens():
    # Without prefit MAPIE accepts only the quantile regressors it knows by class
    # name; quantile_views with prefit=True is the way in.
    cqr = ConformalizedQuantileRegressor(DeepEnsembleRegressor(**TINY))
    X, y = _heteroscedastic(n=50)
    with pytest.raises(ValueError, match="base model is not supported"):
        cqr.fit(X, y)


def test_cross_conformal_regressor(regression):
    _, (X_train, y_train), (X_calib, y_calib), (X_test, y_test) = regression
    X_fit, y_fit = np.r_[X_train, X_calib], np.r_[y_train, y_calib]
    mapie_reg = CrossConformalRegressor(
        DeepEnsembleRegressor(**TINY), confidence_level=TARGET, cv=3, random_state=SEED
    ).fit_conformalize(X_fit, y_fit)
    coverage, _ = _coverage_width(y_test, mapie_reg.predict_interval(X_test)[1])
    assert abs(coverage - TARGET) <= MARGIN, coverage


def test_jackknife_after_bootstrap_regressor(regression):
    _, (X_train, y_train), (X_calib, y_calib), (X_test, y_test) = regression
    # 20 bootstrap fits on 500 rows: every row is out of some bag (MAPIE warns otherwise).
    X_fit, y_fit = np.r_[X_train, X_calib][:500], np.r_[y_train, y_calib][:500]
    mapie_reg = JackknifeAfterBootstrapRegressor(
        DeepEnsembleRegressor(**TINY), confidence_level=TARGET, resampling=20, random_state=SEED
    ).fit_conformalize(X_fit, y_fit)
    coverage, _ = _coverage_width(y_test, mapie_reg.predict_interval(X_test)[1])
    assert abs(coverage - TARGET) <= MARGIN, coverage


@pytest.mark.parametrize("score", ["lac", "aps"])
def test_split_conformal_classifier(classification, score):
    model, _, (X_calib, y_calib), (X_test, y_test) = classification
    mapie_clf = SplitConformalClassifier(
        model, confidence_level=TARGET, conformity_score=score, prefit=True
    ).conformalize(X_calib, y_calib)
    y_pred, sets = mapie_clf.predict_set(X_test)
    np.testing.assert_array_equal(y_pred, model.predict(X_test))
    coverage, size = _set_coverage(y_test, sets)
    # APS (without randomisation) over-covers by construction: only a lower margin.
    assert coverage >= TARGET - MARGIN, coverage
    if score == "lac":
        assert coverage <= TARGET + MARGIN, coverage
    assert 1 <= size < 3


def test_cross_conformal_classifier(classification):
    _, (X_train, y_train), (X_calib, y_calib), (X_test, y_test) = classification
    X_fit, y_fit = np.r_[X_train, X_calib], np.r_[y_train, y_calib]
    mapie_clf = CrossConformalClassifier(
        DeepEnsembleClassifier(**TINY), confidence_level=TARGET, cv=3, random_state=SEED
    ).fit_conformalize(X_fit, y_fit)
    coverage, size = _set_coverage(y_test, mapie_clf.predict_set(X_test)[1])
    assert abs(coverage - TARGET) <= MARGIN, coverage
    assert size < 3


@pytest.mark.filterwarnings("error")
def test_cqr_on_a_dataframe_with_categorical_columns():
    # MAPIE probes prefit models with n_features_in_ on a row of zeros, which a
    # categorical column refuses: the views do not expose n_features_in_.
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(SEED)
    X = pd.DataFrame(
        {"x": rng.normal(size=300), "c": pd.Categorical(rng.choice(["a", "b", "c"], 300))}
    )
    y = X["x"].to_numpy() + rng.normal(size=300)
    model = DeepEnsembleRegressor(**TINY).fit(X[:200], y[:200])
    cqr = ConformalizedQuantileRegressor(
        quantile_views(model, [0.05, 0.95, 0.5]), confidence_level=TARGET, prefit=True
    ).conformalize(X[200:250], y[200:250])
    y_pred, intervals = cqr.predict_interval(X[250:])
    assert y_pred.shape == (50,) and intervals.shape == (50, 2, 1)
    assert np.all(intervals[:, 0, 0] <= intervals[:, 1, 0])
