"""SG-MCMC estimators: chains trained at once, their thinned samples as members."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, make_regression
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from skens import SGMCMCClassifier, SGMCMCRegressor

SMALL = dict(hidden_layer_sizes=(32,), n_chains=3, n_samples=4, burn_in=6, thinning=2,
             random_state=0)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


def test_the_samples_of_every_chain_are_the_members(cancer):
    X, y = cancer
    clf = SGMCMCClassifier(**SMALL).fit(X, y)
    assert clf.n_iter_ == clf.max_epochs == 6 + 4 * 2
    members = clf.predict_proba_members(X[:30])
    assert members.shape == (12, 30, 2)
    np.testing.assert_array_equal(clf.chain_index_, np.tile([0, 1, 2], 4))
    np.testing.assert_allclose(clf.predict_proba(X[:30]), members.mean(axis=0))
    # Samples of one chain differ from one another, and chains from chains.
    first_chain = members[clf.chain_index_ == 0]
    assert np.all(np.abs(first_chain[0] - first_chain[-1]).max(axis=1) > 0)
    assert clf.score(X, y) > 0.9
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_reproducible_and_the_noise_depends_on_the_seed(cancer):
    X, y = cancer
    a = SGMCMCClassifier(**SMALL).fit(X, y).predict_proba(X)
    b = SGMCMCClassifier(**SMALL).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = SGMCMCClassifier(**{**SMALL, "random_state": 1}).fit(X, y).predict_proba(X)
    assert not np.allclose(a, c)


def test_temperature_controls_the_spread_of_the_samples(cancer):
    X, y = cancer
    spread = {}
    for temperature in (0.0, 1.0):
        clf = SGMCMCClassifier(**{**SMALL, "n_chains": 1, "temperature": temperature})
        members = clf.fit(X, y).predict_proba_members(X)[:, :, 1]
        spread[temperature] = members.std(axis=0).mean()
    # Without noise a chain is an RMSprop optimizer: its samples move less.
    assert spread[1.0] > 1.1 * spread[0.0]


@pytest.mark.parametrize("sampler", ["psgld", "sghmc"])
def test_the_regressor(sampler):
    X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=0)
    reg = SGMCMCRegressor(**{**SMALL, "sampler": sampler, "burn_in": 30}).fit(X, y)
    mean, std = reg.predict(X, return_std=True)
    members = reg.predict_members(X)
    assert members.shape == (12, 300)
    np.testing.assert_allclose(mean, members.mean(axis=0))
    assert reg.noise_variance_ is None and np.all(std > 0)
    assert np.corrcoef(mean, y)[0, 1] > 0.8
    u = reg.predict_uncertainty(X)
    np.testing.assert_allclose(u.total, std**2)
    assert np.all(u.epistemic > 0)


def test_fixed_parameters_are_not_parameters():
    params = SGMCMCClassifier().get_params()
    for fixed in ("n_members", "ensemble_type", "dropout", "weight_decay", "max_epochs",
                  "early_stopping", "bootstrap"):
        assert fixed not in params
    est = SGMCMCRegressor(n_chains=5, n_samples=2, burn_in=3, thinning=4)
    assert est.n_members == 5 and est.max_epochs == 11 and est.loss == "gaussian_nll"
    assert clone(est).get_params() == est.get_params()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"temperature": -1.0}, "'temperature' parameter"),
        ({"prior_std": 0.0}, "'prior_std' parameter"),
        ({"sampler": "hmc"}, "'sampler' parameter"),
        ({"n_chains": 0}, "'n_chains' parameter"),
        ({"final_lr_ratio": 0.0}, "'final_lr_ratio' parameter"),
    ],
)
def test_bad_parameters(cancer, params, match):
    X, y = cancer
    with pytest.raises(InvalidParameterError, match=match):
        SGMCMCClassifier(**params).fit(X, y)


class _StopAtOnce(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise KeyboardInterrupt  # skorch stops training quietly


def test_training_stopped_before_the_first_sample_is_a_clear_error(cancer):
    X, y = cancer
    clf = SGMCMCClassifier(callbacks=[_StopAtOnce()], **SMALL)
    with pytest.raises(RuntimeError, match="before the first sample"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_") and not hasattr(clf, "_sampling")
    pickle.dumps(clf)  # nothing unpicklable left behind
