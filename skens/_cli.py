"""Command-line entry point: ``skens <command>`` or ``python -m skens <command>``.

Commands: ``demo``, ``fit``, ``predict``, ``evaluate``. Imports are lazy (torch,
pandas and skops load only when a command runs), so ``skens --help`` is fast.
Expected failures print one line on stderr and exit with status 2.
"""

import argparse
import sys

__all__ = ["main"]

_FIT_EPILOG = """\
task 'auto': classification when the target is not numeric (strings, categories,
booleans) or when its values are whole numbers with at most 20 distinct ones;
regression otherwise.

--param key=value sets an estimator parameter; values are Python literals
(3, 0.1, 'relu', (64, 64), None) or else strings; hidden_layer_sizes=16 means (16,).

The model file's extension picks its format: .skops (safe: loaded without
pickle, see skens.io) or .pkl / .pickle / .joblib (pickle: load only trusted files).

example:
  skens fit train.csv --target y --param max_epochs=50 -o model.skops
"""

_PREDICT_EPILOG = """\
DATA must hold every column the model was fitted on; columns it was not fitted
on (e.g. the target) are ignored with a note. The output's first column is
--id when given, else DATA's row index.

example:
  skens predict model.skops test.parquet --proba -o predictions.csv
"""

_EVALUATE_EPILOG = """\
classifiers: accuracy, log loss, Brier score, ECE; reliability.png.
regressors: RMSE, MAE, R2, Gaussian NLL, CRPS, 90%% interval coverage and width;
intervals.png. Plots are written only with -o DIR.

example:
  skens evaluate model.skops test.csv --target y -o report/
"""


def _parser():
    parser = argparse.ArgumentParser(
        prog="skens", description="Deep-ensemble estimators for tabular data."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    demo = commands.add_parser(
        "demo",
        help="compare deep ensembles with a single network and HistGradientBoosting "
        "on breast cancer and diabetes",
    )
    demo.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")

    formatter = argparse.RawDescriptionHelpFormatter
    fit = commands.add_parser(
        "fit",
        help="fit a deep ensemble on a CSV or Parquet table and save it",
        description="Fit a deep ensemble on a table (.csv, .csv.gz, .parquet) and save it.",
        epilog=_FIT_EPILOG,
        formatter_class=formatter,
    )
    fit.add_argument("data", help="training table: .csv, .csv.gz or .parquet")
    fit.add_argument("--target", required=True, help="name of the target column")
    fit.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="learning task (default: auto, see below)",
    )
    from ._cli_tabular import ESTIMATORS

    fit.add_argument(
        "--estimator",
        choices=list(ESTIMATORS),
        default="deep",
        help="ensemble kind (default: deep, i.e. DeepEnsembleClassifier/Regressor)",
    )
    fit.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="estimator parameter, repeatable (e.g. --param max_epochs=50)",
    )
    fit.add_argument("--id", metavar="COL", help="ID column, left out of the features")
    fit.add_argument("--random-state", type=int, default=None, help="seed of the fit")
    fit.add_argument(
        "-o", "--output", required=True, metavar="MODEL", help="model file (.skops, .pkl, .joblib)"
    )

    predict = commands.add_parser(
        "predict",
        help="predict with a saved model, write a CSV",
        description="Predict the rows of a table with a saved model and write a CSV.",
        epilog=_PREDICT_EPILOG,
        formatter_class=formatter,
    )
    predict.add_argument("model", help="model file written by 'skens fit' (or skens.io)")
    predict.add_argument("data", help="table to predict: .csv, .csv.gz or .parquet")
    predict.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="predictions CSV to write"
    )
    predict.add_argument(
        "--proba", action="store_true", help="classifiers: add proba_<class> columns"
    )
    predict.add_argument(
        "--std", action="store_true", help="regressors: add the predictive std column"
    )
    predict.add_argument("--id", metavar="COL", help="ID column copied to the output")
    predict.add_argument(
        "--target", metavar="COL", help="a target column of DATA to ignore (no note)"
    )

    evaluate = commands.add_parser(
        "evaluate",
        help="print metrics of a saved model on a labelled table, write plots",
        description="Score a saved model on a labelled table; optionally write a plot.",
        epilog=_EVALUATE_EPILOG,
        formatter_class=formatter,
    )
    evaluate.add_argument("model", help="model file written by 'skens fit' (or skens.io)")
    evaluate.add_argument("data", help="labelled table: .csv, .csv.gz or .parquet")
    evaluate.add_argument("--target", required=True, help="name of the target column")
    evaluate.add_argument("--id", metavar="COL", help="ID column, left out of the features")
    evaluate.add_argument(
        "-o", "--output", metavar="DIR", help="folder for reliability.png or intervals.png"
    )
    return parser


def main(argv=None):
    """Run the ``skens`` command line; return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        run_demo(random_state=args.random_state)
        return 0
    from . import _cli_tabular

    try:
        return getattr(_cli_tabular, args.command)(args)
    except _cli_tabular.CLIError as exc:
        print(f"skens {args.command}: error: {exc}", file=sys.stderr)
        return 2
