"""Small tables: HyperTab, EnsLoss and the deep ensemble against linear models and trees.

For every classification table (the public ones of ``benchmarks/datasets.py``,
or with ``--external`` those of ``benchmarks/external_datasets.py``), each
training size of ``--sizes`` (a stratified subsample; the rest of the table,
capped at 2,000 rows, is the test set) and each seed, fit:

- ``linear``: logistic regression on one-hot encoded, scaled features;
- ``rf``: a random forest (300 trees); ``hgb``: HistGradientBoosting;
- ``single``: ``DeepEnsembleClassifier(n_members=1)``; ``deep``: the default
  deep ensemble;
- ``hypertab``: the reference's procedure, ``HyperTabClassifier(training=
  'sequential', lr=3e-4, max_epochs=50)`` (an optimizer step per mask and
  batch, 100 masks; only up to ``--sequential-max-rows`` training rows if
  given, as it is 100 times the steps);
- ``hypertab_batched``: ``HyperTabClassifier(training='batched', lr=3e-3,
  max_epochs=100)``, every mask in one step per batch: the default since this
  benchmark;
- ``ensloss``: ``EnsLossClassifier()`` (binary tables only).

Reported: per run the test log loss and accuracy; per table the mean log-loss
rank of each model; overall the mean rank and a win/loss table (how often the
row model has the lower log loss than the column model).

    python benchmarks/bench_small_data.py --jobs 2 --write-doc
    python benchmarks/bench_small_data.py --external --jobs 2 --write-doc
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))

from benchutil import load_table, run_all  # noqa: E402

MODELS = ("linear", "rf", "hgb", "single", "deep", "hypertab", "hypertab_batched", "ensloss")
# Too imbalanced to subsample to 100 rows (0.9% positives: one positive row).
SKIP = {"protein_homology"}


def _tables(external):
    if external:
        import external_datasets

        return list(external_datasets.CLASSIFICATION)
    import datasets

    names = []
    for name in datasets.DATASETS:
        if name in SKIP:
            continue
        _, _, task = datasets.load(name)
        if task != "regression":
            names.append(name)
    return names


def _model(name, task, seed, categorical, device, n_train=0, sequential_max_rows=None):
    import models

    import skens

    if name == "linear":
        return models._linear(task, seed, categorical)
    if name == "rf":
        return models._rf(task, seed, categorical)
    if name == "hgb":
        return models._hgb(task, seed, categorical)
    if name == "single":
        return skens.DeepEnsembleClassifier(n_members=1, random_state=seed, device=device)
    if name == "deep":
        return skens.DeepEnsembleClassifier(random_state=seed, device=device)
    if name == "hypertab":
        if sequential_max_rows is not None and n_train > sequential_max_rows:
            return None
        return skens.HyperTabClassifier(training="sequential", lr=3e-4, max_epochs=50,
                                        random_state=seed, device=device)
    if name == "hypertab_batched":
        return skens.HyperTabClassifier(training="batched", lr=3e-3, max_epochs=100,
                                        random_state=seed, device=device)
    if name == "ensloss":
        if task != "binary":
            return None
        return skens.EnsLossClassifier(random_state=seed, device=device)
    raise ValueError(name)


def run_one(name, n_train, seed, args):
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split

    X, y, task = load_table(name, external=args.external)
    if n_train >= 0.8 * len(y):  # leave at least a fifth of the table to test on
        return dict(dataset=name, n_train=n_train, seed=seed, task=task, skipped=True)
    train, test = train_test_split(
        np.arange(len(y)), train_size=n_train, stratify=y, random_state=seed
    )
    test = np.random.RandomState(seed).permutation(test)[:2000]
    X_train, y_train, X_test, y_test = X.iloc[train], y[train], X.iloc[test], y[test]
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    record = dict(dataset=name, n_train=n_train, seed=seed, task=task, n_test=len(test))
    labels = np.unique(y)
    for model_name in args.models:
        model = _model(model_name, task, seed, categorical, args.device, n_train,
                       args.sequential_max_rows)
        if model is None:
            continue
        start = time.perf_counter()
        try:
            model.fit(X_train, y_train)
            proba = model.predict_proba(X_test)
        except Exception as exc:  # recorded; the run goes on
            record[model_name] = dict(error=f"{type(exc).__name__}: {exc}")
            continue
        seconds = time.perf_counter() - start
        # Classes absent from the training rows get probability 0 in the test labels' order.
        full = np.zeros((len(test), len(labels)))
        full[:, np.searchsorted(labels, model.classes_)] = proba
        record[model_name] = dict(
            loss=float(log_loss(y_test, np.clip(full, 1e-15, 1), labels=labels)),
            accuracy=float(np.mean(labels[full.argmax(1)] == y_test)),
            seconds=seconds,
        )
    return record


def _ranks(record, models):
    from scipy.stats import rankdata

    present = [m for m in models if "loss" in record.get(m, {})]
    ranks = rankdata([record[m]["loss"] for m in present])
    return dict(zip(present, ranks))


def to_markdown(records, models, command):
    ok = [r for r in records if "error" not in r and not r.get("skipped")]
    lines = []
    # Mean rank per table and size; ranks among the models every run of the table has.
    for label, subset, kept in [
        ("binary tables", [r for r in ok if r["task"] == "binary"],
         [m for m in models if m != "hypertab"]),
        ("all tables (without EnsLoss)", ok,
         [m for m in models if m not in ("ensloss", "hypertab")]),
        ("sequential HyperTab's runs", [r for r in ok if "hypertab" in r],
         [m for m in models if m != "ensloss"]),
    ]:
        runs = [r for r in subset if all("loss" in r.get(m, {}) for m in kept)]
        if not runs:
            continue
        lines += [f"**Mean log-loss rank, {label}** (1 = best; {len(runs)} runs)", ""]
        lines += ["| training rows | " + " | ".join(kept) + " |",
                  "|---|" + "---|" * len(kept)]
        for size in sorted({r["n_train"] for r in runs}) + ["all"]:
            chosen = [r for r in runs if size == "all" or r["n_train"] == size]
            ranks = [_ranks(r, kept) for r in chosen]
            cells = [f"{np.mean([rk[m] for rk in ranks]):.2f}" for m in kept]
            lines.append(f"| {size} | " + " | ".join(cells) + " |")
        lines.append("")
    # Win/loss: row beats column (lower log loss) on how many of the runs both have.
    lines += ["**Wins** (row has the lower log loss than column, of the runs both ran)", ""]
    lines += ["| | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for a in models:
        cells = []
        for b in models:
            both = [r for r in ok if "loss" in r.get(a, {}) and "loss" in r.get(b, {})]
            if a == b or not both:
                cells.append("–")
                continue
            wins = sum(r[a]["loss"] < r[b]["loss"] for r in both)
            cells.append(f"{wins}/{len(both)}")
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    lines.append("")
    # Per table: mean log loss per size.
    lines += ["**Mean log loss per table and size** (over seeds)", ""]
    lines += ["| table | rows | " + " | ".join(models) + " |", "|---|---|" + "---|" * len(models)]
    for name in sorted({r["dataset"] for r in ok}):
        for size in sorted({r["n_train"] for r in ok if r["dataset"] == name}):
            chosen = [r for r in ok if r["dataset"] == name and r["n_train"] == size]
            cells = []
            for m in models:
                losses = [r[m]["loss"] for r in chosen if "loss" in r.get(m, {})]
                cells.append(f"{np.mean(losses):.4f}" if losses else "–")
            lines.append(f"| {name} | {size} | " + " | ".join(cells) + " |")
    errors = [r for r in records if "error" in r] + [
        dict(r, error=f"{m}: {r[m]['error']}")
        for r in ok for m in models if "error" in r.get(m, {})
    ]
    if errors:
        lines += ["", "Errors: " + "; ".join(
            f"{e['dataset']} n={e['n_train']} seed {e['seed']}: {e['error']}" for e in errors)]
    seconds = {m: np.median([r[m]["seconds"] for r in ok if "seconds" in r.get(m, {})])
               for m in models if any("seconds" in r.get(m, {}) for r in ok)}
    lines += ["", "Median fit + predict seconds: " + ", ".join(
        f"{m} {s:.1f}" for m, s in seconds.items()), "", f"Command: `{command}`"]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--datasets", help="comma-separated subset")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--external", action="store_true")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--sequential-max-rows", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--output", default=None)
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--write-doc", action="store_true")
    parser.add_argument("--doc", default=str(ROOT / "doc" / "benchmarks.md"))
    args = parser.parse_args()
    args.models = args.models.split(",")
    suffix = "_external" if args.external else ""
    output = args.output or ROOT / "benchmarks" / "results" / f"bench_small_data{suffix}.jsonl"
    if args.render_only:
        records = [json.loads(line) for line in open(output)]
    else:
        names = args.datasets.split(",") if args.datasets else _tables(args.external)
        runs = [(n, int(size), int(seed)) for n in names for size in args.sizes.split(",")
                for seed in args.seeds.split(",")]
        # Seed by seed (a run cut short still has whole seeds), largest first within one.
        runs.sort(key=lambda r: (r[2], -r[1]))
        records = run_all(run_one, runs, args, keys=("dataset", "n_train", "seed"),
                          jobs=args.jobs, output=output)
    command = "python benchmarks/bench_small_data.py " + " ".join(
        a for a in sys.argv[1:] if a != "--render-only"
    )
    table = to_markdown(records, args.models, command)
    print(table)
    if args.write_doc:
        from docsection import replace_section

        replace_section(args.doc, f"small_data{suffix}", "\n" + table + "\n")


if __name__ == "__main__":
    main()
