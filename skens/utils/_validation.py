"""Input checks shared by the estimators."""

import numpy as np

__all__ = ["check_sample_weight"]


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
            f"sample_weight.shape == {weight.shape}, expected {(n_samples,)}: one weight per sample."
        )
    if not np.all(np.isfinite(weight)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(weight < 0):
        raise ValueError("Negative values in data passed to `sample_weight`.")
    if not np.any(weight > 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weight
