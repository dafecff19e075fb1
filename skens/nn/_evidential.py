"""Deep evidential regression: a Normal-Inverse-Gamma per target and member.

Amini et al. (2020) let a network output the four parameters
``(gamma, nu, alpha, beta)`` of a Normal-Inverse-Gamma (NIG) prior over the
mean and variance of a Gaussian likelihood. Integrating the prior out gives
a Student-t predictive distribution, trained by its negative
log-likelihood plus a regulariser that shrinks the evidence ``2 nu + alpha``
where the mean is wrong. With ``gamma`` the mean,

- aleatoric variance ``E[sigma^2] = beta / (alpha - 1)``;
- epistemic variance ``Var[mu] = beta / (nu (alpha - 1))``;
- predictive distribution: Student-t with ``2 alpha`` degrees of freedom,
  location ``gamma`` and squared scale ``beta (1 + nu) / (nu alpha)``, whose
  variance is the sum of the two above.

Predictions are laid out ``(batch, n_members, n_outputs)`` as everywhere in
:mod:`skens.nn`, and the weights follow the conventions of
:mod:`skens.nn._losses`.

References
----------
.. [1] A. Amini, W. Schwarting, A. Soleimany and D. Rus, "Deep Evidential
   Regression", NeurIPS 2020; code: github.com/aamini/evidential-deep-learning.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._losses import _member_target, _weighted_mean
from ._mlp import EnsembleMLP
from ._tasks import _RegressionTask

__all__ = [
    "EvidentialEnsembleMLP",
    "EvidentialHead",
    "EvidentialRegressionTask",
    "evidential_moments",
    "evidential_nll",
    "evidential_regularizer",
]


def evidential_nll(gamma, nu, alpha, beta, target):
    """Negative log-likelihood of ``target`` under the NIG evidential model.

    The NIG prior integrated out gives a Student-t with ``2 * alpha``
    degrees of freedom, location ``gamma`` and squared scale
    ``beta * (1 + nu) / (nu * alpha)``; this is its negative log-density,
    written as in the paper (eq. 8) and its official code::

        0.5 log(pi / nu) - alpha log(Omega) + (alpha + 0.5) log(nu (y - gamma)^2 + Omega)
        + lgamma(alpha) - lgamma(alpha + 0.5),    Omega = 2 beta (1 + nu).

    Parameters
    ----------
    gamma : tensor
        Predicted mean.
    nu : tensor
        Evidence for the mean, strictly positive.
    alpha : tensor
        Shape of the inverse-gamma, greater than 1.
    beta : tensor
        Scale of the inverse-gamma, strictly positive.
    target : tensor
        Regression targets.

    Returns
    -------
    nll : tensor
        The elementwise negative log-likelihood, of the arguments' broadcast
        shape.

    See Also
    --------
    evidential_regularizer : The paper's evidence regulariser.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import evidential_nll
    >>> gamma, nu, alpha, beta = torch.tensor([0.5, 1.0, 2.0, 1.5]).unbind()
    >>> y = torch.tensor([0.0, 1.0, -1.0])
    >>> nll = evidential_nll(gamma, nu, alpha, beta, y)
    >>> [round(v, 4) for v in nll.tolist()]
    [1.2856, 1.2856, 1.9797]
    >>> # The negative log-density of the predictive Student-t:
    >>> scale = (beta * (1 + nu) / (nu * alpha)).sqrt()
    >>> student_t = torch.distributions.StudentT(2 * alpha, loc=gamma, scale=scale)
    >>> torch.allclose(nll, -student_t.log_prob(y))
    True
    """
    omega = 2 * beta * (1 + nu)
    return (
        0.5 * torch.log(math.pi / nu)
        - alpha * torch.log(omega)
        + (alpha + 0.5) * torch.log(nu * (target - gamma) ** 2 + omega)
        + torch.lgamma(alpha)
        - torch.lgamma(alpha + 0.5)
    )


def evidential_regularizer(gamma, nu, alpha, beta, target):
    """The evidence regulariser ``|y - gamma| * (2 nu + alpha)``.

    Penalises evidence (``2 nu + alpha``, the NIG's virtual observations)
    in proportion to the error, so that the model is less confident where
    it is wrong (paper, eq. 9; official code ``NIG_Reg``, whose error term is
    not detached from the graph).

    Parameters
    ----------
    gamma : tensor
        Predicted mean.
    nu : tensor
        Evidence for the mean, strictly positive.
    alpha : tensor
        Shape of the inverse-gamma, greater than 1.
    beta : tensor
        Scale of the inverse-gamma; unused, accepted for a signature like
        :func:`evidential_nll`'s.
    target : tensor
        Regression targets.

    Returns
    -------
    reg : tensor
        The elementwise regulariser, of the arguments' broadcast shape.

    See Also
    --------
    evidential_nll : The negative log-likelihood it is added to.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import evidential_regularizer
    >>> evidential_regularizer(torch.tensor(1.0), torch.tensor(0.5), torch.tensor(2.0),
    ...                        torch.tensor(1.0), torch.tensor(3.0))  # 2 * (1 + 2)
    tensor(6.)
    """
    del beta
    return (target - gamma).abs() * (2 * nu + alpha)


def evidential_moments(gamma, nu, alpha, beta):
    """Mean, aleatoric and epistemic variance of NIG parameters.

    Parameters
    ----------
    gamma : tensor or ndarray
        Predicted mean.
    nu : tensor or ndarray
        Evidence for the mean, strictly positive.
    alpha : tensor or ndarray
        Shape of the inverse-gamma, greater than 1.
    beta : tensor or ndarray
        Scale of the inverse-gamma, strictly positive.

    Returns
    -------
    mean : tensor or ndarray
        ``E[mu] = gamma``.
    aleatoric : tensor or ndarray
        ``E[sigma^2] = beta / (alpha - 1)``, the noise the model expects.
    epistemic : tensor or ndarray
        ``Var[mu] = beta / (nu (alpha - 1))``, its uncertainty about the
        mean. ``aleatoric + epistemic`` is the variance of the predictive
        Student-t.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import evidential_moments
    >>> mean, aleatoric, epistemic = evidential_moments(
    ...     torch.tensor(1.0), torch.tensor(4.0), torch.tensor(3.0), torch.tensor(2.0))
    >>> mean.item(), aleatoric.item(), epistemic.item()
    (1.0, 1.0, 0.25)
    """
    aleatoric = beta / (alpha - 1)
    return gamma, aleatoric, aleatoric / nu


class EvidentialHead(nn.Module):
    """Split raw outputs into the NIG parameters ``(gamma, nu, alpha, beta)``.

    As in the official code (``DenseNormalGamma``): ``gamma`` is the raw
    value, ``nu = softplus``, ``alpha = softplus + 1``, ``beta = softplus``;
    here each ``softplus`` gets ``min_evidence`` added, so the constraints
    hold strictly even where a float32 softplus underflows to zero. Half
    precision inputs (mixed-precision training) are cast to float32 first,
    where ``alpha > 1`` survives the rounding.

    Parameters
    ----------
    n_outputs : int
        Number of regression targets. The input's last axis must have
        ``4 * n_outputs`` entries: the raw ``gamma``, ``nu``, ``alpha`` and
        ``beta`` of every target, in this order.
    min_evidence : float, default=1e-6
        Floor added after each softplus: ``nu > 0``, ``alpha > 1`` and
        ``beta > 0`` always, so the NLL and the variances stay finite.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EvidentialHead
    >>> gamma, nu, alpha, beta = EvidentialHead(n_outputs=1)(torch.randn(5, 3, 4))
    >>> gamma.shape, bool((nu > 0).all()), bool((alpha > 1).all()), bool((beta > 0).all())
    (torch.Size([5, 3, 1]), True, True, True)
    """

    def __init__(self, n_outputs, *, min_evidence=1e-6):
        super().__init__()
        if min_evidence <= 0:
            raise ValueError(f"min_evidence must be positive, got {min_evidence!r}.")
        self.n_outputs = n_outputs
        self.min_evidence = min_evidence

    def forward(self, x):
        """Split the last axis into the four NIG parameters.

        Parameters
        ----------
        x : tensor of shape (..., 4 * n_outputs)
            Raw outputs, e.g. ``(batch, n_members, 4 * n_outputs)``: the raw
            ``gamma``, ``nu``, ``alpha``, then ``beta``.

        Returns
        -------
        gamma : tensor of shape (..., n_outputs)
            The predicted means, the first ``n_outputs`` entries.
        nu : tensor of shape (..., n_outputs)
            ``softplus + min_evidence``, strictly positive.
        alpha : tensor of shape (..., n_outputs)
            ``softplus + 1 + min_evidence``, greater than 1.
        beta : tensor of shape (..., n_outputs)
            ``softplus + min_evidence``, strictly positive.
        """
        if x.shape[-1] != 4 * self.n_outputs:
            raise ValueError(
                f"EvidentialHead expects {4 * self.n_outputs} raw outputs on the last "
                f"axis, got {x.shape[-1]}."
            )
        if x.dtype in (torch.float16, torch.bfloat16):
            # In 16 bits, 1 + softplus + min_evidence rounds to 1 for small evidence.
            x = x.float()
        gamma, nu, alpha, beta = torch.split(x, self.n_outputs, dim=-1)
        nu, alpha, beta = (F.softplus(t) + self.min_evidence for t in (nu, alpha, beta))
        return gamma, nu, alpha + 1, beta

    def extra_repr(self):
        return f"n_outputs={self.n_outputs}, min_evidence={self.min_evidence}"


class EvidentialEnsembleMLP(nn.Module):
    """An :class:`EnsembleMLP` whose members each predict NIG parameters.

    Parameters
    ----------
    in_features : int
        Number of input features.
    n_outputs : int
        Number of regression targets.
    n_members : int
        Number of ensemble members (1 for the paper's single network).
    min_evidence : float, default=1e-6
        Floor of the :class:`EvidentialHead`.
    **mlp_params
        Passed to :class:`EnsembleMLP` (``hidden_layer_sizes``, ``activation``,
        ``dropout``, ``ensemble_type``, ``generator``...).

    Notes
    -----
    Returns ``(gamma, nu, alpha, beta)``, each ``(batch, n_members, n_outputs)``.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EvidentialEnsembleMLP
    >>> mlp = EvidentialEnsembleMLP(6, 2, n_members=4, hidden_layer_sizes=(8,))
    >>> [t.shape for t in mlp(torch.randn(3, 6))]
    [torch.Size([3, 4, 2]), torch.Size([3, 4, 2]), torch.Size([3, 4, 2]), torch.Size([3, 4, 2])]
    """

    def __init__(self, in_features, n_outputs, n_members, *, min_evidence=1e-6, **mlp_params):
        super().__init__()
        self.mlp = EnsembleMLP(in_features, 4 * n_outputs, n_members, **mlp_params)
        self.head = EvidentialHead(n_outputs, min_evidence=min_evidence)

    def forward(self, x):
        """Predict every member's NIG parameters.

        Parameters
        ----------
        x : tensor of shape (batch, in_features) or (n_members, batch, in_features)
            Input rows shared by all members, or member-specific rows (each
            member reads its own mini-batch).

        Returns
        -------
        gamma, nu, alpha, beta : tensors of shape (batch, n_members, n_outputs)
            Each member's NIG parameters (see :class:`EvidentialHead`).
        """
        return self.head(self.mlp(x))


class EvidentialRegressionTask(_RegressionTask):
    """Deep evidential regression: NIG parameters per member, evidential loss, R².

    The module is an :class:`EvidentialEnsembleMLP`, returning the tuple
    ``(gamma, nu, alpha, beta)``. Members train on the paper's loss, the NIG
    negative log-likelihood plus ``coeff`` times the evidence regulariser;
    the ensemble is judged by the NLL of the uniform mixture of the members'
    Student-t predictive distributions (with one member, the paper's NLL)
    and by the R² of the mean of the ``gamma``.

    Parameters
    ----------
    coeff : float, default=1e-2
        Weight ``lambda`` of the regulariser. The official examples
        (``hello_world.py``, the cubic toy experiments) use ``1e-2``; the
        package's ``EvidentialRegression`` defaults to ``1.0`` and the UCI
        trainer adapts ``lambda`` during training, which is not done here.

    Attributes
    ----------
    loss_name : str
        ``'evidential'``.
    score_name : str
        ``'r2'``.
    predicts_variance : bool
        ``True``.

    See Also
    --------
    evidential_nll : The negative log-likelihood.
    evidential_regularizer : The regulariser.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EvidentialRegressionTask
    >>> task = EvidentialRegressionTask(coeff=0.01)
    >>> module = task.build_module(6, 2, n_members=3, hidden_layer_sizes=(8,))
    >>> y_pred = module(torch.zeros(5, 6))
    >>> len(y_pred), y_pred[0].shape
    (4, torch.Size([5, 3, 2]))
    >>> task.point_prediction(y_pred).shape
    torch.Size([5, 2])
    >>> one = torch.ones(4, 1, 1)
    >>> nig = (0 * one, one, 2 * one, one)  # gamma=0, nu=1, alpha=2, beta=1: a t with 4 df
    >>> round(task.member_loss(nig, torch.zeros(4, 1)).item(), 4)
    0.9808
    >>> round(task.member_loss(nig, torch.ones(4, 1)).item(), 4)  # NLL 1.5387 + 0.01 * 4
    1.5787
    """

    loss_name = "evidential"
    predicts_variance = True

    def __init__(self, coeff=1e-2):
        if not coeff >= 0:
            raise ValueError(f"coeff must be non-negative, got {coeff!r}.")
        self.coeff = coeff

    def _member_means(self, y_pred):
        return y_pred[0]

    def module_spec(self, in_features, n_outputs, n_members, **mlp_params):
        """An :class:`EvidentialEnsembleMLP` with ``n_outputs`` NIGs per member.

        Parameters
        ----------
        in_features : int
            Number of input columns.
        n_outputs : int
            Number of regression targets.
        n_members : int
            Number of ensemble members.
        **mlp_params
            Passed on to :class:`EvidentialEnsembleMLP`.

        Returns
        -------
        module_class : type
            :class:`EvidentialEnsembleMLP`.
        params : dict
            Its keyword arguments.
        """
        params = dict(in_features=in_features, n_members=n_members, **mlp_params)
        return EvidentialEnsembleMLP, dict(params, n_outputs=n_outputs)

    def member_loss(self, y_pred, target, weight=None):
        """Mean over rows and members of the NIG NLL plus ``coeff`` times the regulariser.

        Parameters
        ----------
        y_pred : tuple of 4 tensors
            Each member's ``(gamma, nu, alpha, beta)``,
            ``(batch, n_members, n_outputs)``.
        target : tensor of shape (batch, n_outputs) or (batch, n_members, n_outputs)
            Regression targets, shared by the members or one row per member.
        weight : tensor of shape (batch, n_members), optional
            Loss weights, normalised to mean 1 over the data set; the result
            is the batch mean of ``weight * loss`` (see :mod:`skens.nn._losses`).

        Returns
        -------
        loss : tensor of shape ()
            The mean over the batch and the members of each row's loss,
            averaged over the outputs.
        """
        gamma = y_pred[0]
        target = _member_target(target, gamma)
        losses = evidential_nll(*y_pred, target)
        if self.coeff:
            losses = losses + self.coeff * evidential_regularizer(*y_pred, target)
        return _weighted_mean(losses.mean(dim=-1), weight)

    def ensemble_loss(self, y_pred, target, weight=None):
        """NLL of the uniform mixture of the members' Student-t distributions.

        Parameters
        ----------
        y_pred : tuple of 4 tensors
            Each member's ``(gamma, nu, alpha, beta)``,
            ``(batch, n_members, n_outputs)``.
        target : tensor of shape (batch, n_outputs)
            Regression targets.
        weight : tensor of shape (batch,), optional
            Loss weights, normalised to mean 1 over the data set.

        Returns
        -------
        loss : tensor of shape ()
            The batch mean of the negative log-density of the target under
            the equally weighted mixture of the members' Student-t (over all
            outputs jointly), divided by ``n_outputs``. With one member, the
            mean NIG NLL.
        """
        gamma = y_pred[0]
        log_pdf = -evidential_nll(*y_pred, _member_target(target, gamma)).sum(dim=-1)
        log_mix = torch.logsumexp(log_pdf, dim=1) - math.log(gamma.shape[1])
        return _weighted_mean(-log_mix / gamma.shape[-1], weight)

    def __repr__(self):
        return f"{type(self).__name__}(coeff={self.coeff!r})"
