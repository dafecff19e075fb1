"""Preprocessing of tabular data: for neural networks, and for tree models."""

from ._tabular import TabularPreprocessor, check_tabular_input
from ._tree import TreeEncoder

__all__ = ["TabularPreprocessor", "TreeEncoder", "check_tabular_input"]
