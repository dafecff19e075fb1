"""Scorers for model selection on calibration and probabilistic regression quality.

``GridSearchCV(..., scoring=get_scorer("neg_gaussian_nll"))`` selects on the
Gaussian negative log-likelihood of ``predict(X, return_std=True)``; the
other names cover the CRPS and the expected calibration error. Like
scikit-learn's ``neg_*`` scorers they return the negated loss, so higher is
better.

Why not ``scoring="neg_gaussian_nll"``? scikit-learn resolves a string
``scoring`` in its own table of names, and offers no public way to add names
to it, so a search given a skens name as a string raises scikit-learn's
``ValueError: 'neg_gaussian_nll' is not a valid scoring value``. Pass the
scorer object instead, alone or in a dict with scikit-learn's names::

    from skens.metrics import get_scorer
    GridSearchCV(model, grid, scoring=get_scorer("neg_gaussian_nll"))
    GridSearchCV(model, grid, scoring={"nll": get_scorer("neg_gaussian_nll"), "r2": "r2"},
                 refit="nll")

Any search that takes a scorer callable (``RandomizedSearchCV``,
``cross_validate``, Optuna's ``OptunaSearchCV``, ...) takes them the same way.

The scorers take part in scikit-learn's metadata routing as its own scorers
do: with ``sklearn.set_config(enable_metadata_routing=True)``,
``get_scorer("neg_crps").set_score_request(sample_weight=True)`` receives the
``sample_weight`` passed to the search's ``fit``.
"""

import copy
import inspect

import sklearn
from sklearn.metrics import get_scorer as _sklearn_get_scorer
from sklearn.utils.metadata_routing import MetadataRequest, get_routing_for_object

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


def _routing_enabled():
    return bool(sklearn.get_config().get("enable_metadata_routing", False))


class _SignedScorer:
    """A metric and its sign: losses are negated so that higher is better.

    Metadata routing follows scikit-learn's scorers (``_BaseScorer``): the
    metric's keyword parameters are the metadata the scorer can consume, none
    requested until :meth:`set_score_request` says so. Built on the public
    :class:`~sklearn.utils.metadata_routing.MetadataRequest` rather than on
    ``_BaseScorer``, whose private ``_score`` / response-method cache would
    hand a cached ``predict(X)`` to a scorer that needs ``predict(X, return_std=True)``.
    """

    # Parameters of ``score_func`` that the scorer fills itself, after ``y_true``.
    _n_supplied = 1
    _supplied_keywords = frozenset()

    def __init__(self, score_func, *, greater_is_better=False):
        self.score_func = score_func
        self.greater_is_better = greater_is_better

    def _signed(self, score):
        return score if self.greater_is_better else -score

    def __repr__(self):
        sign = "" if self.greater_is_better else "neg_"
        return f"{type(self).__name__}({sign}{self.score_func.__name__})"

    def _routing_repr(self):
        return repr(self)

    def _metadata_names(self):
        """The metric's parameters that can arrive as metadata (as sklearn sniffs them)."""
        try:
            parameters = list(inspect.signature(self.score_func).parameters.values())
        except (TypeError, ValueError):
            return []
        return [
            p.name
            for p in parameters[1 + self._n_supplied :]
            if p.name not in self._supplied_keywords
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def _accept_sample_weight(self):
        # scikit-learn asks this of every scorer when routing is off.
        return "sample_weight" in self._metadata_names()

    def set_score_request(self, **kwargs):
        """Request metadata (``sample_weight``) for the scorer, under metadata routing.

        As for scikit-learn's scorers, available only with
        ``sklearn.set_config(enable_metadata_routing=True)``; each call
        replaces the previous requests.

        Parameters
        ----------
        **kwargs : dict
            ``param=alias`` pairs, the alias one of ``True`` (pass the
            metadata), ``False`` (do not), ``None`` (error if it is passed)
            or a string (pass the metadata of that name).

        Returns
        -------
        self : object
            The scorer, with the requests set.

        Examples
        --------
        >>> import sklearn
        >>> from skens.metrics import get_scorer
        >>> with sklearn.config_context(enable_metadata_routing=True):
        ...     scorer = get_scorer("neg_gaussian_nll").set_score_request(sample_weight=True)
        ...     print(scorer.get_metadata_routing())
        {'score': {'sample_weight': True}}
        """
        if not _routing_enabled():
            raise RuntimeError(
                "This method is only available when metadata routing is enabled. You can "
                "enable it using sklearn.set_config(enable_metadata_routing=True)."
            )
        request = MetadataRequest(owner=self)
        for param, alias in kwargs.items():
            request.score.add_request(param=param, alias=alias)
        self._metadata_request = request
        return self

    def get_metadata_routing(self):
        """The scorer's metadata requests, for scikit-learn's metadata routing.

        Returns
        -------
        routing : MetadataRequest
            The requests of the scorer's ``score`` method: those set by
            :meth:`set_score_request`, else the metric's keyword parameters
            (such as ``sample_weight``), unrequested.

        Examples
        --------
        >>> from skens.metrics import get_scorer
        >>> get_scorer("neg_crps").get_metadata_routing()
        {'score': {'sample_weight': None}}
        """
        if hasattr(self, "_metadata_request"):
            return get_routing_for_object(self._metadata_request)
        request = MetadataRequest(owner=self)
        for name in self._metadata_names():
            request.score.add_request(param=name, alias=None)
        return request

    def _metric_kwargs(self, sample_weight, kwargs):
        if kwargs and not _routing_enabled():
            raise TypeError(
                f"{self!r} got unexpected argument(s) {sorted(kwargs)}; passing metadata other "
                "than sample_weight to a scorer needs "
                "sklearn.set_config(enable_metadata_routing=True)."
            )
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return kwargs


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

    _n_supplied = 2  # y_mean, y_std

    def __call__(self, estimator, X, y_true, sample_weight=None, **kwargs):
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
        **kwargs : dict
            Other metadata for the metric, routed to the scorer by
            :meth:`set_score_request`; only under metadata routing.

        Returns
        -------
        score : float
            The metric, negated when ``greater_is_better=False``.
        """
        kwargs = self._metric_kwargs(sample_weight, kwargs)
        if not _accepts_return_std(estimator.predict):
            raise TypeError(
                f"{type(estimator).__name__}.predict does not accept return_std=True, which "
                "this scorer needs (it scores a predictive distribution)."
            )
        mean, std = estimator.predict(X, return_std=True)
        score = self.score_func(y_true, mean, std, **kwargs)
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

    _supplied_keywords = frozenset({"labels"})

    def __call__(self, estimator, X, y_true, sample_weight=None, **kwargs):
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
        **kwargs : dict
            Other metadata for the metric, routed to the scorer by
            :meth:`set_score_request`; only under metadata routing.

        Returns
        -------
        score : float
            The metric, negated when ``greater_is_better=False``.
        """
        kwargs = self._metric_kwargs(sample_weight, kwargs)
        y_prob = estimator.predict_proba(X)
        score = self.score_func(y_true, y_prob, labels=estimator.classes_, **kwargs)
        return self._signed(score)


SCORERS = {
    "neg_gaussian_nll": PredictiveDistributionScorer(gaussian_nll_loss),
    "neg_crps": PredictiveDistributionScorer(crps_gaussian_loss),
    "neg_expected_calibration_error": ProbabilityScorer(expected_calibration_error),
}


def get_scorer(scoring):
    """A scorer by name: skens' own names, then scikit-learn's.

    Pass the scorer it returns as ``scoring`` to a search. **Why not
    ``scoring="neg_gaussian_nll"``?** scikit-learn looks a string ``scoring``
    up in its own table, which has no public way to add names, and raises
    ``ValueError: 'neg_gaussian_nll' is not a valid scoring value`` for a
    skens name; a scorer object (alone, or in a dict mixed with
    scikit-learn's names) works in every search::

        GridSearchCV(model, grid, scoring=get_scorer("neg_gaussian_nll"))
        GridSearchCV(model, grid, refit="nll",
                     scoring={"nll": get_scorer("neg_gaussian_nll"), "r2": "r2"})

    Parameters
    ----------
    scoring : str or callable
        ``'neg_gaussian_nll'``, ``'neg_crps'``, ``'neg_expected_calibration_error'``,
        any name of :func:`sklearn.metrics.get_scorer`, or a callable (returned
        as it is).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``; higher is better. A new copy for each call
        (as scikit-learn's), so that its :meth:`set_score_request
        <PredictiveDistributionScorer.set_score_request>` changes no other.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.gaussian_process import GaussianProcessRegressor
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skens.metrics import get_scorer
    >>> get_scorer("neg_crps")
    PredictiveDistributionScorer(neg_crps_gaussian_loss)
    >>> get_scorer("accuracy")
    make_scorer(accuracy_score, response_method='predict')
    >>> X, y = make_regression(n_samples=30, n_features=2, noise=1.0, random_state=0)
    >>> search = GridSearchCV(
    ...     GaussianProcessRegressor(optimizer=None), {"alpha": [0.1, 1.0]}, cv=2, refit="nll",
    ...     scoring={"nll": get_scorer("neg_gaussian_nll"), "r2": "r2"},
    ... ).fit(X, y)
    >>> sorted(k for k in search.cv_results_ if k.startswith("mean_test"))
    ['mean_test_nll', 'mean_test_r2']
    """
    if isinstance(scoring, str) and scoring in SCORERS:
        return copy.deepcopy(SCORERS[scoring])
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
