"""Shared machinery of the deep-ensemble estimators: parameters, data, hooks.

The estimator logic (validation split, encodings, target transformation,
member weights, schedule) lives here; the training runs in skorch, wired in
``_backend.py`` from what the ``_get_*`` hooks return.
"""

import contextlib
import copy
import itertools
import warnings
import weakref
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, replace
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import torch
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, EarlyStopping

from ..nn import (
    ACTIVATIONS,
    ENSEMBLE_TYPES,
    BatchEnsembleLinear,
    EncodedNetwork,
    EnsembleCriterion,
    EnsembleLinear,
    EnsembleMLP,
    FastDropout,
    FeatureEmbedding,
    GaussianEnsembleMLP,
    GaussianHead,
    InputViews,
    PeriodicEmbedding,
    SharedLinear,
    TabularEncoding,
    independent_members,
    module_members,
    stack_members,
)
from ..nn._subset import _fold_adapters
from ..preprocessing import TabularPreprocessor, check_tabular_input
from ..preprocessing._tabular import _rows_checked_for
from ..utils import resolve_device
from ..utils._compat import Interval, StrOptions, _safe_indexing
from ._backend import build_net
from ._data import MIN_BATCH_ROWS, ArrayDataset, BatchIterator
from ._net import EnsembleNet, FillUnseenEmbeddings, FiniteLossCheck, ValidationScore

# Rows per prediction batch are chosen so that one hidden activation,
# (rows, n_members, width) in float32, stays near this many elements: 8 MB on
# a CPU, small enough to stay in cache; 512 MB on a GPU, large enough that a
# batch keeps the device busy (benchmarks/bench_scale.py).
_PREDICT_BUDGET = {"cpu": 2**21, "cuda": 2**27}
_PREDICT_MAX_ROWS = {"cpu": 65536, "cuda": 2**20}
# Rows encoded at once when a fit encodes its training data (on a CPU, few
# enough that the encoding's temporaries stay in cache), and at least when a
# prediction does.
_ENCODE_CHUNK = {"cpu": 4096, "cuda": 2**16}
_PREDICT_ENCODE_ROWS = 4096
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
# Prediction runs a copy of the trained network that shares its parameters,
# with each BatchEnsemble layer's adapters folded into per-member weights once
# (the layer folds them at every call: most of the network's time on a few
# rows), for networks made only of these modules, whose forward in eval mode
# reads nothing but their tensors; and at most this many folded weights.
_PREDICTION_MODULES = (
    EnsembleMLP, GaussianEnsembleMLP, GaussianHead, EnsembleLinear, BatchEnsembleLinear,
    SharedLinear, FeatureEmbedding, PeriodicEmbedding, FastDropout, InputViews,
    torch.nn.Sequential, torch.nn.ModuleList, torch.nn.Embedding, *ACTIVATIONS.values(),
)
_MAX_FOLDED_ELEMENTS = 2**24
# network -> (its tensors' state, the prediction copy); dropped with the network.
_PREDICTION_COPIES = weakref.WeakKeyDictionary()
# prediction copy -> {(threads, input width): rows}, see _BaseDeepEnsemble._rows_alone.
_ROWS_ALONE = weakref.WeakKeyDictionary()
# Random rows the probe of _rows_alone compares fewer rows with.
_PROBE_ROWS = 64


class _Seeds(NamedTuple):
    """The seeds of a fit, drawn in this order from its random state."""

    torch: int
    shuffle: int
    split: int
    preprocessing: int

    @classmethod
    def draw(cls, rng):
        """The four seeds, drawn from the ``RandomState`` ``rng`` (its first draws)."""
        return cls(*(int(s) for s in rng.randint(np.iinfo(np.int32).max, size=4)))


class _Schedule(NamedTuple):
    """Mini-batch size and effective early-stopping patience (epochs)."""

    batch_size: int
    patience: int


@dataclass(eq=False)
class _FitData:
    """The rows a fit trains and validates on (those of positive weight).

    The rows are in the order ``[internal training part | validation part]``
    (a split draws the parts at random; this order lets each part be a view
    of ``X``, so that the encoded data exist once).

    Attributes
    ----------
    X : tensor of shape (n_kept, n_features), float32
        The encoded inputs, on the estimator's device.
    y : ndarray of shape (n_kept,) or (n_kept, n_outputs)
        The prepared targets (encoded labels, standardised values...).
    sample_weight : ndarray of shape (n_kept,) or None
        The sample weights.
    train_idx, valid_idx : ndarray of int
        Positions of the internal training and validation parts (the first
        ``n_train`` rows, then the rest); ``valid_idx`` is ``None`` without
        early stopping.
    train_weight : tensor of shape (n_train, n_members) or (n_train, 1), or None
        Training loss weights (bootstrap counts times sample weights).
    valid_weight : tensor of shape (n_valid,) or None
        Validation loss weights.
    """

    X: torch.Tensor
    y: np.ndarray
    sample_weight: np.ndarray | None
    train_idx: np.ndarray
    valid_idx: np.ndarray | None
    train_weight: torch.Tensor | None
    valid_weight: torch.Tensor | None

    @property
    def n_train(self):
        return len(self.train_idx)

    @property
    def X_train(self):
        return self.X[: self.n_train]

    @property
    def X_valid(self):
        return None if self.valid_idx is None else self.X[self.n_train :]


def _to_host(out):
    """A batch's output(s) on the CPU as float32, in one device-to-host transfer."""
    if not isinstance(out, tuple):
        return out.float().cpu()
    if out[0].device.type == "cpu":
        return tuple(t.float() for t in out)
    flat = torch.cat([t.float().reshape(len(t), -1) for t in out], dim=1).cpu()
    parts = flat.split([t[0].numel() for t in out], dim=1)
    return tuple(p.reshape(t.shape) for p, t in zip(parts, out))


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


def _store_params(estimator, params):
    """Store each ``__init__`` argument as the attribute of the same name.

    The body of every deep estimator's ``__init__`` (``params`` is its
    ``locals()``): scikit-learn reads the parameters back by name, so
    storing them is all ``__init__`` does. The parameters a kind fixes are
    class attributes or properties instead (SG-MCMC's ``ensemble_type``,
    the snapshot schedule's ``max_epochs``...).
    """
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def _group_seeds(seeds, group):
    """The :class:`_Seeds` of member group ``group``: drawn from the fit's seeds and the index."""
    drawn = np.random.SeedSequence([seeds.torch, group]).generate_state(2)
    return seeds._replace(torch=int(drawn[0] >> 1), shuffle=int(drawn[1] >> 1))


def _train_member_group(template, group, n_members, device, data, hidden_layer_sizes, seeds, seen):
    """Train one member group (in a joblib worker): its trimmed net and history summary.

    ``template`` is the estimator with its preprocessing learned; a copy of
    it trains ``n_members`` members on ``device``.
    """
    estimator = copy.copy(template)
    estimator.n_members = n_members
    estimator.device_ = device
    estimator._group = group
    estimator._task = copy.deepcopy(template._task)  # a kind may set seeds on it
    # A worker's copy may be a read-only memory map; torch wants its own.
    data = replace(data, X=torch.tensor(np.asarray(data.X), device=device))
    net = estimator._train(data, hidden_layer_sizes, seeds, seen)
    summary = estimator._history_summary(net)
    net.trim_for_prediction()  # drops the optimizer and the validation rows before the transfer
    return net, summary


def _tensor_state(network):
    """What the prediction copy of ``network`` depends on: modules, tensors, their versions.

    A tensor changed in place (an optimizer step, ``load_state_dict``) has a
    new ``_version``; one replaced or moved (``.to(device)``), a new identity
    or data pointer; a submodule replaced, a new identity.
    """
    state = []
    stack = [network]
    while stack:  # every module (depth first), without Module.modules()'s generators
        module = stack.pop()
        state.append((id(module), type(module)))
        for tensor in itertools.chain(module._parameters.values(), module._buffers.values()):
            if tensor is not None:
                state.append((id(tensor), tensor._version, tensor.data_ptr()))
        stack.extend(child for child in module._modules.values() if child is not None)
    return state


def _prediction_copy(network):
    """``network`` for prediction: a copy sharing its tensors, in eval mode, adapters folded.

    Outputs equal ``network``'s in eval mode bit for bit: a folded layer
    computes the per-member weight ``diag(r) W diag(s)`` as
    :class:`~skens.nn.BatchEnsembleLinear` does at every call, then the same
    batched product. ``None`` when the network holds other modules, or when
    the folded weights would be too large.
    """
    state = _tensor_state(network)
    cached = _PREDICTION_COPIES.get(network)
    if cached is not None and cached[0] == state:
        return cached[1]
    modules = list(network.modules())
    folded = [m for m in modules if type(m) is BatchEnsembleLinear]
    prediction = None
    if all(type(m) in _PREDICTION_MODULES for m in modules) and (
        sum(m.n_members * m.in_features * m.out_features for m in folded)
        <= _MAX_FOLDED_ELEMENTS
    ):
        shared = {id(t): t for t in itertools.chain(network.parameters(), network.buffers())}
        prediction = copy.deepcopy(network, shared).eval()
        for layer in prediction.modules():
            if type(layer) is BatchEnsembleLinear:
                _fold_adapters(layer)
    _PREDICTION_COPIES[network] = (state, prediction)
    return prediction


def _probe_rows(module, width, n_rows, generator):
    """``n_rows`` random encoded rows of ``width`` columns that ``module`` accepts.

    Normal values, except in the code columns of a :class:`FeatureEmbedding`
    (after its ``n_numeric`` real-valued columns), which get valid codes.
    """
    rows = torch.randn(n_rows, width, generator=generator)
    for layer in module.modules():
        if type(layer) is FeatureEmbedding:
            for column, embedding in enumerate(layer.embeddings, start=layer.n_numeric):
                codes = torch.randint(embedding.num_embeddings, (n_rows,), generator=generator)
                rows[:, column] = codes.float()
    return rows


def _bitwise_equal(a, b):
    """Whether two outputs (tensors or tuples of them) are equal elementwise, NaN to NaN."""
    if isinstance(a, tuple):
        return all(_bitwise_equal(x, y) for x, y in zip(a, b))
    return a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())


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
        "callbacks": [list, None],
        "n_jobs": [Integral, None],
        "device": [str, list],
        "precision": [StrOptions({"fp32", "bf16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A kind validates the parameters of its own signature: those it fixes
        # (class attributes, properties) or lacks drop out of the inherited
        # constraints. tests/test_common.py checks that every parameter has one.
        if "__init__" in cls.__dict__:
            names = set(cls._get_param_names())
            cls._parameter_constraints = {
                k: v for k, v in cls._parameter_constraints.items() if k in names
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
        callbacks,
        device,
        precision,
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
        self.callbacks = callbacks
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose

    # --------------------------------------------------------------- the hooks
    # A deep ensemble kind overrides the smallest of these. ``_fit`` calls
    # them in this order: _make_task, _split, _make_preprocessor,
    # _prepare_target, _member_weights, _seen_codes, _schedule, then
    # _make_net, which assembles _get_module, _get_criterion, _get_optimizer
    # and _get_callbacks into the skorch net (skens/deep/_backend.py). The
    # task of the fit is ``self._task`` from the start of ``_fit`` on.

    @abstractmethod
    def _make_task(self):
        """The :class:`skens.nn.EnsembleTask` to train: module, losses and score."""

    @abstractmethod
    def _n_task_outputs(self):
        """Outputs of each member for the task: classes, or regression targets."""

    # Kinds whose members are independent networks have an ``n_jobs``
    # parameter (member groups); the others train in one process.
    n_jobs = None
    # Index of the member group a copy of the estimator trains (see
    # _fit_member_groups); it offsets the seeds of _extra_seed.
    _group = 0

    # Whether the internal validation split is stratified on y.
    _stratify = False
    # Whether each member trains on its own mini-batches (own shuffling order):
    # with per-member embeddings, the cheapest source of member diversity
    # (benchmarks/study_diversity.py, doc/benchmarks.md).
    _member_batches = True

    def _make_preprocessor(self, random_state):
        """The (unfitted) encoder of ``X``; its output must publish ``column_layout_``."""
        return TabularPreprocessor(
            categorical_features=self.categorical_features,
            numeric_scaling=self.numeric_scaling,
            random_state=random_state,
        )

    def _prepare_target(self, y, train_idx, sample_weight):
        """Learn a target transformation on the training part and apply it."""
        return y

    def _get_module(self, n_features, hidden_layer_sizes):
        """``(module_class, params)`` of the torch module, from the task."""
        return self._task.module_spec(
            n_features,
            self._n_task_outputs(),
            self.n_members,
            **self._mlp_params(n_features, hidden_layer_sizes),
        )

    def _get_criterion(self):
        """``(criterion_class, params)``: the task's training and validation losses."""
        return EnsembleCriterion, {"task": self._task}

    def _get_optimizer(self):
        """``(optimizer_class, params)``; ``params`` may hold skorch's ``'param_groups'``.

        Without ``'lr'`` in ``params``, the estimator's ``lr`` is used.
        """
        return torch.optim.AdamW, {
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "param_groups": [(pattern, {"weight_decay": 0.0}) for pattern in _NO_DECAY],
        }

    def _get_callbacks(self, valid_dataset, patience, seen):
        """The named skorch callbacks, run after skorch's own (in this order).

        ``valid_dataset`` is ``None`` without early stopping; ``patience`` is
        the effective patience in epochs; ``seen`` holds the masks of
        :meth:`_seen_codes`.
        """
        callbacks = [("finite_loss", FiniteLossCheck())]
        if valid_dataset is not None:
            callbacks += [
                ("valid_score", ValidationScore(self._task)),
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
        # verbose=1: a progress bar (>= 2: skorch's table, see build_net). None in
        # the workers of member groups (_train_member_group sets _group on its copy):
        # bars from parallel workers, or from other machines, would be noise.
        if self.verbose == 1 and "_group" not in vars(self):
            from ..callbacks import EpochProgress

            callbacks.append(("epoch_progress", EpochProgress(desc=type(self).__name__)))
        return callbacks + self._user_callbacks({name for name, _ in callbacks})

    def _user_callbacks(self, taken):
        """Copies of the ``callbacks`` parameter's callbacks, named (the user's stay untouched)."""
        named = []
        for item in self.callbacks or []:
            name, callback = item if isinstance(item, tuple) and len(item) == 2 else (None, item)
            if not isinstance(callback, Callback) or not (name is None or isinstance(name, str)):
                raise TypeError(
                    f"{type(self).__name__}: callbacks must hold skorch Callback instances or "
                    f"(name, Callback) pairs, got {item!r}."
                )
            name = type(callback).__name__ if name is None else name
            if name in taken:
                raise ValueError(
                    f"{type(self).__name__}: two callbacks are named {name!r} (the estimator's "
                    f"own use {sorted(taken)}); name yours with (name, callback) pairs."
                )
            taken.add(name)
            named.append((name, copy.deepcopy(callback)))
        return named

    # ---------------------------------------------------------- column layout
    def _column_layout(self, n_features):
        """The preprocessor's :class:`~skens.preprocessing.ColumnLayout`, checked."""
        layout = self.preprocessor_.column_layout_
        if layout.n_columns != n_features:
            raise ValueError(
                f"{type(self).__name__}: the preprocessor's column_layout_ describes "
                f"{layout.n_columns} columns, but its output has {n_features}; the network "
                "relies on the layout to find the numeric columns (first) and the "
                "category codes (last)."
            )
        return layout

    def _mlp_params(self, n_features, hidden_layer_sizes):
        """Keyword arguments of the ensemble MLP, besides its sizes."""
        layout = self._column_layout(n_features)
        return dict(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=self.activation,
            dropout=self.dropout,
            ensemble_type=self.ensemble_type,
            categorical_cardinalities=layout.code_cardinalities,
            n_periodic=layout.n_numeric if self.numeric_embedding == "periodic" else 0,
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

    def _predict_batch_size(self, hidden_layer_sizes, device="cpu"):
        """Rows per prediction batch: the widest per-member activation stays in budget.

        The budget is the device's (``'cpu'`` or ``'cuda'``). Per-member
        periodic embeddings hold ``2 * n_frequencies`` values per numeric
        feature and row.
        """
        kind = "cuda" if str(device).startswith("cuda") else "cpu"
        embedding = 0
        if self.numeric_embedding == "periodic":
            n_frequencies = PeriodicEmbedding.__init__.__kwdefaults__["n_frequencies"]
            embedding = 2 * n_frequencies * self.preprocessor_.column_layout_.n_numeric
        width = max([*hidden_layer_sizes, len(getattr(self, "classes_", ())), embedding, 1])
        net = getattr(self, "net_", None)
        # A fitted module may compute more members than it trained (MC dropout samples).
        n_members = self.n_members if net is None else module_members(net.module_)
        rows = _PREDICT_BUDGET[kind] // (n_members * width)
        return int(np.clip(rows, 64, _PREDICT_MAX_ROWS[kind]))

    def _seen_codes(self, X_train, train_weight):
        """Per embedded column, the codes trained on: ``(cardinality, n_weight_columns)`` masks.

        A code counts as seen by a member when a row of positive weight for
        that member holds it (bootstrap counts leave rows out of a member);
        with one weight column for all members, the mask has one column.
        """
        layout = self.preprocessor_.column_layout_
        if not layout.n_codes:
            return []
        codes = X_train[:, layout.codes].long().cpu()
        weight = torch.ones(len(codes), 1) if train_weight is None else train_weight
        trained = (weight.reshape(len(codes), -1) > 0).float()
        masks = []
        for i, c in enumerate(layout.code_cardinalities):
            counts = torch.zeros(c, trained.shape[1]).index_add_(0, codes[:, i], trained)
            masks.append((counts > 0).numpy())
        return masks

    def _schedule(self, n_train):
        """Batch size and effective patience (epochs) for ``n_train`` training rows."""
        batch_size = _auto_batch_size(n_train) if self.batch_size == "auto" else self.batch_size
        return _Schedule(batch_size, _effective_patience(self.patience, n_train, batch_size))

    def _make_net(self, n_features, hidden_layer_sizes, schedule, valid_dataset, seeds, seen):
        """The skorch net, assembled from the hooks.

        ``schedule`` is a :class:`_Schedule`, ``seeds`` a :class:`_Seeds`.
        """
        optimizer, optimizer_params = self._get_optimizer()
        network, network_params = self._get_module(n_features, hidden_layer_sizes)
        module = EncodedNetwork, {
            "network": network,
            "network_params": network_params,
            "encoding": self._device_encoding_params(),
        }
        return build_net(
            module=module,
            criterion=self._get_criterion(),
            optimizer=(optimizer, {"lr": self.lr, **optimizer_params}),
            callbacks=self._get_callbacks(valid_dataset, schedule.patience, seen),
            max_epochs=self.max_epochs,
            batch_size=schedule.batch_size,
            valid_dataset=valid_dataset,
            predict_batch_size=self._predict_batch_size(hidden_layer_sizes, self.device_),
            member_batches=self.n_members if self._member_batches else None,
            shuffle_seed=seeds.shuffle,
            seed=seeds.torch,
            device=self.device_,
            precision=self.precision,
            verbose=self.verbose,
            net_class=self._net_class(),
        )

    def _net_class(self):
        """Hook: the skorch net class, :class:`EnsembleNet` or a subclass of it."""
        return EnsembleNet

    def _reset(self):
        """Forget a previous fit, so that a failed refit leaves an unfitted estimator."""
        self.__dict__.pop("net_", None)

    def _prepare_data(self, X, y, sample_weight, seeds, rng):
        """Drop zero-weight rows, split, learn the encodings, draw the member weights.

        The preprocessing (and the target transformation) is learned on the
        internal training part only, never on the validation rows.
        """
        if sample_weight is not None and not np.all(sample_weight > 0):
            kept = np.flatnonzero(sample_weight > 0)
            X, y, sample_weight = _safe_indexing(X, kept), y[kept], sample_weight[kept]
        train_idx, valid_idx = self._split(y, seeds.split)
        identity = valid_idx is None  # the training part is every row, in order
        self.preprocessor_ = (
            self._make_preprocessor(seeds.preprocessing)
            .set_output(transform="default")
            .fit(X if identity else _safe_indexing(X, train_idx))
        )
        y = self._prepare_target(y, train_idx, sample_weight)
        # From here on the rows are ordered [training part | validation part].
        order = train_idx if identity else np.concatenate([train_idx, valid_idx])
        X_encoded = self._encode(X, None if identity else order)
        self._column_layout(X_encoded.shape[1])
        n_train = len(train_idx)
        if not identity:
            y = y[order]
            sample_weight = None if sample_weight is None else sample_weight[order]
        train_weight = self._member_weights(
            n_train, None if sample_weight is None else sample_weight[:n_train], rng
        )
        valid_weight = None
        if valid_idx is not None and sample_weight is not None:
            valid_weight = sample_weight[n_train:] / sample_weight[n_train:].mean()
            valid_weight = torch.as_tensor(valid_weight, dtype=torch.float32)
        return _FitData(
            X_encoded,
            y,
            sample_weight,
            np.arange(n_train),
            None if identity else np.arange(n_train, len(order)),
            train_weight,
            valid_weight,
        )

    # ------------------------------------------------------ encoding
    def _encodes_on_device(self):
        """Whether the fitted preprocessor's encoding runs as torch operations.

        True for :class:`~skens.preprocessing.TabularPreprocessor` itself; a
        preprocessor of another class (from :meth:`_make_preprocessor`) is
        applied through its own ``transform``, on the CPU.
        """
        preprocessor = self.preprocessor_
        return isinstance(preprocessor, TabularPreprocessor) and (
            type(preprocessor).transform is TabularPreprocessor.transform
            and type(preprocessor)._raw_block is TabularPreprocessor._raw_block
        )

    def _device_encoding_params(self):
        """:class:`skens.nn.TabularEncoding` parameters, or ``None`` (CPU ``transform``)."""
        if not self._encodes_on_device():
            return None
        return self.preprocessor_._encoding_params()

    def _transform_checked(self, rows):
        """``preprocessor_.transform`` of rows this estimator validated (and warned about)."""
        with _rows_checked_for(self.preprocessor_):
            return self.preprocessor_.transform(rows)

    def _raw_batch(self, rows):
        """The encoding stage's input for a batch of checked rows: ``numeric=``, ``codes=``."""
        numeric, codes = self.preprocessor_._raw_block(rows)
        if not numeric.flags.writeable:  # the user's read-only array (torch wants writable)
            numeric = numeric.copy()
        return {"numeric": torch.from_numpy(numeric), "codes": torch.from_numpy(codes)}

    def _encode(self, X, rows=None):
        """Encode ``X`` (the ``rows`` given, else all) into one float32 tensor on the device.

        With :meth:`_encodes_on_device`, the rows are encoded chunk by chunk
        by the encoding stage on the device, into the one tensor the fit
        trains on: the data are copied once, not once per step.
        """
        n_rows = X.shape[0] if rows is None else len(rows)
        device = self.device_
        if not self._encodes_on_device():
            part = X if rows is None else _safe_indexing(X, rows)
            return torch.as_tensor(self._transform_checked(part), dtype=torch.float32).to(
                device
            )
        encoding = TabularEncoding(**self._device_encoding_params()).to(device)
        out = torch.empty((n_rows, encoding.out_features), dtype=torch.float32, device=device)
        chunk = _ENCODE_CHUNK["cuda" if str(device).startswith("cuda") else "cpu"]
        for start in range(0, n_rows, chunk):
            stop = min(start + chunk, n_rows)
            part = _safe_indexing(X, slice(start, stop) if rows is None else rows[start:stop])
            batch = self._raw_batch(part)
            out[start:stop] = encoding(**{k: v.to(device) for k, v in batch.items()})
        return out

    def _make_datasets(self, data):
        """The training and validation datasets (``None`` without one), on the device."""

        def on_device(tensor):
            return None if tensor is None else tensor.to(self.device_)

        y = on_device(torch.as_tensor(data.y))
        train = ArrayDataset(
            on_device(data.X_train), y[: data.n_train], on_device(data.train_weight)
        )
        if data.valid_idx is None:
            return train, None
        valid = ArrayDataset(
            on_device(data.X_valid), y[data.n_train :], on_device(data.valid_weight)
        )
        return train, valid

    def _fit(self, X, y, sample_weight=None):
        """Train on checked ``X``, encoded ``y`` and checked ``sample_weight``.

        Rows of zero weight are left out, as if absent. Returns the
        :class:`_FitData` trained on: encoded inputs, prepared targets and
        weights, and the internal training and validation parts.
        """
        hidden_layer_sizes = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        groups = self._member_groups()
        self.device_ = groups[0][1]
        rng = check_random_state(self.random_state)
        # Every random draw comes from generators this fit owns (the module's,
        # the batch iterator's, ``rng``): nothing global is read or moved.
        # The order of the draws from ``rng`` (these seeds, then the bootstrap
        # counts) is part of the results.
        seeds = _Seeds.draw(rng)
        self._task = self._make_task()
        data = self._prepare_data(X, y, sample_weight, seeds, rng)
        seen = self._seen_codes(data.X_train, data.train_weight)
        if len(groups) == 1:
            net = self._train(data, hidden_layer_sizes, seeds, seen)
            self._record_history([self._history_summary(net)], [self.n_members])
            self.net_ = net
        else:
            self._fit_member_groups(data, hidden_layer_sizes, seeds, seen, groups)
        if "n_jobs" in self._get_param_names():
            self.member_groups_ = [members for members, _ in groups]
        try:
            self._after_training(data)
        except BaseException:
            self._reset()  # a failed fit leaves an unfitted estimator
            raise
        self.net_.trim_for_prediction()
        # The module holds the encoding as buffers; the net's copy of its
        # construction arguments would store the quantile tables twice.
        self.net_.module__encoding = None
        return data

    def _train(self, data, hidden_layer_sizes, seeds, seen):
        """The skorch net, trained on ``data`` (a :class:`_FitData`)."""
        train, valid = self._make_datasets(data)
        net = self._make_net(
            data.X.shape[1],
            hidden_layer_sizes,
            self._schedule(data.n_train),
            valid,
            seeds,
            seen,
        )
        net.fit(train, y=None)
        return net

    # ----------------------------------------------------------- member groups
    def _member_groups(self):
        """``[(member indices, device), ...]``: the groups the members train in.

        One group of every member on the resolved ``device`` unless
        ``n_jobs`` or a list of devices asks for more (kinds with an
        ``n_jobs`` parameter only): then ``min(n_members, groups)`` groups
        of consecutive members, as equal in size as can be.
        """
        devices = self.device
        has_groups = "n_jobs" in self._get_param_names()
        name = type(self).__name__
        if isinstance(devices, (list, tuple)):
            if not has_groups:
                raise ValueError(
                    f"{name} trains its members in one module: device must be one device, got "
                    f"the list {devices!r} (lists of devices place the member groups of the "
                    "kinds with an n_jobs parameter, e.g. DeepEnsembleClassifier)."
                )
            if not devices or not all(isinstance(d, str) for d in devices):
                raise ValueError(
                    f"{name}: a list of devices must hold at least one device string, got "
                    f"{devices!r}."
                )
            if self.n_jobs is not None and self.n_jobs != len(devices):
                raise ValueError(
                    f"{name}: a list of devices trains one member group on each, at once; "
                    f"n_jobs={self.n_jobs} asks for another number of groups than the "
                    f"{len(devices)} devices. Leave n_jobs=None."
                )
            devices = [resolve_device(d) for d in devices]
            if len(devices) > self.n_members:
                raise ValueError(
                    f"{name}: device lists {len(devices)} devices, one member group each, but "
                    f"there are only n_members={self.n_members} members."
                )
            n_groups = len(devices)
        else:
            devices = [resolve_device(devices)]
            if self.n_jobs == 0:
                raise ValueError(
                    f"{name}: n_jobs=0 is not a number of workers; use None or 1 (one process), "
                    "a positive number, or -1 (every worker of the active joblib backend)."
                )
            # A positive n_jobs is the number of groups, whatever the backend (joblib's
            # Dask backend reports its cluster's threads for any n_jobs); a negative
            # one counts the active backend's workers.
            n_groups = 1 if self.n_jobs is None else self.n_jobs
            if n_groups < 0:
                n_groups = effective_n_jobs(n_groups)
            n_groups = min(self.n_members, n_groups)
            devices = devices * n_groups
        if n_groups > 1 and getattr(self, "ensemble_type", None) == "shared":
            raise ValueError(
                f"{name} with ensemble_type='shared': the members share one trunk, so they "
                "cannot be trained apart in member groups; use n_jobs=None and one device."
            )
        members = np.array_split(np.arange(self.n_members), n_groups)
        return list(zip(members, devices))

    def _fit_member_groups(self, data, hidden_layer_sizes, seeds, seen, groups):
        """Train each member group in its own joblib worker, then join them into ``net_``.

        Every group sees the same rows, split and encoding (learned here,
        once); each gets its members' columns of the bootstrap weights and
        seen-code masks, and seeds of its own (so groups differ as members
        do). The workers run under the active joblib backend: local
        processes by default, a Dask or Ray cluster inside
        ``joblib.parallel_config(backend=...)``.
        """
        template = copy.copy(self)
        template.__dict__.pop("net_", None)
        # numpy, which joblib hands to local workers as a memory map.
        shipped = replace(data, X=data.X.cpu().numpy())
        jobs = []
        for g, (members, device) in enumerate(groups):
            weight = data.train_weight
            if weight is not None and weight.shape[1] > 1:
                weight = weight[:, members]
            group_seen = [m[:, members] if m.shape[1] > 1 else m for m in seen]
            jobs.append(
                delayed(_train_member_group)(
                    template,
                    g,
                    len(members),
                    device,
                    replace(shipped, train_weight=weight),
                    hidden_layer_sizes,
                    _group_seeds(seeds, g),
                    group_seen,
                )
            )
        results = Parallel(n_jobs=len(groups))(jobs)
        nets = [net for net, _ in results]
        self.net_ = nets[0]
        self._use_as_members([net.module_.network for net in nets])
        self._record_history([summary for _, summary in results], [len(m) for m, _ in groups])

    def _after_training(self, data):
        """Hook: change the trained ``net_`` before anything predicts with it (nothing here).

        ``data`` is the :class:`_FitData` trained on. It runs before the net
        is trimmed for prediction, so the optimizer is still there (SWAG
        trains on with it). MC dropout replaces the module by its dropout
        samples here; what ``fit`` measures afterwards (a regressor's
        residual noise, a student's fidelity) sees the replaced module.
        """

    def _extra_seed(self, offset):
        """A seed for a generator a kind adds to those of the fit (masks, noise...).

        ``random_state``'s first draw plus ``offset``: reproducible with an
        int ``random_state``, and apart from the fit's own seeds (of
        :class:`_Seeds`, whose first is that same draw) for ``offset > 0``.
        Member group ``g > 0`` (see :meth:`_fit_member_groups`) adds
        ``1000 * g``, so that groups draw apart.
        """
        first = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        return first + offset + 1000 * self._group

    def _use_as_members(self, modules):
        """Replace the trained network by ``modules``, joined as the members of one module.

        ``modules`` are copies of ``net_.module_.network`` (snapshots, weight
        samples); their BatchEnsemble layers are made independent (in place)
        so that :func:`skens.nn.stack_members` can join them, and the joined
        module goes to the net's device.
        """
        device = next(self.net_.module_.parameters()).device
        members = [independent_members(m, inplace=True) for m in modules]
        self.net_.module_.network = stack_members(members).to(device)

    @staticmethod
    def _history_summary(net):
        """Epochs, loss curves and best loss of a trained net, as a dict."""
        history = net.history
        loss_curve = [float(v) for v in history[:, "train_loss"]]
        early_stopping = dict(net.callbacks_).get("early_stopping")
        if early_stopping is None:
            return dict(n_iter=len(history), loss_curve=loss_curve, validation_loss_curve=None,
                        validation_scores=None, best_loss=min(loss_curve))
        valid_curve = [float(v) for v in history[:, "valid_loss"]]
        return dict(
            n_iter=len(history),
            loss_curve=loss_curve,
            validation_loss_curve=valid_curve,
            validation_scores=[float(v) for v in history[:, "valid_score"]],
            # The loss of the epoch whose weights were restored (skorch counts epochs from 1).
            best_loss=valid_curve[early_stopping.best_epoch_ - 1],
        )

    def _record_history(self, summaries, sizes):
        """Set ``n_iter_``, the curves and ``best_loss_`` from the groups' summaries.

        With one group, its own figures. With several (member groups),
        ``n_iter_`` is the most epochs a group ran, each curve's entry at an
        epoch is the mean over the groups still training then, weighted by
        their numbers of members (the losses are means over members), and
        ``best_loss_`` the weighted mean of the groups' best losses.
        """
        self.n_iter_ = max(s["n_iter"] for s in summaries)
        sizes = np.asarray(sizes, dtype=float)

        def joined(key):
            if summaries[0][key] is None:
                return None
            curve = []
            for epoch in range(self.n_iter_):
                running = [(s[key][epoch], w) for s, w in zip(summaries, sizes)
                           if epoch < len(s[key])]
                values, weights = zip(*running)
                curve.append(float(np.average(values, weights=weights)))
            return curve

        self.loss_curve_ = joined("loss_curve")
        self.validation_loss_curve_ = joined("validation_loss_curve")
        self.validation_scores_ = joined("validation_scores")
        self.best_loss_ = float(np.average([s["best_loss"] for s in summaries], weights=sizes))

    # --------------------------------------------------------------- inference
    def _evaluate(self, batch, module=None):
        """The module's outputs for one batch (``module``: another module, e.g. a member subset)."""
        if module is None:
            return self.net_.evaluation_step(batch, training=False)
        X, _ = batch
        # To the net's device, as skorch's step does (rows the preprocessor encodes on the CPU).
        device = self.net_.device
        X = {k: v.to(device) for k, v in X.items()} if isinstance(X, dict) else X.to(device)
        autocast = contextlib.nullcontext()
        if self.net_.precision == "bf16":
            device_type = torch.device(self.net_.device).type
            autocast = torch.autocast(device_type, dtype=torch.bfloat16)
        with torch.no_grad(), autocast:
            return module(**X) if isinstance(X, dict) else module(X)

    def _raw_outputs(self, X, *, encoded=False, module=None):
        """Module outputs for checked rows (or ``encoded`` ones), batch by batch, on the CPU.

        Raw rows are encoded on the model's device by its encoding stage
        (see :meth:`_encodes_on_device`), else by the preprocessor on the
        CPU, in chunks of at least ``_PREDICT_ENCODE_ROWS`` rows (the
        encoding's cost per call is mostly fixed); the network then runs on
        batches of :meth:`_predict_batch_size` rows (on a CPU, small enough
        to stay in cache). Each batch's outputs come to the host in one
        transfer, as float32.

        No batch holds fewer than ``MIN_BATCH_ROWS`` rows: a matrix product
        of a few rows can take another kernel path (and rounding) than a
        larger one, and a row's prediction must not depend on the rows
        predicted with it. :class:`BatchIterator` never leaves a smaller last
        batch. Fewer rows are repeated up to that number and encoded; the
        prediction module then evaluates only as many of them as give a
        larger batch's outputs bit for bit (:meth:`_rows_alone`, measured
        per module; 4 on the CPUs measured), and the copies are dropped.

        ``module`` evaluates the batches instead of ``net_.module_`` (a
        :func:`skens.nn.select_members` subset of it, say); by default, the
        :meth:`_prediction_module`.

        Raw rows fewer than ``MIN_BATCH_ROWS`` are converted for the encoding
        stage (:meth:`_raw_batch`) before they are repeated: the conversion
        reads each row alone and does no arithmetic, so the encoding stage
        gets the same input as from the repeated rows, for less. That is the
        path of a single-row prediction (benchmarks/bench_latency.py).
        """
        net = self.net_
        encoding = getattr(net.module_, "encoding", None)
        raw = not encoded and encoding is not None
        if encoded:
            transform = None
        elif raw:
            transform = self._raw_batch
        else:
            transform = self._transform_checked
        probe = module is None
        if module is None:
            module = self._prediction_module()
            probe = module is not None
        n_rows = len(X)
        if n_rows < MIN_BATCH_ROWS:
            repeat = torch.from_numpy(np.arange(MIN_BATCH_ROWS) % n_rows)
            if raw:
                batch = {k: v[repeat] for k, v in self._raw_batch(X).items()}
            elif transform is None:  # encoded rows
                batch = X[repeat.to(X.device)] if isinstance(X, torch.Tensor) else X[repeat]
            else:
                batch = transform(_safe_indexing(X, repeat.numpy()))
            if isinstance(batch, dict):  # raw rows: the encoding stage, on the device
                with torch.no_grad():
                    batch = encoding(**{k: v.to(net.device) for k, v in batch.items()})
            elif not isinstance(batch, torch.Tensor):
                batch = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            if probe:  # the network on as few of the repeated rows as give the same outputs
                batch = batch[: max(n_rows, self._rows_alone(module, batch.shape[1]))]
            out = _to_host(self._evaluate((batch, None), module))
            yield tuple(t[:n_rows] for t in out) if isinstance(out, tuple) else out[:n_rows]
            return
        batch_size = self._predict_batch_size(
            _check_hidden_layer_sizes(self.hidden_layer_sizes), net.device
        )
        chunk_size = batch_size * max(1, -(-_PREDICT_ENCODE_ROWS // batch_size))
        for chunk, _ in BatchIterator(ArrayDataset(X, transform=transform), chunk_size):
            if isinstance(chunk, dict):  # raw rows: the encoding stage, on the device
                with torch.no_grad():
                    chunk = encoding(**{k: v.to(net.device) for k, v in chunk.items()})
            for batch in BatchIterator(ArrayDataset(chunk), batch_size):
                yield _to_host(self._evaluate(batch, module))

    def _rows_alone(self, module, width):
        """Fewest rows a batch of ``module`` needs for outputs that do not depend on its size.

        A matrix product of a few rows can take another kernel (and
        rounding) than a larger one: on the CPUs measured, 1 to 3 rows do.
        The answer depends on the machine, the library and the layer
        shapes, so it is measured, not assumed: ``module`` evaluates
        ``_PROBE_ROWS`` random rows at once, then their first ``k`` rows for
        each ``k`` below ``MIN_BATCH_ROWS``; the answer is the smallest
        ``k`` from which every size gives the first rows' outputs bit for
        bit. Different summation orders round random inputs differently
        almost surely, so a kernel change does not go unseen. When
        ``MIN_BATCH_ROWS`` rows themselves differ from the larger batch,
        the answer is ``MIN_BATCH_ROWS``: no claim beyond the padding's.

        Measured once per prediction copy, number of threads and input
        width (a few small forward passes), with a generator of its own.
        """
        key = torch.get_num_threads(), width
        known = _ROWS_ALONE.setdefault(module, {})
        if key not in known:
            generator = torch.Generator().manual_seed(0)
            rows = _probe_rows(module, width, _PROBE_ROWS, generator).to(self.net_.device)
            full = _to_host(self._evaluate((rows, None), module))

            def same(k):
                out = _to_host(self._evaluate((rows[:k], None), module))
                first = tuple(t[:k] for t in full) if isinstance(full, tuple) else full[:k]
                return _bitwise_equal(out, first)

            fewest = MIN_BATCH_ROWS
            if same(MIN_BATCH_ROWS):
                while fewest > 1 and same(fewest - 1):
                    fewest -= 1
            known[key] = fewest
        return known[key]

    def _prediction_module(self):
        """The module that evaluates encoded batches, or ``None``: ``net_``'s own step.

        A :func:`_prediction_copy` of ``net_.module_.network`` (adapters
        folded once, not at every call; no skorch step per batch), where the
        net evaluates a batch just by calling its module in eval mode without
        gradients; the outputs are the same, bit for bit.
        """
        net = self.net_
        if (
            type(net).infer is not EnsembleNet.infer
            or type(net).evaluation_step is not EnsembleNet.evaluation_step
            or type(net.module_) is not EncodedNetwork
        ):
            return None
        return _prediction_copy(net.module_.network)

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
