"""Shared machinery of the deep-ensemble estimators: parameters, data, the skorch net."""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EarlyStopping
from skorch.helper import predefined_split

from ..nn import ACTIVATIONS, ENSEMBLE_TYPES, EnsembleCriterion, PeriodicEmbedding
from ..preprocessing import TabularPreprocessor, check_tabular_input
from ..utils import resolve_device
from ..utils._compat import Interval, StrOptions, _safe_indexing
from ._data import ArrayDataset, BatchIterator
from ._net import EnsembleNet, FillUnseenEmbeddings, FiniteLossCheck, ValidationScore

# Rows per prediction batch are chosen so that one hidden activation,
# (rows, n_members, width) in float32, stays near this many elements (8 MB),
# small enough to stay in cache on a CPU.
_PREDICT_BUDGET = 2**21
# batch_size='auto': about n_train / 8 rounded to a power of two, within
# [16, 256], so that even a small table gets several optimizer steps per epoch
# (benchmarks/study_small_data.py).
_AUTO_BATCH_RANGE = (16, 256)
_AUTO_STEPS_PER_EPOCH = 8
# Early stopping waits at least this many optimizer steps without improvement
# (and at least ``patience`` epochs), whatever the table and batch size.
_MIN_PATIENCE_STEPS = 100
# Parameters that are adapters or biases: no weight decay on them.
_NO_DECAY = ("*bias", "*.r", "*.s")


def _check_hidden_layer_sizes(hidden_layer_sizes):
    sizes = np.atleast_1d(np.asarray(hidden_layer_sizes, dtype=object))
    if sizes.ndim != 1 or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be a sequence of positive integers, got "
            f"{hidden_layer_sizes!r}."
        )
    return tuple(int(s) for s in sizes)


def _auto_batch_size(n_train):
    """Mini-batch size of ``batch_size='auto'`` for ``n_train`` training rows."""
    low, high = _AUTO_BATCH_RANGE
    target = max(n_train / _AUTO_STEPS_PER_EPOCH, 1.0)
    return int(min(np.clip(2 ** round(np.log2(target)), low, high), n_train))


def _effective_patience(patience, n_train, batch_size):
    """``patience`` epochs, raised so that they span at least ``_MIN_PATIENCE_STEPS`` steps."""
    steps_per_epoch = int(np.ceil(n_train / batch_size))
    return max(int(patience), int(np.ceil(_MIN_PATIENCE_STEPS / steps_per_epoch)))


class _BaseDeepEnsemble(BaseEstimator, metaclass=ABCMeta):
    """Parameters, fitting and batched inference shared by the deep ensembles."""

    _parameter_constraints = {
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "ensemble_type": [StrOptions(set(ENSEMBLE_TYPES))],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "bootstrap": ["boolean"],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "numeric_scaling": [StrOptions({"quantile", "standard", "robust"})],
        "numeric_embedding": [StrOptions({"periodic"}), None],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    @abstractmethod
    def __init__(
        self,
        *,
        n_members,
        ensemble_type,
        hidden_layer_sizes,
        activation,
        dropout,
        lr,
        weight_decay,
        batch_size,
        max_epochs,
        early_stopping,
        validation_fraction,
        patience,
        bootstrap,
        categorical_features,
        numeric_scaling,
        numeric_embedding,
        device,
        random_state,
        verbose,
    ):
        self.n_members = n_members
        self.ensemble_type = ensemble_type
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.bootstrap = bootstrap
        self.categorical_features = categorical_features
        self.numeric_scaling = numeric_scaling
        self.numeric_embedding = numeric_embedding
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ----------------------------------------------------------- subclass hooks
    @abstractmethod
    def _module_params(self, n_features, hidden_layer_sizes):
        """Return ``(module_class, params)`` for the torch module."""

    @abstractmethod
    def _criterion_kind(self):
        """Return the :class:`skens.nn.EnsembleCriterion` kind to train with."""

    # Kind of the validation score recorded each epoch ('accuracy' or 'r2').
    _score_kind = None
    # Whether the internal validation split is stratified on y.
    _stratify = False
    # Whether each member trains on its own mini-batches (own shuffling order):
    # with per-member embeddings, the cheapest source of member diversity
    # (benchmarks/study_diversity.py, doc/benchmarks.md).
    _member_batches = True

    def _mlp_params(self, n_features, hidden_layer_sizes):
        """Module parameters shared by the classifier and the regressor."""
        return dict(
            in_features=n_features,
            n_members=self.n_members,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=self.activation,
            dropout=self.dropout,
            ensemble_type=self.ensemble_type,
            categorical_cardinalities=list(self.preprocessor_.embedding_cardinalities_),
            n_periodic=int((~self.preprocessor_.categorical_mask_).sum())
            if self.numeric_embedding == "periodic"
            else 0,
        )

    # ----------------------------------------------------------------- fitting
    def _check_X(self, X, *, reset):
        """Validate a table (DataFrame or array) without converting its values."""
        return check_tabular_input(self, X, reset=reset)

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        return self._check_X(X, reset=False)

    def _split(self, y, seed):
        """Indices of the internal training and validation parts."""
        indices = np.arange(len(y))
        if not self.early_stopping:
            return indices, None
        n_valid = int(np.ceil(self.validation_fraction * len(y)))
        if len(y) - n_valid < 1:
            raise ValueError(
                f"{type(self).__name__} with early_stopping=True holds out "
                f"validation_fraction={self.validation_fraction} of n_samples={len(y)}, which "
                "leaves no sample to train on; pass more data or set early_stopping=False."
            )
        stratify = y if self._stratify else None
        try:
            return train_test_split(
                indices, test_size=n_valid, stratify=stratify, random_state=seed
            )
        except ValueError:
            if stratify is None:
                raise
        warnings.warn(
            f"{type(self).__name__}: some classes have too few samples for a stratified "
            f"validation split with validation_fraction={self.validation_fraction}; "
            "using a random split instead.",
            UserWarning,
            stacklevel=2,
        )
        return train_test_split(indices, test_size=n_valid, random_state=seed)

    def _member_weights(self, n_samples, sample_weight, rng):
        """Training loss weights, (n_samples, n_members) or (n_samples, 1), or None.

        Bootstrap counts times sample weights, normalised to mean 1 per member
        (the losses of :mod:`skens.nn` average ``weight * loss``).
        """
        weight = None if sample_weight is None else sample_weight[:, None]
        if self.bootstrap:
            counts = rng.multinomial(n_samples, np.full(n_samples, 1.0 / n_samples), self.n_members)
            weight = counts.T if weight is None else counts.T * weight
        if weight is None:
            return None
        return torch.as_tensor(weight / weight.mean(axis=0, keepdims=True), dtype=torch.float32)

    def _predict_batch_size(self, hidden_layer_sizes):
        """Rows per prediction batch: the widest per-member activation stays in budget.

        Per-member periodic embeddings hold ``2 * n_frequencies`` values per
        numeric feature and row.
        """
        embedding = 0
        if self.numeric_embedding == "periodic":
            n_frequencies = PeriodicEmbedding.__init__.__kwdefaults__["n_frequencies"]
            embedding = 2 * n_frequencies * int((~self.preprocessor_.categorical_mask_).sum())
        width = max([*hidden_layer_sizes, len(getattr(self, "classes_", ())), embedding, 1])
        return int(np.clip(_PREDICT_BUDGET // (self.n_members * width), 64, 65536))

    def _seen_codes(self, X_train, train_weight):
        """Per embedded column, the codes trained on: ``(cardinality, n_weight_columns)`` masks.

        A code counts as seen by a member when a row of positive weight for
        that member holds it (bootstrap counts leave rows out of a member);
        with one weight column for all members, the mask has one column.
        """
        cardinalities = self.preprocessor_.embedding_cardinalities_
        if not cardinalities:
            return []
        codes = X_train[:, X_train.shape[1] - len(cardinalities) :].long()
        weight = torch.ones(len(codes), 1) if train_weight is None else train_weight
        trained = (weight.reshape(len(codes), -1) > 0).float()
        masks = []
        for i, c in enumerate(cardinalities):
            counts = torch.zeros(c, trained.shape[1]).index_add_(0, codes[:, i], trained)
            masks.append((counts > 0).numpy())
        return masks

    def _make_net(
        self, n_features, hidden_layer_sizes, schedule, valid_dataset, seeds, seen
    ):
        """The skorch net.

        ``schedule`` is (batch size, patience); ``seeds`` is (module seed, shuffling seed).
        """
        batch_size, patience = schedule
        seed, shuffle_seed = seeds
        module, module_params = self._module_params(n_features, hidden_layer_sizes)
        callbacks = [("finite_loss", FiniteLossCheck())]
        if valid_dataset is not None:
            callbacks += [
                ("valid_score", ValidationScore(self._score_kind)),
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=patience,
                        threshold=1e-4,
                        threshold_mode="abs",
                        load_best=True,
                    ),
                ),
            ]
        if seen:
            callbacks.append(("fill_unseen", FillUnseenEmbeddings(seen)))
        return EnsembleNet(
            module=module,
            **{f"module__{key}": value for key, value in module_params.items()},
            criterion=EnsembleCriterion,
            criterion__kind=self._criterion_kind(),
            optimizer=torch.optim.AdamW,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            optimizer__param_groups=[(pattern, {"weight_decay": 0.0}) for pattern in _NO_DECAY],
            max_epochs=self.max_epochs,
            batch_size=batch_size,
            dataset=ArrayDataset,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_train__seed=shuffle_seed,
            iterator_train__n_members=self.n_members if self._member_batches else None,
            iterator_valid=BatchIterator,
            iterator_valid__batch_size=self._predict_batch_size(hidden_layer_sizes),
            train_split=None if valid_dataset is None else predefined_split(valid_dataset),
            callbacks=callbacks,
            device=self.device_,
            verbose=self.verbose,
            seed=seed,
        )

    def _reset(self):
        """Forget a previous fit, so that a failed refit leaves an unfitted estimator."""
        self.__dict__.pop("net_", None)

    def _prepare_target(self, y, train_idx, sample_weight):
        """Hook: learn a target transformation on the training part and apply it."""
        return y

    def _fit(self, X, y, sample_weight=None):
        """Train on checked ``X``, encoded ``y`` and checked ``sample_weight``.

        Rows of zero weight are left out, as if absent. The preprocessing (and
        the subclass's target transformation) is learned on the internal
        training part only, never on the validation rows. Returns the encoded
        inputs actually trained on, their prepared targets and weights, and
        the indices of the internal training and validation parts.
        """
        hidden_layer_sizes = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        self.device_ = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=4)
        torch_seed, shuffle_seed, split_seed, preprocessing_seed = (int(s) for s in seeds)

        if sample_weight is not None and not np.all(sample_weight > 0):
            kept = np.flatnonzero(sample_weight > 0)
            X, y, sample_weight = _safe_indexing(X, kept), y[kept], sample_weight[kept]
        train_idx, valid_idx = self._split(y, split_seed)
        self.preprocessor_ = TabularPreprocessor(
            categorical_features=self.categorical_features,
            numeric_scaling=self.numeric_scaling,
            random_state=preprocessing_seed,
        ).set_output(transform="default").fit(_safe_indexing(X, train_idx))
        y = self._prepare_target(y, train_idx, sample_weight)
        X_all = torch.as_tensor(self.preprocessor_.transform(X), dtype=torch.float32)
        y_all = torch.as_tensor(y)

        def on_device(tensor):
            return None if tensor is None else tensor.to(self.device_)

        train_weight = self._member_weights(
            len(train_idx), None if sample_weight is None else sample_weight[train_idx], rng
        )
        X_train = X_all[train_idx]
        seen = self._seen_codes(X_train, train_weight)
        train = ArrayDataset(
            on_device(X_train), on_device(y_all[train_idx]), on_device(train_weight)
        )
        valid = None
        if valid_idx is not None:
            valid_weight = None
            if sample_weight is not None:
                valid_weight = sample_weight[valid_idx] / sample_weight[valid_idx].mean()
                valid_weight = torch.as_tensor(valid_weight, dtype=torch.float32)
            valid = ArrayDataset(
                on_device(X_all[valid_idx]), on_device(y_all[valid_idx]), on_device(valid_weight)
            )
        n_train = len(train_idx)
        batch_size = _auto_batch_size(n_train) if self.batch_size == "auto" else self.batch_size
        schedule = (batch_size, _effective_patience(self.patience, n_train, batch_size))
        net = self._make_net(
            X_all.shape[1], hidden_layer_sizes, schedule, valid, (torch_seed, shuffle_seed), seen
        )
        # Every random draw comes from generators this fit owns (the module's,
        # the batch iterator's, ``rng``): nothing global is read or moved.
        net.fit(train, y=None)
        self._record_history(net)
        net.trim_for_prediction()
        self.net_ = net
        return X_all, y, sample_weight, train_idx, valid_idx

    def _record_history(self, net):
        history = net.history
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(v) for v in history[:, "train_loss"]]
        early_stopping = dict(net.callbacks_).get("early_stopping")
        if early_stopping is None:
            self.validation_loss_curve_ = None
            self.validation_scores_ = None
            self.best_loss_ = min(self.loss_curve_)
            return
        self.validation_loss_curve_ = [float(v) for v in history[:, "valid_loss"]]
        self.validation_scores_ = [float(v) for v in history[:, "valid_score"]]
        # The loss of the epoch whose weights were restored (skorch counts epochs from 1).
        self.best_loss_ = self.validation_loss_curve_[early_stopping.best_epoch_ - 1]

    # --------------------------------------------------------------- inference
    def _raw_outputs(self, X, *, encoded=False):
        """Module outputs for checked rows (or ``encoded`` ones), batch by batch, on the CPU.

        No batch holds a single row: a one-row matrix product takes another
        kernel path (and rounding) than a larger one, and a row's prediction
        must not depend on the rows predicted with it. A lone row is
        evaluated twice and one copy kept; :class:`BatchIterator` never
        leaves one row alone in a last batch.
        """
        transform = None if encoded else self.preprocessor_.transform
        single = len(X) == 1
        if single:
            X = X.repeat(2, 1) if isinstance(X, torch.Tensor) else _safe_indexing(X, [0, 0])
        dataset = ArrayDataset(X, transform=transform)
        for out in self.net_.forward_iter(dataset, training=False, device="cpu"):
            if single:
                out = tuple(t[:1] for t in out) if isinstance(out, tuple) else out[:1]
            yield out

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            # skorch maps a CUDA net to the CPU when CUDA is missing; follow it.
            self.device_ = str(self.net_.device)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True  # DataFrame category/string columns, see fit
        return tags
