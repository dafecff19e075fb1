"""skens under scikit-learn's metadata routing, scorer names, and the feature-name warning.

Routing is turned on only inside ``sklearn.config_context`` blocks, never globally.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.metrics import get_scorer as sklearn_get_scorer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skens
from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.metrics import gaussian_nll_loss, get_scorer
from skens.metrics._scorers import SCORERS
from skens.preprocessing import TabularPreprocessor
from skens.preprocessing._tabular import _rows_checked_for

TINY = dict(hidden_layer_sizes=(16,), n_members=2, max_epochs=3, lr=0.01, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=160, n_features=3, noise=10.0, random_state=0)
    w = np.random.RandomState(1).uniform(0.05, 3.0, size=len(y))
    w[: len(w) // 2] *= 5.0  # far from uniform, so weighted and unweighted scores differ
    return X, y, w


def _routing(on):
    return sklearn.config_context(enable_metadata_routing=on)


# ------------------------------------------------------------ scorer requests
def test_default_requests_follow_the_metric_signature_as_sklearn_does():
    assert str(get_scorer("neg_gaussian_nll").get_metadata_routing()) == str(
        {"score": {"sample_weight": None}}
    )
    # labels is the scorer's own (estimator.classes_); the others are the metric's.
    assert str(get_scorer("neg_expected_calibration_error").get_metadata_routing()) == str(
        {"score": {"n_bins": None, "strategy": None, "sample_weight": None}}
    )
    # as for scikit-learn's scorers, sample_weight is known but not requested
    sk = str(sklearn_get_scorer("neg_mean_squared_error").get_metadata_routing())
    assert "'sample_weight': None" in sk


def test_set_score_request_as_sklearn_scorers():
    with pytest.raises(RuntimeError, match="only available when metadata routing is enabled"):
        get_scorer("neg_crps").set_score_request(sample_weight=True)
    with pytest.raises(RuntimeError, match="only available when metadata routing is enabled"):
        sklearn_get_scorer("r2").set_score_request(sample_weight=True)
    with _routing(True):
        scorer = get_scorer("neg_crps")
        assert scorer.set_score_request(sample_weight=True) is scorer
        assert str(scorer.get_metadata_routing()) == str({"score": {"sample_weight": True}})
        aliased = get_scorer("neg_crps").set_score_request(sample_weight="w")
        assert str(aliased.get_metadata_routing()) == str({"score": {"sample_weight": "w"}})


def test_get_scorer_returns_a_fresh_copy():
    with _routing(True):
        get_scorer("neg_gaussian_nll").set_score_request(sample_weight=True)
    assert str(get_scorer("neg_gaussian_nll").get_metadata_routing()) == str(
        {"score": {"sample_weight": None}}
    )
    assert not hasattr(SCORERS["neg_gaussian_nll"], "_metadata_request")
    assert get_scorer("neg_crps") is not get_scorer("neg_crps")


def test_extra_metadata_needs_routing(data):
    X, y, _ = data
    reg = DeepEnsembleRegressor(**TINY).fit(X, y)
    with pytest.raises(TypeError, match="enable_metadata_routing=True"):
        get_scorer("neg_gaussian_nll")(reg, X, y, groups=np.zeros(len(y)))


# ------------------------------------------------------------ weighted scores
def _weighted_nll_by_hand(estimator, X, y, w, *, weighted_fit):
    """The weighted NLL of each KFold(2) test part, fitting as GridSearchCV does."""
    scores = []
    for train, test in KFold(2).split(X):
        model = clone(estimator)
        kwargs = {"sample_weight": w[train]} if weighted_fit else {}
        with _routing(False):
            model.fit(X[train], y[train], **kwargs)
        mean, std = model.predict(X[test], return_std=True)
        scores.append(-gaussian_nll_loss(y[test], mean, std, sample_weight=w[test]))
    return np.array(scores)


def _split_scores(search, name="score"):
    return np.array([search.cv_results_[f"split{i}_test_{name}"][0] for i in range(2)])


def test_grid_search_weighted_scores_under_routing(data):
    X, y, w = data
    grid = {"deepensembleregressor__lr": [0.01]}
    with _routing(True), warnings.catch_warnings():
        warnings.simplefilter("error")
        # The pipeline ignores the weights in fit; only the scorer receives them.
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            DeepEnsembleRegressor(**TINY).set_fit_request(sample_weight=False),
        )
        weighted = GridSearchCV(
            pipe,
            grid,
            cv=2,
            refit=False,
            error_score="raise",
            scoring=get_scorer("neg_gaussian_nll").set_score_request(sample_weight=True),
        ).fit(X, y, sample_weight=w)
        scorer = get_scorer("neg_gaussian_nll")
        unweighted = GridSearchCV(
            pipe, grid, cv=2, refit=False, error_score="raise", scoring=scorer
        ).fit(X, y)
    expected = _weighted_nll_by_hand(pipe, X, y, w, weighted_fit=False)
    np.testing.assert_allclose(_split_scores(weighted), expected, rtol=1e-6)
    assert not np.allclose(_split_scores(unweighted), expected, rtol=1e-3)


def test_unrequested_sample_weight_is_an_error_as_for_sklearn_scorers(data):
    X, y, w = data
    for scorer in (get_scorer("neg_gaussian_nll"), sklearn_get_scorer("r2")):
        with (
            _routing(True),
            pytest.raises(sklearn.exceptions.UnsetMetadataPassedError, match="sample_weight"),
        ):
            reg = DeepEnsembleRegressor(**TINY).set_fit_request(sample_weight=True)
            GridSearchCV(reg, {"lr": [0.01]}, cv=2, scoring=scorer).fit(X, y, sample_weight=w)


def test_weighted_scores_same_with_routing_on_and_off(data):
    X, y, w = data
    grid = {"lr": [0.01]}
    scoring = {"nll": get_scorer("neg_gaussian_nll"), "r2": "r2"}
    with _routing(False):  # as before routing existed: sample_weight to fit and scorers
        off = GridSearchCV(
            DeepEnsembleRegressor(**TINY), grid, cv=2, refit=False, scoring=scoring
        ).fit(X, y, sample_weight=w)
    with _routing(True):
        on = GridSearchCV(
            DeepEnsembleRegressor(**TINY).set_fit_request(sample_weight=True),
            grid,
            cv=2,
            refit=False,
            scoring={
                "nll": get_scorer("neg_gaussian_nll").set_score_request(sample_weight=True),
                "r2": sklearn_get_scorer("r2").set_score_request(sample_weight=True),
            },
        ).fit(X, y, sample_weight=w)
    expected = _weighted_nll_by_hand(DeepEnsembleRegressor(**TINY), X, y, w, weighted_fit=True)
    np.testing.assert_allclose(_split_scores(off, "nll"), expected, rtol=1e-6)
    np.testing.assert_allclose(_split_scores(on, "nll"), expected, rtol=1e-6)
    np.testing.assert_allclose(_split_scores(on, "r2"), _split_scores(off, "r2"), rtol=1e-6)


# ------------------------------------------------------------ return_std in a Pipeline
def test_regressors_request_return_std_in_predict():
    routing = DeepEnsembleRegressor().get_metadata_routing()
    assert routing.predict.requests["return_std"] is True


@pytest.mark.parametrize("on", [False, True])
def test_pipeline_predict_return_std(data, on):
    X, y, _ = data
    pipe = make_pipeline(StandardScaler(), DeepEnsembleRegressor(**TINY)).fit(X, y)
    with _routing(on):
        mean, std = pipe.predict(X[:5], return_std=True)
        assert pipe.predict(X[:5]).shape == (5,)
    assert mean.shape == std.shape == (5,) and np.all(std > 0)


def test_grid_search_pipeline_same_scores_with_routing_on_and_off(data):
    X, y, _ = data
    pipe = make_pipeline(StandardScaler(), DeepEnsembleRegressor(**TINY))
    grid = {"deepensembleregressor__lr": [0.003, 0.01]}
    results = {}
    for on in (False, True):
        with _routing(on), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            search = GridSearchCV(
                pipe, grid, cv=2, refit=False, scoring=get_scorer("neg_gaussian_nll")
            ).fit(X, y)
        assert [str(w.message) for w in caught] == []
        results[on] = search.cv_results_["mean_test_score"]
        assert np.all(np.isfinite(results[on]))
    np.testing.assert_allclose(results[True], results[False], rtol=1e-6)


# ------------------------------------------------------------ scorer names
def test_a_skens_name_as_a_string_is_sklearns_error(data):
    # scikit-learn has no public registry of scorer names: the string fails in
    # scikit-learn, before any fit; the documented way is the scorer object.
    X, y, _ = data
    with pytest.raises(ValueError, match="neg_gaussian_nll"):
        GridSearchCV(DeepEnsembleRegressor(**TINY), {"lr": [0.01]}, scoring="neg_gaussian_nll").fit(
            X, y
        )


def test_optuna_search_accepts_the_scorer(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # optuna's own deprecations, on import
        optuna = pytest.importorskip("optuna")
        integration = pytest.importorskip("optuna_integration")
    X, y, _ = data
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)  # optuna.terminator's deprecation
        search = integration.OptunaSearchCV(
            DeepEnsembleRegressor(**TINY),
            {"lr": optuna.distributions.FloatDistribution(1e-3, 1e-2, log=True)},
            scoring=get_scorer("neg_gaussian_nll"),
            n_trials=2,
            cv=2,
            refit=False,
            random_state=0,
        ).fit(X, y)
    values = [t.value for t in search.trials_]
    assert len(values) == 2 and np.all(np.isfinite(values)) and np.all(np.less(values, 0))


# ------------------------------------------------------------ one feature-name warning
class _CPUPreprocessor(TabularPreprocessor):
    """A preprocessor of another class: the estimators apply its transform on the CPU."""

    def transform(self, X):
        return super().transform(X)


# The fewest epochs, samples and snapshots each estimator allows.
FAST = dict(
    burn_in=1,
    n_samples=2,
    thinning=1,
    n_chains=2,
    cycle_epochs=1,
    n_snapshots=2,
    n_masks=4,
    hypernet_hidden=(16,),
    early_stopping=False,
)


def _deep_estimators():
    return [getattr(skens, name) for name in sorted(skens.__all__) if name[0].isupper()]


def _feature_name_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if "feature names" in str(w.message)]


@pytest.fixture(scope="module")
def frame():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(120, 3), columns=["size", "age", "rate"])
    return X, (X["size"] > 0).astype(int).to_numpy(), X["size"].to_numpy() * 2.0


@pytest.mark.parametrize("cpu_transform", [False, True], ids=["device-encoding", "cpu-transform"])
@pytest.mark.parametrize("cls", _deep_estimators(), ids=lambda cls: cls.__name__)
def test_array_on_a_frame_fitted_model_warns_once(frame, cls, cpu_transform):
    X, y_class, y_reg = frame
    if cpu_transform:
        cls = type(cls.__name__, (cls,), {"_make_preprocessor": _make_cpu_preprocessor})
    classifier = "Classifier" in cls.__name__
    teacher = (DeepEnsembleClassifier if classifier else DeepEnsembleRegressor)(**TINY)
    fast = dict(TINY, teacher=teacher, **FAST)
    params = {k: v for k, v in fast.items() if k in cls().get_params()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the estimators' fit-time advice, not tested here
        model = cls(**params).fit(X, y_class if classifier else y_reg)
    assert model._encodes_on_device() is not cpu_transform
    array = X.to_numpy()
    calls = (
        [model.predict, model.predict_proba, model.predict_proba_members]
        if classifier
        else [model.predict, lambda A: model.predict(A, return_std=True), model.predict_members]
    )
    for call in calls:
        messages = _feature_name_warnings(lambda call=call: call(array))
        assert len(messages) == 1, messages
        assert "but " + cls.__name__ + " was fitted with feature names" in messages[0]


def _make_cpu_preprocessor(self, random_state):
    return _CPUPreprocessor(
        categorical_features=self.categorical_features,
        numeric_scaling=self.numeric_scaling,
        random_state=random_state,
    )


def test_partial_fit_with_a_given_preprocessor_warns_once(frame):
    X, y, _ = frame
    preprocessor = _CPUPreprocessor().fit(X)
    model = DeepEnsembleClassifier(**TINY)
    model.partial_fit(X, y, classes=[0, 1], preprocessor=preprocessor)
    assert not model._encodes_on_device()
    array = X.to_numpy()
    for call in (model.predict, model.predict_proba, model.predict_proba_members):
        assert len(_feature_name_warnings(lambda call=call: call(array))) == 1
    # another partial_fit on an array encodes it with the preprocessor: one warning too
    assert len(_feature_name_warnings(lambda: model.partial_fit(array, y))) == 1
    # the preprocessor used alone still checks its input
    assert len(_feature_name_warnings(lambda: preprocessor.transform(array))) == 1
    # rows checked by the estimator: the preprocessor still checks their number of features
    with _rows_checked_for(preprocessor), pytest.raises(ValueError, match="expecting 3 features"):
        preprocessor.transform(array[:, :2])
