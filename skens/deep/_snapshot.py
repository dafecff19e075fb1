"""Snapshot ensembles: one network, a cyclic cosine learning rate, a member per cycle."""

import copy
import math
from numbers import Integral

from skorch.callbacks import Callback

from ..utils._compat import Interval
from ._base import _store_params
from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor, _docstring

__all__ = ["SnapshotEnsembleClassifier", "SnapshotEnsembleRegressor", "CyclicSnapshots"]


def cyclic_cosine_factor(step, cycle_steps):
    """The learning-rate factor at optimizer step ``step`` (from 0) of Huang et al.'s schedule.

    ``0.5 * (cos(pi * (step mod cycle_steps) / cycle_steps) + 1)``: 1 at the
    start of each cycle, annealed towards 0 at its end.
    """
    return 0.5 * (math.cos(math.pi * (step % cycle_steps) / cycle_steps) + 1.0)


class CyclicSnapshots(Callback):
    """A cyclic cosine learning rate, and a copy of the network at the end of each cycle.

    Each cycle lasts ``cycle_epochs`` epochs; the learning rate of every
    parameter group follows :func:`cyclic_cosine_factor` per optimizer step
    (Huang et al. 2017), restarting at its initial value with each cycle.
    At the last step of each cycle (the lowest learning rate) a copy of
    ``net.module_.network`` is kept in :attr:`snapshots_`.

    Parameters
    ----------
    cycle_epochs : int
        Epochs per cycle.
    """

    def __init__(self, cycle_epochs):
        self.cycle_epochs = cycle_epochs

    def initialize(self):
        self.snapshots_ = []
        self._step = 0
        self._cycle_steps = None
        self._base_lrs = None
        return self

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self._cycle_steps is None:
            steps_per_epoch = len(net.get_iterator(dataset_train, training=True))
            self._cycle_steps = max(1, steps_per_epoch * self.cycle_epochs)
            self._base_lrs = [group["lr"] for group in net.optimizer_.param_groups]

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        self._step += 1
        if self._step % self._cycle_steps == 0:
            self.snapshots_.append(copy.deepcopy(net.module_.network).cpu())
        factor = cyclic_cosine_factor(self._step, self._cycle_steps)
        for group, base in zip(net.optimizer_.param_groups, self._base_lrs):
            group["lr"] = base * factor


_SNAPSHOT_PARAMETERS = """
    n_snapshots : int, default=5
        Cycles of the learning rate, each ending with a snapshot: the
        members (times ``n_members``).

    cycle_epochs : int, default=10
        Epochs per cycle; training lasts ``n_snapshots * cycle_epochs``
        epochs, without early stopping. (10 had the lower loss than 20 on
        14 of 24 runs on the public benchmark tables and 18 of 24 on the
        external ones; see ``doc/benchmarks.md``).

    n_members : int, default=1
        Networks trained at once (each gives ``n_snapshots`` members).
"""

_SNAPSHOT_NOTES = """
    Notes
    -----
    Huang et al. train one network with a cyclic cosine annealing learning
    rate, ``lr / 2 * (cos(pi * (t mod T_c) / T_c) + 1)`` per optimizer step
    ``t`` with ``T_c`` steps per cycle, and keep the weights at the end of
    each cycle, where the learning rate is lowest: ``n_snapshots`` local
    minima for the price of one training run. The snapshots are joined into
    one module (:func:`skens.nn.stack_members`, BatchEnsemble layers made
    independent first) and evaluated together as the members of a deep
    ensemble. The number of epochs is fixed by the schedule: there is no
    early stopping and no validation split.

    References
    ----------
    .. [1] G. Huang, Y. Li, G. Pleiss, Z. Liu, J. E. Hopcroft and K. Q.
       Weinberger, "Snapshot Ensembles: Train 1, get M for free", ICLR 2017.
"""


class _SnapshotMixin:
    """Train on the cyclic schedule; the snapshots replace the network."""

    _snapshot_constraints = {
        "n_snapshots": [Interval(Integral, 1, None, closed="left")],
        "cycle_epochs": [Interval(Integral, 1, None, closed="left")],
    }
    # Fixed by the method: the schedule sets the epochs; no validation split.
    early_stopping = False
    validation_fraction = 0.2
    patience = 10

    @property
    def max_epochs(self):
        """Epochs of training: ``n_snapshots * cycle_epochs``."""
        return self.n_snapshots * self.cycle_epochs

    def _get_callbacks(self, valid_dataset, patience, seen):
        return [*super()._get_callbacks(valid_dataset, patience, seen),
                ("snapshots", CyclicSnapshots(self.cycle_epochs))]

    def _after_training(self, data):
        snapshots = dict(self.net_.callbacks_)["snapshots"].snapshots_
        if not snapshots:  # training stopped early (a callback interrupted it)
            raise RuntimeError(
                f"{type(self).__name__}: training stopped after {len(self.net_.history)} "
                f"epochs, before the end of the first cycle (cycle_epochs="
                f"{self.cycle_epochs}); no snapshot to predict with."
            )
        self._use_as_members(snapshots)


class SnapshotEnsembleClassifier(_SnapshotMixin, DeepEnsembleClassifier):
    """Snapshot ensemble classifier: one training run, a member per learning-rate cycle.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(snapshot_parameters)s

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

    See Also
    --------
    DeepEnsembleClassifier : Members trained side by side instead of one after another.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import SnapshotEnsembleClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = SnapshotEnsembleClassifier(n_snapshots=3, cycle_epochs=5,
    ...                                  hidden_layer_sizes=(32,), random_state=0).fit(X, y)
    >>> clf.predict_proba_members(X[:2]).shape
    (3, 2, 2)
    """

    _parameter_constraints = {
        **DeepEnsembleClassifier._parameter_constraints,
        **_SnapshotMixin._snapshot_constraints,
    }

    def __init__(
        self,
        *,
        n_snapshots=5,
        cycle_epochs=10,
        n_members=1,
        ensemble_type="batchensemble",
        hidden_layer_sizes=(256, 256),
        activation="relu",
        dropout=0.1,
        lr=1e-3,
        weight_decay=1e-4,
        batch_size="auto",
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


class SnapshotEnsembleRegressor(_SnapshotMixin, DeepEnsembleRegressor):
    """Snapshot ensemble regressor: one training run, a member per learning-rate cycle.

    Each snapshot predicts a Gaussian (``loss='gaussian_nll'``) or a point
    with its residual noise (``loss='mse'``, measured on the training rows:
    there is no validation split), mixed as the members of a deep ensemble.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(snapshot_parameters)s

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

    noise_variance_ : ndarray of shape (n_members * n_snapshots, n_outputs) or None
        With ``loss='mse'``: each snapshot's mean squared residual on the
        training rows; ``None`` with the Gaussian loss.

%(attributes)s

    See Also
    --------
    DeepEnsembleRegressor : Members trained side by side instead of one after another.

%(notes)s

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skens import SnapshotEnsembleRegressor
    >>> X, y = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=0)
    >>> reg = SnapshotEnsembleRegressor(n_snapshots=3, cycle_epochs=5,
    ...                                 hidden_layer_sizes=(32,), random_state=0).fit(X, y)
    >>> reg.predict_members(X[:4]).shape
    (3, 4)
    """

    _parameter_constraints = {
        **DeepEnsembleRegressor._parameter_constraints,
        **_SnapshotMixin._snapshot_constraints,
    }

    def __init__(
        self,
        *,
        n_snapshots=5,
        cycle_epochs=10,
        n_members=1,
        ensemble_type="batchensemble",
        hidden_layer_sizes=(256, 256),
        activation="relu",
        dropout=0.1,
        lr=1e-3,
        weight_decay=1e-4,
        batch_size="auto",
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


def _snapshot_docstring(doc):
    # n_members is documented above; the schedule fixes the epochs and there is no validation.
    return _docstring(
        doc, omit=("n_members", "max_epochs", "early_stopping", "validation_fraction", "patience",
              "n_jobs"),
        snapshot_parameters=_SNAPSHOT_PARAMETERS, notes=_SNAPSHOT_NOTES,
    )


SnapshotEnsembleClassifier.__doc__ = _snapshot_docstring(SnapshotEnsembleClassifier.__doc__)
SnapshotEnsembleRegressor.__doc__ = _snapshot_docstring(SnapshotEnsembleRegressor.__doc__)
