"""Multi-head ensembles: one shared trunk, one output layer (head) per member."""

from numbers import Integral, Real

from ..utils._compat import Interval, StrOptions
from ._base import _store_params
from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor, _docstring

__all__ = ["MultiHeadClassifier", "MultiHeadRegressor"]

# view_strength=None: the strength each view uses.
_DEFAULT_STRENGTH = {"feature_dropout": 0.2, "noise": 0.1}

_MULTIHEAD_PARAMETERS = """
    n_heads : int, default=8
        Number of heads: the members of the ensemble, each an output layer
        on the shared trunk.

    view : {'bootstrap', 'feature_dropout', 'noise'}, default='noise'
        The view of the training data each head trains on. ``'bootstrap'``:
        its own bootstrap resample of the training rows (per-head loss
        weights). ``'feature_dropout'``: at every step, each numeric feature
        of each row is set to its centre (0 after scaling, as a missing value
        is imputed) with probability ``view_strength``, independently per
        head; kept values are not rescaled. ``'noise'``: at every step,
        Gaussian noise of standard deviation ``view_strength`` is added to
        each scaled numeric feature, independently per head. The views apply
        to the scaled numeric columns only (not to missing-value indicators,
        one-hot or embedded categorical columns) and only in training.
        ``'noise'`` had the lower loss than ``'bootstrap'`` on 15 of 24 runs
        on the public benchmark tables and 13 of 24 on the external ones
        (``doc/benchmarks.md``): a small margin.

    view_strength : float, default=None
        Strength of the view, in [0, 1): the probability of
        ``'feature_dropout'`` (``None``: 0.2) or the noise standard deviation
        of ``'noise'``, relative to the unit scale of the scaled features
        (``None``: 0.1). Ignored with ``'bootstrap'``.
"""

_MULTIHEAD_DROPOUT = """
    dropout : float, default=0.1
        Dropout probability after each hidden layer of the trunk. With
        ``view='bootstrap'`` the heads read the same rows, the trunk runs
        once and one mask per row serves every head; with the other views
        each head's perturbed rows go through the trunk, with masks of their
        own.

"""

_MULTIHEAD_NOTES = """
    Notes
    -----
    The network is an :class:`skens.nn.EnsembleMLP` with
    ``ensemble_type='shared'``: its hidden layers (and its embeddings) form
    one trunk shared by every head, and only the output layers are
    per member. The trunk is trained by all heads at once (the training loss
    is the mean of the heads' losses), so the heads differ only through
    their initialisation and their views of the data: diversity is far lower
    than a deep ensemble's, and so is the cost (one trunk instead of
    ``n_heads`` networks). The prediction is the mean of the heads (the
    mixture of their Gaussians for the regressor). All heads read the same
    mini-batches, so with ``view='bootstrap'`` the trunk runs once per step
    and per prediction; with the other views, training runs the trunk on
    each head's perturbed rows (``n_heads`` times the rows), prediction
    still once.

    The Last Layer Ensemble (LLE) of Li et al. [1]_ trains linear last
    layers on the features of a pretrained, frozen backbone, one layer per
    data augmentation (each aimed at a known shortcut), and combines them
    with a classifier of the input's shift type trained alongside. This
    tabular form differs: the trunk is trained with the heads, from
    scratch; the views are generic (bootstrap, feature dropout, noise)
    rather than shortcut-specific augmentations; every head gets the same
    kind of view, with its own random draws; and the heads are averaged
    uniformly, without a shift classifier.

    References
    ----------
    .. [1] Z. Li, I. Evtimov, A. Gordo, C. Hazirbas, T. Hassner, C. Canton
       Ferrer, C. Xu and M. Ibrahim, "A Whac-A-Mole Dilemma: Shortcuts Come
       in Multiples Where Mitigating One Amplifies Others", CVPR 2023.
"""


class _MultiHeadMixin:
    """A shared trunk (``ensemble_type='shared'``) and per-head views of the data."""

    _multihead_constraints = {
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "view": [StrOptions({"bootstrap", "feature_dropout", "noise"})],
        "view_strength": [Interval(Real, 0, 1, closed="left"), None],
    }
    # All heads read the same mini-batches: shared rows go through the trunk once.
    _member_batches = False
    # Fixed by the method (not parameters): read by the base class.
    ensemble_type = "shared"

    @property
    def n_members(self):
        """Number of members: ``n_heads``."""
        return self.n_heads

    @property
    def bootstrap(self):
        """Whether each head trains on a bootstrap resample: ``view == 'bootstrap'``."""
        return self.view == "bootstrap"

    def _view_strength(self):
        if self.view == "bootstrap":
            return 0.0
        return _DEFAULT_STRENGTH[self.view] if self.view_strength is None else self.view_strength

    def _mlp_params(self, n_features, hidden_layer_sizes):
        params = super()._mlp_params(n_features, hidden_layer_sizes)
        strength = self._view_strength()
        params.update(
            input_dropout=strength if self.view == "feature_dropout" else 0.0,
            input_noise=strength if self.view == "noise" else 0.0,
            # The scaled numeric columns only: not the indicators nor the one-hot columns.
            n_view_features=self._column_layout(n_features).n_numeric,
        )
        return params


class MultiHeadClassifier(_MultiHeadMixin, DeepEnsembleClassifier):
    """Multi-head classifier: one shared MLP trunk, ``n_heads`` output heads.

    A tabular last-layer ensemble: the hidden layers are one network shared
    by all members, each member is an output layer (a head) trained on its
    own view of the data (a bootstrap resample, feature dropout or input
    noise), and ``predict_proba`` averages the heads' probabilities.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(multihead_parameters)s

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
        The ensemble's accuracy on the validation split at each epoch;
        ``None`` without early stopping.

    See Also
    --------
    DeepEnsembleClassifier : Members with their own hidden layers.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import MultiHeadClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = MultiHeadClassifier(n_heads=4, view="feature_dropout", hidden_layer_sizes=(32,),
    ...                           max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.predict_proba_members(X[:2]).shape
    (4, 2, 2)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        **{
            name: constraint
            for name, constraint in DeepEnsembleClassifier._parameter_constraints.items()
            if name not in ("n_members", "ensemble_type", "bootstrap")
        },
        **_MultiHeadMixin._multihead_constraints,
    }

    def __init__(
        self,
        *,
        n_heads=8,
        view="noise",
        view_strength=None,
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


class MultiHeadRegressor(_MultiHeadMixin, DeepEnsembleRegressor):
    """Multi-head regressor: one shared MLP trunk, ``n_heads`` Gaussian heads.

    A tabular last-layer ensemble: the hidden layers are one network shared
    by all members, and each member is an output layer (a head) trained on
    its own view of the data (a bootstrap resample, feature dropout or input
    noise). Each head predicts a Gaussian (``loss='gaussian_nll'``) or a
    point with its residual noise (``loss='mse'``), mixed as the members of
    a deep ensemble.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(multihead_parameters)s

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

    noise_variance_ : ndarray of shape (n_heads, n_outputs) or None
        With ``loss='mse'``: each head's mean squared residual on held-out
        rows; ``None`` with the Gaussian loss.

%(attributes)s

    validation_scores_ : list of float or None
        The ensemble's R² on the validation split at each epoch; ``None``
        without early stopping.

    See Also
    --------
    DeepEnsembleRegressor : Members with their own hidden layers.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skens import MultiHeadRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MultiHeadRegressor(n_heads=4, view="noise", hidden_layer_sizes=(32,),
    ...                          max_epochs=20, random_state=0).fit(X, y)
    >>> mean, std = reg.predict(X[:3], return_std=True)
    >>> mean.shape, bool((std > 0).all())
    ((3,), True)
    >>> reg.predict_members(X[:3]).shape
    (4, 3)
    """

    _parameter_constraints = {
        **{
            name: constraint
            for name, constraint in DeepEnsembleRegressor._parameter_constraints.items()
            if name not in ("n_members", "ensemble_type", "bootstrap")
        },
        **_MultiHeadMixin._multihead_constraints,
    }

    def __init__(
        self,
        *,
        n_heads=8,
        view="noise",
        view_strength=None,
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


def _multihead_docstring(doc):
    # n_heads and the views replace n_members and bootstrap; the trunk fixes ensemble_type.
    return _docstring(
        doc,
        omit=("n_members", "ensemble_type", "bootstrap", "n_jobs"),
        replace={"dropout": _MULTIHEAD_DROPOUT},
        multihead_parameters=_MULTIHEAD_PARAMETERS,
        notes=_MULTIHEAD_NOTES,
    )


MultiHeadClassifier.__doc__ = _multihead_docstring(MultiHeadClassifier.__doc__)
MultiHeadRegressor.__doc__ = _multihead_docstring(MultiHeadRegressor.__doc__)
