import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV

from skens import DeepEnsembleRegressor
from skens.metrics import (
    crps_gaussian_loss,
    expected_calibration_error,
    gaussian_nll_loss,
    get_scorer,
    get_scorer_names,
)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=4, noise=5.0, random_state=0)
    reg = DeepEnsembleRegressor(
        n_members=2, hidden_layer_sizes=(8,), max_epochs=10, lr=0.01, random_state=0
    ).fit(X, y)
    return reg, X, y


@pytest.mark.parametrize(
    "name, metric", [("neg_gaussian_nll", gaussian_nll_loss), ("neg_crps", crps_gaussian_loss)]
)
def test_predictive_distribution_scorers(regression, name, metric):
    reg, X, y = regression
    mean, std = reg.predict(X, return_std=True)
    assert get_scorer(name)(reg, X, y) == pytest.approx(-metric(y, mean, std))


def test_ece_scorer_on_binary_probabilities():
    X, y = make_classification(n_samples=200, random_state=0)
    clf = LogisticRegression().fit(X, y)
    expected = expected_calibration_error(y, clf.predict_proba(X))
    assert get_scorer("neg_expected_calibration_error")(clf, X, y) == pytest.approx(-expected)


def test_ece_scorer_matches_columns_to_the_estimator_classes():
    # A test part lacking a class: the probability columns still follow classes_.
    X, y = make_classification(
        n_samples=300, n_classes=3, n_informative=4, random_state=0
    )
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = LogisticRegression().fit(X, labels)
    part = labels != "ant"
    proba = clf.predict_proba(X[part])
    expected = expected_calibration_error(labels[part], proba, labels=clf.classes_)
    assert get_scorer("neg_expected_calibration_error")(clf, X[part], labels[part]) == (
        pytest.approx(-expected)
    )


def test_grid_search_selects_on_gaussian_nll():
    X, y = make_regression(n_samples=120, n_features=4, noise=5.0, random_state=0)
    grid = GridSearchCV(
        DeepEnsembleRegressor(n_members=2, max_epochs=10, lr=0.01, random_state=0),
        {"hidden_layer_sizes": [(4,), (16,)]},
        scoring={"nll": get_scorer("neg_gaussian_nll"), "crps": get_scorer("neg_crps")},
        refit="nll",
        cv=2,
        error_score="raise",
    ).fit(X, y)
    scores = grid.cv_results_["mean_test_nll"]
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    assert grid.best_params_["hidden_layer_sizes"] == grid.cv_results_["params"][
        int(np.argmax(scores))
    ]["hidden_layer_sizes"]


def test_scorer_needs_return_std():
    X, y = make_regression(n_samples=30, n_features=2, random_state=0)
    with pytest.raises(TypeError, match="does not accept return_std=True"):
        get_scorer("neg_gaussian_nll")(LinearRegression().fit(X, y), X, y)


def test_scorer_does_not_mask_errors_inside_predict():
    class Broken(LinearRegression):
        def predict(self, X, return_std=False):
            raise TypeError("a bug inside predict")

    X, y = make_regression(n_samples=30, n_features=2, random_state=0)
    with pytest.raises(TypeError, match="a bug inside predict"):
        get_scorer("neg_gaussian_nll")(Broken().fit(X, y), X, y)


def test_get_scorer_falls_back_to_scikit_learn():
    assert get_scorer("r2")._score_func.__name__ == "r2_score"
    assert set(get_scorer_names()) == {
        "neg_gaussian_nll",
        "neg_crps",
        "neg_expected_calibration_error",
    }
    with pytest.raises(ValueError, match="not a valid scoring value"):
        get_scorer("neg_nonsense")


def test_multimetric_search_with_sample_weight_without_routing():
    # scikit-learn asks each scorer of a dict whether it accepts sample_weight.
    X, y = make_regression(n_samples=80, n_features=3, noise=5.0, random_state=0)
    w = np.random.RandomState(0).uniform(0.1, 2.0, size=len(y))
    X_clf, y_clf = make_classification(n_samples=80, random_state=0)
    reg = GridSearchCV(
        LinearRegression(),
        {"fit_intercept": [True]},
        scoring={"crps": get_scorer("neg_crps"), "r2": "r2"},
        refit=False,
        cv=2,
        error_score="raise",
    )
    with pytest.raises(TypeError, match="does not accept return_std=True"):
        reg.fit(X, y, sample_weight=w)  # reached the scorer: no AttributeError first
    clf = GridSearchCV(
        LogisticRegression(),
        {"C": [1.0]},
        scoring={"ece": get_scorer("neg_expected_calibration_error"), "acc": "accuracy"},
        refit=False,
        cv=2,
        error_score="raise",
    ).fit(X_clf, y_clf, sample_weight=w)
    assert np.all(np.isfinite(clf.cv_results_["mean_test_ece"]))


@pytest.mark.parametrize("name", ["neg_gaussian_nll", "neg_crps", "neg_expected_calibration_error"])
def test_scorers_pass_sample_weight_to_the_metric(regression, name):
    scorer = get_scorer(name)
    assert scorer._accept_sample_weight()
    if name == "neg_expected_calibration_error":
        X, y = make_classification(n_samples=200, random_state=0)
        model = LogisticRegression().fit(X, y)
    else:
        model, X, y = regression
    w = np.linspace(0.1, 3.0, len(y))
    assert scorer(model, X, y, sample_weight=w) != pytest.approx(scorer(model, X, y))
    assert scorer(model, X, y, sample_weight=np.ones(len(y))) == pytest.approx(
        scorer(model, X, y)
    )
