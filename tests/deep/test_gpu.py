"""GPU behaviour; skipped on machines without CUDA."""

import pickle

import numpy as np
from sklearn.datasets import make_classification, make_regression

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from tests.conftest import requires_cuda

pytestmark = requires_cuda


def test_auto_device_trains_on_cuda(tiny):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = DeepEnsembleClassifier(**tiny).fit(X, y)
    assert clf.device_.startswith("cuda")
    assert all(p.is_cuda for p in clf.net_.module_.parameters())
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64 and isinstance(proba, np.ndarray)
    assert clf.score(X, y) > 0.8


def test_cuda_and_cpu_fits_agree_closely(tiny):
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    params = {**tiny, "dropout": 0.0, "early_stopping": False}
    gpu = DeepEnsembleRegressor(**params, device="cuda").fit(X, y)
    cpu = DeepEnsembleRegressor(**params, device="cpu").fit(X, y)
    # Same seeds, same initial weights; only kernel rounding differs.
    assert np.corrcoef(gpu.predict(X), cpu.predict(X))[0, 1] > 0.99


def test_cuda_model_pickles_and_predicts(tiny):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = DeepEnsembleClassifier(**tiny, device="cuda").fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))


def test_large_prediction_in_batches(tiny):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = DeepEnsembleClassifier(**tiny, device="cuda").fit(X, y)
    X_big = np.random.RandomState(0).randn(300_000, 5)
    proba = clf.predict_proba(X_big)
    assert proba.shape == (300_000, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
