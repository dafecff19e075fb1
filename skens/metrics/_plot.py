"""Displays for calibration, selective prediction and regression uncertainty.

They follow scikit-learn's Display pattern (``CalibrationDisplay``,
``RocCurveDisplay``): a display holds computed arrays, ``plot(ax=...)`` draws
them and stores ``ax_`` and ``figure_``, and the class methods
``from_estimator`` and ``from_predictions`` compute the arrays with the public
metric functions. matplotlib is imported only when something is drawn.
"""

import numpy as np
from scipy.special import ndtri
from sklearn.calibration import CalibrationDisplay

from ..utils._compat import check_matplotlib_support
from ._calibration import expected_calibration_error, reliability_curve
from ._regression import coverage_curve, interval_coverage_score
from ._selective import aurc_loss, risk_coverage_curve

__all__ = ["ReliabilityDisplay", "RiskCoverageDisplay", "RegressionUncertaintyDisplay"]


def _top_label_confidence(y_prob):
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim == 1:
        return np.maximum(y_prob, 1 - y_prob)
    return y_prob.max(axis=1)


def _new_axes(ax, n=1):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    _, ax = plt.subplots(1, n, figsize=(5 * n, 4)) if n > 1 else plt.subplots()
    return ax


class ReliabilityDisplay(CalibrationDisplay):
    """Top-label reliability diagram with the ECE in the legend.

    Extends :class:`sklearn.calibration.CalibrationDisplay` to multiclass
    problems: the x axis is the confidence (the largest predicted
    probability), the y axis the accuracy of the predictions in each bin. A
    histogram of the confidences is drawn on a second y axis. Create it with
    :meth:`from_estimator` or :meth:`from_predictions`.

    Parameters
    ----------
    accuracy : ndarray of shape (n_bins,)
        Accuracy in each non-empty bin.
    confidence : ndarray of shape (n_bins,)
        Mean confidence in each non-empty bin.
    y_confidence : ndarray of shape (n_samples,)
        Top-label confidence of each sample, for the histogram.
    ece : float, default=None
        Expected calibration error, shown in the legend.
    estimator_name : str, default=None
        Name in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The reliability curve.
    hist_ax_ : matplotlib Axes or None
        The axes of the confidence histogram.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the curve.

    See Also
    --------
    skens.metrics.reliability_curve : The binned accuracies and confidences.
    skens.metrics.expected_calibration_error : The ECE.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skens.metrics import ReliabilityDisplay
    >>> disp = ReliabilityDisplay.from_predictions(
    ...     [0, 1, 1, 0, 1], [[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4], [0.1, 0.9]],
    ...     n_bins=5, name="model")
    >>> disp.ax_.get_legend_handles_labels()[1][-1]
    'model (ECE = 0.280)'
    """

    def __init__(self, accuracy, confidence, y_confidence, *, ece=None, estimator_name=None):
        super().__init__(accuracy, confidence, y_confidence, estimator_name=estimator_name)
        self.accuracy = accuracy
        self.confidence = confidence
        self.y_confidence = y_confidence
        self.ece = ece

    def plot(self, *, ax=None, name=None, ref_line=True, histogram=True, **kwargs):
        """Draw the reliability curve (and the confidence histogram).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Name in the legend; defaults to ``estimator_name``.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration.
        histogram : bool, default=True
            Draw the histogram of confidences on a second y axis.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot`.

        Returns
        -------
        display : ReliabilityDisplay
            This display, with the drawn artists stored on it.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        name = self.estimator_name if name is None else name
        label = name
        if self.ece is not None:
            label = f"{name} (ECE = {self.ece:.3f})" if name else f"ECE = {self.ece:.3f}"
        super().plot(ax=ax, name=label, ref_line=ref_line, **kwargs)
        self.ax_.set(
            xlabel="Confidence (largest predicted probability)",
            ylabel="Accuracy",
            xlim=(-0.02, 1.02),
            ylim=(-0.02, 1.02),
        )
        self.hist_ax_ = None
        if histogram:
            self.hist_ax_ = self.ax_.twinx()
            self.hist_ax_.hist(
                self.y_confidence,
                bins=20,
                range=(0, 1),
                weights=np.full(len(self.y_confidence), 1 / max(len(self.y_confidence), 1)),
                color=self.line_.get_color(),
                alpha=0.2,
            )
            self.hist_ax_.set_ylabel("Share of samples")
            self.hist_ax_.set_ylim(0, 1)
        self.ax_.legend(loc="upper left")
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_prob,
        *,
        n_bins=15,
        strategy="uniform",
        labels=None,
        sample_weight=None,
        name=None,
        ref_line=True,
        histogram=True,
        ax=None,
        **kwargs,
    ):
        """Reliability diagram of predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_prob : array-like of shape (n_samples, n_classes) or (n_samples,)
            Predicted probabilities, or positive-class probabilities of a
            binary problem.
        n_bins : int, default=15
            Number of bins.
        strategy : {'uniform', 'quantile'}, default='uniform'
            Equal-width bins, or bins with equal numbers of samples.
        labels : array-like, default=None
            Class labels in column order (see
            :func:`skens.metrics.expected_calibration_error`).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        name : str, default=None
            Name in the legend.
        ref_line : bool, default=True
            Draw the diagonal.
        histogram : bool, default=True
            Draw the confidence histogram.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot`.

        Returns
        -------
        display : ReliabilityDisplay
            A new display, drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        common = dict(n_bins=n_bins, strategy=strategy, labels=labels, sample_weight=sample_weight)
        accuracy, confidence, _, _ = reliability_curve(y_true, y_prob, **common)
        ece = expected_calibration_error(y_true, y_prob, **common)
        display = cls(
            accuracy, confidence, _top_label_confidence(y_prob), ece=ece, estimator_name=name
        )
        return display.plot(ax=ax, ref_line=ref_line, histogram=histogram, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, name=None, **kwargs):
        """Reliability diagram of a fitted classifier's ``predict_proba``.

        Parameters
        ----------
        estimator : fitted classifier
            Must have ``predict_proba`` and ``classes_``.
        X : array-like of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,)
            True labels.
        name : str, default=None
            Name in the legend; defaults to the estimator's class name.
        **kwargs : dict
            Passed to :meth:`from_predictions`.

        Returns
        -------
        display : ReliabilityDisplay
            A new display, drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y, estimator.predict_proba(X), labels=estimator.classes_, name=name, **kwargs
        )


def _confidence_from_estimator(estimator, X, confidence):
    """Predictions and a confidence score of a fitted classifier."""
    if not (callable(confidence) or confidence in ("max_proba", "negative_entropy")):
        raise ValueError(
            "confidence must be 'max_proba', 'negative_entropy' or a callable "
            f"(estimator, X) -> scores, got {confidence!r}."
        )
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    y_pred = estimator.classes_[np.argmax(proba, axis=1)]
    if callable(confidence):
        return y_pred, np.asarray(confidence(estimator, X))
    if confidence == "max_proba":
        return y_pred, proba.max(axis=1)
    if confidence == "negative_entropy":
        from scipy.special import entr

        return y_pred, -entr(proba).sum(axis=1)


class RiskCoverageDisplay:
    """Risk–coverage curve of a selective classifier.

    Accepting only the most confident predictions lowers the error rate
    (risk) at the cost of answering fewer samples (coverage). Several models
    can share one axis: pass ``ax=display.ax_`` to the next call.

    Parameters
    ----------
    coverage : ndarray of shape (n_thresholds,)
        Increasing coverage levels.
    risk : ndarray of shape (n_thresholds,)
        Error rate among the accepted samples.
    aurc : float, default=None
        Area under the curve, shown in the legend.
    estimator_name : str, default=None
        Name in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    skens.metrics.risk_coverage_curve : The curve.
    skens.metrics.aurc_loss : Its area.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skens.metrics import RiskCoverageDisplay
    >>> disp = RiskCoverageDisplay.from_predictions(
    ...     [0, 1, 1, 0], [0, 1, 0, 1], [0.9, 0.8, 0.7, 0.6], name="model")
    >>> disp.ax_.get_xlabel()
    'Coverage'
    """

    def __init__(self, coverage, risk, *, aurc=None, estimator_name=None):
        self.coverage = coverage
        self.risk = risk
        self.aurc = aurc
        self.estimator_name = estimator_name

    def plot(self, *, ax=None, name=None, **kwargs):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Name in the legend; defaults to ``estimator_name``.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot`.

        Returns
        -------
        display : RiskCoverageDisplay
            This display, with the drawn artists stored on it.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        self.ax_ = _new_axes(ax)
        self.figure_ = self.ax_.figure
        name = self.estimator_name if name is None else name
        label = name
        if self.aurc is not None:
            label = f"{name} (AURC = {self.aurc:.3f})" if name else f"AURC = {self.aurc:.3f}"
        kwargs = {"drawstyle": "steps-pre", "label": label, **kwargs}
        self.line_ = self.ax_.plot(self.coverage, self.risk, **kwargs)[0]
        self.ax_.set(xlabel="Coverage", ylabel="Risk (error rate among accepted)", xlim=(0, 1.02))
        self.ax_.set_ylim(bottom=0)
        if label:
            self.ax_.legend(loc="upper left")
        return self

    @classmethod
    def from_predictions(
        cls, y_true, y_pred, confidence, *, sample_weight=None, name=None, ax=None, **kwargs
    ):
        """Risk–coverage curve of predictions ranked by a confidence score.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_pred : array-like of shape (n_samples,)
            Predicted labels.
        confidence : array-like of shape (n_samples,)
            Confidence score; higher means more confident.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        name : str, default=None
            Name in the legend.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot`.

        Returns
        -------
        display : RiskCoverageDisplay
            A new display, drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        coverage, risk, _ = risk_coverage_curve(
            y_true, y_pred, confidence, sample_weight=sample_weight
        )
        aurc = aurc_loss(y_true, y_pred, confidence, sample_weight=sample_weight)
        display = cls(coverage, risk, aurc=aurc, estimator_name=name)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, confidence="max_proba", sample_weight=None, name=None, ax=None,
        **kwargs,
    ):
        """Risk–coverage curve of a fitted classifier.

        Parameters
        ----------
        estimator : fitted classifier
            Must have ``predict_proba`` and ``classes_``.
        X : array-like of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,)
            True labels.
        confidence : {'max_proba', 'negative_entropy'} or callable, default='max_proba'
            The score that ranks predictions: the largest probability, minus
            the predictive entropy, or ``confidence(estimator, X)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        name : str, default=None
            Name in the legend; defaults to the estimator's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot`.

        Returns
        -------
        display : RiskCoverageDisplay
            A new display, drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        y_pred, scores = _confidence_from_estimator(estimator, X, confidence)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y, y_pred, scores, sample_weight=sample_weight, name=name, ax=ax, **kwargs
        )


class RegressionUncertaintyDisplay:
    """Predictive intervals against the truth, and observed against nominal coverage.

    Two panels: on the left, predicted means with their central intervals at
    ``interval_level`` against the true values (a random subset of at most
    ``max_points`` samples); on the right, the coverage of the Gaussian
    central intervals observed at each nominal level — on the diagonal when
    the predicted standard deviations are calibrated.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,)
        True values.
    y_mean : ndarray of shape (n_samples,)
        Predicted means.
    y_std : ndarray of shape (n_samples,)
        Predicted standard deviations.
    levels : ndarray of shape (n_levels,)
        Nominal coverage levels.
    observed : ndarray of shape (n_levels,)
        Observed coverage at each level.
    interval_level : float, default=0.9
        Nominal level of the intervals drawn on the left panel.
    estimator_name : str, default=None
        Name in the legend.

    Attributes
    ----------
    ax_ : ndarray of two matplotlib Axes
        The intervals panel and the coverage panel.
    figure_ : matplotlib Figure

    See Also
    --------
    skens.metrics.coverage_curve : The coverage levels.
    skens.metrics.quantile_calibration_error : The mean gap to the diagonal.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skens.metrics import RegressionUncertaintyDisplay
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randn(100)
    >>> disp = RegressionUncertaintyDisplay.from_predictions(y, y + rng.randn(100), np.ones(100))
    >>> len(disp.ax_)
    2
    """

    def __init__(
        self, y_true, y_mean, y_std, levels, observed, *, interval_level=0.9, estimator_name=None
    ):
        self.y_true = y_true
        self.y_mean = y_mean
        self.y_std = y_std
        self.levels = levels
        self.observed = observed
        self.interval_level = interval_level
        self.estimator_name = estimator_name

    def plot(self, *, ax=None, name=None, max_points=200, random_state=0):
        """Draw both panels.

        Parameters
        ----------
        ax : sequence of two matplotlib Axes, default=None
            Axes for the intervals and the coverage panels; a new figure when
            None.
        name : str, default=None
            Name in the legend; defaults to ``estimator_name``.
        max_points : int, default=200
            Largest number of intervals drawn on the left panel.
        random_state : int, default=0
            Seeds the choice of the samples drawn.

        Returns
        -------
        display : RegressionUncertaintyDisplay
            This display, with the drawn artists stored on it.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        axes = _new_axes(ax, n=2)
        if len(axes) != 2:
            raise ValueError(f"ax must hold two Axes (intervals, coverage), got {len(axes)}.")
        self.ax_ = np.asarray(axes, dtype=object)
        self.figure_ = self.ax_[0].figure
        name = self.estimator_name if name is None else name
        half_width = ndtri(0.5 + self.interval_level / 2) * self.y_std
        covered = interval_coverage_score(
            self.y_true, self.y_mean - half_width, self.y_mean + half_width
        )
        rng = np.random.RandomState(random_state)
        shown = rng.permutation(len(self.y_true))[:max_points]
        left, right = self.ax_
        lo = min(np.min(self.y_true), np.min(self.y_mean - half_width))
        hi = max(np.max(self.y_true), np.max(self.y_mean + half_width))
        left.plot([lo, hi], [lo, hi], "k:", linewidth=1)
        self.errorbar_ = left.errorbar(
            self.y_true[shown], self.y_mean[shown], yerr=half_width[shown], fmt="o",
            markersize=3, alpha=0.6, elinewidth=1,
            label=f"{name + ': ' if name else ''}{self.interval_level:.0%} intervals cover "
            f"{covered:.1%}",
        )
        left.set(xlabel="True value", ylabel="Predicted mean and interval")
        left.legend(loc="upper left")
        right.plot([0, 1], [0, 1], "k:", linewidth=1, label="Perfectly calibrated")
        self.coverage_line_ = right.plot(self.levels, self.observed, "s-", label=name)[0]
        right.set(xlabel="Nominal coverage", ylabel="Observed coverage", xlim=(0, 1), ylim=(0, 1))
        right.legend(loc="upper left")
        return self

    @classmethod
    def from_predictions(
        cls, y_true, y_mean, y_std, *, levels=None, interval_level=0.9, sample_weight=None,
        name=None, ax=None, **kwargs,
    ):
        """Display of Gaussian predictions ``N(y_mean, y_std**2)``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True values.
        y_mean : array-like of shape (n_samples,)
            Predicted means.
        y_std : array-like of shape (n_samples,)
            Predicted standard deviations.
        levels : array-like, default=None
            Nominal levels of the coverage panel (see
            :func:`skens.metrics.coverage_curve`).
        interval_level : float, default=0.9
            Level of the intervals of the left panel, in (0, 1).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights of the coverage curve.
        name : str, default=None
            Name in the legends.
        ax : sequence of two matplotlib Axes, default=None
            Axes to draw on.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : RegressionUncertaintyDisplay
            A new display, drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        y_true, y_mean, y_std = (np.asarray(a, dtype=np.float64) for a in (y_true, y_mean, y_std))
        if y_true.ndim != 1:
            raise ValueError(
                "RegressionUncertaintyDisplay shows one output; pass 1-D arrays (select a "
                f"column of a multi-output prediction), got shape {y_true.shape}."
            )
        if not 0 < interval_level < 1:
            raise ValueError(f"interval_level must be in (0, 1), got {interval_level!r}.")
        levels, observed = coverage_curve(
            y_true, y_mean, y_std, levels=levels, sample_weight=sample_weight
        )
        display = cls(
            y_true, y_mean, y_std, levels, observed, interval_level=interval_level,
            estimator_name=name,
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, name=None, **kwargs):
        """Display of a fitted regressor that answers ``predict(X, return_std=True)``.

        Parameters
        ----------
        estimator : fitted regressor
            For example a :class:`skens.DeepEnsembleRegressor`, or a
            :class:`sklearn.gaussian_process.GaussianProcessRegressor`.
        X : array-like of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,)
            True values.
        name : str, default=None
            Name in the legends; defaults to the estimator's class name.
        **kwargs : dict
            Passed to :meth:`from_predictions`.

        Returns
        -------
        display : RegressionUncertaintyDisplay
            A new display, drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        mean, std = estimator.predict(X, return_std=True)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(y, mean, std, name=name, **kwargs)
