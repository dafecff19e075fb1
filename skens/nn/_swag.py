"""SWA and SWAG: the running moments of a network's weights, and samples from them."""

import copy
import math

import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

__all__ = ["SWAGMoments"]

_COVARIANCES = ("low_rank", "diagonal", "none")


class SWAGMoments:
    """The SWAG Gaussian over a module's weights, collected along a training run.

    Each :meth:`collect` adds the module's current weights: their running
    mean (the SWA solution), running mean of squares (a diagonal variance)
    and the last ``max_rank`` deviations from the running mean (a low-rank
    covariance), as in Maddox et al.'s official code.

    Parameters
    ----------
    module : torch.nn.Module
        The module whose parameters are tracked (a template: its structure
        is copied for the samples; it is not changed).
    max_rank : int, default=20
        Number of deviations kept for the low-rank part (``K``).

    Attributes
    ----------
    n_collected : int
        Number of weight vectors collected.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import SWAGMoments
    >>> layer = torch.nn.Linear(3, 2)
    >>> moments = SWAGMoments(layer, max_rank=5)
    >>> for _ in range(4):
    ...     with torch.no_grad():
    ...         _ = layer.weight.add_(0.1 * torch.randn(2, 3))
    ...     moments.collect(layer)
    >>> samples = moments.sample(3, generator=torch.Generator().manual_seed(0))
    >>> len(samples), samples[0].weight.shape
    (3, torch.Size([2, 3]))
    """

    def __init__(self, module, max_rank=20):
        if int(max_rank) != max_rank or max_rank < 1:
            raise ValueError(f"max_rank must be a positive integer, got {max_rank!r}.")
        self.template = copy.deepcopy(module).cpu()
        self.max_rank = int(max_rank)
        self.n_collected = 0
        size = sum(p.numel() for p in self.template.parameters())
        self.mean = torch.zeros(size, dtype=torch.float64)
        self.sq_mean = torch.zeros(size, dtype=torch.float64)
        self.deviations = []

    @torch.no_grad()
    def collect(self, module):
        """Add ``module``'s current weights.

        Parameters
        ----------
        module : torch.nn.Module
            A module of the template's architecture.
        """
        theta = parameters_to_vector(module.parameters()).detach().double().cpu()
        if theta.numel() != self.mean.numel():
            raise ValueError("collect needs a module of the template's architecture.")
        n = self.n_collected
        self.mean.mul_(n / (n + 1)).add_(theta / (n + 1))
        self.sq_mean.mul_(n / (n + 1)).add_(theta**2 / (n + 1))
        self.deviations = [*self.deviations, theta - self.mean][-self.max_rank :]
        self.n_collected += 1

    @property
    def variance(self):
        """The diagonal variance, ``sq_mean - mean**2`` (clamped at 1e-30)."""
        return (self.sq_mean - self.mean**2).clamp_min(1e-30)

    def _module(self, vector):
        module = copy.deepcopy(self.template)
        vector_to_parameters(vector.float(), module.parameters())
        return module

    def mean_module(self):
        """A copy of the template holding the mean weights: the SWA solution.

        Returns
        -------
        module : torch.nn.Module
            The copy.
        """
        self._check_collected()
        return self._module(self.mean)

    def sample(self, n_samples, *, covariance="low_rank", scale=0.5, generator=None):
        """Draw weight vectors from the SWAG Gaussian, as copies of the template.

        A sample is ``mean + sqrt(scale) * (sqrt(variance) * z1 + D z2 /
        sqrt(max_rank - 1))`` with ``D`` the kept deviations (at most
        ``max_rank``) and standard normal ``z1``, ``z2`` (the low-rank part
        only with ``covariance='low_rank'``); ``scale=0.5`` is the paper's
        ``1/2`` for the sum of the two covariances. As in Maddox et al.'s
        code, the low-rank part is divided by ``sqrt(max_rank - 1)`` even
        when fewer deviations were collected, so it is smaller then.

        Parameters
        ----------
        n_samples : int
            Number of modules.
        covariance : {'low_rank', 'diagonal', 'none'}, default='low_rank'
            ``'none'`` returns ``n_samples`` copies of the SWA mean.
        scale : float, default=0.5
            Scale of the covariance.
        generator : torch.Generator, default=None
            A CPU generator for the draws.

        Returns
        -------
        modules : list of torch.nn.Module
            ``n_samples`` copies of the template holding the sampled weights.
        """
        self._check_collected()
        if covariance not in _COVARIANCES:
            raise ValueError(f"covariance must be one of {_COVARIANCES}, got {covariance!r}.")
        if covariance == "none":
            return [self.mean_module() for _ in range(n_samples)]
        std = self.variance.sqrt()
        rank = len(self.deviations)
        low_rank = covariance == "low_rank"
        D = torch.stack(self.deviations, dim=1) if low_rank else None
        samples = []
        for _ in range(n_samples):
            z1 = torch.randn(std.shape, generator=generator, dtype=torch.float64)
            offset = std * z1
            if low_rank:
                z2 = torch.randn(rank, generator=generator, dtype=torch.float64)
                offset = offset + D @ z2 / math.sqrt(max(self.max_rank - 1, 1))
            samples.append(self._module(self.mean + math.sqrt(scale) * offset))
        return samples

    def _check_collected(self):
        if self.n_collected == 0:
            raise ValueError("no weights collected yet: call collect first.")
