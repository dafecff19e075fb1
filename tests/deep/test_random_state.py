"""Every random draw of a fit comes from generators the estimator owns.

Concurrent fits of the same seeded estimator (threads, as joblib's threading
backend and OptunaSearchCV run them) are bit-identical to a sequential fit
on the CPU, and a fit neither reads nor moves torch's or numpy's global
random state.
"""

import threading

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor

# Dropout on, bootstrap on, periodic embeddings on, several batches per epoch:
# every source of randomness of a fit takes part.
PARAMS = dict(
    n_members=3,
    hidden_layer_sizes=(16,),
    dropout=0.2,
    bootstrap=True,
    max_epochs=6,
    batch_size=32,
    device="cpu",
    random_state=0,
)


def _data(Estimator):
    if Estimator is DeepEnsembleRegressor:
        return make_regression(n_samples=160, n_features=5, noise=1.0, random_state=0)
    return make_classification(n_samples=160, n_features=5, random_state=0)


def _outputs(model, X):
    if isinstance(model, DeepEnsembleRegressor):
        return model.predict_members(X, return_std=True)[1]
    return model.predict_proba_members(X)


@pytest.mark.parametrize("Estimator", [DeepEnsembleClassifier, DeepEnsembleRegressor])
def test_concurrent_fits_equal_the_sequential_fit(Estimator):
    X, y = _data(Estimator)
    estimator = Estimator(**PARAMS)
    expected = _outputs(clone(estimator).fit(X, y), X)
    fitted = Parallel(n_jobs=4, backend="threading")(
        delayed(clone(estimator).fit)(X, y) for _ in range(4)
    )
    for model in fitted:
        np.testing.assert_array_equal(_outputs(model, X), expected)


def test_a_fit_leaves_the_global_generators_alone():
    X, y = _data(DeepEnsembleClassifier)
    torch.manual_seed(123)
    np.random.seed(123)
    expected_torch, expected_numpy = torch.rand(5), np.random.rand(5)
    torch.manual_seed(123)
    np.random.seed(123)
    DeepEnsembleClassifier(**PARAMS).fit(X, y)
    torch.testing.assert_close(torch.rand(5), expected_torch, rtol=0, atol=0)
    np.testing.assert_array_equal(np.random.rand(5), expected_numpy)


def test_a_fit_in_one_thread_does_not_move_another_threads_draws():
    # This thread draws from torch's global generator for as long as a fit runs
    # in another thread, and must see the sequence its own seed gives.
    X, y = _data(DeepEnsembleRegressor)
    fit = threading.Thread(target=DeepEnsembleRegressor(**PARAMS).fit, args=(X, y))
    torch.manual_seed(7)
    draws = []
    fit.start()
    while fit.is_alive() or len(draws) < 100:
        draws.append(float(torch.rand(1)))
    fit.join()
    torch.manual_seed(7)
    expected = [float(torch.rand(1)) for _ in draws]
    assert draws == expected


def test_unseeded_fits_differ():
    # random_state=None still draws fresh randomness (from numpy's global state).
    X, y = _data(DeepEnsembleClassifier)
    params = dict(PARAMS, random_state=None)
    a = DeepEnsembleClassifier(**params).fit(X, y).predict_proba(X)
    b = DeepEnsembleClassifier(**params).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("Estimator", [DeepEnsembleClassifier, DeepEnsembleRegressor])
def test_a_rows_prediction_does_not_depend_on_the_rows_beside_it(Estimator):
    # One row alone, or last in a batch, goes through the same kernels as in a
    # larger batch: scikit-learn's check_methods_subset_invariance asks 1e-7.
    # On the CPU: cuBLAS picks its kernels by the number of rows, so on CUDA a
    # row's outputs can differ in the last bits between batch sizes
    # (benchmarks/check_row_independence.py).
    X, y = _data(Estimator)
    model = Estimator(**dict(PARAMS, hidden_layer_sizes=(256, 256))).fit(X, y)  # on the CPU
    method = model.predict if Estimator is DeepEnsembleRegressor else model.predict_proba
    full = method(X[:41])
    one_by_one = np.concatenate([method(X[i : i + 1]) for i in range(41)])
    np.testing.assert_array_equal(one_by_one, full)
