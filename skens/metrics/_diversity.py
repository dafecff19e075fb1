"""Diversity of ensemble members.

Every function takes member outputs with the member axis first,
``(n_members, n_samples, ...)``, so it works on any ensemble's predictions.
Pairwise measures average over the ``n_members * (n_members - 1) / 2``
unordered pairs of members.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils import Bunch
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._validation import check_sample_weight as _check_sample_weight
from ._regression import _average

__all__ = [
    "pairwise_disagreement",
    "mean_error_correlation",
    "ambiguity_decomposition",
    "q_statistic",
]


def _check_member_pred(member_pred, *, min_members=2, allow_proba=False):
    member_pred = np.asarray(member_pred)
    if allow_proba and member_pred.ndim == 3:
        proba = member_pred.astype(np.float64)
        if not np.all(np.isfinite(proba)):
            raise ValueError("member_pred contains NaN or infinity.")
        member_pred = proba.argmax(axis=-1)
    if member_pred.ndim != 2:
        expected = (
            "(n_members, n_samples) or (n_members, n_samples, n_classes)"
            if allow_proba
            else (
                "(n_members, n_samples); for probabilities pass "
                "classes[member_proba.argmax(axis=-1)]"
            )
        )
        raise ValueError(f"member_pred must have shape {expected}, got shape {member_pred.shape}.")
    if member_pred.shape[0] < min_members:
        raise ValueError(
            f"member_pred must hold at least {min_members} members, got {member_pred.shape[0]}."
        )
    if member_pred.shape[1] == 0:
        raise ValueError("Found empty input: member_pred has no samples.")
    if member_pred.dtype.kind == "f" and np.any(np.isnan(member_pred)):
        raise ValueError("member_pred contains NaN.")
    return member_pred


def _check_targets(y_true, member_pred, sample_weight):
    y_true = column_or_1d(y_true)
    check_consistent_length(
        y_true, member_pred[0], *([] if sample_weight is None else [sample_weight])
    )
    if y_true.dtype.kind == "f" and np.any(np.isnan(y_true)):
        raise ValueError("y_true contains NaN.")
    return y_true, _check_sample_weight(sample_weight, len(y_true))


def _upper_pairs(n_members):
    return np.triu_indices(n_members, k=1)


def _mean_over_valid_pairs(values, valid, what):
    if not np.any(valid):
        warnings.warn(
            f"{what} is undefined for every pair of members; returning nan.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return float("nan")
    return float(np.mean(values[valid]))


def pairwise_disagreement(member_pred, *, sample_weight=None):
    """Mean fraction of samples on which two members predict different labels.

    Parameters
    ----------
    member_pred : array-like of shape (n_members, n_samples) or (n_members, n_samples, n_classes)
        Predicted labels of each member (any type), or predicted class
        probabilities, whose ``argmax`` is then taken. At least 2 members.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    disagreement : float
        Mean over member pairs of the weighted fraction of samples where the
        two members disagree, in [0, 1]; 0 when all members agree. It needs no
        ``y_true``.

    See Also
    --------
    q_statistic : Pairwise dependence of the members' errors.

    Examples
    --------
    >>> from skens.metrics import pairwise_disagreement
    >>> pairwise_disagreement([[0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0]])  # (1/4 + 2/4 + 1/4) / 3
    0.333...
    """
    member_pred = _check_member_pred(member_pred, allow_proba=True)
    n_members, n_samples = member_pred.shape
    weight = _check_sample_weight(sample_weight, n_samples)
    _, codes = np.unique(member_pred.ravel(), return_inverse=True)
    codes = codes.reshape(n_members, n_samples)
    n_labels = codes.max() + 1
    # counts[i, k]: members predicting label k on sample i; agreeing pairs: sum_k C(counts, 2).
    flat = codes + n_labels * np.arange(n_samples)
    counts = np.bincount(flat.ravel(), minlength=n_samples * n_labels).reshape(n_samples, n_labels)
    n_pairs = n_members * (n_members - 1) / 2
    agreement = (counts * (counts - 1) / 2).sum(axis=1) / n_pairs
    return float(np.average(1.0 - agreement, weights=weight))


def mean_error_correlation(y_true, member_pred, *, sample_weight=None):
    """Mean Pearson correlation between the error vectors of pairs of members.

    For regression the error of member ``m`` is ``member_pred[m] - y_true``;
    for classification it is the indicator ``member_pred[m] != y_true``. Low
    (or negative) correlation means members make different mistakes, which
    is what averaging them exploits.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets or labels.
    member_pred : array-like of shape (n_members, n_samples)
        Predictions of each member; at least 2 members.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (weighted means and covariances).

    Returns
    -------
    correlation : float
        In [-1, 1], or nan (with an ``UndefinedMetricWarning``) when no pair
        of members has a defined correlation.

    See Also
    --------
    q_statistic : Another pairwise measure on correct/wrong outputs.
    ambiguity_decomposition : How much the spread of regression members helps.

    Notes
    -----
    The task is read from the dtypes: regression when both ``y_true`` and
    ``member_pred`` hold floats, classification (0/1 errors) otherwise, e.g.
    for integer, boolean or string labels. Cast integer regression targets to
    float; convert float class labels to integers.

    A member whose errors have zero variance (e.g. it is always right, or
    always off by the same amount) has no correlation with any other; the
    pairs that involve it are left out of the mean. If every pair is left
    out, the result is nan and an ``UndefinedMetricWarning`` is emitted.

    Examples
    --------
    >>> from skens.metrics import mean_error_correlation
    >>> y_true = [0.0, 1.0, 2.0, 3.0]
    >>> member_pred = [[0.5, 1.0, 2.5, 3.0], [0.5, 1.0, 2.5, 3.0], [0.0, 1.5, 2.0, 3.5]]
    >>> mean_error_correlation(y_true, member_pred)  # (1 - 1 - 1) / 3
    -0.333...
    """
    member_pred = _check_member_pred(member_pred)
    y_true, weight = _check_targets(y_true, member_pred, sample_weight)
    if member_pred.dtype.kind == "f" and y_true.dtype.kind == "f":
        if not (np.all(np.isfinite(member_pred)) and np.all(np.isfinite(y_true))):
            raise ValueError("Inputs contain NaN or infinity.")
        error = member_pred - y_true
        scale = np.abs(member_pred).max(axis=1) + np.abs(y_true).max()
    else:
        error = (member_pred != y_true).astype(np.float64)
        scale = np.ones(len(error))
    weight = np.ones(error.shape[1]) if weight is None else weight
    centered = error - (error @ weight / weight.sum())[:, None]
    covariance = (centered * weight) @ centered.T / weight.sum()
    std = np.sqrt(np.diag(covariance))
    varies = std > 1e-12 * scale  # zero variance up to rounding
    i, j = _upper_pairs(len(error))
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = np.clip(covariance[i, j] / (std[i] * std[j]), -1.0, 1.0)
    return _mean_over_valid_pairs(correlation, varies[i] & varies[j], "The error correlation")


def ambiguity_decomposition(y_true, member_pred, *, sample_weight=None):
    """Split the ensemble's squared error into member error minus ambiguity.

    For the equally weighted mean prediction ``f = mean_m f_m`` of a
    regression ensemble, the identity of Krogh and Vedelsby (1995)
    ``(f - y)**2 = mean_m (f_m - y)**2 - mean_m (f_m - f)**2`` holds on every
    sample, hence for the averages returned here: the ensemble is better than
    its average member by exactly the members' spread (ambiguity).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    member_pred : array-like of shape (n_members, n_samples) or (n_members, n_samples, n_outputs)
        Predictions of each member.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    result : Bunch
        ``ensemble_error`` (mean squared error of the mean prediction),
        ``mean_member_error`` (mean over members of their mean squared error)
        and ``ambiguity`` (mean over members of their mean squared deviation
        from the mean prediction), floats averaged over samples (with
        ``sample_weight``), then outputs, with
        ``ensemble_error == mean_member_error - ambiguity`` up to rounding.

    See Also
    --------
    skens.metrics.gaussian_variance_decomposition : The per-sample spread of
        Gaussian members.

    References
    ----------
    .. [1] A. Krogh and J. Vedelsby, "Neural network ensembles, cross
       validation, and active learning", NeurIPS 1995.

    Examples
    --------
    >>> from skens.metrics import ambiguity_decomposition
    >>> d = ambiguity_decomposition([0.0, 0.0], [[1.0, -1.0], [-1.0, 1.0]])
    >>> d.ensemble_error, d.mean_member_error, d.ambiguity
    (0.0, 1.0, 1.0)
    """
    member_pred = np.asarray(member_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    if member_pred.ndim < 2 or member_pred.shape[1:] != y_true.shape or y_true.ndim not in (1, 2):
        raise ValueError(
            "member_pred must have shape (n_members, *y_true.shape) with y_true of shape "
            "(n_samples,) or "
            f"(n_samples, n_outputs), got {member_pred.shape} and {y_true.shape}."
        )
    if len(y_true) == 0:
        raise ValueError("Found empty input: need at least one sample.")
    if not (np.all(np.isfinite(member_pred)) and np.all(np.isfinite(y_true))):
        raise ValueError("Inputs contain NaN or infinity.")
    weight = _check_sample_weight(sample_weight, len(y_true))
    mean = member_pred.mean(axis=0)
    return Bunch(
        ensemble_error=_average((mean - y_true) ** 2, weight),
        mean_member_error=_average(((member_pred - y_true) ** 2).mean(axis=0), weight),
        ambiguity=_average(((member_pred - mean) ** 2).mean(axis=0), weight),
    )


def q_statistic(y_true, member_pred, *, sample_weight=None):
    """Mean over member pairs of Yule's Q statistic of their correct/wrong outputs.

    Each member's prediction is turned into an oracle output, correct
    (``member_pred[m] == y_true``) or wrong, so it works for any labels and
    any number of classes. For a pair of members with ``N11`` samples both
    right, ``N00`` both wrong, ``N10`` and ``N01`` only the first or only the
    second right (weighted counts)::

        Q = (N11 * N00 - N01 * N10) / (N11 * N00 + N01 * N10)

    ``Q`` is in [-1, 1]: 1 when the two members never disagree in opposite
    directions, 0 for independent errors, negative when one tends to be right
    where the other is wrong (the diverse case).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    member_pred : array-like of shape (n_members, n_samples)
        Predicted labels of each member; at least 2 members.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights; the ``N`` are sums of weights.

    Returns
    -------
    q : float
        In [-1, 1]; lower means more diverse. nan (with an
        ``UndefinedMetricWarning``) when no pair has a defined ``Q``.

    See Also
    --------
    pairwise_disagreement : Fraction of samples on which pairs disagree.
    mean_error_correlation : Correlation of the members' errors.

    Notes
    -----
    ``Q`` is undefined for a pair whose denominator is 0, that is when
    ``N11 * N00 == 0`` and ``N01 * N10 == 0`` (for example both members always
    right); such pairs are left out of the mean. If every pair is left
    out, the result is nan and an ``UndefinedMetricWarning`` is emitted.

    References
    ----------
    .. [1] L. I. Kuncheva and C. J. Whitaker, "Measures of diversity in
       classifier ensembles and their relationship with the ensemble
       accuracy", Machine Learning 51, 2003.

    Examples
    --------
    >>> from skens.metrics import q_statistic
    >>> y_true = [0, 0, 0, 0, 0]
    >>> member_pred = [[0, 0, 0, 1, 1], [0, 0, 1, 0, 1]]  # N11=2, N10=1, N01=1, N00=1
    >>> q_statistic(y_true, member_pred)  # (2*1 - 1*1) / (2*1 + 1*1)
    0.333...
    """
    member_pred = _check_member_pred(member_pred)
    y_true, weight = _check_targets(y_true, member_pred, sample_weight)
    correct = (member_pred == y_true).astype(np.float64)
    wrong = 1.0 - correct
    weight = np.ones(correct.shape[1]) if weight is None else weight
    n11 = (correct * weight) @ correct.T
    n00 = (wrong * weight) @ wrong.T
    n10 = (correct * weight) @ wrong.T  # [i, j]: i right, j wrong
    i, j = _upper_pairs(len(correct))
    numerator = n11[i, j] * n00[i, j] - n10[j, i] * n10[i, j]
    denominator = n11[i, j] * n00[i, j] + n10[j, i] * n10[i, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = numerator / denominator
    return _mean_over_valid_pairs(q, denominator > 0, "Yule's Q statistic")
