"""Selective prediction: how well a confidence score ranks right above wrong predictions.

A selective model answers only when its confidence reaches a threshold ``t``
and abstains otherwise. The functions here take the predictions, the true
labels and any confidence score (the top-label probability, minus an
entropy, ...) and measure the trade-off between coverage (the share of samples
answered) and risk (the error rate among them). Samples tied in confidence are
always accepted or rejected together.
"""

from numbers import Real

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._validation import check_sample_weight as _check_sample_weight

__all__ = [
    "risk_coverage_curve",
    "aurc_loss",
    "excess_aurc_loss",
    "accuracy_at_coverage_score",
    "misclassification_auroc_score",
]


def _check_selective(y_true, y_pred, confidence, sample_weight):
    """Validate; return the 0/1 error, confidence and weight of the positive-weight samples."""
    y_true, y_pred = column_or_1d(y_true), column_or_1d(y_pred)
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.ndim != 1:
        raise ValueError(f"confidence must be a 1-D array, got shape {confidence.shape}.")
    check_consistent_length(
        y_true, y_pred, confidence, *([] if sample_weight is None else [sample_weight])
    )
    if len(y_true) == 0:
        raise ValueError("Found empty input: need at least one sample.")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.dtype.kind == "f" and np.any(np.isnan(y)):
            raise ValueError(f"{name} contains NaN.")
    if not np.all(np.isfinite(confidence)):
        raise ValueError("confidence contains NaN or infinity.")
    weight = _check_sample_weight(sample_weight, len(y_true))
    error = (y_pred != y_true).astype(np.float64)
    if weight is None:
        return error, confidence, np.ones_like(confidence)
    keep = weight > 0  # zero-weight samples would only add empty thresholds
    return error[keep], confidence[keep], weight[keep]


def _curve(error, confidence, weight):
    """Coverage, risk, threshold and group weight at each distinct confidence."""
    order = np.argsort(-confidence, kind="stable")
    confidence, error, weight = confidence[order], error[order], weight[order]
    cum_weight = np.cumsum(weight)
    cum_error = np.cumsum(weight * error)
    group_end = np.flatnonzero(np.r_[confidence[1:] != confidence[:-1], True])
    accepted = cum_weight[group_end]
    coverage = accepted / cum_weight[-1]
    coverage[-1] = 1.0
    return (
        coverage,
        cum_error[group_end] / accepted,
        confidence[group_end],
        np.diff(accepted, prepend=0.0),
    )


def _aurc(error, confidence, weight):
    _, risk, _, group_weight = _curve(error, confidence, weight)
    return float(np.dot(risk, group_weight) / group_weight.sum())


def risk_coverage_curve(y_true, y_pred, confidence, *, sample_weight=None):
    """Risk (error rate) against coverage when accepting the most confident samples.

    For every distinct confidence value ``t``, taken in decreasing order, the
    samples with ``confidence >= t`` are accepted: the coverage is their share
    of the total weight and the risk is their weighted error rate
    (``y_pred != y_true``). Tied samples are accepted together, never some of
    them.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels (or any values whose mismatch with ``y_true`` is an
        error, such as thresholded regression errors).
    confidence : array-like of shape (n_samples,)
        Confidence score of each prediction; higher means more confident.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights. Samples with zero weight are ignored (they add no
        threshold).

    Returns
    -------
    coverage : ndarray of shape (n_thresholds,)
        Increasing, in (0, 1]; the last value is 1.
    risk : ndarray of shape (n_thresholds,)
        Weighted error rate among the accepted samples, in [0, 1].
    thresholds : ndarray of shape (n_thresholds,)
        The distinct confidence values, decreasing.

    See Also
    --------
    aurc_loss : Area under this curve.
    sklearn.metrics.roc_curve : The same bookkeeping for ROC curves.

    Examples
    --------
    >>> from skens.metrics import risk_coverage_curve
    >>> coverage, risk, thresholds = risk_coverage_curve(
    ...     [0, 1, 1, 0], [0, 1, 0, 1], [0.9, 0.8, 0.8, 0.6])
    >>> coverage, risk, thresholds
    (array([0.25, 0.75, 1.  ]), array([0. , 0.333..., 0.5 ]), array([0.9, 0.8, 0.6]))
    """
    coverage, risk, thresholds, _ = _curve(
        *_check_selective(y_true, y_pred, confidence, sample_weight)
    )
    return coverage, risk, thresholds


def aurc_loss(y_true, y_pred, confidence, *, sample_weight=None):
    """Area under the risk–coverage curve (AURC).

    ``AURC = sum_g (W_g / W) * risk_g`` over the groups ``g`` of tied
    confidence values, in decreasing order, where ``W_g`` is the weight of
    group ``g``, ``W`` the total weight and ``risk_g`` the weighted error rate
    of all samples with confidence ``>=`` that of ``g``. It is the integral
    over coverage of the risk step function of :func:`risk_coverage_curve`.
    Without ties or weights it is the usual
    ``(1 / n) * sum_k risk(top k samples)`` of Geifman et al.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    confidence : array-like of shape (n_samples,)
        Confidence score of each prediction; higher means more confident.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights; an integer weight is the same as repeating the sample.

    Returns
    -------
    aurc : float
        In [0, 1]; lower is better. It mixes the error rate with the quality
        of the ranking; :func:`excess_aurc_loss` removes the former.

    See Also
    --------
    risk_coverage_curve : The curve itself.
    excess_aurc_loss : AURC above that of a perfect ranking.

    References
    ----------
    .. [1] Y. Geifman, G. Uziel and R. El-Yaniv, "Bias-reduced uncertainty
       estimation for deep neural classifiers", ICLR 2019.

    Examples
    --------
    >>> from skens.metrics import aurc_loss
    >>> aurc_loss([0, 1, 1, 0], [0, 1, 0, 1], [0.9, 0.8, 0.8, 0.6])  # 0.25*0 + 0.5*(1/3) + 0.25*0.5
    0.2916...
    """
    return _aurc(*_check_selective(y_true, y_pred, confidence, sample_weight))


def excess_aurc_loss(y_true, y_pred, confidence, *, sample_weight=None):
    """AURC in excess of the best achievable one (E-AURC).

    ``E-AURC = AURC - AURC*``, where ``AURC*`` is the AURC of the oracle
    ordering: all correct predictions first, then the errors one sample at a
    time (no ties), lighter errors first. With unit weights ``AURC*`` is
    ``(1 / n) * sum_{k > n_correct} (k - n_correct) / k``; it is the lowest
    AURC any confidence score can reach on these predictions, so the result
    is non-negative (up to rounding) and 0 for a perfect ranking.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    confidence : array-like of shape (n_samples,)
        Confidence score of each prediction; higher means more confident.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights. The oracle accepts a weighted error sample at once,
        whereas it would accept repeated copies one by one, so unlike
        :func:`aurc_loss` an integer weight is not the same as repeating a
        misclassified sample.

    Returns
    -------
    excess_aurc : float
        Non-negative (rounding below 0 is clipped); lower is better, 0 is a
        perfect ranking.

    See Also
    --------
    aurc_loss : The AURC itself.

    References
    ----------
    .. [1] Y. Geifman, G. Uziel and R. El-Yaniv, "Bias-reduced uncertainty
       estimation for deep neural classifiers", ICLR 2019.

    Examples
    --------
    >>> from skens.metrics import excess_aurc_loss
    >>> excess_aurc_loss([0, 1, 1, 0], [0, 1, 0, 1], [0.9, 0.8, 0.7, 0.6])  # a perfect ranking
    0.0
    >>> excess_aurc_loss([0, 1, 1, 0], [0, 1, 0, 1], [0.6, 0.7, 0.8, 0.9])  # the worst one
    0.5833...
    """
    error, confidence, weight = _check_selective(y_true, y_pred, confidence, sample_weight)
    # Oracle: correct samples first (their order is irrelevant), then errors by increasing
    # weight, each one its own group: this order minimises the AURC.
    order = np.lexsort((weight, error))
    error, weight = error[order], weight[order]
    cum_weight = np.cumsum(weight)
    oracle = np.dot(weight, np.cumsum(weight * error) / cum_weight) / cum_weight[-1]
    # The oracle is a minimum, so a negative difference can only be rounding.
    return max(_aurc(error, confidence[order], weight) - float(oracle), 0.0)


def accuracy_at_coverage_score(y_true, y_pred, confidence, *, coverage=0.8, sample_weight=None):
    """Accuracy on the most confident samples that make up a given coverage.

    The threshold is the largest confidence value ``t`` whose accepted set
    ``confidence >= t`` covers at least ``coverage`` of the total weight:
    whole groups of tied confidence values are included, so the coverage
    actually used may exceed the requested one.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    confidence : array-like of shape (n_samples,)
        Confidence score of each prediction; higher means more confident.
    coverage : float, default=0.8
        Requested coverage, in (0, 1]; ``1`` gives the plain accuracy.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    accuracy : float
        Weighted accuracy of the accepted samples, in [0, 1]; higher is
        better.

    See Also
    --------
    risk_coverage_curve : Risk (1 - accuracy) at every coverage.

    Examples
    --------
    >>> from skens.metrics import accuracy_at_coverage_score
    >>> y_true, y_pred = [0, 1, 1, 0, 1], [0, 1, 0, 1, 1]
    >>> confidence = [0.9, 0.8, 0.7, 0.6, 0.5]
    >>> accuracy_at_coverage_score(y_true, y_pred, confidence, coverage=0.4)  # top 2: both right
    1.0
    >>> accuracy_at_coverage_score(y_true, y_pred, confidence, coverage=0.5)  # top 3 cover 0.6
    0.666...
    """
    if isinstance(coverage, bool) or not isinstance(coverage, Real) or not 0 < coverage <= 1:
        raise ValueError(f"coverage must be a number in (0, 1], got {coverage!r}.")
    covered, risk, _, _ = _curve(*_check_selective(y_true, y_pred, confidence, sample_weight))
    # The first point reaching the requested coverage (a little slack absorbs rounding).
    index = np.flatnonzero(covered >= coverage - 1e-12)[0]
    return float(1.0 - risk[index])


def misclassification_auroc_score(y_true, y_pred, confidence, *, sample_weight=None):
    """ROC AUC of the confidence for telling correct from wrong predictions.

    The positive class is "the prediction is correct"; the score is
    :func:`sklearn.metrics.roc_auc_score` of that indicator against the
    confidence, i.e. the probability that a random correct prediction gets a
    higher confidence than a random wrong one (ties count one half).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    confidence : array-like of shape (n_samples,)
        Confidence score of each prediction; higher means more confident.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    auroc : float
        In [0, 1]; higher is better, 0.5 is a random ranking.

    Raises
    ------
    ValueError
        When all (positively weighted) predictions are correct, or all are
        wrong: the AUROC is then undefined.

    See Also
    --------
    sklearn.metrics.roc_auc_score : The underlying computation.
    aurc_loss : Another measure of the same ranking, that also counts the error rate.

    Examples
    --------
    >>> from skens.metrics import misclassification_auroc_score
    >>> y_true, y_pred = [0, 1, 1, 0], [0, 1, 0, 1]
    >>> misclassification_auroc_score(y_true, y_pred, [0.9, 0.6, 0.7, 0.4])  # 3 of 4 pairs
    0.75
    """
    error, confidence, weight = _check_selective(y_true, y_pred, confidence, sample_weight)
    if np.all(error == 1) or np.all(error == 0):
        state = "wrong" if error[0] else "correct"
        raise ValueError(
            f"All predictions are {state}: the misclassification AUROC needs both correct "
            "and wrong ones."
        )
    return float(roc_auc_score(1.0 - error, confidence, sample_weight=weight))
