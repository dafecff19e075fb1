"""skorch callbacks for the deep estimators' ``callbacks`` parameter.

Importing this module imports torch and skorch (``import skens`` does not).
"""

import torch
from skorch.callbacks import Callback

__all__ = ["GradientNoise", "gradient_noise_std"]


def gradient_noise_std(step, eta=0.01, gamma=0.55):
    """Standard deviation of the annealed gradient noise at optimizer step ``step``.

    Neelakantan et al.'s schedule: the variance is ``eta / (1 + step) ** gamma``.

    Parameters
    ----------
    step : int
        Optimizer step, from 0.
    eta : float, default=0.01
        Variance at the first step.
    gamma : float, default=0.55
        Decay exponent.

    Returns
    -------
    std : float
        ``sqrt(eta / (1 + step) ** gamma)``.

    Examples
    --------
    >>> from skens.callbacks import gradient_noise_std
    >>> gradient_noise_std(0, eta=0.01)
    0.1
    >>> round(gradient_noise_std(99, eta=0.01, gamma=0.55), 4)
    0.0282
    """
    return float((eta / (1.0 + step) ** gamma) ** 0.5)


class GradientNoise(Callback):
    """Annealed Gaussian noise added to every gradient (Neelakantan et al. 2015).

    After each training step's backward pass, each gradient element gets
    independent noise ``N(0, eta / (1 + t) ** gamma)`` at optimizer step
    ``t``: the members of an ensemble (their own weights, or their own
    adapters) get independent noise. Pass it to any deep estimator::

        DeepEnsembleClassifier(callbacks=[("noise", GradientNoise(eta=0.01))])

    Parameters
    ----------
    eta : float, default=0.01
        Noise variance at the first step (the paper tries 0.01, 0.3 and 1).
    gamma : float, default=0.55
        Decay exponent of the variance, as in the paper.
    seed : int or None, default=None
        Seeds the noise. ``None``: derived from the net's seed (the
        estimator's ``random_state``), so a seeded fit stays reproducible.

    Attributes
    ----------
    step_ : int
        Optimizer steps seen in the current fit.

    References
    ----------
    .. [1] A. Neelakantan, L. Vilnis, Q. V. Le, I. Sutskever, L. Kaiser,
       K. Kurach and J. Martens, "Adding Gradient Noise Improves Learning for
       Very Deep Networks", arXiv:1511.06807, 2015.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import DeepEnsembleClassifier
    >>> from skens.callbacks import GradientNoise
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = DeepEnsembleClassifier(n_members=2, hidden_layer_sizes=(16,), max_epochs=5,
    ...                              callbacks=[("noise", GradientNoise(eta=0.01))],
    ...                              random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.8
    True
    """

    def __init__(self, eta=0.01, gamma=0.55, seed=None):
        self.eta = eta
        self.gamma = gamma
        self.seed = seed

    def initialize(self):
        """Check the parameters and reset the step count (skorch calls it before a fit)."""
        if not self.eta > 0:
            raise ValueError(f"GradientNoise: eta must be positive, got {self.eta!r}.")
        if not self.gamma >= 0:
            raise ValueError(f"GradientNoise: gamma must be non-negative, got {self.gamma!r}.")
        self.step_ = 0
        self._generators = {}
        return self

    def _generator(self, net, device):
        if device not in self._generators:
            seed = self.seed
            if seed is None:
                seed = getattr(net, "seed", None)
                seed = torch.seed() if seed is None else int(seed) + 5
            self._generators[device] = torch.Generator(device=device).manual_seed(
                int(seed) % 2**63
            )
        return self._generators[device]

    def on_train_begin(self, net, **kwargs):
        """Start counting steps from 0."""
        self.step_ = 0

    def on_grad_computed(self, net, named_parameters, training=False, **kwargs):
        """Add the step's noise to every gradient (training steps only)."""
        if not training:
            return
        std = gradient_noise_std(self.step_, self.eta, self.gamma)
        with torch.no_grad():
            for _, param in named_parameters:
                if param.grad is None:
                    continue
                noise = torch.randn(
                    param.grad.shape,
                    generator=self._generator(net, param.grad.device),
                    device=param.grad.device,
                    dtype=param.grad.dtype,
                )
                param.grad.add_(noise, alpha=std)
        self.step_ += 1

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_generators", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._generators = {}
