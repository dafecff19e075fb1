"""Preprocessing of tabular data: for neural networks, and for tree models."""

from ._layout import ColumnLayout
from ._tabular import TabularPreprocessor, check_tabular_input
from ._tree import TreeEncoder

__all__ = ["ColumnLayout", "TabularPreprocessor", "TreeEncoder", "check_tabular_input"]
