"""What the benchmarks share: the capped train/test split of a table, and best-of timing."""

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def capped_split(name, seed, *, external, max_train, max_test):
    """``X_train, y_train, X_test, y_test, task`` of one table and seed.

    A public table uses its saved split (``benchmarks/splits``); an external
    one a 75/25 split (stratified for classification) seeded by ``seed``.
    Training and test rows above ``max_train`` / ``max_test`` are
    subsampled with ``RandomState(seed)``.
    """
    if external:
        import external_datasets
        from sklearn.model_selection import train_test_split

        X, y, task = external_datasets.load(name)
        y = np.asarray(y)
        train, test = train_test_split(
            np.arange(len(y)), test_size=0.25, random_state=seed,
            stratify=None if task == "regression" else y,
        )
    else:
        import datasets

        X, y, task = datasets.load(name)
        y = np.asarray(y)
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
