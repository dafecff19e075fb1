"""One quantile of a fitted regressor as a regressor of its own (for MAPIE's CQR)."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..metrics._regression import _check_quantiles

__all__ = ["QuantileView", "quantile_views"]


class QuantileView:
    """A fitted regressor whose ``predict`` is one quantile of another's prediction.

    A view of an already fitted regressor with ``predict_quantiles`` (every
    skens regressor): nothing is copied or refitted, and several views of one
    ensemble share it. It is what MAPIE's ``ConformalizedQuantileRegressor``
    takes with ``prefit=True`` (three fitted quantile regressors); see
    :func:`quantile_views`. Like :class:`sklearn.frozen.FrozenEstimator`, its
    ``fit`` does nothing.

    Parameters
    ----------
    estimator : fitted regressor
        It must have a ``predict_quantiles(X, quantiles)`` method, such as
        :meth:`skens.base.EnsembleRegressorMixin.predict_quantiles`.
    quantile : float
        The level in the open interval (0, 1) that ``predict`` returns.

    Attributes
    ----------
    is_fitted : bool
        Always True: a view is of a fitted estimator. MAPIE reads it as its
        sign of a fitted model (it has no ``n_features_in_``, with which MAPIE
        would probe ``predict`` on a row of zeros, invalid for tabular data
        with categorical columns).

    See Also
    --------
    quantile_views : Several views of one estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.ensemble import EnsembleSelectionRegressor
    >>> from skens.utils import QuantileView
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.arange(40.0).reshape(-1, 1)
    >>> y = 2 * X[:, 0] + np.random.default_rng(0).normal(size=40)
    >>> pool = [("a", LinearRegression()), ("b", LinearRegression(fit_intercept=False))]
    >>> model = EnsembleSelectionRegressor(pool, random_state=0).fit(X, y)
    >>> upper = QuantileView(model, 0.95)
    >>> bool(np.all(upper.predict(X) > model.predict(X)))
    True
    """

    def __init__(self, estimator, quantile):
        if not callable(getattr(estimator, "predict_quantiles", None)):
            raise TypeError(
                "estimator must have a predict_quantiles(X, quantiles) method (every skens "
                f"regressor has one), got {type(estimator).__name__}."
            )
        check_is_fitted(estimator)
        if np.ndim(quantile) != 0:
            raise ValueError(f"quantile must be a single number in (0, 1), got {quantile!r}.")
        _check_quantiles(quantile)
        self.estimator = estimator
        self.quantile = float(quantile)

    def __repr__(self):
        return f"QuantileView({type(self.estimator).__name__}(...), quantile={self.quantile!r})"

    def __sklearn_is_fitted__(self):
        return True

    @property
    def is_fitted(self):
        """Always True: MAPIE reads it to see that a prefit estimator is fitted."""
        return True

    def fit(self, X=None, y=None, **fit_params):
        """Do nothing: the view is of a fitted estimator.

        Parameters
        ----------
        X : object, default=None
            Ignored.
        y : object, default=None
            Ignored.
        **fit_params : dict
            Ignored.

        Returns
        -------
        self : QuantileView
            Unchanged.
        """
        return self

    def predict(self, X):
        """The ``quantile`` of the wrapped estimator's predictive distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_quantile : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``estimator.predict_quantiles(X, quantile)``.
        """
        return self.estimator.predict_quantiles(X, self.quantile)


def quantile_views(estimator, quantiles):
    """Make views of a fitted regressor, one for each quantile, for MAPIE's CQR.

    MAPIE's ``ConformalizedQuantileRegressor(..., prefit=True)`` takes three
    fitted regressors that predict the lower, upper and median quantiles, in
    that order: ``quantile_views(model, [alpha / 2, 1 - alpha / 2, 0.5])`` with
    ``alpha = 1 - confidence_level`` gives them from one fitted skens regressor,
    from the quantiles of its predictive mixture, without fitting three models.

    Parameters
    ----------
    estimator : fitted regressor
        It must have a ``predict_quantiles(X, quantiles)`` method (every skens
        regressor has one).
    quantiles : array-like of shape (n_quantiles,)
        Levels in the open interval (0, 1).

    Returns
    -------
    views : list of QuantileView
        One for each level, in the order given.

    See Also
    --------
    QuantileView : One such view.
    skens.base.EnsembleRegressorMixin.predict_quantiles : The quantiles themselves.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.ensemble import EnsembleSelectionRegressor
    >>> from skens.utils import quantile_views
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.arange(40.0).reshape(-1, 1)
    >>> y = 2 * X[:, 0] + np.random.default_rng(0).normal(size=40)
    >>> pool = [("a", LinearRegression()), ("b", LinearRegression(fit_intercept=False))]
    >>> model = EnsembleSelectionRegressor(pool, random_state=0).fit(X, y)
    >>> lower, upper, median = quantile_views(model, [0.05, 0.95, 0.5])
    >>> median
    QuantileView(EnsembleSelectionRegressor(...), quantile=0.5)

    With MAPIE installed (``ConformalizedQuantileRegressor`` from
    ``mapie.regression``)::

        cqr = ConformalizedQuantileRegressor(
            quantile_views(model, [0.05, 0.95, 0.5]), confidence_level=0.9, prefit=True
        )
        cqr.conformalize(X_calib, y_calib)
        y_pred, y_intervals = cqr.predict_interval(X_test)
    """
    levels, scalar = _check_quantiles(quantiles)
    if scalar:
        raise ValueError(
            f"quantiles must be a 1-D array of levels, got the single number {quantiles!r}; "
            "use QuantileView for one."
        )
    return [QuantileView(estimator, q) for q in levels]
