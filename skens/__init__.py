"""skens: scikit-learn compatible deep ensembles for tabular data."""

from .deep import DeepEnsembleClassifier, DeepEnsembleRegressor

__version__ = "0.1.0.dev0"

__all__ = ["DeepEnsembleClassifier", "DeepEnsembleRegressor", "__version__"]
