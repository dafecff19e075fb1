"""Early exit over a deep ensemble's members: accuracy, AURC and cost against the full ensemble.

For every classification table and seed: the saved split's training rows
(``benchmarks/splits``; at most ``--max-train`` of them) are split 75/25; the
default ``DeepEnsembleClassifier`` (8 members) is fitted on the 75%, and a
``CascadeClassifier`` over its members (``member_groups``) is set on the 25%
at its defaults (window 0.1 around the threshold that covers 80% of the
rows, maximum-probability exit score). On the test rows: accuracy, AURC
(maximum probability as the confidence), log loss, the mean share of the
members evaluated per row, and the wall-clock time of ``predict_proba``
against the full ensemble's, for 8 groups of one member, 4 groups of two,
and the single-threshold baseline over 8 groups.

    python benchmarks/bench_cascade.py --seeds 0,1 --write-doc
    python benchmarks/bench_cascade.py --external --seeds 0,1 --write-doc
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(ROOT))

from benchutil import timed  # noqa: E402

VARIANTS = {  # name: (n_groups, strategy)
    "8x1": (8, "window"),
    "4x2": (4, "window"),
    "8x1 threshold": (8, "threshold"),
}


def _tables(external):
    if external:
        import external_datasets

        return {n: external_datasets.load for n in external_datasets.CLASSIFICATION}
    import datasets

    names = [n for n in datasets.DATASETS if datasets.load(n)[2] != "regression"]
    return {n: datasets.load for n in names}


def _split(name, X, y, seed, external):
    path = ROOT / "benchmarks" / "splits" / f"{name}-seed{seed}.npz"
    if not external and path.exists():
        split = np.load(path)
        return split["train"], split["test"]
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    return train_test_split(index, test_size=0.25, stratify=y, random_state=seed)


def run_one(name, loader, seed, args):
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import train_test_split

    from skens import DeepEnsembleClassifier
    from skens.ensemble import CascadeClassifier, member_groups
    from skens.metrics import aurc_loss

    X, y, _ = loader(name)
    y = np.asarray(y)
    train, test = _split(name, X, y, seed, args.external)
    rng = np.random.RandomState(seed)
    if len(train) > args.max_train:
        train = rng.choice(train, args.max_train, replace=False)
    if len(test) > args.max_test:
        test = rng.choice(test, args.max_test, replace=False)
    fit, valid = train_test_split(train, test_size=0.25, stratify=y[train], random_state=seed)
    take = (lambda rows: X.iloc[rows]) if hasattr(X, "iloc") else (lambda rows: X[rows])
    deep = DeepEnsembleClassifier(random_state=seed).fit(take(fit), y[fit])
    X_test, y_test = take(test), y[test]
    labels = deep.classes_

    def scores(proba):
        pred = labels[proba.argmax(1)]
        return dict(
            accuracy=accuracy_score(y_test, pred),
            aurc=aurc_loss(y_test, pred, proba.max(1)),
            log_loss=log_loss(y_test, proba, labels=labels),
        )

    proba, seconds = timed(lambda: deep.predict_proba(X_test))
    record = dict(dataset=name, seed=seed, n_fit=len(fit), n_valid=len(valid), n_test=len(test),
                  full=dict(**scores(proba), seconds=seconds))
    for variant, (n_groups, strategy) in VARIANTS.items():
        groups = member_groups(deep, n_groups)
        cascade = CascadeClassifier(
            groups, cv="prefit", costs=[len(g.members) for _, g in groups], strategy=strategy
        ).fit(take(valid), y[valid])
        (proba, stage), seconds = timed(
            lambda c=cascade: (c.predict_proba(X_test), c.predict_stage(X_test))
        )
        members_used = np.cumsum([len(g.members) for _, g in groups])[stage]
        record[variant] = dict(
            **scores(proba),
            seconds=seconds,
            members_share=float(members_used.mean() / deep.n_members),
            expected_cost_valid=cascade.expected_cost_ / deep.n_members,
            exit_rate_valid=cascade.exit_rate_.tolist(),
        )
    return record


def _delta(record):
    return 100 * (record["8x1"]["accuracy"] - record["full"]["accuracy"])


def to_markdown(records, command, machine):
    lines = [
        f"Machine: {machine}.",
        "",
        "| dataset | seed | full acc | 8×1 acc | Δ acc (points) | full AURC | 8×1 AURC "
        "| AURC ratio | members used | time ratio | 4×2 Δ acc | 4×2 AURC ratio | 4×2 members "
        "| threshold Δ acc | threshold AURC ratio | threshold members |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['seed']} | error: {r['error']} |")
            continue
        f, c, c4, t = r["full"], r["8x1"], r["4x2"], r["8x1 threshold"]
        lines.append(
            f"| {r['dataset']} | {r['seed']} | {f['accuracy']:.4f} | {c['accuracy']:.4f} | "
            f"{100 * (c['accuracy'] - f['accuracy']):+.2f} | {f['aurc']:.4f} | {c['aurc']:.4f} | "
            f"{c['aurc'] / f['aurc']:.3f} | {c['members_share']:.0%} | "
            f"{c['seconds'] / f['seconds']:.2f} | "
            f"{100 * (c4['accuracy'] - f['accuracy']):+.2f} | {c4['aurc'] / f['aurc']:.3f} | "
            f"{c4['members_share']:.0%} | {100 * (t['accuracy'] - f['accuracy']):+.2f} | "
            f"{t['aurc'] / f['aurc']:.3f} | {t['members_share']:.0%} |"
        )
    ok = [r for r in records if "error" not in r]
    if ok:
        target = [
            r for r in ok
            if r["8x1"]["accuracy"] >= r["full"]["accuracy"] - 0.005
            and r["8x1"]["aurc"] <= 1.05 * r["full"]["aurc"]
            and r["8x1"]["members_share"] <= 0.40
        ]
        lines += [
            "",
            f"Target (accuracy within 0.5 points, AURC within 5%, ≤ 40% of the members, 8×1): "
            f"met on {len(target)} of {len(ok)} runs. Median members used "
            f"{np.median([r['8x1']['members_share'] for r in ok]):.0%}, median AURC ratio "
            f"{np.median([r['8x1']['aurc'] / r['full']['aurc'] for r in ok]):.3f}, median "
            f"Δ accuracy {np.median([_delta(r) for r in ok]):+.2f} points, median time ratio "
            f"{np.median([r['8x1']['seconds'] / r['full']['seconds'] for r in ok]):.2f}.",
        ]
    lines += ["", f"Command: `{command}`"]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--datasets", help="comma-separated subset")
    parser.add_argument("--external", action="store_true", help="the external tables")
    parser.add_argument("--max-train", type=int, default=8000)
    parser.add_argument("--max-test", type=int, default=5000)
    parser.add_argument("--output", default=None)
    parser.add_argument("--write-doc", action="store_true")
    parser.add_argument("--doc", default=str(ROOT / "doc" / "benchmarks.md"))
    args = parser.parse_args()
    import torch

    tables = _tables(args.external)
    names = args.datasets.split(",") if args.datasets else list(tables)
    kind = "external" if args.external else "public"
    output = Path(args.output or ROOT / "benchmarks" / "results" / f"bench_cascade_{kind}.jsonl")
    records = []
    with open(output, "w") as out:
        for name in names:
            for seed in (int(s) for s in args.seeds.split(",")):
                try:
                    record = run_one(name, tables[name], seed, args)
                except Exception as exc:  # recorded; the run goes on
                    record = dict(dataset=name, seed=seed, error=f"{type(exc).__name__}: {exc}")
                records.append(record)
                out.write(json.dumps(record) + "\n")
                out.flush()
                print(json.dumps(record), flush=True)
    from bench_training_speed import processor_name

    machine = f"{processor_name('cpu')}, {torch.get_num_threads()} threads"
    command = "python benchmarks/bench_cascade.py " + " ".join(sys.argv[1:])
    table = to_markdown(records, command, machine)
    print(table)
    if args.write_doc:
        from docsection import replace_section

        replace_section(args.doc, f"cascade-{kind}", "\n" + table + "\n")


if __name__ == "__main__":
    main()
