"""Training and validation losses for ensembles laid out as ``(batch, n_members, ...)``.

Training minimises the *mean of the members' losses*, so that each member is
fitted as if alone; validation scores the *ensemble's* prediction (the mixture
of the members), which is what users get from ``predict``.

The member losses also take member-specific targets, when each member trains
on its own mini-batch (rows drawn in its own order): ``target`` then has a
member axis after the batch axis, ``(batch, n_members)`` for class indices
and ``(batch, n_members, n_outputs)`` for regression.

``weight`` arguments are optional non-negative sample weights: shape
``(batch, n_members)`` for the member losses (bootstrap counts times sample
weights) and ``(batch,)`` for the ensemble losses. A weighted loss is the
plain mean of ``weight * loss`` over the batch, not divided by the batch's
weight sum: with weights normalised to mean 1 over a data set (as the
estimators do) the mean over batches is then exactly the weighted mean loss,
and every mini-batch gradient is an unbiased estimate of its gradient.
"""

import math

import torch
from torch.nn import functional as F

__all__ = [
    "EnsembleCriterion",
    "member_cross_entropy",
    "ensemble_log_loss",
    "member_gaussian_nll",
    "mixture_gaussian_nll",
    "member_squared_error",
    "ensemble_squared_error",
]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _weighted_mean(values, weight):
    """Mean of ``weight * values`` (``weight`` normalised to mean 1 by the caller)."""
    if weight is None:
        return values.mean()
    return (values * weight).mean()


def member_cross_entropy(logits, target, weight=None):
    """Mean over members of each member's (weighted) cross-entropy.

    Parameters
    ----------
    logits : tensor of shape (batch, n_members, n_classes)
        Unnormalised class scores of each member.
    target : long tensor of shape (batch,) or (batch, n_members)
        Class indices, shared by the members or one per member.
    weight : tensor of shape (batch, n_members), optional
        Loss weights, normalised to mean 1 over the data set by the caller;
        the result is the batch mean of ``weight * loss`` (see the module
        docstring).

    Returns
    -------
    loss : tensor of shape ()
        The mean over the batch and the members of the cross-entropies.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import member_cross_entropy
    >>> logits = torch.zeros(4, 3, 2)  # uniform predictions: log(2) for every member
    >>> round(member_cross_entropy(logits, torch.tensor([0, 1, 0, 1])).item(), 4)
    0.6931
    >>> per_member = torch.zeros(4, 3, dtype=torch.long)  # (batch, n_members)
    >>> round(member_cross_entropy(logits, per_member, torch.ones(4, 3)).item(), 4)
    0.6931
    """
    n_members = logits.shape[1]
    if target.dim() == 1:
        target = target.unsqueeze(1).expand(-1, n_members)
    losses = F.cross_entropy(logits.transpose(1, 2), target, reduction="none")
    return _weighted_mean(losses, weight)


def ensemble_log_loss(logits, target, weight=None):
    """Log loss of the average of the members' softmax probabilities.

    Parameters
    ----------
    logits : tensor of shape (batch, n_members, n_classes)
        Unnormalised class scores of each member.
    target : long tensor of shape (batch,)
        Class indices.
    weight : tensor of shape (batch,), optional
        Loss weights, normalised to mean 1 over the data set by the caller;
        the result is the batch mean of ``weight * loss`` (see the module
        docstring).

    Returns
    -------
    loss : tensor of shape ()
        The batch mean of the negative log-probability of the target class
        under the ensemble's averaged probabilities.

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from skens.nn import ensemble_log_loss
    >>> # Two confident members that disagree: the ensemble predicts 50/50.
    >>> logits = torch.tensor([[[20.0, 0.0], [0.0, 20.0]]])
    >>> round(ensemble_log_loss(logits, torch.tensor([0])).item(), 4), round(math.log(2), 4)
    (0.6931, 0.6931)
    """
    log_proba = torch.logsumexp(F.log_softmax(logits, dim=-1), dim=1) - math.log(logits.shape[1])
    losses = -log_proba.gather(1, target.unsqueeze(1)).squeeze(1)
    return _weighted_mean(losses, weight)


def _member_target(target, mean):
    """``target`` with a member axis: (batch, 1 or n_members, n_outputs)."""
    return target if target.dim() == mean.dim() else target.unsqueeze(1)


def _gaussian_log_pdf(mean, var, target):
    """Log density summed over outputs: (batch, n_members, n_outputs) -> (batch, n_members)."""
    target = _member_target(target, mean)
    log_pdf = -0.5 * (torch.log(var) + (target - mean) ** 2 / var) - _HALF_LOG_2PI
    return log_pdf.sum(dim=-1)


def member_gaussian_nll(mean, var, target, weight=None):
    """Mean over members of each member's Gaussian NLL, per output.

    Parameters
    ----------
    mean : tensor of shape (batch, n_members, n_outputs)
        Predicted mean of each member.
    var : tensor of shape (batch, n_members, n_outputs)
        Predicted variance of each member, strictly positive.
    target : tensor of shape (batch, n_outputs) or (batch, n_members, n_outputs)
        Regression targets, shared by the members or one row per member.
    weight : tensor of shape (batch, n_members), optional
        Loss weights, normalised to mean 1 over the data set by the caller;
        the result is the batch mean of ``weight * loss`` (see the module
        docstring).

    Returns
    -------
    loss : tensor of shape ()
        The mean over the batch and the members of the negative
        log-likelihoods, each divided by ``n_outputs``.

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from skens.nn import member_gaussian_nll
    >>> mean, var = torch.zeros(4, 3, 2), torch.ones(4, 3, 2)
    >>> loss = member_gaussian_nll(mean, var, torch.zeros(4, 2))
    >>> round(loss.item(), 4), round(0.5 * math.log(2 * math.pi), 4)
    (0.9189, 0.9189)
    >>> round(member_gaussian_nll(mean, var, torch.ones(4, 3, 2)).item(), 4)
    1.4189
    """
    losses = -_gaussian_log_pdf(mean, var, target) / mean.shape[-1]
    return _weighted_mean(losses, weight)


def mixture_gaussian_nll(mean, var, target, weight=None):
    """NLL of the uniform mixture of the member Gaussians, per output.

    Parameters
    ----------
    mean : tensor of shape (batch, n_members, n_outputs)
        Predicted mean of each member.
    var : tensor of shape (batch, n_members, n_outputs)
        Predicted variance of each member, strictly positive.
    target : tensor of shape (batch, n_outputs) or (batch, n_members, n_outputs)
        Regression targets, shared by the members or one row per member.
    weight : tensor of shape (batch,), optional
        Loss weights, normalised to mean 1 over the data set by the caller;
        the result is the batch mean of ``weight * loss`` (see the module
        docstring).

    Returns
    -------
    loss : tensor of shape ()
        The batch mean of the negative log-density of the target under the
        equally weighted mixture of the members' Gaussians (over all outputs
        jointly), divided by ``n_outputs``.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import mixture_gaussian_nll
    >>> mean, var = torch.zeros(4, 3, 2), torch.ones(4, 3, 2)
    >>> round(mixture_gaussian_nll(mean, var, torch.zeros(4, 2), torch.ones(4)).item(), 4)
    0.9189
    """
    log_pdf = _gaussian_log_pdf(mean, var, target)
    log_mix = torch.logsumexp(log_pdf, dim=1) - math.log(mean.shape[1])
    return _weighted_mean(-log_mix / mean.shape[-1], weight)


def member_squared_error(mean, target, weight=None):
    """Mean over members of each member's mean squared error.

    Parameters
    ----------
    mean : tensor of shape (batch, n_members, n_outputs)
        Predictions of each member.
    target : tensor of shape (batch, n_outputs) or (batch, n_members, n_outputs)
        Regression targets, shared by the members or one row per member.
    weight : tensor of shape (batch, n_members), optional
        Loss weights, normalised to mean 1 over the data set by the caller;
        the result is the batch mean of ``weight * loss`` (see the module
        docstring).

    Returns
    -------
    loss : tensor of shape ()
        The mean over the batch, the members and the outputs of the squared
        errors.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import member_squared_error
    >>> mean = torch.tensor([[[1.0], [3.0]]])  # one sample, two members
    >>> member_squared_error(mean, torch.tensor([[2.0]])).item()
    1.0
    """
    losses = ((mean - _member_target(target, mean)) ** 2).mean(dim=-1)
    return _weighted_mean(losses, weight)


def ensemble_squared_error(mean, target, weight=None):
    """Mean squared error of the average of the members' predictions.

    Parameters
    ----------
    mean : tensor of shape (batch, n_members, n_outputs)
        Predictions of each member.
    target : tensor of shape (batch, n_outputs)
        Regression targets.
    weight : tensor of shape (batch,), optional
        Loss weights, normalised to mean 1 over the data set by the caller;
        the result is the batch mean of ``weight * loss`` (see the module
        docstring).

    Returns
    -------
    loss : tensor of shape ()
        The mean over the batch and the outputs of the squared errors of the
        members' average.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import ensemble_squared_error
    >>> mean = torch.tensor([[[1.0], [3.0]]])  # one sample, two members
    >>> ensemble_squared_error(mean, torch.tensor([[2.0]])).item()
    0.0
    """
    losses = ((mean.mean(dim=1) - target) ** 2).mean(dim=-1)
    return _weighted_mean(losses, weight)


class EnsembleCriterion(torch.nn.Module):
    """Pair a member-averaged training loss with the ensemble's validation loss.

    Calling the criterion gives the training loss (mean of the members'
    losses, :meth:`EnsembleTask.member_loss`); :meth:`ensemble_loss` gives
    the loss of the aggregated prediction (:meth:`EnsembleTask.ensemble_loss`),
    used for validation and early stopping.

    Parameters
    ----------
    task : EnsembleTask or {'cross_entropy', 'gaussian_nll', 'mse'}
        The task whose losses to use. The strings name the built-in tasks:
        ``'cross_entropy'`` a :class:`ClassificationTask` (logits
        ``(batch, n_members, n_classes)``), ``'gaussian_nll'`` a
        :class:`GaussianRegressionTask` (a ``(mean, variance)`` pair) and
        ``'mse'`` a :class:`SquaredErrorRegressionTask` (a mean), each
        ``(batch, n_members, n_outputs)``.

    Attributes
    ----------
    task : EnsembleTask
        The task.
    kind : str or None
        The task's ``loss_name`` (``'cross_entropy'``, ``'gaussian_nll'``
        or ``'mse'`` for the built-in tasks).

    Examples
    --------
    >>> import torch
    >>> from skens.nn import ClassificationTask, EnsembleCriterion
    >>> criterion = EnsembleCriterion(ClassificationTask())
    >>> logits, target = torch.zeros(4, 3, 2), torch.tensor([0, 1, 0, 1])
    >>> train_loss = criterion(logits, target)
    >>> valid_loss = criterion.ensemble_loss(logits, target)
    >>> round(train_loss.item(), 4), round(valid_loss.item(), 4)
    (0.6931, 0.6931)
    >>> EnsembleCriterion("cross_entropy")
    EnsembleCriterion(task=ClassificationTask())
    """

    def __init__(self, task):
        super().__init__()
        from ._tasks import _TASKS_BY_LOSS, EnsembleTask

        if isinstance(task, str):
            if task not in _TASKS_BY_LOSS:
                raise ValueError(
                    f"kind must be one of {sorted(_TASKS_BY_LOSS)}, got {task!r}."
                )
            task = _TASKS_BY_LOSS[task]()
        elif not isinstance(task, EnsembleTask):
            raise TypeError(
                "task must be an EnsembleTask or one of 'cross_entropy', 'gaussian_nll', "
                f"'mse', got {task!r}."
            )
        self.task = task

    @property
    def kind(self):
        """The task's loss name, as the string form of ``task`` gives it.

        Returns
        -------
        kind : str or None
            ``'cross_entropy'``, ``'gaussian_nll'``, ``'mse'``, or the
            ``loss_name`` of a custom task.
        """
        return self.task.loss_name

    def forward(self, y_pred, target, weight=None):
        """Mean of the members' losses, the training loss.

        Parameters
        ----------
        y_pred : tensor or tuple of (tensor, tensor)
            The members' predictions: logits ``(batch, n_members, n_classes)``
            for classification, a ``(mean, variance)`` pair of
            ``(batch, n_members, n_outputs)`` tensors for Gaussian regression,
            and a mean ``(batch, n_members, n_outputs)`` for squared error.
        target : tensor
            Class indices ``(batch,)`` or ``(batch, n_members)`` for
            classification; regression targets ``(batch, n_outputs)`` or
            ``(batch, n_members, n_outputs)`` otherwise. A member axis gives
            each member its own rows.
        weight : tensor of shape (batch, n_members), optional
            Loss weights, normalised to mean 1 over the data set by the caller.

        Returns
        -------
        loss : tensor of shape ()
            The mean of the members' losses.
        """
        return self.task.member_loss(y_pred, target, weight)

    def ensemble_loss(self, y_pred, target, weight=None):
        """Loss of the ensemble's prediction, the validation loss.

        Parameters
        ----------
        y_pred : tensor or tuple of (tensor, tensor)
            The members' predictions, as for :meth:`forward`.
        target : tensor
            Class indices ``(batch,)`` for classification; regression
            targets ``(batch, n_outputs)`` otherwise.
        weight : tensor of shape (batch,), optional
            Loss weights, normalised to mean 1 over the data set by the caller.

        Returns
        -------
        loss : tensor of shape ()
            The loss of the aggregated prediction: log loss of the averaged
            probabilities, NLL of the Gaussian mixture, or squared error of
            the averaged mean.
        """
        return self.task.ensemble_loss(y_pred, target, weight)

    def extra_repr(self):
        return f"task={self.task!r}"
