"""Scale-out with Dask on one small CPU machine: search, member groups, partial_fit, prediction.

Four parts (``--part``), each measured on the machine it runs on (the
figures in ``doc/benchmarks.md`` come from a 2-core machine), every Dask
cluster a ``LocalCluster(processes=True, threads_per_worker=1)`` with
``torch.set_num_threads(1)`` in each worker (Dask already sets
``OMP_NUM_THREADS=1`` there):

1. ``search``: ``GridSearchCV`` over 8 configurations of
   ``DeepEnsembleClassifier`` (``lr`` × ``hidden_layer_sizes``, ``cv=2``:
   16 fits of a fixed number of epochs, early stopping off;
   ``scoring='neg_log_loss'``, ``refit=False``) on training rows of
   ``adult``, on 1 and on 2 workers: on 2, ``n_jobs=-1`` inside
   ``joblib.parallel_config(backend='dask')``; on 1, the whole search with
   ``n_jobs=1`` as one task on the worker (joblib's Dask backend counts the
   cluster's threads as ``n_jobs`` and runs ``n_jobs=1`` in the calling
   process, so on one 1-thread worker the search never reaches the cluster).
   Each cluster's start-up and the warm-up of its workers (torch and skens
   imported, a tiny fit) are timed apart; the search runs
   ``--repeats`` times (default twice) on each and the best time counts for
   the speedup (every run is reported). Reported too: the largest absolute
   difference of ``cv_results_['mean_test_score']`` between the two clusters
   (the fits are seeded and single-threaded, so it should be 0).
2. ``groups``: one fit of ``DeepEnsembleClassifier(n_members=8,
   hidden_layer_sizes=(256, 256), max_epochs=E, early_stopping=False)``
   with ``n_jobs=None`` in this process held to one thread
   (``torch.set_num_threads(1)`` and ``threadpoolctl.threadpool_limits(1)``:
   1 core), against ``n_jobs=2`` (two member groups of 4, 2 cores) under
   joblib's default loky backend (its workers get ``OMP_NUM_THREADS=1``
   from joblib; this process stays at one thread) and under the Dask
   backend on a 2-worker cluster; for reference also ``n_jobs=None`` with
   2 torch threads (2 cores, intra-op). Each is fitted ``--repeats`` times
   (default twice) after a warm-up fit (so the loky workers exist and have imported torch);
   the best time counts. Test log loss of each (the groups have their own
   seeds: close, not identical).
3. ``incremental``: ``partial_fit`` over the training rows in 10 chunks,
   one call per chunk, for 1 to ``--passes`` passes (default 10; the test
   log loss after every pass), with the encoding learned on the first chunk
   (``classes=`` on the first call) and, second
   curve, with ``preprocessor=`` a ``TabularPreprocessor`` fitted on all
   training rows; against ``fit`` on the same rows at the defaults (early
   stopping on, so it trains on 80% of them). Same estimator settings for
   both (the defaults, ``random_state=0``), on a public table
   (``benchmarks/datasets.py``) and an external one
   (``benchmarks/external_datasets.py``), at one torch thread. Reported: the
   ratio of the log losses and the first pass within 2% of ``fit``'s.
4. ``predict``: ``dask_ml.wrappers.ParallelPostFit`` around a
   ``DeepEnsembleClassifier(n_members=8, hidden_layer_sizes=(64, 64))``
   fitted on 5,000 rows of ``make_classification(n_features=10)``, over a
   float64 Dask array ``da.random.RandomState(0).normal(size=(rows, 10),
   chunks=(chunk, 10))`` on a 2-worker cluster (``memory_limit`` per
   worker); the result is reduced on the cluster (the mean of
   ``predict_proba`` per class) so that only a small array comes back.
   Reported: wall time and rows/s (and the same reduction without the model:
   generating the data alone), the chunk size, and each worker's memory:
   RSS before the run, the peak RSS sampled with ``psutil`` from this
   process every 0.1 s, and the kernel's high-water mark (``VmHWM``, reset
   in every worker just before the run), also in units of one chunk's bytes.
   It runs once unless ``--repeats`` is given.

Parts 2 and 3 need ``n_jobs`` and ``partial_fit`` on the estimator; without
them they are recorded as not available. All parts write one JSON file
(``--output``; a run of some parts keeps the others' saved records), with the
machine (CPU, ``os.cpu_count()``, load average at the start, versions).

    python benchmarks/bench_scale_out.py --write-doc               # all parts, ~12 min on 2 cores
    python benchmarks/bench_scale_out.py --part predict --write-doc  # one part, the others kept
    python benchmarks/bench_scale_out.py --render-only --write-doc   # the doc from saved results
    python benchmarks/bench_scale_out.py --quick                     # smoke test (a temp file)
"""

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))

from benchutil import capped_split  # noqa: E402

PARTS = ("search", "groups", "incremental", "predict")
SECTION = "scale-out"
MIB = 2**20

# Sizes of the full run and of --quick (the smoke test).
FULL = dict(
    search=dict(dataset="adult", rows=4000, epochs=30, lrs=[3e-4, 1e-3, 3e-3, 1e-2],
                hidden=[(128, 128), (192, 192)], cv=2),
    groups=dict(dataset="adult", rows=4000, test_rows=4000, epochs=20, hidden=(256, 256),
                n_members=8),
    incremental=dict(datasets=["adult", "ext:hpc_jobs"], rows=4000, test_rows=4000, chunks=10,
                     passes=10),
    predict=dict(rows=10_000_000, chunk=250_000, n_features=10, fit_rows=5000,
                 hidden=(64, 64), n_members=8, memory_limit="4GiB"),
)
QUICK = dict(
    search=dict(dataset="adult", rows=1000, epochs=3, lrs=[3e-4, 1e-3, 3e-3, 1e-2],
                hidden=[(32, 32), (64, 64)], cv=2),
    groups=dict(dataset="adult", rows=1000, test_rows=1000, epochs=3, hidden=(64, 64),
                n_members=8),
    incremental=dict(datasets=["adult", "ext:hpc_jobs"], rows=1000, test_rows=1000, chunks=10,
                     passes=3),
    predict=dict(rows=1_000_000, chunk=250_000, n_features=10, fit_rows=5000,
                 hidden=(64, 64), n_members=8, memory_limit="4GiB", max_epochs=20),
)


# ------------------------------------------------------------------ helpers
def _load_average():
    """The 1, 5 and 15-minute load averages (other work on the machine skews the timings)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine():
    import dask
    import distributed
    import sklearn
    import torch

    import skens

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import dask_ml

        dask_ml_version = dask_ml.__version__
    except ImportError:
        dask_ml_version = None
    return dict(
        cpu=cpu, cpu_count=os.cpu_count(), load_average_at_start=_load_average(),
        python=platform.python_version(), torch=torch.__version__, dask=dask.__version__,
        distributed=distributed.__version__, dask_ml=dask_ml_version,
        sklearn=sklearn.__version__, skens=getattr(skens, "__version__", None),
    )


def _warm_worker():
    """In a Dask worker: one torch thread, torch and skens imported, a tiny fit run."""
    import time

    start = time.perf_counter()
    import numpy as np
    import pandas as pd
    import torch
    from sklearn.metrics import log_loss

    import skens

    torch.set_num_threads(1)
    rng = np.random.RandomState(0)
    # A numeric and a categorical column, fit, predict_proba and a score: the lazy paths.
    X = pd.DataFrame(dict(a=rng.normal(size=200), b=rng.choice(["x", "y", "z"], 200)))
    y = rng.randint(0, 2, 200)
    model = skens.DeepEnsembleClassifier(n_members=2, hidden_layer_sizes=(8,), max_epochs=2,
                                         random_state=0, device="cpu").fit(X, y)
    log_loss(y, model.predict_proba(X))
    return dict(pid=os.getpid(), torch_threads=torch.get_num_threads(),
                omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
                seconds=time.perf_counter() - start)


# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off
# glibc's dynamic mmap threshold: every allocation above 128 KiB is then an
# mmap/munmap pair, and torch training runs about 2x slower (measured here: a
# 4-member 256x256 fit, 2.2 s against 5.0 s). The scaling-out guide recommends
# MALLOC_MMAP_THRESHOLD_ for the workers, and turning off the workers' statistical
# profiler (it samples the task thread's stack every 10 ms, under the GIL, which a
# training loop's Python steps feel); ``tuned=True`` applies both.
TUNED_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": 16 * 2**20}
TUNED_CONFIG = {"distributed.worker.profile.enabled": False}


def start_cluster(n_workers, memory_limit="auto", tuned=False):
    """``(cluster, client, info)``: a process-based LocalCluster, started and warmed up."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in TUNED_ENVIRON.items()}
    with dask.config.set({**environ, **TUNED_CONFIG} if tuned else {}):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               memory_limit=memory_limit, dashboard_address=":0",
                               silence_logs=logging.ERROR)
    client = Client(cluster)
    client.wait_for_workers(n_workers)
    startup = time.perf_counter() - start
    start = time.perf_counter()
    workers = client.run(_warm_worker)
    warmup = time.perf_counter() - start
    info = dict(
        n_workers=n_workers, startup_seconds=startup, warmup_seconds=warmup,
        worker_torch_threads=sorted(w["torch_threads"] for w in workers.values()),
        worker_omp_num_threads=sorted(str(w["omp_num_threads"]) for w in workers.values()),
    )
    return cluster, client, info


def stop_cluster(cluster, client):
    client.close()
    cluster.close()


class _ThreadLimit:
    """Hold this process to ``n`` torch (and OpenMP/BLAS) threads inside the block."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        import torch
        from threadpoolctl import threadpool_limits

        self.before = torch.get_num_threads()
        torch.set_num_threads(self.n)
        self.limits = threadpool_limits(self.n)
        return self

    def __exit__(self, *exc):
        import torch

        self.limits.restore_original_limits()
        torch.set_num_threads(self.before)


def _split(name, rows, test_rows, seed=0):
    external = name.startswith("ext:")
    table = name[4:] if external else name
    X_train, y_train, X_test, y_test, task = capped_split(
        table, seed, external=external, max_train=rows, max_test=test_rows
    )
    return X_train, y_train, X_test, y_test, task


def _log_loss(model, X, y):
    from sklearn.metrics import log_loss

    return float(log_loss(y, model.predict_proba(X), labels=model.classes_))


# ------------------------------------------------------------------ part 1: search
def _search_in_worker(search, X, y):
    """In a Dask worker: ``search.fit(X, y)``; the figures of its ``cv_results_``."""
    search.fit(X, y)
    keys = ("mean_test_score", "mean_fit_time", "mean_score_time", "params")
    return {key: search.cv_results_[key] for key in keys}


def run_search(cfg, repeats):
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV

    import skens

    X, y, _, _, _ = _split(cfg["dataset"], cfg["rows"], 1)
    estimator = skens.DeepEnsembleClassifier(max_epochs=cfg["epochs"], early_stopping=False,
                                             random_state=0, device="cpu")
    grid = dict(lr=cfg["lrs"], hidden_layer_sizes=[tuple(h) for h in cfg["hidden"]])
    record = dict(settings=dict(cfg, n_configurations=len(cfg["lrs"]) * len(cfg["hidden"]),
                                n_train=len(y), repeats=repeats), clusters=[])
    scores = {}
    for n_workers in (1, 2):
        cluster, client, info = start_cluster(n_workers)
        try:
            info["seconds"] = []
            # joblib's Dask backend takes n_jobs as the cluster's thread count whatever is
            # asked, and runs n_jobs=1 in the calling process: on one 1-thread worker the
            # search would never reach the cluster. There, the whole search (n_jobs=1, its
            # fits one after the other) is one task on the worker instead.
            info["mode"] = ("whole search as one task, GridSearchCV(n_jobs=1) in the worker"
                            if n_workers == 1 else "joblib Dask backend, GridSearchCV(n_jobs=-1)")
            for _ in range(repeats):
                search = GridSearchCV(estimator, grid, cv=cfg["cv"], scoring="neg_log_loss",
                                      refit=False, n_jobs=1 if n_workers == 1 else -1,
                                      error_score="raise")
                start, cpu = time.perf_counter(), time.process_time()
                with _ThreadLimit(1):
                    if n_workers == 1:
                        res = client.submit(_search_in_worker, search, X, y, pure=False).result()
                    else:
                        with parallel_config(backend="dask"):
                            search.fit(X, y)
                        res = search.cv_results_
                info["seconds"].append(time.perf_counter() - start)
                # This process's CPU time: small when the fits ran on the workers.
                info.setdefault("client_cpu_seconds", []).append(time.process_time() - cpu)
                info.setdefault("mean_test_score", [float(s) for s in res["mean_test_score"]])
                info["repeat_max_abs_diff"] = max(
                    info.get("repeat_max_abs_diff", 0.0),
                    float(np.max(np.abs(res["mean_test_score"] - info["mean_test_score"]))),
                )
                # The fits' own seconds, summed: the serial work of the search.
                info.setdefault("sum_fit_seconds", []).append(
                    float(np.sum(res["mean_fit_time"] + res["mean_score_time"]) * cfg["cv"])
                )
            info["best_seconds"] = min(info["seconds"])
            info["params"] = [
                dict(lr=p["lr"], hidden_layer_sizes=list(p["hidden_layer_sizes"]))
                for p in res["params"]
            ]
            scores[n_workers] = np.asarray(info["mean_test_score"])
        finally:
            stop_cluster(cluster, client)
        record["clusters"].append(info)
        print(f"  search, {n_workers} worker(s): {info['seconds']} s "
              f"(start-up {info['startup_seconds']:.1f} s, warm-up {info['warmup_seconds']:.1f} s, "
              f"worker torch threads {info['worker_torch_threads']})", flush=True)
    one, two = record["clusters"]
    record["speedup_best"] = one["best_seconds"] / two["best_seconds"]
    record["speedup_first_run"] = one["seconds"][0] / two["seconds"][0]
    record["max_abs_diff_mean_test_score"] = float(np.max(np.abs(scores[1] - scores[2])))
    return record


# ------------------------------------------------------------------ part 2: member groups
def _torch_threads():
    import torch

    return torch.get_num_threads()


def run_groups(cfg, repeats):
    import skens

    if "n_jobs" not in skens.DeepEnsembleClassifier().get_params():
        return dict(available=False, reason="DeepEnsembleClassifier has no n_jobs parameter")
    from joblib import Parallel, delayed, parallel_config

    X, y, X_test, y_test, _ = _split(cfg["dataset"], cfg["rows"], cfg["test_rows"])
    small = (X.iloc[:200], y[:200])

    def make(n_jobs, max_epochs=cfg["epochs"]):
        return skens.DeepEnsembleClassifier(
            n_members=cfg["n_members"], hidden_layer_sizes=tuple(cfg["hidden"]),
            max_epochs=max_epochs, early_stopping=False, random_state=0, device="cpu",
            n_jobs=n_jobs,
        )

    def measure(label, n_jobs, cores, setup):
        row = dict(label=label, n_jobs=n_jobs, cores=cores, **setup)
        make(n_jobs, max_epochs=1).fit(*small)  # warm-up: workers started, imports done
        row["seconds"] = []
        for _ in range(repeats):
            model = make(n_jobs)
            start = time.perf_counter()
            model.fit(X, y)
            row["seconds"].append(time.perf_counter() - start)
        row["best_seconds"] = min(row["seconds"])
        row["test_log_loss"] = _log_loss(model, X_test, y_test)
        groups = getattr(model, "member_groups_", None)
        row["member_groups"] = None if groups is None else [len(g) for g in groups]
        print(f"  groups, {label}: {row['seconds']} s, log loss {row['test_log_loss']:.4f}, "
              f"groups {row['member_groups']}", flush=True)
        return row

    rows = []
    with _ThreadLimit(1):
        rows.append(measure("n_jobs=None, 1 thread", None, 1, {}))
    with _ThreadLimit(2):
        rows.append(measure("n_jobs=None, 2 threads (reference)", None, 2, {}))
    with _ThreadLimit(1), parallel_config(backend="loky"):
        threads = Parallel(n_jobs=2)(delayed(_torch_threads)() for _ in range(4))
        setup = dict(worker_torch_threads=sorted(set(threads)))
        rows.append(measure("n_jobs=2, loky", 2, 2, setup))
    for tuned in (False, True):
        cluster, client, info = start_cluster(2, tuned=tuned)
        label = "n_jobs=2, dask" + (" (tuned: MALLOC_MMAP_THRESHOLD_, no profiler)" if tuned else
                                     " (default worker environment)")
        try:
            with _ThreadLimit(1), parallel_config(backend="dask"):
                rows.append(measure(label, 2, 2, dict(
                    worker_torch_threads=info["worker_torch_threads"],
                    startup_seconds=info["startup_seconds"],
                    warmup_seconds=info["warmup_seconds"],
                )))
        finally:
            stop_cluster(cluster, client)
    base = rows[0]["best_seconds"]
    for row in rows:
        row["speedup"] = base / row["best_seconds"]
    return dict(available=True, settings=dict(cfg, n_train=len(y), n_test=len(y_test),
                                              repeats=repeats), rows=rows)


# ------------------------------------------------------------------ part 3: partial_fit
def run_incremental(cfg, repeats):
    import skens

    if not hasattr(skens.DeepEnsembleClassifier(), "partial_fit"):
        return dict(available=False, reason="DeepEnsembleClassifier has no partial_fit")
    tables = []
    # One thread: what is compared is the log loss; the times only say what a pass costs (two
    # torch threads on a machine others share can be many times slower than one).
    with _ThreadLimit(1):
        for name in cfg["datasets"]:
            tables.append(_incremental_table(name, cfg))
    return dict(available=True, settings=dict(cfg), tables=tables)


def _incremental_table(name, cfg):
    import skens
    from skens.preprocessing import TabularPreprocessor

    X, y, X_test, y_test, task = _split(name, cfg["rows"], cfg["test_rows"])
    classes = np.unique(y)
    table = dict(dataset=name, external=name.startswith("ext:"), task=task, n_train=len(y),
                 n_test=len(y_test), n_classes=len(classes))
    model = skens.DeepEnsembleClassifier(random_state=0, device="cpu")
    start = time.perf_counter()
    model.fit(X, y)
    table["fit"] = dict(seconds=time.perf_counter() - start, epochs=int(model.n_iter_),
                        test_log_loss=_log_loss(model, X_test, y_test))
    order = np.random.RandomState(0).permutation(len(y))
    chunks = np.array_split(order, cfg["chunks"])
    preprocessor = TabularPreprocessor(random_state=0).fit(X)
    variants = [("own_encoding", {}), ("preprocessor", dict(preprocessor=preprocessor))]
    for variant, kwargs in variants:
        model = skens.DeepEnsembleClassifier(random_state=0, device="cpu")
        curve, elapsed = [], 0.0
        for p in range(1, cfg["passes"] + 1):
            start = time.perf_counter()
            for idx in chunks:
                # classes= and preprocessor= on the first call; later calls keep them.
                first = dict(classes=classes, **kwargs) if p == 1 and idx is chunks[0] else {}
                model.partial_fit(X.iloc[idx], y[idx], **first)
            elapsed += time.perf_counter() - start
            loss = _log_loss(model, X_test, y_test)
            curve.append(dict(passes=p, test_log_loss=loss, seconds=elapsed,
                              ratio=loss / table["fit"]["test_log_loss"]))
        within = [c["passes"] for c in curve if c["ratio"] <= 1.02]
        table[variant] = dict(curve=curve, first_pass_within_2pct=within[0] if within else None)
    print(f"  incremental, {name}: fit {table['fit']['test_log_loss']:.4f}; partial_fit "
          + ", ".join(f"{c['test_log_loss']:.4f}" for c in table["own_encoding"]["curve"]),
          flush=True)
    return table


# ------------------------------------------------------------------ part 4: prediction
def _reset_hwm():
    """In a worker: reset the kernel's peak RSS (VmHWM) to the current RSS; whether it worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kib(field):
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _worker_memory():
    """In a worker: ``(RSS, VmHWM)`` in bytes."""
    rss, hwm = _status_kib("VmRSS"), _status_kib("VmHWM")
    return dict(rss=None if rss is None else rss * 1024, hwm=None if hwm is None else hwm * 1024)


class _RssSampler:
    """Peak RSS of some processes, sampled from a background thread every ``interval`` s."""

    def __init__(self, pids, interval=0.1):
        import psutil

        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = {pid: 0 for pid in pids}
        self.interval = interval
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid, proc in self.procs.items():
                try:
                    self.peak[pid] = max(self.peak[pid], proc.memory_info().rss)
                except Exception:  # a worker that died or restarted
                    pass
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_predict(cfg, repeats):
    import dask.array as da
    from dask_ml.wrappers import ParallelPostFit
    from sklearn.datasets import make_classification

    import skens

    n_features = cfg["n_features"]
    X_fit, y_fit = make_classification(n_samples=cfg["fit_rows"], n_features=n_features,
                                       n_informative=5, random_state=0)
    model = skens.DeepEnsembleClassifier(
        n_members=cfg["n_members"], hidden_layer_sizes=tuple(cfg["hidden"]),
        max_epochs=cfg.get("max_epochs", 200), random_state=0, device="cpu",
    )
    start = time.perf_counter()
    with _ThreadLimit(1):
        model.fit(X_fit, y_fit)
    fit_seconds = time.perf_counter() - start
    n_classes = len(model.classes_)
    meta_dtype = model.predict_proba(X_fit[:4]).dtype
    wrapped = ParallelPostFit(estimator=model,
                              predict_proba_meta=np.empty((0, n_classes), dtype=meta_dtype))
    X = da.random.RandomState(0).normal(size=(cfg["rows"], n_features),
                                        chunks=(cfg["chunk"], n_features))
    chunk_bytes = cfg["chunk"] * n_features * X.dtype.itemsize
    record = dict(settings=dict(cfg, dtype=str(X.dtype), chunk_bytes=chunk_bytes,
                                n_chunks=X.numblocks[0], proba_dtype=str(meta_dtype),
                                model_fit_seconds=fit_seconds, model_epochs=int(model.n_iter_)))
    cluster, client, info = start_cluster(2, memory_limit=cfg["memory_limit"])
    try:
        record["cluster"] = info
        pids = client.run(os.getpid)
        start = time.perf_counter()
        X.mean(axis=0).compute()
        record["data_only_seconds"] = time.perf_counter() - start
        runs = []
        for _ in range(repeats):
            client.run(_reset_hwm)
            before = client.run(_worker_memory)
            with _RssSampler(pids.values()) as sampler:
                start = time.perf_counter()
                mean_proba = wrapped.predict_proba(X).mean(axis=0).compute()
                seconds = time.perf_counter() - start
            after = client.run(_worker_memory)
            workers = []
            for addr, pid in sorted(pids.items()):
                base = before[addr]["rss"]
                peak_sampled = sampler.peak[pid]
                hwm = after[addr]["hwm"]
                workers.append(dict(
                    pid=pid, rss_before=base, peak_rss_sampled=peak_sampled, vm_hwm=hwm,
                    rss_after=after[addr]["rss"],
                    peak_above_before_chunks=(max(peak_sampled, hwm or 0) - base) / chunk_bytes,
                ))
            runs.append(dict(seconds=seconds, rows_per_second=cfg["rows"] / seconds,
                             samples=sampler.samples, workers=workers,
                             mean_proba=[float(v) for v in mean_proba]))
            print(f"  predict: {cfg['rows']:,} rows in {seconds:.1f} s "
                  f"({cfg['rows'] / seconds:,.0f} rows/s); peak RSS per worker "
                  + ", ".join(f"{max(w['peak_rss_sampled'], w['vm_hwm'] or 0) / MIB:.0f} MiB"
                              for w in workers), flush=True)
        record["runs"] = runs
    finally:
        stop_cluster(cluster, client)
    return record


RUNNERS = dict(search=run_search, groups=run_groups, incremental=run_incremental,
               predict=run_predict)


# ------------------------------------------------------------------ rendering
def _times(n):
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _mib(value):
    return "–" if value is None else f"{value / MIB:.0f}"


def _s(values):
    return ", ".join(f"{v:.1f}" for v in values)


def _md_search(r):
    st = r["settings"]
    lines = [
        "### Hyperparameter search on 1 and 2 Dask workers",
        "",
        f"`GridSearchCV(DeepEnsembleClassifier(max_epochs={st['epochs']}, early_stopping=False, "
        f"random_state=0), cv={st['cv']}, scoring='neg_log_loss', refit=False)` over "
        f"`lr` ∈ {st['lrs']} × `hidden_layer_sizes` ∈ "
        f"{[tuple(h) for h in st['hidden']]} ({st['n_configurations']} configurations, "
        f"{st['n_configurations'] * st['cv']} fits) on {st['n_train']:,} training rows of "
        f"`{st['dataset']}`. 2 workers: `n_jobs=-1` inside "
        "`joblib.parallel_config(backend='dask')`. 1 worker: the whole search with "
        "`n_jobs=1` submitted as one task to the worker (joblib's Dask backend takes the "
        "cluster's thread count as `n_jobs`, whatever is asked, and runs `n_jobs=1` in the "
        "calling process: on one 1-thread worker the search would not reach the cluster). "
        "Start-up: "
        "`LocalCluster` and `Client` until the workers are up; warm-up: torch and skens "
        "imported and a tiny fit in every worker. Each search ran "
        f"{_times(st['repeats'])} per cluster; the best run counts for the speedup. Fit time "
        "summed: the fits' own seconds (`mean_fit_time + mean_score_time` × folds, per run); "
        "client CPU: the calling process's CPU seconds during the search (small: the fits ran "
        "on the workers).",
        "",
        "| workers | start-up s | warm-up s | worker torch threads | search s (each run) | "
        "best s | speedup | fit time summed s | client CPU s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base = r["clusters"][0]["best_seconds"]
    for c in r["clusters"]:
        lines.append(
            f"| {c['n_workers']} | {c['startup_seconds']:.1f} | {c['warmup_seconds']:.1f} | "
            f"{c['worker_torch_threads']} | {_s(c['seconds'])} | {c['best_seconds']:.1f} | "
            f"{base / c['best_seconds']:.2f} × | {_s(c['sum_fit_seconds'])} | "
            f"{_s(c.get('client_cpu_seconds', []))} |"
        )
    lines += [
        "",
        f"Speedup of 2 workers over 1: **{r['speedup_best']:.2f} ×** (best runs; first runs "
        f"{r['speedup_first_run']:.2f} ×; target ≥ 1.6 ×). Largest absolute difference of "
        f"`cv_results_['mean_test_score']` between the clusters: "
        f"**{r['max_abs_diff_mean_test_score']:.3g}**"
        + (" (identical)" if r["max_abs_diff_mean_test_score"] == 0 else "")
        + "; between the runs on one cluster: "
        + ", ".join(f"{c['repeat_max_abs_diff']:.3g}" for c in r["clusters"]) + ".",
    ]
    return lines


def _md_groups(r):
    lines = ["### Member groups: `n_jobs=2` against one process", ""]
    if not r.get("available"):
        return lines + [f"Not available: {r.get('reason')}."]
    st = r["settings"]
    lines += [
        f"`DeepEnsembleClassifier(n_members={st['n_members']}, hidden_layer_sizes="
        f"{tuple(st['hidden'])}, max_epochs={st['epochs']}, early_stopping=False, "
        f"random_state=0)` on {st['n_train']:,} training rows of `{st['dataset']}` (test log "
        f"loss on {st['n_test']:,} held-out rows). 1 core: `n_jobs=None` in this process held "
        "to one thread (`torch.set_num_threads(1)` and `threadpoolctl.threadpool_limits(1)`); "
        "2 cores: `n_jobs=2`, two member groups in two single-threaded workers (loky: "
        "joblib's local processes; dask: a 2-worker `LocalCluster`, `threads_per_worker=1`; "
        "once with Dask's default worker environment, once tuned as the scaling-out guide "
        "recommends: `MALLOC_MMAP_THRESHOLD_=16777216` in the workers' environment, through "
        "`distributed.nanny.pre-spawn-environ`, and `distributed.worker.profile.enabled: "
        "False`), the calling process at one thread; the 2-thread row is `n_jobs=None` with "
        f"2 torch threads (intra-op parallelism), for reference. Each fitted "
        f"{_times(st['repeats'])} after a warm-up fit; the best counts. Dask's nanny starts "
        "its workers with `MALLOC_TRIM_THRESHOLD_=65536`, which turns glibc's dynamic mmap "
        "threshold off: every allocation above 128 KiB becomes an mmap/munmap pair, and "
        "training runs about twice as slowly (measured apart: a 4-member 256×256 fit, 10 "
        "epochs on 4,000 rows of `make_classification`, one thread, alone in a process: "
        "2.2 s; 5.0 s with that variable; 2.3 s with `MALLOC_MMAP_THRESHOLD_` set as well).",
        "",
        "| configuration | cores | fit s (each run) | best s | speedup over 1 core | "
        "test log loss | members per group |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        groups = row["member_groups"]
        lines.append(
            f"| {row['label']} | {row['cores']} | {_s(row['seconds'])} | "
            f"{row['best_seconds']:.1f} | {row['speedup']:.2f} × | {row['test_log_loss']:.4f} | "
            f"{'–' if groups is None else '+'.join(map(str, groups))} |"
        )
    notes = [f"{row['label']}: worker torch threads {row['worker_torch_threads']}"
             for row in r["rows"] if "worker_torch_threads" in row]
    dask_row = [row for row in r["rows"] if "startup_seconds" in row]
    if dask_row:
        notes.append(f"dask cluster start-up {dask_row[0]['startup_seconds']:.1f} s, warm-up "
                     f"{dask_row[0]['warmup_seconds']:.1f} s (not in the fit times)")
    lines += ["", "Target: ≥ 1.6 × with 2 cores. " + "; ".join(notes) + "."]
    return lines


def _md_incremental(r):
    if not r.get("available"):
        return ["### `partial_fit` over chunks against `fit`", "",
                f"Not available: {r.get('reason')}."]
    st = r["settings"]
    lines = [f"### `partial_fit` over {st['chunks']} chunks against `fit`", ""]
    lines += [
        f"The training rows (at most {st['rows']:,}; the saved seed-0 split of a public table, "
        f"a 75/25 split of an external one) shuffled and cut into {st['chunks']} chunks; one "
        "pass is one `partial_fit` call per chunk (one epoch over its rows); the first call "
        "gets `classes=` (all the training labels). *Own encoding*: learned by the first "
        "call, on the first chunk; *preprocessor*: the first call also gets "
        "`preprocessor=TabularPreprocessor(random_state=0)` fitted on all the training rows. "
        "`fit`: the same estimator "
        "(`DeepEnsembleClassifier(random_state=0)`, the defaults) on the same rows, early "
        "stopping on (it trains on 80% of them). Test log loss; ratio = partial_fit / fit. "
        "Everything at one torch thread (the times say what a pass costs; the comparison is "
        "of the losses).",
    ]
    for t in r["tables"]:
        kind = "external" if t["external"] else "public"
        name = t["dataset"].removeprefix("ext:")
        fit = t["fit"]
        lines += [
            "",
            f"**{name}** ({kind}, {t['task']}, {t['n_train']:,} training and {t['n_test']:,} "
            f"test rows): `fit` log loss **{fit['test_log_loss']:.4f}** ({fit['epochs']} epochs, "
            f"{fit['seconds']:.1f} s).",
            "",
            "| passes | own encoding: log loss | ratio | preprocessor: log loss | ratio | "
            "seconds (own, cumulative) |",
            "|---|---|---|---|---|---|",
        ]
        for own, pre in zip(t["own_encoding"]["curve"], t["preprocessor"]["curve"]):
            lines.append(
                f"| {own['passes']} | {own['test_log_loss']:.4f} | {own['ratio']:.3f} | "
                f"{pre['test_log_loss']:.4f} | {pre['ratio']:.3f} | {own['seconds']:.1f} |"
            )
        first = [t[v]["first_pass_within_2pct"] for v in ("own_encoding", "preprocessor")]
        lines += ["", "First pass within 2% of `fit`'s log loss: own encoding "
                  f"{first[0] or 'none'}, preprocessor {first[1] or 'none'}."]
    return lines


def _md_predict(r):
    st = r["settings"]
    c = r["cluster"]
    lines = [
        "### Prediction over a Dask array with `ParallelPostFit`",
        "",
        f"`ParallelPostFit(DeepEnsembleClassifier(n_members={st['n_members']}, "
        f"hidden_layer_sizes={tuple(st['hidden'])}, random_state=0))`, the model fitted on "
        f"{st['fit_rows']:,} rows of `make_classification(n_features={st['n_features']})` "
        f"({st['model_epochs']} epochs), then `predict_proba(X).mean(axis=0).compute()` with "
        f"`X = da.random.RandomState(0).normal(size=({st['rows']:,}, {st['n_features']}), "
        f"chunks=({st['chunk']:,}, {st['n_features']}))` ({st['dtype']}; {st['n_chunks']} "
        f"chunks of {st['chunk_bytes'] / MIB:.1f} MiB; probabilities {st['proba_dtype']}) on a "
        f"2-worker `LocalCluster(processes=True, threads_per_worker=1, "
        f"memory_limit='{st['memory_limit']}')` (start-up {c['startup_seconds']:.1f} s, "
        f"warm-up {c['warmup_seconds']:.1f} s). Generating and reducing the data alone takes "
        f"{r['data_only_seconds']:.1f} s. Memory per worker: RSS before the run, the peak RSS "
        "sampled every 0.1 s with psutil from the client's process, and the kernel's "
        "high-water mark `VmHWM` (reset in each worker before the run); peak above before, "
        "in chunks, uses the larger of the two peaks.",
        "",
        "| run | seconds | rows/s | worker | RSS before MiB | peak RSS sampled MiB | "
        "VmHWM MiB | peak above before MiB | … in chunks |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, run in enumerate(r["runs"], 1):
        for j, w in enumerate(run["workers"]):
            peak = max(w["peak_rss_sampled"], w["vm_hwm"] or 0)
            head = (f"| {i} | {run['seconds']:.1f} | {run['rows_per_second']:,.0f} "
                    if j == 0 else "| | | ")
            lines.append(
                head + f"| {j + 1} | {w['rss_before'] / MIB:.0f} | "
                f"{w['peak_rss_sampled'] / MIB:.0f} | "
                f"{_mib(w['vm_hwm'])} | "
                f"{(peak - w['rss_before']) / MIB:.0f} | {w['peak_above_before_chunks']:.1f} |"
            )
    return lines


RENDERERS = dict(search=_md_search, groups=_md_groups, incremental=_md_incremental,
                 predict=_md_predict)


def to_markdown(results):
    m = results["machine"]
    lines = [
        f"Machine: {m['cpu']}, `os.cpu_count()` = {m['cpu_count']} (load average at the start "
        f"{m['load_average_at_start']}); python {m['python']}, torch {m['torch']}, dask "
        f"{m['dask']}, distributed {m['distributed']}, dask-ml {m['dask_ml']}, scikit-learn "
        f"{m['sklearn']}.",
    ]
    commands = []
    for part in PARTS:
        record = results["parts"].get(part)
        if record is None:
            continue
        lines.append("")
        if record.get("error"):
            lines += [f"### {part}", "", f"⚠ Failed: {record['error']}"]
        else:
            lines += RENDERERS[part](record)
        if record.get("quick"):
            lines += ["", "⚠ A `--quick` smoke run: sizes too small for the figures to mean much."]
        lines += ["", f"Part time: {record.get('part_seconds', float('nan')):.0f} s; load "
                  f"average (1, 5, 15 min) before {record.get('load_average_before')}, after "
                  f"{record.get('load_average_after')}."]
        if record.get("command") and record["command"] not in commands:
            commands.append(record["command"])
    lines += ["", "Reproduce: " + "; ".join(f"`{c}`" for c in commands)]
    return "\n".join(lines)


def write_doc(path, body):
    """Rewrite section ``scale-out`` of ``path``, appending it (with a heading) if new."""
    from docsection import replace_section

    path = Path(path)
    text = path.read_text() if path.exists() else ""
    if f"<!-- {SECTION}:begin -->" not in text:
        heading = (
            "\n## Scale-out (Dask)\n\n"
            "`benchmarks/bench_scale_out.py`: a hyperparameter search on a Dask cluster, member "
            "groups (`n_jobs`), `partial_fit` over chunks and prediction over a Dask array with "
            "`dask_ml.wrappers.ParallelPostFit`, on one small CPU machine. The script rewrites "
            "the section below.\n"
        )
        path.write_text(text.rstrip("\n") + "\n" + heading)
    replace_section(path, SECTION, "\n" + body + "\n")


# ------------------------------------------------------------------ main
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", default="all", choices=("all",) + PARTS)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: tiny sizes, results in a temporary file by default")
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs of each timed configuration (default 2, for predict 1; "
                        "1 with --quick)")
    parser.add_argument("--passes", type=int, default=None,
                        help="incremental: most passes of partial_fit over the chunks "
                        "(default 10; 3 with --quick)")
    parser.add_argument("--output", type=Path, default=None, help="JSON results")
    parser.add_argument("--render-only", action="store_true",
                        help="run nothing: render the saved results of --output")
    parser.add_argument("--write-doc", action="store_true", help="rewrite the doc section")
    parser.add_argument("--doc", type=Path, default=ROOT / "doc" / "benchmarks.md")
    args = parser.parse_args()
    if args.output is None:
        args.output = (Path(tempfile.gettempdir()) / "bench_scale_out_quick.json" if args.quick
                       else ROOT / "benchmarks" / "results" / "bench_scale_out.json")
    results = dict(machine=None, parts={})
    if args.output.exists():
        results = json.loads(args.output.read_text())
    if not args.render_only:
        warnings.filterwarnings("ignore", category=FutureWarning)
        # Each timed configuration runs twice (the prediction over 10M rows once).
        sizes = QUICK if args.quick else FULL
        if args.passes is not None:
            sizes = dict(sizes, incremental=dict(sizes["incremental"], passes=args.passes))
        command = "python benchmarks/bench_scale_out.py " + shlex.join(
            a for a in sys.argv[1:] if a != "--render-only")
        results["machine"] = machine()
        parts = PARTS if args.part == "all" else (args.part,)
        for part in parts:
            print(f"{part} ...", flush=True)
            start = time.perf_counter()
            load_before = _load_average()
            try:
                repeats = args.repeats or (1 if args.quick or part == "predict" else 2)
                record = RUNNERS[part](sizes[part], repeats)
            except Exception as exc:  # recorded; the other parts go on
                import traceback

                traceback.print_exc()
                record = dict(error=f"{type(exc).__name__}: {exc}")
            record.update(part_seconds=time.perf_counter() - start, quick=args.quick,
                          command=command, load_average_before=load_before,
                          load_average_after=_load_average())
            print(f"{part}: {record['part_seconds']:.0f} s", flush=True)
            results["parts"][part] = record
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(results, indent=1) + "\n")
    if not results.get("parts"):
        parser.error(f"no results in {args.output}")
    table = to_markdown(results)
    print(table)
    print(f"results: {args.output}")
    if args.write_doc:
        write_doc(args.doc, table)
        print(f"rewrote section {SECTION} of {args.doc}")


if __name__ == "__main__":
    main()
