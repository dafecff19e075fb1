"""Command-line entry point: ``skens demo`` or ``python -m skens demo``."""

import argparse

__all__ = ["main"]


def main(argv=None):
    """Run the ``skens`` command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="skens", description="Deep-ensemble estimators for tabular data."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="compare deep ensembles with a single network and HistGradientBoosting "
        "on breast cancer and diabetes",
    )
    demo.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        run_demo(random_state=args.random_state)
    return 0
