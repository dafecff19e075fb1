"""Training speed of vectorized deep ensembles, measured as ratios in one run.

Times, on the same synthetic data, with a fixed number of epochs and early
stopping off:

(a) ``DeepEnsembleClassifier(n_members=8)``
(b) ``DeepEnsembleClassifier(n_members=1)``
(c) 8 separately trained skorch ``NeuralNetClassifier``s with the same
    one-member network, epochs and batch size, through skorch's default data
    path (a ``Dataset`` and a ``DataLoader``)
(d) a plain-torch training loop over the same 8 batched members, tensors
    already in memory: the floor on this machine

and the prediction throughput of (a) and (b). Each configuration is timed
``--repeats`` times, interleaved, and the fastest run is kept.

    python benchmarks/bench_training_speed.py            # writes doc/benchmarks.md
    python benchmarks/bench_training_speed.py --device cuda
"""

import argparse
import json
import platform
import re
import time
from pathlib import Path

import numpy as np
import sklearn
import skorch
import torch
from docsection import replace_section, split_section
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier

from skens import DeepEnsembleClassifier
from skens.nn import EnsembleMLP, member_cross_entropy

ROOT = Path(__file__).resolve().parents[1]


class SingleMember(torch.nn.Module):
    """A one-member EnsembleMLP with the member axis dropped, for plain skorch."""

    def __init__(self, **params):
        super().__init__()
        self.mlp = EnsembleMLP(n_members=1, **params)

    def forward(self, x):
        return self.mlp(x)[:, 0]


def _sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _network(args):
    """The default network, or the one named on the command line."""
    params = {}
    if args.hidden_layer_sizes:
        params["hidden_layer_sizes"] = tuple(args.hidden_layer_sizes)
    if args.ensemble_type:
        params["ensemble_type"] = args.ensemble_type
    if args.numeric_embedding:
        params["numeric_embedding"] = None if args.numeric_embedding == "none" else "periodic"
    return DeepEnsembleClassifier(**params)


def time_skens(X, y, n_members, args):
    est = clone(_network(args)).set_params(
        n_members=n_members,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        early_stopping=False,
        device=args.device,
        random_state=0,
    )
    start = time.perf_counter()
    est.fit(X, y)
    _sync(args.device)
    return time.perf_counter() - start, est


def _module_params(defaults, n_features):
    """The module the estimator builds for ``n_features`` numeric columns without NaN."""
    return dict(
        in_features=n_features,
        out_features=2,
        hidden_layer_sizes=defaults.hidden_layer_sizes,
        activation=defaults.activation,
        dropout=defaults.dropout,
        ensemble_type=defaults.ensemble_type,
        n_periodic=n_features if defaults.numeric_embedding == "periodic" else 0,
    )


def time_separate_skorch(X, y, args, defaults):
    Xs = StandardScaler().fit_transform(X).astype(np.float32)
    start = time.perf_counter()
    for seed in range(8):
        torch.manual_seed(seed)
        NeuralNetClassifier(
            SingleMember,
            **{f"module__{k}": v for k, v in _module_params(defaults, X.shape[1]).items()},
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.AdamW,
            lr=defaults.lr,
            optimizer__weight_decay=defaults.weight_decay,
            max_epochs=args.epochs,
            batch_size=args.batch_size,
            iterator_train__shuffle=True,
            train_split=None,
            device=args.device,
            verbose=0,
        ).fit(Xs, y)
    _sync(args.device)
    return time.perf_counter() - start


def time_plain_torch(X, y, args, defaults):
    torch.manual_seed(0)
    start = time.perf_counter()
    Xt = torch.as_tensor(StandardScaler().fit_transform(X), dtype=torch.float32, device=args.device)
    yt = torch.as_tensor(y, device=args.device)
    module = EnsembleMLP(n_members=8, **_module_params(defaults, X.shape[1])).to(args.device)
    optimizer = torch.optim.AdamW(
        module.parameters(), lr=defaults.lr, weight_decay=defaults.weight_decay
    )
    n = len(Xt)
    for _ in range(args.epochs):
        order = torch.randperm(n, device=args.device)
        for i in range(0, n, args.batch_size):
            idx = order[i : i + args.batch_size]
            optimizer.zero_grad()
            loss = member_cross_entropy(module(Xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
    _sync(args.device)
    return time.perf_counter() - start


def throughput(est, X_pred, device):
    est.predict_proba(X_pred[:1000])  # warm-up
    start = time.perf_counter()
    est.predict_proba(X_pred)
    _sync(device)
    return len(X_pred) / (time.perf_counter() - start)


def processor_name(device):
    """The GPU's name, or the CPU's model name."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return cpu


def machine_description(device):
    if device.startswith("cuda"):
        return processor_name(device)
    return f"{processor_name(device)}, {torch.get_num_threads()} torch threads"


def run(args):
    X, y = make_classification(
        n_samples=args.n_samples, n_features=args.n_features, n_informative=20, random_state=0
    )
    X_pred = np.random.RandomState(1).randn(args.n_predict, args.n_features)
    defaults = _network(args)
    times = {"a": [], "b": [], "c": [], "d": []}
    for repeat in range(args.repeats):
        seconds, est8 = time_skens(X, y, 8, args)
        times["a"].append(seconds)
        seconds, est1 = time_skens(X, y, 1, args)
        times["b"].append(seconds)
        times["c"].append(time_separate_skorch(X, y, args, defaults))
        times["d"].append(time_plain_torch(X, y, args, defaults))
        print(f"repeat {repeat}: " + ", ".join(f"({k}) {v[-1]:.2f}s" for k, v in times.items()))
    best = {k: min(v) for k, v in times.items()}
    result = {
        "device": args.device,
        "machine": machine_description(args.device),
        "versions": {
            "torch": torch.__version__,
            "skorch": skorch.__version__,
            "sklearn": sklearn.__version__,
            "python": platform.python_version(),
        },
        "data": f"{args.n_samples} x {args.n_features} synthetic (make_classification), binary",
        "settings": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "hidden_layer_sizes": list(defaults.hidden_layer_sizes),
            "ensemble_type": defaults.ensemble_type,
            "dropout": defaults.dropout,
            "numeric_embedding": defaults.numeric_embedding,
            "is_default": not (
                args.hidden_layer_sizes or args.ensemble_type or args.numeric_embedding
            ),
        },
        "seconds": best,
        "all_seconds": times,
        "ratios": {
            "a/d": best["a"] / best["d"],
            "c/a": best["c"] / best["a"],
            "a/b": best["a"] / best["b"],
        },
        "predict_rows_per_second": {
            "n_members=8": throughput(est8, X_pred, args.device),
            "n_members=1": throughput(est1, X_pred, args.device),
        },
        "command": "python benchmarks/bench_training_speed.py " + _command_args(args),
    }
    return result


def _command_args(args):
    parts = []
    for key, value in vars(args).items():
        if key == "doc" or value is None:
            continue
        value = " ".join(map(str, value)) if isinstance(value, list) else value
        parts.append(f"--{key.replace('_', '-')} {value}")
    return " ".join(parts)


def _section_key(result):
    s = result["settings"]
    return (
        f"{result['device']}, hidden_layer_sizes={tuple(s['hidden_layer_sizes'])}, "
        f"{s['ensemble_type']}, numeric_embedding={s.get('numeric_embedding')}"
    )


def to_markdown(result):
    s, r, t = result["seconds"], result["ratios"], result["predict_rows_per_second"]
    settings = result["settings"]
    return "\n".join(
        [
            f"### {_section_key(result)}",
            "",
            f"Machine: {result['machine']}.",
            "",
            f"Data: {result['data']}; {settings['epochs']} epochs, batch size "
            f"{settings['batch_size']}, early stopping off, "
            + ("the default network " if settings.get("is_default") else "a non-default network ")
            + f"(`hidden_layer_sizes={tuple(settings['hidden_layer_sizes'])}`, "
            f"`ensemble_type='{settings['ensemble_type']}'`, `dropout={settings['dropout']}`, "
            f"`numeric_embedding={settings.get('numeric_embedding')!r}`); "
            f"fastest of {settings['repeats']} interleaved repeats. Versions: "
            + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
            + ".",
            "",
            "| run | what | fit seconds |",
            "|---|---|---|",
            f"| (a) | `DeepEnsembleClassifier(n_members=8)` | {s['a']:.2f} |",
            f"| (b) | `DeepEnsembleClassifier(n_members=1)` | {s['b']:.2f} |",
            f"| (c) | 8 separate skorch `NeuralNetClassifier`s, same network | {s['c']:.2f} |",
            f"| (d) | plain torch loop, same 8 batched members (floor) | {s['d']:.2f} |",
            "",
            "| ratio | measured |",
            "|---|---|",
            f"| (a)/(d) skorch overhead over the floor | {r['a/d']:.2f} |",
            f"| (c)/(a) speed-up over separate nets | {r['c/a']:.2f} |",
            f"| (a)/(b) cost of 8 members vs 1 | {r['a/b']:.2f} |",
            "",
            f"Prediction throughput (`predict_proba`): {t['n_members=8']:,.0f} rows/s with 8 "
            f"members, {t['n_members=1']:,.0f} rows/s with 1.",
            "",
            f"Reproduce: `{result['command']}`",
            "",
        ]
    )


def write_doc(path, section_md, key):
    """Replace the subsection headed ``### key`` of the speed section of ``path``."""
    _, body, _ = split_section(path, "speed")
    sections = [s for s in re.split(r"(?m)^(?=### )", body) if s.strip()]
    sections = [s for s in sections if not s.startswith(f"### {key}\n")]
    sections.append(section_md)
    replace_section(path, "speed", "\n".join(s.strip() + "\n" for s in sorted(sections)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument("--n-features", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--n-predict", type=int, default=200_000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--hidden-layer-sizes", type=int, nargs="*", help="override the default network widths"
    )
    parser.add_argument("--ensemble-type", choices=["independent", "batchensemble"])
    parser.add_argument("--numeric-embedding", choices=["periodic", "none"])
    parser.add_argument("--doc", type=Path, default=ROOT / "doc" / "benchmarks.md")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    name = re.sub(r"[^A-Za-z0-9]+", "-", _section_key(result)).strip("-")
    out = ROOT / "benchmarks" / "results" / f"speed-{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    write_doc(args.doc, to_markdown(result), _section_key(result))


if __name__ == "__main__":
    main()
