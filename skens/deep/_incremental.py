"""Incremental training (``partial_fit``) of the deep ensembles.

:class:`_IncrementalMixin` gives :class:`~skens.DeepEnsembleClassifier` and
:class:`~skens.DeepEnsembleRegressor` scikit-learn's ``partial_fit``: each
call trains every member for one pass (one epoch of mini-batches) over the
rows it is given, so that a table larger than memory can be learned chunk by
chunk. The skorch net is built once, on the first call, and trained on by
later calls with its optimizer state; it is never trimmed for prediction.

Kinds built on these classes whose ``fit`` does more than train the members
(dropout samples, snapshots, SWAG, chains, sequential masks...) do not get
``partial_fit``: see :meth:`_IncrementalMixin._partial_fit_supported`.
"""

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import NotFittedError, check_consistent_length, check_is_fitted

from ..preprocessing import TabularPreprocessor
from ..utils import check_sample_weight, resolve_device
from ..utils._compat import _fit_context, _safe_indexing
from ..utils._validation import (
    _check_classification_target,
    _check_regression_target,
    _class_weighted,
)
from ._base import _check_hidden_layer_sizes, _FitData, _Schedule, _Seeds

__all__ = []

_INT32_MAX = np.iinfo(np.int32).max


@dataclass(eq=False)
class _IncrementalState:
    """What ``partial_fit`` keeps between calls, besides the fitted attributes.

    Attributes
    ----------
    net : EnsembleNet or None
        The untrimmed net the calls train (also the estimator's ``net_``;
        the state is stale, e.g. after a ``fit``, when it is not); ``None``
        until the first call builds it.
    seeds : _Seeds
        The seeds drawn from ``random_state`` on the first call: the
        module's (initial weights, dropout), and ``seeds.shuffle``, which
        seeds each call's generator (shuffling order, bootstrap counts)
        with the number of calls.
    calls : int
        Number of ``partial_fit`` calls that trained ``net``.
    seen : list of ndarray of bool
        Per embedded column, the codes trained on so far (see
        :meth:`_BaseDeepEnsemble._seen_codes`).
    """

    net: object
    seeds: _Seeds
    calls: int = 0
    seen: list = field(default_factory=list)


def _union(seen, new):
    """The element-wise union of two lists of seen-code masks (columns broadcast)."""
    if not seen:
        return [np.asarray(mask) for mask in new]
    return [np.logical_or(old, mask) for old, mask in zip(seen, new)]


class _IncrementalMixin:
    """``partial_fit`` for the deep ensembles (before ``_BaseDeepEnsemble`` in the bases).

    A class that lists this mixin among its bases gets the ``partial_fit``
    of its task: ``partial_fit(X, y, classes=None, sample_weight=None,
    preprocessor=None)`` for a classifier, ``partial_fit(X, y,
    sample_weight=None, preprocessor=None)`` for a regressor. Subclasses
    inherit it only while :meth:`_partial_fit_supported`.
    """

    # Hooks whose override changes what training means (a different net, or
    # work after training that one pass cannot redo): a subclass overriding
    # one of them has no partial_fit.
    _partial_fit_fixed_hooks = ("fit", "_fit", "_after_training", "_net_class", "_get_callbacks")

    def __init_subclass__(cls, **kwargs):
        if _IncrementalMixin in cls.__bases__ and "partial_fit" not in cls.__dict__:
            classifier = issubclass(cls, ClassifierMixin)
            holder = _ClassifierPartialFit if classifier else _RegressorPartialFit
            cls.partial_fit = holder.__dict__["partial_fit"]
            cls._partial_fit_owner = cls
        super().__init_subclass__(**kwargs)

    def _partial_fit_supported(self):
        """Whether ``partial_fit`` trains this kind as ``fit`` would, one pass at a time.

        True for the class that lists the mixin, and for subclasses that keep
        its :attr:`_partial_fit_fixed_hooks`.
        """
        owner = type(self)._partial_fit_owner
        return all(
            getattr(type(self), name) is getattr(owner, name)
            for name in self._partial_fit_fixed_hooks
        )

    def _reset(self):
        self.__dict__.pop("_incremental_state", None)
        super()._reset()

    # ----------------------------------------------------------------- state
    def _live_incremental_state(self):
        """The state of the previous ``partial_fit`` calls, or ``None``.

        ``None`` after a ``fit`` (whose net is trimmed: training resumes on a
        new net from its weights).
        """
        state = self.__dict__.get("_incremental_state")
        if state is None or state.net is not self.__dict__.get("net_"):
            return None
        return state

    def _draw_seeds(self):
        """The seeds ``fit`` would draw first from ``random_state``."""
        return _Seeds.draw(check_random_state(self.random_state))

    def _build_incremental_net(self, n_features, hidden_layer_sizes, batch_size, seeds, seen):
        """A skorch net that trains one epoch per call, initialised, nothing trimmed."""
        net = self._make_net(
            n_features, hidden_layer_sizes, _Schedule(batch_size, 1), None, seeds, seen
        )
        net.max_epochs = 1
        net.initialize()
        # As in fit: the module holds the encoding as buffers; the net's copy of
        # its construction arguments would store the quantile tables twice.
        net.module__encoding = None
        return net

    def _start_incremental(self, X, preprocessor):
        """First call: device, task, encoding of ``X``; the state (no net yet)."""
        if isinstance(self.device, (list, tuple)):
            raise ValueError(
                f"{type(self).__name__}.partial_fit trains every member in this process, on "
                f"one device: got the list device={self.device!r} (lists of devices and "
                "n_jobs place the member groups of fit only)."
            )
        self.device_ = resolve_device(self.device)
        seeds = self._draw_seeds()
        self._task = self._make_task()
        if preprocessor is None:
            preprocessor = self._make_preprocessor(seeds.preprocessing)
            self.preprocessor_ = preprocessor.set_output(transform="default").fit(X)
        else:
            self.preprocessor_ = self._check_given_preprocessor(preprocessor)
        self.n_iter_ = 0
        self.loss_curve_ = []
        return _IncrementalState(net=None, seeds=seeds)

    def _check_given_preprocessor(self, preprocessor):
        """A deep copy of a fitted ``TabularPreprocessor`` for the features of the estimator."""
        name = type(self).__name__
        if not isinstance(preprocessor, TabularPreprocessor):
            raise TypeError(
                f"{name}.partial_fit: preprocessor must be a fitted "
                f"skens.preprocessing.TabularPreprocessor, got {type(preprocessor).__name__}."
            )
        try:
            check_is_fitted(preprocessor)
        except NotFittedError as exc:
            raise NotFittedError(
                f"{name}.partial_fit: the preprocessor passed is not fitted; fit it first "
                "(e.g. on a sample of the whole data) with preprocessor.fit(X_sample)."
            ) from exc
        if preprocessor.n_features_in_ != self.n_features_in_:
            raise ValueError(
                f"{name}.partial_fit: the preprocessor was fitted on "
                f"{preprocessor.n_features_in_} features, but X has {self.n_features_in_}."
            )
        names = getattr(preprocessor, "feature_names_in_", None)
        if names is not None and not np.array_equal(
            names, getattr(self, "feature_names_in_", None)
        ):
            raise ValueError(
                f"{name}.partial_fit: the preprocessor was fitted on columns "
                f"{list(names)}, but X's columns are "
                f"{list(getattr(self, 'feature_names_in_', []))}."
            )
        return copy.deepcopy(preprocessor).set_output(transform="default")

    def _resume_from_fit(self, hidden_layer_sizes):
        """A ``partial_fit`` after ``fit``: a new net with the fitted weights, new optimizer."""
        if not hasattr(self, "_task"):
            self._task = self._make_task()
        seeds = self._draw_seeds()
        layout = self.preprocessor_.column_layout_
        # fit's record of the codes it trained on is gone with its callbacks: no
        # code counts as unseen, so none is overwritten by the mean embedding.
        seen = [np.ones((c, 1), dtype=bool) for c in layout.code_cardinalities]
        net = self._build_incremental_net(
            layout.n_columns, hidden_layer_sizes, int(self.net_.batch_size), seeds, seen
        )
        # The fitted module itself (not its state into a new one: member groups
        # joined BatchEnsemble members into independent ones), with a new optimizer.
        # (Joined members are built frozen, for prediction: train them again.)
        net.module_ = copy.deepcopy(self.net_.module_).to(self.device_).requires_grad_(True)
        net.initialize_optimizer()
        self.validation_loss_curve_ = None
        self.validation_scores_ = None
        self.loss_curve_ = list(self.loss_curve_)
        return _IncrementalState(net=net, seeds=seeds, seen=seen)

    def _online_member_weights(self, n_samples, sample_weight, rng):
        """Training loss weights of one call, as :meth:`_member_weights` gives for a fit.

        With ``bootstrap``, each member weighs each row by a Poisson(1) count
        (the online bootstrap of Oza and Russell), times ``sample_weight``;
        normalised to mean 1 per member (a member whose counts are all zero
        does not learn from this call).
        """
        weight = None if sample_weight is None else sample_weight[:, None]
        if self.bootstrap:
            counts = rng.poisson(1.0, size=(n_samples, self.n_members)).astype(np.float64)
            weight = counts if weight is None else counts * weight
        if weight is None:
            return None
        mean = weight.mean(axis=0, keepdims=True)
        weight = np.divide(weight, mean, out=np.zeros_like(weight), where=mean > 0)
        return torch.as_tensor(weight, dtype=torch.float32)

    def _incremental_target(self, y, sample_weight, first):
        """The prepared targets: the transformation is learned on the first call only."""
        if first:
            return self._prepare_target(y, np.arange(len(y)), sample_weight)
        scaler = getattr(self, "target_scaler_", None)
        return y if scaler is None else scaler.transform(y).astype(np.float32)

    def _partial_fit_step(self, X, y, sample_weight, preprocessor, first):
        """One pass over checked ``X``, encoded ``y`` and checked ``sample_weight``.

        Returns the :class:`_FitData` trained on (rows of positive weight).
        """
        hidden_layer_sizes = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        if sample_weight is not None and not np.all(sample_weight > 0):
            kept = np.flatnonzero(sample_weight > 0)
            X, y, sample_weight = _safe_indexing(X, kept), y[kept], sample_weight[kept]
        if first:
            state = self._start_incremental(X, preprocessor)
        else:
            state = self._live_incremental_state() or self._resume_from_fit(hidden_layer_sizes)
        y = self._incremental_target(y, sample_weight, first)
        X_encoded = self._encode(X)
        self._column_layout(X_encoded.shape[1])
        # This call's own generator: the shuffling order and the bootstrap counts
        # differ from call to call, and repeat with an int random_state.
        rng = np.random.default_rng([state.seeds.shuffle, state.calls])
        shuffle_seed = int(rng.integers(_INT32_MAX))
        train_weight = self._online_member_weights(len(y), sample_weight, rng)
        state.seen = _union(state.seen, self._seen_codes(X_encoded, train_weight))
        net = state.net
        if net is None:
            batch_size = self._schedule(len(y)).batch_size
            net = self._build_incremental_net(
                X_encoded.shape[1], hidden_layer_sizes, batch_size, state.seeds, state.seen
            )
            state.net = net
        for name, callback in net.callbacks_:
            if name == "fill_unseen":
                callback.seen = state.seen
        data = _FitData(X_encoded, y, sample_weight, np.arange(len(y)), None, train_weight, None)
        train, _ = self._make_datasets(data)
        net.iterator_train__seed = shuffle_seed
        net.partial_fit(train, y=None)
        state.calls += 1
        # The per-batch rows of earlier passes are of no further use; a long
        # stream of calls would otherwise keep (and pickle) them all.
        if len(net.history) > 1:
            list.__getitem__(net.history, -2)["batches"] = []
        self.n_iter_ += 1
        self.loss_curve_.append(float(net.history[-1, "train_loss"]))
        self.validation_loss_curve_ = None
        self.validation_scores_ = None
        self.best_loss_ = min(self.loss_curve_)
        self.net_ = net
        self._incremental_state = state
        return data


_PARTIAL_FIT_NOTES = """
        One call trains every member for one pass (one epoch of mini-batches)
        over the rows given, with the optimizer state of the previous calls:
        call it once per chunk of a table too large for memory, and loop over
        the chunks for several passes. There is no internal validation split
        and no early stopping (``early_stopping``, ``validation_fraction``,
        ``patience`` and ``max_epochs`` are ignored): early stopping is the
        caller's, e.g.::

            best, wait = np.inf, 0
            for epoch in range(max_passes):
                for X_chunk, y_chunk in chunks():
                    model.partial_fit(X_chunk, y_chunk%(classes_arg)s)
                loss = %(loss)s(y_valid, model.%(predict)s(X_valid))
                if loss < best - 1e-4:
                    best, wait, best_model = loss, 0, copy.deepcopy(model)
                else:
                    wait += 1
                    if wait == patience:
                        break

        The first call (on an unfitted estimator) validates the parameters,
        records the features, learns the encoding of ``X`` on its rows%(target)s
        and resolves ``batch_size='auto'`` from its number of rows; later calls
        keep all of these. The encoding's categories, missing-value indicators
        and quantiles then come from the first chunk only: pass a
        ``preprocessor`` fitted on a sample of the whole data when the first
        chunk is not representative, and an integer ``batch_size`` when it is
        small. The network and its optimizer are built from the parameters on
        the first call: set them before it, not between calls. Callbacks
        (``callbacks``) see each call as a training run of one epoch.

        With ``bootstrap=True``, each member weighs each row of a call by its
        own Poisson(1) count (the online bootstrap of Oza and Russell).
        ``n_iter_`` counts the calls, ``loss_curve_`` holds each call's
        training loss and ``best_loss_`` the lowest of them. With an int
        ``random_state``, the same sequence of chunks gives the same model.

        ``fit`` starts afresh. A ``partial_fit`` on an estimator fitted by
        ``fit`` trains on from its weights, but the optimizer state restarts
        (``fit`` drops it) and every categorical code counts as trained.
"""


# The parameter texts the classifier's and the regressor's partial_fit share.
_PARTIAL_FIT_SHARED = {
    "X_param": """
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            A chunk of training data: numbers, or a DataFrame mixing numeric,
            categorical, string and boolean columns; NaN marks a missing
            value. Every call must have the columns of the first.
""",
    "weight_params_and_returns": """
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample's loss; zero ignores a sample.
        preprocessor : TabularPreprocessor, default=None
            A fitted :class:`skens.preprocessing.TabularPreprocessor` to
            encode ``X`` with instead of one learned on the first chunk (e.g.
            fitted on a sample of the whole data); a copy becomes
            ``preprocessor_``, and the estimator's ``categorical_features``
            and ``numeric_scaling`` are not used. Read on the first call
            only: later calls ignore it.

        Returns
        -------
        self : object
            The estimator, trained one more pass.
""",
}


def _with_notes(**values):
    """Fill the ``%(notes)s`` and shared parameters of a ``partial_fit`` docstring.

    Before it is wrapped: each placeholder's first line is indented in place.
    """

    def decorate(function):
        texts = dict(_PARTIAL_FIT_SHARED, notes=_PARTIAL_FIT_NOTES % values)
        for name, text in texts.items():
            function.__doc__ = function.__doc__.replace(f"%({name})s", text.strip())
        return function

    return decorate


def _check_classes(estimator, classes):
    """The sorted distinct labels of ``classes``, a 1-D array-like."""
    classes = np.asarray(classes)
    if classes.ndim != 1 or not len(classes):
        raise ValueError(
            f"{type(estimator).__name__}.partial_fit: classes must be a non-empty 1-D "
            f"array-like of labels, got {classes!r}."
        )
    try:
        return np.unique(classes)
    except TypeError as exc:
        raise TypeError(
            f"{type(estimator).__name__}.partial_fit: classes must be labels of one "
            f"comparable type ({exc})."
        ) from exc


def _encode_labels(estimator, y, classes):
    """Positions of the labels ``y`` in the sorted ``classes``; an error names the unknown."""
    try:
        position = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
        unknown = classes[position] != y
    except TypeError:  # labels of another type than the classes
        position, unknown = None, np.ones(len(y), dtype=bool)
    if np.any(unknown):
        unknown_labels = list(dict.fromkeys(np.asarray(y)[unknown].tolist()))
        raise ValueError(
            f"{type(estimator).__name__}.partial_fit: y holds labels not in classes_ "
            f"{classes.tolist()!r}: {unknown_labels!r}."
        )
    return position.astype(np.int64)


class _ClassifierPartialFit:
    """Holds the classifiers' ``partial_fit`` (installed by :class:`_IncrementalMixin`)."""

    @available_if(lambda self: self._partial_fit_supported())
    @_fit_context(prefer_skip_nested_validation=True)
    @_with_notes(
        classes_arg=", classes=classes", loss="log_loss", predict="predict_proba", target=""
    )
    def partial_fit(self, X, y, classes=None, sample_weight=None, preprocessor=None):
        """Train all members for one pass over ``(X, y)``, resuming from the previous calls.

        Parameters
        ----------
        %(X_param)s
        y : array-like of shape (n_samples,)
            Class labels, all in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole data. Required on the first call; later
            calls may omit it, or must pass the same classes.
        %(weight_params_and_returns)s

        Notes
        -----
        %(notes)s

        ``class_weight='balanced'`` would need the class frequencies of the
        whole data and is not supported: pass a dict (e.g. from
        :func:`sklearn.utils.class_weight.compute_class_weight`).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_iris
        >>> from skens import DeepEnsembleClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> order = np.random.default_rng(0).permutation(len(y))
        >>> clf = DeepEnsembleClassifier(n_members=2, hidden_layer_sizes=(16,),
        ...                              random_state=0)
        >>> for chunk in np.array_split(order, 2):
        ...     clf = clf.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
        >>> clf.classes_, clf.n_iter_
        (array([0, 1, 2]), 2)
        >>> clf.predict_proba(X[:1]).shape
        (1, 3)
        """
        first = not hasattr(self, "net_")
        X = self._check_X(X, reset=first)
        y = _check_classification_target(self, y)
        check_consistent_length(X, y)
        sample_weight = check_sample_weight(sample_weight, len(y))
        name = type(self).__name__
        if first:
            if classes is None:
                raise ValueError(
                    f"{name}.partial_fit needs classes=, all the classes of the whole data, "
                    "on its first call (a chunk may lack some)."
                )
            self.classes_ = _check_classes(self, classes)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{name} needs at least 2 classes, but classes={list(self.classes_)!r}."
                )
        elif classes is not None:
            classes = _check_classes(self, classes)
            if classes.shape != self.classes_.shape or np.any(classes != self.classes_):
                raise ValueError(
                    f"{name}.partial_fit: classes={classes.tolist()!r} differs from the "
                    f"classes of the first call, classes_={self.classes_.tolist()!r}."
                )
        y_encoded = _encode_labels(self, y, self.classes_)
        if isinstance(self.class_weight, str):
            raise ValueError(
                f"{name}.partial_fit does not support class_weight='balanced' (it needs the "
                "class frequencies of the whole data); pass a dict instead, e.g. from "
                "sklearn.utils.class_weight.compute_class_weight('balanced', ...)."
            )
        sample_weight = _class_weighted(self.class_weight, y, sample_weight)
        self._partial_fit_step(X, y_encoded, sample_weight, preprocessor, first)
        return self


class _RegressorPartialFit:
    """Holds the regressors' ``partial_fit`` (installed by :class:`_IncrementalMixin`)."""

    @available_if(lambda self: self._partial_fit_supported())
    @_fit_context(prefer_skip_nested_validation=True)
    @_with_notes(
        classes_arg="",
        loss="mean_squared_error",
        predict="predict",
        target=" and\n        the standardisation of ``y`` on its targets",
    )
    def partial_fit(self, X, y, sample_weight=None, preprocessor=None):
        """Train all members for one pass over ``(X, y)``, resuming from the previous calls.

        Parameters
        ----------
        %(X_param)s
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Numeric targets, with the outputs of the first call; standardised
            with the mean and scale of the first call's targets.
        %(weight_params_and_returns)s

        Notes
        -----
        %(notes)s

        With ``loss='mse'``, ``noise_variance_`` is each member's mean
        squared residual on the rows of the last call (as ``fit`` measures
        it on its training rows without early stopping): feed chunks of
        more than a few rows.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_diabetes
        >>> from skens import DeepEnsembleRegressor
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = DeepEnsembleRegressor(n_members=2, hidden_layer_sizes=(16,),
        ...                             random_state=0)
        >>> for chunk in np.array_split(np.arange(len(y)), 2):
        ...     reg = reg.partial_fit(X[chunk], y[chunk])
        >>> mean, std = reg.predict(X[:3], return_std=True)
        >>> reg.n_iter_, mean.shape, bool((std > 0).all())
        (2, (3,), True)
        """
        first = not hasattr(self, "net_")
        X = self._check_X(X, reset=first)
        y = _check_regression_target(self, y)
        check_consistent_length(X, y)
        sample_weight = check_sample_weight(sample_weight, len(y))
        y_2d = y.reshape(len(y), -1)
        if first:
            self._y_ndim = y.ndim
            self.n_outputs_ = y_2d.shape[1]
        elif y_2d.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{type(self).__name__}.partial_fit: y has {y_2d.shape[1]} outputs, but the "
                f"previous calls had {self.n_outputs_}."
            )
        data = self._partial_fit_step(X, y_2d, sample_weight, preprocessor, first)
        self.noise_variance_ = None
        if not self._task.predicts_variance:
            self.noise_variance_ = self._residual_variance(data.X, data.y, data.sample_weight)
        return self
