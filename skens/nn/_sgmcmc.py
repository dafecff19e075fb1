"""Stochastic-gradient MCMC samplers as torch optimizers.

Each sampler moves the parameters like an optimizer step on the potential
``U(theta) = -log p(theta) - (N / n) * sum_batch log p(y | x, theta)``: the
minibatch log-likelihood scaled to the whole data set (``n_data``), so that
the batch size does not change the spread of the stationary distribution,
plus a Gaussian prior. The loss the optimizer sees is the *mean* negative
log-likelihood over the batch (and over ``n_members`` ensemble members, each
its own chain, as :class:`EnsembleCriterion` averages them): its gradient is
multiplied by ``n_data * n_members``.
"""

import math

import torch
from torch.optim import Optimizer

__all__ = ["PSGLD", "SGHMC", "polynomial_step_size"]


def polynomial_step_size(first, last, n_steps, gamma=0.33):
    """The polynomially decaying step sizes ``a * (b + t) ** -gamma`` from ``first`` to ``last``.

    ``a`` and ``b`` are chosen so that step 0 has ``first`` and step
    ``n_steps - 1`` has ``last``, as jax-sgmc's
    ``polynomial_step_size_first_last`` does.

    Parameters
    ----------
    first, last : float
        Step sizes of the first and the last step, ``first >= last > 0``.
    n_steps : int
        Number of steps.
    gamma : float, default=0.33
        Decay exponent, positive.

    Returns
    -------
    step_size : callable
        ``step_size(t)`` for step ``t`` (from 0); after ``n_steps`` it keeps
        decaying by the same rule.

    Examples
    --------
    >>> from skens.nn import polynomial_step_size
    >>> schedule = polynomial_step_size(1e-2, 1e-3, n_steps=100)
    >>> round(schedule(0), 6), round(schedule(99), 6)
    (0.01, 0.001)
    """
    if not first >= last > 0:
        raise ValueError(f"need first >= last > 0, got first={first!r}, last={last!r}.")
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma!r}.")
    if n_steps < 2 or first == last:
        return _PolynomialSchedule(first, 0.0, 0.0)
    inv = 1.0 / gamma
    a = ((last**-inv - first**-inv) / (n_steps - 1)) ** -gamma
    b = (first / a) ** -inv
    return _PolynomialSchedule(a, b, gamma)


class _PolynomialSchedule:
    """``a * (b + t) ** -gamma`` as a picklable callable."""

    def __init__(self, a, b, gamma):
        self.a, self.b, self.gamma = float(a), float(b), float(gamma)

    def __call__(self, t):
        return self.a * (self.b + t) ** -self.gamma if self.gamma else self.a


class _SGMCMC(Optimizer):
    """Shared parts: the potential's gradient and the noise generator."""

    def __init__(self, params, defaults, seed):
        super().__init__(params, defaults)
        self.seed = seed
        self._generators = {}

    def _generator(self, device):
        if device not in self._generators:
            generator = torch.Generator(device=device)
            seed = self.seed if self.seed is not None else torch.seed()
            # One stream per device; seeded from the sampler's seed only.
            generator.manual_seed(int(seed) % 2**63)
            self._generators[device] = generator
        return self._generators[device]

    def _noise(self, p):
        return torch.randn(p.shape, generator=self._generator(p.device), device=p.device,
                           dtype=p.dtype)

    @torch.no_grad()
    def step(self, closure=None):
        """One step of the sampler on every parameter with a gradient.

        Parameters
        ----------
        closure : callable, default=None
            Re-evaluates the loss, as for any torch optimizer.

        Returns
        -------
        loss : tensor or None
            The closure's loss, if a closure was given.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, self._potential_grad(p, group), self.state[p], group)
        return loss

    def _update(self, p, grad, state, group):
        """Move ``p`` given the potential's gradient ``grad`` (in place)."""
        raise NotImplementedError

    @staticmethod
    def _potential_grad(p, group):
        """Gradient of ``U`` from the mean-loss gradient: likelihood scaled to the data, prior."""
        grad = p.grad * (group["n_data"] * group["n_members"])
        if group["prior_std"] is not None:
            grad = grad.add(p, alpha=1.0 / group["prior_std"] ** 2)
        return grad

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_generators", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._generators = {}


class PSGLD(_SGMCMC):
    """Preconditioned stochastic gradient Langevin dynamics (pSGLD).

    The update of Li et al. (2016) in the form of jax-sgmc's Langevin
    integrator with its RMSprop adaption::

        v     <- alpha * v + (1 - alpha) * g**2          (v starts at 1)
        G     =  1 / (eps + sqrt(v))
        theta <- theta - lr * G * g + sqrt(2 * temperature * lr * G) * xi

    with ``g`` the gradient of the potential ``U`` (see the module notes) and
    ``xi`` standard normal. The correction term ``Gamma`` of Li et al. is
    neglected, as in their experiments and in jax-sgmc. With
    ``temperature=0`` this is gradient descent preconditioned by RMSprop.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default=1e-3
        Step size ``lr`` (the "learning rate"; a schedule may change it
        per step through the parameter groups).
    n_data : int, default=1
        Number of training rows ``N``: the mean batch loss is scaled to the
        whole data set.
    n_members : int, default=1
        Number of ensemble members whose losses the training loss averages
        (each is a chain of its own).
    temperature : float, default=1.0
        Posterior temperature: ``1`` samples the posterior, below 1 a cold
        posterior, ``0`` no noise at all.
    prior_std : float or None, default=1.0
        Standard deviation of the zero-mean Gaussian prior on every
        parameter; ``None`` for a flat prior.
    alpha : float, default=0.9
        Decay of the RMSprop average of squared gradients.
    eps : float, default=1e-5
        The preconditioner's stabiliser ``lambda``.
    seed : int, default=None
        Seeds the noise (one generator per device); ``None`` draws a seed
        from torch.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import PSGLD
    >>> w = torch.nn.Parameter(torch.zeros(3))
    >>> sampler = PSGLD([w], lr=1e-2, n_data=100, seed=0)
    >>> (w - 1.0).pow(2).mean().backward()
    >>> sampler.step()
    >>> w.shape
    torch.Size([3])
    """

    def __init__(self, params, lr=1e-3, *, n_data=1, n_members=1, temperature=1.0,
                 prior_std=1.0, alpha=0.9, eps=1e-5, seed=None):
        _check_sampler_params(lr, n_data, n_members, temperature, prior_std)
        if not 0 <= alpha < 1:
            raise ValueError(f"alpha must be in [0, 1), got {alpha!r}.")
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps!r}.")
        defaults = dict(lr=lr, n_data=n_data, n_members=n_members, temperature=temperature,
                        prior_std=prior_std, alpha=alpha, eps=eps)
        super().__init__(params, defaults, seed)

    def _update(self, p, grad, state, group):
        lr, temperature = group["lr"], group["temperature"]
        if not state:
            state["square_avg"] = torch.ones_like(p)
        v = state["square_avg"]
        v.mul_(group["alpha"]).addcmul_(grad, grad, value=1 - group["alpha"])
        precond = (v.sqrt().add_(group["eps"])).reciprocal_()
        p.addcmul_(precond, grad, value=-lr)
        if temperature > 0:
            p.addcmul_(precond.mul_(2 * temperature * lr).sqrt_(), self._noise(p))


class SGHMC(_SGMCMC):
    """Stochastic gradient Hamiltonian Monte Carlo (Chen, Fox & Guestrin 2014).

    The discretisation of Chen et al.'s eq. (15), with unit mass and no
    estimate of the gradient noise (``beta_hat = 0``)::

        v     <- (1 - friction) * v - eta * g + sqrt(2 * friction * eta * temperature) * xi
        theta <- theta + v

    with ``g`` the gradient of the potential ``U`` and ``eta = lr / n_data``:
    with ``temperature=0`` the update is SGD with momentum ``1 - friction``
    and learning rate ``lr`` on the mean loss.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float, default=1e-2
        Learning rate on the mean loss (``eta * n_data``).
    n_data : int, default=1
        Number of training rows ``N``.
    n_members : int, default=1
        Number of ensemble members whose losses the training loss averages.
    temperature : float, default=1.0
        Posterior temperature.
    prior_std : float or None, default=1.0
        Standard deviation of the Gaussian prior; ``None`` for a flat prior.
    friction : float, default=0.05
        The friction ``alpha`` (one minus the momentum), in (0, 1].
    seed : int, default=None
        Seeds the noise.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import SGHMC
    >>> w = torch.nn.Parameter(torch.zeros(3))
    >>> sampler = SGHMC([w], lr=1e-2, n_data=100, seed=0)
    >>> (w - 1.0).pow(2).mean().backward()
    >>> sampler.step()
    >>> bool((w != 0).all())
    True
    """

    def __init__(self, params, lr=1e-2, *, n_data=1, n_members=1, temperature=1.0,
                 prior_std=1.0, friction=0.05, seed=None):
        _check_sampler_params(lr, n_data, n_members, temperature, prior_std)
        if not 0 < friction <= 1:
            raise ValueError(f"friction must be in (0, 1], got {friction!r}.")
        defaults = dict(lr=lr, n_data=n_data, n_members=n_members, temperature=temperature,
                        prior_std=prior_std, friction=friction)
        super().__init__(params, defaults, seed)

    def _update(self, p, grad, state, group):
        eta = group["lr"] / group["n_data"]
        friction, temperature = group["friction"], group["temperature"]
        if not state:
            state["momentum"] = torch.zeros_like(p)
        v = state["momentum"]
        v.mul_(1 - friction).add_(grad, alpha=-eta)
        if temperature > 0:
            v.add_(self._noise(p), alpha=math.sqrt(2 * friction * eta * temperature))
        p.add_(v)


def _check_sampler_params(lr, n_data, n_members, temperature, prior_std):
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr!r}.")
    if n_data < 1 or n_members < 1:
        raise ValueError(
            f"n_data and n_members must be at least 1, got {n_data!r} and {n_members!r}."
        )
    if temperature < 0:
        raise ValueError(f"temperature must be non-negative, got {temperature!r}.")
    if prior_std is not None and prior_std <= 0:
        raise ValueError(f"prior_std must be positive or None, got {prior_std!r}.")
