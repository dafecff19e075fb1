"""Scikit-learn estimators backed by vectorized torch ensembles, trained through skorch."""

from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor
from ._distilled import DistilledClassifier, DistilledRegressor

__all__ = [
    "DeepEnsembleClassifier",
    "DeepEnsembleRegressor",
    "DistilledClassifier",
    "DistilledRegressor",
]
