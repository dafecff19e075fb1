"""``partial_fit`` of the deep ensembles: one pass per call over a chunk of rows."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss
from sklearn.utils.validation import check_is_fitted

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.deep._mc_dropout import _MCDropoutMixin
from skens.preprocessing import TabularPreprocessor

Classifier = DeepEnsembleClassifier
Regressor = DeepEnsembleRegressor

SMALL = dict(
    n_members=2, hidden_layer_sizes=(16,), lr=0.01, batch_size=32, device="cpu", random_state=0
)


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=1000, n_features=10, n_informative=5, random_state=0)
    return X[:600], y[:600], X[600:], y[600:]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=300, n_features=5, noise=5.0, random_state=0)
    return X, y


def _chunks(n_rows, n_chunks):
    return np.array_split(np.arange(n_rows), n_chunks)


def _train(estimator, X, y, n_chunks=3, passes=1, **kwargs):
    for _ in range(passes):
        for rows in _chunks(len(y), n_chunks):
            estimator.partial_fit(X[rows], y[rows], **kwargs)
    return estimator


def _mixed_frame(n=240, seed=0):
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame(
        {
            "age": np.where(rng.rand(n) < 0.1, np.nan, rng.uniform(18, 80, n)),
            "city": pd.Series(rng.choice(["Oslo", "Rome", "Lima"], n), dtype="category"),
            "id": rng.choice([f"c{i:03d}" for i in range(100)], n),  # embedded (> 64)
        }
    )
    y = ((frame.age.fillna(50) - 50) / 10 + (frame.city == "Rome") * 2 > 0).astype(int)
    return frame, y.to_numpy()


# ------------------------------------------------------------------- the API
def test_classes_are_required_on_the_first_call(binary):
    X, y, _, _ = binary
    clf = Classifier(**SMALL)
    with pytest.raises(ValueError, match="classes="):
        clf.partial_fit(X[:50], y[:50])
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.partial_fit(X[:50], y[:50], classes=[0])


def test_classes_on_later_calls_and_unknown_labels(binary):
    X, y, _, _ = binary
    clf = Classifier(**SMALL).partial_fit(X[:50], y[:50], classes=np.array([1, 0]))
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    clf.partial_fit(X[50:100], y[50:100], classes=[0, 1])  # the same classes again
    clf.partial_fit(X[50:100], y[50:100])  # or none
    with pytest.raises(ValueError, match="differs from the classes of the first call"):
        clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels not in classes_ \[0, 1\]: \[2, 7\]"):
        clf.partial_fit(X[:4], np.array([0, 2, 7, 2]))
    with pytest.raises(ValueError, match="labels not in classes_"):
        clf.partial_fit(X[:2], np.array(["a", "b"]))
    assert clf.n_iter_ == 3


def test_string_labels_a_chunk_may_lack_a_class(binary):
    X, y, _, _ = binary
    labels = np.array(["no", "yes"])[y]
    clf = Classifier(**SMALL)
    first = np.flatnonzero(y == 0)[:40]  # only "no" in the first chunk
    clf.partial_fit(X[first], labels[first], classes=["yes", "no"])
    clf.partial_fit(X[:200], labels[:200])
    assert set(clf.predict(X[:50])) <= {"no", "yes"}
    assert clf.predict_proba(X[:5]).shape == (5, 2)


def test_n_features_must_not_change(binary):
    X, y, _, _ = binary
    clf = Classifier(**SMALL).partial_fit(X[:50], y[:50], classes=[0, 1])
    with pytest.raises(ValueError, match="X has 9 features, but .* is expecting 10 features"):
        clf.partial_fit(X[:50, :-1], y[:50])
    reg = Regressor(**SMALL).partial_fit(X[:50], y[:50].astype(float))
    with pytest.raises(ValueError, match="X has 9 features"):
        reg.partial_fit(X[:50, :-1], y[:50])
    with pytest.raises(ValueError, match="outputs"):
        reg.partial_fit(X[:50], np.c_[y[:50], y[:50]])


def test_bad_chunks_and_weights(binary):
    X, y, _, _ = binary
    clf = Classifier(**SMALL).partial_fit(X[:50], y[:50], classes=[0, 1])
    with pytest.raises(ValueError, match="0 sample"):
        clf.partial_fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.partial_fit(X[:10], y[:9])
    with pytest.raises(ValueError, match="sample_weight"):
        clf.partial_fit(X[:10], y[:10], sample_weight=np.ones(9))
    with pytest.raises(ValueError, match="Negative"):
        clf.partial_fit(X[:10], y[:10], sample_weight=-np.ones(10))
    with pytest.raises(ValueError, match="class_weight='balanced'"):
        Classifier(**SMALL, class_weight="balanced").partial_fit(X[:50], y[:50], classes=[0, 1])
    assert clf.n_iter_ == 1  # the failed calls trained nothing


def test_invalid_parameters_are_reported_on_the_first_call(binary):
    X, y, _, _ = binary
    with pytest.raises(ValueError, match="'lr' parameter"):
        Classifier(**{**SMALL, "lr": -1.0}).partial_fit(X[:50], y[:50], classes=[0, 1])


def test_one_row_chunks_nan_and_weights(binary):
    X, y, _, _ = binary
    X = X.copy()
    X[::7, 3] = np.nan  # missing values are allowed, as in fit
    clf = Classifier(**SMALL, bootstrap=True)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1])
    clf.partial_fit(X[100:101], y[100:101])  # one row (often no bootstrap draw at all)
    weight = np.r_[np.zeros(20), np.ones(30)]
    clf.partial_fit(X[200:250], y[200:250], sample_weight=weight)  # zero weight: left out
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all() and clf.n_iter_ == 3
    assert np.isfinite(clf.loss_curve_).all()
    # a first chunk of one row works too (a batch of one row, then)
    reg = Regressor(**{**SMALL, "batch_size": "auto"}).partial_fit(X[:1], [3.0])
    assert reg.net_.batch_size == 1
    assert np.isfinite(reg.predict(X[:3])).all()


def test_inputs_are_not_mutated(binary):
    X, y, _, _ = binary
    X_chunk, y_chunk = X[:80].copy(), y[:80].copy()
    X_chunk[0, 0] = np.nan
    weight = np.r_[np.zeros(10), np.full(70, 2.0)]
    frame, y_frame = _mixed_frame(80)
    before = (X_chunk.copy(), y_chunk.copy(), weight.copy(), frame.copy())
    Classifier(**SMALL, bootstrap=True).partial_fit(
        X_chunk, y_chunk, classes=[0, 1], sample_weight=weight
    )
    Classifier(**SMALL).partial_fit(frame, y_frame, classes=[0, 1])
    np.testing.assert_array_equal(X_chunk, before[0])
    np.testing.assert_array_equal(y_chunk, before[1])
    np.testing.assert_array_equal(weight, before[2])
    pd.testing.assert_frame_equal(frame, before[3])


# ------------------------------------------------------------------ training
def test_training_attributes(binary):
    X, y, _, _ = binary
    clf = _train(Classifier(**SMALL), X, y, n_chunks=3, passes=2, classes=[0, 1])
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_loss_curve_ is None and clf.validation_scores_ is None
    assert clf.device_ == "cpu"
    # batch_size='auto' is resolved on the first call's rows (200: a batch of 32)
    auto = Classifier(**{**SMALL, "batch_size": "auto"})
    _train(auto, X, y, n_chunks=3, classes=[0, 1])
    assert auto.net_.batch_size == 32
    # the net trains on with its optimizer: never trimmed
    assert clf.net_.optimizer_ is not None


def test_loss_decreases_and_the_shuffling_order_changes_between_calls(binary):
    X, y, _, _ = binary
    clf = Classifier(**SMALL)
    seeds = []
    for _ in range(6):
        clf.partial_fit(X[:200], y[:200], classes=[0, 1])
        seeds.append(clf.net_.iterator_train__seed)
    assert len(set(seeds)) == 6
    assert clf.loss_curve_[-1] < 0.75 * clf.loss_curve_[0]


def test_a_chunked_stream_reaches_the_loss_of_fit(binary):
    X, y, X_test, y_test = binary
    fitted = DeepEnsembleClassifier(**SMALL, max_epochs=5, early_stopping=False).fit(X, y)
    # 10 chunks, 5 passes; the encoding is learned on the first 60 rows only
    streamed = _train(Classifier(**SMALL), X, y, n_chunks=10, passes=5, classes=[0, 1])
    assert streamed.n_iter_ == 50
    fit_loss = log_loss(y_test, fitted.predict_proba(X_test))
    stream_loss = log_loss(y_test, streamed.predict_proba(X_test))
    constant = log_loss(y_test, np.tile(np.bincount(y) / len(y), (len(y_test), 1)))
    assert stream_loss < 1.2 * fit_loss + 0.02
    assert stream_loss < 0.5 * constant


@pytest.mark.parametrize("loss", ["gaussian_nll", "mse"])
def test_regressor_predicts_a_std_after_every_call(regression, loss):
    X, y = regression
    reg = Regressor(**SMALL, loss=loss)
    for rows in _chunks(len(y), 3):
        reg.partial_fit(X[rows], y[rows])
        mean, std = reg.predict(X[:20], return_std=True)
        assert mean.shape == std.shape == (20,)
        assert np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()
    # the target standardisation is that of the first call's targets
    first = _chunks(len(y), 3)[0]
    np.testing.assert_allclose(reg.target_scaler_.mean_, [y[first].mean()])
    if loss == "mse":
        assert reg.noise_variance_.shape == (2, 1) and (reg.noise_variance_ > 0).all()
    else:
        assert reg.noise_variance_ is None


def test_multioutput_regression(regression):
    X, y = regression
    Y = np.c_[y, -2 * y]
    reg = _train(Regressor(**SMALL), X, Y, n_chunks=2)
    mean, std = reg.predict(X[:4], return_std=True)
    assert mean.shape == std.shape == (4, 2) and (std > 0).all()


@pytest.mark.parametrize("bootstrap", [False, True])
def test_reproducible_with_an_int_random_state(binary, bootstrap):
    X, y, _, _ = binary
    params = {**SMALL, "dropout": 0.2, "bootstrap": bootstrap}
    first, second = (
        _train(Classifier(**params), X[:300], y[:300], n_chunks=3, passes=2, classes=[0, 1])
        for _ in range(2)
    )
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = _train(
        Classifier(**{**params, "random_state": 1}), X[:300], y[:300], n_chunks=3, classes=[0, 1]
    )
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))


def test_global_random_states_are_left_alone(binary):
    X, y, _, _ = binary
    torch.manual_seed(123)
    np.random.seed(123)
    expected_torch, expected_numpy = torch.rand(3), np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    _train(Classifier(**SMALL, bootstrap=True, dropout=0.2), X[:100], y[:100], classes=[0, 1])
    torch.testing.assert_close(torch.rand(3), expected_torch)
    np.testing.assert_array_equal(np.random.rand(3), expected_numpy)


# -------------------------------------------------------------- fit and refit
def test_fit_after_partial_fit_starts_afresh(binary):
    X, y, _, _ = binary
    clf = _train(Classifier(**SMALL, max_epochs=3, early_stopping=False), X, y, classes=[0, 1])
    fresh = DeepEnsembleClassifier(**SMALL, max_epochs=3, early_stopping=False).fit(X, y)
    clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    np.testing.assert_array_equal(clf.predict_proba(X), fresh.predict_proba(X))
    assert "_incremental_state" not in vars(clf)


def test_partial_fit_after_fit_trains_on(binary):
    X, y, _, _ = binary
    clf = Classifier(**SMALL, max_epochs=15).fit(X, y)  # early stopping on
    n_iter, curve, proba = clf.n_iter_, list(clf.loss_curve_), clf.predict_proba(X)
    # a later call may omit the classes, which come from fit
    clf.partial_fit(X[:300], y[:300])
    clf.partial_fit(X[300:], y[300:], classes=[0, 1])
    assert clf.n_iter_ == n_iter + 2
    assert clf.loss_curve_[:n_iter] == curve and len(clf.loss_curve_) == n_iter + 2
    assert clf.validation_loss_curve_ is None
    new_proba = clf.predict_proba(X)
    assert not np.allclose(new_proba, proba)
    # it trains on from the fitted weights (not from a new initialisation)
    assert log_loss(y, new_proba) < 1.5 * log_loss(y, proba) + 0.05


def test_regressor_partial_fit_after_fit(regression):
    X, y = regression
    reg = Regressor(**SMALL, loss="mse", max_epochs=5, early_stopping=False).fit(X, y)
    scaler_mean = reg.target_scaler_.mean_.copy()
    reg.partial_fit(X[:100], y[:100])
    np.testing.assert_array_equal(reg.target_scaler_.mean_, scaler_mean)  # fit's, kept
    _, std = reg.predict(X[:5], return_std=True)
    assert reg.n_iter_ == 6 and (std > 0).all()


# --------------------------------------------------------------- the encoding
def test_a_fitted_preprocessor_is_used_as_is(binary):
    X, y, _, _ = binary
    given = TabularPreprocessor(random_state=0).fit(X)  # on all rows
    clf = Classifier(**SMALL).partial_fit(X[:30], y[:30], classes=[0, 1], preprocessor=given)
    assert clf.preprocessor_ is not given
    np.testing.assert_array_equal(clf.preprocessor_.scaler_.quantiles_, given.scaler_.quantiles_)
    np.testing.assert_array_equal(clf.preprocessor_.transform(X), given.transform(X))
    # later calls ignore the argument
    other = TabularPreprocessor(numeric_scaling="standard").fit(X[:10])
    kept = clf.preprocessor_
    clf.partial_fit(X[30:60], y[30:60], preprocessor=other)
    assert clf.preprocessor_ is kept
    # the estimator's own one, for comparison, is learned on the first chunk
    own = Classifier(**SMALL).partial_fit(X[:30], y[:30], classes=[0, 1])
    assert own.preprocessor_.scaler_.quantiles_.shape[0] == 30


def test_the_preprocessor_must_be_fitted_and_match(binary):
    X, y, _, _ = binary
    clf = Classifier(**SMALL)
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.partial_fit(X[:30], y[:30], classes=[0, 1], preprocessor=TabularPreprocessor())
    with pytest.raises(TypeError, match="TabularPreprocessor"):
        clf.partial_fit(X[:30], y[:30], classes=[0, 1], preprocessor="quantile")
    with pytest.raises(ValueError, match="fitted on 9 features"):
        clf.partial_fit(
            X[:30], y[:30], classes=[0, 1], preprocessor=TabularPreprocessor().fit(X[:, :9])
        )
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)


def test_a_frame_with_categorical_columns():
    frame, y = _mixed_frame()
    # the ids of the whole table are known to the given encoding; the first
    # chunk holds half of them, the second the others
    given = TabularPreprocessor().fit(frame)
    low = (frame.id < "c050").to_numpy()
    clf = Classifier(**{**SMALL, "n_members": 1})
    clf.partial_fit(frame[low], y[low], classes=[0, 1], preprocessor=given)
    clf.partial_fit(frame[~low], y[~low])
    assert list(clf.feature_names_in_) == ["age", "city", "id"]
    proba = clf.predict_proba(frame)
    assert proba.shape == (len(y), 2) and np.isfinite(proba).all()
    # the codes of both chunks stay trained: only "missing" and "unknown", never
    # seen, hold the mean embedding (an id of the first chunk is not reset to it)
    weight = clf.net_.module_.network.embedding.embeddings[0].weight.detach()
    filled = (weight == weight[1]).all(dim=1)
    assert filled.tolist()[:2] == [True, True] and int(filled.sum()) == 2
    with pytest.raises(ValueError, match="feature names"):
        clf.partial_fit(frame[["city", "age", "id"]], y)
    # the estimator's own encoding, learned on the first chunk, maps the other
    # ids to "unknown"
    own = Classifier(**SMALL).partial_fit(frame[low], y[low], classes=[0, 1])
    own.partial_fit(frame[~low], y[~low])
    assert np.isfinite(own.predict_proba(frame)).all()


# ------------------------------------------------------- persistence and clone
def test_pickle_then_train_on(binary):
    X, y, _, _ = binary
    clf = _train(Classifier(**SMALL), X[:300], y[:300], classes=[0, 1])
    copy_ = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy_.predict_proba(X), clf.predict_proba(X))
    copy_.partial_fit(X[300:], y[300:])
    assert copy_.n_iter_ == clf.n_iter_ + 1
    assert not np.allclose(copy_.predict_proba(X), clf.predict_proba(X))
    # An unpickled copy trains on exactly like the original: the optimizer
    # state, the call count, the seeds and the dropout streams travel with it.
    clf = _train(Classifier(**SMALL, dropout=0.2), X[:300], y[:300], classes=[0, 1])
    twin = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X[300:], y[300:])
    twin.partial_fit(X[300:], y[300:])
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))


def test_clone_of_a_partially_fitted_estimator_is_unfitted(binary):
    X, y, _, _ = binary
    clf = Classifier(**SMALL).partial_fit(X[:50], y[:50], classes=[0, 1])
    fresh = clone(clf)
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    assert fresh.get_params() == clf.get_params()
    with pytest.raises(ValueError, match="classes="):
        fresh.partial_fit(X[:50], y[:50])


# ---------------------------------------------------------------- the kinds
def test_kinds_that_train_differently_have_no_partial_fit():
    class _Samples(_MCDropoutMixin, Classifier):
        pass

    class _Plain(Classifier):
        pass

    assert not hasattr(_Samples(), "partial_fit")
    assert hasattr(_Plain(), "partial_fit") and hasattr(Regressor(), "partial_fit")


def test_partial_fit_after_a_grouped_fit_trains_on(binary):
    from joblib import parallel_config

    X, y, _, _ = binary
    with parallel_config(backend="threading"):
        clf = Classifier(**{**SMALL, "n_members": 4}, n_jobs=2, max_epochs=3).fit(X, y)
    clf.partial_fit(X[:300], y[:300])
    assert clf.predict_proba_members(X).shape == (4, len(X), 2)
    assert clf.n_iter_ == len(clf.loss_curve_)


def test_partial_fit_trains_on_one_device(binary):
    X, y, _, _ = binary
    clf = Classifier(**{**SMALL, "device": ["cpu", "cpu"]})
    with pytest.raises(ValueError, match="one device"):
        clf.partial_fit(X[:50], y[:50], classes=[0, 1])
