"""Input checks shared by the estimators."""

import numpy as np
from sklearn.utils import check_array, column_or_1d, compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target

__all__ = ["check_sample_weight", "is_missing"]


def check_sample_weight(sample_weight, n_samples):
    """Validate ``sample_weight``; return a float64 array or ``None``.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), scalar or None
        Non-negative weights, not all zero. A scalar weights every sample
        alike.
    n_samples : int
        Number of samples the weights must match.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
        The weights as float64, or None when ``sample_weight`` is None.

    Examples
    --------
    >>> from skens.utils import check_sample_weight
    >>> check_sample_weight([1, 0, 2], 3)
    array([1., 0., 2.])
    """
    if sample_weight is None:
        return None
    try:
        weight = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sample_weight must be numeric: {exc}") from exc
    if weight.ndim == 0:
        weight = np.full(n_samples, float(weight))
    if weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight.shape == {weight.shape}, expected {(n_samples,)}: "
            "one weight per sample."
        )
    if not np.all(np.isfinite(weight)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(weight < 0):
        raise ValueError("Negative values in data passed to `sample_weight`.")
    if not np.any(weight > 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weight


def _is_missing_value(v):
    if v is None or type(v).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    if isinstance(v, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(v))
    return False


def is_missing(values):
    """Missing-value mask of a 1-D array: None, NaN, ``pd.NA`` and ``NaT`` are missing.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.utils._validation import is_missing
    >>> is_missing(np.array(["a", None, np.nan, 3], dtype=object))
    array([False,  True,  True, False])
    """
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(values.shape, dtype=bool)
    return np.fromiter((_is_missing_value(v) for v in values), dtype=bool, count=len(values))


def _check_target_given(estimator, y):
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )


def _check_classification_target(estimator, y):
    """A 1-D array of labels without missing values, binary or multiclass."""
    _check_target_given(estimator, y)
    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    y = column_or_1d(y, warn=True)
    if is_missing(y).any():
        raise ValueError("Input y contains NaN (a missing label: None, NaN or pd.NA).")
    try:
        check_classification_targets(y)
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in y})
        raise TypeError(
            f"{type(estimator).__name__} needs labels of one comparable type, but y mixes "
            f"{', '.join(kinds)} ({exc}); convert the labels to one type."
        ) from exc
    target_type = type_of_target(y)
    if target_type not in ("binary", "multiclass"):
        raise ValueError(
            f"{type(estimator).__name__} supports binary and multiclass targets, got a "
            f"{target_type!r} target."
        )
    return y


def _check_regression_target(estimator, y, *, single_output=False):
    """A float64 array of shape (n_samples,) or (n_samples, n_outputs), finite.

    With ``single_output``, a column ``(n_samples, 1)`` is raveled (with
    scikit-learn's ``DataConversionWarning``) and more outputs are an error.
    """
    _check_target_given(estimator, y)
    try:
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
    except ValueError as exc:
        if "could not convert" in str(exc) or "numeric" in str(exc):
            raise ValueError(
                f"{type(estimator).__name__} needs a numeric target y, got non-numeric values "
                f"({exc}). For class labels use "
                f"{type(estimator).__name__.replace('Regressor', 'Classifier')}."
            ) from exc
        raise
    if single_output and y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if single_output and y.ndim != 1:
        raise ValueError(
            f"{type(estimator).__name__} supports one target, got y of shape {y.shape}."
        )
    return y


def _class_weighted(class_weight, y, sample_weight):
    """``sample_weight`` times each sample's ``class_weight`` (a dict, 'balanced' or None).

    'balanced' counts the classes among the samples trained on: those of
    positive ``sample_weight``.
    """
    if class_weight is None:
        return sample_weight
    kept = slice(None)
    if isinstance(class_weight, str) and sample_weight is not None:
        kept = sample_weight > 0
    weight = np.zeros(len(y))
    weight[kept] = compute_sample_weight(class_weight, y[kept])
    return weight if sample_weight is None else sample_weight * weight
