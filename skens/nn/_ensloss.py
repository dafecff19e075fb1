"""EnsLoss: stochastic calibrated loss ensembles for binary classification (torch only).

EnsLoss (Dai, ICML 2025) never writes a loss down. The effect of a margin
loss ``phi`` on a gradient step is only its derivative ``phi'(z)`` at each
margin ``z = y * f(x)`` (``y`` in {-1, +1}), so every mini-batch draws fresh
derivatives that a *convex* and *classification-calibrated* loss could have
(Bartlett et al.: a convex ``phi`` is calibrated iff ``phi'(0) < 0``), and
the batch loss is ``mean(stopgrad(g) * z)``, whose gradient with respect to
each score is ``g * y / batch``. Averaged over the draws, training minimises
an ensemble of calibrated losses.

The draw follows the official code (``statmlben/ensLoss``, ``losses.py``,
class ``ensLoss``), step by step:

1. ``u ~ N(0, 1)``, one per margin, and ``g = -BC^{-1}(u)``, the inverse
   Box-Cox transform: ``-exp(u)`` for ``lam = 0`` (the default and the
   only value the paper's experiments use without a ``period``), else
   ``-max(1 + lam * u, 0) ** (1 / lam)``;
2. sort ``g`` and clip it at -1 (``g = max(g, -1)``);
3. give the most negative derivative to the smallest margin
   (``g[argsort(z)] = sort(g)``): ``g`` is non-decreasing in ``z``, the
   derivative of a convex loss;
4. where ``z > 1``, divide by ``z`` (``|g| <= 1 / z``: a tail that flattens);
5. subtract ``1e-6``, so that every derivative, ``phi'(0)`` included, is
   strictly negative (calibration). The clip at -1 comes *before* this
   shift, so ``|g| <= 1 + 1e-6`` and ``|g| <= 1 / z + 1e-6`` for ``z > 1``.

Deviations from the official code, none of which changes the rule: the
normal draws come from a ``torch.Generator`` on the margins' device (the
official code draws on the CPU from torch's global generator, converts with
``np.maximum`` and moves the result to a hard-coded ``"cuda"``); ties between
margins are ranked by a stable sort (the official sort is unstable); sample
weights are supported (the official loss has none); and margins laid out
``(batch, n_members)`` get one independent draw per member.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._losses import _weighted_mean
from ._mlp import EnsembleMLP
from ._tasks import EnsembleTask, _normalized_weight

__all__ = ["EnsLoss", "EnsLossTask", "ensloss_derivatives", "platt_slope"]

# Subtracted from every derivative, as in the official code: phi'(0) < 0.
_CALIBRATION_SHIFT = 1e-6


def _inverse_box_cox(u, lam):
    """The inverse Box-Cox transform of ``u`` (``exp`` for ``lam = 0``)."""
    if lam == 0.0:
        return torch.exp(u)
    return torch.clamp(1.0 + lam * u, min=0.0) ** (1.0 / lam)


def ensloss_derivatives(margins, generator=None, *, lam=0.0, dim=None):
    """Draw EnsLoss' random calibrated loss-derivatives for a batch of margins.

    Follows the official code: ``g = -exp(u)`` with ``u ~ N(0, 1)`` (the
    inverse Box-Cox transform with ``lam``), clipped at -1, sorted so that
    smaller margins get more negative derivatives (``g`` is non-decreasing
    in the margin: a convex loss), divided by the margin where it exceeds 1,
    and shifted by ``-1e-6`` (every derivative negative: a calibrated loss).
    See the module docstring for the steps and the deviations.

    Parameters
    ----------
    margins : tensor
        Margins ``z = y * f(x)`` with ``y`` in {-1, +1}; any shape. They are
        read without gradient.
    generator : torch.Generator, default=None
        Source of the normal draws, on the margins' device; ``None`` draws
        from torch's global generator (:class:`EnsLoss` always passes one).
    lam : float, default=0.0
        Box-Cox parameter of the derivatives' distribution; ``0`` gives
        ``-exp(u)``, the paper's choice.
    dim : int, default=None
        ``None``: all margins form one batch, ranked together. An int: each
        slice along ``dim`` is a batch of its own, with its own draws (e.g.
        ``dim=0`` for margins ``(batch, n_members)``: one draw per member).

    Returns
    -------
    derivatives : tensor
        The derivatives, of the margins' shape and dtype, without gradient;
        all in ``[-1 - 1e-6, 0)``.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import ensloss_derivatives
    >>> z = torch.tensor([-2.0, 0.0, 0.5, 3.0])
    >>> g = ensloss_derivatives(z, torch.Generator().manual_seed(0))
    >>> bool((g < 0).all()), bool((g >= -1 - 1e-6).all())
    (True, True)
    >>> bool((g.diff() >= 0).all())  # non-decreasing in the margin: convex
    True
    >>> ensloss_derivatives(torch.zeros(5, 3), dim=0).shape  # one draw per column
    torch.Size([5, 3])
    """
    z = margins.detach()
    out_dtype = z.dtype
    work_dtype = z.dtype if z.dtype in (torch.float32, torch.float64) else torch.float32
    z = z.to(work_dtype)
    if dim is None:
        rows = z.reshape(1, -1)
    else:
        moved = z.movedim(dim, -1)
        rows = moved.reshape(-1, moved.shape[-1])
    u = torch.randn(rows.shape, generator=generator, device=z.device, dtype=work_dtype)
    g = torch.sort(-_inverse_box_cox(u, lam), dim=-1).values.clamp_min(-1.0)
    order = torch.argsort(rows, dim=-1, stable=True)
    g = torch.empty_like(rows).scatter_(-1, order, g)
    # Divide by the margin where it exceeds 1 (dividing by 1 elsewhere changes nothing).
    g = g / rows.clamp_min(1.0) - _CALIBRATION_SHIFT
    if dim is None:
        g = g.reshape(z.shape)
    else:
        g = g.reshape(moved.shape).movedim(-1, dim)
    return g.to(out_dtype)


# The calibration slope is searched within these factors of 1 / RMS(score), in
# log space, by golden-section search (the log loss is convex in the slope).
_SLOPE_RANGE = (1e-4, 1e4)
_GOLDEN_STEPS = 60


def platt_slope(scores, target, weight=None):
    """Platt scaling without intercept: the slope ``a > 0`` of ``sigmoid(a * scores)``.

    Minimises the (weighted) log loss of ``sigmoid(a * scores)`` against
    Platt's smoothed targets, ``(N+ + 1) / (N+ + 2)`` for the positive rows
    and ``1 / (N- + 2)`` for the negative ones, so that scores separating
    the classes still get a finite slope. The intercept is fixed at 0, so
    that probability 1/2 stays at score 0, the threshold a calibrated margin
    loss makes consistent. The slope is searched by golden section in log
    space within ``[1e-4, 1e4] / RMS(scores)``.

    Parameters
    ----------
    scores : tensor of shape (n,)
        Scores, positive for the positive class.
    target : tensor of shape (n,)
        Binary targets; positive values are the positive class.
    weight : tensor of shape (n,), optional
        Non-negative sample weights.

    Returns
    -------
    slope : float
        The fitted slope, positive.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import platt_slope
    >>> scores = torch.tensor([-2.0, -1.0, 1.0, 3.0, -0.5, 0.5])
    >>> target = torch.tensor([0, 0, 1, 1, 1, 0])
    >>> round(platt_slope(scores, target), 3) > 0
    True
    """
    with torch.no_grad():
        scores = scores.detach().reshape(-1).double()
        positive = target.reshape(-1).to(scores.device) > 0
        weight = (
            torch.ones_like(scores) if weight is None
            else weight.detach().reshape(-1).to(scores)
        )
        n_pos = positive.sum().double()
        n_neg = (~positive).sum().double()
        smooth = torch.where(positive, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
        total = weight.sum().clamp_min(1e-300)
        rms = torch.sqrt((weight * scores**2).sum() / total)
        unit = float(1 / rms) if float(rms) > 0 else 1.0

        def loss(log_slope):
            x = math.exp(log_slope) * scores
            values = smooth * F.softplus(-x) + (1 - smooth) * F.softplus(x)
            return float((weight * values).sum() / total)

        low, high = (math.log(unit * factor) for factor in _SLOPE_RANGE)
        ratio = (math.sqrt(5) - 1) / 2
        c, d = high - ratio * (high - low), low + ratio * (high - low)
        loss_c, loss_d = loss(c), loss(d)
        for _ in range(_GOLDEN_STEPS):
            if loss_c <= loss_d:
                high, d, loss_d = d, c, loss_c
                c = high - ratio * (high - low)
                loss_c = loss(c)
            else:
                low, c, loss_c = c, d, loss_d
                d = low + ratio * (high - low)
                loss_d = loss(d)
        return math.exp((low + high) / 2)


def _signed_targets(target, dtype):
    """Targets as -1.0 / +1.0: positive values (1, True, +1) are the positive class."""
    return torch.where(target > 0, 1.0, -1.0).to(dtype)


class _SeededDraws:
    """A ``torch.Generator`` made on first use, on the margins' device, from ``seed``.

    The generator is not pickled (``__getstate__`` drops it): an unpickled
    object starts a new stream from ``seed``. Moving to another device also
    starts one there.
    """

    def _generator_for(self, device):
        generator = self.__dict__.get("_generator")
        if generator is None or generator.device != device:
            generator = torch.Generator(device=device)
            if self.seed is None:
                generator.seed()  # fresh entropy, not torch's global generator
            else:
                generator.manual_seed(int(self.seed))
            self.__dict__["_generator"] = generator
        return generator

    def __getstate__(self):
        state = dict(super().__getstate__() or {})
        state.pop("_generator", None)
        return state

    def __setstate__(self, state):
        parent = getattr(super(), "__setstate__", None)
        if parent is None:
            self.__dict__.update(state)
        else:  # torch.nn.Module's
            parent(state)


class EnsLoss(_SeededDraws, nn.Module):
    """The EnsLoss criterion for a binary network with one output (a score).

    Each call draws calibrated loss-derivatives ``g`` for the batch's margins
    ``z = y * f(x)`` (:func:`ensloss_derivatives`) and returns
    ``mean(stopgrad(g) * z)``, so that the gradient with respect to each score
    ``f(x_i)`` is ``g_i * y_i / batch``: a step of a random convex,
    classification-calibrated loss. The draws come from a ``torch.Generator``
    created on the scores' device at the first call, seeded by ``seed``;
    torch's global generator is never used.

    The loss value is not a loss to monitor: it is negative, changes with
    every draw and falls as margins grow. Judge the network by accuracy
    (or by log loss after calibrating its scores).

    Parameters
    ----------
    seed : int, default=None
        Seed of the derivatives' generator; ``None`` seeds it from fresh
        entropy (not reproducible). After pickling, or on another device,
        the generator starts over from ``seed``.
    lam : float, default=0.0
        Box-Cox parameter of the derivatives' distribution (0: ``-exp(u)``,
        the paper's choice).

    See Also
    --------
    ensloss_derivatives : The derivative draws.
    EnsLossTask : The same loss for every member of a vectorized ensemble.

    Notes
    -----
    Works as the criterion of skorch's ``NeuralNetBinaryClassifier``: skorch
    reshapes the module's ``(batch, 1)`` output to ``(batch,)`` and passes the
    targets as given, float ``(batch,)`` (targets may also be long, bool, or
    ``(batch, 1)``). skorch picks the sigmoid for ``predict_proba`` only for
    its own ``BCEWithLogitsLoss``: pass ``predict_nonlinearity`` a function
    of the scores returning the two columns ``[1 - sigmoid, sigmoid]`` (as in
    the example). Those are not calibrated probabilities, but their argmax
    is the sign of the score, which is what EnsLoss makes consistent.

    References
    ----------
    .. [1] B. Dai, "EnsLoss: Stochastic Calibrated Loss Ensembles for
       Preventing Overfitting in Classification", ICML 2025.
    .. [2] P. Bartlett, M. Jordan and J. McAuliffe, "Convexity,
       Classification, and Risk Bounds", JASA 101 (2006).

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsLoss
    >>> criterion = EnsLoss(seed=0)
    >>> scores = torch.tensor([2.0, -0.5, 0.3], requires_grad=True)
    >>> loss = criterion(scores, torch.tensor([1.0, 1.0, 0.0]))
    >>> loss.backward()
    >>> scores.grad[1] < 0  # a misclassified positive: the step raises its score
    tensor(True)

    With skorch (a linear model on a separable problem):

    >>> import numpy as np
    >>> from skorch import NeuralNetBinaryClassifier
    >>> X = np.random.RandomState(0).normal(size=(200, 2)).astype(np.float32)
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(np.float32)
    >>> def sigmoid_2d(scores):  # skorch's 'auto' knows only BCEWithLogitsLoss
    ...     p = torch.sigmoid(scores)
    ...     return torch.stack([1 - p, p], dim=1)
    >>> net = NeuralNetBinaryClassifier(
    ...     torch.nn.Linear(2, 1), criterion=EnsLoss, criterion__seed=0,
    ...     predict_nonlinearity=sigmoid_2d, max_epochs=20, lr=0.1,
    ...     train_split=None, verbose=0,
    ... ).fit(X, y)
    >>> float(net.score(X, y)) > 0.95
    True
    """

    def __init__(self, seed=None, lam=0.0):
        super().__init__()
        self.seed = seed
        self.lam = lam

    def forward(self, logits_or_scores, target, weight=None):
        """The batch's EnsLoss, ``mean(stopgrad(g) * z)``, with fresh derivatives.

        Parameters
        ----------
        logits_or_scores : tensor of shape (batch,) or (batch, 1)
            The network's score ``f(x)`` (a logit: positive means the
            positive class).
        target : tensor of shape (batch,) or (batch, 1)
            Binary targets in {0, 1} (or {-1, +1}, or bool): positive values
            are the positive class. Any dtype.
        weight : tensor of shape (batch,) or (batch, 1), optional
            Non-negative sample weights; the result is then
            ``sum(w * g * z) / sum(w)``. The derivatives are drawn and ranked
            over all the batch's rows, whatever their weight.

        Returns
        -------
        loss : tensor of shape ()
            The (weighted) mean of ``g * z``; its gradient with respect to
            each score is ``w_i * g_i * y_i / sum(w)``.
        """
        scores = logits_or_scores.reshape(-1)
        margins = scores * _signed_targets(target.reshape(-1), scores.dtype)
        g = ensloss_derivatives(margins, self._generator_for(scores.device), lam=self.lam)
        losses = g * margins
        if weight is None:
            return losses.mean()
        weight = weight.reshape(-1).to(losses.dtype)
        return (weight * losses).sum() / weight.sum()

    def extra_repr(self):
        return f"seed={self.seed!r}, lam={self.lam!r}"


class EnsLossTask(_SeededDraws, EnsembleTask):
    """Binary classification trained with EnsLoss: one score per member.

    The module is an :class:`EnsembleMLP` with one output per member, the
    score ``f_k(x)``, laid out ``(batch, n_members, 1)``; positive means
    class 1. Each member trains on its own EnsLoss: the derivatives are
    drawn independently for every member and ranked over that member's
    rows (:func:`ensloss_derivatives` with ``dim=0``), so the members see
    different random losses: an ensemble of losses as well as of networks.

    The validation loss (early stopping) is the log loss of the *calibrated*
    mean score: ``sigmoid(a * mean_k f_k(x))`` with the slope ``a`` fitted
    on the validation rows themselves by :func:`platt_slope` (Platt scaling
    without intercept), which is what :class:`EnsLossClassifier` predicts
    when it stops there. The scale of EnsLoss' scores is arbitrary and grows
    with training (its implied losses keep falling as margins grow), so the
    log loss of the raw mean score would stop training as soon as the scores
    outgrow the unit scale; the calibrated log loss does not depend on the
    scale, only on how well the mean score ranks and separates the rows.
    (With more validation rows than one prediction batch, thousands of rows,
    the slope is fitted per batch.) The score is the accuracy of the sign of
    the mean score.

    Unlike the other tasks this one holds state: the derivatives'
    ``torch.Generator``, made on first use on the scores' device from
    ``seed``, and not pickled (an unpickled task starts over from ``seed``).

    Parameters
    ----------
    seed : int, default=None
        Seed of the derivatives' generator; ``None`` seeds it from fresh
        entropy. Never torch's global generator.
    lam : float, default=0.0
        Box-Cox parameter of the derivatives (see :func:`ensloss_derivatives`).

    Attributes
    ----------
    loss_name : str
        ``'ensloss'``.
    score_name : str
        ``'accuracy'``.
    predicts_variance : bool
        ``False``.

    See Also
    --------
    EnsLoss : The criterion for a single network.
    ClassificationTask : Cross-entropy instead.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsembleCriterion
    >>> from skens.nn import EnsLossTask
    >>> task = EnsLossTask(seed=0)
    >>> module = task.build_module(4, 2, n_members=3, hidden_layer_sizes=(8,))
    >>> scores = module(torch.randn(6, 4, generator=torch.Generator().manual_seed(0)))
    >>> scores.shape  # (batch, n_members, 1)
    torch.Size([6, 3, 1])
    >>> target = torch.tensor([0, 1, 0, 1, 1, 0])
    >>> criterion = EnsembleCriterion(task)
    >>> criterion(scores, target).shape, criterion.ensemble_loss(scores, target).shape
    (torch.Size([]), torch.Size([]))
    >>> task.point_prediction(torch.tensor([[[1.0], [-3.0]], [[2.0], [1.0]]]))
    tensor([0, 1])
    """

    loss_name = "ensloss"
    score_name = "accuracy"

    def __init__(self, seed=None, lam=0.0):
        self.seed = seed
        self.lam = lam

    def module_spec(self, in_features, n_outputs, n_members, **mlp_params):
        """An :class:`EnsembleMLP` with one score per member.

        Parameters
        ----------
        in_features : int
            Number of input columns.
        n_outputs : int
            Number of classes (2) or of scores (1); the module has one
            output either way.
        n_members : int
            Number of ensemble members.
        **mlp_params
            Passed on to :class:`EnsembleMLP`.

        Returns
        -------
        module_class : type
            :class:`EnsembleMLP`.
        params : dict
            Its keyword arguments.
        """
        if n_outputs not in (1, 2):
            raise ValueError(
                f"EnsLossTask is for binary classification (one score), got n_outputs={n_outputs}."
            )
        params = dict(in_features=in_features, n_members=n_members, **mlp_params)
        return EnsembleMLP, dict(params, out_features=1)

    def _margins(self, y_pred, target):
        scores = y_pred[..., 0]  # (batch, n_members)
        if target.dim() == 1:
            target = target.unsqueeze(1)
        return scores * _signed_targets(target, scores.dtype)

    def member_loss(self, y_pred, target, weight=None):
        """Mean over members of each member's EnsLoss, with its own derivatives.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, 1)
            Each member's score.
        target : tensor of shape (batch,) or (batch, n_members)
            Classes 0 and 1 (positive values are class 1), shared by the
            members or one per member.
        weight : tensor of shape (batch, n_members), optional
            Loss weights, normalised to mean 1 over the data set; the result
            is the batch mean of ``weight * g * z`` (the convention of
            :mod:`skens.nn`'s losses).

        Returns
        -------
        loss : tensor of shape ()
            The mean over the batch and the members of ``stopgrad(g) * z``.
        """
        margins = self._margins(y_pred, target)
        g = ensloss_derivatives(margins, self._generator_for(margins.device), lam=self.lam, dim=0)
        return _weighted_mean(g * margins, weight)

    def ensemble_loss(self, y_pred, target, weight=None):
        """Log loss of the calibrated mean score, the validation loss.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, 1)
            Each member's score.
        target : tensor of shape (batch,)
            Classes 0 and 1.
        weight : tensor of shape (batch,), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            The batch mean of ``log(1 + exp(-y * a * mean score))``, with
            ``a`` fitted on this batch by :func:`platt_slope`.
        """
        mean_score = y_pred[..., 0].mean(dim=1)
        slope = platt_slope(mean_score, target, weight)
        losses = F.softplus(-slope * mean_score * _signed_targets(target, mean_score.dtype))
        return _weighted_mean(losses, weight)

    def point_prediction(self, y_pred):
        """Class 1 where the mean score is positive, else class 0.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, 1)
            Each member's score.

        Returns
        -------
        prediction : long tensor of shape (batch,)
            Class indices.
        """
        return (y_pred[..., 0].mean(dim=1) > 0).long()

    def score(self, prediction, target, weight=None):
        """Weighted accuracy.

        Parameters
        ----------
        prediction : long tensor of shape (batch,)
            Predicted classes.
        target : long tensor of shape (batch,)
            True classes.
        weight : tensor of shape (batch,), optional
            Non-negative sample weights; uniform when omitted.

        Returns
        -------
        score : float
            The weighted share of correct predictions.
        """
        weight = _normalized_weight(target, weight)
        return float((weight * (prediction == target)).sum())

    def __repr__(self):
        return f"EnsLossTask(seed={self.seed!r}, lam={self.lam!r})"
