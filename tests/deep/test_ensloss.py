"""EnsLossClassifier: binary deep ensembles trained with EnsLoss (skens.deep._ensloss)."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification

from skens import EnsLossClassifier
from tests.conftest import TINY


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=240, n_features=6, n_informative=4, flip_y=0.05,
                               random_state=0)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    labels = np.array(["no", "yes"])[y]
    return EnsLossClassifier(**TINY).fit(X, labels)


def test_more_than_two_classes_is_a_clear_error():
    X, y = make_classification(n_samples=60, n_classes=3, n_informative=3, random_state=0)
    with pytest.raises(ValueError, match="Only binary classification is supported.*3"):
        EnsLossClassifier(**TINY).fit(X, y)
    clf = EnsLossClassifier(**TINY)
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X, np.zeros(len(X)))
    assert not hasattr(clf, "net_")


def test_string_labels_round_trip(data, fitted):
    X, y = data
    assert list(fitted.classes_) == ["no", "yes"]
    pred = fitted.predict(X)
    assert set(pred) <= {"no", "yes"}
    assert fitted.score(X, np.array(["no", "yes"])[y]) > 0.8


def test_probabilities_and_decision_agree(data, fitted):
    X, _ = data
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    decision = fitted.decision_function(X)
    assert decision.shape == (len(X),)
    pred = fitted.predict(X)
    np.testing.assert_array_equal(pred, fitted.classes_[(decision > 0).astype(int)])
    np.testing.assert_array_equal(pred, fitted.classes_[np.argmax(proba, axis=1)])
    # predict_proba is sigmoid(slope * decision_function), with a positive slope.
    assert fitted.calibration_slope_ > 0
    np.testing.assert_allclose(
        proba[:, 1], 1 / (1 + np.exp(-fitted.calibration_slope_ * decision))
    )


def test_members_are_calibrated_members(data, fitted):
    X, _ = data
    members = fitted.predict_proba_members(X[:50])
    assert members.shape == (3, 50, 2)
    np.testing.assert_allclose(members.sum(axis=-1), 1.0)
    # Their log-odds average to the ensemble's.
    log_odds = np.log(members[..., 1]) - np.log(members[..., 0])
    np.testing.assert_allclose(
        log_odds.mean(axis=0), fitted.calibration_slope_ * fitted.decision_function(X[:50]),
        rtol=1e-6, atol=1e-8,
    )
    u = fitted.predict_uncertainty(X[:50])
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, atol=1e-12)
    assert np.all(u.epistemic >= -1e-12)


def test_members_differ_and_draw_their_own_losses(data, fitted):
    X, _ = data
    members = fitted.predict_proba_members(X[:50])[..., 1]
    assert not np.allclose(members[0], members[1])
    assert fitted._task.seed is not None


def test_pickle(data, fitted):
    X, _ = data
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.decision_function(X), fitted.decision_function(X))


def test_random_state_reproducibility(data):
    X, y = data
    params = dict(TINY, max_epochs=5)
    a = EnsLossClassifier(**params).fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert a.calibration_slope_ == b.calibration_slope_
    c = EnsLossClassifier(**dict(params, random_state=1)).fit(X, y)
    assert not np.array_equal(a.decision_function(X), c.decision_function(X))


def test_global_random_state_is_neither_read_nor_moved(data):
    import torch

    X, y = data
    params = dict(TINY, max_epochs=3)
    torch.manual_seed(0)
    np.random.seed(0)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    a = EnsLossClassifier(**params).fit(X, y).decision_function(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    torch.manual_seed(99)
    np.random.seed(99)
    b = EnsLossClassifier(**params).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)


def test_without_early_stopping_calibrates_on_the_training_rows(data):
    X, y = data
    clf = EnsLossClassifier(**dict(TINY, early_stopping=False, max_epochs=5)).fit(X, y)
    assert clf.validation_loss_curve_ is None and clf.calibration_slope_ > 0
    assert clf.score(X, y) > 0.7


def test_sample_weight_and_class_weight(data):
    X, y = data
    weight = np.where(np.arange(len(y)) % 4 == 0, 0.0, 1.0)
    clf = EnsLossClassifier(**dict(TINY, max_epochs=5, class_weight="balanced"))
    clf.fit(X, y, sample_weight=weight)
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_validation_curves_are_recorded(fitted):
    assert fitted.validation_loss_curve_ is not None
    assert len(fitted.validation_loss_curve_) == fitted.n_iter_
    assert all(0 <= s <= 1 for s in fitted.validation_scores_)
    assert np.isfinite(fitted.best_loss_)


def test_tags_declare_binary_only():
    tags = EnsLossClassifier().__sklearn_tags__()
    assert tags.classifier_tags.multi_class is False
    assert "aggregation" not in EnsLossClassifier().get_params()
