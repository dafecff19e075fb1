"""HyperTab estimators: feature-mask members on the deep-ensemble machinery."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skens import HyperTabClassifier, HyperTabRegressor
from skens.nn import GaussianHyperTabNetwork, HyperTabNetwork

KW = dict(n_masks=4, max_epochs=6, batch_size=32, random_state=0, device="cpu")


def _classification(n=120, d=6):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _regression(n=120, d=6):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, d))
    return X, X[:, :4] @ [1.0, -2.0, 0.5, 1.0] + 0.1 * rng.normal(size=n)


@pytest.mark.parametrize("training", ["sequential", "batched"])
def test_classifier_fits_and_returns_probabilities(training):
    X, y = _classification()
    clf = HyperTabClassifier(training=training, **KW)
    assert clf.fit(X, y) is clf
    assert clf.n_features_in_ == 6 and clf.classes_.tolist() == [0, 1]
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert (proba >= 0).all() and (proba <= 1).all()
    members = clf.predict_proba_members(X)
    assert members.shape == (4, 120, 2)
    np.testing.assert_allclose(members.mean(axis=0), proba, rtol=1e-6)
    assert len(clf.loss_curve_) == clf.n_iter_ == 6
    module = clf.net_.module_.network
    assert isinstance(module, HyperTabNetwork) and module.n_members == 4
    assert (module.masks.sum(dim=1) == 3).all()


def test_sequential_training_steps_once_per_mask():
    X, y = _classification(n=64)
    clf = HyperTabClassifier(**{**KW, "max_epochs": 2, "training": "sequential"}).fit(X, y)
    # Not trimmed away: the optimizer is gone after fit, so count steps in a fresh fit.
    steps = []

    class Count(torch.optim.Adam):
        def step(self, closure=None):
            steps.append(1)
            return super().step(closure)

    clf._get_optimizer = lambda: (Count, {"lr": 3e-4})
    clf.fit(X, y)
    assert len(steps) == 2 * 2 * 4  # epochs * batches of 32 * masks
    steps.clear()
    clf.set_params(training="batched").fit(X, y)
    assert len(steps) == 2 * 2


def test_sequential_and_batched_differ():
    X, y = _classification()
    a = HyperTabClassifier(training="sequential", **KW).fit(X, y).predict_proba(X)
    b = HyperTabClassifier(training="batched", **KW).fit(X, y).predict_proba(X)
    assert not np.allclose(a, b)


def test_sequential_mode_learns():
    X, y = _classification(n=200)
    clf = HyperTabClassifier(n_masks=10, max_epochs=20, training="sequential", lr=3e-4,
                             random_state=0, device="cpu")
    clf.fit(X, y)
    assert clf.score(X, y) > 0.8
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize(
    "labels", [np.array(["no", "yes"]), np.array([-3, 7]), np.array([True, False])]
)
def test_labels_of_any_type_round_trip(labels):
    X, y = _classification()
    y = labels[y]
    clf = HyperTabClassifier(**KW).fit(X, y)
    assert set(clf.predict(X)) <= set(labels)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    assert clf.predict(X).dtype == y.dtype


def test_predict_proba_is_the_mean_of_softmax_not_logits():
    X, y = _classification()
    clf = HyperTabClassifier(**KW).fit(X, y)
    with torch.no_grad():
        logits = clf.net_.module_(torch.as_tensor(clf.preprocessor_.transform(X[:5]),
                                                  dtype=torch.float32))
    expected = torch.softmax(logits.double(), dim=-1).mean(dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X[:5]), expected, rtol=1e-5)
    assert not np.allclose(clf.predict_proba(X[:5]), logits.mean(dim=1).numpy())


def test_multiclass():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 5))
    y = np.array(["a", "b", "c"])[np.argmax(X[:, :3], axis=1)]
    clf = HyperTabClassifier(**KW).fit(X, y)
    assert clf.predict_proba(X).shape == (150, 3)
    assert clf.net_.module_.network.out_features == 3


@pytest.mark.parametrize("training", ["sequential", "batched"])
def test_random_state_reproducibility(training):
    X, y = _classification()
    a = HyperTabClassifier(training=training, **KW).fit(X, y)
    b = HyperTabClassifier(training=training, **KW).fit(X, y)
    c = HyperTabClassifier(training=training, **{**KW, "random_state": 1}).fit(X, y)
    assert torch.equal(a.net_.module_.network.masks, b.net_.module_.network.masks)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not torch.equal(a.net_.module_.network.masks, c.net_.module_.network.masks)
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_global_random_state_is_untouched():
    X, y = _classification()
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    HyperTabClassifier(**KW).fit(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()


def test_small_number_of_features():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 1))
    y = (X[:, 0] > 0).astype(int)
    clf = HyperTabClassifier(**KW).fit(X, y)
    assert (clf.net_.module_.network.masks.sum(dim=1) == 1).all()
    assert clf.score(X, y) > 0.5


def test_dataframe_with_categorical_columns():
    rng = np.random.RandomState(0)
    n = 150
    df = pd.DataFrame({
        "x": rng.normal(size=n),
        "color": pd.Categorical(rng.choice(["red", "green", "blue"], size=n)),
        "city": rng.choice([f"c{i}" for i in range(80)], size=n),  # > 64: embedded codes
        "flag": rng.rand(n) > 0.5,
    })
    df.loc[::10, "x"] = np.nan
    y = np.where((df["color"] == "red") | (df["x"] > 0.5), "pos", "neg")
    clf = HyperTabClassifier(**KW).fit(df, y)
    assert clf.n_features_in_ == 4
    assert list(clf.feature_names_in_) == ["x", "color", "city", "flag"]
    network = clf.net_.module_.network
    assert network.embedding is not None  # the city codes
    assert network.masks.shape[1] == network.n_inputs
    proba = clf.predict_proba(df.iloc[:7])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    unseen = df.iloc[:2].copy()
    unseen["city"] = "nowhere"
    assert np.isfinite(clf.predict_proba(unseen)).all()


@pytest.mark.parametrize("Estimator", [HyperTabClassifier, HyperTabRegressor])
def test_pickle_round_trip(Estimator):
    X, y = _classification() if Estimator is HyperTabClassifier else _regression()
    est = Estimator(**KW).fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert torch.equal(loaded.net_.module_.network.masks if Estimator is HyperTabClassifier
                       else loaded.net_.module_.network.network.masks,
                       est.net_.module_.network.masks if Estimator is HyperTabClassifier
                       else est.net_.module_.network.network.masks)
    # A refit of the unpickled estimator works and is reproducible.
    np.testing.assert_allclose(
        clone(loaded).fit(X, y).predict(X), Estimator(**KW).fit(X, y).predict(X), rtol=1e-6
    )


def test_early_stopping_and_sample_weight():
    X, y = _classification()
    clf = HyperTabClassifier(**{**KW, "early_stopping": True, "max_epochs": 30, "patience": 2})
    clf.fit(X, y, sample_weight=np.linspace(0.5, 2.0, len(y)))
    assert clf.validation_loss_curve_ is not None
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == pytest.approx(min(clf.validation_loss_curve_))
    assert HyperTabClassifier(**KW).fit(X, y).validation_loss_curve_ is None


@pytest.mark.parametrize("training", ["sequential", "batched"])
@pytest.mark.parametrize("loss", ["gaussian_nll", "mse"])
def test_regressor(training, loss):
    X, y = _regression()
    reg = HyperTabRegressor(training=training, loss=loss, **KW)
    assert reg.fit(X, y) is reg
    network = reg.net_.module_.network
    if loss == "gaussian_nll":
        assert isinstance(network, GaussianHyperTabNetwork)
        assert reg.noise_variance_ is None
    else:
        assert isinstance(network, HyperTabNetwork)
        assert reg.noise_variance_.shape == (4, 1)
    mean, std = reg.predict(X[:5], return_std=True)
    assert mean.shape == std.shape == (5,) and (std > 0).all()
    assert reg.predict_members(X[:5]).shape == (4, 5)


def test_regressor_learns_and_multi_output():
    X, y = _regression(n=200)
    reg = HyperTabRegressor(n_masks=10, max_epochs=30, random_state=0, device="cpu",
                            subsample=0.8).fit(X, y)
    assert reg.score(X, y) > 0.5
    Y = np.column_stack([y, -y])
    multi = HyperTabRegressor(**KW).fit(X, Y)
    assert multi.predict(X[:4]).shape == (4, 2)


def test_fixed_parameters_and_validation():
    params = HyperTabClassifier().get_params()
    for name in ("n_members", "ensemble_type", "hidden_layer_sizes", "dropout",
                 "weight_decay", "bootstrap", "numeric_embedding", "precision", "aggregation"):
        assert name not in params
    assert params["n_masks"] == 100 and params["subsample"] == 0.5
    assert params["hidden_dims"] == 10 and params["lr"] == 3e-3
    assert params["max_epochs"] == 100 and params["batch_size"] == 128
    assert params["training"] == "batched" and params["early_stopping"] is False
    assert "n_members" not in HyperTabRegressor().get_params()
    clf = HyperTabClassifier(n_masks=7, hidden_dims=(8, 4))
    assert clf.n_members == 7 and clf.hidden_layer_sizes == (8, 4)
    X, y = _classification()
    for bad in (dict(subsample=0.0), dict(subsample=1.2), dict(training="parallel"),
                dict(n_masks=0)):
        with pytest.raises(InvalidParameterError):
            HyperTabClassifier(**{**KW, **bad}).fit(X, y)


def test_two_hidden_layers_as_the_latest_reference():
    X, y = _classification()
    clf = HyperTabClassifier(**{**KW, "hidden_dims": (10, 10)}).fit(X, y)
    assert clf.net_.module_.network.target_shapes == [(3, 10), (10, 10), (10, 2)]


def test_docstrings_list_the_parameters_in_order():
    import inspect
    import re

    for Estimator in (HyperTabClassifier, HyperTabRegressor):
        documented = re.findall(r"^    (\w+) : ", Estimator.__doc__.split("Attributes")[0], re.M)
        assert documented == list(inspect.signature(Estimator).parameters)


def test_layer_sizes_must_be_positive_integers():
    X, y = np.random.RandomState(0).normal(size=(40, 4)), np.arange(40) % 2
    with pytest.raises(ValueError, match="hypernet_hidden must be a positive integer"):
        HyperTabClassifier(hypernet_hidden=(8.7,), n_masks=2, max_epochs=1).fit(X, y)
    clf = HyperTabClassifier(hypernet_hidden=8, n_masks=2, max_epochs=1, random_state=0)
    assert clf.fit(X, y).predict(X).shape == (40,)
