"""The estimators on a real ``dask.distributed.LocalCluster`` (and on Ray when installed).

Everything here runs in other processes than the test's own: the estimators,
their training data and their fitted states travel by pickle, and the joblib
backends ``'dask'`` (and ``'ray'``) run the fits of a search, of a
heterogeneous pool or of an ensemble's member groups on the cluster's workers.
With an int ``random_state`` on the CPU a fit is deterministic, so each
distributed result must equal the same computation run locally.

One cluster (2 worker processes of one thread each) serves the whole module;
starting it takes about a second, and the first test's tasks a few more (each
worker imports torch and skens). Settings are tiny throughout: the file runs in
15 to 25 s on a 2-core machine (with Ray, about 10 s more).
"""

import builtins
import logging
import os
import pickle
import re

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV
from sklearn.tree import DecisionTreeClassifier

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.ensemble import EnsembleSelectionClassifier

try:
    from distributed import get_task_stream
except ImportError:  # the tests that use it skip (fixture ``client``)
    get_task_stream = None

# Tiny, CPU-only settings: deterministic, and each fit takes a fraction of a second.
TINY = dict(
    n_members=2, hidden_layer_sizes=(16,), max_epochs=3, lr=0.01, device="cpu", random_state=0
)



# --------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def client():
    """A ``Client`` of a 2-worker ``LocalCluster`` (processes), closed after the module."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        # Without a dashboard the scheduler still serves HTTP (health checks), on
        # port 8787 by default: a random local port instead, so that a busy 8787
        # (another cluster on the machine) neither fails nor warns.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def clf_data():
    return make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)


@pytest.fixture(scope="module")
def reg_data():
    return make_regression(n_samples=400, n_features=5, noise=5.0, random_state=0)


def _assert_ran_on_cluster(client, stream, min_tasks=1):
    """``stream`` (of ``distributed.get_task_stream``) saw tasks run on ``client``'s workers."""
    cluster_workers = set(client.scheduler_info()["workers"])
    workers = {task["worker"] for task in stream.data}
    assert len(stream.data) >= min_tasks, f"only {len(stream.data)} task(s) ran on the cluster"
    assert workers and workers <= cluster_workers, (workers, cluster_workers)


def _dask_backend():
    """The joblib backend of the default dask client (``parallel_config``, current in joblib)."""
    return joblib.parallel_config(backend="dask")


# ------------------------------------------------------------------ 1. grid search
def test_grid_search_on_cluster_equals_local(client, clf_data):
    X, y = clf_data
    grid = {"lr": [0.003, 0.03], "ensemble_type": ["batchensemble", "independent"]}

    def search(n_jobs):
        return GridSearchCV(
            DeepEnsembleClassifier(**TINY), grid, cv=2, scoring="neg_log_loss", n_jobs=n_jobs
        )

    local = search(1).fit(X, y)
    with get_task_stream(client) as stream, _dask_backend():
        remote = search(-1).fit(X, y)

    # 4 candidates x 2 folds, at least one task each (joblib may batch them)...
    _assert_ran_on_cluster(client, stream, min_tasks=2)
    # ...and none of the fits in this process: the workers are other processes.
    worker_pids = set(client.run(os.getpid).values())
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    # Exact on the CPU with the same seeds (also with the workers' one thread each).
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-6
    )
    assert np.ptp(local.cv_results_["mean_test_score"]) > 0  # the candidates differ
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.predict_proba(X[:20]), local.predict_proba(X[:20]), rtol=1e-6)


# -------------------------------------------------------------- 2. halving search
def test_halving_random_search_on_cluster_equals_local(client, reg_data):
    X, y = reg_data
    distributions = {"lr": [0.001, 0.003, 0.01, 0.03], "dropout": [0.0, 0.1]}

    def search(n_jobs):
        return HalvingRandomSearchCV(
            DeepEnsembleRegressor(**TINY),
            distributions,
            n_candidates=4,
            factor=2,
            resource="n_samples",
            min_resources=100,
            max_resources=400,
            cv=2,
            random_state=0,
            n_jobs=n_jobs,
        )

    local = search(1).fit(X, y)
    with get_task_stream(client) as stream, _dask_backend():
        remote = search(-1).fit(X, y)

    _assert_ran_on_cluster(client, stream, min_tasks=3)  # one Parallel call per iteration at least
    assert local.n_iterations_ == remote.n_iterations_ == 3
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-6
    )
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.predict(X[:20]), local.predict(X[:20]), rtol=1e-6)


# ------------------------------------------------------------------- 3. pickles
def test_pickles_are_small_and_hold_no_device_state(clf_data):
    X, y = clf_data
    unfitted = DeepEnsembleClassifier(**TINY)
    assert len(pickle.dumps(unfitted)) < 5_000

    fitted = DeepEnsembleClassifier(**TINY).fit(X, y)
    blob = pickle.dumps(fitted)
    # About 67 kB on the CPU for 6 features (mostly the quantile tables of the encoding).
    assert len(blob) < 200_000, len(blob)
    # No CUDA device, tensor location or module in it (skorch's attribute names
    # ``cuda_dependent_attributes_`` aside).
    assert re.findall(rb"(?<![_a-z])cuda(?![_a-z])", blob) == []

    loaded = pickle.loads(blob)
    assert loaded.device_ == "cpu"
    assert str(loaded.net_.device) == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


# ------------------------------------------------------ 4. heterogeneous ensemble
def test_ensemble_selection_on_cluster_equals_local(client):
    X, y = load_iris(return_X_y=True)
    pool = [
        ("logreg", LogisticRegression(max_iter=1000)),
        ("deep", DeepEnsembleClassifier(**TINY)),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
    ]

    def selection(n_jobs):
        return EnsembleSelectionClassifier(pool, cv=3, n_jobs=n_jobs, random_state=0)

    local = selection(1).fit(X, y)
    with get_task_stream(client) as stream, _dask_backend():
        remote = selection(-1).fit(X, y)

    _assert_ran_on_cluster(client, stream, min_tasks=2)  # out-of-fold fits, then the refits
    np.testing.assert_array_equal(remote.estimator_names_, local.estimator_names_)
    np.testing.assert_allclose(remote.pool_weights_, local.pool_weights_, rtol=1e-6)
    np.testing.assert_allclose(remote.weights_, local.weights_, rtol=1e-6)
    np.testing.assert_allclose(remote.oof_predictions_, local.oof_predictions_, rtol=1e-6)
    np.testing.assert_allclose(remote.predict_proba(X), local.predict_proba(X), rtol=1e-6)


# ---------------------------------------------------------------- 5. member groups
def test_member_groups_on_cluster_equal_local(client, clf_data):
    X, y = clf_data
    params = {**TINY, "n_members": 4, "n_jobs": 2}

    local = DeepEnsembleClassifier(**params).fit(X, y)  # joblib's default backend (loky)
    with get_task_stream(client) as stream, _dask_backend():
        remote = DeepEnsembleClassifier(**params).fit(X, y)

    _assert_ran_on_cluster(client, stream, min_tasks=1)  # the groups trained on the workers
    assert len(remote.member_groups_) == len(local.member_groups_) == 2
    members = np.sort(np.concatenate(remote.member_groups_))
    np.testing.assert_array_equal(members, np.arange(4))
    for remote_group, local_group in zip(remote.member_groups_, local.member_groups_):
        np.testing.assert_array_equal(remote_group, local_group)
    np.testing.assert_allclose(remote.predict_proba(X), local.predict_proba(X), rtol=1e-6)
    assert remote.predict_proba_members(X[:5]).shape == (4, 5, 2)


# ------------------------------------------------------------ 6. dask-ml Incremental
def test_incremental_partial_fit_on_dask_array(client):
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = make_classification(
        n_samples=600, n_features=6, n_informative=4, class_sep=2.0, random_state=0
    )
    X_dask = da.from_array(X, chunks=(200, X.shape[1]))
    y_dask = da.from_array(y, chunks=200)

    # The chunks in their order, so that a local loop of partial_fit can repeat them.
    inc = wrappers.Incremental(DeepEnsembleClassifier(**TINY), shuffle_blocks=False)
    with get_task_stream(client) as stream:
        inc.fit(X_dask, y_dask, classes=[0, 1])

    _assert_ran_on_cluster(client, stream, min_tasks=3)  # one partial_fit task per chunk
    fitted = inc.estimator_
    assert fitted.__sklearn_is_fitted__()
    np.testing.assert_array_equal(fitted.classes_, [0, 1])
    assert fitted.n_iter_ == 3  # one pass per partial_fit call, one call per chunk
    assert fitted.score(X, y) > 0.8  # chance is 0.5; about 0.96

    # The same chunks in the same order locally give the same model ("with an int
    # random_state, the same sequence of chunks gives the same model"), also when
    # the model travels by pickle between calls, as it does between two workers.
    local, travelled = DeepEnsembleClassifier(**TINY), DeepEnsembleClassifier(**TINY)
    for chunk in np.split(np.arange(len(y)), 3):
        local.partial_fit(X[chunk], y[chunk], classes=[0, 1])
        travelled = pickle.loads(pickle.dumps(travelled))
        travelled.partial_fit(X[chunk], y[chunk], classes=[0, 1])
    np.testing.assert_allclose(travelled.predict_proba(X), local.predict_proba(X), rtol=1e-6)
    np.testing.assert_allclose(fitted.predict_proba(X), local.predict_proba(X), rtol=1e-6)


# ---------------------------------------------------------- 7. dask-ml ParallelPostFit
def _frame_data():
    X, y = make_classification(
        n_samples=300, n_features=4, n_informative=3, n_redundant=0, random_state=0
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    colour = np.where(X[:, 0] + 0.5 * np.random.RandomState(0).randn(300) > 0, "red", "blue")
    colour = colour.astype(object)
    colour[::7] = "green"
    frame["colour"] = pd.Categorical(colour, categories=["blue", "green", "red"])
    return frame, y


def test_parallel_post_fit_on_dask_collections(client, clf_data, reg_data):
    dd = pytest.importorskip("dask.dataframe")
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")

    # A classifier fitted on a frame with a categorical column, on a dask DataFrame.
    frame, y_frame = _frame_data()
    clf_frame = DeepEnsembleClassifier(**TINY).fit(frame, y_frame)
    assert clf_frame.feature_names_in_.tolist() == [*frame.columns]
    ddf = dd.from_pandas(frame, npartitions=3)
    post_frame = wrappers.ParallelPostFit(
        clf_frame,
        predict_meta=np.empty(0, dtype=y_frame.dtype),
        predict_proba_meta=np.empty((0, 2), dtype=np.float64),
    )

    # A classifier and a regressor fitted on arrays, on dask arrays.
    X, y = clf_data
    clf = DeepEnsembleClassifier(**TINY).fit(X, y)
    X_dask = da.from_array(X, chunks=(100, X.shape[1]))
    post_clf = wrappers.ParallelPostFit(clf)
    X_reg, y_reg = reg_data
    reg = DeepEnsembleRegressor(**TINY).fit(X_reg, y_reg)
    X_reg_dask = da.from_array(X_reg, chunks=(150, X_reg.shape[1]))
    post_reg = wrappers.ParallelPostFit(reg)

    with get_task_stream(client) as stream:
        frame_proba = post_frame.predict_proba(ddf).compute()
        frame_pred = post_frame.predict(ddf).compute()
        array_proba = post_clf.predict_proba(X_dask).compute()
        array_pred = post_clf.predict(X_dask).compute()
        reg_pred = post_reg.predict(X_reg_dask).compute()

    _assert_ran_on_cluster(client, stream, min_tasks=3 + 3 + 3 + 3 + 3)  # one task per partition
    np.testing.assert_allclose(np.asarray(frame_proba), clf_frame.predict_proba(frame), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(frame_pred), clf_frame.predict(frame))
    np.testing.assert_allclose(array_proba, clf.predict_proba(X), rtol=1e-6)
    np.testing.assert_array_equal(array_pred, clf.predict(X))
    np.testing.assert_allclose(reg_pred, reg.predict(X_reg), rtol=1e-6)
    assert reg_pred.shape == (len(X_reg),)


# ---------------------------------------------------------------------- 8. Ray
@pytest.fixture(scope="module")
def ray_backend():
    """Ray on this machine (2 CPUs), with its joblib backend registered; shut down after."""
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    with pytest.MonkeyPatch.context() as patch:
        # Ray's driver replaces builtins.print (ray.experimental.tqdm_ray) once it
        # relays worker output, for good; skorch's PrintLog then prints its epoch
        # table whatever ``verbose`` (its sink is no longer ``print``), in this
        # test and every later one. Keep print, and restore it after.
        patch.setenv("RAY_TQDM_PATCH_PRINT", "0")
        patch.setattr(builtins, "print", builtins.print)
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
        register_ray()
        try:
            yield ray
        finally:
            ray.shutdown()


def test_grid_search_on_ray_equals_local(ray_backend, clf_data):
    X, y = clf_data
    grid = {"lr": [0.003, 0.03]}

    def search(n_jobs):
        return GridSearchCV(
            DeepEnsembleClassifier(**TINY), grid, cv=2, scoring="neg_log_loss", n_jobs=n_jobs
        )

    local = search(1).fit(X, y)
    with joblib.parallel_config(backend="ray"):
        remote = search(-1).fit(X, y)

    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-6
    )
    assert remote.best_params_ == local.best_params_


def test_member_groups_on_ray_equal_local(ray_backend, clf_data):
    X, y = clf_data
    params = {**TINY, "n_members": 4, "n_jobs": 2}
    local = DeepEnsembleClassifier(**params).fit(X, y)
    with joblib.parallel_config(backend="ray"):
        remote = DeepEnsembleClassifier(**params).fit(X, y)
    assert len(remote.member_groups_) == 2
    np.testing.assert_allclose(
        remote.predict_proba_members(X), local.predict_proba_members(X), rtol=1e-6
    )
