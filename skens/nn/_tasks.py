"""What an ensemble learns: its module, losses, point prediction and score, in one object.

A task decides everything that depends on the kind of target, so that the
layers above it (the criterion, the validation score, the estimators) ask
one object instead of switching on strings:

- :meth:`~EnsembleTask.module_spec` / :meth:`~EnsembleTask.build_module`:
  the torch module (:class:`EnsembleMLP`, or :class:`GaussianEnsembleMLP`
  for a mean and a variance per member);
- :meth:`~EnsembleTask.member_loss`: the training loss, the mean of the
  members' losses;
- :meth:`~EnsembleTask.ensemble_loss`: the loss of the ensemble's
  prediction, for validation and early stopping;
- :meth:`~EnsembleTask.point_prediction` and :meth:`~EnsembleTask.score`:
  the ensemble's class or mean and its accuracy or R².

Predictions ``y_pred`` are laid out ``(batch, n_members, ...)`` as everywhere
in :mod:`skens.nn`; the weights follow the conventions of the losses (see
:mod:`skens.nn._losses`).
"""

import torch

from ._losses import (
    ensemble_log_loss,
    ensemble_squared_error,
    member_cross_entropy,
    member_gaussian_nll,
    member_squared_error,
    mixture_gaussian_nll,
)
from ._mlp import EnsembleMLP, GaussianEnsembleMLP

__all__ = [
    "EnsembleTask",
    "ClassificationTask",
    "GaussianRegressionTask",
    "SquaredErrorRegressionTask",
]


def _normalized_weight(target, weight):
    """Sample weights summing to 1; uniform when ``weight`` is None."""
    if weight is None:
        weight = torch.ones(len(target), device=target.device)
    return weight / weight.sum().clamp_min(1e-12)


class EnsembleTask:
    """Base class of the tasks: what an ensemble predicts and how it is judged.

    A subclass defines :meth:`module_spec`, :meth:`member_loss`,
    :meth:`ensemble_loss`, :meth:`point_prediction` and :meth:`score`, and
    sets ``score_name`` (and ``predicts_variance`` when the module returns a
    ``(mean, variance)`` pair). Tasks hold no state: two instances of a class
    are interchangeable.

    Attributes
    ----------
    loss_name : str or None
        Name of the loss, as :class:`EnsembleCriterion` accepted it as a
        string (``'cross_entropy'``, ``'gaussian_nll'``, ``'mse'``).
    score_name : str or None
        Name of :meth:`score` (``'accuracy'`` or ``'r2'``).
    predicts_variance : bool
        Whether the module returns a ``(mean, variance)`` pair per member
        rather than one tensor.

    See Also
    --------
    EnsembleCriterion : The training and validation losses of a task.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsembleTask
    >>> class MeanAbsoluteError(EnsembleTask):
    ...     loss_name, score_name = "mae", "neg_mae"
    ...     def module_spec(self, in_features, n_outputs, n_members, **mlp_params):
    ...         from skens.nn import EnsembleMLP
    ...         return EnsembleMLP, dict(in_features=in_features, out_features=n_outputs,
    ...                                  n_members=n_members, **mlp_params)
    ...     def member_loss(self, y_pred, target, weight=None):
    ...         return (y_pred - target.unsqueeze(1)).abs().mean()
    ...     def ensemble_loss(self, y_pred, target, weight=None):
    ...         return (self.point_prediction(y_pred) - target).abs().mean()
    ...     def point_prediction(self, y_pred):
    ...         return y_pred.median(dim=1).values
    ...     def score(self, prediction, target, weight=None):
    ...         return -float((prediction - target).abs().mean())
    >>> task = MeanAbsoluteError()
    >>> module = task.build_module(3, 1, n_members=2, hidden_layer_sizes=(4,))
    >>> module(torch.zeros(5, 3)).shape
    torch.Size([5, 2, 1])
    """

    loss_name = None
    score_name = None
    predicts_variance = False

    def module_spec(self, in_features, n_outputs, n_members, **mlp_params):
        """The module class and its keyword arguments.

        Parameters
        ----------
        in_features : int
            Number of input columns.
        n_outputs : int
            Number of classes, or of regression targets.
        n_members : int
            Number of ensemble members.
        **mlp_params
            Passed on to the module (``hidden_layer_sizes``, ``activation``,
            ``dropout``, ``ensemble_type``...).

        Returns
        -------
        module_class : type
            A :class:`torch.nn.Module` subclass.
        params : dict
            Its keyword arguments.
        """
        raise NotImplementedError

    def build_module(self, in_features, n_outputs, n_members, **mlp_params):
        """Build the module of :meth:`module_spec`.

        Parameters
        ----------
        in_features : int
            Number of input columns.
        n_outputs : int
            Number of classes, or of regression targets.
        n_members : int
            Number of ensemble members.
        **mlp_params
            Passed on to the module (``hidden_layer_sizes``, ``activation``,
            ``dropout``, ``ensemble_type``, ``generator``...).

        Returns
        -------
        module : torch.nn.Module
            The module, holding every member.
        """
        module_class, params = self.module_spec(in_features, n_outputs, n_members, **mlp_params)
        return module_class(**params)

    def member_loss(self, y_pred, target, weight=None):
        """Mean of the members' losses, the training loss.

        Parameters
        ----------
        y_pred : tensor or tuple of (tensor, tensor)
            The members' predictions, ``(batch, n_members, ...)``.
        target : tensor
            Targets shared by the members, or with a member axis after the
            batch axis (each member its own rows).
        weight : tensor of shape (batch, n_members), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            The mean of the members' losses.
        """
        raise NotImplementedError

    def ensemble_loss(self, y_pred, target, weight=None):
        """Loss of the ensemble's prediction, the validation loss.

        Parameters
        ----------
        y_pred : tensor or tuple of (tensor, tensor)
            The members' predictions, ``(batch, n_members, ...)``.
        target : tensor
            Targets, without a member axis.
        weight : tensor of shape (batch,), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            The loss of the aggregated prediction.
        """
        raise NotImplementedError

    def point_prediction(self, y_pred):
        """The ensemble's point prediction, which :meth:`score` judges.

        Parameters
        ----------
        y_pred : tensor or tuple of (tensor, tensor)
            The members' predictions, ``(batch, n_members, ...)``.

        Returns
        -------
        prediction : tensor
            One prediction per row: a class index or a mean.
        """
        raise NotImplementedError

    def score(self, prediction, target, weight=None):
        """Score of point predictions, higher is better.

        Parameters
        ----------
        prediction : tensor
            Output of :meth:`point_prediction`.
        target : tensor
            Targets, without a member axis.
        weight : tensor of shape (batch,), optional
            Non-negative sample weights; uniform when omitted.

        Returns
        -------
        score : float
            The weighted score.
        """
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class ClassificationTask(EnsembleTask):
    """Classification: logits per member, cross-entropy, accuracy.

    The module is an :class:`EnsembleMLP` with one output per class. Members
    train on their cross-entropy; the ensemble is judged by the log loss and
    accuracy of the average of the members' softmax probabilities.

    Attributes
    ----------
    loss_name : str
        ``'cross_entropy'``.
    score_name : str
        ``'accuracy'``.
    predicts_variance : bool
        ``False``.

    See Also
    --------
    member_cross_entropy : The training loss.
    ensemble_log_loss : The validation loss.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import ClassificationTask
    >>> task = ClassificationTask()
    >>> logits = torch.tensor([[[2.0, 0.0], [0.0, 1.0]],   # members disagree: class 0 wins
    ...                        [[0.0, 3.0], [0.0, 1.0]]])
    >>> task.point_prediction(logits)
    tensor([0, 1])
    >>> task.score(task.point_prediction(logits), torch.tensor([0, 0]))
    0.5
    >>> module = task.build_module(6, 3, n_members=4, hidden_layer_sizes=(8,))
    >>> module(torch.zeros(5, 6)).shape  # (batch, n_members, n_classes)
    torch.Size([5, 4, 3])
    """

    loss_name = "cross_entropy"
    score_name = "accuracy"

    def module_spec(self, in_features, n_outputs, n_members, **mlp_params):
        """An :class:`EnsembleMLP` with ``n_outputs`` (classes) logits per member.

        Parameters
        ----------
        in_features : int
            Number of input columns.
        n_outputs : int
            Number of classes.
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
        params = dict(in_features=in_features, n_members=n_members, **mlp_params)
        return EnsembleMLP, dict(params, out_features=n_outputs)

    def member_loss(self, y_pred, target, weight=None):
        """Mean over members of each member's cross-entropy.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, n_classes)
            Logits of each member.
        target : long tensor of shape (batch,) or (batch, n_members)
            Class indices.
        weight : tensor of shape (batch, n_members), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            See :func:`member_cross_entropy`.
        """
        return member_cross_entropy(y_pred, target, weight)

    def ensemble_loss(self, y_pred, target, weight=None):
        """Log loss of the averaged probabilities.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, n_classes)
            Logits of each member.
        target : long tensor of shape (batch,)
            Class indices.
        weight : tensor of shape (batch,), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            See :func:`ensemble_log_loss`.
        """
        return ensemble_log_loss(y_pred, target, weight)

    def point_prediction(self, y_pred):
        """The most probable class under the averaged probabilities.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, n_classes)
            Logits of each member.

        Returns
        -------
        prediction : long tensor of shape (batch,)
            Class indices.
        """
        return torch.softmax(y_pred, dim=-1).mean(dim=1).argmax(dim=-1)

    def score(self, prediction, target, weight=None):
        """Weighted accuracy.

        Parameters
        ----------
        prediction : long tensor of shape (batch,)
            Predicted class indices.
        target : long tensor of shape (batch,)
            True class indices.
        weight : tensor of shape (batch,), optional
            Non-negative sample weights; uniform when omitted.

        Returns
        -------
        score : float
            The weighted share of correct predictions.
        """
        weight = _normalized_weight(target, weight)
        return float((weight * (prediction == target)).sum())


class _RegressionTask(EnsembleTask):
    """Regression: the ensemble's mean, scored by R²."""

    score_name = "r2"

    def _member_means(self, y_pred):
        return y_pred

    def point_prediction(self, y_pred):
        """The mean of the members' means.

        Parameters
        ----------
        y_pred : tensor or tuple of (tensor, tensor)
            The members' means ``(batch, n_members, n_outputs)``, or their
            ``(mean, variance)`` pair.

        Returns
        -------
        prediction : tensor of shape (batch, n_outputs)
            The ensemble's mean.
        """
        return self._member_means(y_pred).mean(dim=1)

    def score(self, prediction, target, weight=None):
        """Weighted R², averaged over the outputs.

        An output whose target is constant scores 0.

        Parameters
        ----------
        prediction : tensor of shape (batch, n_outputs)
            Predicted means.
        target : tensor of shape (batch, n_outputs)
            True targets.
        weight : tensor of shape (batch,), optional
            Non-negative sample weights; uniform when omitted.

        Returns
        -------
        score : float
            The mean over the outputs of the coefficient of determination.
        """
        weight = _normalized_weight(target, weight).unsqueeze(-1)
        mean = (weight * target).sum(dim=0)
        ss_tot = (weight * (target - mean) ** 2).sum(dim=0)
        ss_res = (weight * (target - prediction) ** 2).sum(dim=0)
        r2 = torch.where(ss_tot > 0, 1 - ss_res / ss_tot.clamp_min(1e-12), torch.zeros_like(ss_tot))
        return float(r2.mean())


class GaussianRegressionTask(_RegressionTask):
    """Regression with a Gaussian per member: mean and variance, NLL, R².

    The module is a :class:`GaussianEnsembleMLP`, returning a
    ``(mean, variance)`` pair. Members train on their Gaussian NLL; the
    ensemble is judged by the NLL of the uniform mixture of the members'
    Gaussians and by the R² of its mean.

    Attributes
    ----------
    loss_name : str
        ``'gaussian_nll'``.
    score_name : str
        ``'r2'``.
    predicts_variance : bool
        ``True``.

    See Also
    --------
    member_gaussian_nll : The training loss.
    mixture_gaussian_nll : The validation loss.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import GaussianRegressionTask
    >>> task = GaussianRegressionTask()
    >>> module = task.build_module(6, 2, n_members=4, hidden_layer_sizes=(8,))
    >>> mean, var = module(torch.zeros(5, 6))
    >>> mean.shape, var.shape
    (torch.Size([5, 4, 2]), torch.Size([5, 4, 2]))
    >>> task.point_prediction((mean, var)).shape
    torch.Size([5, 2])
    >>> y_pred = (torch.zeros(4, 3, 1), torch.ones(4, 3, 1))
    >>> round(task.member_loss(y_pred, torch.zeros(4, 1)).item(), 4)
    0.9189
    """

    loss_name = "gaussian_nll"
    predicts_variance = True

    def _member_means(self, y_pred):
        return y_pred[0]

    def module_spec(self, in_features, n_outputs, n_members, **mlp_params):
        """A :class:`GaussianEnsembleMLP` with ``n_outputs`` Gaussians per member.

        Parameters
        ----------
        in_features : int
            Number of input columns.
        n_outputs : int
            Number of regression targets.
        n_members : int
            Number of ensemble members.
        **mlp_params
            Passed on to :class:`GaussianEnsembleMLP`.

        Returns
        -------
        module_class : type
            :class:`GaussianEnsembleMLP`.
        params : dict
            Its keyword arguments.
        """
        params = dict(in_features=in_features, n_members=n_members, **mlp_params)
        return GaussianEnsembleMLP, dict(params, n_outputs=n_outputs)

    def member_loss(self, y_pred, target, weight=None):
        """Mean over members of each member's Gaussian NLL.

        Parameters
        ----------
        y_pred : tuple of (tensor, tensor)
            Each member's mean and variance, ``(batch, n_members, n_outputs)``.
        target : tensor of shape (batch, n_outputs) or (batch, n_members, n_outputs)
            Regression targets.
        weight : tensor of shape (batch, n_members), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            See :func:`member_gaussian_nll`.
        """
        mean, var = y_pred
        return member_gaussian_nll(mean, var, target, weight)

    def ensemble_loss(self, y_pred, target, weight=None):
        """NLL of the uniform mixture of the members' Gaussians.

        Parameters
        ----------
        y_pred : tuple of (tensor, tensor)
            Each member's mean and variance, ``(batch, n_members, n_outputs)``.
        target : tensor of shape (batch, n_outputs)
            Regression targets.
        weight : tensor of shape (batch,), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            See :func:`mixture_gaussian_nll`.
        """
        mean, var = y_pred
        return mixture_gaussian_nll(mean, var, target, weight)


class SquaredErrorRegressionTask(_RegressionTask):
    """Regression of means only: squared error, R².

    The module is an :class:`EnsembleMLP` with one output per target.
    Members train on their squared error; the ensemble is judged by the
    squared error and R² of the average of the members' predictions.

    Attributes
    ----------
    loss_name : str
        ``'mse'``.
    score_name : str
        ``'r2'``.
    predicts_variance : bool
        ``False``.

    See Also
    --------
    member_squared_error : The training loss.
    ensemble_squared_error : The validation loss.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import SquaredErrorRegressionTask
    >>> task = SquaredErrorRegressionTask()
    >>> y_pred = torch.tensor([[[1.0], [3.0]], [[0.0], [2.0]]])  # two rows, two members
    >>> target = torch.tensor([[2.0], [0.0]])
    >>> task.member_loss(y_pred, target).item(), task.ensemble_loss(y_pred, target).item()
    (1.5, 0.5)
    >>> task.point_prediction(y_pred)
    tensor([[2.],
            [1.]])
    >>> task.build_module(6, 2, n_members=4, hidden_layer_sizes=(8,))(torch.zeros(5, 6)).shape
    torch.Size([5, 4, 2])
    """

    loss_name = "mse"

    def module_spec(self, in_features, n_outputs, n_members, **mlp_params):
        """An :class:`EnsembleMLP` with ``n_outputs`` means per member.

        Parameters
        ----------
        in_features : int
            Number of input columns.
        n_outputs : int
            Number of regression targets.
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
        params = dict(in_features=in_features, n_members=n_members, **mlp_params)
        return EnsembleMLP, dict(params, out_features=n_outputs)

    def member_loss(self, y_pred, target, weight=None):
        """Mean over members of each member's squared error.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, n_outputs)
            Each member's prediction.
        target : tensor of shape (batch, n_outputs) or (batch, n_members, n_outputs)
            Regression targets.
        weight : tensor of shape (batch, n_members), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            See :func:`member_squared_error`.
        """
        return member_squared_error(y_pred, target, weight)

    def ensemble_loss(self, y_pred, target, weight=None):
        """Squared error of the members' average.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, n_outputs)
            Each member's prediction.
        target : tensor of shape (batch, n_outputs)
            Regression targets.
        weight : tensor of shape (batch,), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            See :func:`ensemble_squared_error`.
        """
        return ensemble_squared_error(y_pred, target, weight)


# The loss names EnsembleCriterion has always accepted, mapped to their task.
_TASKS_BY_LOSS = {
    task.loss_name: task
    for task in (ClassificationTask, GaussianRegressionTask, SquaredErrorRegressionTask)
}
