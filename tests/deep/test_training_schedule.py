"""The training schedule: automatic batch size, patience in steps, small tables."""

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import _regression_dataset

from skens import DeepEnsembleRegressor
from skens.deep._base import _auto_batch_size, _effective_patience


@pytest.mark.parametrize(
    "n_train, expected",
    [(1, 1), (10, 10), (80, 16), (160, 16), (300, 32), (800, 128), (1449, 256), (100_000, 256)],
)
def test_auto_batch_size_gives_several_steps_per_epoch(n_train, expected):
    assert _auto_batch_size(n_train) == expected
    if n_train >= 128:
        assert np.ceil(n_train / expected) >= 5


@pytest.mark.parametrize(
    "patience, n_train, batch_size, expected",
    [
        (10, 3200, 256, 10),
        (10, 160, 160, 100),
        (10, 160, 16, 10),
        (3, 160, 32, 20),
        (50, 10, 10, 100),
    ],
)
def test_patience_spans_at_least_100_steps(patience, n_train, batch_size, expected):
    assert _effective_patience(patience, n_train, batch_size) == expected


def test_patience_is_counted_in_steps_too():
    # One step per epoch (the whole table in one batch): patience=2 epochs would
    # stop after two steps; training goes on for 100 steps without improvement.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=60)
    est = DeepEnsembleRegressor(
        n_members=2, hidden_layer_sizes=(8,), batch_size=1000, patience=2, max_epochs=150,
        random_state=0, device="cpu",
    ).fit(X, y)
    best_epoch = est.validation_loss_curve_.index(est.best_loss_)
    assert est.n_iter_ == 150 or est.n_iter_ - 1 - best_epoch == 100


@pytest.mark.parametrize("seed", range(3))
def test_default_regressor_learns_the_small_check_table(seed):
    # scikit-learn's check_regressors_train data (200 rows, one informative feature):
    # with a one-step epoch, seed 0 used to stop at a constant prediction (R² 0.003).
    X, y = _regression_dataset()
    X = StandardScaler().fit_transform(X)
    y = StandardScaler().fit_transform(y.reshape(-1, 1)).ravel()
    est = DeepEnsembleRegressor(n_members=4, max_epochs=60, random_state=seed).fit(X, y)
    assert est.score(X, y) > 0.5
    assert np.std(est.predict(X)) > 0.3 * np.std(y)
