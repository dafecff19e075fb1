"""int8 students against float students: size, accuracy and prediction time.

For every table and seed (the splits of ``bench_distillation.py``: training
rows capped at ``--max-train``, test rows at ``--max-test``), a
HistGradientBoosting teacher behind a ``TabularPreprocessor`` (fast;
quantization acts on the student, whose teacher does not matter here) and
two students at their defaults with the same seed: ``quantize=None`` and
``quantize='int8'``. Both train the same way (the int8 student is the float
one, rounded after training). Reported: test
accuracy and log loss (classification) or RMSE, Gaussian NLL and 90%
coverage (regression) of each; the network's bytes (weights and buffers,
without the encoding stage) and the pickled student's bytes (without its
teacher); prediction time int8 / float, of the whole ``predict_proba`` /
``predict`` and of the network's forward pass alone (on encoded rows).

As a reference for what int8 *kernels* would give, each run also times
``torch.ao.quantization.quantize_dynamic`` (deprecated in torch) on a plain
``nn.Linear`` stack of the student's hidden shapes, against the same stack
in float, on the test rows (embedding outputs drawn at random).

    python benchmarks/bench_quantization.py --seeds 0,1 --write-doc
    python benchmarks/bench_quantization.py --external --seeds 0,1 --write-doc
"""

import argparse
import copy
import json
import pickle
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))

from benchutil import capped_split, timed  # noqa: E402


def _pickled_bytes(student):
    """The student's pickle without its teacher (what one would ship)."""
    alone = copy.copy(student)
    alone.teacher = None
    del alone.teacher_
    return len(pickle.dumps(alone))


def _ao_reference(student, n_rows):
    """Forward time of torch.ao's dynamic int8 Linear stack over the float one."""
    import torch
    from torch import nn

    network = student.net_.module_.network
    layers = [m for m in network.modules() if hasattr(m, "in_features") and
              type(m).__name__.endswith("Linear")]
    stack = []
    for layer in layers:
        stack += [nn.Linear(layer.in_features, layer.out_features), nn.ReLU()]
    plain = nn.Sequential(*stack[:-1]).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation
        quantized = torch.ao.quantization.quantize_dynamic(plain, {nn.Linear}, dtype=torch.qint8)
    x = torch.randn(n_rows, layers[0].in_features, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        _, t_float = timed(lambda: plain(x), 5)
        _, t_int8 = timed(lambda: quantized(x), 5)
    return t_int8 / t_float


def _network_seconds(student, X):
    """Forward time of the student's network alone, on the encoded rows."""
    import torch

    module = student.net_.module_
    with torch.no_grad():
        encoded = module.encoding(**student._raw_batch(student._validate_X_predict(X)))
        return timed(lambda: module.network(encoded), 5)[1]


def run_one(name, seed, args):
    from scipy.stats import norm
    from sklearn.metrics import log_loss

    from skens import DistilledClassifier, DistilledRegressor
    from skens.metrics import gaussian_nll_loss
    from skens.nn import parameter_bytes

    X_train, y_train, X_test, y_test, task = capped_split(
        name, seed, external=args.external, max_train=args.max_train, max_test=args.max_test
    )
    regression = task == "regression"
    Student = DistilledRegressor if regression else DistilledClassifier
    record = dict(dataset=name, seed=seed, task=task, n_train=len(y_train), n_test=len(y_test))
    teacher = _teacher(regression, seed).fit(X_train, y_train)
    for label, quantize in (("float", None), ("int8", "int8")):
        start = time.perf_counter()
        student = Student(teacher, quantize=quantize, random_state=seed).fit(X_train, y_train)
        entry = dict(fit_seconds=time.perf_counter() - start)
        if regression:
            (mean, std), seconds = timed(lambda s=student: s.predict(X_test, return_std=True), 5)
            z = norm.ppf(0.95)
            entry.update(
                loss=gaussian_nll_loss(y_test, mean, std),
                rmse=float(np.sqrt(np.mean((y_test - mean) ** 2))),
                coverage_90=float(np.mean(np.abs(y_test - mean) <= z * std)),
            )
        else:
            proba, seconds = timed(lambda s=student: s.predict_proba(X_test), 5)
            entry.update(
                loss=log_loss(y_test, proba, labels=student.classes_),
                accuracy=float(np.mean(student.classes_[proba.argmax(1)] == y_test)),
            )
        entry.update(
            seconds=seconds,
            network_seconds=_network_seconds(student, X_test),
            network_bytes=parameter_bytes(student.net_.module_.network),
            pickled_bytes=_pickled_bytes(student),
        )
        if quantize:
            entry["quantization"] = student.quantization_
        record[label] = entry
    record["ao_time_ratio"] = _ao_reference(student, len(y_test))
    return record


def _teacher(regression, seed):
    """A HistGradientBoosting teacher behind skens' table parsing.

    The TabularPreprocessor reads the tables' strings, categories and NaN
    (its quantile scaling changes nothing for trees).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline

    from skens.preprocessing import TabularPreprocessor

    model = (HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier)(
        random_state=seed
    )
    return make_pipeline(TabularPreprocessor(random_state=seed), model)


def to_markdown(records, command):
    lines = [
        "| dataset | seed | metric | float | int8 | network KB float → int8 | pickle KB "
        "float → int8 | predict time int8/float | network time int8/float | "
        "torch.ao int8/float |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    accuracy_drops, loss_changes, network_ratios, pickle_ratios = [], [], [], []
    time_ratios, network_time_ratios, ao_ratios = [], [], []
    for r in records:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['seed']} | error: {r['error']} |")
            continue
        f, q = r["float"], r["int8"]
        if r["task"] == "regression":
            metric = "NLL / RMSE"
            values = (f"{f['loss']:.4f} / {f['rmse']:.4g}", f"{q['loss']:.4f} / {q['rmse']:.4g}")
        else:
            metric = "log loss / accuracy"
            values = (f"{f['loss']:.4f} / {f['accuracy']:.1%}",
                      f"{q['loss']:.4f} / {q['accuracy']:.1%}")
            accuracy_drops.append(f["accuracy"] - q["accuracy"])
        loss_changes.append((q["loss"] - f["loss"]) / abs(f["loss"]))
        network_ratios.append(q["network_bytes"] / f["network_bytes"])
        pickle_ratios.append(q["pickled_bytes"] / f["pickled_bytes"])
        time_ratios.append(q["seconds"] / f["seconds"])
        network_time_ratios.append(q["network_seconds"] / f["network_seconds"])
        ao_ratios.append(r["ao_time_ratio"])
        lines.append(
            f"| {r['dataset']} | {r['seed']} | {metric} | {values[0]} | {values[1]} | "
            f"{f['network_bytes'] / 1e3:.0f} → {q['network_bytes'] / 1e3:.0f} | "
            f"{f['pickled_bytes'] / 1e3:.0f} → {q['pickled_bytes'] / 1e3:.0f} | "
            f"{time_ratios[-1]:.2f} | {network_time_ratios[-1]:.2f} | {ao_ratios[-1]:.2f} |"
        )
    if network_ratios:
        lines += [
            "",
            f"Network size int8 / float: median {np.median(network_ratios):.2f}, largest "
            f"{np.max(network_ratios):.2f} (target ≤ 0.33); whole pickled student (encoding "
            f"tables included, teacher not): median {np.median(pickle_ratios):.2f}.",
            f"Median relative change of the test loss: {np.median(loss_changes):+.2%} "
            f"(largest {np.max(loss_changes):+.2%}).",
            f"Time int8 / float, CPU: `predict_proba`/`predict` (parsing and encoding "
            f"included) median {np.median(time_ratios):.2f}, the network alone median "
            f"{np.median(network_time_ratios):.2f}; torch.ao's dynamic int8 `nn.Linear` on the "
            f"same shapes: median {np.median(ao_ratios):.2f}.",
        ]
    if accuracy_drops:
        within = sum(d <= 0.005 for d in accuracy_drops)
        lines.append(
            f"Accuracy within 0.5 points of the float student on {within} of "
            f"{len(accuracy_drops)} classification runs (largest drop "
            f"{100 * max(accuracy_drops):.2f} points)."
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
    parser.add_argument("--render-only", action="store_true",
                        help="rebuild the table from the saved records")
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
    output = args.output or ROOT / "benchmarks" / "results" / f"bench_quantization{suffix}.jsonl"
    if args.render_only:
        records = [json.loads(line) for line in open(output)]
    else:
        records = []
        with open(output, "w") as out:
            for name in names:
                for seed in (int(s) for s in args.seeds.split(",")):
                    try:
                        record = run_one(name, seed, args)
                    except Exception as exc:  # recorded; the run goes on
                        record = dict(dataset=name, seed=seed,
                                      error=f"{type(exc).__name__}: {exc}")
                    records.append(record)
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    print(json.dumps(record), flush=True)
    command = "python benchmarks/bench_quantization.py " + " ".join(
        a for a in sys.argv[1:] if a != "--render-only"
    )
    table = to_markdown(records, command)
    print(table)
    if args.write_doc:
        from docsection import replace_section

        replace_section(args.doc, f"quantization{suffix}", "\n" + table + "\n")


if __name__ == "__main__":
    main()
