"""The encoding as the module's first stage: same predictions, one copy of the data, bf16."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.nn import EncodedNetwork, TabularEncoding
from skens.preprocessing import TabularPreprocessor
from tests.deep.test_tabular_input import _mixed_frame

ESTIMATORS = [DeepEnsembleClassifier, DeepEnsembleRegressor]


@pytest.fixture(scope="module")
def mixed():
    return _mixed_frame()


def _target(Estimator, mixed):
    X, y_class, y_reg = mixed
    return X, (y_class if Estimator is DeepEnsembleClassifier else y_reg)


def _outputs_through_cpu_encoding(est, X):
    """The network's outputs on scikit-learn-encoded rows: the path before the encoding stage."""
    encoded = torch.as_tensor(est.preprocessor_.transform(X), dtype=torch.float32)
    return est._raw_outputs(encoded, encoded=True)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_predictions_equal_those_of_the_cpu_encoding(Estimator, mixed, tiny):
    X, y = _target(Estimator, mixed)
    est = Estimator(**tiny).fit(X, y)
    module = est.net_.module_
    assert isinstance(module, EncodedNetwork)
    assert isinstance(module.encoding, TabularEncoding)
    for new, old in zip(est._raw_outputs(X), _outputs_through_cpu_encoding(est, X)):
        for a, b in zip(*(t if isinstance(t, tuple) else (t,) for t in (new, old))):
            # float32 rounding of the encoded values at most
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_the_encoding_ships_with_the_pickled_model(mixed, tiny):
    X, y = _target(DeepEnsembleClassifier, mixed)
    est = DeepEnsembleClassifier(**tiny).fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    assert isinstance(loaded.net_.module_.encoding, TabularEncoding)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_another_preprocessor_class_encodes_on_the_cpu(mixed, tiny):
    class Doubling(TabularPreprocessor):
        def transform(self, X):
            return 2 * super().transform(X)

    class Custom(DeepEnsembleRegressor):
        def _make_preprocessor(self, random_state):
            return Doubling(random_state=random_state)

    X, y = _target(DeepEnsembleRegressor, mixed)
    X = X[["age", "income"]]
    est = Custom(**tiny).fit(X, y)
    assert not est._encodes_on_device()
    assert est.net_.module_.encoding is None
    # Predictions read the subclass's transform.
    encoded = torch.as_tensor(2 * TabularPreprocessor.transform(est.preprocessor_, X))
    np.testing.assert_allclose(
        np.concatenate([m.numpy() for m, _ in est._raw_outputs(X)]),
        np.concatenate([m.numpy() for m, _ in est._raw_outputs(encoded.float(), encoded=True)]),
    )


@pytest.mark.parametrize("early_stopping", [True, False])
def test_a_fit_encodes_its_rows_once_train_first(mixed, tiny, early_stopping):
    captured = {}

    class Capturing(DeepEnsembleClassifier):
        def _fit(self, X, y, sample_weight=None):
            captured["data"] = super()._fit(X, y, sample_weight)
            return captured["data"]

    X, y = _target(DeepEnsembleClassifier, mixed)
    weight = np.where(np.arange(len(y)) % 7 == 0, 0.0, 1.0)  # zero-weight rows are left out
    est = Capturing(**tiny, early_stopping=early_stopping).fit(X, y, sample_weight=weight)
    data = captured["data"]
    kept = np.flatnonzero(weight > 0)
    assert len(data.X) == len(kept)
    # Both parts are views of the one encoded tensor.
    assert data.X_train.data_ptr() == data.X.data_ptr()
    if early_stopping:
        assert data.X_valid.untyped_storage().data_ptr() == data.X.untyped_storage().data_ptr()
        assert len(data.X_train) + len(data.X_valid) == len(kept)
    else:
        assert data.X_valid is None
    # The encoded rows are the preprocessor's encoding of the kept rows, in the fit's order:
    # matching each encoded row to its source row recovers the labels the fit trained on.
    expected = est.preprocessor_.transform(X.iloc[kept]).astype(np.float32)
    encoded = data.X.cpu().numpy()
    distance = np.abs(encoded[:, None, :] - expected[None, :, :]).max(axis=2)
    source = distance.argmin(axis=1)
    assert distance.min(axis=1).max() < 1e-5
    assert sorted(source) == list(range(len(kept)))
    np.testing.assert_array_equal(data.y, np.searchsorted(est.classes_, y[kept][source]))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bf16_precision_trains_and_predicts_in_float64(Estimator, tiny):
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    if Estimator is DeepEnsembleRegressor:
        y = X[:, 0] + 0.5 * X[:, 1]
    fp32 = Estimator(**tiny).fit(X, y)
    bf16 = Estimator(**tiny, precision="bf16").fit(X, y)
    assert bf16.net_.precision == "bf16"
    assert np.isfinite(bf16.loss_curve_).all()
    if Estimator is DeepEnsembleClassifier:
        proba = bf16.predict_proba(X)
        assert proba.dtype == np.float64
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert bf16.score(X, y) > fp32.score(X, y) - 0.1
    else:
        mean, std = bf16.predict(X, return_std=True)
        assert mean.dtype == np.float64 and (std > 0).all()
        assert bf16.score(X, y) > fp32.score(X, y) - 0.1
    # bf16 rounds the matrix products: the raw outputs differ from fp32's.
    def raw(est):
        return np.concatenate(
            [(o[0] if isinstance(o, tuple) else o).numpy() for o in est._raw_outputs(X)]
        )

    assert not np.allclose(raw(bf16), raw(fp32), rtol=1e-4, atol=1e-4)


def test_the_losses_are_computed_in_float32_under_bf16(tiny):
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    est = DeepEnsembleClassifier(**{**tiny, "max_epochs": 2}, precision="bf16").fit(X, y)
    out = est.net_.infer(torch.zeros(3, est.preprocessor_.column_layout_.n_columns))
    assert out.dtype == torch.float32


def test_invalid_precision_is_rejected():
    X, y = make_classification(n_samples=50, n_features=4, random_state=0)
    with pytest.raises(ValueError, match="precision"):
        DeepEnsembleClassifier(precision="fp16").fit(X, y)


def test_prediction_batches_are_sized_for_the_device():
    est = DeepEnsembleClassifier(n_members=8)
    est.preprocessor_ = TabularPreprocessor().fit(np.zeros((4, 50)))
    cpu = est._predict_batch_size((256, 256), "cpu")
    cuda = est._predict_batch_size((256, 256), "cuda")
    assert cpu * 32 <= cuda
    assert cpu >= 64
