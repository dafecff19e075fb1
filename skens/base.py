"""The member-output seam: every prediction and uncertainty method from member outputs.

An ensemble kind implements **one** method that yields its members' outputs,
batch by batch, member axis first, and inherits the rest:

- classifiers (:class:`EnsembleClassifierMixin`) implement
  ``_iter_member_proba(X)``, yielding float arrays of shape
  ``(n_members, batch, n_classes)`` whose columns follow ``classes_``;
- regressors (:class:`EnsembleRegressorMixin`) implement
  ``_iter_member_gaussians(X)``, yielding ``(means, variances)`` pairs of
  shape ``(n_members, batch, n_outputs)`` in the units of ``y``, and set
  ``_y_ndim`` (1 when ``y`` was 1-D) when fitting.

A fitted ``weights_`` attribute of shape ``(n_members,)``, when present,
makes the ensemble a weighted mixture of its members; without it the
members weigh the same. Nothing here imports torch.
"""

import numpy as np
from sklearn.utils import Bunch

from .metrics._regression import _check_quantiles, gaussian_mixture_quantiles
from .metrics._uncertainty import (
    _check_member_weights,
    _member_average,
    entropy_decomposition,
    gaussian_variance_decomposition,
)

__all__ = ["EnsembleClassifierMixin", "EnsembleRegressorMixin"]


def _concat(batches, axis=0):
    """Join per-batch results (arrays, tuples of arrays or Bunches) along ``axis``."""
    first = batches[0]
    if isinstance(first, dict):
        return type(first)(**{k: np.concatenate([b[k] for b in batches], axis) for k in first})
    if isinstance(first, tuple):
        return tuple(np.concatenate(parts, axis) for parts in zip(*batches))
    return np.concatenate(batches, axis)


def _weights(estimator, n_members):
    """The fitted member weights, normalised, or None for equal weights."""
    return _check_member_weights(getattr(estimator, "weights_", None), n_members)


class EnsembleClassifierMixin:
    """Predictions and uncertainty of a classifier from its members' probabilities.

    Subclasses implement ``_iter_member_proba(X)`` (see :mod:`skens.base`).

    Examples
    --------
    >>> import numpy as np
    >>> from skens.base import EnsembleClassifierMixin
    >>> class TwoVoters(EnsembleClassifierMixin):
    ...     classes_ = np.array(["no", "yes"])
    ...     def _iter_member_proba(self, X):
    ...         p = 1 / (1 + np.exp(-np.asarray(X)[:, 0]))
    ...         yield np.stack([np.c_[1 - p, p], np.full((len(p), 2), 0.5)])
    >>> model = TwoVoters()
    >>> model.predict_proba([[0.0], [4.0]]).round(3)
    array([[0.5  , 0.5  ],
           [0.259, 0.741]])
    >>> model.predict([[4.0]])
    array(['yes'], dtype='<U3')
    >>> model.weights_ = np.array([1.0, 0.0])  # a weighted mixture: only the first member
    >>> float(model.predict_uncertainty([[4.0]]).epistemic[0])
    0.0
    """

    def _iter_member_proba(self, X):  # pragma: no cover - the contract
        raise NotImplementedError

    def predict_proba(self, X):
        """Mean of the members' predicted class probabilities.

        The mean is weighted by ``weights_`` when the ensemble has member
        weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; rows sum to one.
        """
        return _concat(
            [_member_average(p, _weights(self, len(p))) for p in self._iter_member_proba(X)]
        )

    def predict(self, X):
        """Class with the highest mean probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba_members(self, X):
        """Each member's predicted class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_members, n_samples, n_classes)
            Member axis first; the (weighted) mean over members equals
            :meth:`predict_proba`.
        """
        return _concat(list(self._iter_member_proba(X)), axis=1)

    def predict_uncertainty(self, X):
        """Decompose the predictive entropy of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        uncertainty : Bunch
            ``total`` (entropy of the mean prediction), ``aleatoric`` (mean of
            the members' entropies) and ``epistemic`` (mutual information, the
            members' disagreement), each an ndarray of shape (n_samples,) in
            nats, with ``total == aleatoric + epistemic``. Computed by
            :func:`skens.metrics.entropy_decomposition`.
        """
        parts = [
            entropy_decomposition(p, weights=_weights(self, len(p)))
            for p in self._iter_member_proba(X)
        ]
        return _concat(
            [Bunch(total=p.total, aleatoric=p.aleatoric, epistemic=p.epistemic) for p in parts]
        )


class EnsembleRegressorMixin:
    """Predictive distribution and uncertainty of a regressor from its members' Gaussians.

    Subclasses implement ``_iter_member_gaussians(X)`` and set ``_y_ndim``
    when fitting (see :mod:`skens.base`).

    Examples
    --------
    >>> import numpy as np
    >>> from skens.base import EnsembleRegressorMixin
    >>> class TwoGuesses(EnsembleRegressorMixin):
    ...     _y_ndim = 1
    ...     def _iter_member_gaussians(self, X):
    ...         x = np.asarray(X, dtype=float)[:, :1]
    ...         yield np.stack([x, x + 2]), np.ones((2, len(x), 1))
    >>> mean, std = TwoGuesses().predict([[0.0]], return_std=True)
    >>> float(mean[0]), float(std[0] ** 2)  # variance 1 (noise) + 1 (disagreement)
    (1.0, 2.0)
    """

    # Under scikit-learn's metadata routing, ``return_std`` passed to a
    # meta-estimator's ``predict`` (``Pipeline.predict(X, return_std=True)``, as
    # skens.metrics' scorers call it) reaches this ``predict`` without
    # ``set_predict_request(return_std=True)``, as ``groups`` reaches the group
    # splitters by default. It is an option of the prediction, not data.
    __metadata_request__predict = {"return_std": True}

    def _iter_member_gaussians(self, X):  # pragma: no cover - the contract
        raise NotImplementedError

    def _decompose(self, X):
        """The mixture's mean and variance decomposition, batch by batch, joined."""
        parts = [
            gaussian_variance_decomposition(m, v, weights=_weights(self, len(m)))
            for m, v in self._iter_member_gaussians(X)
        ]
        keys = ("mean", "total", "aleatoric", "epistemic")
        return Bunch(**{key: self._squeeze(_concat([p[key] for p in parts])) for key in keys})

    def _squeeze(self, array):
        return array[..., 0] if self._y_ndim == 1 else array

    def predict(self, X, return_std=False):
        """Mean of the ensemble's predictive distribution, and optionally its std.

        The prediction is the mixture of the member Gaussians (weighted by
        ``weights_`` when the ensemble has member weights): its mean is the
        average member mean; its variance the average member variance plus
        the variance of the member means.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.
        return_std : bool, default=False
            Also return the standard deviation of the predictive distribution.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted mean.
        y_std : ndarray of the same shape
            Predictive standard deviation; only when ``return_std=True``.
        """
        parts = self._decompose(X)
        if not return_std:
            return parts.mean
        return parts.mean, np.sqrt(parts.total)

    def predict_members(self, X, return_std=False):
        """Each member's predicted mean, and optionally its std.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.
        return_std : bool, default=False
            Also return each member's predicted standard deviation.

        Returns
        -------
        y_mean : ndarray of shape (n_members, n_samples) or (n_members, n_samples, n_outputs)
            Member axis first.
        y_std : ndarray of the same shape
            Only when ``return_std=True``.
        """
        means, variances = _concat(list(self._iter_member_gaussians(X)), axis=1)
        if not return_std:
            return self._squeeze(means)
        return self._squeeze(means), self._squeeze(np.sqrt(variances))

    def predict_uncertainty(self, X):
        """Decompose the predictive variance of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        uncertainty : Bunch
            ``total``, ``aleatoric`` (mean member variance) and ``epistemic``
            (variance of the member means) variances, each of shape
            (n_samples,) or (n_samples, n_outputs), with
            ``total == aleatoric + epistemic``. Computed by
            :func:`skens.metrics.gaussian_variance_decomposition`.
        """
        parts = self._decompose(X)
        return Bunch(total=parts.total, aleatoric=parts.aleatoric, epistemic=parts.epistemic)

    def predict_quantiles(self, X, quantiles):
        """Predict quantiles of the ensemble's predictive distribution.

        The predictive distribution is the mixture of the member Gaussians
        (weighted by ``weights_`` when the ensemble has member weights), the
        one whose mean and std :meth:`predict` returns; its quantiles are
        computed by :func:`skens.metrics.gaussian_mixture_quantiles`.
        Unlike ``mean +/- z * std`` they follow the mixture's shape: skewed or
        bimodal where the members disagree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.
        quantiles : float or array-like of shape (n_quantiles,)
            Levels in the open interval (0, 1), e.g. ``[0.05, 0.5, 0.95]``.

        Returns
        -------
        y_quantiles : ndarray of shape (n_samples, n_quantiles) or \
(n_samples, n_outputs, n_quantiles)
            Level axis last; without it when ``quantiles`` is a scalar, so
            ``predict_quantiles(X, 0.5)`` has the shape of ``predict(X)``.

        Examples
        --------
        >>> import numpy as np
        >>> from skens.base import EnsembleRegressorMixin
        >>> class OneGuess(EnsembleRegressorMixin):
        ...     _y_ndim = 1
        ...     def _iter_member_gaussians(self, X):
        ...         x = np.asarray(X, dtype=float)[:, :1]
        ...         yield x[None], np.ones((1, len(x), 1))
        >>> OneGuess().predict_quantiles([[0.0], [1.0]], [0.025, 0.975]).round(2)
        array([[-1.96,  1.96],
               [-0.96,  2.96]])
        """
        _check_quantiles(quantiles)  # before any prediction work
        parts = [
            gaussian_mixture_quantiles(m, np.sqrt(v), quantiles, weights=_weights(self, len(m)))
            for m, v in self._iter_member_gaussians(X)
        ]
        y_quantiles = _concat(parts)
        if self._y_ndim == 1:
            y_quantiles = y_quantiles[:, 0]
        return y_quantiles
