"""Snapshot ensembles: a cyclic cosine learning rate and a member per cycle."""

import math
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, make_regression

from skens import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor
from skens.deep._snapshot import CyclicSnapshots, cyclic_cosine_factor

SMALL = dict(hidden_layer_sizes=(32,), random_state=0)


def test_the_factor_anneals_and_restarts():
    assert cyclic_cosine_factor(0, 10) == 1.0
    assert cyclic_cosine_factor(5, 10) == pytest.approx(0.5)
    assert cyclic_cosine_factor(9, 10) == pytest.approx(0.5 * (math.cos(0.9 * math.pi) + 1))
    assert cyclic_cosine_factor(10, 10) == 1.0  # a new cycle
    assert cyclic_cosine_factor(23, 10) == cyclic_cosine_factor(3, 10)


def test_the_callback_sets_the_learning_rate_and_keeps_a_copy_per_cycle():
    network = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.4)
    net = SimpleNamespace(
        optimizer_=optimizer,
        module_=SimpleNamespace(network=network),
        get_iterator=lambda dataset, training: range(3),  # 3 steps per epoch
    )
    callback = CyclicSnapshots(cycle_epochs=2).initialize()  # cycles of 6 steps
    lrs = []
    for _ in range(4):
        callback.on_epoch_begin(net, dataset_train=None)
        for _ in range(3):
            lrs.append(optimizer.param_groups[0]["lr"])  # the rate this step used
            with torch.no_grad():
                network.weight.add_(1.0)  # a "step", so that snapshots differ
            callback.on_batch_end(net, training=True)
        callback.on_batch_end(net, training=False)  # validation batches change nothing
    expected = [0.4 * cyclic_cosine_factor(t, 6) for t in range(12)]
    np.testing.assert_allclose(lrs, expected)
    assert len(callback.snapshots_) == 2
    first, second = (s.weight.detach() for s in callback.snapshots_)
    assert torch.equal(second - first, torch.full_like(first, 6.0))
    assert callback.snapshots_[1] is not network


def test_the_snapshots_are_the_members():
    X, y = load_breast_cancer(return_X_y=True)
    clf = SnapshotEnsembleClassifier(n_snapshots=3, cycle_epochs=4, n_members=2, **SMALL)
    clf.fit(X, y)
    assert clf.n_iter_ == 12 and clf.validation_loss_curve_ is None
    members = clf.predict_proba_members(X[:30])
    assert members.shape == (6, 30, 2)
    assert np.all(members.std(axis=0) > 0)
    assert clf.score(X, y) > 0.9
    for name in ("max_epochs", "early_stopping", "patience", "validation_fraction"):
        assert name not in clf.get_params()
    again = SnapshotEnsembleClassifier(n_snapshots=3, cycle_epochs=4, n_members=2, **SMALL)
    np.testing.assert_array_equal(again.fit(X, y).predict_proba(X), clf.predict_proba(X))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("loss", ["gaussian_nll", "mse"])
def test_the_regressor(loss):
    X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=0)
    reg = SnapshotEnsembleRegressor(n_snapshots=3, cycle_epochs=10, loss=loss, **SMALL)
    mean, std = reg.fit(X, y).predict(X, return_std=True)
    assert reg.predict_members(X).shape == (3, 300)
    assert np.all(std > 0) and np.corrcoef(mean, y)[0, 1] > 0.9
    assert (reg.noise_variance_ is None) == (loss == "gaussian_nll")
