"""SWA and SWAG estimators: weight averaging after training, and its Gaussian sampled as members."""

from numbers import Integral, Real

import numpy as np
import torch

from ..callbacks import _phase_progress
from ..exceptions import TrainingDivergedError
from ..nn import FeatureEmbedding, SWAGMoments
from ..utils._compat import Interval, StrOptions
from ._base import _store_params
from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor, _docstring

__all__ = ["SWAGClassifier", "SWAGRegressor"]

_SWAG_PARAMETERS = """
    n_samples : int, default=30
        Weight samples drawn from the SWAG Gaussian of each trained network:
        the members (times ``n_members``). Ignored with
        ``covariance='none'`` (SWA: one member per network).

    covariance : {'low_rank', 'diagonal', 'none'}, default='low_rank'
        ``'low_rank'``: SWAG, a diagonal plus low-rank Gaussian;
        ``'diagonal'``: SWAG-Diagonal; ``'none'``: SWA, the averaged weights
        alone.

    swa_epochs : int, default=20
        Epochs of training after the usual fit, at the constant learning
        rate ``swa_lr``; the weights are collected at the end of each.

    swa_lr : float or None, default=None
        Learning rate of the SWA epochs; ``None`` uses ``lr / 10``. (The
        tenth had the lower loss than ``lr`` itself on 21 of 24 runs on the
        public benchmark tables and 20 of 24 on the external ones; see
        ``doc/benchmarks.md``).

    max_rank : int, default=20
        Deviations kept for the low-rank part of the covariance (``K``). As
        in Maddox et al.'s code, that part is divided by ``sqrt(K - 1)``
        even when fewer than ``K`` epochs were collected
        (``swa_epochs < max_rank``), which makes it smaller.

    n_members : int, default=1
        Networks trained at once (each gives ``n_samples`` members).
"""

_SWAG_NOTES = """
    Notes
    -----
    Izmailov et al.'s SWA averages the weights visited by training at a
    constant (or cyclic) learning rate after a pretraining phase; Maddox et
    al.'s SWAG fits a Gaussian to them, with the diagonal variance and the
    last ``K`` deviations from the running mean as a low-rank part, and
    samples ``theta = mean + (sqrt(var) z1 + D z2 / sqrt(K - 1)) / sqrt(2)``.
    Here the pretraining is the deep ensemble's fit (with early stopping
    and its best weights restored), followed by ``swa_epochs`` epochs at
    ``swa_lr``, collecting once per epoch. Deviations from the papers: the
    optimizer of both phases is AdamW (the papers use SGD), and the network
    has no batch normalisation, so no statistics are recomputed. Samples
    are drawn once, at the end of ``fit``, and evaluated together as the
    members of a deep ensemble (:func:`skens.nn.stack_members`).

    References
    ----------
    .. [1] P. Izmailov, D. Podoprikhin, T. Garipov, D. Vetrov and A. G.
       Wilson, "Averaging Weights Leads to Wider Optima and Better
       Generalization", UAI 2018.
    .. [2] W. J. Maddox, P. Izmailov, T. Garipov, D. P. Vetrov and A. G.
       Wilson, "A Simple Baseline for Bayesian Uncertainty in Deep
       Learning", NeurIPS 2019.
"""


class _SWAGMixin:
    """Train on at a constant rate, collect the moments, sample the members."""

    _swag_constraints = {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "covariance": [StrOptions({"low_rank", "diagonal", "none"})],
        "swa_epochs": [Interval(Integral, 1, None, closed="left")],
        "swa_lr": [Interval(Real, 0, None, closed="neither"), None],
        "max_rank": [Interval(Integral, 2, None, closed="left")],
    }

    def _after_training(self, data):
        net = self.net_
        train, _ = self._make_datasets(data)
        lr = self.lr / 10 if self.swa_lr is None else self.swa_lr
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        moments = SWAGMoments(net.module_.network, max_rank=self.max_rank)
        curve = []
        progress = _phase_progress(self, self.swa_epochs, "SWA epochs")
        try:
            for epoch in range(self.swa_epochs):
                losses = [net.train_step(batch)["loss"].detach()
                          for batch in net.get_iterator(train, training=True)]
                curve.append(float(torch.stack(losses).float().mean()))
                if not np.isfinite(curve[-1]):  # skorch's callbacks do not run here
                    raise TrainingDivergedError(
                        f"Training diverged: the train loss became {curve[-1]} at SWA epoch "
                        f"{epoch + 1}. Try a lower swa_lr (now {lr!r}) or learning rate."
                    )
                moments.collect(net.module_.network)
                progress.epoch(f"train_loss={curve[-1]:.4g}")
        finally:
            progress.close()
        self.swa_loss_curve_ = curve
        net.module_.eval()
        # + 3: an int random_state's first draws also seed the module and batches.
        generator = torch.Generator().manual_seed(self._extra_seed(3))
        n_samples = 1 if self.covariance == "none" else self.n_samples
        samples = moments.sample(n_samples, covariance=self.covariance, generator=generator)
        fill = dict(net.callbacks_).get("fill_unseen")
        if fill is not None:  # untrained category codes at the mean of the trained ones
            for layer in (m for sample in samples for m in sample.modules()):
                if isinstance(layer, FeatureEmbedding):
                    layer.fill_unseen(fill.seen)
        self._use_as_members(samples)


class SWAGClassifier(_SWAGMixin, DeepEnsembleClassifier):
    """SWAG classifier: a Gaussian over one network's weights, its samples as members.

    A :class:`DeepEnsembleClassifier` of ``n_members`` networks (one by
    default) is trained as usual, then for ``swa_epochs`` more epochs at a
    constant learning rate while the moments of its weights are collected;
    the members are ``n_samples`` weight samples from that Gaussian (or the
    averaged weights alone with ``covariance='none'``, SWA).

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(swag_parameters)s

%(parameters)s

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the loss, as for
        :class:`DeepEnsembleClassifier`.

%(trailing_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of ``predict_proba``'s columns.

%(attributes)s

    swa_loss_curve_ : list of float
        Mean training loss of each SWA epoch (the weights collected after it).

    validation_scores_ : list of float or None
        The network's accuracy on the validation split at each epoch of the
        first phase; ``None`` without early stopping.

    See Also
    --------
    DeepEnsembleClassifier : Independently trained members instead of weight samples.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import SWAGClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = SWAGClassifier(n_samples=8, swa_epochs=5, hidden_layer_sizes=(32,),
    ...                      max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba_members(X[:2]).shape
    (8, 2, 2)
    """

    _parameter_constraints = {
        **DeepEnsembleClassifier._parameter_constraints,
        **_SWAGMixin._swag_constraints,
    }

    def __init__(
        self,
        *,
        n_samples=30,
        covariance="low_rank",
        swa_epochs=20,
        swa_lr=None,
        max_rank=20,
        n_members=1,
        ensemble_type="batchensemble",
        hidden_layer_sizes=(256, 256),
        activation="relu",
        dropout=0.1,
        lr=1e-3,
        weight_decay=1e-4,
        batch_size="auto",
        max_epochs=200,
        early_stopping=True,
        validation_fraction=0.2,
        patience=10,
        bootstrap=False,
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


class SWAGRegressor(_SWAGMixin, DeepEnsembleRegressor):
    """SWAG regressor: a Gaussian over one network's weights, its samples as members.

    A :class:`DeepEnsembleRegressor` of ``n_members`` networks (one by
    default) is trained as usual, then for ``swa_epochs`` more epochs at a
    constant learning rate while the moments of its weights are collected;
    each of the ``n_samples`` weight samples predicts a Gaussian
    (``loss='gaussian_nll'``) or a point with its residual noise
    (``loss='mse'``), mixed as the members of a deep ensemble.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(swag_parameters)s

%(parameters)s

    loss : {'gaussian_nll', 'mse'}, default='gaussian_nll'
        Training loss, as for :class:`DeepEnsembleRegressor`.

%(trailing_parameters)s

    Attributes
    ----------
    n_outputs_ : int
        Number of regression targets.

    target_scaler_ : StandardScaler
        Standardises the targets for training.

    noise_variance_ : ndarray of shape (n_members * n_samples, n_outputs) or None
        With ``loss='mse'``: each sample's mean squared residual on held-out
        rows; ``None`` with the Gaussian loss.

%(attributes)s

    swa_loss_curve_ : list of float
        Mean training loss of each SWA epoch (the weights collected after it).

    validation_scores_ : list of float or None
        The network's R² on the validation split at each epoch of the
        first phase; ``None`` without early stopping.

    See Also
    --------
    DeepEnsembleRegressor : Independently trained members instead of weight samples.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skens import SWAGRegressor
    >>> X, y = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=0)
    >>> reg = SWAGRegressor(n_samples=8, swa_epochs=5, hidden_layer_sizes=(32,),
    ...                     max_epochs=20, random_state=0).fit(X, y)
    >>> mean, std = reg.predict(X[:3], return_std=True)
    >>> reg.predict_members(X[:3]).shape
    (8, 3)
    """

    _parameter_constraints = {
        **DeepEnsembleRegressor._parameter_constraints,
        **_SWAGMixin._swag_constraints,
    }

    def __init__(
        self,
        *,
        n_samples=30,
        covariance="low_rank",
        swa_epochs=20,
        swa_lr=None,
        max_rank=20,
        n_members=1,
        ensemble_type="batchensemble",
        hidden_layer_sizes=(256, 256),
        activation="relu",
        dropout=0.1,
        lr=1e-3,
        weight_decay=1e-4,
        batch_size="auto",
        max_epochs=200,
        early_stopping=True,
        validation_fraction=0.2,
        patience=10,
        bootstrap=False,
        categorical_features="from_dtype",
        numeric_scaling="quantile",
        numeric_embedding="periodic",
        loss="gaussian_nll",
        callbacks=None,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
    ):
        _store_params(self, locals())


def _swag_docstring(doc):
    return _docstring(
        doc, omit=("n_members", "n_jobs"), swag_parameters=_SWAG_PARAMETERS, notes=_SWAG_NOTES
    )


SWAGClassifier.__doc__ = _swag_docstring(SWAGClassifier.__doc__)
SWAGRegressor.__doc__ = _swag_docstring(SWAGRegressor.__doc__)
