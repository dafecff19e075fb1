"""The scikit-learn clients users run around skens estimators (issue 16), on small data.

Searches (Halving, Optuna), threshold tuning, calibration of a frozen model, permutation
importance, partial dependence and SHAP's KernelExplainer each take a skens estimator as they
take a scikit-learn one. MAPIE is in ``tests/test_mapie.py``, Dask and Ray in
``tests/test_distributed.py``, skops files in ``tests/test_io.py``, metadata routing in
``tests/test_metadata_routing.py``.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV, TunedThresholdClassifierCV

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.metrics import get_scorer

TINY = dict(n_members=2, hidden_layer_sizes=(16,), max_epochs=5, random_state=0)


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(
        n_samples=300, n_features=5, n_informative=3, n_redundant=0, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def fitted(binary):
    X, y = binary
    return DeepEnsembleClassifier(**{**TINY, "max_epochs": 30}).fit(X, y)


def test_halving_random_search_with_a_skens_scorer():
    X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=0)
    search = HalvingRandomSearchCV(
        DeepEnsembleRegressor(**TINY),
        {"lr": [1e-3, 3e-3, 1e-2], "hidden_layer_sizes": [(8,), (16,)]},
        n_candidates=4,
        factor=2,
        min_resources=100,
        cv=2,
        scoring=get_scorer("neg_gaussian_nll"),
        random_state=0,
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    assert search.best_params_ in search.cv_results_["params"]


@pytest.mark.filterwarnings("ignore:OptunaSearchCV is experimental")
def test_optuna_search_with_a_skens_scorer(binary):
    optuna = pytest.importorskip("optuna")
    integration = pytest.importorskip("optuna_integration")
    X, y = binary
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    search = integration.OptunaSearchCV(
        DeepEnsembleClassifier(**TINY),
        {"lr": optuna.distributions.FloatDistribution(1e-3, 1e-2, log=True)},
        n_trials=2,
        cv=2,
        scoring=get_scorer("neg_expected_calibration_error"),
        random_state=0,
    ).fit(X, y)
    assert -1 <= search.best_score_ <= 0
    assert search.predict_proba(X).shape == (len(y), 2)


def test_tuned_threshold(binary):
    X, y = binary
    tuned = TunedThresholdClassifierCV(
        DeepEnsembleClassifier(**TINY), scoring="balanced_accuracy", cv=2, random_state=0
    ).fit(X, y)
    assert 0 < tuned.best_threshold_ < 1
    # The decision rule is the threshold on the positive class's mean probability.
    proba = tuned.estimator_.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(tuned.predict(X), (proba >= tuned.best_threshold_).astype(int))


def test_calibrating_a_frozen_model(binary, fitted):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    X, y = binary
    before = fitted.predict_proba(X)
    calibrated = CalibratedClassifierCV(FrozenEstimator(fitted), method="sigmoid").fit(X, y)
    np.testing.assert_array_equal(fitted.predict_proba(X), before)  # not refitted
    proba = calibrated.predict_proba(X)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_permutation_importance_finds_the_informative_features():
    from sklearn.inspection import permutation_importance

    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)  # features 2 and 3 are noise
    model = DeepEnsembleClassifier(**{**TINY, "max_epochs": 30}).fit(X, y)
    result = permutation_importance(model, X, y, n_repeats=3, random_state=0)
    importance = result.importances_mean
    assert importance[0] > 0.1
    assert importance[0] > max(importance[2], importance[3]) + 0.05


def test_partial_dependence(binary, fitted):
    from sklearn.inspection import partial_dependence

    X, _ = binary
    result = partial_dependence(fitted, X, features=[0], grid_resolution=10)
    assert result["average"].shape == (1, 10)
    assert np.all((result["average"] >= 0) & (result["average"] <= 1))
    assert np.ptp(result["average"]) > 0  # the prediction moves with the feature


def test_shap_kernel_explainer_is_additive(binary, fitted):
    shap = pytest.importorskip("shap")
    X, _ = binary

    def positive(rows):
        return fitted.predict_proba(rows)[:, 1]

    explainer = shap.KernelExplainer(positive, X[:20])
    values = explainer.shap_values(X[:3], nsamples=60, silent=True)
    assert values.shape == (3, X.shape[1])
    # Local accuracy: the base value plus the contributions is the prediction.
    np.testing.assert_allclose(
        explainer.expected_value + values.sum(axis=1), positive(X[:3]), atol=1e-6
    )
