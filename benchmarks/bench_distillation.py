"""Distilled students against their teacher and a single network, on the public tables.

For every table and seed: the saved split (``benchmarks/splits``; training
rows capped at ``--max-train``, test rows at ``--max-test``); the teacher is
the default deep ensemble (8 members), the baseline a single network (the
same estimator with ``n_members=1``), the student a ``DistilledClassifier`` /
``DistilledRegressor`` of the fitted teacher at its defaults (one network,
one noisy copy of each training row in the transfer set). Reported: test log
loss (classification) or Gaussian NLL (regression) of each, the share of the
teacher's gain over the single network that the student keeps, the
student's 90% interval coverage (regression), and the prediction time and
parameter count of the student over the teacher's.

    python benchmarks/bench_distillation.py --seeds 0,1 --write-doc
    python benchmarks/bench_distillation.py --external --seeds 0,1 --write-doc
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))

from benchutil import capped_split, timed  # noqa: E402


def _n_parameters(estimator):
    return sum(p.numel() for p in estimator.net_.module_.parameters())


def run_one(name, seed, args):
    from scipy.stats import norm
    from sklearn.metrics import log_loss

    from skens import (
        DeepEnsembleClassifier,
        DeepEnsembleRegressor,
        DistilledClassifier,
        DistilledRegressor,
    )
    from skens.metrics import gaussian_nll_loss

    X_train, y_train, X_test, y_test, task = capped_split(
        name, seed, external=args.external, max_train=args.max_train, max_test=args.max_test
    )
    regression = task == "regression"
    Ensemble = DeepEnsembleRegressor if regression else DeepEnsembleClassifier
    Student = DistilledRegressor if regression else DistilledClassifier
    teacher = Ensemble(random_state=seed).fit(X_train, y_train)
    single = Ensemble(n_members=1, random_state=seed).fit(X_train, y_train)
    student = Student(teacher, random_state=seed).fit(X_train, y_train)
    record = dict(dataset=name, seed=seed, task=task, n_train=len(y_train), n_test=len(y_test))
    for label, model in (("teacher", teacher), ("single", single), ("student", student)):
        if regression:
            (mean, std), seconds = timed(lambda m=model: m.predict(X_test, return_std=True))
            z = norm.ppf(0.95)
            record[label] = dict(
                loss=gaussian_nll_loss(y_test, mean, std),
                coverage_90=float(np.mean(np.abs(y_test - mean) <= z * std)),
                rmse=float(np.sqrt(np.mean((y_test - mean) ** 2))),
                seconds=seconds,
                parameters=_n_parameters(model),
            )
        else:
            proba, seconds = timed(lambda m=model: m.predict_proba(X_test))
            record[label] = dict(
                loss=log_loss(y_test, proba, labels=model.classes_),
                accuracy=float(np.mean(model.classes_[proba.argmax(1)] == y_test)),
                seconds=seconds,
                parameters=_n_parameters(model),
            )
    gain = record["single"]["loss"] - record["teacher"]["loss"]
    record["gain_kept"] = (
        (record["single"]["loss"] - record["student"]["loss"]) / gain if gain > 0 else None
    )
    record["fidelity"] = student.fidelity_
    return record


def to_markdown(records, command):
    lines = [
        "| dataset | seed | metric | teacher (8) | single | student | gain kept | student "
        "90% coverage | time student/teacher | parameters student/teacher |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['seed']} | error: {r['error']} |")
            continue
        metric = "NLL" if r["task"] == "regression" else "log loss"
        kept = "–" if r["gain_kept"] is None else f"{r['gain_kept']:.0%}"
        coverage = (
            f"{r['student']['coverage_90']:.1%}" if "coverage_90" in r["student"] else "–"
        )
        lines.append(
            f"| {r['dataset']} | {r['seed']} | {metric} | {r['teacher']['loss']:.4f} | "
            f"{r['single']['loss']:.4f} | {r['student']['loss']:.4f} | {kept} | {coverage} | "
            f"{r['student']['seconds'] / r['teacher']['seconds']:.2f} | "
            f"{r['student']['parameters'] / r['teacher']['parameters']:.2f} |"
        )
    # The share kept is noise where the teacher's gain is tiny: only gains of at least 1%
    # of the single network's loss count.
    kept = [
        r["gain_kept"] for r in records
        if r.get("gain_kept") is not None
        and r["single"]["loss"] - r["teacher"]["loss"] >= 0.01 * abs(r["single"]["loss"])
    ]
    covered = [r["student"]["coverage_90"] for r in records
               if "error" not in r and "coverage_90" in r["student"]]
    if kept:
        lines += [
            "",
            f"Median share of the teacher's gain over a single network kept by the student: "
            f"{np.median(kept):.0%} over the {len(kept)} runs where the teacher beat the single "
            f"network by at least 1% (target ≥ 70%).",
        ]
    if covered:
        inside = sum(0.85 <= c <= 0.95 for c in covered)
        lines.append(
            f"Student 90% interval coverage within 85–95% on {inside} of {len(covered)} "
            "regression runs."
        )
    lines += ["", f"Command: `{command}`"]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--datasets", help="comma-separated subset")
    parser.add_argument("--max-train", type=int, default=3000)
    parser.add_argument("--max-test", type=int, default=3000)
    parser.add_argument("--external", action="store_true", help="the external tables")
    parser.add_argument("--output", default=None)
    parser.add_argument("--write-doc", action="store_true")
    parser.add_argument("--doc", default=str(ROOT / "doc" / "benchmarks.md"))
    args = parser.parse_args()
    if args.external:
        import external_datasets

        default_names = list(external_datasets.TABLES)
    else:
        import datasets

        default_names = list(datasets.DATASETS)
    names = args.datasets.split(",") if args.datasets else default_names
    suffix = "_external" if args.external else ""
    output = args.output or ROOT / "benchmarks" / "results" / f"bench_distillation{suffix}.jsonl"
    records = []
    with open(output, "w") as out:
        for name in names:
            for seed in (int(s) for s in args.seeds.split(",")):
                try:
                    record = run_one(name, seed, args)
                except Exception as exc:  # recorded; the run goes on
                    record = dict(dataset=name, seed=seed, error=f"{type(exc).__name__}: {exc}")
                records.append(record)
                out.write(json.dumps(record) + "\n")
                out.flush()
                print(json.dumps(record), flush=True)
    command = "python benchmarks/bench_distillation.py " + " ".join(sys.argv[1:])
    table = to_markdown(records, command)
    print(table)
    if args.write_doc:
        from docsection import replace_section

        replace_section(args.doc, f"distillation{suffix}", "\n" + table + "\n")


if __name__ == "__main__":
    main()
