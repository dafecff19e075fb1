"""Utilities: device resolution and estimator discovery."""

from ._device import resolve_device
from ._validation import check_sample_weight
from .discovery import all_estimators

__all__ = ["all_estimators", "check_sample_weight", "resolve_device"]
