"""GPU behaviour; skipped on machines without CUDA."""

import pickle

import numpy as np
from sklearn.datasets import make_classification, make_regression

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from tests.conftest import requires_cuda

pytestmark = requires_cuda


def test_auto_device_trains_on_cuda(tiny):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = DeepEnsembleClassifier(**tiny).fit(X, y)
    assert clf.device_.startswith("cuda")
    assert all(p.is_cuda for p in clf.net_.module_.parameters())
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64 and isinstance(proba, np.ndarray)
    assert clf.score(X, y) > 0.8


def test_cuda_and_cpu_fits_agree_closely(tiny):
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    params = {**tiny, "dropout": 0.0, "early_stopping": False}
    gpu = DeepEnsembleRegressor(**params, device="cuda").fit(X, y)
    cpu = DeepEnsembleRegressor(**params, device="cpu").fit(X, y)
    # Same seeds, same initial weights; only kernel rounding differs.
    assert np.corrcoef(gpu.predict(X), cpu.predict(X))[0, 1] > 0.99


def test_cuda_model_pickles_and_predicts(tiny):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = DeepEnsembleClassifier(**tiny, device="cuda").fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))


def test_large_prediction_in_batches(tiny):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = DeepEnsembleClassifier(**tiny, device="cuda").fit(X, y)
    X_big = np.random.RandomState(0).randn(300_000, 5)
    proba = clf.predict_proba(X_big)
    assert proba.shape == (300_000, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_the_encoding_runs_on_cuda_and_matches_the_cpu_encoding(tiny):
    import torch

    from tests.deep.test_tabular_input import _mixed_frame

    X, y, _ = _mixed_frame()
    clf = DeepEnsembleClassifier(**tiny, device="cuda").fit(X, y)
    encoding = clf.net_.module_.encoding
    assert all(b.is_cuda for b in encoding.buffers())
    batch = {k: v.cuda() for k, v in clf._raw_batch(X).items()}
    encoded = encoding(**batch)
    assert encoded.is_cuda and encoded.dtype == torch.float32
    expected = clf.preprocessor_.transform(X).astype(np.float32)
    np.testing.assert_allclose(encoded.cpu().numpy(), expected, rtol=2e-7, atol=1e-6)
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64 and np.isfinite(proba).all()


def test_a_cuda_fitted_model_predicts_on_a_machine_without_cuda(tiny, tmp_path):
    import os
    import subprocess
    import sys

    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = DeepEnsembleClassifier(**tiny, device="cuda").fit(X, y)
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(clf))
    script = (
        "import pickle, sys, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "clf = pickle.load(open(sys.argv[1], 'rb'))\n"
        "assert clf.device_ == 'cpu'\n"
        "assert all(b.device.type == 'cpu' for b in clf.net_.module_.buffers())\n"
        "np.save(sys.argv[2], clf.predict_proba(np.load(sys.argv[3])))\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "model.pkl"), str(tmp_path / "p.npy"),
         str(tmp_path / "X.npy")],
        check=True, env=env, cwd=os.getcwd(),
    )
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), clf.predict_proba(X), atol=1e-5)


def test_bf16_on_cuda(tiny):
    X, y = make_classification(n_samples=400, n_features=8, random_state=0)
    fp32 = DeepEnsembleClassifier(**tiny, device="cuda").fit(X, y)
    bf16 = DeepEnsembleClassifier(**tiny, device="cuda", precision="bf16").fit(X, y)
    proba = bf16.predict_proba(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert bf16.score(X, y) > fp32.score(X, y) - 0.05


def test_cuda_prediction_batches_are_large(tiny):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = DeepEnsembleClassifier(**tiny, device="cuda").fit(X, y)
    sizes = (16,)
    assert clf._predict_batch_size(sizes, "cuda") > clf._predict_batch_size(sizes, "cpu")
    X_big = np.random.RandomState(0).randn(100_000, 5)
    assert len(list(clf._raw_outputs(X_big))) <= 2


def test_every_uncertainty_method_trains_and_predicts_on_cuda():
    import skens
    from skens.callbacks import GradientNoise

    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    Xr, yr = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    small = dict(hidden_layer_sizes=(16,), random_state=0, device="cuda")
    models = [
        (skens.MCDropoutClassifier(n_samples=4, max_epochs=10, **small), X, y),
        (skens.SnapshotEnsembleRegressor(n_snapshots=2, cycle_epochs=5, **small), Xr, yr),
        (skens.SGMCMCClassifier(n_chains=2, n_samples=2, burn_in=5, thinning=2, **small), X, y),
        (skens.SGMCMCRegressor(n_chains=2, n_samples=2, burn_in=5, thinning=2, sampler="sghmc",
                               **small), Xr, yr),
        (skens.SWAGClassifier(n_samples=4, swa_epochs=3, max_epochs=10, **small), X, y),
        (skens.EvidentialRegressor(max_epochs=10, **small), Xr, yr),
        (skens.MultiHeadClassifier(n_heads=3, view="noise", max_epochs=10, **small), X, y),
        (skens.DeepEnsembleClassifier(n_members=3, max_epochs=5, aggregation="crossmax",
                                      callbacks=[GradientNoise()], **small), X, y),
    ]
    for model, features, target in models:
        model.fit(features, target)
        assert model.device_.startswith("cuda")
        assert all(p.is_cuda for p in model.net_.module_.parameters())
        restored = pickle.loads(pickle.dumps(model))
        if hasattr(model, "predict_proba"):
            out = model.predict_proba(features)
            np.testing.assert_allclose(restored.predict_proba(features), out, rtol=1e-5)
        else:
            out = np.stack(model.predict(features, return_std=True))
        assert np.all(np.isfinite(out)), type(model).__name__
