"""SWA and SWAG estimators: weight samples of a network as members."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer, make_regression
from sklearn.utils._param_validation import InvalidParameterError

from skens import DeepEnsembleClassifier, SWAGClassifier, SWAGRegressor
from skens.nn import FeatureEmbedding

SMALL = dict(hidden_layer_sizes=(32,), max_epochs=20, swa_epochs=6, random_state=0)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


def test_the_samples_are_the_members(cancer):
    X, y = cancer
    clf = SWAGClassifier(n_samples=10, n_members=2, **SMALL).fit(X, y)
    members = clf.predict_proba_members(X[:20])
    assert members.shape == (20, 20, 2)
    assert np.all(members.std(axis=0) > 0)
    np.testing.assert_allclose(clf.predict_proba(X[:20]), members.mean(axis=0))
    assert len(clf.swa_loss_curve_) == 6 and np.all(np.isfinite(clf.swa_loss_curve_))
    assert clf.score(X, y) > 0.9
    np.testing.assert_array_equal(clf.predict_proba(X[5:6]), clf.predict_proba(X)[5:6])
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_swa_is_one_member_near_the_trained_network(cancer):
    X, y = cancer
    swa = SWAGClassifier(covariance="none", **SMALL).fit(X, y)
    assert swa.predict_proba_members(X).shape[0] == 1
    single = DeepEnsembleClassifier(n_members=1, **{k: v for k, v in SMALL.items()
                                                    if k != "swa_epochs"}).fit(X, y)
    # The same first phase (same seed); averaging keeps the network's predictions close.
    assert np.mean(swa.predict(X) == single.predict(X)) > 0.95


def test_low_rank_samples_spread_more_than_diagonal_ones(cancer):
    X, y = cancer
    spread = {}
    for covariance in ("diagonal", "low_rank"):
        clf = SWAGClassifier(covariance=covariance, n_samples=20, **SMALL).fit(X, y)
        spread[covariance] = clf.predict_proba_members(X)[:, :, 1].std(axis=0).mean()
    assert spread["low_rank"] > spread["diagonal"] > 0


@pytest.mark.parametrize("loss", ["gaussian_nll", "mse"])
def test_the_regressor(loss):
    X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=0)
    reg = SWAGRegressor(n_samples=8, loss=loss, **{**SMALL, "max_epochs": 40}).fit(X, y)
    mean, std = reg.predict(X, return_std=True)
    assert reg.predict_members(X).shape == (8, 300)
    assert np.all(std > 0) and np.corrcoef(mean, y)[0, 1] > 0.9
    if loss == "mse":
        assert reg.noise_variance_.shape == (8, 1)


def test_unseen_categories_stay_at_the_mean_embedding():
    rng = np.random.default_rng(0)
    n, levels = 1200, [f"k{i:02d}" for i in range(80)]  # > 64 levels: embedded
    X = pd.DataFrame({"x": rng.normal(size=n),
                      "c": pd.Categorical(np.resize(levels, n), categories=levels)})
    y = (X["x"] > 0).astype(int)
    clf = SWAGClassifier(n_samples=4, **SMALL).fit(X, y)
    (embedding,) = [m for m in clf.net_.module_.modules() if isinstance(m, FeatureEmbedding)]
    # Codes 0 (missing) and 1 (unknown) were never trained on; in every sample
    # they sit at the mean of the trained codes' embeddings.
    weight = embedding.embeddings[0].weight.detach().view(82, 4, -1)
    expected = weight[2:].mean(dim=0).expand(2, -1, -1)
    torch.testing.assert_close(weight[:2], expected)
    unseen = X.iloc[:5].copy()
    unseen["c"] = pd.Categorical(["never seen"] * 5)
    assert np.all(np.isfinite(clf.predict_proba(unseen)))


def test_bad_parameters(cancer):
    X, y = cancer
    with pytest.raises(InvalidParameterError, match="'covariance' parameter"):
        SWAGClassifier(covariance="full").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'max_rank' parameter"):
        SWAGClassifier(max_rank=1).fit(X, y)


def test_a_diverging_swa_phase_raises_and_leaves_the_estimator_unfitted(cancer):
    from sklearn.exceptions import NotFittedError

    from skens.exceptions import TrainingDivergedError

    X, y = cancer
    clf = SWAGClassifier(n_samples=3, swa_lr=1e9, **{**SMALL, "max_epochs": 3, "swa_epochs": 3})
    with pytest.raises(TrainingDivergedError, match="SWA epoch"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)
