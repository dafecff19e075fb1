"""The one place where skens touches scikit-learn's private API.

Everything imported here is private in scikit-learn and may move between
releases; keeping it in one module means one file to fix when it does.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import validate_data

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "_fit_context",
    "_safe_indexing",
    "check_matplotlib_support",
    "validate_data",
]
