"""scikit-learn's common estimator checks on every public skens estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skens.utils.discovery import all_estimators

# Small nets and few epochs keep the checks fast; the checks that demand a
# good fit (e.g. accuracy > 0.83 on blobs) still pass with these settings.
_FAST_PARAMS = dict(
    n_members=3, hidden_layer_sizes=(16,), max_epochs=30, batch_size=32, random_state=0,
    n_snapshots=2, cycle_epochs=20,  # snapshot ensembles: 40 epochs
    n_samples=5,  # MC dropout, SWAG, SG-MCMC (per chain)
    n_chains=2, burn_in=40, thinning=2,  # SG-MCMC: 50 epochs (and lr=3e-3 below)
    swa_epochs=5,  # SWAG
    n_heads=3,  # multi-head
    n_masks=5, subsample=0.8,  # HyperTab (at 0.5, half the masks miss the informative feature)
)

# Checks expected to fail, each with its reason. The goal is an empty map.
_WEIGHT_REASON = (
    "Training is stochastic float32 mini-batch optimisation, and the feature scaling is "
    "fitted on the rows (not weighted), so a fit with integer sample_weight and a fit on "
    "repeated rows agree closely but not to rtol=1e-7. The loss itself weights exactly "
    "(tests/nn/test_losses.py::test_integer_weights_equal_repetition), zero weights drop a "
    "sample exactly, and integer weights are checked statistically in "
    "tests/deep/test_tabular_input.py. scikit-learn expects the same failure for SGDClassifier."
)
EXPECTED_FAILED_CHECKS = {
    "DeepEnsembleClassifier": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "DeepEnsembleRegressor": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    # The same training as the deep ensembles', then dropout samples or snapshots.
    "MCDropoutClassifier": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "MCDropoutRegressor": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "EnsLossClassifier": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "HyperTabClassifier": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "HyperTabRegressor": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "EvidentialRegressor": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "MultiHeadClassifier": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "MultiHeadRegressor": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "SGMCMCClassifier": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "SGMCMCRegressor": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "SWAGClassifier": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "SWAGRegressor": {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON},
    "SnapshotEnsembleClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON
    },
    "SnapshotEnsembleRegressor": {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON
    },
}


# The default network too (256x256, periodic embeddings, batch_size='auto', ...):
# only the number of members and of epochs lowered, to keep the suite fast.
_DEFAULT_NETWORK_PARAMS = dict(
    n_members=2, max_epochs=30, random_state=0, n_snapshots=3, cycle_epochs=10, n_samples=5,
    n_chains=2, burn_in=25, thinning=1, swa_epochs=5, n_masks=5, subsample=0.8,
)


def _small_pool(Estimator):
    """A linear model and a tree (the deep member is tested in tests/ensemble/)."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if Estimator.__name__.endswith("Classifier"):
        return [
            ("linear", LogisticRegression()),
            ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
        ]
    return [("linear", Ridge()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))]


def _tested_estimators():
    for _, Estimator in all_estimators():
        params = Estimator().get_params()
        if "teacher" in params:
            # A student of a fast teacher (the default teacher is a full deep ensemble).
            from sklearn.linear_model import LogisticRegression, Ridge

            fast = {k: v for k, v in _FAST_PARAMS.items() if k in params and k != "n_members"}
            teacher = LogisticRegression() if "Classifier" in Estimator.__name__ else Ridge()
            yield Estimator(teacher, **{**fast, "max_epochs": 15})
            yield Estimator(teacher, quantize="int8", **{**fast, "max_epochs": 15})
            continue
        if "estimators" in params and "method" not in params:
            # A cascade of other models: a small pool, members fitted on 70% of the rows.
            yield Estimator(_small_pool(Estimator), random_state=0)
            yield Estimator(_small_pool(Estimator), strategy="threshold", random_state=0)
            continue
        if "estimators" in params:
            # Ensembles of other models: a small pool (the default pool trains
            # full-size members), with 3 folds.
            yield Estimator(_small_pool(Estimator), cv=3)
            yield Estimator(_small_pool(Estimator), method="simplex", cv=3)
            continue
        for settings in (_FAST_PARAMS, _DEFAULT_NETWORK_PARAMS):
            params = {k: v for k, v in settings.items() if k in Estimator().get_params()}
            if "n_masks" in params:
                # HyperTab's batched training takes one step per batch for all masks:
                # its own default of 100 epochs (cheap) rather than 30.
                params["max_epochs"] = 100
            if "n_chains" in params:
                # SG-MCMC's steps are RMSprop-sized and decay: a larger first step
                # reaches the checks' training accuracy in a few epochs.
                params["lr"] = 3e-3
            yield Estimator(**params)


# scikit-learn's checks fit on a handful of rows, where a stratified validation
# split is impossible; the estimator warns and splits at random, as documented
# (tested in tests/deep/test_deep_ensemble.py). That warning is expected here.
@pytest.mark.filterwarnings(
    "ignore:.*too few samples for a stratified validation split:UserWarning"
)
@parametrize_with_checks(
    list(_tested_estimators()),
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "Estimator",
    [E for _, E in all_estimators() if hasattr(E, "_parameter_constraints")],
    ids=lambda E: E.__name__,
)
def test_every_parameter_has_a_constraint_and_no_other(Estimator):
    assert set(Estimator._parameter_constraints) == set(Estimator._get_param_names())


def test_discovery_finds_the_estimators():
    names = [name for name, _ in all_estimators()]
    assert {
        "DeepEnsembleClassifier",
        "DeepEnsembleRegressor",
        "CascadeClassifier",
        "CascadeRegressor",
        "DistilledClassifier",
        "DistilledRegressor",
        "EnsembleSelectionClassifier",
        "EvidentialRegressor",
        "MCDropoutClassifier",
        "SGMCMCClassifier",
        "SGMCMCRegressor",
        "SWAGClassifier",
        "SWAGRegressor",
        "EnsembleSelectionRegressor",
        "TabularPreprocessor",
        "TreeEncoder",
    } <= set(names)
