"""Scikit-learn estimators backed by vectorized torch ensembles, trained through skorch."""

from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor

__all__ = ["DeepEnsembleClassifier", "DeepEnsembleRegressor"]
