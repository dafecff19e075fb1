"""Find the public estimators of skens, as :func:`sklearn.utils.all_estimators` does."""

import inspect
from importlib import import_module

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin

__all__ = ["all_estimators"]

# Packages whose ``__all__`` make up the public estimator API.
_PUBLIC_PACKAGES = ("skens", "skens.ensemble", "skens.preprocessing")
# Every public module: listed in doc/api.md (tests/test_docs.py) and
# docstring-checked (.ci/check_docstrings.py), both reading this one list.
_PUBLIC_MODULES = (
    "skens",
    "skens.base",
    "skens.callbacks",
    "skens.ensemble",
    "skens.exceptions",
    "skens.io",
    "skens.metrics",
    "skens.nn",
    "skens.preprocessing",
    "skens.utils",
)

_TYPE_MIXINS = {
    "classifier": ClassifierMixin,
    "regressor": RegressorMixin,
    "transformer": TransformerMixin,
}


def all_estimators(type_filter=None):
    """List the public estimators of skens.

    Parameters
    ----------
    type_filter : {'classifier', 'regressor', 'transformer'}, list of those or None
        Keep only estimators of these kinds; ``None`` keeps all.

    Returns
    -------
    estimators : list of (name, class) tuples
        Sorted by name, without duplicates.

    Examples
    --------
    >>> from skens.utils.discovery import all_estimators
    >>> [name for name, _ in all_estimators(type_filter="transformer")]
    ['TabularPreprocessor', 'TreeEncoder']
    """
    if type_filter is not None:
        kinds = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = set(kinds) - set(_TYPE_MIXINS)
        if unknown:
            raise ValueError(
                f"type_filter must be None or among {sorted(_TYPE_MIXINS)}, got {sorted(unknown)}."
            )
    found = {}
    for package in _PUBLIC_PACKAGES:
        try:
            module = import_module(package)
        except ImportError:
            continue
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not name.startswith("_")
                and not inspect.isabstract(obj)
            ):
                found[name] = obj
    estimators = sorted(found.items())
    if type_filter is not None:
        estimators = [
            (name, cls)
            for name, cls in estimators
            if any(issubclass(cls, _TYPE_MIXINS[kind]) for kind in kinds)
        ]
    return estimators
