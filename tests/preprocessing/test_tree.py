"""TreeEncoder: tables for tree models."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

from skens.preprocessing import TreeEncoder


def _frame():
    return pd.DataFrame(
        {
            "x": [1.0, np.nan, 3.0, 4.0],
            "colour": ["red", "blue", None, "red"],
            "size": pd.Categorical(["s", "m", "s", "l"]),
            "flag": [True, False, True, True],
        }
    )


def test_codes_keep_numbers_and_nan():
    X = _frame()
    out = TreeEncoder(categories="codes").fit_transform(X)
    expected = np.array(
        [
            [1.0, 1.0, 2.0, 1.0],
            [np.nan, 0.0, 1.0, 0.0],
            [3.0, np.nan, 2.0, 1.0],
            [4.0, 1.0, 0.0, 1.0],
        ]
    )
    np.testing.assert_array_equal(out, expected)


def test_unknown_categories_become_missing():
    encoder = TreeEncoder(categories="codes").fit(_frame())
    X = _frame()
    X.loc[0, "colour"] = "purple"
    assert np.isnan(encoder.transform(X)[0, 1])


def test_native_categories_come_out_as_pandas_categories():
    out = TreeEncoder().fit_transform(_frame())
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["x", "colour", "size", "flag"]
    assert [str(t) for t in out.dtypes] == ["float64", "category", "category", "category"]
    assert out["colour"].isna().tolist() == [False, False, True, False]
    wide = TreeEncoder(max_native_categories=2).fit_transform(_frame())
    assert str(wide["size"].dtype) == "float64"  # 3 categories > 2


def test_numpy_input_passes_through():
    X = np.array([[1.0, np.nan], [2.0, 3.0]])
    np.testing.assert_array_equal(TreeEncoder().fit_transform(X), X)
    table = np.array([[1, "a"], [2, "b"]], dtype=object)
    out = TreeEncoder(categorical_features=[1]).fit_transform(table)
    np.testing.assert_array_equal(out, [[1.0, 0.0], [2.0, 1.0]])


def test_hist_gradient_boosting_splits_on_native_categories():
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"c": rng.choice(list("abcdefgh"), 400), "z": rng.normal(size=400)})
    y = X["c"].isin(["b", "e", "g"]).to_numpy()
    model = make_pipeline(TreeEncoder(), HistGradientBoostingClassifier(max_iter=20))
    assert model.fit(X, y).score(X, y) == 1.0


def test_rejects_non_numeric_values_in_numeric_columns():
    with pytest.raises(ValueError, match="non-numeric values"):
        TreeEncoder(categorical_features=None).fit(pd.DataFrame({"a": ["x", "y"]}))
