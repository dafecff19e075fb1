"""Single-row prediction latency: the deep ensembles against scikit-learn's MLP and HGB.

Fits, at their defaults and on one thread (``torch.set_num_threads(1)``):

- ``DeepEnsembleClassifier`` on ``credit_data`` (numeric and string columns)
  as a DataFrame, and on its numeric columns as a float64 array;
- ``DeepEnsembleRegressor`` on ``abalone`` (numeric columns and ``Sex``) as a
  DataFrame, and on its numeric columns as an array;
- scikit-learn's ``MLPClassifier`` (on the array; behind one-hot encoding on
  the DataFrame) and ``HistGradientBoostingClassifier`` (on the array; with
  the string columns as categories on the DataFrame) on ``credit_data``;

then times ``predict_proba`` and ``predict`` on one row at a time, a
different test row each call (a one-row DataFrame, or an array of shape
``(1, n_features)``): the median and 90th percentile of the wall-clock time
of ``--calls`` calls, and the median CPU time of the calling thread (less
sensitive to other processes on the machine).

Each model is timed in a fresh worker process. With ``--baseline REF`` (a
git revision, e.g. ``HEAD``), the same pickled models are also timed with the
``skens`` of that revision (``git archive``, into a temporary folder; the
working tree is not touched), alternating with the working tree's for
``--rounds`` rounds; each figure is the median over the rounds, and the
table gives the ratio ``baseline / current``.

    python benchmarks/bench_latency.py --baseline HEAD --write-doc

Writes ``benchmarks/results/bench_latency.json``; ``--write-doc`` also
rewrites the ``latency`` section of ``doc/benchmarks.md``.
"""

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

# (model, method, input): the timed cases.
CASES = [
    ("deep_classifier", "predict_proba", "dataframe"),
    ("deep_classifier", "predict_proba", "numpy"),
    ("deep_classifier", "predict", "dataframe"),
    ("deep_classifier", "predict", "numpy"),
    ("deep_regressor", "predict", "dataframe"),
    ("deep_regressor", "predict", "numpy"),
    ("mlp_classifier", "predict_proba", "dataframe"),
    ("mlp_classifier", "predict_proba", "numpy"),
    ("hgb_classifier", "predict_proba", "dataframe"),
    ("hgb_classifier", "predict_proba", "numpy"),
]
N_TEST_ROWS = 64


def _tables():
    """``{task: (X_train, y_train, X_test)}``: DataFrames, the test rows apart."""
    sys.path.insert(0, str(HERE))
    import datasets

    out = {}
    for task, name in [("classification", "credit_data"), ("regression", "abalone")]:
        X, y, _ = datasets.load(name)
        rng = np.random.RandomState(0)
        order = rng.permutation(len(X))
        test, train = order[:N_TEST_ROWS], order[N_TEST_ROWS:]
        out[task] = X.iloc[train], np.asarray(y)[train], X.iloc[test]
    return out


def _numeric(X):
    return X.select_dtypes("number").to_numpy(dtype=np.float64)


def fit_models(path, device="cpu"):
    """Fit every model (current ``skens``) and pickle them with their test rows to ``path``."""
    import torch
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    sys.path.insert(0, str(HERE))
    import models

    from skens import DeepEnsembleClassifier, DeepEnsembleRegressor

    torch.set_num_threads(1)
    tables = _tables()
    Xc, yc, Xc_test = tables["classification"]
    Xr, yr, Xr_test = tables["regression"]
    categorical = [c for c in Xc.columns if not np.issubdtype(Xc[c].dtype, np.number)]
    fitted = {}

    def fit(key, model, X, y):
        start = time.perf_counter()
        fitted[key] = model.fit(X, y)
        print(f"fitted {key} in {time.perf_counter() - start:.1f} s", flush=True)

    deep = dict(random_state=0, device=device)
    fit(("deep_classifier", "dataframe"), DeepEnsembleClassifier(**deep), Xc, yc)
    fit(("deep_classifier", "numpy"), DeepEnsembleClassifier(**deep), _numeric(Xc), yc)
    fit(("deep_regressor", "dataframe"), DeepEnsembleRegressor(**deep), Xr, yr)
    fit(("deep_regressor", "numpy"), DeepEnsembleRegressor(**deep), _numeric(Xr), yr)
    fit(
        ("mlp_classifier", "dataframe"),
        make_pipeline(models.one_hot_preprocessing(), MLPClassifier(random_state=0)),
        Xc,
        yc,
    )
    fit(
        ("mlp_classifier", "numpy"),
        make_pipeline(SimpleImputer(), StandardScaler(), MLPClassifier(random_state=0)),
        _numeric(Xc),
        yc,
    )
    fit(("hgb_classifier", "dataframe"), models._hgb("binary", 0, categorical), Xc, yc)
    fit(("hgb_classifier", "numpy"), HistGradientBoostingClassifier(random_state=0),
        _numeric(Xc), yc)
    rows = {
        ("classification", "dataframe"): [Xc_test.iloc[[i]] for i in range(N_TEST_ROWS)],
        ("classification", "numpy"): [r[None] for r in _numeric(Xc_test)],
        ("regression", "dataframe"): [Xr_test.iloc[[i]] for i in range(N_TEST_ROWS)],
        ("regression", "numpy"): [r[None] for r in _numeric(Xr_test)],
    }
    with open(path, "wb") as f:
        pickle.dump({"models": fitted, "rows": rows}, f)


def _time_case(model, method, rows, calls):
    """Median and p90 wall time and median thread CPU time of ``calls`` calls, in ms."""
    fn = getattr(model, method)
    for i in range(50):  # warm-up: caches, lazily built state
        fn(rows[i % len(rows)])
    wall, cpu = np.empty(calls), np.empty(calls)
    for i in range(calls):
        row = rows[i % len(rows)]
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn(row)
        cpu[i] = time.thread_time() - start_cpu
        wall[i] = time.perf_counter() - start
    return dict(
        median_ms=float(np.median(wall) * 1e3),
        p90_ms=float(np.percentile(wall, 90) * 1e3),
        cpu_median_ms=float(np.median(cpu) * 1e3),
    )


def worker(args):
    """Time every case with the ``skens`` found first on ``sys.path``; print JSON."""
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(HERE))  # the pickled models may hold benchmarks/models.py's classes
    import skens

    with open(args.models, "rb") as f:
        saved = pickle.load(f)
    out = {"skens": str(Path(skens.__file__).parent)}
    for model_name, method, kind in CASES:
        task = "regression" if model_name == "deep_regressor" else "classification"
        model = saved["models"][(model_name, kind)]
        timing = _time_case(model, method, saved["rows"][(task, kind)], args.calls)
        out[f"{model_name}.{method}.{kind}"] = timing
    print("RESULT " + json.dumps(out), flush=True)


def _run_worker(models_path, src, calls):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, __file__, "--worker", "--models", str(models_path),
         "--calls", str(calls)],
        env=env, capture_output=True, text=True, check=False,
    )
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"worker failed ({src}):\n{result.stderr[-3000:]}")


def _median_over_rounds(runs):
    keys = [k for k in runs[0] if k != "skens"]
    return {
        k: {m: float(np.median([r[k][m] for r in runs])) for m in runs[0][k]} for k in keys
    }


def _load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


def to_markdown(record):
    current, baseline = record["current"], record.get("baseline")
    lines = [
        "Single-row latency, one thread, a different test row per call "
        f"({record['calls']} calls, median over {record['rounds']} round(s); "
        f"load average {record['load_before']} before, {record['load_after']} after, "
        f"on {record['cpu_count']} cores"
        + (f"; the deep ensembles on {record['device']}" if record.get("device", "cpu") != "cpu"
           else "")
        + "): wall-clock median and p90, and the calling thread's median CPU time, in ms.",
        "",
    ]
    header = "| model | method | input | median | p90 | CPU |"
    rule = "|---|---|---|---:|---:|---:|"
    if baseline:
        header += f" {record['baseline_ref']} median | {record['baseline_ref']} CPU | ratio (CPU) |"
        rule += "---:|---:|---:|"
    lines += [header, rule]
    for key, now in current.items():
        model, method, kind = key.split(".")
        line = (f"| {model} | {method} | {kind} | {now['median_ms']:.3f} | {now['p90_ms']:.3f} "
                f"| {now['cpu_median_ms']:.3f} |")
        if baseline:
            before = baseline[key]
            ratio = before["cpu_median_ms"] / now["cpu_median_ms"]
            line += (f" {before['median_ms']:.3f} | {before['cpu_median_ms']:.3f} | "
                     f"{ratio:.1f}x |")
        lines.append(line)
    lines += ["", f"Command: `{record['command']}`"]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per case")
    parser.add_argument("--rounds", type=int, default=2,
                        help="worker runs per skens version, alternating")
    parser.add_argument("--baseline", default=None,
                        help="a git revision to time too (e.g. HEAD), for before/after ratios")
    parser.add_argument("--baseline-src", default=None,
                        help="a folder holding another version's skens package, timed as "
                        "--baseline (on a machine without the git history)")
    parser.add_argument("--device", default="cpu",
                        help="device of the deep ensembles (the others run on the CPU)")
    parser.add_argument("--models", default=None,
                        help="pickled models to reuse (else fitted into a temporary file)")
    parser.add_argument("--output", default=ROOT / "benchmarks" / "results" / "bench_latency.json")
    parser.add_argument("--write-doc", action="store_true")
    parser.add_argument("--doc", default=ROOT / "doc" / "benchmarks.md")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    with tempfile.TemporaryDirectory() as tmp:
        models_path = Path(args.models) if args.models else Path(tmp) / "models.pkl"
        if not models_path.exists():
            fit_models(models_path, args.device)
        sources = {"current": ROOT}
        if args.baseline_src:
            sources["baseline"] = Path(args.baseline_src)
            args.baseline = args.baseline or "baseline"
        elif args.baseline:
            baseline_src = Path(tmp) / "baseline"
            baseline_src.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "skens"],
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(baseline_src)], input=archive, check=True)
            sources["baseline"] = baseline_src
        load_before = _load_average()
        runs = {name: [] for name in sources}
        for r in range(args.rounds):
            for name, src in sources.items():
                runs[name].append(_run_worker(models_path, src, args.calls))
                print(f"round {r + 1}: {name} done", flush=True)
        record = dict(
            command="python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            calls=args.calls,
            rounds=args.rounds,
            baseline_ref=args.baseline,
            load_before=load_before,
            load_after=_load_average(),
            cpu_count=os.cpu_count(),
            device=args.device,
            machine=platform.processor() or platform.machine(),
            current=_median_over_rounds(runs["current"]),
        )
        if args.baseline:
            record["baseline"] = _median_over_rounds(runs["baseline"])
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(record, indent=2) + "\n")
    table = to_markdown(record)
    print(table)
    if args.write_doc:
        from docsection import replace_section

        replace_section(args.doc, "latency", "\n" + table + "\n")


if __name__ == "__main__":
    main()
