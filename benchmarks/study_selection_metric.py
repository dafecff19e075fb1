"""Which held-out metric should EnsembleSelectionRegressor minimise, and should it
calibrate the members' variances?

For each dataset and seed the default pool is fitted out of fold once and every
member once on the whole training part; then, from the same predictions, the
weights are chosen under each candidate metric, with and without the variance
calibration, and the test RMSE, Gaussian NLL and 90% coverage of the mixture
are recorded. Choose on one half of the regression datasets, confirm on the
other (``doc/benchmarks.md``).

    OMP_NUM_THREADS=1 python benchmarks/study_selection_metric.py \\
        --datasets diabetes concrete abalone california_housing diamonds
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

METRICS = ["nll", "squared_error"]


def main(argv=None):
    import datasets
    import torch
    from run_benchmark import Z90, _cap, split_indices
    from scipy.optimize import minimize_scalar
    from sklearn.base import clone
    from sklearn.metrics import root_mean_squared_error

    from skens.ensemble import EnsembleSelectionRegressor
    from skens.metrics import gaussian_nll_loss, interval_coverage_score

    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--output", default=str(HERE / "results" / "selection_metric.jsonl"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.datasets:
        X, y, task = datasets.load(name)
        y = np.asarray(y, dtype=np.float64)
        for seed in args.seeds:
            train, test = split_indices(name, y, task, seed)
            train = _cap(train, y, task, 4000, seed)
            test = _cap(test, y, task, 5000, seed)
            X_train, y_train, X_test, y_test = X.iloc[train], y[train], X.iloc[test], y[test]
            # One out-of-fold pass (the fit also refits its own choice; unused here).
            model = EnsembleSelectionRegressor(random_state=seed, calibrate_variance=False)
            model.fit(X_train, y_train)
            oof = list(zip(model.oof_predictions_, model.oof_std_))
            residual_std = np.sqrt(model._residual_variance)
            # Every member fitted once on the whole training part.
            means, stds = [], []
            for k, (_, member) in enumerate(model._pool()):
                mean, std = model._member_output(clone(member).fit(X_train, y_train), X_test)
                means.append(mean)
                stds.append(np.full(len(mean), residual_std[k]) if np.isnan(std).all() else std)
            means, stds = np.stack(means), np.stack(stds)
            for metric in METRICS:
                model.metric = metric
                weights, _ = model._select(model._make_loss(oof, y_train), len(means))
                for calibrate in (False, True):
                    scale = 1.0
                    if calibrate:
                        found = minimize_scalar(
                            lambda c, m=model, w=weights, t=y_train: m._mixture_nll(
                                w, np.exp(c), t
                            ),
                            bounds=(np.log(1e-3), np.log(1e3)),
                            method="bounded",
                        )
                        if model._mixture_nll(weights, np.exp(found.x), y_train) < (
                            model._mixture_nll(weights, 1.0, y_train)
                        ):
                            scale = float(np.exp(found.x))
                    mean = weights @ means
                    std = np.sqrt(weights @ (scale * stds**2 + means**2) - mean**2)
                    record = {
                        "dataset": name,
                        "seed": seed,
                        "metric": metric,
                        "calibrate_variance": calibrate,
                        "variance_scale": scale,
                        "rmse": root_mean_squared_error(y_test, mean),
                        "nll": gaussian_nll_loss(y_test, mean, std),
                        "coverage90": interval_coverage_score(
                            y_test, mean - Z90 * std, mean + Z90 * std
                        ),
                        "weights": dict(
                            zip(map(str, model.estimator_names_), weights.round(3).tolist())
                        ),
                    }
                    print(json.dumps(record), flush=True)
                    with open(args.output, "a") as f:
                        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
