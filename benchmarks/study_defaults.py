"""Compare candidate default settings of the deep ensembles, each against its own single member.

Each configuration (a JSON object of estimator parameters) is fitted with
``n_members`` at its default and with ``n_members=1``, on the saved splits of
the benchmark (``benchmarks/splits``), for several seeds; the test log loss
(classification) or Gaussian NLL (regression) is printed per seed and on
average. ``--periodic-width`` and ``--periodic-frequencies`` change the output
width per feature and the number of frequencies of the periodic numeric
embedding (study-only knobs; the defaults are 8 and 16).

    python benchmarks/study_defaults.py \\
        --configs '{"vf0.2+periodic":
                    {"validation_fraction": 0.2, "numeric_embedding": "periodic"}}' \\
        --datasets california_housing abalone --seeds 0 1 2 --max-train-rows 4000
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import log_loss

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402
import run_benchmark  # noqa: E402

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor  # noqa: E402
from skens.metrics import gaussian_nll_loss  # noqa: E402
from skens.nn import PeriodicEmbedding  # noqa: E402


def score(name, params, seed, max_train_rows):
    X, y, task = datasets.load(name)
    y = np.asarray(y)
    train, test = run_benchmark.split_indices(name, y, task, seed)
    train = run_benchmark._cap(train, y, task, max_train_rows, seed)
    test = run_benchmark._cap(test, y, task, 5000, seed)
    Estimator = DeepEnsembleRegressor if task == "regression" else DeepEnsembleClassifier
    model = Estimator(random_state=seed, **params).fit(X.iloc[train], y[train])
    if task == "regression":
        mean, std = model.predict(X.iloc[test], return_std=True)
        return gaussian_nll_loss(y[test], mean, std)
    return log_loss(y[test], model.predict_proba(X.iloc[test]), labels=model.classes_)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", required=True, help="JSON: label -> estimator parameters")
    parser.add_argument("--datasets", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-train-rows", type=int, default=4000)
    parser.add_argument("--no-single", action="store_true", help="skip the n_members=1 twins")
    parser.add_argument("--periodic-width", type=int)
    parser.add_argument("--periodic-frequencies", type=int)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.periodic_width:
        PeriodicEmbedding.__init__.__kwdefaults__["d_embedding"] = args.periodic_width
    if args.periodic_frequencies:
        PeriodicEmbedding.__init__.__kwdefaults__["n_frequencies"] = args.periodic_frequencies
    configs = json.loads(args.configs)
    for name in args.datasets:
        for label, params in configs.items():
            variants = {label: params}
            if not args.no_single:
                variants[f"{label}, single"] = {**params, "n_members": 1}
            for variant, variant_params in variants.items():
                start = time.perf_counter()
                scores = [score(name, variant_params, s, args.max_train_rows) for s in args.seeds]
                print(
                    f"{name:20s} {variant:36s} mean {np.mean(scores):.4f}  "
                    + " ".join(f"{s:.4f}" for s in scores)
                    + f"  ({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
