"""Which numeric scaling and which categorical encoding should be the default?

Fits the default deep ensemble on real datasets (subsampled) with each
``numeric_scaling`` (quantile, standard, robust) and, on the datasets with
categorical columns, with three categorical encodings: embed every column,
one-hot the columns of at most 2 or at most 64 categories (embed the rest),
one-hot every column. Reports test log loss / ROC AUC (classification) and RMSE / Gaussian
NLL (regression), and writes a section of ``doc/benchmarks.md``.

    pip install -r benchmarks/requirements.txt   # see its header
    python benchmarks/study_preprocessing.py --train-rows 4000 --seeds 0 1
"""

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402
from docsection import replace_section  # noqa: E402

import skens.deep._base as base  # noqa: E402
from skens import DeepEnsembleClassifier, DeepEnsembleRegressor  # noqa: E402
from skens.metrics import gaussian_nll_loss  # noqa: E402
from skens.preprocessing import TabularPreprocessor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCALING_DATASETS = [
    "credit_data", "telco_churn", "adult", "image_segment",
    "california_housing", "diamonds", "abalone", "concrete",
]
CATEGORICAL_DATASETS = ["credit_data", "telco_churn", "adult", "diamonds", "abalone"]
ENCODINGS = {
    "embed all": 0,
    "one-hot <= 2": 2,
    "one-hot <= 64 (default)": 64,
    "one-hot all": 10**9,
}


def split(name, train_rows, test_rows, seed):
    X, y, task = datasets.load(name)
    stratify = y if task != "regression" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=min(test_rows, len(y) // 4), stratify=stratify, random_state=seed
    )
    if len(y_train) > train_rows:
        X_train, _, y_train, _ = train_test_split(
            X_train, y_train, train_size=train_rows,
            stratify=y_train if stratify is not None else None, random_state=seed,
        )
    return X_train, X_test, y_train, y_test, task


def evaluate(name, task, model, X_train, X_test, y_train, y_test):
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    if task == "regression":
        mean, std = model.predict(X_test, return_std=True)
        return {"rmse": root_mean_squared_error(y_test, mean),
                "nll": gaussian_nll_loss(y_test, mean, std), "seconds": seconds}
    proba = model.predict_proba(X_test)
    result = {"log_loss": log_loss(y_test, proba, labels=model.classes_), "seconds": seconds}
    if task == "binary":
        result["auc"] = roc_auc_score(y_test, proba[:, 1])
    return result


def make_model(task, seed, **params):
    Estimator = DeepEnsembleRegressor if task == "regression" else DeepEnsembleClassifier
    return Estimator(random_state=seed, **params)


def run(args):
    rows = []
    for name in args.datasets or SCALING_DATASETS:
        for seed in args.seeds:
            data = split(name, args.train_rows, args.test_rows, seed)
            task = data[-1]
            for scaling in ["quantile", "standard", "robust"]:
                model = make_model(task, seed, numeric_scaling=scaling, max_epochs=args.max_epochs)
                result = evaluate(name, task, model, *data[:4])
                rows.append({"study": "scaling", "dataset": name, "seed": seed,
                             "setting": scaling, **result})
                print(json.dumps(rows[-1]), flush=True)
            if name not in CATEGORICAL_DATASETS:
                continue
            for label, max_onehot in ENCODINGS.items():
                base.TabularPreprocessor = functools.partial(
                    TabularPreprocessor, max_onehot_cardinality=max_onehot
                )
                try:
                    model = make_model(task, seed, max_epochs=args.max_epochs)
                    result = evaluate(name, task, model, *data[:4])
                finally:
                    base.TabularPreprocessor = TabularPreprocessor
                rows.append({"study": "encoding", "dataset": name, "seed": seed,
                             "setting": label, **result})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def summarise(rows, study, settings):
    """Markdown table: mean metric over seeds per dataset and setting, best in bold."""
    names = sorted({r["dataset"] for r in rows if r["study"] == study})
    lines = ["| dataset | metric | " + " | ".join(settings) + " |",
             "|---|---|" + "---|" * len(settings)]
    ranks = {s: [] for s in settings}
    for name in names:
        subset = [r for r in rows if r["study"] == study and r["dataset"] == name]
        metrics = ["nll", "rmse"] if "nll" in subset[0] else ["log_loss"]
        for metric in metrics:
            means = {s: np.mean([r[metric] for r in subset if r["setting"] == s]) for s in settings}
            order = sorted(settings, key=means.get)
            if metric != "rmse":  # rank on the proper score: log loss or Gaussian NLL
                tied = rankdata([round(means[s], 6) for s in settings])  # ties share a rank
                for s, rank in zip(settings, tied):
                    ranks[s].append(rank)
            cells = [
                f"**{means[s]:.4f}**" if s == order[0] else f"{means[s]:.4f}" for s in settings
            ]
            lines.append(f"| {name} | {metric.replace('_', ' ')} | " + " | ".join(cells) + " |")
    mean_ranks = " | ".join(f"{np.mean(ranks[s]):.2f}" for s in settings)
    lines.append("| **mean rank** (log loss / NLL) | | " + mean_ranks + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-rows", type=int, default=4000)
    parser.add_argument("--test-rows", type=int, default=2000)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--datasets", nargs="*")
    parser.add_argument("--doc", type=Path, default=ROOT / "doc" / "benchmarks.md")
    parser.add_argument(
        "--from-results", action="store_true", help="only rewrite the doc from the saved results"
    )
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "results" / "study_preprocessing.jsonl"
    if args.from_results:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    else:
        rows = run(args)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    command = (f"python benchmarks/study_preprocessing.py --train-rows {args.train_rows} "
               f"--test-rows {args.test_rows} --max-epochs {args.max_epochs} "
               f"--seeds {' '.join(map(str, args.seeds))}")
    text = "\n\n".join([
        f"Reproduce: `{command}` (mean over seeds; lower is better; best in bold).",
        "Numeric scaling (`numeric_scaling`):",
        summarise(rows, "scaling", ["quantile", "standard", "robust"]),
        "Categorical encoding (`max_onehot_cardinality` of `TabularPreprocessor`):",
        summarise(rows, "encoding", list(ENCODINGS)),
    ])
    replace_section(args.doc, "preprocessing", text)
    print(text)


if __name__ == "__main__":
    main()
