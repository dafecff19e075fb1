"""Preprocessing of tabular data for neural networks."""

from ._tabular import TabularPreprocessor, check_tabular_input

__all__ = ["TabularPreprocessor", "check_tabular_input"]
