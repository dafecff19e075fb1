"""Utilities: device resolution and estimator discovery."""

from ._device import resolve_device
from ._quantile import QuantileView, quantile_views
from ._validation import check_sample_weight
from .discovery import all_estimators

__all__ = [
    "QuantileView",
    "all_estimators",
    "check_sample_weight",
    "quantile_views",
    "resolve_device",
]
