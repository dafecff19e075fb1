"""Robust aggregation of member logits (no torch)."""

import numpy as np

__all__ = ["crossmax"]


def crossmax(member_logits, *, k=2):
    """CrossMax aggregation of members' logits (Fort & Lakshminarayanan, 2024).

    Per member, the largest logit is subtracted (over classes); then, per
    class, the largest of the results over members; the score of a class is
    its ``k``-th largest value over members. A member that is far more
    confident than the others, right or wrong, cannot carry the vote alone:
    its excess is removed by the per-class maximum, and the ``k``-th value
    ignores the ``k - 1`` highest.

    Parameters
    ----------
    member_logits : array-like of shape (n_members, n_samples, n_classes)
        Each member's logits (or log-probabilities: a constant added to one
        member's logits of a row changes nothing), member axis first.
    k : int, default=2
        Which largest value over members scores a class, ``1 <= k <=
        n_members``. ``k=1`` is refused: after the per-class maximum over
        members is subtracted, the largest value of every class is 0.

    Returns
    -------
    scores : ndarray of shape (n_samples, n_classes)
        Class scores, all ``<= 0``; the predicted class is their argmax. They
        are not probabilities.

    References
    ----------
    .. [1] S. Fort and B. Lakshminarayanan, "Ensemble everything everywhere:
       Multi-scale aggregation for adversarial robustness", 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.ensemble import crossmax
    >>> logits = np.array([[[2.0, 0.0]], [[1.5, 0.0]], [[0.0, 90.0]]])  # one wild member
    >>> logits.mean(axis=0).argmax(axis=1)  # the mean follows it
    array([1])
    >>> crossmax(logits, k=2).argmax(axis=1)
    array([0])
    """
    logits = np.asarray(member_logits, dtype=np.float64)
    if logits.ndim != 3:
        raise ValueError(
            "member_logits must have shape (n_members, n_samples, n_classes), got "
            f"{logits.shape}."
        )
    if not np.all(np.isfinite(logits)):
        raise ValueError("member_logits must be finite (no NaN or infinity).")
    n_members = logits.shape[0]
    if n_members < 2:
        raise ValueError(
            "CrossMax needs at least two members: with one, every class scores 0."
        )
    if int(k) != k or not 2 <= k <= n_members:
        raise ValueError(f"k must be an integer in [2, {n_members}] (the members), got {k!r}.")
    z = logits - logits.max(axis=2, keepdims=True)  # per member, over classes
    z = z - z.max(axis=0, keepdims=True)  # per class, over members
    # The k-th largest over members: the (n_members - k)-th smallest.
    return np.partition(z, n_members - int(k), axis=0)[n_members - int(k)]
