"""The estimator hooks: a new deep-ensemble kind overrides the smallest one."""

import numpy as np
import pytest
import torch
from skorch.callbacks import LRScheduler

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.nn import ClassificationTask, GaussianRegressionTask, SquaredErrorRegressionTask
from skens.preprocessing import ColumnLayout, TabularPreprocessor

KW = dict(n_members=2, hidden_layer_sizes=(8,), max_epochs=4, random_state=0, device="cpu")


def _data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3))
    return X, X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=80)


def test_a_subclass_adds_a_callback_by_overriding_get_callbacks():
    epochs = []

    def factor(epoch):
        epochs.append(epoch)
        return 0.5**epoch

    class ScheduledRegressor(DeepEnsembleRegressor):
        def _get_callbacks(self, valid_dataset, patience, seen):
            scheduler = LRScheduler(policy=torch.optim.lr_scheduler.LambdaLR, lr_lambda=factor)
            return [*super()._get_callbacks(valid_dataset, patience, seen), ("lr", scheduler)]

    X, y = _data()
    scheduled = ScheduledRegressor(**KW).fit(X, y)
    # Built at epoch 0, then one step per epoch (the factor is asked per parameter group).
    assert sorted(set(epochs)) == list(range(scheduled.n_iter_ + 1))
    plain = DeepEnsembleRegressor(**KW).fit(X, y)
    assert scheduled.loss_curve_[0] == plain.loss_curve_[0]  # same first epoch (factor 1)
    assert not np.array_equal(scheduled.predict(X), plain.predict(X))
    assert scheduled.validation_scores_ is not None  # the default callbacks still run


def test_a_subclass_changes_the_optimizer_by_overriding_get_optimizer():
    built = []

    class RecordingSGD(torch.optim.SGD):
        def __init__(self, params, **kwargs):
            super().__init__(params, **kwargs)
            built.append(self)

    class SGDRegressor(DeepEnsembleRegressor):
        def _get_optimizer(self):
            return RecordingSGD, {"momentum": 0.9}  # lr: the estimator's

    X, y = _data()
    reg = SGDRegressor(lr=0.01, **KW).fit(X, y)
    (optimizer,) = built
    assert optimizer.defaults["momentum"] == 0.9 and optimizer.defaults["lr"] == 0.01
    assert all(state for state in optimizer.state.values())  # it stepped: momentum buffers
    assert np.isfinite(reg.predict(X)).all()
    default = DeepEnsembleRegressor(lr=0.01, **KW).fit(X, y)
    assert reg.loss_curve_ != default.loss_curve_


def test_the_task_hook_decides_module_loss_and_score():
    X, y = _data()
    clf = DeepEnsembleClassifier(**KW).fit(X, y > 0)
    assert isinstance(clf._task, ClassificationTask)
    assert type(clf.net_.module_.network).__name__ == "EnsembleMLP"
    reg = DeepEnsembleRegressor(**KW).fit(X, y)
    assert isinstance(reg._task, GaussianRegressionTask)
    assert type(reg.net_.module_.network).__name__ == "GaussianEnsembleMLP"
    mse = DeepEnsembleRegressor(loss="mse", **KW).fit(X, y)
    assert isinstance(mse._task, SquaredErrorRegressionTask)
    assert mse.noise_variance_.shape == (2, 1)


def test_a_preprocessor_with_a_wrong_column_layout_is_rejected():
    class Misdescribed(TabularPreprocessor):
        def fit(self, X, y=None):
            super().fit(X, y)
            self.column_layout_ = ColumnLayout(n_numeric=self.column_layout_.n_columns + 1)
            return self

    class Custom(DeepEnsembleRegressor):
        def _make_preprocessor(self, random_state):
            return Misdescribed(random_state=random_state)

    X, y = _data()
    with pytest.raises(ValueError, match="column_layout_ describes 4 columns, but its output"):
        Custom(**KW).fit(X, y)
