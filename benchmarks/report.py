"""Turn benchmark results (JSONL) into tables, checks and plots in doc/benchmarks.md.

    python benchmarks/report.py                             # benchmarks/results/benchmark.jsonl
    python benchmarks/report.py --results a.jsonl b.jsonl        # several runs merged
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from docsection import replace_section

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "doc" / "figures"

CLASSIFICATION_COLUMNS = [
    ("log_loss", "log loss", True), ("accuracy", "accuracy", False), ("roc_auc", "ROC AUC", False),
    ("ece", "ECE", True), ("brier", "Brier", True), ("aurc", "AURC", True),
    ("fit_seconds", "fit s", True),
]
REGRESSION_COLUMNS = [
    ("rmse", "RMSE", True), ("r2", "R²", False), ("nll", "NLL", True), ("crps", "CRPS", True),
    ("coverage90", "90% cov.", None), ("width90", "90% width", None),
    ("fit_seconds", "fit s", True),
]
BASELINES_TO_BEAT = ["hgb", "rf", "bagged_mlp", "skorch_mlp"]
LABELS = {
    "skens": "skens DeepEnsemble (default)",
    "skens_single": "skens, n_members=1",
    "hgb": "HistGradientBoosting",
    "rf": "RandomForest",
    "linear": "LogisticRegression / RidgeCV",
    "sklearn_mlp": "sklearn MLP",
    "bagged_mlp": "Bagging of 5 sklearn MLPs",
    "skorch_mlp": "single skorch MLP",
    "lightgbm": "LightGBM",
    "xgboost": "XGBoost",
    "realmlp": "RealMLP (pytabkit)",
    "tabm": "TabM (pytabkit)",
}


def load(paths):
    rows = []
    for path in paths:
        rows += [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    # the last run of a (dataset, model, seed) wins
    latest = {(r["dataset"], r["model"], r["seed"]): r for r in rows}
    return list(latest.values())


def aggregate(rows):
    """mean over seeds: table[dataset][model][metric]"""
    groups = defaultdict(list)
    for row in rows:
        if row.get("status") == "ok":
            groups[(row["dataset"], row["model"])].append(row)
    table = defaultdict(dict)
    for (dataset, model), runs in groups.items():
        metrics = {k for r in runs for k, v in r.items() if isinstance(v, (int, float))}
        table[dataset][model] = {
            k: float(np.mean([r[k] for r in runs if k in r])) for k in metrics if k != "seed"
        }
        table[dataset][model]["task"] = runs[0]["task"]
        table[dataset][model]["n_seeds"] = len(runs)
    return table


def mean_ranks(table, models, metric, task_filter):
    from scipy.stats import rankdata

    ranks = defaultdict(list)
    for by_model in table.values():
        present = [m for m in models if m in by_model and metric in by_model[m]]
        if not present or not task_filter(next(iter(by_model.values()))["task"]):
            continue
        if len(present) < len(models):
            continue  # rank only on datasets where every model ran
        values = [by_model[m][metric] for m in present]
        for m, r in zip(present, rankdata(values)):
            ranks[m].append(r)
    return {m: float(np.mean(r)) for m, r in ranks.items()}


def normalised(table, models, metric, task_filter):
    """Per dataset (value - best) / (worst - best), averaged: 0 is best everywhere."""
    scores = defaultdict(list)
    for by_model in table.values():
        present = [m for m in models if m in by_model and metric in by_model[m]]
        if len(present) < len(models) or not task_filter(by_model[present[0]]["task"]):
            continue
        values = np.array([by_model[m][metric] for m in present])
        spread = values.max() - values.min()
        for m, v in zip(present, values):
            scores[m].append(0.0 if spread == 0 else (v - values.min()) / spread)
    return {m: float(np.mean(s)) for m, s in scores.items()}


def _fmt(value, lower_is_better):
    return "-" if value is None else f"{value:.4g}"


def dataset_tables(table, models):
    lines = []
    for dataset in sorted(table):
        by_model = table[dataset]
        task = next(iter(by_model.values()))["task"]
        columns = REGRESSION_COLUMNS if task == "regression" else CLASSIFICATION_COLUMNS
        n_train = int(next(iter(by_model.values())).get("n_train", 0))
        lines += [f"#### {dataset} ({task}, {n_train} training rows)", ""]
        lines.append("| model | " + " | ".join(c[1] for c in columns) + " |")
        lines.append("|---|" + "---|" * len(columns))
        present = [m for m in models if m in by_model]
        best = {}
        for key, _, lower in columns:
            values = [by_model[m].get(key) for m in present if by_model[m].get(key) is not None]
            if values and lower is not None and key != "fit_seconds":
                best[key] = min(values) if lower else max(values)
        for m in present:
            cells = []
            for key, _, lower in columns:
                value = by_model[m].get(key)
                text = _fmt(value, lower)
                if value is not None and best.get(key) == value:
                    text = f"**{text}**"
                cells.append(text)
            lines.append(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def checks(table, models):
    """The issue's targets, checked on the results."""
    is_clf = lambda t: t != "regression"  # noqa: E731
    is_reg = lambda t: t == "regression"  # noqa: E731
    lines = []

    def verdict(ok):
        return "**met**" if ok else "**missed**"

    worse_single, total = [], 0
    for dataset, by_model in sorted(table.items()):
        if "skens" not in by_model or "skens_single" not in by_model:
            continue
        task = by_model["skens"]["task"]
        metric = "nll" if task == "regression" else "log_loss"
        total += 1
        if not by_model["skens"][metric] < by_model["skens_single"][metric]:
            worse_single.append(dataset)
    lines.append(
        f"- Default ensemble beats its own single member (log loss / Gaussian NLL) on "
        f"{total - len(worse_single)} of {total} datasets: {verdict(not worse_single)}"
        + (f" (not on {', '.join(worse_single)})" if worse_single else "")
    )
    ranks = mean_ranks(table, [m for m in models if m in MAIN_ORDER], "log_loss", is_clf)
    if "skens" in ranks:
        behind = [b for b in BASELINES_TO_BEAT if b in ranks and ranks[b] <= ranks["skens"]]
        lines.append(
            f"- Mean rank by log loss: skens {ranks['skens']:.2f} vs "
            + ", ".join(f"{LABELS[b]} {ranks[b]:.2f}" for b in BASELINES_TO_BEAT if b in ranks)
            + f": {verdict(not behind)}"
        )
    rmse_ranks = mean_ranks(table, [m for m in models if m in MAIN_ORDER], "rmse", is_reg)
    if "skens" in rmse_ranks and "hgb" in rmse_ranks:
        lines.append(
            f"- Mean rank by RMSE: skens {rmse_ranks['skens']:.2f} vs HistGradientBoosting "
            f"{rmse_ranks['hgb']:.2f}: {verdict(rmse_ranks['skens'] <= rmse_ranks['hgb'])}"
        )
    outside = []
    for dataset, by_model in sorted(table.items()):
        cov = by_model.get("skens", {}).get("coverage90")
        if cov is not None and not 0.85 <= cov <= 0.95:
            outside.append(f"{dataset} {cov:.1%}")
    covs = [
        f"{d} {t['skens']['coverage90']:.1%}" for d, t in sorted(table.items())
        if "coverage90" in t.get("skens", {})
    ]
    lines.append(
        "- 90% intervals cover 85–95% of test points on every regression dataset ("
        + ", ".join(covs) + f"): {verdict(not outside)}"
    )
    return lines


def peer_comparison(table):
    lines = []
    for peer in ["tabm", "realmlp", "lightgbm", "xgboost"]:
        diffs, speed = [], []
        for dataset, by_model in sorted(table.items()):
            if peer not in by_model or "skens" not in by_model:
                continue
            metric = "nll" if by_model["skens"]["task"] == "regression" else "log_loss"
            if metric not in by_model[peer]:
                metric = "rmse"
            diffs.append((dataset, metric, by_model["skens"][metric], by_model[peer][metric]))
            speed.append(by_model[peer]["fit_seconds"] / by_model["skens"]["fit_seconds"])
        if not diffs:
            continue
        ahead = [f"{d} ({m} {p:.4g} vs {s:.4g})" for d, m, s, p in diffs if p < s]
        lines.append(
            f"- {LABELS[peer]}: ahead of skens on {len(ahead)} of {len(diffs)} datasets"
            + (": " + "; ".join(ahead) if ahead else "")
            + f". Its fit takes {np.median(speed):.1f}× skens' (median over datasets)."
        )
    return lines


def grid_table(table):
    """Each grid variant against the default of the same run: mean change of the proper score.

    ``table`` comes from the grid's own results file, so the default and the
    variants ran in one process under the same conditions (seeds, threads).
    """
    variants = sorted(
        {m for by_model in table.values() for m in by_model if m.startswith("skens[")}
    )
    if not variants:
        return []
    lines = [
        "| variant | datasets | mean Δ log loss / NLL vs default | better on "
        "| mean Δ RMSE (regression) | fit time vs default |",
        "|---|---|---|---|---|---|",
    ]
    for variant in variants:
        deltas, better, rmse, times = [], 0, [], []
        for by_model in table.values():
            if variant not in by_model or "skens" not in by_model:
                continue
            base, other = by_model["skens"], by_model[variant]
            metric = "nll" if base["task"] == "regression" else "log_loss"
            deltas.append(other[metric] - base[metric])
            better += other[metric] < base[metric]
            if base["task"] == "regression":
                rmse.append((other["rmse"] - base["rmse"]) / base["rmse"])
            times.append(other["fit_seconds"] / base["fit_seconds"])
        if not deltas:
            continue
        rmse_text = f"{100 * np.mean(rmse):+.1f}%" if rmse else "-"
        lines.append(
            f"| `{variant[6:-1]}` | {len(deltas)} | {np.mean(deltas):+.4f} "
            f"| {better}/{len(deltas)} "
            f"| {rmse_text} | {np.median(times):.2f}× |"
        )
    return lines


MAIN_ORDER = list(LABELS)


def plots(table, models, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skens.metrics import ReliabilityDisplay

    FIGURES.mkdir(parents=True, exist_ok=True)
    made = []
    for task_name, metric, flt in [
        ("classification", "log_loss", lambda t: t != "regression"),
        ("regression", "nll_or_rmse", lambda t: t == "regression"),
    ]:
        key = "log_loss" if metric == "log_loss" else "rmse"
        norm = normalised(table, models, key, flt)
        if not norm:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for m, score in norm.items():
            times = [
                by[m]["fit_seconds"] for by in table.values() if m in by and flt(by[m]["task"])
            ]
            ax.scatter(np.median(times), score, s=40)
            ax.annotate(LABELS.get(m, m), (np.median(times), score), fontsize=7,
                        xytext=(4, 2), textcoords="offset points")
        ax.set(xscale="log", xlabel="median fit seconds (log scale)",
               ylabel=f"normalised {key.replace('_', ' ')} (0 = best, 1 = worst)",
               title=f"{task_name}: score against fit time")
        path = FIGURES / f"benchmark_{task_name}_score_vs_time.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)

        ranks = mean_ranks(table, models, key, flt)
        order = sorted(ranks, key=ranks.get)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.barh([LABELS.get(m, m) for m in order][::-1], [ranks[m] for m in order][::-1])
        ax.set(xlabel=f"mean rank by {key.replace('_', ' ')} (lower is better)",
               title=f"{task_name}: mean rank")
        path = FIGURES / f"benchmark_{task_name}_ranks.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)

    # Reliability diagrams on the largest classification dataset with stored probabilities.
    candidates = [
        r for r in rows if r.get("status") == "ok" and "_proba_sample" in r and r["seed"] == 0
    ]

    def size(d):
        return -table[d]["skens"].get("n_test", 0) if "skens" in table[d] else 0

    datasets = sorted({r["dataset"] for r in candidates}, key=size)
    if datasets:
        dataset = datasets[0]
        chosen = [m for m in ["skens", "skens_single", "hgb", "tabm"]
                  if any(r["dataset"] == dataset and r["model"] == m for r in candidates)]
        fig, axes = plt.subplots(1, len(chosen), figsize=(4.2 * len(chosen), 4))
        for ax, m in zip(np.atleast_1d(axes), chosen):
            r = next(r for r in candidates if r["dataset"] == dataset and r["model"] == m)
            proba = np.array(r["_proba_sample"])
            y = np.array(r["_y_sample"])
            labels = np.unique(y) if proba.shape[1] == len(np.unique(y)) else None
            ReliabilityDisplay.from_predictions(
                y, proba, n_bins=10, labels=labels, name=LABELS.get(m, m), ax=ax
            )
            ax.set_title(dataset, fontsize=9)
        fig.tight_layout()
        path = FIGURES / "benchmark_reliability.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        made.append(path)
    return made


def timing_table(rows):
    """Fit seconds of a run made alone on the machine, and each model's ratio to skens'."""
    table = aggregate(rows)
    models = [m for m in MAIN_ORDER if any(m in by for by in table.values())]
    lines = ["| dataset | " + " | ".join(LABELS.get(m, m) for m in models) + " |",
             "|---|" + "---|" * len(models)]
    for dataset, by_model in sorted(table.items()):
        base = by_model.get("skens", {}).get("fit_seconds")
        cells = []
        for m in models:
            seconds = by_model.get(m, {}).get("fit_seconds")
            if seconds is None:
                cells.append("-")
            elif base and m != "skens":
                cells.append(f"{seconds:.1f} s ({seconds / base:.1f}×)")
            else:
                cells.append(f"{seconds:.1f} s")
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    return lines


def render(rows, meta, grid_rows=(), grid_meta=None, timing_rows=(), timing_meta=None):
    table = aggregate(rows)
    models = [m for m in MAIN_ORDER if any(m in by for by in table.values())]
    failures = [r for r in rows if r.get("status") != "ok"]
    lines = [
        f"Machine: {meta.get('machine', '?')}; Python {meta.get('python', '?')}. "
        f"Command: `{meta.get('command', '?')}`, then `python benchmarks/report.py`.",
        "",
        *([meta["note"], ""] if meta.get("note") else []),
        "### Targets",
        "",
        *checks(table, models),
        "",
        "### Against the strongest peers",
        "",
        *peer_comparison(table),
        "",
        "### Mean ranks and normalised scores (main models)",
        "",
    ]
    is_clf = lambda t: t != "regression"  # noqa: E731
    is_reg = lambda t: t == "regression"  # noqa: E731
    summary = {
        "log loss rank": mean_ranks(table, models, "log_loss", is_clf),
        "log loss norm.": normalised(table, models, "log_loss", is_clf),
        "ECE rank": mean_ranks(table, models, "ece", is_clf),
        "RMSE rank": mean_ranks(table, models, "rmse", is_reg),
        "RMSE norm.": normalised(table, models, "rmse", is_reg),
        "median fit s": {
            m: float(np.median([by[m]["fit_seconds"] for by in table.values() if m in by]))
            for m in models
        },
    }
    lines.append("| model | " + " | ".join(summary) + " |")
    lines.append("|---|" + "---|" * len(summary))
    for m in models:
        cells = [f"{summary[k][m]:.2f}" if m in summary[k] else "-" for k in summary]
        lines.append(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Ranks are over the datasets where every main model ran; normalised scores map each "
        "dataset's best model to 0 and worst to 1.",
        "",
    ]
    if timing_rows:
        command = (timing_meta or {}).get("command", "?")
        lines += ["### Fit time, measured alone on the machine", "",
                  "The same models and splits, run one at a time with nothing else on the two "
                  f"cores (seed 0). Command: `{command}`.", "",
                  *timing_table(timing_rows), ""]
    grid = grid_table(aggregate(grid_rows)) if grid_rows else []
    if grid:
        command = (grid_meta or {}).get("command", "?")
        lines += ["### The grid that sets the defaults", "",
                  "Each variant changes one parameter of the default and is compared with the "
                  "default fitted in the same run (seed 0); Δ < 0 is better. "
                  f"Command: `{command}`.", "",
                  *grid, ""]
    lines += ["### Per dataset (mean over seeds; best in bold)", "", *dataset_tables(table, models)]
    if failures:
        lines += ["### Failed runs", ""]
        lines += [f"- {r['dataset']} / {r['model']} / seed {r['seed']}: {r.get('status')} — "
                  f"{str(r.get('error', ''))[:200]}" for r in failures]
        lines.append("")
    figures = plots(table, models, rows)
    if figures:
        lines += ["### Plots", ""]
        lines += [f"![{p.stem}](figures/{p.name})" for p in figures]
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--results",
        nargs="+",
        default=[
            str(ROOT / "benchmarks" / "results" / "benchmark.jsonl"),
            str(ROOT / "benchmarks" / "results" / "benchmark_skens.jsonl"),
        ],
    )
    parser.add_argument(
        "--grid-results",
        default=str(ROOT / "benchmarks" / "results" / "benchmark_grid.jsonl"),
        help="results of run_benchmark.py --grid (skipped when the file is missing)",
    )
    parser.add_argument(
        "--timing-results",
        default=str(ROOT / "benchmarks" / "results" / "benchmark_timing.jsonl"),
        help="a run made alone on the machine, for fit times (skipped when missing)",
    )
    parser.add_argument("--doc", type=Path, default=ROOT / "doc" / "benchmarks.md")
    args = parser.parse_args()
    rows = load(args.results)

    def read_meta(path):
        meta_path = Path(path).with_suffix(".meta.json")
        return json.loads(meta_path.read_text()) if meta_path.exists() else {}

    grid_path, timing_path = Path(args.grid_results), Path(args.timing_results)
    grid_rows = load([grid_path]) if grid_path.exists() else []
    timing_rows = load([timing_path]) if timing_path.exists() else []
    text = render(
        rows, read_meta(args.results[0]), grid_rows, read_meta(grid_path),
        timing_rows, read_meta(timing_path),
    )
    replace_section(args.doc, "suite", text)
    print(text)


if __name__ == "__main__":
    main()
