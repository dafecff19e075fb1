"""Member groups: ``n_jobs`` and lists of devices train groups of members apart."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from sklearn.datasets import make_classification, make_regression

import skens.deep._base as deep_base
from skens import (
    DeepEnsembleClassifier,
    DeepEnsembleRegressor,
    EnsLossClassifier,
    EvidentialRegressor,
    MCDropoutClassifier,
)

TINY = dict(hidden_layer_sizes=(16,), max_epochs=4, random_state=0)


@pytest.fixture(scope="module")
def classification():
    return make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)


@pytest.fixture(scope="module")
def regression():
    return make_regression(n_samples=300, n_features=5, noise=5.0, random_state=0)


def test_none_and_one_job_are_todays_fit(classification):
    X, y = classification
    default = DeepEnsembleClassifier(n_members=3, **TINY).fit(X, y)
    one = DeepEnsembleClassifier(n_members=3, n_jobs=1, **TINY).fit(X, y)
    np.testing.assert_array_equal(default.predict_proba(X), one.predict_proba(X))
    assert default.loss_curve_ == one.loss_curve_
    assert [list(g) for g in default.member_groups_] == [[0, 1, 2]]


def test_groups_partition_the_members(classification):
    X, y = classification
    with parallel_config(backend="threading"):
        clf = DeepEnsembleClassifier(n_members=5, n_jobs=2, **TINY).fit(X, y)
    assert [list(g) for g in clf.member_groups_] == [[0, 1, 2], [3, 4]]
    assert clf.predict_proba_members(X).shape == (5, len(X), 2)
    # More jobs than members: one member per group.
    with parallel_config(backend="threading"):
        clf = DeepEnsembleClassifier(n_members=2, n_jobs=4, **TINY).fit(X, y)
    assert [list(g) for g in clf.member_groups_] == [[0], [1]]


@pytest.mark.parametrize("ensemble_type", ["batchensemble", "independent"])
def test_joined_ensemble_equals_the_groups_one_by_one(classification, monkeypatch, ensemble_type):
    X, y = classification
    trained = {}
    train_group = deep_base._train_member_group

    def recording(template, group, *args):
        net, summary = train_group(template, group, *args)
        trained[group] = copy.deepcopy(net)
        return net, summary

    monkeypatch.setattr(deep_base, "_train_member_group", recording)
    with parallel_config(backend="threading"):
        clf = DeepEnsembleClassifier(
            n_members=4, n_jobs=2, ensemble_type=ensemble_type, **TINY
        ).fit(X, y)
    assert sorted(trained) == [0, 1]
    joined = clf.predict_proba_members(X)
    for members, net in zip(clf.member_groups_, [trained[0], trained[1]]):
        parts = [clf._raw_outputs(clf._validate_X_predict(X), module=net.module_)]
        logits = np.concatenate([p.double().numpy() for p in parts[0]])
        proba = np.exp(logits - logits.max(-1, keepdims=True))
        proba = (proba / proba.sum(-1, keepdims=True)).transpose(1, 0, 2)
        np.testing.assert_allclose(joined[members], proba, rtol=1e-5, atol=1e-6)


def test_groups_draw_apart_and_results_do_not_depend_on_the_backend(classification):
    X, y = classification
    params = dict(n_members=4, n_jobs=2, **TINY)
    local = DeepEnsembleClassifier(**params).fit(X, y)  # loky processes
    with parallel_config(backend="threading"):
        threads = DeepEnsembleClassifier(**params).fit(X, y)
    np.testing.assert_allclose(
        local.predict_proba_members(X), threads.predict_proba_members(X), rtol=1e-6, atol=1e-7
    )
    members = local.predict_proba_members(X)
    # Groups have seeds of their own: no two members are copies.
    assert np.abs(members[0] - members[2]).max() > 1e-3
    assert np.abs(members[1] - members[3]).max() > 1e-3


def test_a_list_of_devices_places_one_group_on_each(classification):
    X, y = classification
    with parallel_config(backend="threading"):
        by_jobs = DeepEnsembleClassifier(n_members=4, n_jobs=2, device="cpu", **TINY).fit(X, y)
    by_devices = DeepEnsembleClassifier(n_members=4, device=["cpu", "cpu"], **TINY).fit(X, y)
    assert by_devices.device_ == "cpu"
    np.testing.assert_allclose(
        by_jobs.predict_proba(X), by_devices.predict_proba(X), rtol=1e-6, atol=1e-7
    )


def test_grouped_fit_quality_and_history(classification):
    X, y = classification
    params = dict(n_members=4, hidden_layer_sizes=(32,), max_epochs=30, random_state=0)
    one = DeepEnsembleClassifier(**params).fit(X, y)
    with parallel_config(backend="threading"):
        grouped = DeepEnsembleClassifier(n_jobs=2, **params).fit(X, y)
    assert grouped.score(X, y) > one.score(X, y) - 0.05
    assert 1 <= grouped.n_iter_ <= 30
    assert len(grouped.loss_curve_) == len(grouped.validation_loss_curve_) == grouped.n_iter_
    assert np.isfinite(grouped.best_loss_)
    assert min(grouped.validation_loss_curve_) <= grouped.best_loss_ + 0.2


def test_grouped_regressor_with_bootstrap_and_categories(regression):
    X, y = regression
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["colour"] = pd.Categorical(np.array(["red", "green", "blue"])[np.arange(len(y)) % 3])
    before = frame.copy()
    with parallel_config(backend="threading"):
        reg = DeepEnsembleRegressor(n_members=4, n_jobs=2, bootstrap=True, **TINY).fit(frame, y)
    pd.testing.assert_frame_equal(frame, before)
    mean, std = reg.predict(frame, return_std=True)
    assert mean.shape == std.shape == (len(y),)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(frame), reg.predict(frame))


@pytest.mark.parametrize(
    "estimator, data",
    [
        (EvidentialRegressor(n_members=2, n_jobs=2, **TINY), "regression"),
        (EnsLossClassifier(n_members=2, n_jobs=2, **TINY), "classification"),
    ],
    ids=["evidential", "ensloss"],
)
def test_other_kinds_with_independent_members(estimator, data, request):
    X, y = request.getfixturevalue(data)
    with parallel_config(backend="threading"):
        fitted = estimator.fit(X, y)
    assert [list(g) for g in fitted.member_groups_] == [[0], [1]]
    assert np.all(np.isfinite(fitted.predict(X)))


@pytest.mark.parametrize(
    "estimator, match",
    [
        (DeepEnsembleClassifier(n_jobs=0, **TINY), "n_jobs=0"),
        (DeepEnsembleClassifier(n_members=2, device=["cpu"] * 3, **TINY), "only n_members=2"),
        (DeepEnsembleClassifier(device=[], **TINY), "at least one device"),
        (DeepEnsembleClassifier(n_jobs=3, device=["cpu", "cpu"], **TINY), "Leave n_jobs=None"),
        (DeepEnsembleClassifier(device=["cpu", 3], **TINY), "at least one device"),
        (DeepEnsembleClassifier(device=["cpu", "tpu"], **TINY), "device must be"),
        (MCDropoutClassifier(device=["cpu", "cpu"], **TINY), "one device"),
        (
            DeepEnsembleClassifier(n_members=2, n_jobs=2, ensemble_type="shared", **TINY),
            "share one trunk",
        ),
    ],
)
def test_bad_groups_are_refused(classification, estimator, match):
    X, y = classification
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y)
    assert not hasattr(estimator, "net_")


def test_a_failing_group_leaves_an_unfitted_estimator(classification):
    from skorch.callbacks import Callback

    class Boom(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise RuntimeError("boom in a worker")

    X, y = classification
    clf = DeepEnsembleClassifier(n_members=2, n_jobs=2, callbacks=[Boom()], **TINY)
    with parallel_config(backend="threading"), pytest.raises(RuntimeError, match="boom"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")
