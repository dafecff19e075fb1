"""Scorers for model selection on calibration and probabilistic regression quality.

``GridSearchCV(..., scoring=get_scorer("neg_gaussian_nll"))`` selects on the
Gaussian negative log-likelihood of ``predict(X, return_std=True)``; the
other names cover the CRPS and the expected calibration error. Like
scikit-learn's ``neg_*`` scorers they return the negated loss, so higher is
better.
"""

import inspect

from sklearn.metrics import get_scorer as _sklearn_get_scorer

from ._calibration import expected_calibration_error
from ._regression import crps_gaussian_loss, gaussian_nll_loss

__all__ = [
    "PredictiveDistributionScorer",
    "ProbabilityScorer",
    "get_scorer",
    "get_scorer_names",
    "SCORERS",
]


def _accepts_return_std(method):
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # no signature to inspect: let the call decide
        return True
    return any(
        p.name == "return_std" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters
    )


class _SignedScorer:
    """A metric and its sign: losses are negated so that higher is better."""

    def __init__(self, score_func, *, greater_is_better=False):
        self.score_func = score_func
        self.greater_is_better = greater_is_better

    def _signed(self, score):
        return score if self.greater_is_better else -score

    def __repr__(self):
        sign = "" if self.greater_is_better else "neg_"
        return f"{type(self).__name__}({sign}{self.score_func.__name__})"


class PredictiveDistributionScorer(_SignedScorer):
    """Score a regressor's predictive distribution ``N(mean, std**2)``.

    Calls ``estimator.predict(X, return_std=True)`` and applies a metric of
    ``(y_true, y_mean, y_std)``; the estimator must support ``return_std``
    (:class:`skens.DeepEnsembleRegressor`, a ``Pipeline`` ending in one,
    ``GaussianProcessRegressor``, ...).

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_mean, y_std, sample_weight=None) -> float``.
    greater_is_better : bool, default=False
        False for losses: the scorer then returns the negated loss.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.gaussian_process import GaussianProcessRegressor
    >>> from skens.metrics import get_scorer
    >>> X, y = make_regression(n_samples=40, n_features=2, noise=1.0, random_state=0)
    >>> gp = GaussianProcessRegressor(alpha=1.0, optimizer=None).fit(X, y)
    >>> get_scorer("neg_gaussian_nll")(gp, X, y) < 0
    True
    """

    def __call__(self, estimator, X, y_true, sample_weight=None):
        """Score the predictive distribution of a fitted ``estimator`` on ``X``.

        Parameters
        ----------
        estimator : object
            A fitted regressor whose ``predict`` accepts ``return_std=True``.
        X : array-like of shape (n_samples, n_features)
            Input data.
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Observed targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, passed to the metric.

        Returns
        -------
        score : float
            The metric, negated when ``greater_is_better=False``.
        """
        if not _accepts_return_std(estimator.predict):
            raise TypeError(
                f"{type(estimator).__name__}.predict does not accept return_std=True, which "
                "this scorer needs (it scores a predictive distribution)."
            )
        mean, std = estimator.predict(X, return_std=True)
        score = self.score_func(y_true, mean, std, sample_weight=sample_weight)
        return self._signed(score)


class ProbabilityScorer(_SignedScorer):
    """Score a classifier's ``predict_proba`` with a metric that needs the labels.

    Passes ``labels=estimator.classes_`` to the metric, so that the columns of
    the probabilities are matched to the right labels even when a
    cross-validation fold's test part lacks a class.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_prob, labels=..., sample_weight=None) -> float``.
    greater_is_better : bool, default=False
        False for losses: the scorer then returns the negated loss.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skens.metrics import get_scorer
    >>> X, y = [[0.0], [1.0], [2.0], [3.0]], ["a", "a", "b", "b"]
    >>> model = LogisticRegression().fit(X, y)
    >>> -0.5 < get_scorer("neg_expected_calibration_error")(model, X[:2], y[:2]) <= 0
    True
    """

    def __call__(self, estimator, X, y_true, sample_weight=None):
        """Score the probabilities of a fitted classifier ``estimator`` on ``X``.

        Parameters
        ----------
        estimator : object
            A fitted classifier with ``predict_proba`` and ``classes_``.
        X : array-like of shape (n_samples, n_features)
            Input data.
        y_true : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, passed to the metric.

        Returns
        -------
        score : float
            The metric, negated when ``greater_is_better=False``.
        """
        y_prob = estimator.predict_proba(X)
        score = self.score_func(
            y_true, y_prob, labels=estimator.classes_, sample_weight=sample_weight
        )
        return self._signed(score)


SCORERS = {
    "neg_gaussian_nll": PredictiveDistributionScorer(gaussian_nll_loss),
    "neg_crps": PredictiveDistributionScorer(crps_gaussian_loss),
    "neg_expected_calibration_error": ProbabilityScorer(expected_calibration_error),
}


def get_scorer(scoring):
    """A scorer by name: skens' own names, then scikit-learn's.

    Parameters
    ----------
    scoring : str or callable
        ``'neg_gaussian_nll'``, ``'neg_crps'``, ``'neg_expected_calibration_error'``,
        any name of :func:`sklearn.metrics.get_scorer`, or a callable (returned
        as it is).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``; higher is better.

    Examples
    --------
    >>> from skens.metrics import get_scorer
    >>> get_scorer("neg_crps")
    PredictiveDistributionScorer(neg_crps_gaussian_loss)
    >>> get_scorer("accuracy")
    make_scorer(accuracy_score, response_method='predict')
    """
    if isinstance(scoring, str) and scoring in SCORERS:
        return SCORERS[scoring]
    return _sklearn_get_scorer(scoring)


def get_scorer_names():
    """List the names accepted by :func:`get_scorer` that scikit-learn does not know.

    Returns
    -------
    names : list of str
        The keys of ``SCORERS``, sorted.

    Examples
    --------
    >>> from skens.metrics import get_scorer_names
    >>> get_scorer_names()
    ['neg_crps', 'neg_expected_calibration_error', 'neg_gaussian_nll']
    """
    return sorted(SCORERS)
