"""Does a pinball-loss training option earn its place? (issue 16, item 3)

Compares, on real regression tables, two ways of predicting the quantiles
``LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)`` with the same deep ensemble:

- ``mixture`` (A): ``DeepEnsembleRegressor()`` with its defaults
  (``loss='gaussian_nll'``), quantiles of the mixture of the member
  Gaussians, ``predict_quantiles(X, LEVELS)``;
- ``pinball`` (B): the same architecture, schedule and early stopping, each
  member outputting one value per level and trained on the pinball
  (quantile) loss; validation loss (early stopping) = pinball loss of the
  ensemble's quantiles. The ensemble's quantile is the mean of the members'
  quantiles, sorted per row (no crossing). Targets are standardised exactly
  as A does (``DeepEnsembleRegressor._prepare_target``). Implemented below as
  a private subclass (``_PinballEnsembleRegressor``) with its own
  :class:`skens.nn.EnsembleTask` (``_PinballTask``); nothing in skens changes.

Per table and seed: the table's capped split (``benchutil.capped_split``:
saved splits for the public tables, a seeded 75/25 split for the external
ones; at most ``--max-train`` training and ``--max-test`` test rows), then
``--cal-fraction`` of the training rows held out as the calibration split of
CQR; both models fit on the rest. On the test rows: mean pinball loss over the
levels divided by the training target's std, coverage and mean width (also
/ std) of the 90% interval [q0.05, q0.95], and the same after split-conformal
CQR (Romano et al. 2019) on the calibration rows: score
``max(lo - y, y - hi)``, ``qhat`` = the ``ceil((n+1)(1-alpha))``-th smallest
score, interval ``[lo - qhat, hi + qhat]``. Also the fit time.

The public tables (``benchmarks/datasets.py``) are the half the decision is
made on; the external ones (``benchmarks/external_datasets.py``) confirm it.

    OMP_NUM_THREADS=1 python benchmarks/study_pinball.py --seeds 0 1 2 --jobs 2 \\
        --out benchmarks/results/study_pinball.json
    python benchmarks/study_pinball.py --report benchmarks/results/study_pinball.json \\
        --md benchmarks/results/study_pinball.md
"""

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import benchutil  # noqa: E402
import external_datasets  # noqa: E402

from skens import DeepEnsembleRegressor  # noqa: E402
from skens.nn import EnsembleMLP, EnsembleTask  # noqa: E402

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
ALPHA = 0.1  # the 90% interval [q0.05, q0.95]
PUBLIC = ["california_housing", "diamonds", "abalone", "concrete", "diabetes"]
EXTERNAL = list(external_datasets.REGRESSION)
METHODS = ("mixture", "pinball")


# ----------------------------------------------------------------- method B
def _pinball(q, target, levels):
    """Pinball loss per element: q (..., n_levels), target broadcastable to it."""
    u = target - q
    return torch.maximum(levels * u, (levels - 1) * u)


class _PinballTask(EnsembleTask):
    """Quantile regression: each member outputs ``n_outputs * n_levels`` values.

    Layout of a member's outputs: ``(n_outputs, n_levels)`` flattened, level
    fastest. Members train on their mean pinball loss over levels and
    outputs; the ensemble's quantiles are the members' mean, sorted along the
    levels, judged by their mean pinball loss (the validation loss). The
    point prediction (for the R² of ``validation_scores_``) is the median
    level.
    """

    loss_name = "pinball"
    score_name = "r2"

    def __init__(self, levels=LEVELS):
        self.levels = tuple(float(q) for q in levels)

    def _levels(self, like):
        return torch.tensor(self.levels, dtype=like.dtype, device=like.device)

    def _split_levels(self, y_pred):
        """(batch, k, n_outputs * L) -> (batch, k, n_outputs, L)."""
        return y_pred.reshape(*y_pred.shape[:-1], -1, len(self.levels))

    def module_spec(self, in_features, n_outputs, n_members, **mlp_params):
        params = dict(in_features=in_features, n_members=n_members, **mlp_params)
        return EnsembleMLP, dict(params, out_features=n_outputs * len(self.levels))

    def ensemble_quantiles(self, y_pred):
        """(batch, k, n_outputs * L) -> sorted mean over members, (batch, n_outputs, L)."""
        return self._split_levels(y_pred).mean(dim=1).sort(dim=-1).values

    def member_loss(self, y_pred, target, weight=None):
        q = self._split_levels(y_pred)  # (batch, k, d, L)
        if target.dim() == 2:  # shared rows: (batch, d) -> (batch, 1, d, 1)
            target = target[:, None, :, None]
        else:  # each member its own rows: (batch, k, d) -> (batch, k, d, 1)
            target = target.unsqueeze(-1)
        losses = _pinball(q, target, self._levels(q)).mean(dim=(-2, -1))  # (batch, k)
        return losses.mean() if weight is None else (losses * weight).mean()

    def ensemble_loss(self, y_pred, target, weight=None):
        q = self.ensemble_quantiles(y_pred)  # (batch, d, L)
        losses = _pinball(q, target.unsqueeze(-1), self._levels(q)).mean(dim=(-2, -1))
        return losses.mean() if weight is None else (losses * weight).mean()

    def point_prediction(self, y_pred):
        q = self.ensemble_quantiles(y_pred)
        return q[..., int(np.argmin(np.abs(np.asarray(self.levels) - 0.5)))]

    def score(self, prediction, target, weight=None):
        from skens.nn._tasks import _RegressionTask

        return _RegressionTask.score(self, prediction, target, weight)

    def __repr__(self):
        return f"_PinballTask(levels={self.levels})"


class _PinballEnsembleRegressor(DeepEnsembleRegressor):
    """``DeepEnsembleRegressor`` trained on the pinball loss at ``LEVELS``.

    Everything but the task (module head, losses) is the parent's: target
    standardisation, preprocessing, schedule, early stopping. ``loss='mse'``
    only tells the parent that the module predicts no variance (its
    ``noise_variance_`` is then computed and unused).
    """

    def _make_task(self):
        return _PinballTask(LEVELS)

    def predict_level_quantiles(self, X, sort=True):
        """Ensemble quantiles at ``LEVELS`` in the units of y, (n_samples, n_levels).

        ``sort=False``: the members' mean before sorting (to measure crossing).
        """
        X = self._validate_X_predict(X)
        task = self._task
        parts = [(task.ensemble_quantiles(out.double()) if sort
                  else task._split_levels(out.double()).mean(dim=1)).numpy()
                 for out in self._raw_outputs(X)]
        q = np.concatenate(parts)  # (n, d, L), standardised units
        scale, loc = self.target_scaler_.scale_, self.target_scaler_.mean_
        q = q * scale[None, :, None] + loc[None, :, None]
        return q[:, 0, :]


# ----------------------------------------------------------------- metrics
def pinball_loss(q, y, levels=LEVELS):
    """Mean pinball loss per level, q (n, L), y (n,)."""
    u = y[:, None] - q
    lv = np.asarray(levels)[None, :]
    return np.maximum(lv * u, (lv - 1) * u).mean(axis=0)


def cqr(lo_cal, hi_cal, y_cal, alpha=ALPHA):
    """Split-conformal CQR: the margin qhat added to both ends."""
    scores = np.maximum(lo_cal - y_cal, y_cal - hi_cal)
    n = len(scores)
    k = math.ceil((n + 1) * (1 - alpha))
    if k > n:
        return np.inf
    return float(np.sort(scores)[k - 1])


def interval_stats(lo, hi, y, std):
    return dict(
        coverage=float(np.mean((y >= lo) & (y <= hi))),
        width=float(np.mean(hi - lo) / std),
    )


# ----------------------------------------------------------------- one run
def _fit_quantiles(method, X_fit, y_fit, seed, max_epochs):
    kwargs = dict(random_state=seed, device="cpu")
    if max_epochs is not None:
        kwargs["max_epochs"] = max_epochs
    if method == "mixture":
        model = DeepEnsembleRegressor(**kwargs)
    else:
        model = _PinballEnsembleRegressor(loss="mse", **kwargs)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_fit, y_fit)
    fit_time = time.perf_counter() - start
    if method == "mixture":
        predict = lambda X: model.predict_quantiles(X, list(LEVELS))  # noqa: E731
    else:
        predict = model.predict_level_quantiles
    return model, predict, fit_time


def run_one(half, table, seed, method, args):
    torch.set_num_threads(args.threads)
    X_train, y_train, X_test, y_test, task = benchutil.capped_split(
        table, seed, external=(half == "external"), max_train=args.max_train,
        max_test=args.max_test,
    )
    assert task == "regression", task
    y_train, y_test = y_train.astype(float), y_test.astype(float)
    rng = np.random.RandomState(1000 + seed)
    order = rng.permutation(len(y_train))
    n_cal = int(round(args.cal_fraction * len(y_train)))
    cal, fit = order[:n_cal], order[n_cal:]
    X_fit, y_fit = X_train.iloc[fit], y_train[fit]
    X_cal, y_cal = X_train.iloc[cal], y_train[cal]
    std = float(np.std(y_fit))

    model, predict, fit_time = _fit_quantiles(method, X_fit, y_fit, seed, args.max_epochs)
    q_test = predict(X_test)
    q_unsorted = q_test if method == "mixture" else model.predict_level_quantiles(X_test, False)
    q_cal = predict(X_cal)
    i_lo, i_hi = LEVELS.index(0.05), LEVELS.index(0.95)
    per_level = pinball_loss(q_test, y_test) / std
    record = dict(
        half=half, table=table, seed=seed, method=method,
        n_fit=len(y_fit), n_cal=len(y_cal), n_test=len(y_test), y_std=std,
        fit_time=fit_time, n_iter=int(model.n_iter_),
        pinball=float(per_level.mean()),
        pinball_per_level=[float(v) for v in per_level],
        # share of test rows whose quantiles cross before B's sorting (A: after nothing)
        crossing_rate=float(np.mean(np.any(np.diff(q_unsorted, axis=1) < 0, axis=1))),
    )
    lo, hi = q_test[:, i_lo], q_test[:, i_hi]
    record.update({f"raw_{k}": v for k, v in interval_stats(lo, hi, y_test, std).items()})
    qhat = cqr(q_cal[:, i_lo], q_cal[:, i_hi], y_cal)
    record["cqr_qhat"] = qhat / std
    record.update({f"cqr_{k}": v for k, v in
                   interval_stats(lo - qhat, hi + qhat, y_test, std).items()})
    return record


def _guarded(half, table, seed, method, args):
    try:
        return run_one(half, table, seed, method, args)
    except Exception as exc:  # recorded; the other runs go on
        return dict(half=half, table=table, seed=seed, method=method,
                    error=f"{type(exc).__name__}: {exc}")


def run_all(args):
    runs = [("public", t, s, m) for t in args.public for s in args.seeds for m in METHODS]
    runs += [("external", t, s, m) for t in args.external for s in args.seeds for m in METHODS]
    out = Path(args.out)
    records = []
    if args.resume and out.exists():
        records = json.loads(out.read_text())["records"]
        done = {(r["half"], r["table"], r["seed"], r["method"]) for r in records
                if "error" not in r}
        records = [r for r in records if "error" not in r]
        runs = [r for r in runs if r not in done]
    meta = dict(command=" ".join(sys.argv), levels=LEVELS, alpha=ALPHA,
                max_train=args.max_train, max_test=args.max_test,
                cal_fraction=args.cal_fraction, max_epochs=args.max_epochs,
                seeds=args.seeds, jobs=args.jobs, threads=args.threads,
                torch=torch.__version__)

    def save(record):
        records.append(record)
        out.write_text(json.dumps(dict(meta=meta, records=records), indent=1))
        print(json.dumps({k: v for k, v in record.items() if k != "pinball_per_level"}),
              flush=True)

    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(_guarded, *run, args) for run in runs]
            for future in as_completed(futures):
                save(future.result())
    else:
        for run in runs:
            save(_guarded(*run, args))


# ----------------------------------------------------------------- report
def _table_means(records, half):
    """{table: {method: {metric: (mean, sd, n)}}} over seeds."""
    metrics = ("pinball", "raw_coverage", "raw_width", "cqr_coverage", "cqr_width",
               "fit_time", "n_iter", "crossing_rate")
    out = {}
    for r in records:
        if r["half"] != half or "error" in r:
            continue
        out.setdefault(r["table"], {}).setdefault(r["method"], []).append(r)
    summary = {}
    for table, by_method in out.items():
        summary[table] = {}
        for method, rs in by_method.items():
            summary[table][method] = {
                m: (float(np.mean([r[m] for r in rs])), float(np.std([r[m] for r in rs])),
                    len(rs)) for m in metrics
            }
    return summary


def _paired(records, half):
    """[(table, seed, A record, B record)] for the runs both methods finished."""
    by_key = {}
    for r in records:
        if r["half"] == half and "error" not in r:
            by_key.setdefault((r["table"], r["seed"]), {})[r["method"]] = r
    return [(t, s, d["mixture"], d["pinball"]) for (t, s), d in sorted(by_key.items())
            if len(d) == 2]


WIN_RULES = {
    # name: (metric, key giving "smaller is better")
    "pinball loss": ("pinball", lambda r: r["pinball"]),
    "raw 90% coverage error abs(cov - 0.9)": (
        "raw_coverage", lambda r: abs(r["raw_coverage"] - 0.9)
    ),
    "CQR width": ("cqr_width", lambda r: r["cqr_width"]),
}


def _count(key_pairs):
    """(A wins, B wins, ties) over ``(A's figure, B's figure)`` pairs, lower is better."""
    a = b = tie = 0
    for ka, kb in key_pairs:
        if np.isclose(ka, kb, rtol=1e-3, atol=1e-6):
            tie += 1
        elif kb < ka:
            b += 1
        else:
            a += 1
    return a, b, tie


def _wins(pairs, key):
    return _count((key(ra), key(rb)) for _, _, ra, rb in pairs)


def _table_wins(summary, metric, key_fn):
    return _count(
        (key_fn({metric: d["mixture"][metric][0]}), key_fn({metric: d["pinball"][metric][0]}))
        for d in summary.values()
        if "mixture" in d and "pinball" in d
    )


def report(path, md_path=None):
    from scipy.stats import binomtest

    data = json.loads(Path(path).read_text())
    records = data["records"]
    lines = []
    errors = [r for r in records if "error" in r]
    for half in ("public", "external"):
        summary = _table_means(records, half)
        if not summary:
            continue
        pairs = _paired(records, half)
        title = "choose half: public tables" if half == "public" else \
            "confirm half: external tables"
        lines += [f"### {title}", "",
                  "Means over seeds (± sd). Pinball loss and widths divided by the "
                  "training target's std; coverage of the 90% interval [q0.05, q0.95] "
                  "(target 0.90).", "",
                  "| table | method | seeds | pinball ↓ | raw cov | raw width | "
                  "CQR cov | CQR width ↓ | crossing | epochs | fit s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for table in sorted(summary, key=lambda t: (PUBLIC + EXTERNAL).index(t)):
            for method in METHODS:
                if method not in summary[table]:
                    continue
                s = summary[table][method]
                lines.append(
                    f"| {table} | {method} | {s['pinball'][2]} "
                    f"| {s['pinball'][0]:.4f} ± {s['pinball'][1]:.4f} "
                    f"| {s['raw_coverage'][0]:.3f} | {s['raw_width'][0]:.3f} "
                    f"| {s['cqr_coverage'][0]:.3f} | {s['cqr_width'][0]:.3f} "
                    f"| {s['crossing_rate'][0]:.3f} | {s['n_iter'][0]:.0f} "
                    f"| {s['fit_time'][0]:.0f} |"
                )
        # half-level means of the table means
        lines += ["", "Mean over tables (each table's seed mean, equal weight):", "",
                  "| method | pinball ↓ | raw cov | raw width | CQR cov | CQR width ↓ | fit s |",
                  "|---|---|---|---|---|---|---|"]
        for method in METHODS:
            rows = [summary[t][method] for t in summary if method in summary[t]]

            def mean(metric, rows=rows):
                return np.mean([r[metric][0] for r in rows])

            lines.append(
                f"| {method} | {mean('pinball'):.4f} | {mean('raw_coverage'):.3f} "
                f"| {mean('raw_width'):.3f} | {mean('cqr_coverage'):.3f} "
                f"| {mean('cqr_width'):.3f} | {mean('fit_time'):.0f} |"
            )
        # relative pinball change per table
        rel = []
        for t in summary:
            if "mixture" in summary[t] and "pinball" in summary[t]:
                a, b = summary[t]["mixture"]["pinball"][0], summary[t]["pinball"]["pinball"][0]
                rel.append((t, 100 * (b - a) / a))
        lines += ["", "Pinball loss of B relative to A, per table (negative: B better): "
                  + ", ".join(f"{t} {v:+.1f}%" for t, v in rel), ""]
        pa = np.array([ra["pinball_per_level"] for _, _, ra, _ in pairs]).mean(axis=0)
        pb = np.array([rb["pinball_per_level"] for _, _, _, rb in pairs]).mean(axis=0)
        lines += ["Pinball loss of B relative to A per level, mean over (table, seed): "
                  + ", ".join(f"q{lv:g} {100 * (b - a) / a:+.1f}%"
                              for lv, a, b in zip(LEVELS, pa, pb)), ""]
        lines += ["Wins (A = mixture, B = pinball; ties within 0.1%; p: two-sided sign test "
                  "over the (table, seed) pairs without ties, which are not independent "
                  "within a table):", "",
                  "| criterion | per (table, seed): A / B / tie | sign test p "
                  "| per table (seed means): A / B / tie |", "|---|---|---|---|"]
        for name, (metric, key) in WIN_RULES.items():
            wa, wb, wt = _wins(pairs, key)
            ta, tb, tt = _table_wins(summary, metric, key)
            p = binomtest(wb, wa + wb).pvalue if wa + wb else float("nan")
            lines.append(f"| {name} | {wa} / {wb} / {wt} | {p:.2f} | {ta} / {tb} / {tt} |")
        lines.append("")
    if errors:
        lines += ["Failed runs:", ""] + [
            f"- {r['half']} {r['table']} seed {r['seed']} {r['method']}: {r['error']}"
            for r in errors] + [""]
    text = "\n".join(lines)
    print(text)
    if md_path:
        Path(md_path).write_text(text)
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--public", nargs="*", default=PUBLIC)
    parser.add_argument("--external", nargs="*", default=EXTERNAL)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-train", type=int, default=5000)
    parser.add_argument("--max-test", type=int, default=2000)
    parser.add_argument("--cal-fraction", type=float, default=0.2)
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="cap on epochs, the same for both methods (default: skens's)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--resume", action="store_true",
                        help="keep the finished records of --out and run the others")
    parser.add_argument("--out", default=str(HERE / "results" / "study_pinball.json"))
    parser.add_argument("--report", help="summarise this JSON instead of running")
    parser.add_argument("--md", help="with --report: also write the summary here")
    args = parser.parse_args()
    if args.report:
        report(args.report, args.md)
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    run_all(args)


if __name__ == "__main__":
    main()
