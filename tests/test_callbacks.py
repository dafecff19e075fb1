"""The callbacks parameter of the deep estimators, and annealed gradient noise."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from skorch.callbacks import Callback

from skens import DeepEnsembleClassifier, SGMCMCClassifier
from skens.callbacks import GradientNoise, gradient_noise_std

SMALL = dict(n_members=2, hidden_layer_sizes=(16,), max_epochs=4, random_state=0)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


class _Net:
    seed = 3


@pytest.mark.parametrize("step", [0, 10, 1000])
def test_noise_std_at_step_t(step):
    callback = GradientNoise(eta=0.3, gamma=0.55, seed=0).initialize()
    callback.step_ = step
    param = torch.nn.Parameter(torch.zeros(200_000))
    param.grad = torch.zeros_like(param)
    callback.on_grad_computed(_Net(), [("w", param)], training=True)
    expected = np.sqrt(0.3 / (1 + step) ** 0.55)
    assert gradient_noise_std(step, 0.3, 0.55) == pytest.approx(expected)
    assert param.grad.std().item() == pytest.approx(expected, rel=0.01)
    assert abs(param.grad.mean().item()) < 0.01 * expected
    assert callback.step_ == step + 1


def test_noise_is_independent_per_member_and_skips_evaluation():
    callback = GradientNoise(seed=0).initialize()
    weight = torch.nn.Parameter(torch.zeros(2, 50_000))  # two members' weights
    weight.grad = torch.zeros_like(weight)
    callback.on_grad_computed(_Net(), [("w", weight)], training=False)
    assert torch.count_nonzero(weight.grad) == 0
    callback.on_grad_computed(_Net(), [("w", weight)], training=True)
    assert abs(np.corrcoef(weight.grad.numpy())[0, 1]) < 0.02


def test_gradient_noise_in_a_deep_ensemble(cancer):
    X, y = cancer
    noise = GradientNoise(eta=0.01)
    a = DeepEnsembleClassifier(callbacks=[("noise", noise)], **SMALL).fit(X, y)
    b = DeepEnsembleClassifier(callbacks=[("noise", noise)], **SMALL).fit(X, y)
    plain = DeepEnsembleClassifier(**SMALL).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))  # seeded
    assert not np.allclose(a.predict_proba(X), plain.predict_proba(X))  # noise applied
    assert not hasattr(noise, "step_")  # the fits used copies
    assert a.score(X, y) > 0.8  # 4 epochs of a small net
    assert clone(a).get_params()["callbacks"][0][1].eta == 0.01
    # Also works for the other kinds, and unnamed.
    SGMCMCClassifier(n_chains=2, n_samples=1, burn_in=1, thinning=1, hidden_layer_sizes=(8,),
                     callbacks=[GradientNoise()], random_state=0).fit(X, y)


class _Counter(Callback):
    def initialize(self):
        self.epochs_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


def test_any_skorch_callback_runs(cancer):
    X, y = cancer
    clf = DeepEnsembleClassifier(callbacks=[_Counter()], **SMALL).fit(X, y)
    assert clf.n_iter_ == 4


@pytest.mark.parametrize(
    "callbacks, error, match",
    [
        ([object()], TypeError, "skorch Callback instances"),
        ([("noise", 3)], TypeError, "skorch Callback instances"),
        ([("early_stopping", GradientNoise())], ValueError, "two callbacks are named"),
        ([GradientNoise(), GradientNoise()], ValueError, "two callbacks are named"),
    ],
)
def test_bad_callbacks(cancer, callbacks, error, match):
    X, y = cancer
    with pytest.raises(error, match=match):
        DeepEnsembleClassifier(callbacks=callbacks, **SMALL).fit(X, y)


def test_bad_noise_parameters(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="eta must be positive"):
        DeepEnsembleClassifier(callbacks=[GradientNoise(eta=0.0)], **SMALL).fit(X, y)
