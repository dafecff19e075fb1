"""Report ensemble selection against every member of its pool, into doc/benchmarks.md.

Reads the suite's stand-alone runs of the pool members (``benchmark.jsonl``:
hgb, rf, linear, lightgbm, xgboost; ``benchmark_skens.jsonl``: skens, the deep
ensemble) and the selection runs (``benchmark_selection*.jsonl``), all on the
same saved splits and seeds, and writes the ``selection`` section of
``doc/benchmarks.md``: mean ranks over the (dataset, seed) pairs where every
model ran, the regression NLL and 90% coverage against the deep ensemble, the
weights, and the fit time against the members' own fit times.

    python benchmarks/report_selection.py
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from docsection import replace_section
from scipy.stats import rankdata

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
POOL = ["skens", "hgb", "rf", "linear", "lightgbm", "xgboost"]
LABELS = {
    "selection": "ensemble selection",
    "skens": "deep ensemble (skens)",
    "hgb": "HistGradientBoosting",
    "rf": "random forest",
    "linear": "linear",
    "lightgbm": "LightGBM",
    "xgboost": "XGBoost",
}
POOL_NAMES = {
    "deep_ensemble": "skens",
    "hist_gradient_boosting": "hgb",
    "random_forest": "rf",
    "linear": "linear",
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
}


def _load(paths):
    runs = {}
    for path in paths:
        if not path.exists():
            continue
        for line in path.open():
            r = json.loads(line)
            if r.get("status") == "ok":
                runs[(r["dataset"], r["seed"], r["model"])] = r
    return runs


HALF_A = ("diabetes", "concrete")  # where the regression default was chosen


def _study(path, default):
    """Rows of study_selection_metric.py, and a summary table of its variants by half."""
    if not path.exists():
        return [], ""
    rows = [json.loads(line) for line in path.open()]
    variants = sorted({(r["metric"], r["calibrate_variance"]) for r in rows})
    by_run = defaultdict(dict)
    for r in rows:
        by_run[(r["dataset"], r["seed"])][(r["metric"], r["calibrate_variance"])] = r
    runs = {k: v for k, v in by_run.items() if len(v) == len(variants)}
    table = []
    for half, name in [("A (chosen on)", True), ("B (confirmed on)", False)]:
        keys = [k for k in runs if (k[0] in HALF_A) == name]
        if not keys:
            continue
        rmse_rank, nll_rank = defaultdict(list), defaultdict(list)
        for k in keys:
            for metric, ranks in (("rmse", rmse_rank), ("nll", nll_rank)):
                values = np.array([runs[k][v][metric] for v in variants])
                for v, r in zip(variants, rankdata(values)):
                    ranks[v].append(r)
        for v in variants:
            inside = sum(85 <= 100 * runs[k][v]["coverage90"] <= 95 for k in keys)
            table.append(
                (
                    half,
                    f"metric={v[0]!r}, calibrate_variance={v[1]}"
                    + (" **(default)**" if v == default else ""),
                    f"{np.mean(rmse_rank[v]):.2f}",
                    f"{np.mean(nll_rank[v]):.2f}",
                    f"{inside} of {len(keys)}",
                )
            )
        datasets = sorted({k[0] for k in keys})
        table.append((half, f"runs: {len(keys)} ({', '.join(datasets)})", "", "", ""))
    text = _table(
        ["half", "variant", "mean RMSE rank", "mean NLL rank", "coverage90 in 85–95%"], table
    )
    chosen = [r for r in rows if (r["metric"], r["calibrate_variance"]) == default]
    return chosen, text


def _ranks(runs, metric, models, tasks):
    """Mean rank (1 = best) per model over the (dataset, seed) pairs where all ran."""
    pairs = sorted(
        {(d, s) for d, s, m in runs if m == "selection" and runs[(d, s, m)]["task"] in tasks}
    )
    complete = [p for p in pairs if all((*p, m) in runs for m in models)]
    if not complete:
        return complete, {}
    ranks = defaultdict(list)
    for d, s in complete:
        values = np.array([runs[(d, s, m)][metric] for m in models])
        order = rankdata(values)
        for m, r in zip(models, order):
            ranks[m].append(r)
    return complete, {m: float(np.mean(ranks[m])) for m in models}


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--doc", default=str(HERE.parent / "doc" / "benchmarks.md"))
    parser.add_argument("--regression-metric", default="squared_error")
    parser.add_argument("--calibrate-variance", action="store_true")
    args = parser.parse_args(argv)
    runs = _load(
        [RESULTS / "benchmark.jsonl", RESULTS / "benchmark_skens.jsonl"]
        + sorted(RESULTS.glob("benchmark_selection*.jsonl"))
    )
    # Regression scores of the default: from the study, which scored every variant
    # on the same out-of-fold pass (the suite's regression runs used the first default).
    default = (args.regression_metric, args.calibrate_variance)
    chosen, study_table = _study(RESULTS / "selection_metric.jsonl", default)
    for r in chosen:
        key = (r["dataset"], r["seed"], "selection")
        timing = runs.get(key, {})
        runs[key] = {**timing, "task": "regression", "status": "ok",
                     **{m: r[m] for m in ("rmse", "nll", "coverage90")}}
    models = ["selection", *POOL]
    parts = [
        "Ensemble selection over the default pool (`EnsembleSelectionClassifier` / "
        "`EnsembleSelectionRegressor` with default parameters: `cv=5`, greedy selection, "
        "`ensemble_size=25`) against each pool member run alone, on the suite's saved splits "
        "(at most 4,000 training rows). Commands:\n\n"
        "```\nOMP_NUM_THREADS=1 BENCH_THREADS=1 python benchmarks/run_benchmark.py --seeds 0 1 "
        "--models selection --max-train-rows 4000 --max-test-rows 5000 "
        "--output benchmarks/results/benchmark_selection.jsonl --timeout 1800\n"
        "python benchmarks/report_selection.py\n```"
    ]
    for title, metric, tasks in [
        ("Mean log-loss rank (classification)", "log_loss", ("binary", "multiclass")),
        ("Mean RMSE rank (regression)", "rmse", ("regression",)),
    ]:
        complete, ranks = _ranks(runs, metric, models, tasks)
        if not complete:
            continue
        rows = [(LABELS[m], f"{ranks[m]:.2f}") for m in sorted(models, key=ranks.get)]
        datasets = sorted({d for d, _ in complete})
        parts.append(
            f"**{title}**, 1 = best, over {len(complete)} (dataset, seed) pairs "
            f"({len(datasets)} datasets: {', '.join(datasets)}):\n\n"
            + _table(["model", "mean rank"], rows)
        )
        per = []
        for d, s in complete:
            values = {m: runs[(d, s, m)][metric] for m in models}
            best_member = min(POOL, key=values.get)
            per.append(
                (
                    d,
                    s,
                    f"{values['selection']:.4g}",
                    f"{LABELS[best_member]} {values[best_member]:.4g}",
                    "yes" if values["selection"] <= values[best_member] else "no",
                )
            )
        parts.append(
            _table(
                ["dataset", "seed", f"selection {metric}", "best member alone", "selection best?"],
                per,
            )
        )
    # Regression: NLL and coverage against the deep ensemble.
    rows = []
    for (d, s, m), r in sorted(runs.items()):
        if m != "selection" or r["task"] != "regression":
            continue
        deep = runs.get((d, s, "skens"), {})
        rows.append(
            (
                d,
                s,
                f"{r['nll']:.4f}",
                f"{deep.get('nll', float('nan')):.4f}",
                f"{100 * r['coverage90']:.1f}",
                f"{100 * deep.get('coverage90', float('nan')):.1f}",
            )
        )
    if rows:
        below = sum(float(a) < float(b) for _, _, a, b, _, _ in rows)
        inside = sum(85 <= float(c) <= 95 for _, _, _, _, c, _ in rows)
        parts.append(
            f"**Regression uncertainty.** Gaussian NLL below the deep ensemble's on {below} of "
            f"{len(rows)} runs; 90% intervals cover 85–95% of test points on {inside} of "
            f"{len(rows)} runs.\n\n"
            + _table(
                ["dataset", "seed", "selection NLL", "deep ensemble NLL", "selection coverage90 %",
                 "deep ensemble coverage90 %"],
                rows,
            )
        )
    if study_table:
        parts.append(
            "**Choosing the regression default** (`benchmarks/study_selection_metric.py`): "
            "the metric the weights minimise and the variance calibration, chosen on half A "
            f"({', '.join(HALF_A)}) and confirmed on half B; ranks among the variants, "
            "1 = best, from one out-of-fold pass per run. The regression rows above are the "
            "default's.\n\n"
            "```\nOMP_NUM_THREADS=1 python benchmarks/study_selection_metric.py --datasets "
            "diabetes concrete abalone california_housing diamonds\n```\n\n" + study_table
        )
    external = RESULTS / "selection_external.jsonl"
    if external.exists():
        rows, wins = [], 0
        for line in external.open():
            r = json.loads(line)
            metric = "rmse" if r["task"] == "regression" else "log_loss"
            members = r["members"]
            best = min(members, key=lambda k: members[k][metric])
            sel = r["selection"][metric]
            wins += sel <= members[best][metric]
            extra = ""
            if metric == "rmse":
                extra = (
                    f"NLL {r['selection']['nll']:.4f} vs deep {members['deep_ensemble']['nll']:.4f}"
                    f", coverage90 {100 * r['selection']['coverage90']:.1f}%"
                )
            rows.append(
                (r["dataset"], r["task"], r["n_train"], metric, f"{sel:.4g}",
                 f"{POOL_NAMES.get(best, best)} {members[best][metric]:.4g}", extra)
            )
        parts.append(
            "**Real tables outside `shared/DATASETS.md`** (`benchmarks/external_selection.py`, "
            "seed 0, 75/25 split, at most 2,000 training rows, every pool member also fitted "
            f"alone on the same rows): the selection is at least as good as its best member on "
            f"{wins} of {len(rows)} tables.\n\n"
            "```\nOMP_NUM_THREADS=1 python benchmarks/external_selection.py\n```\n\n"
            + _table(["table", "task", "train rows", "metric", "selection", "best member alone",
                      "uncertainty"], rows)
        )
    # Weights and time.
    rows = []
    for (d, s, m), r in sorted(runs.items()):
        if m != "selection" or "pool_weights" not in r:
            continue
        weights = ", ".join(
            f"{POOL_NAMES.get(k, k)} {v:.2f}" for k, v in r["pool_weights"].items() if v > 0
        )
        member_sum = sum(r["member_fit_seconds"].values())
        alone = [runs.get((d, s, POOL_NAMES[k]), {}).get("fit_seconds") for k in r["pool_weights"]]
        alone_sum = sum(a for a in alone if a is not None)
        rows.append(
            (
                f"{d} †" if r["task"] == "regression" else d,
                s,
                weights,
                f"{r['fit_seconds']:.0f}",
                f"{member_sum:.0f}",
                f"{r['selection_seconds'] * 1000:.0f} ms",
                f"{alone_sum:.0f}",
            )
        )
    if rows:
        parts.append(
            "**Weights and fit time.** *fit s*: the selection's whole fit; *members s*: the "
            "members' own fits inside it (cross-validation plus refit, measured in the same "
            "process); *weight search*: the selection step alone, re-run on the stored "
            "out-of-fold predictions; *one fit of each member s*: the members' stand-alone fit "
            "times from the suite (same split, a different and more loaded run, two threads), "
            "for scale. The selection fits ran with one thread per process, two processes at a "
            "time on the two cores. † These regression runs used the first default, "
            "`metric='nll'`, so their weights are not the default's (the study above has the "
            "default's); the fit time does not depend on the metric.\n\n"
            + _table(
                ["dataset", "seed", "weights", "fit s", "members s", "weight search",
                 "one fit of each member s"],
                rows,
            )
        )
    replace_section(args.doc, "selection", "\n\n".join(parts))
    print("\n\n".join(parts))


if __name__ == "__main__":
    main()
