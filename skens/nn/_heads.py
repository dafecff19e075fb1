"""Output heads that turn raw member outputs into distribution parameters."""

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["GaussianHead"]


class GaussianHead(nn.Module):
    """Split raw outputs into a Gaussian mean and a strictly positive variance.

    Parameters
    ----------
    n_outputs : int
        Number of regression targets. The input's last axis must have
        ``2 * n_outputs`` entries: the means, then the raw variances.
    min_variance : float, default=1e-6
        Floor added after the softplus, so the variance never reaches zero
        (which would make the negative log-likelihood unbounded).

    Examples
    --------
    >>> import torch
    >>> from skens.nn import GaussianHead
    >>> mean, var = GaussianHead(n_outputs=1)(torch.randn(5, 3, 2))
    >>> mean.shape, bool((var > 0).all())
    (torch.Size([5, 3, 1]), True)
    """

    def __init__(self, n_outputs, *, min_variance=1e-6):
        super().__init__()
        if min_variance <= 0:
            raise ValueError(f"min_variance must be positive, got {min_variance!r}.")
        self.n_outputs = n_outputs
        self.min_variance = min_variance

    def forward(self, x):
        """Split the last axis into means and variances.

        Parameters
        ----------
        x : tensor of shape (..., 2 * n_outputs)
            Raw outputs, e.g. ``(batch, n_members, 2 * n_outputs)``: the
            means, then the raw variances.

        Returns
        -------
        mean : tensor of shape (..., n_outputs)
            The first ``n_outputs`` entries of the last axis.
        var : tensor of shape (..., n_outputs)
            ``softplus`` of the last ``n_outputs`` entries plus
            ``min_variance``, strictly positive.
        """
        if x.shape[-1] != 2 * self.n_outputs:
            raise ValueError(
                f"GaussianHead expects {2 * self.n_outputs} raw outputs on the last "
                f"axis, got {x.shape[-1]}."
            )
        mean, raw = torch.split(x, self.n_outputs, dim=-1)
        return mean, F.softplus(raw) + self.min_variance

    def extra_repr(self):
        return f"n_outputs={self.n_outputs}, min_variance={self.min_variance}"
