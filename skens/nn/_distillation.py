"""Knowledge distillation: a network trained on a teacher's probabilities."""

import math

import torch
import torch.nn.functional as F

from ._losses import _weighted_mean
from ._tasks import ClassificationTask, GaussianRegressionTask, _normalized_weight

__all__ = ["DistillationTask", "GaussianDistillationTask", "distillation_loss"]

_TINY = 1e-12


def distillation_loss(logits, target, weight=None, *, temperature=1.0, hard_label_weight=0.0):
    """Mean over members of the temperature-scaled KL to the teacher (plus a hard-label share).

    ``T² · KL(p_T ‖ q_T)``, with ``p_T`` the teacher's probabilities sharpened
    or softened by ``T`` (``softmax(log p / T)``) and ``q_T = softmax(z / T)``
    the student's (Hinton et al. 2015; Polino et al. 2018), weighted
    ``1 - hard_label_weight``, plus ``hard_label_weight`` times the
    cross-entropy to the true label where one is known. With
    ``hard_label_weight=0`` the student learns from the teacher alone
    (MEAL V2).

    Parameters
    ----------
    logits : tensor of shape (batch, n_members, n_classes)
        The student's logits.
    target : tensor of shape (batch, n_classes + 1) or (batch, n_members, n_classes + 1)
        The teacher's probabilities, then the true class index (``-1``:
        unknown, e.g. an augmented row).
    weight : tensor of shape (batch, n_members), optional
        Loss weights, normalised to mean 1 over the data set.
    temperature : float, default=1.0
        The distillation temperature ``T``.
    hard_label_weight : float, default=0.0
        The share of the hard-label loss.

    Returns
    -------
    loss : tensor of shape ()
        The mean over the batch and the members.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import distillation_loss
    >>> teacher = torch.tensor([[0.5, 0.5, -1.0]])  # probabilities, unknown label
    >>> round(distillation_loss(torch.zeros(1, 2, 2), teacher).item(), 6)  # same distribution
    0.0
    """
    n_classes = logits.shape[-1]
    if target.dim() == 2:
        target = target.unsqueeze(1).expand(-1, logits.shape[1], -1)
    soft, hard = target[..., :n_classes], target[..., n_classes].long()
    t = float(temperature)
    teacher = torch.log_softmax(torch.log(soft.clamp_min(_TINY)) / t, dim=-1)
    student = torch.log_softmax(logits / t, dim=-1)
    loss = (t * t) * (teacher.exp() * (teacher - student)).sum(dim=-1)  # (batch, members)
    if hard_label_weight > 0:
        known = hard >= 0
        ce = F.cross_entropy(
            logits.reshape(-1, n_classes), hard.clamp_min(0).reshape(-1), reduction="none"
        ).view_as(hard)
        loss = (1 - hard_label_weight) * loss + hard_label_weight * ce * known
    return _weighted_mean(loss, None if weight is None else weight.reshape(loss.shape))


class DistillationTask(ClassificationTask):
    """Classification by a student of a teacher's probabilities.

    The targets are the teacher's probabilities followed by the true class
    index (``-1`` where unknown). The training loss is
    :func:`distillation_loss`; the validation loss the KL from the teacher to
    the student at temperature 1; the score the agreement with the teacher's
    most probable class.

    Parameters
    ----------
    temperature : float, default=1.0
        The distillation temperature.
    hard_label_weight : float, default=0.0
        The share of the hard-label cross-entropy in the training loss.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import DistillationTask
    >>> task = DistillationTask(temperature=2.0)
    >>> logits = torch.tensor([[[2.0, 0.0]]])
    >>> target = torch.tensor([[0.9, 0.1, 0.0]])
    >>> task.score(task.point_prediction(logits), target)
    1.0
    """

    loss_name = "distillation"
    score_name = "agreement"

    def __init__(self, temperature=1.0, hard_label_weight=0.0):
        self.temperature = temperature
        self.hard_label_weight = hard_label_weight

    def member_loss(self, y_pred, target, weight=None):
        """Mean over members of :func:`distillation_loss`.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, n_classes)
            The student's logits.
        target : tensor of shape (batch, [n_members,] n_classes + 1)
            Teacher probabilities and true class index.
        weight : tensor of shape (batch, n_members), optional
            Loss weights.

        Returns
        -------
        loss : tensor of shape ()
            The training loss.
        """
        return distillation_loss(
            y_pred, target, weight, temperature=self.temperature,
            hard_label_weight=self.hard_label_weight,
        )

    def ensemble_loss(self, y_pred, target, weight=None):
        """KL divergence from the teacher to the averaged student probabilities.

        Parameters
        ----------
        y_pred : tensor of shape (batch, n_members, n_classes)
            The student's logits.
        target : tensor of shape (batch, n_classes + 1)
            Teacher probabilities and true class index.
        weight : tensor of shape (batch,), optional
            Loss weights, normalised to mean 1.

        Returns
        -------
        loss : tensor of shape ()
            The weighted mean KL.
        """
        n_classes = y_pred.shape[-1]
        soft = target[:, :n_classes].clamp_min(_TINY)
        student = torch.softmax(y_pred, dim=-1).mean(dim=1).clamp_min(_TINY)
        kl = (soft * (soft.log() - student.log())).sum(dim=-1)
        return _weighted_mean(kl, weight)

    def score(self, prediction, target, weight=None):
        """Weighted agreement with the teacher's most probable class.

        Parameters
        ----------
        prediction : long tensor of shape (batch,)
            The student's classes.
        target : tensor of shape (batch, n_classes + 1)
            Teacher probabilities and true class index.
        weight : tensor of shape (batch,), optional
            Sample weights.

        Returns
        -------
        score : float
            The weighted share of rows where student and teacher agree.
        """
        teacher = target[:, :-1].argmax(dim=-1)
        weight = _normalized_weight(teacher, weight)
        return float((weight * (prediction == teacher)).sum())


def _expected_gaussian_nll(mean, var, teacher_mean, teacher_var):
    """The student's Gaussian NLL in expectation under the teacher's Gaussian, per element."""
    return 0.5 * (
        math.log(2 * math.pi) + torch.log(var) + (teacher_var + (teacher_mean - mean) ** 2) / var
    )


class GaussianDistillationTask(GaussianRegressionTask):
    """Regression by a student of a teacher's predictive distribution (one target).

    The targets are the teacher's mean and variance (``(batch, 2)``). Each
    member is trained on its Gaussian NLL in expectation under the teacher's
    Gaussian, ``log σ + (σ_t² + (μ_t − μ)²) / 2σ²`` (plus a constant): the
    moment matching of ``KL(teacher ‖ student)``, minimised by the teacher's
    mean and variance. The validation loss is the same for the moments of the
    members' mixture; the score is the R² of the student's mean against the
    teacher's.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import GaussianDistillationTask
    >>> task = GaussianDistillationTask()
    >>> y_pred = (torch.zeros(4, 2, 1), torch.ones(4, 2, 1))
    >>> target = torch.tensor([[0.0, 1.0]] * 4)
    >>> round(task.member_loss(y_pred, target).item(), 4)  # 0.5 * (log(2 pi) + 1)
    1.4189
    """

    loss_name = "gaussian_distillation"

    @staticmethod
    def _split(target):
        return target[..., 0:1], target[..., 1:2]

    def member_loss(self, y_pred, target, weight=None):
        """Mean over members of the expected Gaussian NLL under the teacher.

        Parameters
        ----------
        y_pred : tuple of (tensor, tensor)
            Each member's mean and variance, ``(batch, n_members, 1)``.
        target : tensor of shape (batch, 2) or (batch, n_members, 2)
            The teacher's mean and variance.
        weight : tensor of shape (batch, n_members), optional
            Loss weights.

        Returns
        -------
        loss : tensor of shape ()
            The training loss.
        """
        mean, var = y_pred
        if target.dim() == 2:
            target = target.unsqueeze(1)
        t_mean, t_var = self._split(target)
        loss = _expected_gaussian_nll(mean, var, t_mean, t_var).mean(dim=-1)  # (batch, members)
        return _weighted_mean(loss, None if weight is None else weight.reshape(loss.shape))

    def ensemble_loss(self, y_pred, target, weight=None):
        """The expected NLL of the moment-matched mixture of the members.

        Parameters
        ----------
        y_pred : tuple of (tensor, tensor)
            Each member's mean and variance, ``(batch, n_members, 1)``.
        target : tensor of shape (batch, 2)
            The teacher's mean and variance.
        weight : tensor of shape (batch,), optional
            Loss weights, normalised to mean 1.

        Returns
        -------
        loss : tensor of shape ()
            The validation loss.
        """
        mean, var = y_pred
        mix_mean = mean.mean(dim=1)
        mix_var = ((var + mean**2).mean(dim=1) - mix_mean**2).clamp_min(1e-12)
        t_mean, t_var = self._split(target)
        loss = _expected_gaussian_nll(mix_mean, mix_var, t_mean, t_var).mean(dim=-1)
        return _weighted_mean(loss, weight)

    def score(self, prediction, target, weight=None):
        """R² of the student's mean against the teacher's.

        Parameters
        ----------
        prediction : tensor of shape (batch, 1)
            The student's mixture mean.
        target : tensor of shape (batch, 2)
            The teacher's mean and variance.
        weight : tensor of shape (batch,), optional
            Sample weights.

        Returns
        -------
        score : float
            The weighted R² against the teacher's mean.
        """
        return super().score(prediction, target[:, :1], weight)
