"""SG-MCMC ensembles: several chains trained at once, their thinned samples as members."""

import copy
from numbers import Integral, Real

import numpy as np
from skorch.callbacks import Callback

from ..nn import PSGLD, SGHMC, polynomial_step_size
from ..utils._compat import Interval, StrOptions
from ._base import _store_params
from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor, _docstring

__all__ = ["SGMCMCClassifier", "SGMCMCRegressor", "ChainSampling"]

_SAMPLERS = {"psgld": PSGLD, "sghmc": SGHMC}


class ChainSampling(Callback):
    """Step-size schedule, data-size scaling and thinned samples of SG-MCMC chains.

    Before the first step, the sampler learns the number of training rows
    (``n_data`` of its parameter groups). Each step's size follows
    :func:`skens.nn.polynomial_step_size` from the optimizer's initial
    learning rate to ``final_lr_ratio`` times it, over the whole run. After
    ``burn_in`` epochs, a copy of ``net.module_.network`` (all chains) is
    kept every ``thinning`` epochs in :attr:`samples_`.

    Parameters
    ----------
    burn_in : int
        Epochs discarded before the first sample.
    thinning : int
        Epochs between two samples.
    final_lr_ratio : float
        Step size of the last step relative to the first.
    """

    def __init__(self, burn_in, thinning, final_lr_ratio):
        self.burn_in = burn_in
        self.thinning = thinning
        self.final_lr_ratio = final_lr_ratio

    def initialize(self):
        self.samples_ = []
        self._step = 0
        self._schedules = None
        return self

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self._schedules is not None:
            return
        n_steps = len(net.get_iterator(dataset_train, training=True)) * net.max_epochs
        self._schedules = []
        for group in net.optimizer_.param_groups:
            group["n_data"] = len(dataset_train)
            self._schedules.append(
                polynomial_step_size(group["lr"], group["lr"] * self.final_lr_ratio, n_steps)
            )

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        for group, schedule in zip(net.optimizer_.param_groups, self._schedules):
            group["lr"] = schedule(self._step)
        self._step += 1

    def on_epoch_end(self, net, **kwargs):
        after = len(net.history) - self.burn_in
        if after > 0 and after % self.thinning == 0:
            self.samples_.append(copy.deepcopy(net.module_.network).cpu())


_SGMCMC_PARAMETERS = """
    n_chains : int, default=4
        Markov chains run at once, as the members of one vectorized module
        (each with its own weights, initialisation and mini-batches).

    n_samples : int, default=10
        Samples kept per chain; the members are the ``n_chains * n_samples``
        samples.

    burn_in : int, default=50
        Epochs before the first sample.

    thinning : int, default=5
        Epochs between two samples of a chain. Training lasts
        ``burn_in + n_samples * thinning`` epochs.

    sampler : {'psgld', 'sghmc'}, default='psgld'
        :class:`skens.nn.PSGLD` (RMSprop-preconditioned Langevin dynamics,
        ``alpha=0.9``, ``lambda=1e-5``) or :class:`skens.nn.SGHMC`
        (friction 0.05).

    temperature : float, default=0.1
        Posterior temperature: 1 samples the Bayesian posterior, a value
        below 1 a cold posterior (the noise shrinks), 0 turns the chains
        into optimizers. The default, a cold posterior, had the lower loss
        than temperature 1 on 19 of 24 runs on the public benchmark tables
        and 17 of 24 on the external ones (``doc/benchmarks.md``), as cold
        posteriors did for Thaler et al.

    prior_std : float, default=1.0
        Standard deviation of the zero-mean Gaussian prior on every weight
        (it replaces weight decay).

    final_lr_ratio : float, default=0.1
        The step size decays polynomially (exponent 0.33) from ``lr`` to
        ``final_lr_ratio * lr`` over the run.
"""

_SGMCMC_LR = """
    lr : float, default=1e-3
        First step size: pSGLD's ``epsilon``, or SGHMC's learning rate on
        the mean loss (``eta * N``).
"""

_SGMCMC_NOTES = """
    Notes
    -----
    Thaler, Doehner & Zavadlav sample neural-network weights with
    stochastic-gradient MCMC (pSGLD, as implemented in ``jax-sgmc``): the
    potential is the negative log prior plus the minibatch negative
    log-likelihood scaled by ``N / batch``, so the spread of the samples
    does not depend on the batch size; step sizes decay polynomially;
    several chains are run, a burn-in is discarded and the rest thinned.
    Here the chains are the members of one vectorized module trained at
    once; every kept sample of every chain is a member, and
    ``chain_index_`` tells which chain a member comes from.

    For regression the likelihood is Gaussian with a noise variance
    predicted by the network (a learned, heteroscedastic noise scale whose
    weights are sampled with the others), in standardised target units.
    Deviations from the paper: the noise scale is not given its own prior
    or sampler, and the temperature scales the noise only (a cold
    posterior), not the prior. Sample weights and the class weights scale
    each row's log-likelihood.

    References
    ----------
    .. [1] S. Thaler, G. Doehner and J. Zavadlav, "Scalable Bayesian
       uncertainty quantification for neural network potentials: promise
       and pitfalls", J. Chem. Theory Comput. 19 (2023).
    .. [2] C. Li, C. Chen, D. Carlson and L. Carin, "Preconditioned
       Stochastic Gradient Langevin Dynamics for Deep Neural Networks",
       AAAI 2016.
    .. [3] T. Chen, E. Fox and C. Guestrin, "Stochastic Gradient
       Hamiltonian Monte Carlo", ICML 2014.
"""

_SGMCMC_ATTRIBUTES = """
    chain_index_ : ndarray of shape (n_chains * n_samples,)
        The chain of each member (members are ordered sample by sample,
        each sample holding every chain).
"""


class _SGMCMCMixin:
    """Sample with an SG-MCMC optimizer; the thinned samples replace the network."""

    _sgmcmc_constraints = {
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "burn_in": [Interval(Integral, 0, None, closed="left")],
        "thinning": [Interval(Integral, 1, None, closed="left")],
        "sampler": [StrOptions(set(_SAMPLERS))],
        "temperature": [Interval(Real, 0, None, closed="left")],
        "prior_std": [Interval(Real, 0, None, closed="neither")],
        "final_lr_ratio": [Interval(Real, 0, 1, closed="right")],
    }
    # Fixed by the method: each chain has its own weights (BatchEnsemble
    # would couple them), no dropout, the prior instead of weight decay, a
    # fixed number of epochs and no validation split.
    ensemble_type = "independent"
    dropout = 0.0
    weight_decay = 0.0
    early_stopping = False
    validation_fraction = 0.2
    patience = 10
    bootstrap = False

    @property
    def n_members(self):
        """Chains run at once: ``n_chains``."""
        return self.n_chains

    @property
    def max_epochs(self):
        """Epochs of training: ``burn_in + n_samples * thinning``."""
        return self.burn_in + self.n_samples * self.thinning

    def _get_optimizer(self):
        # The noise has its own seed from random_state (offset: an int
        # random_state's first draws seed the module and the batches).
        seed = self._extra_seed(2)
        params = dict(lr=self.lr, n_members=self.n_chains, temperature=self.temperature,
                      prior_std=self.prior_std, seed=seed)
        return _SAMPLERS[self.sampler], params

    def _get_callbacks(self, valid_dataset, patience, seen):
        sampling = ChainSampling(self.burn_in, self.thinning, self.final_lr_ratio)
        return [*super()._get_callbacks(valid_dataset, patience, seen),
                ("chain_sampling", sampling)]

    def _after_training(self, data):
        samples = dict(self.net_.callbacks_)["chain_sampling"].samples_
        if not samples:  # training stopped early (a callback interrupted it)
            raise RuntimeError(
                f"{type(self).__name__}: training stopped after {len(self.net_.history)} "
                f"epochs, before the first sample (after burn_in={self.burn_in} + "
                f"thinning={self.thinning} epochs); no member to predict with."
            )
        self._use_as_members(samples)
        self.chain_index_ = np.tile(np.arange(self.n_chains), len(samples))


class SGMCMCClassifier(_SGMCMCMixin, DeepEnsembleClassifier):
    """Bayesian neural network classifier sampled by SG-MCMC chains trained at once.

    ``n_chains`` networks are sampled by preconditioned stochastic gradient
    Langevin dynamics (or SGHMC) in one vectorized module; after a burn-in,
    every ``thinning`` epochs each chain's weights are kept, and the samples
    of all chains are the members.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(sgmcmc_parameters)s

%(parameters)s

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the likelihood, as for
        :class:`DeepEnsembleClassifier`.

%(trailing_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of ``predict_proba``'s columns.

%(sgmcmc_attributes)s

%(attributes)s

    See Also
    --------
    DeepEnsembleClassifier : Independently optimised members instead of samples.
    SGMCMCRegressor : The regression counterpart.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import SGMCMCClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = SGMCMCClassifier(n_chains=2, n_samples=3, burn_in=10, thinning=2,
    ...                        hidden_layer_sizes=(32,), random_state=0).fit(X, y)
    >>> clf.predict_proba_members(X[:2]).shape
    (6, 2, 2)
    >>> clf.chain_index_
    array([0, 1, 0, 1, 0, 1])
    """

    _parameter_constraints = {
        **{k: v for k, v in DeepEnsembleClassifier._parameter_constraints.items()
           if k not in _SGMCMCMixin.__dict__ and k != "n_members"},
        **_SGMCMCMixin._sgmcmc_constraints,
    }

    def __init__(
        self,
        *,
        n_chains=4,
        n_samples=10,
        burn_in=50,
        thinning=5,
        sampler="psgld",
        temperature=0.1,
        prior_std=1.0,
        final_lr_ratio=0.1,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        lr=1e-3,
        batch_size="auto",
        categorical_features="from_dtype",
        numeric_scaling="quantile",
        numeric_embedding="periodic",
        class_weight=None,
        callbacks=None,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
    ):
        _store_params(self, locals())


class SGMCMCRegressor(_SGMCMCMixin, DeepEnsembleRegressor):
    """Bayesian neural network regressor sampled by SG-MCMC chains trained at once.

    Each sample predicts a Gaussian (mean and a learned noise variance);
    the members are the samples of all chains, mixed as the members of a
    deep ensemble, so ``predict(X, return_std=True)`` and
    ``predict_uncertainty`` give the posterior predictive's spread.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(sgmcmc_parameters)s

%(parameters)s

%(trailing_parameters)s

    Attributes
    ----------
    n_outputs_ : int
        Number of regression targets.

    target_scaler_ : StandardScaler
        Standardises the targets for training.

    noise_variance_ : None
        Always ``None``: each sample predicts its own variance.

%(sgmcmc_attributes)s

%(attributes)s

    See Also
    --------
    DeepEnsembleRegressor : Independently optimised members instead of samples.
    SGMCMCClassifier : The classification counterpart.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skens import SGMCMCRegressor
    >>> X, y = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=0)
    >>> reg = SGMCMCRegressor(n_chains=2, n_samples=3, burn_in=10, thinning=2,
    ...                       hidden_layer_sizes=(32,), random_state=0).fit(X, y)
    >>> mean, std = reg.predict(X[:4], return_std=True)
    >>> reg.predict_members(X[:4]).shape
    (6, 4)
    """

    _parameter_constraints = {
        **{k: v for k, v in DeepEnsembleRegressor._parameter_constraints.items()
           if k not in _SGMCMCMixin.__dict__ and k not in ("n_members", "loss")},
        **_SGMCMCMixin._sgmcmc_constraints,
    }
    # The likelihood must have a noise scale: the Gaussian NLL.
    loss = "gaussian_nll"

    def __init__(
        self,
        *,
        n_chains=4,
        n_samples=10,
        burn_in=50,
        thinning=5,
        sampler="psgld",
        temperature=0.1,
        prior_std=1.0,
        final_lr_ratio=0.1,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        lr=1e-3,
        batch_size="auto",
        categorical_features="from_dtype",
        numeric_scaling="quantile",
        numeric_embedding="periodic",
        callbacks=None,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
    ):
        _store_params(self, locals())


def _sgmcmc_docstring(doc):
    fixed = ("n_members", "ensemble_type", "dropout", "weight_decay", "max_epochs",
             "early_stopping", "validation_fraction", "patience", "bootstrap", "n_jobs")
    return _docstring(
        doc, omit=fixed, replace={"lr": _SGMCMC_LR},
        sgmcmc_parameters=_SGMCMC_PARAMETERS, sgmcmc_attributes=_SGMCMC_ATTRIBUTES,
        notes=_SGMCMC_NOTES,
    )


SGMCMCClassifier.__doc__ = _sgmcmc_docstring(SGMCMCClassifier.__doc__)
SGMCMCRegressor.__doc__ = _sgmcmc_docstring(SGMCMCRegressor.__doc__)
