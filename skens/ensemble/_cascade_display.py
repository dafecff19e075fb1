"""The cost–risk trade-off of an early-exit cascade, as a scikit-learn style Display."""

import numpy as np

from ..metrics import aurc_loss
from ..metrics._plot import _new_axes
from ..utils._compat import check_matplotlib_support

__all__ = ["CascadeCostDisplay"]


class CascadeCostDisplay:
    """AURC against the mean cost per row, for a cascade at several windows.

    Each point is one cascade: its mean cost per row (a share of the cost of
    evaluating every stage) and the area under its risk–coverage curve on
    the same rows. The first stage alone and the full ensemble are the two
    ends; a good cascade reaches the full ensemble's AURC at a fraction of
    its cost. Several cascades can share one axis: pass
    ``ax=display.ax_`` to the next call.

    Parameters
    ----------
    cost : ndarray of shape (n_points,)
        Mean cost per row, as a share of the full cascade's cost.
    risk : ndarray of shape (n_points,)
        The AURC of each point.
    labels : sequence of str, default=None
        A label per point (e.g. the window), written beside it.
    estimator_name : str, default=None
        Name in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    skens.ensemble.CascadeClassifier : The cascade.
    skens.metrics.RiskCoverageDisplay : The risk–coverage curve of one model.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skens.ensemble import CascadeCostDisplay
    >>> disp = CascadeCostDisplay.from_predictions([0.2, 0.4, 1.0], [0.05, 0.04, 0.04],
    ...                                           labels=["0", "0.1", "full"], name="cascade")
    >>> disp.ax_.get_ylabel()
    'AURC'
    """

    def __init__(self, cost, risk, *, labels=None, estimator_name=None):
        self.cost = cost
        self.risk = risk
        self.labels = labels
        self.estimator_name = estimator_name

    def plot(self, *, ax=None, name=None, **kwargs):
        """Draw the points, joined in order of cost.

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
        display : CascadeCostDisplay
            This display, with the drawn artists stored on it.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        self.ax_ = ax = _new_axes(ax)
        self.figure_ = ax.figure
        name = self.estimator_name if name is None else name
        order = np.argsort(self.cost, kind="stable")
        cost, risk = np.asarray(self.cost)[order], np.asarray(self.risk)[order]
        self.line_ = ax.plot(cost, risk, **{"marker": "o", "label": name, **kwargs})[0]
        if self.labels is not None:
            for i in order:
                ax.annotate(str(self.labels[i]), (self.cost[i], self.risk[i]),
                            textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set(xlabel="Mean cost per row (share of the full cascade)", ylabel="AURC")
        ax.set_xlim(0, 1.05)
        if name:
            ax.legend(loc="upper right")
        return self

    @classmethod
    def from_predictions(cls, cost, risk, *, labels=None, name=None, ax=None, **kwargs):
        """Draw given costs and risks.

        Parameters
        ----------
        cost : array-like of shape (n_points,)
            Mean cost per row, as a share of the full cost.
        risk : array-like of shape (n_points,)
            AURC (or any risk) of each point.
        labels : sequence of str, default=None
            A label per point.
        name : str, default=None
            Name in the legend.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot`.

        Returns
        -------
        display : CascadeCostDisplay
            A new display, drawn.
        """
        check_matplotlib_support(f"{cls.__name__}.from_predictions")
        display = cls(np.asarray(cost, dtype=np.float64), np.asarray(risk, dtype=np.float64),
                      labels=labels, estimator_name=name)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_cascade(cls, cascade, X_val, y_val, X, y, *, windows=(0.0, 0.05, 0.1, 0.2, 0.3, 1.0),
                     name=None, ax=None, **kwargs):
        """Set the fitted cascade's stages at several windows and measure each on ``X, y``.

        Parameters
        ----------
        cascade : CascadeClassifier
            A fitted cascade; its fitted stages are reused (``cv='prefit'``)
            with its costs and other settings, only the window changes.
        X_val, y_val : array-like
            The rows that set each cascade's windows.
        X, y : array-like
            The rows each cascade is measured on.
        windows : sequence of float, default=(0.0, 0.05, 0.1, 0.2, 0.3, 1.0)
            The windows (1.0: the full ensemble).
        name : str, default=None
            Name in the legend; defaults to ``'window'`` or ``'threshold'``
            (the cascade's strategy).
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs : dict
            Passed to :func:`matplotlib.pyplot.plot`.

        Returns
        -------
        display : CascadeCostDisplay
            A new display, drawn.
        """
        from ._cascade import CascadeClassifier

        check_matplotlib_support(f"{cls.__name__}.from_cascade")
        params = {k: v for k, v in cascade.get_params(deep=False).items()
                  if k not in ("estimators", "cv", "costs", "window")}
        stages = list(zip(cascade.stage_names_, cascade.estimators_))
        total = float(np.sum(cascade.costs_))
        costs, risks = [], []
        for window in windows:
            fitted = CascadeClassifier(
                stages, cv="prefit", costs=cascade.costs_, window=window, **params
            ).fit(X_val, y_val)
            proba, stage = fitted._run(X)[:2]
            pred = fitted.classes_[proba.argmax(axis=1)]
            costs.append(float(np.cumsum(fitted.costs_)[stage].mean() / total))
            risks.append(aurc_loss(y, pred, proba.max(axis=1)))
        name = cascade.strategy if name is None else name
        return cls.from_predictions(
            costs, risks, labels=[f"{w:g}" for w in windows], name=name, ax=ax, **kwargs
        )
