"""EnsembleSelectionClassifier and EnsembleSelectionRegressor on small pools."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.linear_model import BayesianRidge, LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skens.ensemble import EnsembleSelectionClassifier, EnsembleSelectionRegressor


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(
        n_samples=240, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, np.array(["ant", "bee", "cat"])[y]


@pytest.fixture(scope="module")
def regression():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(300, 3))
    y = X[:, 0] * 2 + np.sin(3 * X[:, 1]) + rng.normal(scale=0.3, size=300)
    return X, y


def _classifier_pool():
    return [
        ("logistic", LogisticRegression(max_iter=1000)),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
        ("deep_tree", DecisionTreeClassifier(max_depth=8, random_state=0)),
    ]


def _regressor_pool():
    return [
        ("bayes", BayesianRidge()),
        ("tree", DecisionTreeRegressor(max_depth=4, random_state=0)),
        ("linear", LinearRegression()),
    ]


# ------------------------------------------------------------------ classifier
def test_classifier_weights_and_mixture(classification):
    X, y = classification
    clf = EnsembleSelectionClassifier(_classifier_pool()).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["ant", "bee", "cat"])
    assert clf.pool_weights_.sum() == pytest.approx(1.0) and (clf.pool_weights_ >= 0).all()
    assert len(clf.estimators_) == np.count_nonzero(clf.pool_weights_)
    assert clf.weights_.sum() == pytest.approx(1.0)
    assert list(clf.named_estimators_) == list(clf.estimator_names_[clf.pool_weights_ > 0])
    members = clf.predict_proba_members(X[:20])
    proba = clf.predict_proba(X[:20])
    np.testing.assert_allclose(proba, np.tensordot(clf.weights_, members, axes=1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= set(clf.classes_)
    u = clf.predict_uncertainty(X[:20])
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, atol=1e-12)
    assert (u.epistemic >= -1e-12).all()


def test_classifier_out_of_fold_predictions_are_cross_val_predict(classification):
    X, y = classification
    clf = EnsembleSelectionClassifier(_classifier_pool()).fit(X, y)
    codes = np.searchsorted(clf.classes_, y)
    expected = cross_val_predict(
        LogisticRegression(max_iter=1000), X, codes, cv=StratifiedKFold(5), method="predict_proba"
    )
    np.testing.assert_allclose(clf.oof_predictions_[0], expected)
    # The held-out loss of the selection is no worse than its best member's.
    assert clf.score_ <= clf.member_scores_.min() + 1e-12
    log_loss_alone = -np.mean(np.log(expected[np.arange(len(y)), codes]))
    assert clf.member_scores_[0] == pytest.approx(log_loss_alone)


def test_classifier_refits_members_on_all_data(classification):
    X, y = classification
    clf = EnsembleSelectionClassifier(_classifier_pool()).fit(X, y)
    for name, member in clf.named_estimators_.items():
        reference = clone(dict(_classifier_pool())[name]).fit(X, np.searchsorted(clf.classes_, y))
        np.testing.assert_allclose(member.predict_proba(X), reference.predict_proba(X))


@pytest.mark.parametrize("method", ["greedy", "simplex"])
def test_classifier_methods_beat_uniform_weights_held_out(classification, method):
    X, y = classification
    clf = EnsembleSelectionClassifier(_classifier_pool(), method=method).fit(X, y)
    codes = np.searchsorted(clf.classes_, y)
    uniform = clf.oof_predictions_.mean(axis=0)
    uniform_loss = -np.mean(np.log(uniform[np.arange(len(y)), codes]))
    assert clf.score_ <= uniform_loss + 1e-9
    assert clf.score_ <= clf.member_scores_.min() + 1e-6


def test_classifier_metric_options(classification):
    X, y = classification
    brier = EnsembleSelectionClassifier(_classifier_pool(), metric="brier").fit(X, y)
    assert brier.score_ <= brier.member_scores_.min() + 1e-12
    calls = []

    def error_rate(y_true, proba):
        calls.append(proba.shape)
        return float(np.mean(brier.classes_[proba.argmax(axis=1)] != y_true))

    custom = EnsembleSelectionClassifier(_classifier_pool(), metric=error_rate).fit(X, y)
    assert calls and calls[0] == (len(y), 3)
    assert custom.score_ <= custom.member_scores_.min()
    with pytest.raises(ValueError, match="metric must be 'log_loss', 'brier'"):
        EnsembleSelectionClassifier(_classifier_pool(), metric="nll").fit(X, y)


def test_classifier_prefit_uses_the_given_members(classification):
    X, y = classification
    fitted = [(name, clone(est).fit(X[:150], y[:150])) for name, est in _classifier_pool()]
    clf = EnsembleSelectionClassifier(fitted, cv="prefit").fit(X[150:], y[150:])
    for member in clf.estimators_:
        assert any(member is est for _, est in fitted)
    assert clf.oof_predictions_.shape == (3, 90, 3)
    np.testing.assert_allclose(clf.oof_predictions_[0], fitted[0][1].predict_proba(X[150:]))
    with pytest.raises(ValueError, match="estimator 'logistic' must be fitted"):
        EnsembleSelectionClassifier(_classifier_pool(), cv="prefit").fit(X, y)
    with pytest.raises(ValueError, match="cv='prefit' needs fitted estimators"):
        EnsembleSelectionClassifier(cv="prefit").fit(X, y)


def test_classifier_member_missing_a_class_in_a_fold():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 2))
    y = np.array([0] * 29 + [1] * 29 + [2] * 2)  # class 2 absent from some training folds
    clf = EnsembleSelectionClassifier(_classifier_pool(), cv=KFold(3)).fit(X, y)
    np.testing.assert_allclose(clf.oof_predictions_.sum(axis=-1), 1.0)
    assert clf.predict_proba(X).shape == (60, 3)


def test_parallel_fit_gives_the_same_result(classification):
    X, y = classification
    one = EnsembleSelectionClassifier(_classifier_pool(), n_jobs=1).fit(X, y)
    two = EnsembleSelectionClassifier(_classifier_pool(), n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.pool_weights_, two.pool_weights_)
    np.testing.assert_allclose(one.predict_proba(X), two.predict_proba(X))


class _CountingClassifier(ClassifierMixin, BaseEstimator):
    fits = 0

    def __init__(self, bias=0.0):
        self.bias = bias

    def fit(self, X, y):
        type(self).fits += 1
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        p = np.full((len(X), len(self.classes_)), 1.0 / len(self.classes_))
        return p


def test_only_chosen_members_are_refitted(classification):
    X, y = classification
    _CountingClassifier.fits = 0
    pool = [*_classifier_pool(), ("uniform", _CountingClassifier())]
    clf = EnsembleSelectionClassifier(pool, cv=3).fit(X, y)
    assert clf.pool_weights_[3] == 0.0  # a uniform guess never helps here
    assert _CountingClassifier.fits == 3  # the three folds, no refit
    assert "uniform" not in clf.named_estimators_


@pytest.mark.parametrize(
    "estimators, error, match",
    [
        ([("svc", LinearSVC())], TypeError, "needs fit and predict_proba"),
        ([("reg", BayesianRidge())], TypeError, "needs fit and predict_proba"),
        ([("a", LogisticRegression()), ("a", LogisticRegression())], ValueError, "unique"),
        ([("a__b", LogisticRegression())], ValueError, "must not contain '__'"),
        ([LogisticRegression()], ValueError, r"list of \(name, estimator\) tuples"),
        ([("a", "drop")], ValueError, "at least one estimator"),
    ],
)
def test_classifier_rejects_bad_pools(classification, estimators, error, match):
    X, y = classification
    with pytest.raises(error, match=match):
        EnsembleSelectionClassifier(estimators).fit(X, y)


def test_classifier_drop_and_bad_targets(classification):
    X, y = classification
    pool = [("logistic", LogisticRegression(max_iter=1000)), ("tree", "drop")]
    clf = EnsembleSelectionClassifier(pool).fit(X, y)
    assert list(clf.estimator_names_) == ["logistic"]
    with pytest.raises(ValueError, match="at least 2 classes"):
        EnsembleSelectionClassifier(pool).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="y is None"):
        EnsembleSelectionClassifier(pool).fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type|continuous"):
        EnsembleSelectionClassifier(pool).fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        EnsembleSelectionClassifier(pool).fit(X, y[:-1])


def test_selection_works_in_grid_search_and_pickles(classification):
    X, y = classification
    search = GridSearchCV(
        EnsembleSelectionClassifier(_classifier_pool(), cv=3),
        {"method": ["greedy", "simplex"]},
        cv=2,
        scoring="neg_log_loss",
    ).fit(X, y)
    model = search.best_estimator_
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


# ------------------------------------------------------------------- regressor
def test_regressor_mixture_mean_and_std(regression):
    X, y = regression
    reg = EnsembleSelectionRegressor(_regressor_pool()).fit(X, y)
    mean, std = reg.predict(X[:30], return_std=True)
    means, stds = reg.predict_members(X[:30], return_std=True)
    w = reg.weights_
    np.testing.assert_allclose(mean, w @ means)
    np.testing.assert_allclose(std**2, w @ (stds**2 + means**2) - mean**2, rtol=1e-9)
    np.testing.assert_allclose(reg.predict(X[:30]), mean)
    u = reg.predict_uncertainty(X[:30])
    np.testing.assert_allclose(u.total, std**2, rtol=1e-9)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, rtol=1e-9)


def test_regressor_variance_calibration(regression):
    X, y = regression
    plain = EnsembleSelectionRegressor(_regressor_pool(), calibrate_variance=False).fit(X, y)
    assert plain.variance_scale_ == 1.0
    calibrated = EnsembleSelectionRegressor(_regressor_pool(), calibrate_variance=True).fit(X, y)
    np.testing.assert_array_equal(calibrated.pool_weights_, plain.pool_weights_)
    scale = calibrated.variance_scale_
    assert scale != 1.0
    # The scale lowers the held-out NLL of the mixture, and scales every member's variance.
    nll = [calibrated._mixture_nll(calibrated.pool_weights_, c, y) for c in (scale, 1.0)]
    assert nll[0] < nll[1]
    for c in (scale * 0.8, scale * 1.25):
        assert nll[0] <= calibrated._mixture_nll(calibrated.pool_weights_, c, y) + 1e-9
    _, std_plain = plain.predict_members(X[:5], return_std=True)
    _, std_calibrated = calibrated.predict_members(X[:5], return_std=True)
    np.testing.assert_allclose(std_calibrated, std_plain * np.sqrt(scale))


def test_regressor_noise_variance_from_out_of_fold_residuals(regression):
    X, y = regression
    reg = EnsembleSelectionRegressor(_regressor_pool(), method="simplex").fit(X, y)
    tree_oof = cross_val_predict(DecisionTreeRegressor(max_depth=4, random_state=0), X, y, cv=5)
    names = list(reg.estimator_names_)
    np.testing.assert_allclose(reg.oof_predictions_[names.index("tree")], tree_oof)
    residual = np.mean((tree_oof - y) ** 2)
    np.testing.assert_allclose(reg.oof_std_[names.index("tree")], np.sqrt(residual))
    chosen = list(reg.named_estimators_)
    for name, noise in zip(chosen, reg.noise_variance_):
        if name == "bayes":  # a Gaussian member brings its own std
            assert np.isnan(noise)
        elif name == "tree":
            assert noise == pytest.approx(residual)
    bayes_std = cross_val_predict(BayesianRidge(), X, y, cv=5)  # means only
    np.testing.assert_allclose(reg.oof_predictions_[names.index("bayes")], bayes_std)


def test_regressor_intervals_cover_held_out_points():
    rng = np.random.RandomState(1)
    X = rng.uniform(-2, 2, size=(900, 3))
    y = X[:, 0] * 2 + np.sin(3 * X[:, 1]) + rng.normal(scale=0.5, size=900)
    reg = EnsembleSelectionRegressor(_regressor_pool()).fit(X[:600], y[:600])
    mean, std = reg.predict(X[600:], return_std=True)
    covered = np.mean(np.abs(y[600:] - mean) <= 1.6449 * std)
    assert 0.8 <= covered <= 0.98


@pytest.mark.parametrize("method", ["greedy", "simplex", "gem"])
@pytest.mark.parametrize("metric", ["nll", "squared_error"])
def test_regressor_methods_and_metrics(regression, method, metric):
    X, y = regression
    reg = EnsembleSelectionRegressor(_regressor_pool(), method=method, metric=metric).fit(X, y)
    assert reg.pool_weights_.sum() == pytest.approx(1.0) and (reg.pool_weights_ >= 0).all()
    if method != "gem":
        assert reg.score_ <= reg.member_scores_.min() + 1e-6
    squared = np.mean((reg.pool_weights_ @ reg.oof_predictions_ - y) ** 2)
    if metric == "squared_error":
        assert reg.score_ == pytest.approx(squared)


def test_regressor_callable_metric(regression):
    X, y = regression

    def mean_absolute_error(y_true, mean, std):
        assert mean.shape == std.shape == y_true.shape
        return float(np.mean(np.abs(y_true - mean)))

    reg = EnsembleSelectionRegressor(_regressor_pool(), metric=mean_absolute_error).fit(X, y)
    assert reg.score_ <= reg.member_scores_.min()


@pytest.mark.parametrize(
    "y, match",
    [
        (lambda y: np.c_[y, y], "1-D targets only"),
        (lambda y: np.array(["a"] * len(y)), "numeric target"),
        (lambda y: None, "y is None"),
    ],
)
def test_regressor_rejects_bad_targets(regression, y, match):
    X, target = regression
    with pytest.raises(ValueError, match=match):
        EnsembleSelectionRegressor(_regressor_pool()).fit(X, y(target))


def test_regressor_rejects_classifier_metrics_and_bad_cv(regression):
    X, y = regression
    with pytest.raises(ValueError, match="metric must be 'nll', 'squared_error'"):
        EnsembleSelectionRegressor(_regressor_pool(), metric="log_loss").fit(X, y)
    overlapping = [(np.arange(0, 200), np.arange(100, 300))] * 2
    with pytest.raises(ValueError, match="partition"):
        EnsembleSelectionRegressor(_regressor_pool(), cv=overlapping).fit(X, y)


def test_inputs_are_not_mutated(regression):
    X, y = regression
    X_copy, y_copy = X.copy(), y.copy()
    pool = _regressor_pool()
    EnsembleSelectionRegressor(pool).fit(X, y)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    assert not hasattr(pool[0][1], "coef_")  # the given estimators stay unfitted
