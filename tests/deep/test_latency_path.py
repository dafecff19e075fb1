"""The fast prediction path (issue 16, item 5) gives the outputs of the original one, bit for bit.

The reference here is the original path, kept as a slow copy: raw rows
repeated up to ``MIN_BATCH_ROWS``, encoded, and evaluated by skorch's
``evaluation_step`` on the trained module (BatchEnsemble adapters folded at
every call).
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.deep import _base
from skens.deep._base import _PREDICTION_COPIES, _check_hidden_layer_sizes, _to_host
from skens.deep._data import MIN_BATCH_ROWS, ArrayDataset, BatchIterator
from skens.preprocessing import TabularPreprocessor
from skens.preprocessing._tabular import _frame_column, _is_dataframe
from skens.utils._compat import _safe_indexing

SMALL = dict(n_members=2, hidden_layer_sizes=(16,), max_epochs=3, batch_size=32, random_state=0)
SIZES = (1, 2, 3, 7, 8, 9, 70, 150)


def _frame(n=200, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, 3)
    frame = pd.DataFrame(
        {
            "a": np.where(rng.rand(n) < 0.1, np.nan, x[:, 0]),
            "b": rng.randint(0, 20, n),
            "c": x[:, 2] * 100,
            "city": rng.choice(["Oslo", "Rome", "Lima"], n).astype(object),
            "zip": rng.choice([f"z{i}" for i in range(80)], n).astype(object),
        }
    )
    y = (x[:, 0] + (frame["city"] == "Rome") > 0).astype(int)
    return frame, y, x[:, 0] * 3 + x[:, 2]


def _reference(est, X):
    """The original ``_raw_outputs`` on checked rows ``X``, as one output (or tuple)."""
    net = est.net_
    encoding = net.module_.encoding
    n_rows = len(X)
    if n_rows < MIN_BATCH_ROWS:
        X = _safe_indexing(X, np.arange(MIN_BATCH_ROWS) % n_rows)
    batch_size = est._predict_batch_size(_check_hidden_layer_sizes(est.hidden_layer_sizes))
    chunk_size = batch_size * max(1, -(-4096 // batch_size))
    transform = est.preprocessor_.transform if encoding is None else est._raw_batch
    outs = []
    for chunk, _ in BatchIterator(ArrayDataset(X, transform=transform), chunk_size):
        if encoding is not None:
            with torch.no_grad():
                chunk = encoding(**chunk)
        for batch in BatchIterator(ArrayDataset(chunk), batch_size):
            outs.append(_to_host(net.evaluation_step(batch, training=False)))
    return _join(outs, n_rows)


def _join(outs, n_rows):
    if isinstance(outs[0], tuple):
        return tuple(torch.cat(parts)[:n_rows] for parts in zip(*outs))
    return torch.cat(outs)[:n_rows]


def _fast(est, X):
    return _join(list(est._raw_outputs(X)), len(X))


def _assert_identical(a, b):
    for x, y in zip(a, b) if isinstance(a, tuple) else [(a, b)]:
        assert x.dtype == y.dtype and x.shape == y.shape
        assert torch.equal(x, y)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ensemble_type": "independent"},
        {"ensemble_type": "shared"},
        {"numeric_embedding": "periodic", "hidden_layer_sizes": (16, 16)},
        {"precision": "bf16"},
    ],
    ids=["batchensemble", "independent", "shared", "periodic", "bf16"],
)
def test_classifier_outputs_are_bit_identical_to_the_original_path(params):
    X, y, _ = _frame()
    clf = DeepEnsembleClassifier(**{**SMALL, **params}).fit(X, y)
    for n in SIZES:
        rows = clf._validate_X_predict(X.iloc[:n])
        _assert_identical(_fast(clf, rows), _reference(clf, rows))
    assert clf._prediction_module() is not None


def test_regressor_and_numpy_rows_are_bit_identical():
    X, _, target = _frame()
    numeric = X[["a", "b", "c"]].to_numpy(dtype=np.float64)
    reg = DeepEnsembleRegressor(**SMALL).fit(numeric, target)
    read_only = numeric.copy()
    read_only.flags.writeable = False
    for n in SIZES:
        rows = reg._validate_X_predict(read_only[:n])
        _assert_identical(_fast(reg, rows), _reference(reg, rows))
    np.testing.assert_array_equal(read_only, numeric)  # the input is left as it was


class _CPUPreprocessor(TabularPreprocessor):
    """Encodes with its own ``transform``, on the CPU (no encoding stage in the module)."""

    def transform(self, X):
        return super().transform(X)


class _CPUEncodedClassifier(DeepEnsembleClassifier):
    def _make_preprocessor(self, random_state):
        return _CPUPreprocessor(random_state=random_state)


def test_rows_the_preprocessor_encodes_on_the_cpu_are_bit_identical():
    X, y, _ = _frame()
    clf = _CPUEncodedClassifier(**SMALL).fit(X, y)
    assert clf.net_.module_.encoding is None and clf._prediction_module() is not None
    for n in SIZES:
        rows = clf._validate_X_predict(X.iloc[:n])
        _assert_identical(_fast(clf, rows), _reference(clf, rows))


def test_a_row_alone_is_predicted_as_in_any_batch():
    # The guarantee of tests/deep/test_random_state.py, on the DataFrame path. (With
    # hidden_layer_sizes=(16,), the outputs of a row differ in the last bits between
    # batches of 8 and 40 rows, on the original path as on this one: the matrix
    # product's kernel for so narrow a layer depends on the rows.)
    X, y, _ = _frame()
    X = X.drop(columns="zip")
    clf = DeepEnsembleClassifier(**{**SMALL, "hidden_layer_sizes": (256, 256), "device": "cpu"})
    clf.fit(X, y)
    together = clf.predict_proba(X.iloc[:40])
    for i in (0, 5, 39):
        np.testing.assert_array_equal(clf.predict_proba(X.iloc[[i]]), together[i : i + 1])
        np.testing.assert_array_equal(
            clf.predict_proba(X.iloc[[i, i + 1 if i < 39 else 0]])[:1], together[i : i + 1]
        )


def test_the_prediction_copy_follows_changes_of_the_network():
    X, y, _ = _frame()
    clf = DeepEnsembleClassifier(**SMALL).fit(X, y)
    rows = clf._validate_X_predict(X.iloc[:3])
    before = _fast(clf, rows)
    network = clf.net_.module_.network
    copy_before = clf._prediction_module()
    assert clf._prediction_module() is copy_before  # cached
    # Shares the trained tensors: no copy of the shared weights.
    assert copy_before.output.weight is network.output.weight
    with torch.no_grad():  # in place: a new tensor version
        network.hidden[0].r.mul_(-1.0)
    changed = _fast(clf, rows)
    assert not torch.equal(changed, before)
    _assert_identical(changed, _reference(clf, rows))
    # A replaced parameter.
    network.hidden[0].r = torch.nn.Parameter(network.hidden[0].r.detach() * -1.0)
    _assert_identical(_fast(clf, rows), before)
    # A state dict loaded (copied into the tensors in place).
    network.load_state_dict({k: v * 1.5 for k, v in network.state_dict().items()})
    loaded = _fast(clf, rows)
    assert not torch.equal(loaded, before)
    _assert_identical(loaded, _reference(clf, rows))


def test_prediction_leaves_the_estimator_and_its_pickles_alone():
    X, y, _ = _frame()
    clf = DeepEnsembleClassifier(**SMALL).fit(X, y)
    state = dict(vars(clf))
    size = len(pickle.dumps(clf))
    proba = clf.predict_proba(X.iloc[:1])
    assert vars(clf) == state
    assert len(pickle.dumps(clf)) == size  # the copy is not part of the estimator
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X.iloc[:1]), proba)
    # The copy goes with its network.
    network = clf.net_.module_.network
    assert network in _PREDICTION_COPIES
    del clf, network
    import gc

    gc.collect()
    assert all(type(n).__name__ == "EnsembleMLP" for n in _PREDICTION_COPIES)


def test_networks_of_other_modules_take_the_original_path(monkeypatch):
    X, y, _ = _frame()
    clf = DeepEnsembleClassifier(**SMALL).fit(X, y)
    network = clf.net_.module_.network
    assert clf._prediction_module() is not None
    monkeypatch.setattr(_base, "_PREDICTION_MODULES", (torch.nn.Sequential,))
    _PREDICTION_COPIES.pop(network)
    assert clf._prediction_module() is None
    rows = clf._validate_X_predict(X.iloc[:2])
    _assert_identical(_fast(clf, rows), _reference(clf, rows))
    monkeypatch.undo()
    monkeypatch.setattr(_base, "_MAX_FOLDED_ELEMENTS", 10)
    _PREDICTION_COPIES.pop(network)
    assert clf._prediction_module() is None


def test_dataframe_columns_are_read_by_label_or_position():
    frame = pd.DataFrame([[1.0, "x", 3]], columns=["a", "b", "c"])
    assert _is_dataframe(frame) and not _is_dataframe(frame.to_numpy())
    assert _frame_column(frame, 1).tolist() == ["x"]
    duplicated = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["a", "a", "c"])
    assert _frame_column(duplicated, 1).tolist() == [2.0]


class _SizeDependent(torch.nn.Module):
    """Rows' sums, rounded otherwise when a batch holds fewer than ``below`` rows."""

    def __init__(self, below):
        super().__init__()
        self.below = below

    def forward(self, x):
        out = x.sum(dim=1, keepdim=True)
        return out + 1e-3 if len(x) < self.below else out


@pytest.mark.parametrize("below, expected", [(0, 1), (3, 3), (7, 7), (MIN_BATCH_ROWS + 1, 8)])
def test_rows_alone_is_the_fewest_rows_whose_outputs_match_a_larger_batch(below, expected):
    X, y, _ = _frame()
    clf = DeepEnsembleClassifier(**SMALL).fit(X, y)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    assert clf._rows_alone(_SizeDependent(below), 5) == expected
    assert torch.equal(torch.get_rng_state(), torch_state)  # a generator of its own
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()


def test_rows_alone_is_measured_once_per_copy_threads_and_width(monkeypatch):
    X, y, _ = _frame()
    clf = DeepEnsembleClassifier(**SMALL).fit(X, y)
    module = clf._prediction_module()
    calls = []
    evaluate = clf._evaluate
    monkeypatch.setattr(clf, "_evaluate", lambda *a: calls.append(1) or evaluate(*a))
    rows = clf._validate_X_predict(X.iloc[:1])
    _fast(clf, rows)
    n_probe = len(calls)
    assert n_probe > 2  # the probe ran (its batches and the row's)
    _fast(clf, rows)
    assert len(calls) == n_probe + 1  # known: only the row's batch
    ((threads, width), fewest), = _base._ROWS_ALONE[module].items()
    assert threads == torch.get_num_threads() and 1 <= fewest <= MIN_BATCH_ROWS
    assert width == clf.net_.module_.encoding.out_features  # the encoded rows' width


def test_the_probe_gives_every_code_column_valid_codes():
    X, y, _ = _frame()
    clf = DeepEnsembleClassifier(**SMALL).fit(X, y)
    module = clf._prediction_module()
    embedding = next(m for m in module.modules() if type(m).__name__ == "FeatureEmbedding")
    assert len(embedding.embeddings) > 0  # the frame's 'zip' column is embedded
    width = embedding.n_numeric + len(embedding.embeddings)
    rows = _base._probe_rows(module, width, 64, torch.Generator().manual_seed(0))
    rows = rows.to(clf.net_.device)
    for column, table in enumerate(embedding.embeddings, start=embedding.n_numeric):
        codes = rows[:, column]
        assert torch.equal(codes, codes.round()) and 0 <= codes.min()
        assert codes.max() < table.num_embeddings and len(codes.unique()) > 1
    assert torch.isfinite(module(rows)).all()
