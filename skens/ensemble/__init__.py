"""Ensembles of heterogeneous members: deep ensembles, trees and linear models together.

``import skens.ensemble`` does not import torch or skorch; the default pool
loads the deep ensemble when it is built.
"""

from ._aggregation import crossmax
from ._cascade import (
    CascadeClassifier,
    CascadeRegressor,
    exit_confidence,
    exit_window,
    member_groups,
    operating_threshold,
)
from ._cascade_display import CascadeCostDisplay
from ._pool import default_pool
from ._selection import EnsembleSelectionClassifier, EnsembleSelectionRegressor
from ._weights import gem_weights, greedy_selection, simplex_weights

__all__ = [
    "CascadeClassifier",
    "CascadeCostDisplay",
    "CascadeRegressor",
    "EnsembleSelectionClassifier",
    "EnsembleSelectionRegressor",
    "crossmax",
    "default_pool",
    "exit_confidence",
    "exit_window",
    "gem_weights",
    "greedy_selection",
    "member_groups",
    "operating_threshold",
    "simplex_weights",
]
