"""``skens fit``, ``skens predict`` and ``skens evaluate`` on CSV and Parquet tables.

Every expected failure (a missing or unreadable file, an unknown extension, a
missing target column, a table that does not match the model, an untrusted
type in a model file) raises :class:`CLIError`, which the command line prints
as one line on stderr with exit status 2.
"""

import ast
import sys
import time
from pathlib import Path

__all__ = ["CLIError", "evaluate", "fit", "predict"]

# --estimator -> (classifier, regressor) class names in skens.deep.
ESTIMATORS = {
    "deep": ("DeepEnsembleClassifier", "DeepEnsembleRegressor"),
    "multihead": ("MultiHeadClassifier", "MultiHeadRegressor"),
    "mc-dropout": ("MCDropoutClassifier", "MCDropoutRegressor"),
    "snapshot": ("SnapshotEnsembleClassifier", "SnapshotEnsembleRegressor"),
    "swag": ("SWAGClassifier", "SWAGRegressor"),
    "hypertab": ("HyperTabClassifier", "HyperTabRegressor"),
    "sgmcmc": ("SGMCMCClassifier", "SGMCMCRegressor"),
}

# An integer-valued target with at most this many distinct values is a class label.
MAX_AUTO_CLASSES = 20

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


class CLIError(Exception):
    """An error the command line reports in one line, with exit status 2."""


def _note(message):
    print(f"skens: note: {message}", file=sys.stderr)


def read_table(path):
    """The table at ``path`` (CSV, gzipped CSV or Parquet), as a pandas DataFrame."""
    path = Path(path)
    name = path.name.lower()
    if not name.endswith(TABLE_SUFFIXES):
        raise CLIError(
            f"unknown data file extension in {str(path)!r}: use .csv, .csv.gz or .parquet"
        )
    if not path.is_file():
        raise CLIError(f"no such data file: {str(path)!r}")
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is in the CLI's requirements
        raise CLIError("reading tables needs pandas: pip install pandas") from exc
    try:
        if name.endswith((".parquet", ".pq")):
            try:
                import pyarrow  # noqa: F401
            except ImportError as exc:
                raise CLIError("reading Parquet needs pyarrow: pip install pyarrow") from exc
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except CLIError:
        raise
    except Exception as exc:  # parser, decoding, compression and Arrow errors
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"cannot read {str(path)!r}: {reason}") from exc
    if frame.shape[1] == 0 or len(frame) == 0:
        raise CLIError(f"{str(path)!r} holds no data (no rows or no columns)")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _check_column(frame, column, path, what="target"):
    if column not in frame.columns:
        available = ", ".join(map(str, frame.columns))
        raise CLIError(f"{what} column {column!r} not in {str(path)!r}; columns: {available}")


def infer_task(y):
    """``'classification'`` or ``'regression'`` for the target column ``y``.

    Classification when the target is not numeric (strings, categories,
    booleans), or when all its values are whole numbers and there are at
    most :data:`MAX_AUTO_CLASSES` distinct ones; regression otherwise.
    """
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    values = y.dropna().to_numpy(dtype=np.float64)
    whole = bool(np.all(np.mod(values, 1) == 0))
    few = len(np.unique(values)) <= MAX_AUTO_CLASSES
    return "classification" if whole and few else "regression"


def parse_params(items):
    """``{'key': value}`` from ``['key=value', ...]``; values are Python literals or strings."""
    params = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CLIError(f"--param takes key=value, got {item!r}")
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            value = text.strip()
        if key == "hidden_layer_sizes" and isinstance(value, int):
            value = (value,)
        params[key] = value
    return params


def _make_estimator(kind, task, params, random_state):
    import skens.deep

    classifier, regressor = ESTIMATORS[kind]
    cls = getattr(skens.deep, classifier if task == "classification" else regressor)
    valid = cls._get_param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise CLIError(
            f"{cls.__name__} has no parameter {', '.join(unknown)}; parameters: "
            f"{', '.join(valid)}"
        )
    if random_state is not None:
        params = {**params, "random_state": random_state}
    return cls(**params)


def _save(model, path):
    from .io import save_model

    try:
        return save_model(model, path)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    except OSError as exc:
        raise CLIError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from exc


def load(path):
    """The model saved at ``path``; :class:`CLIError` when it cannot be loaded safely."""
    from .io import load_model

    try:
        return load_model(path)
    except FileNotFoundError as exc:
        raise CLIError(str(exc)) from exc
    except ValueError as exc:  # unknown extension, unreadable file, untrusted types
        raise CLIError(str(exc)) from exc


def features(model, frame, path, *, drop=()):
    """The columns of ``frame`` that ``model`` was fitted on, in its order.

    Missing columns are an error (naming them); extra ones are dropped with a
    note on stderr. ``drop`` (a target or ID column) is dropped silently.
    """
    X = frame.drop(columns=[c for c in drop if c in frame.columns])
    expected = getattr(model, "feature_names_in_", None)
    if expected is None:
        n_expected = getattr(model, "n_features_in_", X.shape[1])
        if X.shape[1] != n_expected:
            raise CLIError(
                f"{str(path)!r} has {X.shape[1]} feature columns, the model expects {n_expected}"
            )
        return X
    expected = [str(c) for c in expected]
    missing = [c for c in expected if c not in X.columns]
    if missing:
        raise CLIError(
            f"{str(path)!r} does not match the model: missing column(s) {', '.join(missing)}"
        )
    extra = [c for c in X.columns if c not in expected]
    if extra:
        _note(f"ignoring column(s) the model was not fitted on: {', '.join(extra)}")
    return X[expected]


def _is_classifier(model):
    from sklearn.base import is_classifier

    return is_classifier(model)


def _call(what, function, *args, **kwargs):
    """``function(*args, **kwargs)``; a ValueError or TypeError becomes a CLIError."""
    try:
        return function(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"{what} failed: {reason}") from exc


def fit(args, write=print):
    """``skens fit``: read, fit, save, print a one-line summary."""
    frame = read_table(args.data)
    _check_column(frame, args.target, args.data)
    if args.id is not None:
        _check_column(frame, args.id, args.data, what="ID")
    y = frame[args.target]
    if y.isna().any():
        raise CLIError(
            f"target column {args.target!r} has {int(y.isna().sum())} missing value(s); "
            "drop those rows first"
        )
    X = frame.drop(columns=[c for c in (args.target, args.id) if c is not None])
    if X.shape[1] == 0:
        raise CLIError(f"{str(args.data)!r} has no feature columns besides the target")
    task = infer_task(y) if args.task == "auto" else args.task
    if task == "regression" and not __import__("pandas").api.types.is_numeric_dtype(y):
        raise CLIError(f"target column {args.target!r} is not numeric: use --task classification")
    model = _make_estimator(args.estimator, task, parse_params(args.param), args.random_state)
    y_fit = y.to_numpy(dtype=float) if task == "regression" else y.to_numpy()
    start = time.perf_counter()
    _call("fit", model.fit, X, y_fit)
    seconds = time.perf_counter() - start
    out = _save(model, args.output)
    validation = getattr(model, "validation_loss_curve_", None) is not None
    loss = getattr(model, "best_loss_", None)
    metric = "" if loss is None else (
        f", {'validation' if validation else 'training'} loss {loss:.4f}"
    )
    write(
        f"fitted {type(model).__name__} ({task}) on {X.shape[0]} rows x {X.shape[1]} columns "
        f"in {seconds:.1f} s{metric}; saved to {out}"
    )
    return 0


def predict(args, write=print):
    """``skens predict``: write predictions (and probabilities or std) as CSV."""
    import pandas as pd

    model = load(args.model)
    frame = read_table(args.data)
    if args.id is not None:
        _check_column(frame, args.id, args.data, what="ID")
    classifier = _is_classifier(model)
    if args.proba and not classifier:
        raise CLIError("--proba needs a classifier; this model is a regressor (try --std)")
    if args.std and classifier:
        raise CLIError("--std needs a regressor; this model is a classifier (try --proba)")
    drop = [c for c in (args.id, args.target) if c is not None]
    X = features(model, frame, args.data, drop=drop)
    if args.id is not None:
        index = pd.Index(frame[args.id], name=args.id)
    else:
        index = frame.index.copy()
        index.name = index.name or "index"
    out = pd.DataFrame(index=index)
    if args.std:
        mean, std = _call("predict", model.predict, X, return_std=True)
        out["prediction"], out["std"] = mean, std
    else:
        out["prediction"] = _call("predict", model.predict, X)
    if args.proba:
        proba = _call("predict_proba", model.predict_proba, X)
        for j, label in enumerate(model.classes_):
            out[f"proba_{label}"] = proba[:, j]
    try:
        out.to_csv(args.output)
    except OSError as exc:
        raise CLIError(f"cannot write {str(args.output)!r}: {exc.strerror or exc}") from exc
    write(f"wrote {len(out)} predictions to {args.output}")
    return 0


def _table(rows, write):
    width = max(len(name) for name, _ in rows)
    write(f"{'metric':<{width}}  {'value':>10}")
    write(f"{'-' * width}  {'-' * 10}")
    for name, value in rows:
        write(f"{name:<{width}}  {value:>10.4f}")


def _classification_metrics(model, X, y):
    import numpy as np
    from sklearn.metrics import log_loss

    from .metrics import expected_calibration_error, multiclass_brier_score_loss

    proba = _call("predict_proba", model.predict_proba, X)
    classes = model.classes_
    unknown = sorted(set(np.unique(y)) - set(classes), key=str)
    if unknown:
        raise CLIError(
            f"the target holds label(s) the model never saw: {', '.join(map(str, unknown))}"
        )
    predicted = classes[proba.argmax(axis=1)]
    rows = [
        ("accuracy", float(np.mean(predicted == y))),
        ("log loss", float(log_loss(y, proba, labels=classes))),
        ("Brier", float(multiclass_brier_score_loss(y, proba, labels=classes))),
        ("ECE", float(expected_calibration_error(y, proba, labels=classes))),
    ]
    return rows, proba


def _regression_metrics(model, X, y):
    import numpy as np
    from scipy.stats import norm
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    from .metrics import (
        crps_gaussian_loss,
        gaussian_nll_loss,
        interval_coverage_score,
        mean_interval_width,
    )

    mean, std = _call("predict", model.predict, X, return_std=True)
    half = norm.ppf(0.95) * np.asarray(std)
    lower, upper = mean - half, mean + half
    rows = [
        ("RMSE", float(root_mean_squared_error(y, mean))),
        ("MAE", float(mean_absolute_error(y, mean))),
        ("R2", float(r2_score(y, mean))),
        ("Gaussian NLL", float(gaussian_nll_loss(y, mean, std))),
        ("CRPS", float(crps_gaussian_loss(y, mean, std))),
        ("90% interval coverage", float(interval_coverage_score(y, lower, upper))),
        ("90% interval width", float(mean_interval_width(lower, upper))),
    ]
    return rows, (mean, std)


def _plot(display_cls, output_dir, filename, *args, **kwargs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create {str(output_dir)!r}: {exc.strerror or exc}") from exc
    display = display_cls.from_predictions(*args, **kwargs)
    path = output_dir / filename
    try:
        display.figure_.savefig(path, dpi=100)
    finally:
        plt.close(display.figure_)
    return path


def evaluate(args, write=print):
    """``skens evaluate``: print a metrics table, write a PNG plot into ``-o DIR``."""
    import numpy as np

    model = load(args.model)
    frame = read_table(args.data)
    _check_column(frame, args.target, args.data)
    y = frame[args.target]
    if y.isna().any():
        raise CLIError(
            f"target column {args.target!r} has {int(y.isna().sum())} missing value(s)"
        )
    X = features(model, frame, args.data, drop=[c for c in (args.target, args.id) if c])
    name = type(model).__name__
    if _is_classifier(model):
        y = y.to_numpy()
        if np.issubdtype(model.classes_.dtype, np.number) and not np.issubdtype(
            y.dtype, np.number
        ):
            raise CLIError(f"target column {args.target!r} is not numeric like the model's labels")
        rows, proba = _classification_metrics(model, X, y)
        plot = ("reliability.png", "ReliabilityDisplay", (y, proba), {"labels": model.classes_})
    else:
        try:
            y = y.to_numpy(dtype=float)
        except (ValueError, TypeError) as exc:
            raise CLIError(f"target column {args.target!r} is not numeric") from exc
        rows, (mean, std) = _regression_metrics(model, X, y)
        plot = ("intervals.png", "RegressionUncertaintyDisplay", (y, mean, std), {})
    write(f"{name} on {len(y)} rows of {args.data}")
    _table(rows, write)
    if args.output is not None:
        from . import metrics

        filename, display, plot_args, kwargs = plot
        path = _plot(
            getattr(metrics, display), args.output, filename, *plot_args, name=name, **kwargs
        )
        write(f"wrote {path}")
    return 0
