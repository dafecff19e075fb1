"""Calibration of predicted class probabilities.

Every function takes ``y_prob`` either as an ``(n_samples, n_classes)`` array
of class probabilities (rows summing to 1) or, for binary problems, as a 1-D
array of positive-class probabilities. Columns are matched to ``y_true``
through ``labels`` (see :func:`expected_calibration_error`).
"""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._validation import check_sample_weight as _check_sample_weight

__all__ = [
    "expected_calibration_error",
    "classwise_calibration_error",
    "multiclass_brier_score_loss",
    "reliability_curve",
]

_STRATEGIES = ("uniform", "quantile")


# --------------------------------------------------------------------------- checks
def _check_proba(y_prob):
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim not in (1, 2):
        raise ValueError(
            "y_prob must be a 1-D array of positive-class probabilities or a 2-D array of shape "
            f"(n_samples, n_classes), got shape {y_prob.shape}."
        )
    if y_prob.ndim == 2 and y_prob.shape[1] < 2:
        raise ValueError(
            f"y_prob must have at least 2 columns, got shape {y_prob.shape}; pass a 1-D array of "
            "positive-class probabilities for a binary problem."
        )
    if not np.all(np.isfinite(y_prob)):
        raise ValueError("y_prob contains NaN or infinity.")
    if np.any(y_prob < 0) or np.any(y_prob > 1):
        raise ValueError("y_prob values must be probabilities in [0, 1].")
    if y_prob.ndim == 2 and not np.allclose(y_prob.sum(axis=1), 1.0, rtol=0, atol=1e-4):
        raise ValueError("y_prob rows must sum to 1 (the probabilities of the n_classes columns).")
    return y_prob


def _encode_labels(y_true, n_classes, labels):
    """Map ``y_true`` to column indices 0..n_classes-1."""
    if y_true.dtype.kind == "f" and np.any(np.isnan(y_true)):
        raise ValueError("y_true contains NaN.")
    if labels is None:
        if (
            y_true.dtype.kind in "biuf"
            and np.all(np.mod(y_true, 1) == 0)
            and np.all((y_true >= 0) & (y_true < n_classes))
        ):
            return y_true.astype(np.intp)  # class indices already
        labels = np.unique(y_true)
        if len(labels) != n_classes:
            raise ValueError(
                f"y_true has {len(labels)} distinct labels {labels.tolist()} but y_prob has "
                f"{n_classes} columns; pass labels=... (one per column, in sorted order) or "
                f"class indices 0..{n_classes - 1}."
            )
    else:
        given = column_or_1d(labels)
        labels = np.unique(given)
        if len(labels) != len(given):
            raise ValueError(f"labels must be unique, got {given.tolist()}.")
        if len(labels) != n_classes:
            raise ValueError(
                f"labels has {len(labels)} entries but y_prob has {n_classes} columns; "
                "they must match one to one."
            )
    index = np.searchsorted(labels, y_true).clip(max=n_classes - 1)
    unknown = labels[index] != y_true
    if np.any(unknown):
        raise ValueError(
            f"y_true contains labels not in labels: {np.unique(y_true[unknown]).tolist()}."
        )
    return index


def _check_classification(y_true, y_prob, labels, sample_weight):
    """Validate; return (class index, 2-D probabilities, binary-1d flag, weight)."""
    y_true = column_or_1d(y_true)
    y_prob = _check_proba(y_prob)
    check_consistent_length(y_true, y_prob, *([] if sample_weight is None else [sample_weight]))
    binary = y_prob.ndim == 1
    if binary:
        y_prob = np.column_stack([1 - y_prob, y_prob])
    y_index = _encode_labels(y_true, y_prob.shape[1], labels)
    return y_index, y_prob, binary, _check_sample_weight(sample_weight, len(y_true))


def _check_binning(n_bins, strategy):
    if isinstance(n_bins, bool) or not isinstance(n_bins, Integral) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {_STRATEGIES}, got {strategy!r}.")


# --------------------------------------------------------------------------- binning
def _top_label(y_index, y_prob, binary):
    """Confidence of the predicted class and whether that prediction is right."""
    if binary:  # the positive class wins ties at p = 0.5
        predicted = (y_prob[:, 1] >= 0.5).astype(np.intp)
    else:
        predicted = y_prob.argmax(axis=1)
    return y_prob.max(axis=1), (predicted == y_index).astype(np.float64)


def _quantile_edges(confidence, weight, n_bins):
    """Weighted inverted-CDF quantiles: every edge is an observed confidence."""
    keep = weight > 0
    order = np.argsort(confidence[keep], kind="stable")
    values, cumulative = confidence[keep][order], np.cumsum(weight[keep][order])
    # First value whose cumulative weight reaches k / n_bins of the total, in exact-ish
    # arithmetic (cum * n_bins >= k * total) so that equal weights split evenly.
    index = np.searchsorted(
        cumulative * n_bins, np.arange(n_bins + 1) * cumulative[-1], side="left"
    )
    edges = np.unique(values[index.clip(max=len(values) - 1)])  # ties merge bins
    return edges if len(edges) > 1 else np.repeat(edges, 2)


def _calibration_bins(confidence, target, weight, n_bins, strategy):
    """Per-bin sums shared by the calibration errors and the reliability curve.

    Bins are right-closed, ``(e_i, e_{i+1}]``, except the first, which also
    holds its left edge (as in :func:`sklearn.calibration.calibration_curve`).

    Returns
    -------
    bin_weight, bin_confidence_sum, bin_target_sum : ndarray of shape (n_bins_used,)
        Sums of ``weight``, ``weight * confidence`` and ``weight * target``.
    edges : ndarray of shape (n_bins_used + 1,)
    """
    weight = np.ones_like(confidence) if weight is None else weight
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = _quantile_edges(confidence, weight, n_bins)
    n_used = len(edges) - 1
    bin_index = np.searchsorted(edges[1:-1], confidence, side="left")
    sums = [
        np.bincount(bin_index, weights=w, minlength=n_used)
        for w in (weight, weight * confidence, weight * target)
    ]
    return (*sums, edges)


def _binned_error(confidence, target, weight, n_bins, strategy):
    bin_weight, confidence_sum, target_sum, _ = _calibration_bins(
        confidence, target, weight, n_bins, strategy
    )
    # sum_b (W_b / W) |acc_b - conf_b| == sum_b |target_sum_b - confidence_sum_b| / W;
    # empty bins contribute 0.
    return float(np.abs(target_sum - confidence_sum).sum() / bin_weight.sum())


# --------------------------------------------------------------------------- public
def reliability_curve(
    y_true, y_prob, *, n_bins=15, strategy="uniform", labels=None, sample_weight=None
):
    """Accuracy against confidence of the top-label prediction, per confidence bin.

    The points of a reliability diagram: samples are binned by the probability
    of their predicted class (the confidence); each bin gives the weighted
    fraction of correct predictions (accuracy) and the weighted mean
    confidence. A calibrated model has ``accuracy == confidence``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels: class indices ``0..n_classes-1`` or the labels in
        ``labels``.
    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted class probabilities, or positive-class probabilities of a
        binary problem.
    n_bins : int, default=15
        Number of bins; must be at least 1.
    strategy : {'uniform', 'quantile'}, default='uniform'
        ``'uniform'``: ``n_bins`` equal-width bins on [0, 1]. ``'quantile'``:
        bins holding equal weight, with edges at weighted quantiles of the
        confidence; tied quantiles are merged, so there may be fewer than
        ``n_bins`` bins, none of them empty.
    labels : array-like of shape (n_classes,), default=None
        The labels of the columns of ``y_prob``, which are taken in sorted
        order (as ``classes_`` of a fitted classifier). ``None``: integers in
        ``0..n_classes-1`` are column indices, any other ``y_true`` is
        matched to the sorted unique values of ``y_true``, which must then be
        ``n_classes``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    accuracy : ndarray of shape (n_nonempty_bins,)
        Weighted fraction of correct top-label predictions in each non-empty
        bin (a bin is empty when its total weight is 0).
    confidence : ndarray of shape (n_nonempty_bins,)
        Weighted mean confidence of each non-empty bin; it lies within the
        bin's edges.
    counts : ndarray of shape (n_nonempty_bins,)
        Total sample weight of each non-empty bin (the number of samples when
        ``sample_weight`` is None), as floats.
    bin_edges : ndarray of shape (n_bins_used + 1,)
        Edges of all the bins, empty ones included: ``n_bins_used == n_bins``
        for ``'uniform'``, ``<= n_bins`` for ``'quantile'``, whose edges run
        from the smallest to the largest confidence. Bins are right-closed,
        ``(e_i, e_{i+1}]``, the first one also holding its left edge, as in
        :func:`sklearn.calibration.calibration_curve`.

    See Also
    --------
    expected_calibration_error : The weighted mean gap of this curve.
    sklearn.calibration.calibration_curve : The same for the positive class of
        a binary problem.

    Notes
    -----
    The top-label prediction is ``argmax`` of the row (the first column wins a
    tie). For a 1-D binary ``y_prob`` = ``p``, the prediction is the positive
    class when ``p >= 0.5`` and the confidence is ``max(p, 1 - p)``.

    Examples
    --------
    >>> from skens.metrics import reliability_curve
    >>> y_true = [0, 1, 1, 0]
    >>> y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]]
    >>> accuracy, confidence, counts, edges = reliability_curve(y_true, y_prob, n_bins=2)
    >>> accuracy, confidence, counts, edges
    (array([0.5]), array([0.75]), array([4.]), array([0. , 0.5, 1. ]))
    """
    y_index, y_prob, binary, weight = _check_classification(y_true, y_prob, labels, sample_weight)
    _check_binning(n_bins, strategy)
    confidence, correct = _top_label(y_index, y_prob, binary)
    bin_weight, confidence_sum, correct_sum, edges = _calibration_bins(
        confidence, correct, weight, n_bins, strategy
    )
    nonempty = bin_weight > 0
    counts = bin_weight[nonempty]
    return correct_sum[nonempty] / counts, confidence_sum[nonempty] / counts, counts, edges


def expected_calibration_error(
    y_true, y_prob, *, n_bins=15, strategy="uniform", labels=None, sample_weight=None
):
    """Top-label expected calibration error (ECE).

    ``ECE = sum_b (W_b / W) * |accuracy_b - confidence_b|`` over the
    confidence bins ``b`` of :func:`reliability_curve`, where ``W_b`` is the
    total sample weight in bin ``b`` and ``W`` the total weight; empty bins
    contribute 0.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels: class indices ``0..n_classes-1`` or the labels in
        ``labels``.
    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted class probabilities, or positive-class probabilities of a
        binary problem (see Notes).
    n_bins : int, default=15
        Number of bins; must be at least 1. With one bin the ECE is
        ``|accuracy - mean confidence|``.
    strategy : {'uniform', 'quantile'}, default='uniform'
        ``'uniform'``: equal-width bins on [0, 1], right-closed, the first
        one holding 0 and the last one 1. ``'quantile'``: bins of equal
        weight whose edges are weighted quantiles of the confidence; tied
        quantiles are merged, so no bin is empty.
    labels : array-like of shape (n_classes,), default=None
        The labels of the columns of ``y_prob``, taken in sorted order (like
        ``classes_`` and :func:`sklearn.metrics.log_loss`). ``None``: integers
        in ``0..n_classes-1`` are column indices; otherwise the sorted unique
        values of ``y_true``, which must be exactly ``n_classes``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    ece : float
        In [0, 1]; lower is better.

    See Also
    --------
    reliability_curve : The per-bin accuracy and confidence.
    classwise_calibration_error : Calibration of every class probability.
    sklearn.calibration.calibration_curve : Binary reliability curve.

    Notes
    -----
    The top-label prediction is the ``argmax`` of each row (the first column
    wins a tie) and its confidence the row maximum. For a 1-D binary
    ``y_prob`` = ``p`` the prediction is the positive class when
    ``p >= 0.5`` and the confidence is ``max(p, 1 - p)``; this equals the
    two-column input ``[1 - p, p]`` except at ``p == 0.5`` exactly, where
    ``argmax`` would pick the negative class.

    References
    ----------
    .. [1] C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On calibration of
       modern neural networks", ICML 2017.

    Examples
    --------
    >>> from skens.metrics import expected_calibration_error
    >>> y_true = [0, 1, 1, 0]
    >>> y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]]
    >>> expected_calibration_error(y_true, y_prob, n_bins=1)  # |2/4 - 3/4|
    0.25
    """
    y_index, y_prob, binary, weight = _check_classification(y_true, y_prob, labels, sample_weight)
    _check_binning(n_bins, strategy)
    confidence, correct = _top_label(y_index, y_prob, binary)
    return _binned_error(confidence, correct, weight, n_bins, strategy)


def classwise_calibration_error(
    y_true, y_prob, *, n_bins=15, strategy="uniform", labels=None, sample_weight=None
):
    """Class-wise expected calibration error, averaged over the classes.

    For each class ``c`` the probabilities ``y_prob[:, c]`` are binned as in
    :func:`expected_calibration_error` and compared with the indicator
    ``y_true == c``; the result is the mean over the classes of these binned
    errors.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels: class indices ``0..n_classes-1`` or the labels in
        ``labels``.
    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted class probabilities, or positive-class probabilities ``p``
        of a binary problem, taken as the two columns ``[1 - p, p]``.
    n_bins : int, default=15
        Number of bins per class; must be at least 1.
    strategy : {'uniform', 'quantile'}, default='uniform'
        Binning of each class's probabilities, as in
        :func:`expected_calibration_error` (quantiles are per class).
    labels : array-like of shape (n_classes,), default=None
        The labels of the columns of ``y_prob`` in sorted order; see
        :func:`expected_calibration_error`.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    error : float
        In [0, 1]; lower is better.

    See Also
    --------
    expected_calibration_error : Calibration of the top-label prediction only.

    References
    ----------
    .. [1] M. Kull, M. Perello-Nieto, M. Kängsepp, T. Silva Filho, H. Song and
       P. Flach, "Beyond temperature scaling: obtaining well-calibrated
       multiclass probabilities with Dirichlet calibration", NeurIPS 2019.

    Examples
    --------
    >>> from skens.metrics import classwise_calibration_error
    >>> y_true = [0, 1, 1, 0]
    >>> y_prob = [[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]]
    >>> classwise_calibration_error(y_true, y_prob, n_bins=1)  # |0.5 - 0.6| for each class
    0.1
    """
    y_index, y_prob, _, weight = _check_classification(y_true, y_prob, labels, sample_weight)
    _check_binning(n_bins, strategy)
    errors = [
        _binned_error(y_prob[:, c], (y_index == c).astype(np.float64), weight, n_bins, strategy)
        for c in range(y_prob.shape[1])
    ]
    return float(np.mean(errors))


def multiclass_brier_score_loss(y_true, y_prob, *, labels=None, sample_weight=None):
    """Brier score of class probabilities, summed over the classes.

    ``mean_i sum_c (y_prob[i, c] - 1[y_true[i] == c])**2``, the original
    definition of Brier (1950), in [0, 2].

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels: class indices ``0..n_classes-1`` or the labels in
        ``labels``.
    y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted class probabilities, or positive-class probabilities ``p``
        of a binary problem, taken as the two columns ``[1 - p, p]``.
    labels : array-like of shape (n_classes,), default=None
        The labels of the columns of ``y_prob`` in sorted order; see
        :func:`expected_calibration_error`.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float
        In [0, 2]; lower is better.

    See Also
    --------
    sklearn.metrics.brier_score_loss : The binary Brier score, ``(p - y)**2``.

    Notes
    -----
    For a binary problem both columns contribute ``(p - y)**2``, so the result
    is twice :func:`sklearn.metrics.brier_score_loss`.

    Examples
    --------
    >>> from skens.metrics import multiclass_brier_score_loss
    >>> y_prob = [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]
    >>> multiclass_brier_score_loss([0, 2], y_prob)  # (0.25 + 0.25 + 0) / 2
    0.25
    >>> multiclass_brier_score_loss([1, 0], [0.8, 0.4])  # 2 * mean(0.2**2, 0.4**2)
    0.2
    """
    y_index, y_prob, _, weight = _check_classification(y_true, y_prob, labels, sample_weight)
    one_hot = np.eye(y_prob.shape[1])[y_index]
    return float(np.average(((y_prob - one_hot) ** 2).sum(axis=1), weights=weight))
