"""Small tables: every deep estimator learns something from 50 rows, whatever the seed.

A network that stops before it has learned anything predicts a constant; on a
small table that happens when an epoch is one batch and early stopping counts
epochs. Each estimator is fitted at its defaults (HyperTab with fewer masks,
to keep the suite fast) on 50 rows, with three seeds.
"""

import pytest
from sklearn.datasets import make_classification, make_regression

from skens.utils import all_estimators

_CHEAPER = {"n_masks": 10}  # HyperTab: 100 masks, each an optimizer step per batch


def _deep_estimators(kind):
    for name, Estimator in all_estimators(kind):
        params = Estimator._get_param_names()
        if "hidden_layer_sizes" in params or "hidden_dims" in params:
            if "teacher" not in params:
                yield pytest.param(Estimator, id=name)


def _make(Estimator, seed):
    params = Estimator._get_param_names()
    return Estimator(random_state=seed, **{k: v for k, v in _CHEAPER.items() if k in params})


@pytest.mark.parametrize("Estimator", list(_deep_estimators("classifier")))
def test_classifiers_learn_from_50_rows(Estimator):
    X, y = make_classification(n_samples=250, n_features=6, n_informative=4, class_sep=2.0,
                               random_state=0)  # logistic regression: 0.88 on the rest
    for seed in range(3):
        clf = _make(Estimator, seed).fit(X[:50], y[:50])
        proba = clf.predict_proba(X[50:])[:, 1]
        assert proba.std() > 0.05, f"seed {seed}: a constant predictor"
        assert clf.score(X[50:], y[50:]) > 0.7, f"seed {seed}"  # chance: 0.5


@pytest.mark.parametrize("Estimator", list(_deep_estimators("regressor")))
def test_regressors_learn_from_50_rows(Estimator):
    X, y = make_regression(n_samples=250, n_features=6, n_informative=4, noise=10.0,
                           random_state=0)
    for seed in range(3):
        reg = _make(Estimator, seed).fit(X[:50], y[:50])
        pred = reg.predict(X[50:])
        assert pred.std() > 0.1 * y.std(), f"seed {seed}: a constant predictor"
        assert reg.score(X[50:], y[50:]) > 0.3, f"seed {seed}"
