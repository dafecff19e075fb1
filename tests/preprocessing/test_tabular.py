import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from skens.preprocessing import TabularPreprocessor


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age": [25.0, np.nan, 40.0, 31.0, 58.0, 22.0],
            "income": [1e3, 2e3, 3e3, 4e3, 1e6, 2.5e3],  # skewed, with an outlier
            "city": pd.Series(["Oslo", "Rome", None, "Bergen", "Oslo", "Rome"], dtype="category"),
            "plan": ["a", "b", "c", "a", np.nan, "d"],  # object with NaN
            "member": [True, False, True, True, False, False],
            "count": pd.array([1, 2, None, 4, 5, 6], dtype="Int64"),  # nullable integer
        }
    )


def test_from_dtype_picks_category_object_string_and_bool(frame):
    pre = TabularPreprocessor().fit(frame)
    np.testing.assert_array_equal(
        pre.categorical_mask_, [False, False, True, True, True, False]
    )
    assert list(pre.feature_names_in_) == list(frame.columns)


def test_output_layout_and_names(frame):
    pre = TabularPreprocessor(max_onehot_cardinality=2).fit(frame)
    names = pre.get_feature_names_out().tolist()
    assert names == [
        "age", "income", "count",
        "age_missing", "count_missing",
        "member_False", "member_True",
        "city_code", "plan_code",
    ]
    out = pre.transform(frame)
    assert out.shape == (6, len(names)) and out.dtype == np.float64
    assert pre.n_numeric_out_ == 7
    # city: Bergen, Oslo, Rome (+ missing, unknown); plan: a, b, c, d (+2)
    assert pre.embedding_cardinalities_ == [5, 6]
    np.testing.assert_array_equal(out[:, 7], [3, 4, 0, 2, 3, 4])  # None -> 0 (missing)
    np.testing.assert_array_equal(out[:, 8], [2, 3, 4, 2, 0, 5])  # NaN -> 0 (missing)
    np.testing.assert_array_equal(out[:, 3], [0, 1, 0, 0, 0, 0])  # age indicator
    np.testing.assert_array_equal(out[:, 5:7], np.column_stack([~frame.member, frame.member]))


def test_missing_numeric_values_are_imputed_at_the_centre(frame):
    out = TabularPreprocessor(numeric_scaling="standard").fit_transform(frame)
    assert np.isfinite(out).all()
    assert out[1, 0] == 0.0  # age NaN -> 0 after scaling, flagged by the indicator


def test_unknown_categories_map_to_the_unknown_code(frame):
    pre = TabularPreprocessor(max_onehot_cardinality=2).fit(frame)
    new = frame.iloc[:2].copy()
    new["city"] = pd.Series(["Paris", "Oslo"], dtype="category")
    new["plan"] = ["zzz", "a"]
    out = pre.transform(new)
    city, plan = out[:, -2], out[:, -1]
    np.testing.assert_array_equal(city, [1, 3])
    np.testing.assert_array_equal(plan, [1, 2])


def test_numbers_as_categories_match_across_int_and_float():
    pre = TabularPreprocessor(categorical_features=[0], max_onehot_cardinality=0)
    pre.fit(np.array([[1], [2], [3]]))
    out = pre.transform(np.array([[1.0], [3.0], [7.0]]))
    np.testing.assert_array_equal(out[:, 0], [2, 4, 1])


def test_default_one_hot_for_few_categories_and_unknown_is_all_zeros(frame):
    pre = TabularPreprocessor().fit(frame)
    assert pre.embedding_cardinalities_ == []  # every column has at most 64 categories
    names = pre.get_feature_names_out().tolist()
    new = frame.iloc[:1].copy()
    new["plan"] = "never-seen"
    out = pre.transform(new)[0]
    plan_columns = [i for i, n in enumerate(names) if n.startswith("plan_")]
    expected = ["plan_missing", "plan_a", "plan_b", "plan_c", "plan_d"]
    assert [names[i] for i in plan_columns] == expected
    np.testing.assert_array_equal(out[plan_columns], 0.0)


def test_high_cardinality_column():
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"zip": rng.choice([f"z{i}" for i in range(500)], size=3000)})
    pre = TabularPreprocessor().fit(X)
    assert pre.embedding_cardinalities_ == [len(X.zip.unique()) + 2]
    out = pre.transform(X)
    assert out.min() >= 2 and out.max() < pre.embedding_cardinalities_[0]


@pytest.mark.parametrize(
    "spec", [["city", "plan"], [2, 3], [-3, -2], [False, False, True, True, False]]
)
def test_explicit_categorical_features(frame, spec):
    pre = TabularPreprocessor(categorical_features=spec).fit(frame.drop(columns=["member"]))
    np.testing.assert_array_equal(pre.categorical_mask_, [False, False, True, True, False])


def test_none_means_no_categorical_features():
    X = np.array([[1.0, 2.0], [3.0, np.nan]])
    pre = TabularPreprocessor(categorical_features=None).fit(X)
    assert not pre.categorical_mask_.any()
    assert pre.get_feature_names_out().tolist() == ["x0", "x1", "x1_missing"]


@pytest.mark.parametrize(
    "spec, match",
    [
        (["nope"], "unknown columns"),
        ([7], "indices must be in"),
        ([True, False], "one entry per feature"),
        ([0.5], "must be 'from_dtype', None"),
    ],
)
def test_bad_categorical_features(spec, match):
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "c": [5.0, 6.0]})
    with pytest.raises(ValueError, match=match):
        TabularPreprocessor(categorical_features=spec).fit(X)


def test_names_require_named_columns():
    with pytest.raises(ValueError, match="no string column names"):
        TabularPreprocessor(categorical_features=["a"]).fit(np.ones((3, 2)))


@pytest.mark.parametrize("scaling", ["quantile", "standard", "robust"])
def test_scalings_are_finite_and_centred(scaling):
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.lognormal(size=500), rng.randn(500) * 1e30])
    out = TabularPreprocessor(numeric_scaling=scaling).fit_transform(X)
    assert np.isfinite(out).all()
    assert np.abs(np.median(out, axis=0)).max() < 0.5
    if scaling == "quantile":
        assert np.abs(out).max() < 6  # normal quantiles are bounded


def test_extreme_test_values_are_clipped():
    pre = TabularPreprocessor(numeric_scaling="standard").fit(np.arange(10.0)[:, None])
    out = pre.transform(np.array([[1e300], [-1e300]]))
    np.testing.assert_array_equal(out[:, 0], [1e3, -1e3])


def test_all_missing_and_constant_columns():
    X = np.array([[np.nan, 1.0], [np.nan, 1.0], [np.nan, 1.0]])
    out = TabularPreprocessor().fit_transform(X)
    assert np.isfinite(out).all()
    assert out.shape == (3, 3)  # two numeric columns and one indicator


def test_set_output_pandas(frame):
    pre = TabularPreprocessor().set_output(transform="pandas").fit(frame)
    out = pre.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == pre.get_feature_names_out().tolist()


def test_in_a_pipeline_and_cloneable(frame):
    pipe = make_pipeline(TabularPreprocessor())
    out = clone(pipe).fit_transform(frame)
    assert out.shape[0] == len(frame)


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.array([[1.0, np.inf]]), ValueError, "infinity"),
        (np.array([[1 + 2j, 1.0]]), ValueError, "Complex data not supported"),
        (np.ones((2, 2, 2)), ValueError, "Found array with dim 3"),
        (np.ones((0, 3)), ValueError, "0 sample"),
        (np.ones((3, 0)), ValueError, "0 feature"),
        (pd.DataFrame(index=[0, 1]), ValueError, "0 feature"),
        (np.array([["a", "1"]], dtype=object), ValueError, "non-numeric values"),
        (pd.DataFrame({"t": pd.to_datetime(["2020-01-01"])}), TypeError, "convert it to numbers"),
    ],
)
def test_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        TabularPreprocessor().fit(X)


def test_sparse_input_is_rejected_clearly():
    from scipy import sparse

    with pytest.raises(TypeError, match="does not support sparse input.*toarray"):
        TabularPreprocessor().fit(sparse.csr_matrix(np.eye(3)))


def test_column_names_must_match_at_transform(frame):
    pre = TabularPreprocessor().fit(frame)
    with pytest.raises(ValueError, match="feature names should match"):
        pre.transform(frame.rename(columns={"age": "AGE"}))


def test_input_is_not_mutated(frame):
    before = frame.copy(deep=True)
    TabularPreprocessor().fit(frame).transform(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_empty_categorical_features_means_none():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]})
    with pytest.raises(ValueError, match="non-numeric"):
        TabularPreprocessor(categorical_features=[]).fit(X)
    out = TabularPreprocessor(categorical_features=[]).fit_transform(X[["a"]])
    assert out.shape == (3, 1)


def test_nullable_boolean_as_a_numeric_column():
    X = pd.DataFrame({"flag": pd.array([True, None, False, True], dtype="boolean")})
    pre = TabularPreprocessor(categorical_features=None, numeric_scaling="standard").fit(X)
    out = pre.transform(X)
    assert list(pre.get_feature_names_out()) == ["flag", "flag_missing"]
    np.testing.assert_array_equal(out[:, 1], [0, 1, 0, 0])
    assert np.isfinite(out).all() and out[0, 0] > out[2, 0]


def test_pd_na_in_an_object_column_treated_as_numeric():
    X = np.array([[1.0], [pd.NA], [3.0]], dtype=object)
    out = TabularPreprocessor(numeric_scaling="standard").fit_transform(X)
    np.testing.assert_array_equal(out[:, 1], [0, 1, 0])


def test_column_layout_matches_the_feature_name_blocks():
    rng = np.random.RandomState(0)
    n = 200
    X = pd.DataFrame(
        {
            "x": rng.randn(n),
            "y": np.where(rng.rand(n) < 0.2, np.nan, rng.randn(n)),  # numeric with NaN
            "z": rng.randn(n),
            "low": pd.Series(rng.choice(["a", "b", "c", None], n), dtype="category"),
            "high": rng.choice([f"h{i}" for i in range(80)], n).astype(object),
            "flag": rng.rand(n) < 0.5,
            "wide": pd.Categorical(rng.choice([f"w{i}" for i in range(100)], n)),
        }
    )
    pre = TabularPreprocessor().fit(X)
    layout = pre.column_layout_
    names = pre.get_feature_names_out().tolist()
    assert layout.n_columns == len(names) == pre.transform(X).shape[1]
    assert names[layout.numeric] == ["x", "y", "z"]
    assert names[layout.indicators] == ["y_missing"]
    assert names[layout.onehot] == [
        "low_missing", "low_a", "low_b", "low_c", "flag_False", "flag_True"
    ]
    assert names[layout.codes] == ["high_code", "wide_code"]
    expected = (X.high.nunique() + 2, X.wide.nunique() + 2)  # + missing, unknown
    assert layout.code_cardinalities == tuple(pre.embedding_cardinalities_) == expected
    assert (layout.n_numeric, layout.n_indicators, layout.n_onehot) == (3, 1, 6)
    assert layout.n_real == pre.n_numeric_out_ == 10
    codes = pre.transform(X)[:, layout.codes]
    assert codes.min() >= 0 and (codes.max(axis=0) < layout.code_cardinalities).all()


def test_column_layout_of_one_block_tables():
    from skens.preprocessing import ColumnLayout

    numbers = TabularPreprocessor().fit(np.arange(12.0).reshape(6, 2))
    assert numbers.column_layout_ == ColumnLayout(n_numeric=2)
    codes = TabularPreprocessor(max_onehot_cardinality=0).fit(
        pd.DataFrame({"c": ["a", "b", "a"]})
    )
    assert codes.column_layout_ == ColumnLayout(code_cardinalities=(4,))
    assert codes.column_layout_.codes == slice(0, 1)


def test_column_layout_is_frozen_and_checked():
    import dataclasses

    from skens.preprocessing import ColumnLayout

    layout = ColumnLayout(n_numeric=np.int64(2), code_cardinalities=[3, np.int64(5)])
    assert layout.code_cardinalities == (3, 5) and type(layout.n_numeric) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        layout.n_numeric = 3
    with pytest.raises(ValueError, match="n_onehot must be a non-negative integer"):
        ColumnLayout(n_onehot=-1)
    with pytest.raises(ValueError, match="code_cardinalities must be positive"):
        ColumnLayout(code_cardinalities=(0,))


def _checked_the_long_way(estimator, X):
    """``check_tabular_input(..., reset=False)`` without its shortcut for plain arrays."""
    from sklearn.utils import check_array
    from sklearn.utils.validation import validate_data

    X = check_array(X, dtype=None, ensure_all_finite=False)
    validate_data(estimator, X, reset=False, skip_check_array=True)
    return X


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1.0, np.nan, np.inf]]),
        np.ones((2, 3), dtype=np.float32),
        np.arange(6).reshape(2, 3),
        np.arange(6, dtype=np.uint8).reshape(2, 3),
        np.asfortranarray(np.ones((4, 3))),
        np.ones((3, 6))[:, ::2],  # not contiguous
        np.ones((2, 4)),  # one feature too many
        np.ones((0, 3)),
        np.ones((2, 0)),
        np.ones((2, 3), dtype=bool),
        np.ones((2, 3), dtype=complex),
        np.ones((2, 3), dtype=object),
        np.ones(3),
        np.ones((2, 3, 1)),
        np.ma.masked_array(np.ones((2, 3))),
    ],
    ids=lambda X: f"{type(X).__name__}-{X.dtype}-{X.shape}",
)
@pytest.mark.parametrize("names", [False, True], ids=["array-fitted", "frame-fitted"])
def test_plain_arrays_are_checked_as_the_long_way_would(X, names):
    from sklearn.base import BaseEstimator

    from skens.preprocessing import check_tabular_input

    estimator = BaseEstimator()
    fitted_on = pd.DataFrame(np.ones((2, 3)), columns=["a", "b", "c"])
    check_tabular_input(estimator, fitted_on if names else fitted_on.to_numpy(), reset=True)
    read_only = X.copy()
    read_only.flags.writeable = False
    for rows in (X, read_only):
        try:
            with warnings.catch_warnings(record=True) as expected_warnings:
                warnings.simplefilter("always")
                expected = _checked_the_long_way(estimator, rows)
        except Exception as error:  # noqa: BLE001 - compared below
            with warnings.catch_warnings(record=True), pytest.raises(type(error)) as raised:
                warnings.simplefilter("always")
                check_tabular_input(estimator, rows, reset=False)
            assert str(raised.value) == str(error)
            continue
        with warnings.catch_warnings(record=True) as got_warnings:
            warnings.simplefilter("always")
            got = check_tabular_input(estimator, rows, reset=False)
        assert [str(w.message) for w in got_warnings] == [
            str(w.message) for w in expected_warnings
        ]
        assert type(got) is type(expected) and got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
        assert got.flags.f_contiguous == expected.flags.f_contiguous
