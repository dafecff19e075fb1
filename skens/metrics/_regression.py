"""Scores of probabilistic regression predictions."""

import numpy as np
from sklearn.utils.validation import check_consistent_length

__all__ = ["gaussian_nll_loss"]

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def _check_regression_arrays(y_true, *arrays, sample_weight=None):
    arrays = [np.asarray(a, dtype=np.float64) for a in (y_true, *arrays)]
    check_consistent_length(*arrays, *([] if sample_weight is None else [sample_weight]))
    shape = arrays[0].shape
    for a in arrays[1:]:
        if a.shape != shape:
            raise ValueError(f"y_true and the predictions must have the same shape, got {shape} and {a.shape}.")
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ValueError("Inputs contain NaN or infinity.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    return arrays, sample_weight


def _average(values, sample_weight):
    """Average over samples (axis 0), then over outputs."""
    if values.ndim > 1:
        values = values.reshape(len(values), -1).mean(axis=1)
    return float(np.average(values, weights=sample_weight))


def gaussian_nll_loss(y_true, y_mean, y_std, *, sample_weight=None):
    """Mean negative log-likelihood of ``y_true`` under ``N(y_mean, y_std**2)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_mean : array-like of the same shape
        Predicted means.
    y_std : array-like of the same shape
        Predicted standard deviations, strictly positive.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float
        Lower is better; averaged over samples and outputs, in nats.

    Examples
    --------
    >>> from skens.metrics import gaussian_nll_loss
    >>> round(gaussian_nll_loss([0.0], [0.0], [1.0]), 4)
    0.9189
    """
    (y_true, y_mean, y_std), sample_weight = _check_regression_arrays(
        y_true, y_mean, y_std, sample_weight=sample_weight
    )
    if np.any(y_std <= 0):
        raise ValueError("y_std must be strictly positive.")
    nll = np.log(y_std) + 0.5 * ((y_true - y_mean) / y_std) ** 2 + _HALF_LOG_2PI
    return _average(nll, sample_weight)
