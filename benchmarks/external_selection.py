"""Confirm ensemble selection on real tables outside shared/DATASETS.md.

For each external table (``benchmarks/external_datasets.py``) and seed: a
75/25 split (stratified for classification), at most ``--max-train-rows``
training rows; ``EnsembleSelection*`` with its defaults is fitted, and every
pool member is also fitted alone on the same training rows, so that the
selection is compared with each of its members on the same test rows.

    OMP_NUM_THREADS=1 python benchmarks/external_selection.py
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DEFAULT = ["titanic", "hmda", "cells", "chile_vote", "wage", "computers"]
Z90 = 1.6448536269514722


def main(argv=None):
    import external_datasets
    import torch
    from sklearn.base import clone
    from sklearn.metrics import log_loss, root_mean_squared_error
    from sklearn.model_selection import train_test_split

    from skens.ensemble import EnsembleSelectionClassifier, EnsembleSelectionRegressor
    from skens.metrics import gaussian_nll_loss, interval_coverage_score

    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", nargs="+", default=DEFAULT)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-train-rows", type=int, default=2000)
    parser.add_argument("--output", default=str(HERE / "results" / "selection_external.jsonl"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.datasets:
        X, y, task = external_datasets.load(name)
        y = np.asarray(y)
        regression = task == "regression"
        for seed in args.seeds:
            train, test = train_test_split(
                np.arange(len(y)), test_size=0.25, random_state=seed,
                stratify=None if regression else y,
            )
            train = train[: args.max_train_rows]
            Model = EnsembleSelectionRegressor if regression else EnsembleSelectionClassifier
            model = Model(random_state=seed)
            start = time.perf_counter()
            model.fit(X.iloc[train], y[train])
            seconds = time.perf_counter() - start
            X_test, y_test = X.iloc[test], y[test]
            record = {"dataset": name, "task": task, "seed": seed, "n_train": len(train),
                      "fit_seconds": seconds,
                      "weights": dict(zip(map(str, model.estimator_names_),
                                          model.pool_weights_.round(3).tolist()))}
            members = {}
            target = y[train] if regression else model._label_encoder.transform(y[train])
            for (member_name, member), residual in zip(
                model._pool(),
                np.sqrt(model._residual_variance) if regression else [None] * 99,
            ):
                fitted = clone(member).fit(X.iloc[train], target)
                if regression:
                    mean, std = model._member_output(fitted, X_test)
                    std = np.full(len(mean), residual) if np.isnan(std).all() else std
                    members[member_name] = {
                        "rmse": root_mean_squared_error(y_test, mean),
                        "nll": gaussian_nll_loss(y_test, mean, std),
                    }
                else:
                    proba = model._member_output(fitted, X_test)
                    members[member_name] = {
                        "log_loss": log_loss(y_test, proba, labels=model.classes_)
                    }
            if regression:
                mean, std = model.predict(X_test, return_std=True)
                record["selection"] = {
                    "rmse": root_mean_squared_error(y_test, mean),
                    "nll": gaussian_nll_loss(y_test, mean, std),
                    "coverage90": interval_coverage_score(
                        y_test, mean - Z90 * std, mean + Z90 * std
                    ),
                }
            else:
                record["selection"] = {
                    "log_loss": log_loss(y_test, model.predict_proba(X_test), labels=model.classes_)
                }
            record["members"] = members
            print(json.dumps(record), flush=True)
            with open(args.output, "a") as f:
                f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
