"""A ready pool of deep and tree members for ensemble selection."""

import importlib.util

import numpy as np
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.pipeline import make_pipeline

from ..preprocessing._tabular import TabularPreprocessor
from ..preprocessing._tree import TreeEncoder

__all__ = ["default_pool"]

_TASKS = ("classification", "regression")


def _installed(module):
    return importlib.util.find_spec(module) is not None


def _seed(random_state, offset):
    """A member's integer seed from ``random_state`` (None stays None)."""
    if random_state is None:
        return None
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return (int(random_state) + offset) % np.iinfo(np.int32).max


def default_pool(task, *, random_state=None, include_optional=True):
    """The default members of an ensemble selection: deep nets, trees and a linear model.

    Every member accepts the same raw table (a numpy array or a DataFrame
    with numeric, categorical, string and boolean columns and NaN) and
    prepares it as it needs: the deep ensemble with its own preprocessing,
    tree models through :class:`skens.preprocessing.TreeEncoder` (native
    categories, NaN kept), the linear model through
    :class:`skens.preprocessing.TabularPreprocessor` (quantile scaling,
    missing indicators, one-hot categories).

    Parameters
    ----------
    task : {'classification', 'regression'}
        Which kind of members.
    random_state : int, RandomState instance or None, default=None
        Seeds the members (each its own seed derived from it).
    include_optional : bool, default=True
        Add LightGBM and XGBoost members when those packages are installed.
        They are never required.

    Returns
    -------
    pool : list of (str, estimator)
        Unfitted members: ``'deep_ensemble'``, ``'hist_gradient_boosting'``,
        ``'random_forest'``, ``'linear'``, then ``'lightgbm'`` and
        ``'xgboost'`` when installed.

    Examples
    --------
    >>> from skens.ensemble import default_pool
    >>> [name for name, _ in default_pool("regression", include_optional=False)]
    ['deep_ensemble', 'hist_gradient_boosting', 'random_forest', 'linear']
    """
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got {task!r}.")
    classification = task == "classification"
    from ..deep import DeepEnsembleClassifier, DeepEnsembleRegressor

    deep = (DeepEnsembleClassifier if classification else DeepEnsembleRegressor)(
        random_state=_seed(random_state, 0)
    )
    Boosting = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    Forest = RandomForestClassifier if classification else RandomForestRegressor
    linear = (
        LogisticRegression(C=1.0, max_iter=1000)
        if classification
        else RidgeCV(alphas=np.logspace(-3, 3, 13))
    )
    pool = [
        ("deep_ensemble", deep),
        (
            "hist_gradient_boosting",
            make_pipeline(
                TreeEncoder(),
                Boosting(categorical_features="from_dtype", random_state=_seed(random_state, 1)),
            ),
        ),
        (
            "random_forest",
            make_pipeline(
                TreeEncoder(categories="codes"),
                Forest(n_estimators=300, min_samples_leaf=1, random_state=_seed(random_state, 2)),
            ),
        ),
        (
            "linear",
            make_pipeline(TabularPreprocessor(max_onehot_cardinality=1000), linear),
        ),
    ]
    if include_optional and _installed("lightgbm"):
        import lightgbm

        Model = lightgbm.LGBMClassifier if classification else lightgbm.LGBMRegressor
        pool.append(
            (
                "lightgbm",
                make_pipeline(
                    TreeEncoder(), Model(random_state=_seed(random_state, 3), verbose=-1)
                ),
            )
        )
    if include_optional and _installed("xgboost"):
        import xgboost

        Model = xgboost.XGBClassifier if classification else xgboost.XGBRegressor
        pool.append(
            (
                "xgboost",
                make_pipeline(
                    TreeEncoder(),
                    Model(
                        tree_method="hist",
                        enable_categorical=True,
                        random_state=_seed(random_state, 4),
                    ),
                ),
            )
        )
    return pool


def _check_named_estimators(estimators):
    """``estimators`` as ``(name, estimator)`` pairs, ``'drop'`` ones left out, checked."""
    pool = []
    for item in estimators:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise ValueError(
                f"estimators must be a list of (name, estimator) tuples, got an item {item!r}."
            )
        if not (isinstance(item[1], str) and item[1] == "drop"):
            pool.append(item)
    if not pool:
        raise ValueError("estimators must hold at least one estimator that is not 'drop'.")
    names = [name for name, _ in pool]
    if len(set(names)) != len(names):
        raise ValueError(f"Estimator names must be unique, got {names}.")
    bad = [name for name in names if "__" in name]
    if bad:
        raise ValueError(f"Estimator names must not contain '__', got {bad}.")
    return pool
