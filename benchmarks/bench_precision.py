"""Mixed precision against fp32: speed and test log loss / Gaussian NLL on real tables.

For every dataset, one split (``--seed``, 25% test, stratified for
classification; the training part capped at ``--max-train`` rows), the
default ``DeepEnsembleClassifier`` / ``DeepEnsembleRegressor`` is fitted
with ``precision='fp32'`` and with ``precision='bf16'`` (same seed, same
split), on ``--device``. Recorded: fit seconds and epochs, test log loss and
accuracy (classification) or Gaussian NLL and RMSE in target units
(regression).

The tables are the public datasets of ``shared/DATASETS.md``
(``benchmarks/datasets.py``) and the external tables of
``benchmarks/external_datasets.py``. A GPU machine may lack the packages
that carry them: ``--export FILE`` pickles them here, ``--data FILE`` reads
them there (at most ``--export-rows`` rows per table, a fixed random subset).

    python benchmarks/bench_precision.py --export .devdata/tables.pkl.gz
    python benchmarks/bench_precision.py --data .devdata/tables.pkl.gz --device cuda --write-doc
"""

import argparse
import json
import pickle
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))

PRECISIONS = ("fp32", "bf16")


def _cap(X, y, max_rows):
    """At most ``max_rows`` rows, a fixed random subset."""
    if len(X) <= max_rows:
        return X, y
    rows = np.sort(np.random.RandomState(0).choice(len(X), max_rows, replace=False))
    return X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)


def export(path, max_rows):
    import gzip

    import datasets
    import external_datasets

    tables = {}
    for name in datasets.DATASETS:
        X, y, task = datasets.load(name)
        tables[name] = (*_cap(X, y, max_rows), task, "public")
    for name in external_datasets.TABLES:
        X, y, task = external_datasets.load(name)
        tables[name] = (*_cap(X, y, max_rows), task, "external")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        pickle.dump(tables, f)
    print(f"wrote {len(tables)} tables to {path}")


def run_one(name, X, y, task, source, args):
    import torch
    from sklearn.metrics import accuracy_score, log_loss, mean_squared_error
    from sklearn.model_selection import train_test_split

    from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
    from skens.metrics import gaussian_nll_loss

    classification = task != "regression"
    y = np.asarray(y)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y if classification else None
    )
    if len(y_train) > args.max_train:
        X_train, y_train = X_train.iloc[: args.max_train], y_train[: args.max_train]
    Estimator = DeepEnsembleClassifier if classification else DeepEnsembleRegressor
    record = dict(dataset=name, source=source, task=task, n_train=len(y_train),
                  n_test=len(y_test), seed=args.seed, device=args.device)
    for precision in PRECISIONS:
        est = Estimator(device=args.device, precision=precision, random_state=args.seed)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        est.fit(X_train, y_train)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        record[f"fit_seconds_{precision}"] = time.perf_counter() - start
        record[f"epochs_{precision}"] = est.n_iter_
        if classification:
            proba = est.predict_proba(X_test)
            record[f"log_loss_{precision}"] = log_loss(y_test, proba, labels=est.classes_)
            record[f"accuracy_{precision}"] = accuracy_score(y_test, est.classes_[proba.argmax(1)])
        else:
            mean, std = est.predict(X_test, return_std=True)
            record[f"nll_{precision}"] = gaussian_nll_loss(y_test, mean, std)
            record[f"rmse_{precision}"] = float(np.sqrt(mean_squared_error(y_test, mean)))
    return record


def to_markdown(records, command):
    lines = [
        "| dataset | source | task | train rows | metric | fp32 | bf16 | bf16 − fp32 | "
        "fit s fp32 | fit s bf16 | bf16 / fp32 time |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r.get('source', '')} | error: {r['error']} |")
            continue
        metric = "log loss" if r["task"] != "regression" else "NLL"
        key = "log_loss" if r["task"] != "regression" else "nll"
        a, b = r[f"{key}_fp32"], r[f"{key}_bf16"]
        ta, tb = r["fit_seconds_fp32"], r["fit_seconds_bf16"]
        lines.append(
            f"| {r['dataset']} | {r['source']} | {r['task']} | {r['n_train']:,} | {metric} | "
            f"{a:.4f} | {b:.4f} | {b - a:+.4f} | {ta:.1f} | {tb:.1f} | {tb / ta:.2f} |"
        )
    ok = [r for r in records if "error" not in r]
    for source in ("public", "external"):
        group = [r for r in ok if r["source"] == source]
        if not group:
            continue
        deltas = []
        for r in group:
            key = "log_loss" if r["task"] != "regression" else "nll"
            deltas.append(r[f"{key}_bf16"] - r[f"{key}_fp32"])
        times = [r["fit_seconds_bf16"] / r["fit_seconds_fp32"] for r in group]
        lines.append("")
        lines.append(
            f"{source}: bf16 loss lower on {sum(d < 0 for d in deltas)} of {len(group)}, "
            f"median difference {np.median(deltas):+.4f}; median fit-time ratio "
            f"bf16/fp32 {np.median(times):.2f}."
        )
    lines += ["", f"Command: `{command}`"]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", help="pickle the tables to this file and stop")
    parser.add_argument("--export-rows", type=int, default=15_000,
                        help="rows kept per table by --export (a fixed random subset)")
    parser.add_argument("--data", help="read the tables from this (gzip) pickle")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--datasets", help="comma-separated subset")
    parser.add_argument("--max-train", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None)
    parser.add_argument("--write-doc", action="store_true")
    parser.add_argument("--doc", default=str(ROOT / "doc" / "benchmarks.md"))
    parser.add_argument("--budget", type=float, default=None,
                        help="stop starting new datasets after this many seconds")
    args = parser.parse_args()
    if args.export:
        export(args.export, args.export_rows)
        return
    if args.data:
        import gzip

        with gzip.open(args.data, "rb") as f:
            tables = pickle.load(f)
    else:
        import datasets
        import external_datasets

        tables = {n: (*datasets.load(n), "public") for n in datasets.DATASETS}
        tables.update({n: (*external_datasets.load(n), "external")
                       for n in external_datasets.TABLES})
    names = args.datasets.split(",") if args.datasets else list(tables)
    kind = "cuda" if args.device.startswith("cuda") else "cpu"
    output = Path(args.output or ROOT / "benchmarks" / "results" / f"bench_precision_{kind}.jsonl")
    output.parent.mkdir(parents=True, exist_ok=True)
    import torch

    machine = torch.cuda.get_device_name() if kind == "cuda" else platform.processor()
    records, start = [], time.perf_counter()
    with open(output, "w") as out:
        for name in names:
            if args.budget and time.perf_counter() - start > args.budget:
                print(f"budget spent; {name} and later skipped", flush=True)
                break
            X, y, task, source = tables[name]
            try:
                record = run_one(name, X, y, task, source, args)
            except Exception as exc:  # recorded, the run goes on
                record = dict(dataset=name, source=source, error=f"{type(exc).__name__}: {exc}")
            record.update(machine=machine, torch=torch.__version__)
            records.append(record)
            out.write(json.dumps(record) + "\n")
            out.flush()
            print(json.dumps(record), flush=True)
    command = "python benchmarks/bench_precision.py " + " ".join(sys.argv[1:])
    table = to_markdown(records, command)
    print(table)
    if args.write_doc:
        from docsection import replace_section

        replace_section(args.doc, f"precision-{kind}", "\n" + table + "\n")


if __name__ == "__main__":
    main()
