"""Window-based early-exit cascades (Xia & Bouganis, ICCV 2023).

A cascade evaluates its members one at a time, cheapest first. Stage ``k``
predicts the mean of the probabilities of members ``1..k``; a row leaves the
cascade at stage ``k`` unless its confidence at that stage lies inside a
window around the operating threshold, chosen on validation rows: only rows
near the decision boundary of the selective classifier pay for more members.
The rule follows the authors' code (``Guoxoug/window-early-exit``:
``window_threshold_strategy`` and ``get_threshold``), generalised from two
stages to any number.
"""

import time
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.special import logsumexp
from scipy.stats import percentileofscore
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ..metrics import entropy_decomposition
from ..preprocessing import check_tabular_input
from ..utils._compat import Interval, StrOptions, _fit_context, _safe_indexing
from ..utils._estimators import _accepts_nan, _predicts_std
from ..utils._validation import _check_classification_target, _check_regression_target
from ._pool import _check_named_estimators, default_pool

__all__ = [
    "CascadeClassifier",
    "CascadeRegressor",
    "exit_confidence",
    "exit_window",
    "member_groups",
    "operating_threshold",
]

EXIT_SCORES = ("msp", "entropy", "energy", "max_logit")
_EPS = 1e-300


def exit_confidence(proba=None, logits=None, *, score="msp"):
    """The confidence of each row that the exit rule reads (higher: more confident).

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes), default=None
        Class probabilities (for ``'msp'`` and ``'entropy'``).
    logits : array-like of shape (n_samples, n_classes), default=None
        Unnormalised class scores (for ``'energy'`` and ``'max_logit'``).
    score : {'msp', 'entropy', 'energy', 'max_logit'}, default='msp'
        ``'msp'``: the maximum probability; ``'entropy'``: minus the
        predictive entropy; ``'energy'``: ``logsumexp(logits)`` (minus the
        energy score); ``'max_logit'``: the largest logit.

    Returns
    -------
    confidence : ndarray of shape (n_samples,)
        The confidence of each row.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.ensemble import exit_confidence
    >>> exit_confidence(np.array([[0.9, 0.1], [0.5, 0.5]])).tolist()
    [0.9, 0.5]
    """
    if score not in EXIT_SCORES:
        raise ValueError(f"score must be one of {EXIT_SCORES}, got {score!r}.")
    if score in ("msp", "entropy"):
        if proba is None:
            raise ValueError(f"score={score!r} needs probabilities.")
        proba = np.asarray(proba, dtype=np.float64)
        if score == "msp":
            return proba.max(axis=1)
        return np.sum(proba * np.log(np.clip(proba, _EPS, None)), axis=1)
    if logits is None:
        raise ValueError(f"score={score!r} needs logits.")
    logits = np.asarray(logits, dtype=np.float64)
    return logsumexp(logits, axis=1) if score == "energy" else logits.max(axis=1)


def operating_threshold(confidence, correct, *, operating_point="coverage", value=0.8,
                        min_coverage=0.1):
    """The confidence threshold of a selective classifier's operating point.

    Rows of confidence at or above the threshold are accepted.

    Parameters
    ----------
    confidence : array-like of shape (n_samples,)
        Validation confidences.
    correct : array-like of bool of shape (n_samples,)
        Whether each validation prediction is right.
    operating_point : {'coverage', 'risk'}, default='coverage'
        ``'coverage'``: the threshold that accepts a ``value`` share of the
        rows (the risk at that coverage is then the figure of merit; a true
        positive rate for out-of-distribution detection is the same
        threshold, taken on in-distribution rows). ``'risk'``: the threshold
        whose selective risk (error rate of the accepted rows) is closest to
        ``value`` (the one accepting the most rows among equally close ones).
    value : float, default=0.8
        The coverage or the risk aimed at, in (0, 1].
    min_coverage : float, default=0.1
        With ``'risk'``, only cuts accepting at least this share of the rows
        are considered (the risk of a few rows is noise; the reference code
        skips its first 500 rows).

    Returns
    -------
    threshold : float
        The smallest confidence accepted.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.ensemble import operating_threshold
    >>> confidence = np.array([0.9, 0.8, 0.7, 0.6, 0.55])
    >>> correct = np.array([True, True, True, False, False])
    >>> float(operating_threshold(confidence, correct, operating_point="risk", value=0.0))
    0.7
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if operating_point == "coverage":
        return float(np.quantile(confidence, 1.0 - value))
    if operating_point != "risk":
        raise ValueError(
            f"operating_point must be 'coverage' or 'risk', got {operating_point!r}."
        )
    order = np.argsort(-confidence, kind="stable")
    accepted = np.arange(1, len(order) + 1)
    risk = np.cumsum(~correct[order]) / accepted
    eligible = accepted >= max(1, int(np.ceil(min_coverage * len(order))))
    # Among equal confidences, only the last of the run is a real cut.
    sorted_confidence = confidence[order]
    last_of_run = np.append(sorted_confidence[1:] != sorted_confidence[:-1], True)
    candidates = np.flatnonzero(eligible & last_of_run)
    distance = np.abs(risk[candidates] - value)
    # The closest risk; among equally close cuts, the one accepting the most rows.
    best = candidates[np.flatnonzero(distance == distance.min())[-1]]
    return float(sorted_confidence[best])


def exit_window(confidence, threshold, window):
    """The window of confidences around ``threshold`` inside which rows go on.

    Parameters
    ----------
    confidence : array-like of shape (n_samples,)
        Validation confidences.
    threshold : float
        The operating threshold (:func:`operating_threshold`).
    window : float
        Half-width of the window, as a share of the validation rows: the
        bounds are the validation quantiles at ``q - window`` and
        ``q + window``, ``q`` the rank of ``threshold`` among the validation
        confidences.

    Returns
    -------
    low, high : float
        A row exits when its confidence is below ``low`` or above ``high``.
        A bound whose quantile reaches 0 or 1 is infinite (the reference
        code clamps it to the validation minimum or maximum instead, which
        lets new rows beyond that range exit; here they go on).

    Examples
    --------
    >>> import numpy as np
    >>> from skens.ensemble import exit_window
    >>> confidence = np.linspace(0.5, 1.0, 101)
    >>> [round(float(b), 3) for b in exit_window(confidence, 0.75, 0.1)]
    [0.7, 0.8]
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    q = percentileofscore(confidence, threshold) / 100.0
    low = -np.inf if q - window <= 0 else float(np.quantile(confidence, q - window))
    high = np.inf if q + window >= 1 else float(np.quantile(confidence, q + window))
    return low, high


class _MemberGroup(ClassifierMixin, BaseEstimator):
    """Some members of a fitted ensemble classifier, as a fitted classifier.

    ``predict_proba`` is the (weighted) mean of the probabilities of
    ``members``. For a :class:`~skens.DeepEnsembleClassifier` only those
    members are computed (the module is sliced with
    :func:`skens.nn.select_members`); for any other ensemble with
    ``predict_proba_members`` all members are computed and the group's
    kept. Made by :func:`member_groups`; the stages of a
    :class:`CascadeClassifier` over one ensemble's members.

    Parameters
    ----------
    ensemble : estimator
        A fitted ensemble classifier with ``predict_proba_members``.
    members : sequence of int
        The members of the group.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The ensemble's classes.
    n_features_in_ : int
        Number of features the ensemble saw during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from skens import DeepEnsembleClassifier
    >>> from skens.ensemble import member_groups
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> deep = DeepEnsembleClassifier(n_members=4, hidden_layer_sizes=(16,), max_epochs=5,
    ...                               random_state=0).fit(X, y)
    >>> (name, first), _ = member_groups(deep, 2)
    >>> name
    'members_0-1'
    >>> bool(np.allclose(first.predict_proba(X), deep.predict_proba_members(X)[:2].mean(0)))
    True
    """

    def __init__(self, ensemble, members):
        self.ensemble = ensemble
        self.members = members

    def fit(self, X=None, y=None):
        """Take the fitted ensemble's classes (nothing is trained).

        Parameters
        ----------
        X, y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        self : _MemberGroup
            The group, ready to predict.
        """
        check_is_fitted(self.ensemble)
        self.classes_ = self.ensemble.classes_
        self.n_features_in_ = self.ensemble.n_features_in_
        members = np.asarray(self.members, dtype=np.int64)
        weights = getattr(self.ensemble, "weights_", None)
        self._weights = None if weights is None else np.asarray(weights, dtype=np.float64)[members]
        self._module = None
        net = getattr(self.ensemble, "net_", None)
        if net is not None and hasattr(self.ensemble, "_iter_member_proba"):
            from ..nn import select_members

            self._module = select_members(net.module_, members.tolist())
        return self

    def predict_proba(self, X):
        """The mean of the group's members' probabilities.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows to predict.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The (weighted) mean of the members' probabilities.
        """
        check_is_fitted(self, "classes_")
        if self._module is not None:
            batches = list(self.ensemble._iter_member_proba(X, module=self._module))
            member_proba = np.concatenate(batches, axis=1)
        else:
            member_proba = self.ensemble.predict_proba_members(X)[np.asarray(self.members)]
        if self._weights is None or self._weights.sum() <= 0:
            return member_proba.mean(axis=0)
        return np.tensordot(self._weights / self._weights.sum(), member_proba, axes=1)

    def predict(self, X):
        """The most probable class.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Class labels.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


def member_groups(ensemble, n_groups):
    """Split a fitted ensemble's members into consecutive groups, the stages of a cascade.

    Parameters
    ----------
    ensemble : estimator
        A fitted ensemble classifier with ``predict_proba_members`` (a
        :class:`~skens.DeepEnsembleClassifier`, an ensemble selection...).
    n_groups : int
        Number of groups; the members are split as evenly as possible
        (groups of equal size make a cascade stage the plain mean of its
        members).

    Returns
    -------
    groups : list of (str, estimator)
        Fitted groups, named ``'members_i-j'``, for
        ``CascadeClassifier(groups, cv='prefit')``: classifiers whose
        ``predict_proba`` is the mean of their members' probabilities (for a
        deep ensemble only those members are computed).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skens import DeepEnsembleClassifier
    >>> from skens.ensemble import CascadeClassifier, member_groups
    >>> X, y = make_classification(n_samples=400, random_state=0)
    >>> deep = DeepEnsembleClassifier(n_members=4, hidden_layer_sizes=(16,), max_epochs=5,
    ...                               random_state=0).fit(X[:200], y[:200])
    >>> cascade = CascadeClassifier(member_groups(deep, 4), cv="prefit",
    ...                             costs=[1, 1, 1, 1]).fit(X[200:], y[200:])
    >>> cascade.stage_names_
    ['members_0-0', 'members_1-1', 'members_2-2', 'members_3-3']
    """
    check_is_fitted(ensemble)
    if not hasattr(ensemble, "predict_proba_members"):
        raise TypeError(
            f"member_groups needs an ensemble with predict_proba_members, got "
            f"{type(ensemble).__name__}."
        )
    weights = getattr(ensemble, "weights_", None)
    n_members = len(weights) if weights is not None else _n_members(ensemble)
    if not isinstance(n_groups, Integral) or not 1 <= n_groups <= n_members:
        raise ValueError(f"n_groups must be an int in [1, {n_members}], got {n_groups!r}.")
    groups = np.array_split(np.arange(n_members), n_groups)
    return [
        (f"members_{g[0]}-{g[-1]}", _MemberGroup(ensemble, g.tolist()).fit())
        for g in groups
    ]


def _n_members(ensemble):
    n = getattr(ensemble, "n_members", None)
    if isinstance(n, Integral):
        return int(n)
    raise TypeError(
        f"Cannot tell how many members {type(ensemble).__name__} has (no n_members or weights_)."
    )


class _BaseCascade(BaseEstimator):
    """The cascade's fitting and running; subclasses say what a stage outputs."""

    _parameter_constraints = {
        "estimators": [list, None],
        "cv": [StrOptions({"prefit"}), Interval(Real, 0, 1, closed="neither")],
        "costs": ["array-like", StrOptions({"measured"}), None],
        "operating_value": [Interval(Real, 0, 1, closed="right")],
        "window": [Interval(Real, 0, None, closed="left")],
        "strategy": [StrOptions({"window", "threshold"})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }
    _task = None  # 'classification' or 'regression'

    # ------------------------------------------------------------ per task
    def _check_member(self, name, estimator):
        """Raise a clear error when ``estimator`` cannot be a stage."""

    def _check_prefit(self, name, estimator):
        """Raise a clear error when a prefit ``estimator`` does not fit the target."""

    def _outputs(self, estimator, X):
        """One member's outputs on ``X``: a tuple of arrays with one row per sample."""

    def _stage(self, sums, k):
        """``(confidence, prediction)`` of stage ``k`` from the running sums of outputs."""

    def _correct(self, prediction, y):
        """Whether each prediction is right (for the 'risk' operating point), or None."""
        return None

    # --------------------------------------------------------------- pool
    def _pool(self):
        if self.estimators is None:
            if self.cv == "prefit":
                raise ValueError(
                    "cv='prefit' needs fitted estimators; estimators=None builds unfitted ones."
                )
            members = dict(default_pool(self._task, random_state=self.random_state,
                                        include_optional=False))
            return [(name, members[name])
                    for name in ("linear", "hist_gradient_boosting", "deep_ensemble")]
        pool = _check_named_estimators(self.estimators)
        for name, est in pool:
            self._check_member(name, est)
        return pool

    def _check_X(self, X, *, reset):
        return check_tabular_input(self, X, reset=reset)

    # ---------------------------------------------------------------- fit
    def _fit_cascade(self, X, y):
        """Fit (unless prefit) and set the stages on checked ``X`` and prepared ``y``."""
        pool = self._pool()
        if self.cv == "prefit":
            for name, est in pool:
                check_is_fitted(est)
                self._check_prefit(name, est)
            X_val, y_val = X, y
        else:
            index = np.arange(len(y))
            stratify = y if self._task == "classification" else None
            try:
                train, valid = train_test_split(
                    index, test_size=self.cv, stratify=stratify, random_state=self.random_state
                )
            except ValueError:
                if stratify is None:
                    raise
                train, valid = train_test_split(
                    index, test_size=self.cv, random_state=self.random_state
                )
            X_train, y_train = _safe_indexing(X, train), y[train]
            if self._task == "classification" and len(np.unique(y_train)) < 2:
                raise ValueError(
                    f"{type(self).__name__}: the training part (1 - cv of the rows) holds a "
                    "single class; pass more data or a smaller cv."
                )
            fitted = Parallel(n_jobs=self.n_jobs)(
                delayed(clone(est).fit)(X_train, y_train) for _, est in pool
            )
            pool = [(name, est) for (name, _), est in zip(pool, fitted)]
            X_val, y_val = _safe_indexing(X, valid), y[valid]

        # Each member's validation outputs, timed.
        outputs, seconds = [], []
        for _, est in pool:
            start = time.perf_counter()
            outputs.append(self._outputs(est, X_val))
            seconds.append((time.perf_counter() - start) / max(len(y_val), 1))
        if self.costs is None or (isinstance(self.costs, str) and self.costs == "measured"):
            costs = np.asarray(seconds)
        else:
            costs = np.asarray(self.costs, dtype=np.float64)
            if costs.shape != (len(pool),) or not np.all(np.isfinite(costs)) or np.any(costs < 0):
                raise ValueError(
                    f"costs must hold {len(pool)} finite non-negative numbers, one per "
                    f"estimator, got {self.costs!r}."
                )
        # Measured costs order the stages only when asked to: timings vary from fit to fit.
        keep_order = self.costs is None
        order = np.arange(len(pool)) if keep_order else np.argsort(costs, kind="stable")
        self.estimators_ = [pool[i][1] for i in order]
        self.stage_names_ = [pool[i][0] for i in order]
        self.costs_ = costs[order]
        outputs = [outputs[i] for i in order]

        # Thresholds and windows, stage by stage, on every validation row.
        n_stages = len(self.estimators_)
        self.thresholds_ = np.full(n_stages, np.nan)
        self.windows_ = np.tile([-np.inf, np.inf], (n_stages, 1))
        sums = None
        confidences = []
        for k, out in enumerate(outputs):
            sums = out if sums is None else tuple(a + b for a, b in zip(sums, out))
            confidence, prediction = self._stage(sums, k)
            confidences.append(confidence)
            if k == n_stages - 1:
                break
            tau = operating_threshold(
                confidence, self._correct(prediction, y_val),
                operating_point=self.operating_point, value=self.operating_value,
            )
            self.thresholds_[k] = tau
            if self.window < 1:
                self.windows_[k] = exit_window(confidence, tau, self.window)

        # Exit rates and expected cost on the validation rows.
        active = np.ones(len(y_val), dtype=bool)
        self.exit_rate_ = np.zeros(n_stages)
        reach = np.zeros(n_stages)
        for k in range(n_stages):
            reach[k] = active.mean()
            exits = active & self._exits(confidences[k], k)
            self.exit_rate_[k] = exits.mean()
            active &= ~exits
        self.expected_cost_ = float(np.sum(reach * self.costs_))
        return self

    def _exits(self, confidence, k):
        if k == len(self.estimators_) - 1:
            return np.ones(len(confidence), dtype=bool)
        if self.strategy == "threshold":
            return confidence > self.thresholds_[k]
        low, high = self.windows_[k]
        return (confidence < low) | (confidence > high)

    # ------------------------------------------------------------ predict
    def _run(self, X, *, members=False):
        """Run the cascade on ``X``.

        Returns ``(prediction, stage, member_outputs)``: the exit stage's
        prediction of each row, the (0-based) exit stage, and each member's
        outputs (NaN where a member was not evaluated; only with ``members``).
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        n = X.shape[0]
        stage = np.full(n, -1, dtype=np.int64)
        active = np.arange(n)
        sums, prediction, member_outputs = None, None, []
        for k, est in enumerate(self.estimators_):
            out = self._outputs(est, _safe_indexing(X, active))
            if sums is None:
                sums = tuple(np.zeros((n, *a.shape[1:])) for a in out)
            for total, part in zip(sums, out):
                total[active] += part
            if members:
                full = np.full((n, *out[0].shape[1:]), np.nan)
                full[active] = out[0]
                member_outputs.append(full)
            confidence, stage_prediction = self._stage(tuple(t[active] for t in sums), k)
            if prediction is None:
                prediction = np.zeros((n, *stage_prediction.shape[1:]))
            exits = self._exits(confidence, k)
            done = active[exits]
            prediction[done] = stage_prediction[exits]
            stage[done] = k
            active = active[~exits]
            if not len(active):
                break
        return prediction, stage, member_outputs

    def predict_stage(self, X):
        """The (0-based) stage at which each row exits.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows to predict.

        Returns
        -------
        stage : ndarray of int of shape (n_samples,)
            ``k`` means members ``0..k`` were evaluated for the row.
        """
        return self._run(X)[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.estimators is None:
            tags.input_tags.allow_nan = True
            tags.input_tags.categorical = True
        else:
            members = [
                item[1] for item in self.estimators
                if isinstance(item, tuple) and len(item) == 2 and not isinstance(item[1], str)
            ]
            tags.input_tags.allow_nan = all(_accepts_nan(est) for est in members)
        tags.non_deterministic = False
        return tags


class CascadeClassifier(ClassifierMixin, _BaseCascade):
    """A window-based early-exit cascade of classifiers (Xia & Bouganis, 2023).

    Stages are the members, cheapest first. Stage ``k`` predicts the mean
    of the probabilities of members ``1..k`` (outputs already computed are
    reused). At every stage but the last, a row exits when its confidence
    lies outside a window around the operating threshold of that stage;
    the window and the threshold are set on validation rows. Rows near the
    decision boundary go on; confident rows and hopeless ones leave early.

    Parameters
    ----------
    estimators : list of (str, estimator) or None, default=None
        Classifiers with ``predict_proba`` (``'drop'`` leaves one out),
        cheapest first unless ``costs`` orders them. ``None``: a linear
        model, HistGradientBoosting and a deep ensemble, in that order (the
        members of :func:`~skens.ensemble.default_pool`).
    cv : 'prefit' or float, default=0.3
        ``'prefit'``: the estimators are fitted; :meth:`fit` takes
        validation rows and only sets the cascade. A float: the share of
        the rows held out (stratified) to set the cascade; clones of the
        estimators are fitted on the rest.
    costs : array-like of shape (n_estimators,), 'measured' or None, default=None
        The cost of evaluating each estimator (any unit); the stages are
        ordered by it, cheapest first (stable). ``'measured'``: the seconds
        per row of ``predict_proba`` on the validation rows (the order may
        then change from fit to fit). ``None``: the stages keep the order
        given (cheapest first), and ``costs_`` holds the measured seconds.
    exit_score : {'msp', 'entropy', 'energy', 'max_logit'}, default='msp'
        The confidence the rule reads (:func:`exit_confidence`). ``'energy'``
        and ``'max_logit'`` need a ``decision_function`` on every estimator;
        the stage's logits are the mean of its members'.
    operating_point : {'coverage', 'risk'}, default='coverage'
        What the threshold of each stage is set for (see
        :func:`operating_threshold`).
    operating_value : float, default=0.8
        The coverage (or risk) aimed at.
    window : float, default=0.1
        Half-width of the window, as a share of the validation rows: with
        0.1, about 20% of the validation rows go on at each stage. ``>= 1``:
        every row goes through every stage (the full ensemble).
    strategy : {'window', 'threshold'}, default='window'
        ``'threshold'``: the single-threshold baseline, a row exits when its
        confidence is above the stage's threshold.
    n_jobs : int, default=None
        The stages' estimators fitted in parallel with joblib (under the
        active backend: local processes, or Dask or Ray inside
        ``joblib.parallel_config(backend=...)``); ``None`` means 1.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split and the default members.

    Attributes
    ----------
    estimators_ : list of estimator
        The stages' estimators, cheapest first.
    stage_names_ : list of str
        Their names.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    costs_ : ndarray of shape (n_stages,)
        The cost of each stage's estimator.
    thresholds_ : ndarray of shape (n_stages,)
        The operating threshold of each stage (NaN for the last).
    windows_ : ndarray of shape (n_stages, 2)
        ``[low, high]`` of each stage (``[-inf, inf]`` for the last: every
        row that reaches it exits).
    exit_rate_ : ndarray of shape (n_stages,)
        The share of the validation rows that exit at each stage.
    expected_cost_ : float
        The mean cost per validation row: each stage's cost times the share
        of rows that reach it.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, for DataFrame input.

    See Also
    --------
    skens.ensemble.EnsembleSelectionClassifier : A weighted ensemble of all members.

    References
    ----------
    G. Xia and C.-S. Bouganis, "Window-Based Early-Exit Cascades for
    Uncertainty Estimation: When Deep Ensembles are More Efficient than
    Single Models", ICCV 2023.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skens.ensemble import CascadeClassifier
    >>> X, y = make_classification(n_samples=600, random_state=0)
    >>> cascade = CascadeClassifier(
    ...     [("linear", LogisticRegression()),
    ...      ("boosting", HistGradientBoostingClassifier(max_iter=20))],
    ...     costs=[1, 10], random_state=0).fit(X, y)
    >>> cascade.exit_rate_.round(2).tolist()
    [0.8, 0.2]
    >>> cascade.predict_stage(X[:5]).tolist()
    [0, 0, 1, 0, 0]
    """
    _parameter_constraints = {
        **_BaseCascade._parameter_constraints,
        "exit_score": [StrOptions(set(EXIT_SCORES))],
        "operating_point": [StrOptions({"coverage", "risk"})],
    }
    _task = "classification"

    def __init__(
        self,
        estimators=None,
        *,
        cv=0.3,
        costs=None,
        exit_score="msp",
        operating_point="coverage",
        operating_value=0.8,
        window=0.1,
        strategy="window",
        n_jobs=None,
        random_state=None,
    ):
        self.estimators = estimators
        self.cv = cv
        self.costs = costs
        self.exit_score = exit_score
        self.operating_point = operating_point
        self.operating_value = operating_value
        self.window = window
        self.strategy = strategy
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _check_member(self, name, est):
        if not (is_classifier(est) and hasattr(est, "predict_proba")):
            raise TypeError(
                f"CascadeClassifier: estimator {name!r} ({type(est).__name__}) must be a "
                "classifier with predict_proba (wrap it in "
                "sklearn.calibration.CalibratedClassifierCV to get probabilities)."
            )
        if self._uses_logits() and not hasattr(est, "decision_function"):
            raise TypeError(
                f"exit_score={self.exit_score!r} needs logits, but estimator {name!r} "
                f"({type(est).__name__}) has no decision_function; use 'msp' or 'entropy'."
            )

    def _check_prefit(self, name, est):
        unknown = set(np.asarray(est.classes_).tolist()) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(
                f"Prefit estimator {name!r} predicts classes {sorted(unknown)} absent from y."
            )

    def _uses_logits(self):
        return self.exit_score in ("energy", "max_logit")

    def _outputs(self, estimator, X):
        """Probabilities with one column per class of ``classes_`` (and logits)."""
        columns = self._label_encoder.transform(np.asarray(estimator.classes_))
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        out = np.zeros((proba.shape[0], len(self.classes_)))
        out[:, columns] = proba
        out /= np.clip(out.sum(axis=1, keepdims=True), _EPS, None)
        if not self._uses_logits():
            return (out,)
        z = np.asarray(estimator.decision_function(X), dtype=np.float64)
        if z.ndim == 1:  # binary: the logit of the second class against the first
            z = np.column_stack([np.zeros_like(z), z])
        logits = np.full((z.shape[0], len(self.classes_)), -np.inf)
        logits[:, columns] = z
        return out, logits

    def _stage(self, sums, k):
        proba = sums[0] / (k + 1)
        logits = sums[1] / (k + 1) if len(sums) > 1 else None
        return exit_confidence(proba, logits, score=self.exit_score), proba

    def _correct(self, prediction, y):
        return prediction.argmax(axis=1) == self._label_encoder.transform(y)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Set the cascade on validation rows (fitting the members first unless prefit).

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Validation rows with ``cv='prefit'``; else the training rows, of
            which a ``cv`` share is held out.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : CascadeClassifier
            The fitted cascade.
        """
        X = self._check_X(X, reset=True)
        y = _check_classification_target(self, y)
        check_consistent_length(X, y)
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                "CascadeClassifier needs samples of at least 2 classes, but the data contains "
                f"only one class: {self.classes_[0]!r}."
            )
        return self._fit_cascade(X, y)

    def predict_proba(self, X):
        """Class probabilities of the stage each row exits at.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows to predict.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The mean of the probabilities of the members up to the exit stage.
        """
        return self._run(X)[0]

    def predict(self, X):
        """Class labels of the stage each row exits at.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The most probable class of the exit stage.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def predict_uncertainty(self, X):
        """Entropy decomposition of the members evaluated for each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows to predict.

        Returns
        -------
        result : Bunch
            ``total``, ``aleatoric`` and ``epistemic`` (each of shape
            (n_samples,)) of the members up to each row's exit stage (see
            :func:`skens.metrics.entropy_decomposition`; a row that exits at
            the first stage has no epistemic part), and ``stage``.
        """
        _, stage, member_proba = self._run(X, members=True)
        member_proba = np.stack(member_proba)
        result = {part: np.zeros(len(stage)) for part in ("total", "aleatoric", "epistemic")}
        for k in np.unique(stage):
            rows = np.flatnonzero(stage == k)
            parts = entropy_decomposition(member_proba[: k + 1, rows])
            for part in result:
                result[part][rows] = parts[part]
        return Bunch(**result, stage=stage)


class CascadeRegressor(RegressorMixin, _BaseCascade):
    """A window-based early-exit cascade of regressors.

    The regression analogue of :class:`CascadeClassifier`. Stage ``k``
    predicts the uniform mixture of the Gaussians of members ``1..k`` (a
    member with ``predict(X, return_std=True)`` gives a Gaussian; any other
    regressor a point, of zero variance); its mean and standard deviation
    are those of the mixture. The confidence a row is judged by is minus the
    stage's predictive standard deviation (the width of a central interval
    of a Gaussian is proportional to it, so an interval width gives the same
    cascade). The operating threshold of each stage accepts a share of the
    validation rows (``operating_value``, the coverage): there is no error
    rate to aim at in regression. A row exits when its confidence lies
    outside the window around that threshold: clearly certain rows and
    clearly uncertain ones leave early.

    Parameters
    ----------
    estimators : list of (str, estimator) or None, default=None
        Regressors (``'drop'`` leaves one out). ``None``: a linear model,
        HistGradientBoosting and a deep ensemble.
    cv : 'prefit' or float, default=0.3
        ``'prefit'``: the estimators are fitted and :meth:`fit` takes
        validation rows; a float: the share of the rows held out to set the
        cascade, clones of the estimators being fitted on the rest.
    costs : array-like of shape (n_estimators,), 'measured' or None, default=None
        The cost of each estimator; the stages are ordered by it (stable).
        ``'measured'``: the seconds per row of its prediction. ``None``: the
        stages keep the order given, ``costs_`` holds the measured seconds.
    operating_point : {'coverage'}, default='coverage'
        The threshold of each stage accepts ``operating_value`` of the rows.
    operating_value : float, default=0.8
        The coverage aimed at.
    window : float, default=0.1
        Half-width of the window, as a share of the validation rows; ``>= 1``:
        the full ensemble.
    strategy : {'window', 'threshold'}, default='window'
        ``'threshold'``: exit when the stage is confident enough (std below
        the threshold).
    n_jobs : int, default=None
        The stages' estimators fitted in parallel with joblib (under the
        active backend: local processes, or Dask or Ray inside
        ``joblib.parallel_config(backend=...)``); ``None`` means 1.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split and the default members.

    Attributes
    ----------
    estimators_ : list of estimator
        The stages' estimators, cheapest first.
    stage_names_ : list of str
        Their names.
    costs_ : ndarray of shape (n_stages,)
        The cost of each stage's estimator.
    thresholds_ : ndarray of shape (n_stages,)
        The operating threshold (minus a standard deviation) of each stage
        (NaN for the last).
    windows_ : ndarray of shape (n_stages, 2)
        ``[low, high]`` of each stage.
    exit_rate_ : ndarray of shape (n_stages,)
        The share of the validation rows that exit at each stage.
    expected_cost_ : float
        The mean cost per validation row.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, for DataFrame input.

    See Also
    --------
    CascadeClassifier : The classification cascade.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.ensemble import HistGradientBoostingRegressor
    >>> from sklearn.linear_model import BayesianRidge
    >>> from skens.ensemble import CascadeRegressor
    >>> X, y = make_regression(n_samples=600, noise=10, random_state=0)
    >>> cascade = CascadeRegressor(
    ...     [("bayes", BayesianRidge()),
    ...      ("boosting", HistGradientBoostingRegressor(max_iter=20))],
    ...     costs=[1, 10], random_state=0).fit(X, y)
    >>> mean, std = cascade.predict(X[:3], return_std=True)
    >>> mean.shape, std.shape
    ((3,), (3,))
    """

    _parameter_constraints = {
        **_BaseCascade._parameter_constraints,
        "operating_point": [StrOptions({"coverage"})],
    }
    _task = "regression"
    # Under metadata routing, a Pipeline ending here passes predict's return_std on
    # (the skens scorers ask for it) without a set_predict_request call.
    __metadata_request__predict = {"return_std": True}

    def __init__(
        self,
        estimators=None,
        *,
        cv=0.3,
        costs=None,
        operating_point="coverage",
        operating_value=0.8,
        window=0.1,
        strategy="window",
        n_jobs=None,
        random_state=None,
    ):
        self.estimators = estimators
        self.cv = cv
        self.costs = costs
        self.operating_point = operating_point
        self.operating_value = operating_value
        self.window = window
        self.strategy = strategy
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _check_member(self, name, est):
        if not (hasattr(est, "fit") and hasattr(est, "predict")) or is_classifier(est):
            raise TypeError(
                f"CascadeRegressor: estimator {name!r} ({type(est).__name__}) must be a "
                "regressor with fit and predict."
            )

    def _outputs(self, estimator, X):
        """The member's mean and second moment (variance + mean²)."""
        if _predicts_std(estimator):
            mean, std = estimator.predict(X, return_std=True)
            mean, std = (np.asarray(a, dtype=np.float64) for a in (mean, std))
        else:
            mean = np.asarray(estimator.predict(X), dtype=np.float64)
            std = np.zeros_like(mean)
        if mean.ndim != 1:
            raise ValueError(
                f"CascadeRegressor supports one target; a member predicts shape {mean.shape}."
            )
        return mean, std**2 + mean**2

    def _stage(self, sums, k):
        mean = sums[0] / (k + 1)
        variance = np.clip(sums[1] / (k + 1) - mean**2, 0.0, None)
        std = np.sqrt(variance)
        return -std, np.column_stack([mean, std])

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Set the cascade on validation rows (fitting the members first unless prefit).

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Validation rows with ``cv='prefit'``; else the training rows, of
            which a ``cv`` share is held out.
        y : array-like of shape (n_samples,)
            Targets.

        Returns
        -------
        self : CascadeRegressor
            The fitted cascade.
        """
        X = self._check_X(X, reset=True)
        y = _check_regression_target(self, y, single_output=True)
        check_consistent_length(X, y)
        return self._fit_cascade(X, y)

    def predict(self, X, return_std=False):
        """The exit stage's mixture mean (and standard deviation) of each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The rows to predict.
        return_std : bool, default=False
            Also return the standard deviation of the exit stage's mixture.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
            The mean of the members up to the exit stage.
        y_std : ndarray of shape (n_samples,)
            Their mixture's standard deviation; only with ``return_std``.
        """
        prediction = self._run(X)[0]
        if return_std:
            return prediction[:, 0], prediction[:, 1]
        return prediction[:, 0]
