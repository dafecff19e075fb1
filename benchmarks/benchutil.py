"""What the benchmarks share: the capped split of a table, best-of timing, parallel runs."""

import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_table(name, *, external):
    """``X, y, task`` of a public (``benchmarks/datasets.py``) or external table; ``y`` an array."""
    if external:
        import external_datasets

        X, y, task = external_datasets.load(name)
    else:
        import datasets

        X, y, task = datasets.load(name)
    return X, np.asarray(y), task


def capped_split(name, seed, *, external, max_train, max_test):
    """``X_train, y_train, X_test, y_test, task`` of one table and seed.

    A public table uses its saved split (``benchmarks/splits``); an external
    one a 75/25 split (stratified for classification) seeded by ``seed``.
    Training and test rows above ``max_train`` / ``max_test`` are
    subsampled with ``RandomState(seed)``.
    """
    X, y, task = load_table(name, external=external)
    if external:
        from sklearn.model_selection import train_test_split

        train, test = train_test_split(
            np.arange(len(y)), test_size=0.25, random_state=seed,
            stratify=None if task == "regression" else y,
        )
    else:
        split = np.load(ROOT / "benchmarks" / "splits" / f"{name}-seed{seed}.npz")
        train, test = split["train"], split["test"]
    rng = np.random.RandomState(seed)
    if len(train) > max_train:
        train = rng.choice(train, max_train, replace=False)
    if len(test) > max_test:
        test = rng.choice(test, max_test, replace=False)
    return X.iloc[train], y[train], X.iloc[test], y[test], task


def timed(fn, repeats=3):
    """``fn()``'s result and its best wall-clock time over ``repeats`` calls."""
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def _limit_threads(jobs):
    """A worker's share of the cores for torch, OpenMP and BLAS (HistGradientBoosting too)."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = max(1, (os.cpu_count() or 1) // jobs)
    torch.set_num_threads(threads)
    threadpool_limits(threads)


def _guarded(run_one, run, args, keys):
    try:
        return run_one(*run, args)
    except Exception as exc:  # recorded; the other runs go on
        return dict(zip(keys, run), error=f"{type(exc).__name__}: {exc}")


def run_all(run_one, runs, args, *, keys, jobs, output):
    """``run_one(*run, args)`` for every run, in ``jobs`` processes, each record saved as it ends.

    Each record is appended to ``output`` (JSON lines, the file rewritten)
    and printed when its run ends, so a run cut short keeps what finished; a
    run that raises is recorded as ``dict(zip(keys, run), error=...)``. With
    ``jobs > 1``, each worker process limits its threads to its share of the
    cores. Returns the records in the order of ``runs``.
    """
    records = []
    with open(output, "w") as out:

        def save(record):
            records.append(record)
            out.write(json.dumps(record) + "\n")
            out.flush()
            print(json.dumps(record), flush=True)

        if jobs > 1:
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(jobs, initializer=_limit_threads, initargs=(jobs,)) as pool:
                futures = [pool.submit(_guarded, run_one, run, args, keys) for run in runs]
                for future in as_completed(futures):
                    save(future.result())
        else:
            for run in runs:
                save(_guarded(run_one, run, args, keys))
    position = {tuple(run): i for i, run in enumerate(runs)}
    return sorted(records, key=lambda r: position[tuple(r[k] for k in keys)])

