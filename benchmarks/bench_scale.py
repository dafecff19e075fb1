"""Fit and predict throughput and peak memory at scale: 100k to 5M rows.

On synthetic ``make_classification(n_samples=N, n_features=50,
n_informative=20, random_state=0)`` (float64, 50 numeric features), with the
default ``DeepEnsembleClassifier`` (8 members), for every ``--rows`` size and
``--precision``:

1. ``fit`` with ``max_epochs=--epochs``, ``early_stopping=False``, the given
   batch size, device and precision: seconds per epoch (wall time of the
   whole fit, encoding included, divided by the epochs) and rows/s;
2. the plain-torch floor: a copy of the fitted network
   (``est.net_.module_.network``) trained for the same epochs by a bare loop
   (per-member permutations, ``member_cross_entropy``, AdamW, bf16 under
   ``torch.autocast``) on inputs encoded once and already on the device;
   the ratio fit / floor is the estimator's overhead;
3. ``predict_proba`` on the N rows (numpy float64 in, probabilities out), the
   module's own forward (``est.net_.module_``, under ``torch.autocast`` for
   bf16 as the estimator runs it) on the encoded tensor already on the
   device, in chunks of the rows the estimator predicts at once (its
   ``_predict_batch_size``; 65,536 if that helper is missing, or
   ``--forward-chunk``), each output moved to the CPU, and
   scikit-learn's CPU encoding ``est.preprocessor_.transform`` (the old
   path; timed on at most 1,000,000 rows);
4. peak memory: each (rows, precision) runs in a fresh subprocess. The host
   peak of the fit is reported in units of the user's array, ``(peak during
   fit - RSS after building X) / X.nbytes`` (the peak is reset after X is
   built where Linux allows it, so that the temporaries of
   ``make_classification`` do not count); on CUDA also the peak device memory
   allocated by the fit and by ``predict_proba``.

Each worker first fits and predicts on a small table (CUDA context, kernels,
lazy imports), so that none of this is timed or counted in the peaks. Above
``--skip-fit-above`` rows the fit and the floor are skipped and the model
that predicts is fitted on the first 100,000 rows (at most the limit).

Every configuration is one JSONL record (``--output``): the settings, the
device name, versions and torch threads, and every figure: ``fit_seconds``,
``floor_seconds_per_epoch``, ``predict_rows_per_second``,
``forward_rows_per_second``, ``transform_rows_per_second``, the
``ru_maxrss`` values (KiB) after building X, after the fit and after
``predict_proba`` (the last two are peaks since the reset before each),
``host_fit_extra_x``, ``device_peak_fit_gib`` and ``device_peak_predict_gib``.
A worker that fails or runs past ``--timeout`` is recorded with its error
(and whatever it measured before); a stage that fails is recorded under
``errors`` and the later stages still run.

    python benchmarks/bench_scale.py                    # CPU: 100k and 1M rows, fp32
    python benchmarks/bench_scale.py --write-doc        # also rewrites doc/benchmarks.md
    python benchmarks/bench_scale.py --device cuda --rows 100000,1000000,5000000 \\
        --precision fp32,bf16 --write-doc
    python benchmarks/bench_scale.py --device cuda --rows 5000000 --precision fp32,bf16 \
        --append --write-doc    # adds rows to the same JSONL and table
    python benchmarks/bench_scale.py --rows 2000,5000 --output /tmp/smoke.jsonl   # smoke test
"""

import argparse
import copy
import gc
import json
import platform
import resource
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path

from docsection import replace_section

ROOT = Path(__file__).resolve().parents[1]
N_FEATURES = 50
FORWARD_CHUNK = 65_536  # rows per forward pass when the estimator's own size is unknown
TRANSFORM_ROWS = 200_000  # scikit-learn's transform is timed on at most this many rows
PREDICT_MODEL_ROWS = 100_000  # rows the model is fitted on when the fit at N rows is skipped
WARMUP_ROWS = 2_048
CPU_SKIP_FIT_ABOVE = 1_000_000
GIB = 2**30


# ------------------------------------------------------------------ worker side
def _maxrss_kib():
    """Peak resident set size of this process (``ru_maxrss``: KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rss_kib():
    """Current resident set size in KiB, or ``None`` where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss():
    """Reset the process's peak RSS to its current RSS (Linux); whether it worked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _machine(torch, device):
    from bench_training_speed import processor_name

    return processor_name(device)


def _estimator(cfg, precision):
    from skens import DeepEnsembleClassifier

    return DeepEnsembleClassifier(
        max_epochs=cfg["epochs"],
        early_stopping=False,
        batch_size=cfg["batch_size"],
        device=cfg["device"],
        precision=precision,
        random_state=0,
    )


def _floor_seconds_per_epoch(torch, network, X_dev, y_dev, cfg, sync):
    """Seconds per epoch of a bare training loop over a copy of ``network``."""
    from skens.nn import member_cross_entropy

    device = cfg["device"]
    device_type = torch.device(device).type
    bf16 = cfg["precision"] == "bf16"
    net = copy.deepcopy(network).to(device).train()
    n_members = net.n_members
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    n, batch_size = len(X_dev), cfg["batch_size"]
    sync()
    start = time.perf_counter()
    for _ in range(cfg["epochs"]):
        order = torch.stack([torch.randperm(n, device=device) for _ in range(n_members)])
        for i in range(0, n, batch_size):
            idx = order[:, i : i + batch_size]  # (n_members, batch)
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
                out = net(X_dev[idx])  # (batch, n_members, n_classes)
            loss = member_cross_entropy(out.float(), y_dev[idx].T)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    sync()
    return (time.perf_counter() - start) / cfg["epochs"]


def _predict_chunk(est, default):
    """Rows per prediction batch of the fitted estimator (its private helper), or ``default``."""
    try:
        from skens.deep._base import _check_hidden_layer_sizes

        sizes = _check_hidden_layer_sizes(est.hidden_layer_sizes)
        return int(est._predict_batch_size(sizes, est.net_.device)), "estimator"
    except Exception:
        return default, "default"


def _forward_rows_per_second(torch, module, X_dev, chunk, precision, sync):
    """Rows/s of ``module`` over ``X_dev`` in chunks, each output moved to the CPU as float32.

    With ``bf16`` the forward runs under ``torch.autocast``, as the estimator runs it.
    """

    def to_cpu(out):
        return tuple(o.float().cpu() for o in out) if isinstance(out, tuple) else out.float().cpu()

    device_type = X_dev.device.type
    module.eval()
    with (
        torch.no_grad(),
        torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"),
    ):
        to_cpu(module(X_dev[:chunk]))  # warm-up
        sync()
        start = time.perf_counter()
        for i in range(0, len(X_dev), chunk):
            to_cpu(module(X_dev[i : i + chunk]))
        sync()
    return len(X_dev) / (time.perf_counter() - start)


def measure(cfg, emit):
    """Run one (rows, precision) configuration; ``emit`` the record after each stage."""
    if str(ROOT) not in sys.path:
        sys.path.insert(1, str(ROOT))  # the repository's skens, run from anywhere
    import numpy as np
    import sklearn
    import skorch
    import torch
    from sklearn.datasets import make_classification

    if cfg.get("threads"):
        torch.set_num_threads(cfg["threads"])
    device, n = cfg["device"], cfg["rows"]
    cuda = device.startswith("cuda")

    def sync():
        if cuda:
            torch.cuda.synchronize()

    rec = dict(cfg)
    rec.update(
        machine=_machine(torch, device),
        threads=torch.get_num_threads(),
        versions={
            "torch": torch.__version__,
            "skorch": skorch.__version__,
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        errors={},
    )

    def stage(name, fn):
        """Run one stage; a failure is recorded and the later stages still run."""
        try:
            fn()
        except Exception as exc:
            rec["errors"][name] = f"{type(exc).__name__}: {exc}"
            print(traceback.format_exc(), file=sys.stderr, flush=True)
        emit(rec)

    emit(rec)

    # Warm-up on a small table (CUDA context, kernels, lazy imports), before any baseline.
    def warmup():
        Xw, yw = make_classification(
            n_samples=WARMUP_ROWS, n_features=N_FEATURES, n_informative=20, random_state=1
        )
        _estimator(cfg, cfg["precision"]).fit(Xw, yw).predict_proba(Xw)

    stage("warmup", warmup)

    X, y = make_classification(n_samples=n, n_features=N_FEATURES, n_informative=20, random_state=0)
    gc.collect()
    rec.update(
        x_bytes=X.nbytes,
        x_dtype=str(X.dtype),
        maxrss_after_data_kib=_maxrss_kib(),
        rss_after_data_kib=_rss_kib(),
    )
    state = {}

    def fit():
        skip = cfg["skip_fit_above"]
        skipped = skip is not None and n > skip
        fit_rows = min(PREDICT_MODEL_ROWS, skip) if skipped else n
        rec["fit_skipped"] = skipped
        rec["fit_rows"] = fit_rows
        est = _estimator(cfg, cfg["precision"])
        rec["peak_reset"] = _reset_peak_rss()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        est.fit(X[:fit_rows], y[:fit_rows])
        sync()
        seconds = time.perf_counter() - start
        state["est"] = est
        rec["maxrss_after_fit_kib"] = _maxrss_kib()
        if cuda:
            rec["device_peak_fit_gib"] = torch.cuda.max_memory_allocated() / GIB
        if rec["fit_skipped"]:
            rec["fit_seconds_subsample"] = seconds
            return
        rec["fit_seconds"] = seconds
        rec["fit_seconds_per_epoch"] = seconds / cfg["epochs"]
        rec["fit_rows_per_second"] = n * cfg["epochs"] / seconds
        base = rec["rss_after_data_kib"] or rec["maxrss_after_data_kib"]
        rec["host_fit_extra_kib"] = rec["maxrss_after_fit_kib"] - base
        rec["host_fit_extra_x"] = rec["host_fit_extra_kib"] * 1024 / X.nbytes

    def predict():
        est = state["est"]
        est.predict_proba(X[:1000])  # warm-up
        base = _rss_kib()
        reset = _reset_peak_rss()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        est.predict_proba(X)
        sync()
        seconds = time.perf_counter() - start
        rec["predict_seconds"] = seconds
        rec["predict_rows_per_second"] = n / seconds
        rec["maxrss_after_predict_kib"] = _maxrss_kib()
        if reset and base is not None:
            rec["host_predict_extra_x"] = (rec["maxrss_after_predict_kib"] - base) * 1024 / X.nbytes
        if cuda:
            rec["device_peak_predict_gib"] = torch.cuda.max_memory_allocated() / GIB

    def encode():
        est = state["est"]
        rows = min(n, TRANSFORM_ROWS)
        start = time.perf_counter()
        encoded = est.preprocessor_.transform(X[:rows])
        rec["transform_rows"] = rows
        rec["transform_rows_per_second"] = rows / (time.perf_counter() - start)
        del encoded
        # The floor's and the forward's input: every row encoded once, on the device,
        # by the model's own encoding stage (equal to the transform to float32
        # precision, tests/nn/test_encoding.py), timed as the encoding alone.
        sync()
        start = time.perf_counter()
        state["X_dev"] = est._encode(X)
        sync()
        rec["device_encode_rows_per_second"] = n / (time.perf_counter() - start)
        state["y_dev"] = torch.as_tensor(y).to(device)

    def floor():
        if rec.get("fit_skipped", True):
            return
        network = state["est"].net_.module_.network
        seconds = _floor_seconds_per_epoch(
            torch, network, state["X_dev"], state["y_dev"], cfg, sync
        )
        rec["floor_seconds_per_epoch"] = seconds
        rec["floor_rows_per_second"] = n / seconds
        rec["fit_over_floor"] = rec["fit_seconds_per_epoch"] / seconds

    def forward():
        est = state["est"]
        if cfg.get("forward_chunk"):
            chunk, source = cfg["forward_chunk"], "--forward-chunk"
        else:
            chunk, source = _predict_chunk(est, FORWARD_CHUNK)
        rec["forward_chunk"], rec["forward_chunk_source"] = chunk, source
        module = est.net_.module_
        rate = _forward_rows_per_second(
            torch, module, state["X_dev"], chunk, cfg["precision"], sync
        )
        rec["forward_rows_per_second"] = rate
        if "predict_rows_per_second" in rec:
            rec["predict_over_forward"] = rec["predict_rows_per_second"] / rate

    stage("fit", fit)
    if "est" not in state:
        return rec
    stage("predict_proba", predict)
    stage("encode", encode)
    if "X_dev" in state:
        stage("floor", floor)
        stage("forward", forward)
    return rec


def worker_main(config):
    cfg = json.loads(config)

    def emit(rec):
        print(json.dumps(rec), flush=True)

    rec = measure(cfg, emit)
    rec["done"] = True
    emit(rec)


# ------------------------------------------------------------------ parent side
def _last_json(stdout):
    for line in reversed((stdout or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def _text(stream):
    return stream.decode(errors="replace") if isinstance(stream, bytes) else stream or ""


def run_worker(cfg, timeout):
    """Run one configuration in a fresh interpreter; its record, with ``error`` if it failed."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(cfg)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        stdout, stderr = proc.stdout, proc.stderr
        error = None if proc.returncode == 0 else f"exit code {proc.returncode}"
    except subprocess.TimeoutExpired as exc:
        stdout, stderr = _text(exc.stdout), _text(exc.stderr)
        error = f"timed out after {timeout} s"
    rec = _last_json(stdout) or dict(cfg, errors={})
    rec["worker_seconds"] = time.perf_counter() - start
    if error is None and not rec.get("done"):
        error = "worker printed no final record"
    if error is not None:
        tail = stderr.strip().splitlines()[-1:] if stderr else []
        rec["error"] = error + (f" ({tail[0]})" if tail else "")
    if error is not None or rec.get("errors"):
        rec["stderr_tail"] = (stderr or "")[-4000:]
    return rec


def _fmt(value, spec):
    return "–" if value is None else format(value, spec)


def _row(rec):
    g = rec.get
    if g("fit_skipped"):
        fit = f"skipped (> {g('skip_fit_above'):,} rows)"
    else:
        fit = _fmt(g("fit_seconds_per_epoch"), ".2f")
    device = "–"
    if g("device_peak_fit_gib") is not None or g("device_peak_predict_gib") is not None:
        fit_peak = "–" if g("fit_skipped") else _fmt(g("device_peak_fit_gib"), ".2f")
        device = f"{fit_peak} / {_fmt(g('device_peak_predict_gib'), '.2f')}"
    failed = [*rec.get("errors", {})] + (["worker"] if g("error") else [])
    cells = [
        f"{g('rows'):,}" + (" ⚠" if failed else ""),
        g("precision"),
        fit,
        _fmt(g("floor_seconds_per_epoch"), ".2f"),
        _fmt(g("fit_over_floor"), ".2f"),
        _fmt(g("predict_rows_per_second"), ",.0f"),
        _fmt(g("forward_rows_per_second"), ",.0f"),
        _fmt(g("predict_over_forward"), ".2f"),
        _fmt(g("transform_rows_per_second"), ",.0f"),
        _fmt(g("host_fit_extra_x"), ".2f"),
        device,
    ]
    return "| " + " | ".join(cells) + " |"


COLUMNS = [
    "rows",
    "precision",
    "fit s/epoch",
    "floor s/epoch",
    "fit/floor",
    "predict_proba rows/s",
    "forward rows/s",
    "predict/forward",
    "sklearn transform rows/s",
    "peak host fit (× X)",
    "peak device fit/predict (GiB)",
]


def _chunks(records):
    sizes = sorted({r["forward_chunk"] for r in records if r.get("forward_chunk")})
    return ", ".join(f"{c:,}" for c in sizes) + " rows" if sizes else "–"


def _latest_records(path, device):
    """The records of ``path`` for ``device``, the latest per (rows, precision), in order."""
    latest = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            if rec.get("device") == device:
                latest[(rec["rows"], rec["precision"])] = rec
    order = {"fp32": 0, "bf16": 1}
    return [latest[k] for k in sorted(latest, key=lambda k: (k[0], order.get(k[1], 2)))]


def _commands(records):
    commands = list(dict.fromkeys(r["command"] for r in records if r.get("command")))
    return "`; `".join(commands)


def to_markdown(records, args, command):
    first = next((r for r in records if "machine" in r), records[0])
    versions = first.get("versions", {})
    lines = [
        f"Machine: {first.get('machine') or '?'}, {first.get('threads') or '?'} torch threads; "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + ".",
        "",
        f"Data: `make_classification(n_samples=rows, n_features={N_FEATURES}, "
        "n_informative=20, random_state=0)`, float64; the default `DeepEnsembleClassifier` "
        f"(8 members), {args.epochs} epoch(s), batch size {args.batch_size}, early stopping "
        f"off, `device='{args.device}'`. Fit s/epoch is the whole `fit` (encoding included) "
        "over the epochs; the floor trains a copy of the fitted network with a bare torch "
        "loop on inputs encoded once and already on the device. Forward is "
        "`net_.module_` on those inputs, in chunks of the rows the estimator predicts at once "
        f"({_chunks(records)}), outputs moved to the CPU. "
        "The sklearn transform (`preprocessor_.transform`, the CPU encoding) is timed on at "
        f"most {TRANSFORM_ROWS:,} rows. Peak host fit: the fit's peak RSS above the RSS "
        "after building X, in units of `X.nbytes`; each row ran in a fresh process.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *(_row(r) for r in records),
    ]
    problems = []
    for r in records:
        errors = dict(r.get("errors", {}))
        if r.get("error"):
            errors["worker"] = r["error"]
        problems += [
            f"- ⚠ {r['rows']:,} rows, {r['precision']}: {k}: {v}" for k, v in errors.items()
        ]
    if problems:
        lines += ["", *problems]
    lines += ["", f"Reproduce: `{command}`"]
    return "\n".join(lines)


def write_doc(path, device, body):
    """Rewrite section ``scale-{device}`` of ``path``, appending it (with a heading) if new."""
    name = f"scale-{device}"
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    if f"<!-- {name}:begin -->" not in text:
        heading = (
            f"\n## Scale: fit and predict at 100k–5M rows ({device})\n\n"
            "`benchmarks/bench_scale.py` times `fit` and `predict_proba` of the default "
            "deep ensemble on large synthetic tables, against a plain-torch floor and the "
            "module's own forward, and records peak memory. The script rewrites the section "
            "below.\n"
        )
        path.write_text(text.rstrip("\n") + "\n" + heading)
    replace_section(path, name, body)


def _int_list(text):
    return [int(float(t)) for t in text.split(",") if t.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=_int_list,
        default=[100_000, 1_000_000],
        help="comma-separated table sizes (on CUDA: 100000,1000000,5000000)",
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument(
        "--precision",
        type=lambda s: [p.strip() for p in s.split(",") if p.strip()],
        default=["fp32"],
        help="comma-separated: fp32, bf16 (on CUDA: fp32,bf16)",
    )
    parser.add_argument(
        "--skip-fit-above",
        type=int,
        default=None,
        help=f"skip the fit (and the floor) above this many rows; default {CPU_SKIP_FIT_ABOVE:,} "
        "on cpu, no limit on cuda; skipped sizes predict with a model fitted on "
        f"{PREDICT_MODEL_ROWS:,} rows",
    )
    parser.add_argument(
        "--forward-chunk",
        type=int,
        default=None,
        help="rows per forward pass of the module; default: the estimator's prediction batch",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per worker")
    parser.add_argument("--output", type=Path, default=None, help="JSONL results")
    parser.add_argument(
        "--append",
        action="store_true",
        help="append to --output and build the table from all its records (the latest per "
        "rows and precision), so that a long run can be split over several calls",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="run nothing: build the table from the records of --output (e.g. fetched from a GPU "
        "machine)",
    )
    parser.add_argument("--write-doc", action="store_true", help="rewrite the doc section")
    parser.add_argument("--doc", type=Path, default=ROOT / "doc" / "benchmarks.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker_main(args.worker)
        return
    for p in args.precision:
        if p not in ("fp32", "bf16"):
            parser.error(f"--precision: unknown {p!r} (fp32, bf16)")
    skip = args.skip_fit_above
    if skip is None and args.device == "cpu":
        skip = CPU_SKIP_FIT_ABOVE
    output = args.output or ROOT / "benchmarks" / "results" / f"bench_scale_{args.device}.jsonl"
    output.parent.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/bench_scale.py " + shlex.join(sys.argv[1:])
    records = []
    with output.open("a" if args.append or args.render_only else "w") as f:
        for rows in [] if args.render_only else args.rows:
            for precision in args.precision:
                cfg = dict(
                    rows=rows,
                    precision=precision,
                    device=args.device,
                    epochs=args.epochs,
                    batch_size=args.batch_size,
                    threads=args.threads,
                    forward_chunk=args.forward_chunk,
                    skip_fit_above=skip,
                )
                print(f"{rows:,} rows, {precision} ...", flush=True)
                rec = run_worker(cfg, args.timeout)
                rec["command"] = command
                records.append(rec)
                f.write(json.dumps(rec) + "\n")
                f.flush()
                print(
                    "  " + _row(rec) + (f"  {rec['error']}" if rec.get("error") else ""),
                    *(f"  {k}: {v}" for k, v in rec.get("errors", {}).items()),
                    sep="\n",
                    flush=True,
                )
    if args.append or args.render_only:
        records = _latest_records(output, args.device)
    table = to_markdown(records, args, _commands(records))
    print(table)
    print(f"results: {output}")
    if args.write_doc:
        write_doc(args.doc, args.device, table)
        print(f"rewrote section scale-{args.device} of {args.doc}")


if __name__ == "__main__":
    main()
