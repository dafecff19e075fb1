"""The encoding stage on the device: equal to scikit-learn's encoders to float32 precision."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler

from skens.nn import EncodedNetwork, EnsembleMLP, TabularEncoding
from skens.preprocessing import TabularPreprocessor
from skens.preprocessing._tabular import _category_keys, _factorize_keys
from tests.deep.test_tabular_input import _mixed_frame


def _columns(n, rng):
    """Numeric columns that stress the quantile map: ties, a constant, huge values, integers."""
    return np.column_stack(
        [
            rng.randn(n),
            rng.randint(0, 5, n).astype(float),  # repeated quantiles
            np.full(n, 3.0),  # every quantile equal
            rng.exponential(size=n) * 1e6 + 1.6e9,  # large next to the quantile spacing
            np.round(rng.randn(n), 1),  # many ties
            rng.standard_cauchy(n),  # heavy tails
        ]
    )


def _encode(encoding, numeric, codes=None):
    codes = torch.zeros(len(numeric), 0, dtype=torch.long) if codes is None else codes
    return encoding(torch.as_tensor(numeric), codes)


@pytest.mark.parametrize("n_quantiles", [1, 2, 10, 1000])
def test_quantile_map_matches_quantile_transformer(n_quantiles):
    rng = np.random.RandomState(0)
    train = _columns(max(n_quantiles, 50), rng)
    qt = QuantileTransformer(n_quantiles=n_quantiles, output_distribution="normal")
    qt.fit(train[:n_quantiles] if n_quantiles == 1 else train)
    # Training values (exact hits of quantiles), new values, values out of range.
    X = np.concatenate([train, _columns(500, rng), rng.randn(50, 6) * 1e10, train[:5] + 1e-9])
    expected = qt.transform(X)
    encoding = TabularEncoding(
        6, scaling="quantile", quantiles=qt.quantiles_, references=qt.references_
    )
    scaled = encoding._quantile_map(torch.from_numpy(X).T.contiguous()).T.numpy()
    # float64 on both sides: equal up to a few ulps (ndtri vs scipy's ndtri).
    np.testing.assert_allclose(scaled, expected, rtol=1e-9, atol=1e-9)
    # The module's float32 output is scikit-learn's, rounded to float32.
    out = _encode(encoding, X).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected.astype(np.float32), rtol=2e-7, atol=1e-6)


@pytest.mark.parametrize("Scaler", [StandardScaler, RobustScaler])
def test_affine_map_matches_scikit_learn(Scaler):
    rng = np.random.RandomState(1)
    X = _columns(300, rng)
    scaler = Scaler().fit(X)
    center = getattr(scaler, "mean_", None)
    center = scaler.center_ if center is None else center
    encoding = TabularEncoding(6, scaling="affine", center=center, scale=scaler.scale_)
    expected = np.clip(scaler.transform(X), -1e3, 1e3).astype(np.float32)
    np.testing.assert_allclose(_encode(encoding, X).numpy(), expected, rtol=2e-7, atol=1e-6)


@pytest.mark.parametrize("numeric_scaling", ["quantile", "standard", "robust"])
@pytest.mark.parametrize("max_onehot_cardinality", [0, 4, 64])
def test_encoding_equals_the_preprocessors_transform(numeric_scaling, max_onehot_cardinality):
    X, _, _ = _mixed_frame(n=400)
    train, test = X.iloc[:300], X.iloc[300:].copy()
    test.loc[test.index[:5], "plan"] = "unseen plan"  # unknown categories
    test.loc[test.index[5:8], "income"] = 1e12  # far outside the training range
    pre = TabularPreprocessor(
        numeric_scaling=numeric_scaling, max_onehot_cardinality=max_onehot_cardinality
    ).fit(train)
    encoding = TabularEncoding(**pre._encoding_params())
    assert encoding.out_features == pre.column_layout_.n_columns
    for frame in (train, test):
        numeric, codes = pre._raw_block(frame)
        out = encoding(torch.from_numpy(numeric), torch.from_numpy(codes)).numpy()
        expected = pre.transform(frame).astype(np.float32)
        np.testing.assert_allclose(out, expected, rtol=2e-7, atol=1e-6)
        # Indicators, one-hot columns and codes are exact.
        n = pre.column_layout_.n_numeric
        np.testing.assert_array_equal(out[:, n:], expected[:, n:])


def test_encoding_without_numeric_or_categorical_columns():
    numeric_only = TabularPreprocessor().fit(np.random.RandomState(0).randn(40, 3))
    encoding = TabularEncoding(**numeric_only._encoding_params())
    assert encoding.out_features == 3
    codes_only = TabularPreprocessor().fit(pd.DataFrame({"c": list("abcab") * 4}))
    encoding = TabularEncoding(**codes_only._encoding_params())
    numeric, codes = codes_only._raw_block(pd.DataFrame({"c": ["a", "z"]}))
    assert numeric.shape == (2, 0)
    out = encoding(torch.from_numpy(numeric), torch.from_numpy(codes))
    np.testing.assert_array_equal(out.numpy(), [[1, 0, 0], [0, 0, 0]])


def test_encoding_state_is_buffers_that_move_and_save():
    pre = TabularPreprocessor().fit(np.random.RandomState(0).randn(40, 3))
    encoding = TabularEncoding(**pre._encoding_params())
    assert list(encoding.parameters()) == []
    state = encoding.state_dict()
    assert {"quantiles", "references", "tied_references"} <= set(state)
    assert state["quantiles"].dtype == torch.float64
    copy = TabularEncoding(**pre._encoding_params())
    copy.load_state_dict(state)
    x = torch.randn(7, 3, dtype=torch.float64)
    empty = torch.zeros(7, 0, dtype=torch.long)
    torch.testing.assert_close(copy(x, empty), encoding(x, empty))


def test_encoding_rejects_inconsistent_parameters():
    with pytest.raises(ValueError, match="scaling must be one of"):
        TabularEncoding(2, scaling="minmax")
    with pytest.raises(ValueError, match="needs quantiles and references"):
        TabularEncoding(2, scaling="quantile")
    with pytest.raises(ValueError, match=r"quantiles must have shape \(n_quantiles, 2\)"):
        TabularEncoding(2, scaling="quantile", quantiles=np.zeros((5, 3)), references=np.zeros(5))


def test_encoded_network_runs_encoded_or_raw_inputs():
    params = dict(in_features=2, out_features=3, n_members=2, hidden_layer_sizes=(4,))
    encoding = dict(n_numeric=2, scaling="affine", center=[1.0, -1.0], scale=[2.0, 0.5])
    model = EncodedNetwork(EnsembleMLP, params, encoding=encoding)
    raw = torch.tensor([[3.0, 0.0], [1.0, -1.0]], dtype=torch.float64)
    codes = torch.zeros(2, 0, dtype=torch.long)
    encoded = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    torch.testing.assert_close(model(numeric=raw, codes=codes), model(encoded))
    bare = EncodedNetwork(EnsembleMLP, params)
    with pytest.raises(ValueError, match="no encoding stage"):
        bare(numeric=raw, codes=codes)


def test_encoded_network_seeds_the_network_from_its_generator():
    params = dict(in_features=2, out_features=1, n_members=2)
    a = EncodedNetwork(EnsembleMLP, params, generator=torch.Generator().manual_seed(3))
    b = EncodedNetwork(EnsembleMLP, params, generator=torch.Generator().manual_seed(3))
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


# ------------------------------------------------ vectorised category parsing
def _reference_codes(values, categories):
    """The per-row category codes as skens computed them before vectorising."""
    keys = _category_keys(np.asarray(values, dtype=object))
    missing = keys == None  # noqa: E711
    keys = np.where(missing, "", keys).astype(str)
    known = np.isin(keys, categories)
    index = np.searchsorted(categories, keys)
    return np.where(missing, 0, np.where(known, index + 2, 1))


@pytest.mark.parametrize(
    "values",
    [
        ["b", "a", None, "c", "a", np.nan],
        [1, 1.0, True, "1", "True", None, np.nan, "x", 0, False],  # bools beside numbers
        [2.0, np.nan, 3.5, 2.0, -0.0],
        [True, False, None, True],
        [pd.NA, "p", "q", None],
        [10, 20, 10, 3],
    ],
)
def test_factorized_keys_equal_the_per_row_keys(values):
    values = np.asarray(values, dtype=object)
    keys, inverse = _factorize_keys(values)
    per_row = _category_keys(values)
    assert inverse.shape == (len(values),)
    for key, position, expected in zip(keys[inverse], inverse, per_row):
        assert (position < 0) == (expected is None)
        if expected is not None:
            assert key == expected


def test_category_codes_of_object_columns_match_the_per_row_rule():
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {
            "s": rng.choice(np.array(["u", "v", "w", None], dtype=object), 200),
            "m": rng.choice(np.array([1, 1.0, True, "1", "z", None], dtype=object), 200),
        }
    )
    pre = TabularPreprocessor(categorical_features=["s", "m"]).fit(frame.iloc[:150])
    new = frame.iloc[150:].copy()
    new.iloc[:3, 0] = "never seen"
    for position, column in enumerate(["s", "m"]):
        codes = pre._codes(new, position, position)
        expected = _reference_codes(new[column].to_numpy(), pre.categories_[position])
        np.testing.assert_array_equal(codes, expected)


def test_pandas_category_columns_use_their_codes():
    column = pd.Series(["b", None, "a", "c", "a"], dtype="category")
    frame = pd.DataFrame({"c": column})
    pre = TabularPreprocessor().fit(frame)
    assert pre.categories_[0].tolist() == ["a", "b", "c"]
    as_object = pd.DataFrame({"c": column.astype(object)})
    np.testing.assert_array_equal(pre._codes(frame, 0, 0), pre._codes(as_object, 0, 0))
    np.testing.assert_array_equal(pre._codes(frame, 0, 0), [3, 0, 2, 4, 2])
    # A category column with no observed value at all
    empty = pd.DataFrame({"c": pd.Series([None, None], dtype="category")})
    np.testing.assert_array_equal(pre._codes(empty, 0, 0), [0, 0])
