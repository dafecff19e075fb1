"""Uncertainty measures computed from the outputs of ensemble members.

Every function takes member outputs with the member axis first,
``(n_members, n_samples, ...)``, so it works on any ensemble's predictions,
not only on skens estimators. Entropies are in nats.
"""

import numpy as np
from scipy.special import entr
from sklearn.utils import Bunch

__all__ = [
    "predictive_entropy",
    "expected_entropy",
    "mutual_information",
    "entropy_decomposition",
    "gaussian_variance_decomposition",
]


def _check_member_proba(member_proba):
    member_proba = np.asarray(member_proba, dtype=np.float64)
    if member_proba.ndim != 3:
        raise ValueError(
            "member_proba must have shape (n_members, n_samples, n_classes), got an array "
            f"with {member_proba.ndim} dimension(s) of shape {member_proba.shape}."
        )
    if not np.all(np.isfinite(member_proba)) or np.any(member_proba < 0):
        raise ValueError("member_proba must contain finite, non-negative probabilities.")
    if not np.allclose(member_proba.sum(axis=-1), 1.0, atol=1e-4):
        raise ValueError("member_proba must sum to 1 over the class axis (the last one).")
    return member_proba


def _entropy(proba):
    return entr(proba).sum(axis=-1)


def _check_member_weights(weights, n_members):
    """Non-negative member weights normalised to sum to one, or None (uniform)."""
    if weights is None:
        return None
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n_members,):
        raise ValueError(
            f"weights must have shape (n_members,) = ({n_members},), got {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero.")
    return weights / weights.sum()


def _member_average(values, weights):
    """Mean over the member axis (axis 0), weighted when ``weights`` is given."""
    if weights is None:
        return values.mean(axis=0)
    return np.tensordot(weights, values, axes=1)


def predictive_entropy(member_proba):
    """Entropy of the members' mean predicted distribution (total uncertainty).

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_samples, n_classes)
        Class probabilities of each member.

    Returns
    -------
    entropy : ndarray of shape (n_samples,)
        ``H[mean_m p_m]`` in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.metrics import predictive_entropy
    >>> p = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two confident members disagree
    >>> predictive_entropy(p).round(4)
    array([0.6931])
    """
    return _entropy(_check_member_proba(member_proba).mean(axis=0))


def expected_entropy(member_proba):
    """Mean of the members' entropies (aleatoric uncertainty).

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_samples, n_classes)
        Class probabilities of each member.

    Returns
    -------
    entropy : ndarray of shape (n_samples,)
        ``mean_m H[p_m]`` in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.metrics import expected_entropy
    >>> p = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> expected_entropy(p)
    array([0.])
    """
    return _entropy(_check_member_proba(member_proba)).mean(axis=0)


def mutual_information(member_proba):
    """Mutual information between prediction and member (epistemic uncertainty).

    Equal to ``predictive_entropy - expected_entropy`` (the BALD score); zero
    when all members agree.

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_samples, n_classes)
        Class probabilities of each member.

    Returns
    -------
    mi : ndarray of shape (n_samples,)
        Non-negative, in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.metrics import mutual_information
    >>> p = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> mutual_information(p).round(4)
    array([0.6931])
    """
    return entropy_decomposition(member_proba).epistemic


def entropy_decomposition(member_proba, weights=None):
    """Split predictive entropy into aleatoric and epistemic parts.

    Parameters
    ----------
    member_proba : array-like of shape (n_members, n_samples, n_classes)
        Class probabilities of each member.
    weights : array-like of shape (n_members,), default=None
        Member weights of a weighted mixture (normalised to sum to one);
        ``None`` weighs the members equally.

    Returns
    -------
    result : Bunch
        ``total`` (predictive entropy), ``aleatoric`` (expected entropy) and
        ``epistemic`` (mutual information), each of shape (n_samples,), with
        ``total == aleatoric + epistemic``.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.metrics import entropy_decomposition
    >>> p = np.array([[[0.9, 0.1]], [[0.5, 0.5]]])
    >>> u = entropy_decomposition(p)
    >>> bool(np.allclose(u.total, u.aleatoric + u.epistemic))
    True
    >>> float(entropy_decomposition(p, weights=[1, 0]).epistemic[0])
    0.0
    """
    member_proba = _check_member_proba(member_proba)
    weights = _check_member_weights(weights, len(member_proba))
    total = _entropy(_member_average(member_proba, weights))
    aleatoric = _member_average(_entropy(member_proba), weights)
    # Jensen's inequality makes the difference non-negative; clip rounding noise.
    epistemic = np.maximum(total - aleatoric, 0.0)
    return Bunch(total=aleatoric + epistemic, aleatoric=aleatoric, epistemic=epistemic)


def gaussian_variance_decomposition(member_means, member_variances, weights=None):
    """Variance of a mixture of Gaussians, split into its two sources.

    The ensemble's predictive distribution is the mixture of the member
    Gaussians ``N(mu_m, sigma_m^2)``, uniform unless ``weights`` are given.
    Its variance is the mean member variance (aleatoric: noise each member
    expects) plus the variance of the member means (epistemic: disagreement
    between members).

    Parameters
    ----------
    member_means : array-like of shape (n_members, n_samples, ...)
        Predicted mean of each member.
    member_variances : array-like of the same shape
        Predicted variance of each member (zeros for point predictions).
    weights : array-like of shape (n_members,), default=None
        Mixture weights (normalised to sum to one); ``None`` weighs the
        members equally.

    Returns
    -------
    result : Bunch
        ``mean``, ``total``, ``aleatoric`` and ``epistemic``, each of shape
        ``(n_samples, ...)``, with ``total == aleatoric + epistemic``.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.metrics import gaussian_variance_decomposition
    >>> means = np.array([[0.0], [2.0]])
    >>> variances = np.array([[1.0], [1.0]])
    >>> u = gaussian_variance_decomposition(means, variances)
    >>> float(u.mean[0]), float(u.aleatoric[0]), float(u.epistemic[0]), float(u.total[0])
    (1.0, 1.0, 1.0, 2.0)
    """
    member_means = np.asarray(member_means, dtype=np.float64)
    member_variances = np.asarray(member_variances, dtype=np.float64)
    if member_means.shape != member_variances.shape or member_means.ndim < 2:
        raise ValueError(
            "member_means and member_variances must have the same shape "
            "(n_members, n_samples, ...), got "
            f"{member_means.shape} and {member_variances.shape}."
        )
    if np.any(member_variances < 0):
        raise ValueError("member_variances must be non-negative.")
    weights = _check_member_weights(weights, len(member_means))
    if weights is None:
        mean, aleatoric, epistemic = (
            member_means.mean(axis=0),
            member_variances.mean(axis=0),
            member_means.var(axis=0),
        )
    else:
        mean = _member_average(member_means, weights)
        aleatoric = _member_average(member_variances, weights)
        epistemic = _member_average((member_means - mean) ** 2, weights)
    return Bunch(
        mean=mean,
        total=aleatoric + epistemic,
        aleatoric=aleatoric,
        epistemic=epistemic,
    )
