"""Benchmark skens against the tabular baselines, on real data.

Each (dataset, seed, model) runs in its own process with a time limit; a
failure or a timeout is recorded, not fatal. Results go to a JSONL file, one
line per run; ``benchmarks/report.py`` turns them into ``doc/benchmarks.md``.

    pip install -r benchmarks/requirements.txt   # plus the --no-deps line in its header
    python benchmarks/run_benchmark.py --quick                       # ~10 minutes, 2 CPU cores
    python benchmarks/run_benchmark.py --max-train-rows 5000 --seeds 0 1
    python benchmarks/report.py

Splits are fixed and saved: ``benchmarks/splits/<dataset>-seed<k>.npz`` holds
the train and test row indices (75/25, stratified for classification); a row
cap subsamples the training part with the same seed.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

QUICK_DATASETS = ["credit_data", "image_segment", "abalone", "concrete"]
QUICK_MODELS = ["skens", "skens_single", "hgb", "rf", "linear", "bagged_mlp", "skorch_mlp"]
ALL_DATASETS = [
    "adult", "credit_data", "telco_churn", "image_segment", "digits", "breast_cancer",
    "protein_homology", "california_housing", "diamonds", "abalone", "concrete", "diabetes",
]
MAIN_MODELS = [
    "skens", "skens_single", "hgb", "rf", "linear", "sklearn_mlp", "bagged_mlp", "skorch_mlp",
    "lightgbm", "xgboost", "realmlp", "tabm",
]
Z90 = 1.6448536269514722  # central 90% interval of a Gaussian: mean +- Z90 * std


# ------------------------------------------------------------------- splits
def split_indices(name, y, task, seed):
    """The saved 75/25 split of dataset ``name`` for ``seed`` (created on first use)."""
    from sklearn.model_selection import train_test_split

    path = HERE / "splits" / f"{name}-seed{seed}.npz"
    if path.exists():
        saved = np.load(path)
        if saved["n_rows"] == len(y):
            return saved["train"], saved["test"]
    stratify = y if task != "regression" else None
    train, test = train_test_split(
        np.arange(len(y)), test_size=0.25, stratify=stratify, random_state=seed
    )
    path.parent.mkdir(exist_ok=True)
    np.savez_compressed(path, train=np.sort(train), test=np.sort(test), n_rows=len(y))
    return np.sort(train), np.sort(test)


def _cap(indices, y, task, n_max, seed):
    if n_max is None or len(indices) <= n_max:
        return indices
    from sklearn.model_selection import train_test_split

    stratify = y[indices] if task != "regression" else None
    kept, _ = train_test_split(indices, train_size=n_max, stratify=stratify, random_state=seed)
    return np.sort(kept)


# ------------------------------------------------------------------ metrics
def classification_metrics(model, X_test, y_test):
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    from skens.metrics import aurc_loss, expected_calibration_error, multiclass_brier_score_loss

    start = time.perf_counter()
    proba = np.asarray(model.predict_proba(X_test), dtype=np.float64)
    seconds = time.perf_counter() - start
    proba = np.clip(proba, 1e-15, 1)
    proba /= proba.sum(axis=1, keepdims=True)
    classes = np.asarray(model.classes_)
    y_pred = classes[proba.argmax(axis=1)]
    binary = len(classes) == 2
    return {
        "log_loss": log_loss(y_test, proba, labels=classes),
        "accuracy": accuracy_score(y_test, y_pred),
        "roc_auc": roc_auc_score(y_test, proba[:, 1])
        if binary
        else roc_auc_score(y_test, proba, multi_class="ovr", labels=classes),
        "ece": expected_calibration_error(y_test, proba, labels=classes),
        "brier": multiclass_brier_score_loss(y_test, proba, labels=classes),
        "aurc": aurc_loss(y_test, y_pred, proba.max(axis=1)),
        "predict_seconds": seconds,
        "_proba_sample": proba[:2000].round(5).tolist(),
        "_y_sample": [str(v) for v in np.asarray(y_test)[:2000]],
    }


def regression_metrics(model, X_test, y_test, with_std):
    from sklearn.metrics import r2_score, root_mean_squared_error

    from skens.metrics import (
        crps_gaussian_loss,
        gaussian_nll_loss,
        interval_coverage_score,
        mean_interval_width,
    )

    start = time.perf_counter()
    if with_std:
        mean, std = model.predict(X_test, return_std=True)
    else:
        mean, std = model.predict(X_test), None
    seconds = time.perf_counter() - start
    y_test = np.asarray(y_test, dtype=np.float64)
    result = {
        "rmse": root_mean_squared_error(y_test, mean),
        "r2": r2_score(y_test, mean),
        "predict_seconds": seconds,
    }
    if std is not None:
        lower, upper = mean - Z90 * std, mean + Z90 * std
        result.update(
            nll=gaussian_nll_loss(y_test, mean, std),
            crps=crps_gaussian_loss(y_test, mean, std),
            coverage90=interval_coverage_score(y_test, lower, upper),
            width90=mean_interval_width(lower, upper),
        )
    return result


def member_metrics(model, X_test, y_test):
    """Scores of each member alone, for models that expose their members (skens).

    ``member_log_loss`` / ``member_nll``: the members' scores, and their mean
    under ``mean_member_*``; the ensemble's gain over its mean member is
    ``(mean_member - ensemble) / mean_member``.
    """
    from sklearn.metrics import log_loss

    from skens.metrics import gaussian_nll_loss

    if hasattr(model, "predict_proba_members"):
        members = model.predict_proba_members(X_test)
        losses = [log_loss(y_test, p, labels=model.classes_) for p in members]
        return {"member_log_loss": losses, "mean_member_log_loss": float(np.mean(losses))}
    if hasattr(model, "predict_members"):
        means, stds = model.predict_members(X_test, return_std=True)
        y_test = np.asarray(y_test, dtype=np.float64)
        losses = [gaussian_nll_loss(y_test, m, s) for m, s in zip(means, stds)]
        return {"member_nll": losses, "mean_member_nll": float(np.mean(losses))}
    return {}


def selection_metrics(model, y_train):
    """For ensemble selection: the weights, each member's held-out loss, and the time
    the weight search alone takes (re-run on the stored out-of-fold predictions).

    ``member_fit_seconds``: each member's fit time inside the selection (its
    cross-validation fits plus its refit), measured in the same process.
    """
    if not hasattr(model, "pool_weights_"):
        return {}
    names = [str(n) for n in model.estimator_names_]
    if hasattr(model, "oof_std_"):
        outputs = list(zip(model.oof_predictions_, model.oof_std_))
        target = np.asarray(y_train, dtype=np.float64)
    else:
        outputs = list(model.oof_predictions_)
        target = model._label_encoder.transform(y_train)
    start = time.perf_counter()
    loss = model._make_loss(outputs, target)
    model._select(loss, len(names))
    return {
        "pool_weights": dict(zip(names, model.pool_weights_.round(4).tolist())),
        "member_oof_scores": dict(zip(names, model.member_scores_.round(5).tolist())),
        "selection_seconds": time.perf_counter() - start,
        "member_fit_seconds": dict(zip(names, model.member_fit_seconds_.round(3).tolist())),
    }


# ------------------------------------------------------------------- worker
def run_one(dataset, model_name, seed, max_train_rows, max_test_rows):
    """Fit and score one model on one split; return a result dict."""
    import datasets
    import models

    X, y, task = datasets.load(dataset)
    y = np.asarray(y)
    train, test = split_indices(dataset, y, task, seed)
    train = _cap(train, y, task, max_train_rows, seed)
    test = _cap(test, y, task, max_test_rows, seed)
    X_train, X_test = X.iloc[train], X.iloc[test]
    categorical = [c for c in X.columns if X[c].dtype.kind not in "fiu"]
    model = models.build(model_name, task, seed, categorical)
    torch_threads = int(os.environ.get("BENCH_THREADS", "2"))
    import torch

    torch.set_num_threads(torch_threads)
    start = time.perf_counter()
    model.fit(X_train, y[train])
    fit_seconds = time.perf_counter() - start
    if task == "regression":
        scores = regression_metrics(model, X_test, y[test], models.has_std(model))
    else:
        scores = classification_metrics(model, X_test, y[test])
    extra = {}
    if hasattr(model, "n_iter_"):
        extra["n_iter"] = int(model.n_iter_)
    if not hasattr(model, "pool_weights_"):
        extra.update(member_metrics(model, X_test, y[test]))
    extra.update(selection_metrics(model, y[train]))
    return {
        "dataset": dataset,
        "task": task,
        "model": model_name,
        "seed": seed,
        "n_train": len(train),
        "n_test": len(test),
        "fit_seconds": fit_seconds,
        **scores,
        **extra,
    }


def worker(args):
    started = time.perf_counter()
    try:
        result = run_one(
            args.dataset, args.model, args.seed, args.max_train_rows, args.max_test_rows
        )
        result["status"] = "ok"
    except Exception as exc:  # recorded, not fatal
        result = {
            "dataset": args.dataset, "model": args.model, "seed": args.seed, "status": "error",
            "error": f"{type(exc).__name__}: {exc}"[:2000],
            "traceback": traceback.format_exc()[-4000:],
        }
    result["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["wall_seconds"] = time.perf_counter() - started
    print("RESULT " + json.dumps(result), flush=True)


# ------------------------------------------------------------------- driver
def _done(path):
    if not path.exists():
        return set()
    keys = set()
    for line in path.read_text().splitlines():
        row = json.loads(line)
        keys.add((row["dataset"], row["model"], row["seed"]))
    return keys


def drive(args):
    import models

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _done(out) if args.resume else set()
    if not args.resume and out.exists():
        out.unlink()
    names = args.models or (QUICK_MODELS if args.quick else MAIN_MODELS)
    if args.grid:
        names = names + [m for m in models.MODELS if m.startswith("skens[")]
    datasets_ = args.datasets or (QUICK_DATASETS if args.quick else ALL_DATASETS)
    meta = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "command": " ".join(sys.argv),
    }
    (out.with_suffix(".meta.json")).write_text(json.dumps(meta, indent=2))
    for dataset in datasets_:
        for seed in args.seeds:
            for name in names:
                if (dataset, name, seed) in done:
                    continue
                command = [
                    sys.executable, __file__, "--worker", "--dataset", dataset, "--model", name,
                    "--seed", str(seed), "--max-test-rows", str(args.max_test_rows),
                ]
                if args.max_train_rows:
                    command += ["--max-train-rows", str(args.max_train_rows)]
                start = time.perf_counter()
                try:
                    proc = subprocess.run(
                        command, capture_output=True, text=True, timeout=args.timeout
                    )
                    lines = [
                        line for line in proc.stdout.splitlines() if line.startswith("RESULT ")
                    ]
                    if lines:
                        result = json.loads(lines[-1][len("RESULT "):])
                    else:
                        result = {"status": "crashed", "error": proc.stderr[-2000:]}
                except subprocess.TimeoutExpired:
                    result = {"status": "timeout", "error": f"over {args.timeout} s"}
                result.update(dataset=dataset, model=name, seed=seed)
                result.setdefault("wall_seconds", time.perf_counter() - start)
                with out.open("a") as f:
                    f.write(json.dumps(result) + "\n")
                summary = {k: result.get(k) for k in ("log_loss", "rmse", "nll", "fit_seconds")}
                print(f"{dataset:20s} seed {seed} {name:32s} {result['status']:8s} "
                      + " ".join(f"{k}={v:.4g}" for k, v in summary.items() if v is not None),
                      flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few datasets, capped rows")
    parser.add_argument("--datasets", nargs="*")
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--grid", action="store_true", help="also run the skens default grid")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-train-rows", type=int)
    parser.add_argument("--max-test-rows", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--output", default=str(HERE / "results" / "benchmark.jsonl"))
    parser.add_argument("--resume", action="store_true", help="skip runs already in --output")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.quick and args.max_train_rows is None:
        args.max_train_rows = 2000
    drive(args)


if __name__ == "__main__":
    main()
