"""The default pool on raw DataFrames: categories, strings, booleans and NaN."""

import importlib.util

import numpy as np
import pandas as pd
import pytest

from skens.ensemble import EnsembleSelectionClassifier, EnsembleSelectionRegressor, default_pool


def _table(n=160, seed=0):
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        {
            "size": rng.normal(size=n),
            "weight": rng.gamma(2.0, size=n),
            "colour": rng.choice(["red", "green", "blue"], n).astype(object),
            "shape": pd.Categorical(rng.choice(["round", "square"], n)),
            "flag": rng.rand(n) > 0.5,
        }
    )
    X.loc[::9, "size"] = np.nan
    X.loc[::11, "colour"] = None
    signal = X["size"].fillna(0) + (X["colour"] == "red") - 0.5 * X["flag"]
    return X, signal.to_numpy() + 0.3 * rng.normal(size=n)


def _fast(pool):
    """Shrink the default members so that the test runs in seconds."""
    small = {
        "deep_ensemble": dict(n_members=2, hidden_layer_sizes=(16,), max_epochs=5),
        "random_forest": dict(randomforestclassifier__n_estimators=10)
        if "randomforestclassifier" in str(pool[2][1])
        else dict(randomforestregressor__n_estimators=10),
    }
    for name, est in pool:
        est.set_params(**small.get(name, {}))
    return pool


def test_default_pool_names_and_optional_members():
    names = [name for name, _ in default_pool("classification", include_optional=False)]
    assert names == ["deep_ensemble", "hist_gradient_boosting", "random_forest", "linear"]
    optional = [name for name, _ in default_pool("regression")][4:]
    expected = [m for m in ("lightgbm", "xgboost") if importlib.util.find_spec(m)]
    assert optional == expected
    with pytest.raises(ValueError, match="task must be one of"):
        default_pool("ranking")


def test_default_pool_is_seeded():
    a = default_pool("regression", random_state=3, include_optional=False)
    b = default_pool("regression", random_state=3, include_optional=False)
    assert [repr(e.get_params()) for _, e in a] == [repr(e.get_params()) for _, e in b]
    assert a[0][1].random_state == 3


def test_default_pool_classifier_on_a_raw_dataframe():
    X, signal = _table()
    y = np.where(signal > np.median(signal), "high", "low")
    X_before = X.copy()
    pool = _fast(default_pool("classification", random_state=0, include_optional=False))
    clf = EnsembleSelectionClassifier(pool, cv=3).fit(X, y)
    pd.testing.assert_frame_equal(X, X_before)
    X_new, _ = _table(n=20, seed=1)
    X_new.loc[0, "colour"] = "purple"  # a category never seen
    proba = clf.predict_proba(X_new)
    assert proba.shape == (20, 2) and np.isfinite(proba).all()
    assert clf.predict_proba_members(X_new).shape == (len(clf.estimators_), 20, 2)
    assert clf.score(X, y) > 0.7
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X_new[list(reversed(X_new.columns))])


def test_default_pool_regressor_on_a_raw_dataframe():
    X, y = _table()
    pool = _fast(default_pool("regression", random_state=0, include_optional=False))
    reg = EnsembleSelectionRegressor(pool, cv=3).fit(X, y)
    mean, std = reg.predict(X.iloc[:10], return_std=True)
    assert mean.shape == std.shape == (10,) and (std > 0).all()
    names = list(reg.named_estimators_)
    for name, noise in zip(names, reg.noise_variance_):
        assert np.isnan(noise) == (name == "deep_ensemble")


def test_default_pool_via_estimators_none(monkeypatch):
    """estimators=None builds the default pool, seeded with random_state."""
    import skens.ensemble._selection as selection

    built = []

    def fake_pool(task, random_state=None):
        built.append((task, random_state))
        return _fast(default_pool(task, random_state=random_state, include_optional=False))

    monkeypatch.setattr(selection, "default_pool", fake_pool)
    X, y = _table(n=90)
    EnsembleSelectionRegressor(cv=2, random_state=7).fit(X, y)
    assert built == [("regression", 7)]


def test_bad_input_gets_clear_errors():
    X, y = _table(n=40)
    pool = [("linear", default_pool("regression", include_optional=False)[3][1])]
    with pytest.raises(TypeError, match="sparse"):
        from scipy import sparse

        EnsembleSelectionRegressor(pool).fit(sparse.csr_matrix(np.ones((40, 2))), y)
    bad = X.copy()
    bad["weight"] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        EnsembleSelectionRegressor(pool, cv=2).fit(bad, y)
