"""The one place where skens touches scikit-learn's private API.

Everything imported here is private in scikit-learn and may move between
releases; keeping it in one module means one file to fix when it does.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.validation import validate_data

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "_fit_context",
    "_safe_indexing",
    "validate_data",
    "validate_params",
]
