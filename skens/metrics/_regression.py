"""Scores of probabilistic regression predictions."""

import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.utils.validation import check_consistent_length

from ..utils._validation import check_sample_weight as _check_sample_weight
from ._uncertainty import _check_member_weights

__all__ = [
    "gaussian_nll_loss",
    "crps_gaussian_loss",
    "interval_coverage_score",
    "mean_interval_width",
    "coverage_curve",
    "quantile_calibration_error",
    "gaussian_mixture_quantiles",
]

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)
_INV_SQRT_PI = 1.0 / np.sqrt(np.pi)
_INV_SQRT_2PI = 1.0 / np.sqrt(2 * np.pi)


def _check_regression_arrays(
    y_true, *arrays, sample_weight=None, names=("y_true", "the predictions")
):
    arrays = [np.asarray(a, dtype=np.float64) for a in (y_true, *arrays)]
    check_consistent_length(*arrays, *([] if sample_weight is None else [sample_weight]))
    shape = arrays[0].shape
    for a in arrays[1:]:
        if a.shape != shape:
            raise ValueError(
                f"{names[0]} and {names[1]} must have the same shape, got {shape} and {a.shape}."
            )
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ValueError("Inputs contain NaN or infinity.")
    sample_weight = _check_sample_weight(sample_weight, len(arrays[0]))
    return arrays, sample_weight


def _check_std(y_std):
    if np.any(y_std < 0):
        raise ValueError("y_std must be non-negative.")


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


def crps_gaussian_loss(y_true, y_mean, y_std, *, sample_weight=None):
    """The continuous ranked probability score of a Gaussian prediction.

    The CRPS of a predictive distribution with CDF ``F`` at the observation
    ``y`` is ``integral (F(x) - 1[x >= y])**2 dx``; for ``N(mu, sigma**2)`` it
    has the closed form ``sigma * (z * (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))``
    with ``z = (y - mu) / sigma``. It is a proper score in the units of the
    target and reduces to the absolute error for ``sigma = 0``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_mean : array-like of the same shape
        Predicted means.
    y_std : array-like of the same shape
        Predicted standard deviations, non-negative. A zero standard deviation
        is a point prediction and scores ``|y_true - y_mean|``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float
        Lower is better; averaged over samples (with ``sample_weight``), then
        over outputs.

    See Also
    --------
    gaussian_nll_loss : Negative log-likelihood of the same prediction.

    References
    ----------
    .. [1] T. Gneiting and A. E. Raftery, "Strictly proper scoring rules,
       prediction, and estimation", JASA 102(477), 2007.

    Examples
    --------
    >>> from skens.metrics import crps_gaussian_loss
    >>> round(crps_gaussian_loss([0.0], [0.0], [1.0]), 4)  # (2 phi(0) - 1/sqrt(pi))
    0.2337
    >>> crps_gaussian_loss([3.0], [1.0], [0.0])  # a point prediction: the absolute error
    2.0
    """
    (y_true, y_mean, y_std), sample_weight = _check_regression_arrays(
        y_true, y_mean, y_std, sample_weight=sample_weight
    )
    _check_std(y_std)
    error = y_true - y_mean
    point = y_std == 0
    sigma = np.where(point, 1.0, y_std)
    z = error / sigma
    crps = sigma * (z * (2 * ndtr(z) - 1) + 2 * _INV_SQRT_2PI * np.exp(-0.5 * z**2) - _INV_SQRT_PI)
    crps = np.where(point, np.abs(error), crps)
    return _average(crps, sample_weight)


def interval_coverage_score(y_true, y_lower, y_upper, *, sample_weight=None):
    """Fraction of the targets that fall inside their prediction interval.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_lower : array-like of the same shape
        Lower bounds of the intervals (included).
    y_upper : array-like of the same shape
        Upper bounds of the intervals (included), ``>= y_lower``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    coverage : float
        Weighted fraction of ``y_lower <= y_true <= y_upper``, in [0, 1],
        averaged over samples, then over outputs. Compare it with the
        nominal level of the intervals: higher is not better past it, so read
        it together with :func:`mean_interval_width`.

    See Also
    --------
    mean_interval_width : How wide the same intervals are.
    coverage_curve : Coverage of Gaussian central intervals at many levels.

    Examples
    --------
    >>> from skens.metrics import interval_coverage_score
    >>> interval_coverage_score([0.0, 1.0, 5.0, 2.0], [-1, 0, 0, 2], [1, 1, 4, 3])
    0.75
    """
    (y_true, y_lower, y_upper), sample_weight = _check_regression_arrays(
        y_true, y_lower, y_upper, sample_weight=sample_weight
    )
    _check_interval(y_lower, y_upper)
    inside = (y_lower <= y_true) & (y_true <= y_upper)
    return _average(inside.astype(np.float64), sample_weight)


def _check_interval(y_lower, y_upper):
    if np.any(y_lower > y_upper):
        raise ValueError("y_lower must not exceed y_upper: some intervals have lower > upper.")


def mean_interval_width(y_lower, y_upper, *, sample_weight=None):
    """Mean width ``y_upper - y_lower`` of prediction intervals.

    Unlike the other metrics it takes no ``y_true``: the width (sharpness) of
    an interval does not depend on the observed target, and leaving it out
    lets the function score intervals before the targets are known.

    Parameters
    ----------
    y_lower : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Lower bounds of the intervals.
    y_upper : array-like of the same shape
        Upper bounds of the intervals, ``>= y_lower``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    width : float
        Averaged over samples, then over outputs, in the units of the target.
        Narrower is better at a given coverage.

    See Also
    --------
    interval_coverage_score : How often the same intervals contain the target.

    Examples
    --------
    >>> from skens.metrics import mean_interval_width
    >>> mean_interval_width([-1.0, 0.0], [1.0, 1.0])
    1.5
    """
    (y_lower, y_upper), sample_weight = _check_regression_arrays(
        y_lower, y_upper, sample_weight=sample_weight, names=("y_lower", "y_upper")
    )
    _check_interval(y_lower, y_upper)
    return _average(y_upper - y_lower, sample_weight)


def _check_levels(levels):
    if levels is None:
        return np.linspace(0.05, 0.95, 19)
    levels = np.asarray(levels, dtype=np.float64)
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(
            f"levels must be a non-empty 1-D array of levels, got shape {levels.shape}."
        )
    if not np.all((levels > 0) & (levels < 1)):
        raise ValueError(f"levels must lie in the open interval (0, 1), got {levels}.")
    return levels


def coverage_curve(y_true, y_mean, y_std, *, levels=None, sample_weight=None):
    """Observed coverage of Gaussian central intervals at several nominal levels.

    For each nominal level ``l`` the central interval of ``N(y_mean, y_std**2)``
    is ``y_mean +/- z * y_std`` with ``z = Phi^-1((1 + l) / 2)``; its observed
    coverage is the weighted fraction of ``y_true`` inside it (bounds
    included). A calibrated prediction has ``observed == levels``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_mean : array-like of the same shape
        Predicted means.
    y_std : array-like of the same shape
        Predicted standard deviations, non-negative.
    levels : array-like of shape (n_levels,), default=None
        Nominal levels in (0, 1); ``None`` means ``np.linspace(0.05, 0.95, 19)``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    levels : ndarray of shape (n_levels,)
        The nominal levels.
    observed : ndarray of shape (n_levels,)
        Observed coverage at each level, averaged over samples, then outputs.

    See Also
    --------
    quantile_calibration_error : Mean absolute gap between the two arrays.
    interval_coverage_score : Coverage of arbitrary intervals.

    Examples
    --------
    >>> from skens.metrics import coverage_curve
    >>> levels, observed = coverage_curve([0.0, 0.5, 3.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0],
    ...                                   levels=[0.5, 0.99])
    >>> levels, observed.round(4)
    (array([0.5 , 0.99]), array([0.6667, 0.6667]))
    """
    (y_true, y_mean, y_std), sample_weight = _check_regression_arrays(
        y_true, y_mean, y_std, sample_weight=sample_weight
    )
    _check_std(y_std)
    levels = _check_levels(levels)
    z = ndtri((1 + levels) / 2)
    distance = np.abs(y_true - y_mean)
    observed = np.array(
        [_average((distance <= z_l * y_std).astype(np.float64), sample_weight) for z_l in z]
    )
    return levels, observed


def quantile_calibration_error(y_true, y_mean, y_std, *, levels=None, sample_weight=None):
    """Mean absolute gap between nominal and observed coverage of Gaussian intervals.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_mean : array-like of the same shape
        Predicted means.
    y_std : array-like of the same shape
        Predicted standard deviations, non-negative.
    levels : array-like of shape (n_levels,), default=None
        Nominal central-interval levels in (0, 1); ``None`` means
        ``np.linspace(0.05, 0.95, 19)``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    error : float
        ``mean(|observed - levels|)`` over the levels, in [0, 1]; 0 is perfect
        calibration, lower is better.

    See Also
    --------
    coverage_curve : The observed coverage at each level.

    Notes
    -----
    Over-confident predictions (too small ``y_std``) cover less than nominal,
    under-confident ones more; both raise the error. The sign is visible in
    :func:`coverage_curve`.

    Examples
    --------
    >>> from skens.metrics import quantile_calibration_error
    >>> quantile_calibration_error([0.0, 0.5, 3.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0],
    ...                            levels=[0.5, 0.99])  # (|0.667 - 0.5| + |0.667 - 0.99|) / 2
    0.245
    """
    levels, observed = coverage_curve(
        y_true, y_mean, y_std, levels=levels, sample_weight=sample_weight
    )
    return float(np.mean(np.abs(observed - levels)))


def _check_quantiles(quantiles):
    """The quantile levels as a 1-D float array, and whether they were a scalar."""
    scalar = np.ndim(quantiles) == 0
    try:
        levels = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"quantiles must be numbers in (0, 1), got {quantiles!r}.") from exc
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(
            "quantiles must be a number or a non-empty 1-D array of numbers, "
            f"got shape {levels.shape}."
        )
    if not np.all((levels > 0) & (levels < 1)):
        raise ValueError(f"quantiles must lie in the open interval (0, 1), got {levels}.")
    return levels, scalar


def _mixture_tail(x, means, stds, weights, upper):
    """The mixture's CDF at ``x`` (or its survival function when ``upper``), and its density.

    ``x`` has shape ``means.shape[1:] + (n_quantiles,)``; the member axis of
    ``means``, ``stds`` (zero for a point mass) and ``weights`` is the first.
    """
    point = stds == 0
    sigma = np.where(point, 1.0, stds)[..., None]
    z = (x[None] - means[..., None]) / sigma
    # P(Y <= x) below the median (lower tail), P(Y > x) above it: both accurate in their tail.
    tail = np.where(upper, ndtr(-z), ndtr(z))
    tail = np.where(point[..., None], np.where(upper, z < 0, z >= 0), tail)
    density = np.where(point[..., None], 0.0, _INV_SQRT_2PI * np.exp(-0.5 * z**2) / sigma)
    w = weights.reshape((-1,) + (1,) * (tail.ndim - 1))
    return (w * tail).sum(axis=0), (w * density).sum(axis=0)


def gaussian_mixture_quantiles(means, stds, quantiles, *, weights=None):
    """Compute the quantiles of a mixture of Gaussians, such as a deep ensemble's prediction.

    The mixture of the members ``N(means[m], stds[m]**2)`` with weights
    ``weights[m]`` has the CDF ``F(y) = sum_m weights[m] Phi((y - means[m]) / stds[m])``;
    its ``q``-quantile is the ``y`` with ``F(y) = q``. It lies between the
    smallest and the largest of the members' own ``q``-quantiles and is found
    there by Newton's method safeguarded by bisection, vectorised over samples,
    outputs and levels, to about 1e-10 relative accuracy. With one member it is
    ``means + stds * Phi^-1(q)``.

    Parameters
    ----------
    means : array-like of shape (n_members, ...)
        Member means, member axis first, e.g. ``(n_members, n_samples)`` or
        ``(n_members, n_samples, n_outputs)``.
    stds : array-like of the same shape
        Member standard deviations, non-negative; a zero is a point mass.
    quantiles : float or array-like of shape (n_quantiles,)
        Levels in the open interval (0, 1).
    weights : array-like of shape (n_members,), default=None
        Non-negative member weights (normalised to sum to one); ``None``
        weighs the members the same.

    Returns
    -------
    y_quantiles : ndarray of shape ``means.shape[1:] + (n_quantiles,)``
        The quantiles, level axis last; without it when ``quantiles`` is a
        scalar.

    See Also
    --------
    skens.base.EnsembleRegressorMixin.predict_quantiles : The same for a fitted ensemble.

    Examples
    --------
    >>> from skens.metrics._regression import gaussian_mixture_quantiles
    >>> gaussian_mixture_quantiles([[0.0]], [[1.0]], [0.025, 0.5, 0.975]).round(4)
    array([[-1.96,  0.  ,  1.96]])
    >>> # two members far apart: the median lies between them, 1.96 away from neither
    >>> gaussian_mixture_quantiles([[-5.0], [5.0]], [[1.0], [1.0]], [0.25, 0.5]).round(4)
    array([[-5., 0.]])
    """
    means = np.asarray(means, dtype=np.float64)
    stds = np.asarray(stds, dtype=np.float64)
    if means.ndim == 0 or means.shape[0] == 0:
        raise ValueError(
            "means must have the member axis first, shape (n_members, ...), "
            f"got shape {means.shape}."
        )
    if stds.shape != means.shape:
        raise ValueError(
            f"means and stds must have the same shape, got {means.shape} and {stds.shape}."
        )
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(stds))):
        raise ValueError("means and stds must be finite (no NaN or infinity).")
    _check_std(stds)
    levels, scalar = _check_quantiles(quantiles)
    n_members = means.shape[0]
    weights = _check_member_weights(weights, n_members)
    if weights is None:
        weights = np.full(n_members, 1.0 / n_members)

    upper = levels > 0.5  # solve 1 - F(y) = 1 - q above the median
    target = np.where(upper, 1.0 - levels, levels)
    member_q = means[..., None] + stds[..., None] * ndtri(levels)
    used = (weights > 0).reshape((-1,) + (1,) * (member_q.ndim - 1))
    lo = np.where(used, member_q, np.inf).min(axis=0)
    hi = np.where(used, member_q, -np.inf).max(axis=0)
    x = 0.5 * (lo + hi)
    scale = np.maximum(np.abs(lo), np.abs(hi)) + np.max(stds, axis=0)[..., None]
    tol = 1e-12 * np.maximum(scale, 1e-300)
    for _ in range(200):
        tail, density = _mixture_tail(x, means, stds, weights, upper)
        # g(x) = F(x) - q, increasing in x, in either tail's terms
        g = np.where(upper, target - tail, tail - target)
        lo = np.where(g < 0, x, lo)
        hi = np.where(g >= 0, x, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - g / density
        inside = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
        x_new = np.where(g == 0, x, np.where(inside, newton, 0.5 * (lo + hi)))
        done = (np.abs(x_new - x) <= tol) | (hi - lo <= tol)
        x = x_new
        if np.all(done):
            break
    return x[..., 0] if scalar else x
