"""Metrics that work on any model's outputs (numpy, scipy and scikit-learn only)."""

from ._regression import gaussian_nll_loss
from ._uncertainty import (
    entropy_decomposition,
    expected_entropy,
    gaussian_variance_decomposition,
    mutual_information,
    predictive_entropy,
)

__all__ = [
    "entropy_decomposition",
    "expected_entropy",
    "gaussian_nll_loss",
    "gaussian_variance_decomposition",
    "mutual_information",
    "predictive_entropy",
]
