"""The window-based early-exit cascade: the rule, and the estimator."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

from skens.ensemble import CascadeClassifier, exit_confidence, exit_window, operating_threshold


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=1500, n_features=10, n_informative=5, flip_y=0.05, random_state=0
    )
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.4, random_state=0)
    members = [
        ("linear", LogisticRegression().fit(X_fit, y_fit)),
        ("boosting", HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X_fit, y_fit)),
        ("forest", RandomForestClassifier(n_estimators=20, random_state=0).fit(X_fit, y_fit)),
    ]
    return X_val, y_val, members


def _prefit(members, **params):
    return CascadeClassifier(members, cv="prefit", costs=[1, 5, 10], **params)


def _stage_proba(members, X, k):
    return np.mean([est.predict_proba(X) for _, est in members[: k + 1]], axis=0)


# ------------------------------------------------------------------ the rule
def test_exit_confidence_scores():
    proba = np.array([[0.9, 0.1], [0.5, 0.5]])
    np.testing.assert_allclose(exit_confidence(proba), [0.9, 0.5])
    entropy = -np.sum(proba * np.log(proba), axis=1)
    np.testing.assert_allclose(exit_confidence(proba, score="entropy"), -entropy)
    logits = np.array([[2.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(exit_confidence(logits=logits, score="max_logit"), [2.0, 0.0])
    np.testing.assert_allclose(
        exit_confidence(logits=logits, score="energy"), np.log(np.exp(logits).sum(axis=1))
    )
    with pytest.raises(ValueError, match="needs logits"):
        exit_confidence(proba, score="energy")
    with pytest.raises(ValueError, match="score must be one of"):
        exit_confidence(proba, score="margin")


def test_operating_threshold_for_coverage_and_risk():
    rng = np.random.RandomState(0)
    confidence = rng.rand(1000)
    correct = rng.rand(1000) < confidence  # confident rows are right more often
    tau = operating_threshold(confidence, correct, operating_point="coverage", value=0.8)
    assert np.mean(confidence >= tau) == pytest.approx(0.8, abs=0.002)
    tau = operating_threshold(confidence, correct, operating_point="risk", value=0.1)
    accepted = confidence >= tau
    assert np.mean(~correct[accepted]) == pytest.approx(0.1, abs=0.02)
    assert accepted.mean() >= 0.1


def test_exit_window_covers_twice_the_window_of_validation_rows():
    confidence = np.random.RandomState(1).rand(2000)
    low, high = exit_window(confidence, np.quantile(confidence, 0.4), 0.1)
    inside = (confidence >= low) & (confidence <= high)
    assert inside.mean() == pytest.approx(0.2, abs=0.01)
    # A window reaching past the extremes has an infinite bound there.
    low, high = exit_window(confidence, np.quantile(confidence, 0.95), 0.1)
    assert np.isfinite(low) and high == np.inf


# ------------------------------------------------------------------ the estimator
def test_window_of_0_1_defers_about_20_percent_of_validation_rows(data):
    X_val, y_val, members = data
    cascade = _prefit(members).fit(X_val, y_val)
    deferred = 1 - cascade.exit_rate_[0]
    assert deferred == pytest.approx(0.2, abs=0.03)
    assert cascade.exit_rate_.sum() == pytest.approx(1.0)
    assert cascade.stage_names_ == ["linear", "boosting", "forest"]
    assert cascade.windows_.shape == (3, 2) and np.isnan(cascade.thresholds_[-1])


def test_an_infinite_window_is_the_full_ensemble(data):
    X_val, y_val, members = data
    cascade = _prefit(members, window=1.0).fit(X_val, y_val)
    assert (cascade.predict_stage(X_val) == 2).all()
    np.testing.assert_allclose(cascade.predict_proba(X_val), _stage_proba(members, X_val, 2))
    assert cascade.expected_cost_ == pytest.approx(16.0)


def test_an_always_exit_window_is_the_first_stage(data):
    X_val, y_val, members = data
    # The single-threshold rule with a threshold below every confidence: all exit at once.
    cascade = _prefit(members, strategy="threshold", operating_value=1.0).fit(X_val, y_val)
    cascade.thresholds_[:] = -np.inf
    assert (cascade.predict_stage(X_val) == 0).all()
    np.testing.assert_allclose(cascade.predict_proba(X_val), _stage_proba(members, X_val, 0))
    # window=0: only rows exactly at a window bound (a tie at the threshold) go on.
    zero = _prefit(members, window=0.0).fit(X_val, y_val)
    assert zero.exit_rate_[0] > 0.99


def test_deferred_rows_get_the_stage_they_exit_at(data):
    X_val, y_val, members = data
    cascade = _prefit(members).fit(X_val, y_val)
    proba, stage = cascade.predict_proba(X_val), cascade.predict_stage(X_val)
    assert set(np.unique(stage)) <= {0, 1, 2}
    for k in range(3):
        rows = stage == k
        np.testing.assert_allclose(proba[rows], _stage_proba(members, X_val[rows], k))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(cascade.predict(X_val), cascade.classes_[proba.argmax(1)])


def test_expected_cost_lies_between_the_first_stage_and_the_total(data):
    X_val, y_val, members = data
    cascade = _prefit(members).fit(X_val, y_val)
    assert 1.0 < cascade.expected_cost_ < 16.0
    reach = 1 - np.concatenate([[0], np.cumsum(cascade.exit_rate_)[:-1]])
    assert cascade.expected_cost_ == pytest.approx(np.sum(reach * [1, 5, 10]))


def test_stages_are_ordered_by_cost(data):
    X_val, y_val, members = data
    cascade = CascadeClassifier(members, cv="prefit", costs=[10, 1, 5]).fit(X_val, y_val)
    assert cascade.stage_names_ == ["boosting", "forest", "linear"]
    measured = CascadeClassifier(members, cv="prefit", costs="measured").fit(X_val, y_val)
    assert np.all(np.diff(measured.costs_) >= 0) and (measured.costs_ > 0).all()
    # By default the stages keep the given order; the costs are measured all the same.
    given = CascadeClassifier(members[::-1], cv="prefit").fit(X_val, y_val)
    assert given.stage_names_ == ["forest", "boosting", "linear"]
    assert (given.costs_ > 0).all()


def test_the_uncertainty_is_that_of_the_exit_stage(data):
    X_val, y_val, members = data
    cascade = _prefit(members).fit(X_val, y_val)
    u = cascade.predict_uncertainty(X_val)
    np.testing.assert_array_equal(u.stage, cascade.predict_stage(X_val))
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic)
    assert np.all(u.epistemic[u.stage == 0] == 0)
    proba = cascade.predict_proba(X_val)
    np.testing.assert_allclose(u.total, -np.sum(proba * np.log(np.clip(proba, 1e-300, 1)), 1))


def test_the_single_threshold_baseline(data):
    X_val, y_val, members = data
    cascade = _prefit(members, strategy="threshold").fit(X_val, y_val)
    confidence = _stage_proba(members, X_val, 0).max(axis=1)
    exits = confidence > cascade.thresholds_[0]
    np.testing.assert_array_equal(cascade.predict_stage(X_val) == 0, exits)
    assert cascade.exit_rate_[0] == pytest.approx(0.8, abs=0.01)


def test_energy_and_max_logit_need_decision_function(data):
    X_val, y_val, members = data
    cascade = _prefit(members[:1] + [("svm", members[0][1])], exit_score="energy")
    with pytest.raises(ValueError, match="costs must hold 2"):
        cascade.fit(X_val, y_val)
    ok = CascadeClassifier(members[:1], cv="prefit", exit_score="max_logit").fit(X_val, y_val)
    assert ok.exit_rate_.tolist() == [1.0]
    with pytest.raises(TypeError, match="has no decision_function"):
        CascadeClassifier(members[2:3], cv="prefit", exit_score="energy").fit(X_val, y_val)


def test_a_cascade_fits_its_members_on_the_rest_of_the_rows(data):
    X_val, y_val, members = data
    unfitted = [(name, clone(est)) for name, est in members]
    cascade = CascadeClassifier(unfitted, cv=0.4, random_state=0).fit(X_val, y_val)
    assert all(hasattr(est, "classes_") for est in cascade.estimators_)
    assert not hasattr(unfitted[0][1], "classes_")  # the user's estimators are not fitted
    assert cascade.score(X_val, y_val) > 0.8


def test_bad_input_is_named():
    X, y = make_classification(n_samples=100, random_state=0)
    with pytest.raises(TypeError, match="classifier with predict_proba"):
        CascadeClassifier([("svm", LinearSVC())]).fit(X, y)
    with pytest.raises(ValueError, match="list of \\(name, estimator\\) tuples"):
        CascadeClassifier([LogisticRegression()]).fit(X, y)
    with pytest.raises(ValueError, match="needs fitted estimators"):
        CascadeClassifier(cv="prefit").fit(X, y)
    unfitted = [("linear", LogisticRegression())]
    with pytest.raises(Exception, match="not fitted"):
        CascadeClassifier(unfitted, cv="prefit").fit(X, y)
    fitted = [("linear", LogisticRegression().fit(X, y))]
    with pytest.raises(ValueError, match="absent from y"):
        CascadeClassifier(fitted, cv="prefit").fit(X, np.where(y == 1, 0, 2))
    with pytest.raises(ValueError, match="at least 2 classes"):
        CascadeClassifier(fitted, cv="prefit").fit(X, np.zeros(100))


def test_the_default_members_cascade_on_a_mixed_frame():
    from tests.deep.test_tabular_input import _mixed_frame

    X, y, _ = _mixed_frame(n=240)
    cascade = CascadeClassifier(random_state=0).fit(X, y)
    assert cascade.stage_names_ == ["linear", "hist_gradient_boosting", "deep_ensemble"]
    stage = cascade.predict_stage(X)
    assert stage.min() == 0 and np.isfinite(cascade.predict_proba(X)).all()
    assert cascade.score(X, y) > 0.8


# ------------------------------------------------------------- member groups
@pytest.fixture(scope="module")
def deep_split():
    from skens import DeepEnsembleClassifier

    X, y = make_classification(n_samples=900, n_features=8, flip_y=0.05, random_state=1)
    deep = DeepEnsembleClassifier(
        n_members=4, hidden_layer_sizes=(16,), max_epochs=15, random_state=0
    ).fit(X[:500], y[:500])
    return deep, X[500:], y[500:]


def test_member_groups_compute_their_members_only(deep_split):
    from skens.ensemble import member_groups

    deep, X, y = deep_split
    members = deep.predict_proba_members(X)
    groups = member_groups(deep, 3)
    assert [name for name, _ in groups] == ["members_0-1", "members_2-2", "members_3-3"]
    for (_, group), index in zip(groups, ([0, 1], [2], [3])):
        assert group._module.network.n_members == len(index)
        np.testing.assert_allclose(group.predict_proba(X), members[index].mean(0), atol=1e-6)
    with pytest.raises(ValueError, match=r"n_groups must be an int in \[1, 4\]"):
        member_groups(deep, 5)


def test_a_cascade_over_a_deep_ensembles_members(deep_split):
    from skens.ensemble import member_groups

    deep, X, y = deep_split
    groups = member_groups(deep, 4)
    full = CascadeClassifier(groups, cv="prefit", costs=[1] * 4, window=1.0).fit(X, y)
    np.testing.assert_allclose(full.predict_proba(X), deep.predict_proba(X), atol=1e-6)
    cascade = CascadeClassifier(groups, cv="prefit", costs=[1] * 4).fit(X, y)
    stage = cascade.predict_stage(X)
    # Rows leaving at stage k got the mean of members 0..k.
    members = deep.predict_proba_members(X)
    for k in range(4):
        rows = stage == k
        np.testing.assert_allclose(
            cascade.predict_proba(X)[rows], members[: k + 1, rows].mean(0), atol=1e-6
        )
    assert 1 <= cascade.expected_cost_ < 4


def test_the_cost_risk_display(data):
    import matplotlib

    matplotlib.use("Agg")
    from skens.ensemble import CascadeCostDisplay

    X_val, y_val, members = data
    cascade = _prefit(members).fit(X_val, y_val)
    display = CascadeCostDisplay.from_cascade(
        cascade, X_val, y_val, X_val, y_val, windows=(0.0, 0.1, 1.0)
    )
    assert display.cost.shape == display.risk.shape == (3,)
    # Window 0: (almost) everyone leaves at the cheapest stage; window 1: the full cost.
    assert display.cost[0] < display.cost[1] < display.cost[2] == pytest.approx(1.0)
    assert display.ax_.get_xlabel().startswith("Mean cost per row")
    assert display.line_.get_label() == "window"
    matplotlib.pyplot.close("all")


# ------------------------------------------------------------------ regression
@pytest.fixture(scope="module")
def regression_data():
    from sklearn.datasets import make_regression
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.linear_model import BayesianRidge

    X, y = make_regression(n_samples=900, n_features=6, noise=20.0, random_state=0)
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.5, random_state=0)
    members = [
        ("bayes", BayesianRidge().fit(X_fit, y_fit)),
        ("gp", GaussianProcessRegressor(alpha=1.0, normalize_y=True).fit(X_fit[:200], y_fit[:200])),
        ("boosting", HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X_fit, y_fit)),
    ]
    return X_val, y_val, members


def _mixture(members, X, k):
    from skens.utils._estimators import _predicts_std

    means, variances = [], []
    for _, est in members[: k + 1]:
        if _predicts_std(est):
            mean, std = est.predict(X, return_std=True)
        else:
            mean, std = est.predict(X), np.zeros(len(X))
        means.append(mean)
        variances.append(std**2)
    means, variances = np.array(means), np.array(variances)
    mean = means.mean(0)
    return mean, np.sqrt((variances + means**2).mean(0) - mean**2)


def test_regression_cascade_follows_the_rule(regression_data):
    from skens.ensemble import CascadeRegressor

    X_val, y_val, members = regression_data
    cascade = CascadeRegressor(members, cv="prefit", costs=[1, 5, 10]).fit(X_val, y_val)
    assert 1 - cascade.exit_rate_[0] == pytest.approx(0.2, abs=0.03)
    mean, std = cascade.predict(X_val, return_std=True)
    stage = cascade.predict_stage(X_val)
    for k in range(3):
        rows = stage == k
        expected_mean, expected_std = _mixture(members, X_val[rows], k)
        np.testing.assert_allclose(mean[rows], expected_mean, rtol=1e-7, atol=1e-6)
        np.testing.assert_allclose(std[rows], expected_std, rtol=1e-6, atol=1e-6)
    full = CascadeRegressor(members, cv="prefit", costs=[1, 5, 10], window=1.0).fit(X_val, y_val)
    np.testing.assert_allclose(full.predict(X_val), _mixture(members, X_val, 2)[0])
    assert (full.predict_stage(X_val) == 2).all()
    assert 1 < cascade.expected_cost_ < 16


def test_regression_cascade_errors():
    from skens.ensemble import CascadeRegressor

    X, y = make_classification(n_samples=60, random_state=0)
    with pytest.raises(TypeError, match="must be a regressor"):
        CascadeRegressor([("clf", LogisticRegression())]).fit(X, y.astype(float))
    with pytest.raises(ValueError, match="one target"):
        from sklearn.linear_model import Ridge

        CascadeRegressor([("ridge", Ridge())]).fit(X, np.column_stack([y, y]).astype(float))


def test_n_jobs_fits_the_stages_in_parallel_with_the_same_result(data):
    from joblib import parallel_config

    X, y, members = data
    unfitted = [(name, clone(est)) for name, est in members]
    one = CascadeClassifier(unfitted, costs=[1, 5, 10], random_state=0).fit(X, y)
    with parallel_config(backend="threading"):
        two = CascadeClassifier(unfitted, costs=[1, 5, 10], n_jobs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))
    np.testing.assert_array_equal(one.thresholds_, two.thresholds_)
