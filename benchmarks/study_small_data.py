"""Small tables: does training stop before the network has learned anything?

For tables of 100 to 1,000 training rows (subsamples of real datasets and
scikit-learn's ``check_regressors_train`` data) and many seeds, fit the
default deep ensembles under candidate training schedules and record, per
fit, the epochs and optimizer steps run, the test score, and whether the
model ended as a **constant predictor**: the spread of its predictions over
the test rows below 5% of the target's standard deviation (regression) or
below 0.01 in the predicted probability of the first class (classification).

Schedules (``--schedules``):

- ``fixed``: ``batch_size=min(256, n_train)`` and ``patience=10`` epochs
  (skens 0.1's ``'auto'``);
- ``steps``: as ``fixed``, but early stopping waits at least 100 optimizer
  steps without improvement (``patience = max(10, ceil(100 / steps_per_epoch))``);
- ``small-batch``: ``batch_size = clip(2 ** round(log2(n_train / 8)), 16, 256)``
  (at least about 8 steps per epoch), ``patience=10``;
- ``both``: ``small-batch`` and ``steps``;
- ``auto``: the estimator's own ``batch_size='auto'`` and ``patience``
  defaults, whatever they are in the installed skens.

    python benchmarks/study_small_data.py --seeds 0 1 2 3 4 5 6 7 8 9 \\
        --out benchmarks/results/small_data.jsonl
    python benchmarks/study_small_data.py --summary benchmarks/results/small_data.jsonl
"""

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import log_loss, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import datasets  # noqa: E402

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor  # noqa: E402

TABLES = {
    # name: (loader, training sizes)
    "check_regressors_train": ("check", [200]),
    "diabetes": ("diabetes", [100, 300]),
    "concrete": ("concrete", [100, 300, 1000]),
    "breast_cancer": ("breast_cancer", [100, 300]),
    "credit_data": ("credit_data", [100, 300, 1000]),
}
SCHEDULES = ("fixed", "steps", "small-batch", "both", "auto")
MIN_STEPS = 100


def _check_data():
    from sklearn.utils.estimator_checks import _regression_dataset

    X, y = _regression_dataset()
    X = StandardScaler().fit_transform(X)
    y = StandardScaler().fit_transform(y.reshape(-1, 1)).ravel()
    import pandas as pd

    return pd.DataFrame(X), y, "regression"


def load(table, n_train, seed):
    loader, _ = TABLES[table]
    X, y, task = _check_data() if loader == "check" else datasets.load(loader)
    y = np.asarray(y)
    if loader == "check":  # scikit-learn's check trains and scores on the same 200 rows
        return X, y, X, y, task
    stratify = y if task != "regression" else None
    train, test = train_test_split(
        np.arange(len(y)), train_size=n_train, stratify=stratify, random_state=seed
    )
    test = test[:2000]
    return X.iloc[train], y[train], X.iloc[test], y[test], task


def schedule_params(schedule, n_fit, validation_fraction=0.2):
    """Estimator parameters of ``schedule`` for a fit on ``n_fit`` rows."""
    if schedule == "auto":
        return {}
    n_train = n_fit - math.ceil(validation_fraction * n_fit)
    if schedule in ("small-batch", "both"):
        batch_size = int(np.clip(2 ** round(math.log2(n_train / 8)), 16, 256))
    else:
        batch_size = min(256, n_train)
    patience = 10
    if schedule in ("steps", "both"):
        patience = max(10, math.ceil(MIN_STEPS / math.ceil(n_train / batch_size)))
    return dict(batch_size=batch_size, patience=patience)


def run(table, n_train, seed, schedule):
    X_train, y_train, X_test, y_test, task = load(table, n_train, seed)
    params = schedule_params(schedule, len(y_train))
    if task == "regression":
        model = DeepEnsembleRegressor(random_state=seed, **params)
    else:
        model = DeepEnsembleClassifier(random_state=seed, **params)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    record = dict(
        table=table, n_train=len(y_train), seed=seed, schedule=schedule, task=task,
        n_iter=model.n_iter_, fit_seconds=seconds, **params,
    )
    if task == "regression":
        pred = model.predict(X_test)
        record["score"] = float(r2_score(y_test, pred))
        record["spread"] = float(np.std(pred) / np.std(y_test))
        record["constant"] = record["spread"] < 0.05
    else:
        proba = model.predict_proba(X_test)
        record["score"] = float(log_loss(y_test, proba, labels=model.classes_))
        record["spread"] = float(np.std(proba[:, 0]))
        record["constant"] = record["spread"] < 0.01
    return record


def summary(path):
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    groups = {}
    for row in rows:
        groups.setdefault((row["table"], row["n_train"], row["schedule"]), []).append(row)
    print(f"{'table':24s} {'n':>5s} {'schedule':12s} fits constant  score(mean)  epochs  fit s")
    for (table, n, schedule), runs in sorted(groups.items()):
        constant = sum(r["constant"] for r in runs)
        score = np.mean([r["score"] for r in runs])
        epochs = np.mean([r["n_iter"] for r in runs])
        seconds = np.mean([r["fit_seconds"] for r in runs])
        print(
            f"{table:24s} {n:5d} {schedule:12s} {len(runs):4d} {constant:8d}"
            f"  {score:10.4f}  {epochs:6.1f}  {seconds:5.1f}"
        )
    by_schedule = {}
    for row in rows:
        by_schedule.setdefault(row["schedule"], []).append(row)
    for schedule, runs in by_schedule.items():
        constant = sum(r["constant"] for r in runs)
        print(f"{schedule:12s} constant predictors: {constant} of {len(runs)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES))
    parser.add_argument("--schedules", nargs="+", default=list(SCHEDULES), choices=SCHEDULES)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--out", help="JSONL file the runs are appended to")
    parser.add_argument("--summary", help="print the summary of a JSONL file and exit")
    args = parser.parse_args()
    if args.summary:
        summary(args.summary)
        return
    warnings.simplefilter("ignore")
    for table in args.tables:
        for n_train in TABLES[table][1]:
            for schedule in args.schedules:
                for seed in args.seeds:
                    record = run(table, n_train, seed, schedule)
                    if args.out:
                        with open(args.out, "a") as f:
                            f.write(json.dumps(record) + "\n")
                    print(
                        f"{table:24s} n={record['n_train']:5d} {schedule:12s} seed {seed} "
                        f"score {record['score']:.4f} spread {record['spread']:.3f} "
                        f"{'CONSTANT ' if record['constant'] else ''}"
                        f"({record['n_iter']} epochs, {record['fit_seconds']:.1f} s)",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
