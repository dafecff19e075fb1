"""Member diversity of the deep ensembles: how much the ensemble gains over its own members.

For each dataset, seed and configuration (a JSON object of estimator
parameters) one ensemble is fitted, and optionally its single-member twin
(``n_members=1``, same parameters). Recorded per run, on the test rows:

- ``ensemble``: log loss (classification) or Gaussian NLL (regression) of the
  ensemble's prediction;
- ``members``: the same score of each member alone, and their mean;
- ``gain``: ``(mean member - ensemble) / |mean member|``, the share of the
  members' loss the ensemble removes (0 for clones);
- ``mutual_information`` (classification) or the epistemic share of the
  predictive variance (regression), and the members' disagreement rate;
- ``single``: the single-member twin's score.

Results are appended to a JSONL file, one line per run; ``--summary`` prints
the mean over seeds per dataset and configuration.

    python benchmarks/study_diversity.py --datasets credit_data concrete --seeds 0 1 \\
        --configs '{"default": {}, "no-embedding": {"numeric_embedding": null}}' \\
        --out benchmarks/results/diversity.jsonl
    python benchmarks/study_diversity.py --summary benchmarks/results/diversity.jsonl

A configuration may hold ``"_module": {...}``: keyword defaults of
:class:`skens.nn.EnsembleMLP` changed for that run (study-only knobs, e.g.
``{"share_embeddings": true}``), and ``"_estimator": {...}``: private class
attributes of the deep estimators (e.g. ``{"_member_batches": true}``).

Dataset names are those of ``benchmarks/datasets.py`` (the saved splits of
the benchmark) or of ``benchmarks/external_datasets.py`` (a seeded 75/25
split, stratified for classification).
"""

import argparse
import contextlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import datasets  # noqa: E402
import run_benchmark  # noqa: E402

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor  # noqa: E402
from skens.metrics import gaussian_nll_loss  # noqa: E402
from skens.nn import EnsembleMLP  # noqa: E402


def load_split(name, seed, max_train_rows, max_test_rows=5000):
    """Rows ``(X_train, y_train, X_test, y_test, task)`` of one dataset and seed."""
    if name in datasets.DATASETS:
        X, y, task = datasets.load(name)
        y = np.asarray(y)
        train, test = run_benchmark.split_indices(name, y, task, seed)
    else:
        import external_datasets

        X, y, task = external_datasets.load(name)
        y = np.asarray(y)
        stratify = y if task != "regression" else None
        train, test = train_test_split(
            np.arange(len(y)), test_size=0.25, stratify=stratify, random_state=seed
        )
    train = run_benchmark._cap(np.sort(train), y, task, max_train_rows, seed)
    test = run_benchmark._cap(np.sort(test), y, task, max_test_rows, seed)
    return X.iloc[train], y[train], X.iloc[test], y[test], task


def _classification_scores(model, X_test, y_test):
    members = model.predict_proba_members(X_test)
    proba = members.mean(axis=0)
    labels = model.classes_
    member_losses = [log_loss(y_test, p, labels=labels) for p in members]
    votes = members.argmax(axis=-1)
    disagreement = float(np.mean(votes != proba.argmax(axis=-1)[None, :]))
    return dict(
        ensemble=float(log_loss(y_test, proba, labels=labels)),
        members=member_losses,
        mutual_information=float(model.predict_uncertainty(X_test).epistemic.mean()),
        disagreement=disagreement,
        accuracy=float(np.mean(labels[proba.argmax(axis=1)] == y_test)),
    )


def _regression_scores(model, X_test, y_test):
    mean, std = model.predict(X_test, return_std=True)
    member_mean, member_std = model.predict_members(X_test, return_std=True)
    u = model.predict_uncertainty(X_test)
    rmse = float(np.sqrt(np.mean((mean - y_test) ** 2)))
    return dict(
        ensemble=float(gaussian_nll_loss(y_test, mean, std)),
        members=[float(gaussian_nll_loss(y_test, m, s)) for m, s in zip(member_mean, member_std)],
        epistemic_share=float(np.mean(u.epistemic / u.total)),
        rmse=rmse,
        member_rmse=[float(np.sqrt(np.mean((m - y_test) ** 2))) for m in member_mean],
    )


@contextlib.contextmanager
def module_defaults(overrides):
    """Temporarily change keyword defaults of :class:`skens.nn.EnsembleMLP` (study-only knobs)."""
    defaults = EnsembleMLP.__init__.__kwdefaults__
    saved = dict(defaults)
    defaults.update(overrides)
    try:
        yield
    finally:
        defaults.clear()
        defaults.update(saved)


@contextlib.contextmanager
def estimator_attributes(overrides):
    """Temporarily set private class attributes of the deep estimators (study-only knobs)."""
    from skens.deep._base import _BaseDeepEnsemble

    saved = {key: getattr(_BaseDeepEnsemble, key) for key in overrides}
    for key, value in overrides.items():
        setattr(_BaseDeepEnsemble, key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            setattr(_BaseDeepEnsemble, key, value)


def run(name, label, params, seed, max_train_rows, single):
    """Fit one configuration (and its single twin), with its study-only knobs set."""
    params = dict(params)
    knobs = dict(module=params.pop("_module", {}), estimator=params.pop("_estimator", {}))
    with module_defaults(knobs["module"]), estimator_attributes(knobs["estimator"]):
        record = _run(name, label, params, seed, max_train_rows, single)
    record["knobs"] = knobs
    return record


def _run(name, label, params, seed, max_train_rows, single):
    X_train, y_train, X_test, y_test, task = load_split(name, seed, max_train_rows)
    Estimator = DeepEnsembleRegressor if task == "regression" else DeepEnsembleClassifier
    scores = _regression_scores if task == "regression" else _classification_scores
    start = time.perf_counter()
    model = Estimator(random_state=seed, **params).fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    record = dict(
        dataset=name, config=label, params=params, seed=seed, task=task,
        n_train=len(y_train), fit_seconds=fit_seconds, n_iter=model.n_iter_,
        **scores(model, X_test, y_test),
    )
    mean_member = float(np.mean(record["members"]))
    record["mean_member"] = mean_member
    record["gain"] = (mean_member - record["ensemble"]) / abs(mean_member)
    if single:
        twin = Estimator(random_state=seed, **{**params, "n_members": 1}).fit(X_train, y_train)
        record["single"] = scores(twin, X_test, y_test)["ensemble"]
    return record


def summary(path):
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    groups = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["config"]), []).append(row)
    print(
        f"{'dataset':20s} {'config':28s} seeds  ensemble  members  gain%   single  "
        "ens<single  fit s"
    )

    def mean(runs, key):
        values = [r[key] for r in runs if key in r]
        return np.mean(values) if values else float("nan")

    for (name, label), runs in groups.items():
        beats = sum(r["ensemble"] < r["single"] for r in runs if "single" in r)
        n_single = sum("single" in r for r in runs)
        print(
            f"{name:20s} {label:28s} {len(runs):5d}  {mean(runs, 'ensemble'):8.4f} "
            f"{mean(runs, 'mean_member'):8.4f} {100 * mean(runs, 'gain'):6.2f}  "
            f"{mean(runs, 'single'):7.4f}  {beats}/{n_single:<8d} {mean(runs, 'fit_seconds'):6.1f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", help="JSON: label -> estimator parameters")
    parser.add_argument("--datasets", nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--max-train-rows", type=int, default=4000)
    parser.add_argument("--single", action="store_true", help="also fit n_members=1 twins")
    parser.add_argument("--out", help="JSONL file the runs are appended to")
    parser.add_argument("--summary", help="print the summary of a JSONL file and exit")
    args = parser.parse_args()
    if args.summary:
        summary(args.summary)
        return
    warnings.simplefilter("ignore")
    configs = json.loads(args.configs)
    for name in args.datasets:
        for seed in args.seeds:
            for label, params in configs.items():
                record = run(name, label, params, seed, args.max_train_rows, args.single)
                line = json.dumps(record)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(line + "\n")
                print(
                    f"{name:20s} {label:28s} seed {seed}  ens {record['ensemble']:.4f}  "
                    f"members {record['mean_member']:.4f}  gain {100 * record['gain']:.2f}%  "
                    f"single {record.get('single', float('nan')):.4f}  "
                    f"({record['fit_seconds']:.0f} s, {record['n_iter']} epochs)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
