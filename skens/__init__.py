"""skens: scikit-learn compatible deep ensembles for tabular data.

``import skens`` (and ``skens.metrics``, ``skens.preprocessing``,
``skens.utils``) does not import torch or skorch: the deep estimators
(``skens.DeepEnsembleClassifier``, the students, MC dropout and snapshot
ensembles: the names of ``_LAZY``) are loaded on first access.
"""

__version__ = "0.1.0.dev0"

# Public name -> submodule that defines it, imported on first access.
_LAZY = {
    "DeepEnsembleClassifier": "deep",
    "DeepEnsembleRegressor": "deep",
    "DistilledClassifier": "deep",
    "DistilledRegressor": "deep",
    "EnsLossClassifier": "deep",
    "EvidentialRegressor": "deep",
    "HyperTabClassifier": "deep",
    "HyperTabRegressor": "deep",
    "MCDropoutClassifier": "deep",
    "MCDropoutRegressor": "deep",
    "MultiHeadClassifier": "deep",
    "MultiHeadRegressor": "deep",
    "SnapshotEnsembleClassifier": "deep",
    "SnapshotEnsembleRegressor": "deep",
    "SGMCMCClassifier": "deep",
    "SGMCMCRegressor": "deep",
    "SWAGClassifier": "deep",
    "SWAGRegressor": "deep",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
