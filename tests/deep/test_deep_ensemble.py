import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.deep._base import _effective_patience
from skens.deep._data import MIN_BATCH_ROWS
from skens.exceptions import TrainingDivergedError
from skens.metrics import entropy_decomposition


@pytest.fixture(scope="module")
def clf_data():
    return make_classification(
        n_samples=240, n_features=6, n_informative=4, n_classes=3, random_state=0
    )


@pytest.fixture(scope="module")
def reg_data():
    X, y = make_regression(n_samples=240, n_features=5, noise=5.0, random_state=0)
    return X, y


# ------------------------------------------------------------------ classifier
@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "emu"]),
        np.array([-5, 10, 200]),
        np.array([2.0, 4.0, 8.0]),
    ],
)
def test_classifier_returns_original_labels(clf_data, tiny, labels):
    X, y = clf_data
    y_labels = labels[y]
    clf = DeepEnsembleClassifier(**tiny).fit(X, y_labels)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    pred = clf.predict(X)
    assert pred.dtype == y_labels.dtype
    assert set(pred) <= set(labels)
    assert accuracy_score(y_labels, pred) > 0.6


def test_classifier_binary_bool_labels(tiny):
    X, y = make_classification(n_samples=200, n_features=5, random_state=1)
    clf = DeepEnsembleClassifier(**tiny).fit(X, y.astype(bool))
    np.testing.assert_array_equal(clf.classes_, [False, True])
    assert clf.predict(X).dtype == bool
    assert clf.predict_proba(X).shape == (200, 2)
    assert clf.score(X, y.astype(bool)) > 0.8


def test_predict_proba_is_the_mean_of_members(clf_data, tiny):
    X, y = clf_data
    clf = DeepEnsembleClassifier(**tiny).fit(X, y)
    members = clf.predict_proba_members(X)
    proba = clf.predict_proba(X)
    assert members.shape == (3, len(X), 3)
    assert members.dtype == proba.dtype == np.float64
    np.testing.assert_allclose(members.sum(axis=-1), 1.0)
    np.testing.assert_allclose(proba, members.mean(axis=0))
    # Members differ: the ensemble is not one network repeated.
    assert np.abs(members[0] - members[1]).max() > 1e-3


def test_classifier_uncertainty_decomposition(clf_data, tiny):
    X, y = clf_data
    clf = DeepEnsembleClassifier(**tiny).fit(X, y)
    u = clf.predict_uncertainty(X)
    assert set(u) == {"total", "aleatoric", "epistemic"}
    for value in u.values():
        assert value.shape == (len(X),)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, rtol=1e-12, atol=1e-12)
    assert (u.epistemic >= 0).all() and (u.epistemic.max() > 0)
    reference = entropy_decomposition(clf.predict_proba_members(X))
    np.testing.assert_allclose(u.total, reference.total)


def test_single_member_has_no_epistemic_uncertainty(clf_data, tiny):
    X, y = clf_data
    clf = DeepEnsembleClassifier(**{**tiny, "n_members": 1}).fit(X, y)
    np.testing.assert_allclose(clf.predict_uncertainty(X).epistemic, 0.0, atol=1e-12)


# ------------------------------------------------------------------- regressor
def test_regressor_predictive_mixture(reg_data, tiny):
    X, y = reg_data
    reg = DeepEnsembleRegressor(**tiny).fit(X, y)
    mean, std = reg.predict(X, return_std=True)
    member_mean, member_std = reg.predict_members(X, return_std=True)
    assert mean.shape == std.shape == (len(X),)
    assert member_mean.shape == member_std.shape == (3, len(X))
    assert mean.dtype == std.dtype == np.float64
    np.testing.assert_allclose(mean, member_mean.mean(axis=0))
    expected_var = (member_std**2).mean(axis=0) + member_mean.var(axis=0)
    np.testing.assert_allclose(std**2, expected_var)
    np.testing.assert_allclose(reg.predict(X), mean)
    assert r2_score(y, mean) > 0.8


def test_regressor_uncertainty_decomposition(reg_data, tiny):
    X, y = reg_data
    reg = DeepEnsembleRegressor(**tiny).fit(X, y)
    u = reg.predict_uncertainty(X)
    _, std = reg.predict(X, return_std=True)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, rtol=1e-12)
    np.testing.assert_allclose(u.total, std**2)
    assert (u.aleatoric > 0).all() and (u.epistemic > 0).all()


def test_regressor_works_in_target_units(tiny):
    # Targets far from zero and with a large scale are standardised inside.
    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
    y = 1e4 + 500 * y
    reg = DeepEnsembleRegressor(**{**tiny, "max_epochs": 60}).fit(X, y)
    mean, std = reg.predict(X, return_std=True)
    assert r2_score(y, mean) > 0.9
    assert 10 < np.median(std) < 0.5 * y.std()


def test_regressor_multi_output(tiny):
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=3, noise=1.0, random_state=0)
    reg = DeepEnsembleRegressor(**tiny).fit(X, Y)
    assert reg.n_outputs_ == 3
    mean, std = reg.predict(X, return_std=True)
    assert mean.shape == std.shape == (200, 3)
    assert reg.predict_members(X).shape == (3, 200, 3)
    assert reg.predict_uncertainty(X).total.shape == (200, 3)
    assert r2_score(Y, mean) > 0.7


def test_regressor_keeps_a_column_target_2d(reg_data, tiny):
    X, y = reg_data
    reg = DeepEnsembleRegressor(**tiny).fit(X, y[:, None])
    assert reg.predict(X).shape == (len(X), 1)


def test_regressor_mse_loss(reg_data, tiny):
    X, y = reg_data
    reg = DeepEnsembleRegressor(**tiny, loss="mse").fit(X, y)
    assert reg.noise_variance_.shape == (3, 1)
    mean, std = reg.predict(X, return_std=True)
    _, member_std = reg.predict_members(X, return_std=True)
    # A homoscedastic noise per member: the same std for every sample.
    expected = np.sqrt(reg.noise_variance_[:, :1]) * np.ones((1, len(X)))
    np.testing.assert_allclose(member_std, expected)
    assert r2_score(y, mean) > 0.8
    assert (std > 0).all()


# -------------------------------------------------------------- training loop
@pytest.mark.parametrize("Estimator", [DeepEnsembleClassifier, DeepEnsembleRegressor])
def test_early_stopping_attributes_and_best_weights(Estimator, clf_data, reg_data, tiny):
    X, y = clf_data if Estimator is DeepEnsembleClassifier else reg_data
    est = Estimator(**{**tiny, "max_epochs": 60, "patience": 3, "lr": 0.05}).fit(X, y)
    assert 1 <= est.n_iter_ <= 60
    assert len(est.loss_curve_) == len(est.validation_loss_curve_) == est.n_iter_
    assert len(est.validation_scores_) == est.n_iter_
    # best_loss_ is the loss of the restored epoch: an improvement counts from 1e-4 on.
    best_epoch = est.validation_loss_curve_.index(est.best_loss_)
    assert est.best_loss_ <= min(est.validation_loss_curve_) + 1e-4
    if est.n_iter_ < 60:  # stopped early: patience epochs after the best one, raised
        # to span at least 100 optimizer steps (batches of 32 of the training part).
        n_train = len(y) - int(np.ceil(0.2 * len(y)))
        assert est.n_iter_ - 1 - best_epoch == _effective_patience(3, n_train, 32) > 3


def test_restored_weights_are_the_best_epoch(clf_data, tiny):
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split

    X, y = clf_data
    est = DeepEnsembleClassifier(**{**tiny, "max_epochs": 40, "patience": 5, "lr": 0.05})
    est.fit(X, y)
    # Rebuild the internal validation split and score the restored model on it.
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=3)[2]
    _, X_valid, _, y_valid = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    assert log_loss(y_valid, est.predict_proba(X_valid), labels=[0, 1, 2]) == pytest.approx(
        est.best_loss_, rel=1e-4
    )


@pytest.mark.parametrize("Estimator", [DeepEnsembleClassifier, DeepEnsembleRegressor])
def test_without_early_stopping_runs_all_epochs(Estimator, clf_data, tiny):
    X, y = clf_data
    est = Estimator(**{**tiny, "early_stopping": False, "max_epochs": 7}).fit(X, y)
    assert est.n_iter_ == 7
    assert est.validation_scores_ is None and est.validation_loss_curve_ is None
    assert est.best_loss_ == min(est.loss_curve_)
    assert est.loss_curve_[-1] < est.loss_curve_[0]


@pytest.mark.parametrize("Estimator", [DeepEnsembleClassifier, DeepEnsembleRegressor])
def test_same_random_state_gives_identical_predictions(Estimator, clf_data, tiny):
    X, y = clf_data
    a = Estimator(**{**tiny, "dropout": 0.2, "bootstrap": True}).fit(X, y).predict(X)
    b = Estimator(**{**tiny, "dropout": 0.2, "bootstrap": True}).fit(X, y).predict(X)
    c = Estimator(**{**tiny, "random_state": 1}).fit(X, y)
    np.testing.assert_array_equal(a, b)
    if Estimator is DeepEnsembleRegressor:
        assert not np.allclose(a, c.predict(X))


def test_fit_leaves_torch_global_random_state_alone(clf_data, tiny):
    X, y = clf_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    DeepEnsembleClassifier(**tiny).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_bootstrap_changes_the_members(reg_data, tiny):
    X, y = reg_data
    plain = DeepEnsembleRegressor(**tiny).fit(X, y).predict(X)
    boot = DeepEnsembleRegressor(**tiny, bootstrap=True).fit(X, y).predict(X)
    assert not np.allclose(plain, boot)


@pytest.mark.parametrize("ensemble_type", ["independent", "batchensemble"])
def test_ensemble_types_learn(ensemble_type, clf_data, tiny):
    X, y = clf_data
    clf = DeepEnsembleClassifier(**tiny, ensemble_type=ensemble_type).fit(X, y)
    assert clf.score(X, y) > 0.7
    n_params = sum(p.numel() for p in clf.net_.module_.parameters())
    assert n_params > 0


def test_linear_members_with_empty_hidden_layers(clf_data, tiny):
    X, y = clf_data
    clf = DeepEnsembleClassifier(**{**tiny, "hidden_layer_sizes": ()}).fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 3)


def test_diverging_training_raises_a_clear_error(reg_data, tiny):
    X, y = reg_data
    reg = DeepEnsembleRegressor(**{**tiny, "lr": 1e30, "early_stopping": False})
    with pytest.raises(TrainingDivergedError, match="Training diverged.*lower learning rate"):
        reg.fit(X, y)
    assert not hasattr(reg, "net_")


def test_failed_refit_leaves_the_estimator_unfitted(reg_data, tiny):
    X, y = reg_data
    reg = DeepEnsembleRegressor(**{**tiny, "max_epochs": 3}).fit(X, y)
    reg.set_params(lr=1e30, early_stopping=False)
    with pytest.raises(TrainingDivergedError):
        reg.fit(X, y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_refit_rejected_for_bad_input_leaves_the_estimator_unfitted(clf_data, tiny):
    X, y = clf_data
    clf = DeepEnsembleClassifier(**{**tiny, "max_epochs": 3}).fit(X, y)
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X, np.zeros(len(y)))
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_unseen_embeddings_are_filled_before_each_validation_pass():
    from types import SimpleNamespace

    from skens.deep._net import FillUnseenEmbeddings
    from skens.nn import FeatureEmbedding

    module = FeatureEmbedding(0, [4], embedding_dims=[3])
    weight = module.embeddings[0].weight
    callback = FillUnseenEmbeddings([np.array([False, False, True, True])])
    net = SimpleNamespace(module_=module)
    callback.on_epoch_begin(net)
    callback.on_batch_begin(net, training=True)
    assert not torch.allclose(weight[0], weight[2:].mean(0))  # not during training batches
    callback.on_batch_begin(net, training=False)
    torch.testing.assert_close(weight[0], weight[2:].mean(0))
    torch.testing.assert_close(weight[1], weight[2:].mean(0))


def test_verbose_prints_epoch_table(clf_data, tiny, capsys):
    X, y = clf_data
    DeepEnsembleClassifier(**{**tiny, "max_epochs": 3, "verbose": 2}).fit(X, y)
    out = capsys.readouterr().out
    assert "epoch" in out and "train_loss" in out and "valid_loss" in out
    DeepEnsembleClassifier(**{**tiny, "max_epochs": 3}).fit(X, y)
    assert capsys.readouterr().out == ""


def test_prediction_in_small_batches_matches(clf_data, tiny, monkeypatch):
    X, y = clf_data
    full = DeepEnsembleClassifier(**tiny).fit(X, y).predict_proba(X)
    monkeypatch.setattr(
        DeepEnsembleClassifier, "_predict_batch_size", lambda self, sizes, device="cpu": 9
    )
    clf = DeepEnsembleClassifier(**tiny).fit(X, y)
    # A last batch of fewer than MIN_BATCH_ROWS rows joins the one before it.
    n_batches = int(np.ceil(len(X) / 9)) - (0 < len(X) % 9 < MIN_BATCH_ROWS)
    assert len(list(clf._raw_outputs(X))) == n_batches
    # float32 sums over different batch shapes differ in the last bits only
    np.testing.assert_allclose(clf.predict_proba(X), full, rtol=1e-5, atol=1e-9)


def test_fitted_model_is_on_the_cpu_and_device_recorded(clf_data, tiny):
    X, y = clf_data
    clf = DeepEnsembleClassifier(**tiny, device="cpu").fit(X, y)
    assert clf.device_ == "cpu"
    assert all(p.device.type == "cpu" for p in clf.net_.module_.parameters())


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize("Estimator", [DeepEnsembleClassifier, DeepEnsembleRegressor])
def test_predict_before_fit(Estimator):
    with pytest.raises(NotFittedError):
        Estimator().predict(np.ones((2, 3)))


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_members=0), "'n_members' parameter"),
        (dict(lr=-1.0), "'lr' parameter"),
        (dict(ensemble_type="bagging"), "'ensemble_type' parameter"),
        (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes must be a sequence of positive"),
        (dict(hidden_layer_sizes=(8, 2.5)), "hidden_layer_sizes must be a sequence of positive"),
        (dict(dropout=1.0), "'dropout' parameter"),
        (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
        (dict(device="tpu"), "device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        (dict(batch_size=0), "'batch_size' parameter"),
    ],
)
@pytest.mark.parametrize("Estimator", [DeepEnsembleClassifier, DeepEnsembleRegressor])
def test_invalid_parameters(Estimator, params, match, clf_data):
    X, y = clf_data
    with pytest.raises(ValueError, match=match):
        Estimator(**params).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has CUDA")
def test_cuda_requested_without_cuda(clf_data, tiny):
    X, y = clf_data
    with pytest.raises(ValueError, match="CUDA is not available"):
        DeepEnsembleClassifier(**{**tiny, "device": "cuda"}).fit(X, y)


def test_classifier_rejects_a_single_class(tiny):
    with pytest.raises(ValueError, match="only one class"):
        DeepEnsembleClassifier(**tiny).fit(np.random.randn(20, 3), np.zeros(20))


def test_classifier_rejects_continuous_and_multilabel_targets(tiny):
    X = np.random.randn(20, 3)
    with pytest.raises(ValueError, match="Unknown label type"):
        DeepEnsembleClassifier(**tiny).fit(X, np.random.randn(20))
    with pytest.raises(ValueError, match="y should be a 1d array"):
        DeepEnsembleClassifier(**tiny).fit(X, np.random.randint(0, 2, (20, 2)))


@pytest.mark.parametrize("Estimator", [DeepEnsembleClassifier, DeepEnsembleRegressor])
def test_wrong_number_of_features_at_predict(Estimator, clf_data, tiny):
    X, y = clf_data
    est = Estimator(**tiny).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but .* is expecting 6 features"):
        est.predict(X[:, :5])


def test_inputs_are_not_mutated(clf_data, tiny):
    X, y = clf_data
    X_copy, y_copy = X.copy(), y.copy()
    clf = DeepEnsembleClassifier(**tiny).fit(X, y)
    clf.predict_proba(X)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_tiny_stratification_falls_back_with_a_warning(tiny):
    X = np.random.randn(30, 3)
    y = np.array([0] * 15 + [1] * 14 + [2])  # class 2 has one sample
    with pytest.warns(UserWarning, match="too few samples for a stratified validation split"):
        clf = DeepEnsembleClassifier(**tiny).fit(X, y)
    assert clf.predict_proba(X).shape == (30, 3)


def test_predict_proba_on_a_million_rows_stays_in_bounded_memory(tiny):
    import tracemalloc

    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = DeepEnsembleClassifier(**tiny).fit(X, y)
    X_big = np.random.RandomState(0).randn(1_000_000, 5)  # 40 MB
    tracemalloc.start()
    proba = clf.predict_proba(X_big)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert proba.shape == (1_000_000, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The output (16 MB) plus per-batch buffers: no whole-data copy of X or of the
    # per-member outputs (which alone would be 48 MB).
    assert peak < 40e6, f"peak numpy allocation {peak / 1e6:.0f} MB"
