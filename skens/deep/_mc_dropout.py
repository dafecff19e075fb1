"""Monte Carlo dropout estimators: one network, its dropout samples as members."""

from numbers import Integral, Real

import torch

from ..nn import dropout_members
from ..utils._compat import Interval
from ._base import _store_params
from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor, _docstring

__all__ = ["MCDropoutClassifier", "MCDropoutRegressor"]

_MC_PARAMETERS = """
    n_samples : int, default=30
        Dropout samples per trained member: the members of the predictions.

    n_members : int, default=1
        Networks trained (each gives ``n_samples`` members).
"""

_MC_DROPOUT = """
    dropout : float, default=0.1
        Dropout probability after each hidden layer, in training and in the
        samples; must be positive.

"""

_MC_NOTES = """
    Notes
    -----
    Gal & Ghahramani's MC dropout keeps dropout on at prediction time and
    averages ``n_samples`` stochastic passes. Here the ``n_samples`` sets of
    dropout masks are drawn once, at the end of ``fit``, and folded into
    copies of the network (:func:`skens.nn.dropout_members`), which are
    evaluated together like the members of a deep ensemble. Each row's
    samples have the distribution of MC dropout's; unlike per-row masks,
    predictions are deterministic, and a row's prediction does not depend on
    the rows predicted with it. Every ensemble method (``predict_proba_members``,
    ``predict_uncertainty``, cascades, distillation) sees the samples as
    members. Prediction costs ``n_members * n_samples`` members; BatchEnsemble
    networks (the default) keep one shared weight per layer, so the samples
    cost little memory.

    References
    ----------
    .. [1] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian Approximation:
       Representing Model Uncertainty in Deep Learning", ICML 2016.
"""


class _MCDropoutMixin:
    """Replace the trained module by its dropout samples."""

    _mc_constraints = {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        # The samples are dropout masks: no dropout, no samples.
        "dropout": [Interval(Real, 0, 1, closed="neither")],
    }

    def _after_training(self, data):
        # + 1: an int random_state's first draw also seeds the module (see _fit).
        generator = torch.Generator().manual_seed(self._extra_seed(1))
        self.net_.module_ = dropout_members(self.net_.module_, self.n_samples, generator=generator)


class MCDropoutClassifier(_MCDropoutMixin, DeepEnsembleClassifier):
    """Monte Carlo dropout classifier: dropout samples of one network as members.

    A :class:`DeepEnsembleClassifier` of ``n_members`` networks (one by
    default) trained with dropout; its members for prediction are
    ``n_samples`` dropout masks of each network.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(mc_parameters)s

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

    validation_scores_ : list of float or None
        The network's accuracy (without dropout) on the validation split at
        each epoch; ``None`` without early stopping.

    See Also
    --------
    DeepEnsembleClassifier : Independent members instead of dropout samples.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import MCDropoutClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = MCDropoutClassifier(n_samples=10, hidden_layer_sizes=(32,),
    ...                           max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba_members(X[:2]).shape
    (10, 2, 2)
    """

    _parameter_constraints = {
        **DeepEnsembleClassifier._parameter_constraints,
        **_MCDropoutMixin._mc_constraints,
    }

    def __init__(
        self,
        *,
        n_samples=30,
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


class MCDropoutRegressor(_MCDropoutMixin, DeepEnsembleRegressor):
    """Monte Carlo dropout regressor: dropout samples of one network as members.

    A :class:`DeepEnsembleRegressor` of ``n_members`` networks (one by
    default) trained with dropout; its members for prediction are
    ``n_samples`` dropout masks of each network, each predicting a Gaussian
    (``loss='gaussian_nll'``) or a point with the samples' residual noise
    (``loss='mse'``), mixed as the members of a deep ensemble.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(mc_parameters)s

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

    validation_scores_ : list of float or None
        The network's R² (without dropout) on the validation split at each
        epoch; ``None`` without early stopping.

    See Also
    --------
    DeepEnsembleRegressor : Independent members instead of dropout samples.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skens import MCDropoutRegressor
    >>> X, y = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=0)
    >>> reg = MCDropoutRegressor(n_samples=10, hidden_layer_sizes=(32,),
    ...                          max_epochs=20, random_state=0).fit(X, y)
    >>> mean, std = reg.predict(X[:3], return_std=True)
    >>> reg.predict_members(X[:3]).shape
    (10, 3)
    """

    _parameter_constraints = {
        **DeepEnsembleRegressor._parameter_constraints,
        **_MCDropoutMixin._mc_constraints,
    }

    def __init__(
        self,
        *,
        n_samples=30,
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


def _mc_docstring(doc):
    # The common parameters with MC dropout's own n_members (above) and dropout (in place).
    return _docstring(
        doc, omit=("n_members", "n_jobs"), replace={"dropout": _MC_DROPOUT},
        mc_parameters=_MC_PARAMETERS, notes=_MC_NOTES,
    )


MCDropoutClassifier.__doc__ = _mc_docstring(MCDropoutClassifier.__doc__)
MCDropoutRegressor.__doc__ = _mc_docstring(MCDropoutRegressor.__doc__)
