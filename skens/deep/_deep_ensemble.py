"""Deep ensembles of MLPs for classification and regression."""

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_consistent_length

from ..base import EnsembleClassifierMixin, EnsembleRegressorMixin, _concat
from ..ensemble._aggregation import crossmax
from ..nn import ClassificationTask, GaussianRegressionTask, SquaredErrorRegressionTask
from ..utils import check_sample_weight
from ..utils._compat import StrOptions, _fit_context
from ..utils._validation import (
    _check_classification_target,
    _check_regression_target,
    _class_weighted,
)
from ._base import _BaseDeepEnsemble
from ._incremental import _IncrementalMixin

__all__ = ["DeepEnsembleClassifier", "DeepEnsembleRegressor"]

_COMMON_PARAMETERS = """
    n_members : int, default=8
        Number of ensemble members, all trained at once in one torch module.

    ensemble_type : {'batchensemble', 'independent', 'shared'}, default='batchensemble'
        ``'independent'``: each member has its own weight matrices (a classic
        deep ensemble). ``'batchensemble'``: hidden layers share one weight
        matrix and each member owns rank-1 scaling adapters and biases, as in
        TabM; far fewer parameters for the same compute. ``'shared'``: the
        hidden layers and embeddings are one trunk shared by every member,
        and each member is only its own output layer (a multi-head network;
        see :class:`MultiHeadClassifier`): fewer parameters, and the trunk
        runs once for shared rows, but the members differ much less. Output
        layers are independent in all three.

    hidden_layer_sizes : array-like of int, default=(256, 256)
        Width of each hidden layer of every member. ``()`` gives an ensemble
        of linear models.

    activation : {'relu', 'gelu', 'silu', 'tanh', 'logistic', 'identity'}, default='relu'
        Hidden-layer non-linearity.

    dropout : float, default=0.1
        Dropout probability after each hidden layer, drawn per member.

    lr : float, default=1e-3
        Learning rate of the AdamW optimizer.

    weight_decay : float, default=1e-4
        Decoupled weight decay of AdamW, applied to weight matrices (not to
        biases or BatchEnsemble adapters).

    batch_size : int or 'auto', default='auto'
        Mini-batch size. ``'auto'``: about an eighth of the training rows,
        rounded to a power of two between 16 and 256 (256 from about 1,450
        training rows on), so that a small table still gets several
        optimizer steps per epoch.

    max_epochs : int, default=200
        Maximum number of passes over the training data.

    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training data, monitor the
        ensemble's loss on it, stop after ``patience`` epochs without an
        improvement of at least 1e-4, and restore the best weights.

    validation_fraction : float, default=0.2
        Share of the training data held out when ``early_stopping=True``.

    patience : int, default=10
        Epochs without improvement before early stopping. Training never
        stops before 100 optimizer steps without improvement either: with
        few steps per epoch (a small table or a large batch), patience is
        raised to ``ceil(100 / steps_per_epoch)`` epochs.

    bootstrap : bool, default=False
        Train each member on its own bootstrap resample of the training data
        (implemented as per-member loss weights). Members differ in any case
        by their initialisation, their own embeddings and the order in which
        they see the training rows (each member draws its own mini-batches).

    categorical_features : 'from_dtype', array-like of str or int, array-like of bool, or None, \
            default='from_dtype'
        Which columns of ``X`` are categorical. ``'from_dtype'``: in a
        DataFrame, the columns of dtype ``category``, ``object``, string or
        ``bool``; a numpy array has none. Column names, indices or a boolean
        mask select them explicitly. Categorical columns are one-hot encoded
        when they have at most 64 categories and embedded otherwise; NaN is a
        category of its own and a category unseen in training maps to an
        "unknown" code, whose embedding is the mean of the trained ones.

    numeric_scaling : {'quantile', 'standard', 'robust'}, default='quantile'
        Scaling of the numeric columns, fitted on the internal training part (see
        :class:`skens.preprocessing.TabularPreprocessor`). Missing values are
        imputed with the scaled feature's centre and flagged in an indicator
        column.

    numeric_embedding : {'periodic'} or None, default='periodic'
        ``'periodic'`` passes each scaled numeric feature through a learned
        periodic embedding (:class:`skens.nn.PeriodicEmbedding`, each member
        its own) before the first layer; ``None`` feeds the scaled values as
        they are. Periodic embeddings let the network fit sharp effects of a
        single feature; in the benchmark they cut log loss and NLL on most
        datasets, most of all on California housing and image segmentation.
"""

_TRAILING_PARAMETERS = """
    callbacks : list of skorch Callback or of (str, Callback), default=None
        Further skorch callbacks, run after the estimator's own during
        training (each fit uses copies: the objects passed stay unchanged),
        e.g. :class:`skens.callbacks.GradientNoise`. Names must differ from
        the estimator's own callbacks'.

    n_jobs : int, default=None
        Member groups: with ``n_jobs=k``, the members are split into
        ``min(n_members, k)`` groups of consecutive members, each trained
        (vectorised, as one module) in its own joblib worker, then joined
        into one fitted ensemble whose outputs equal those of the groups
        evaluated one by one. The workers are local processes by default,
        or those of the active joblib backend (Dask, Ray) inside
        ``joblib.parallel_config(backend=...)``; ``-1`` makes one group per
        worker of the backend (so the groups then depend on it). The data,
        split and encoding are prepared once, in the calling process; each
        group has its own early stopping and seeds derived from
        ``random_state`` and the group's index, so results depend on the
        number of groups but not on where they run.
        ``None`` (the default) or ``1`` trains every member in this process,
        as one module. Read more in ``doc/user_guide/scaling_out.md``.

    device : str or list of str, default='auto'
        Torch device: ``'auto'`` (CUDA when available, else CPU), ``'cpu'``,
        ``'cuda'`` or ``'cuda:N'``. The fitted input encoding runs on this
        device too (it is the module's first stage), so a model fitted on a
        GPU and loaded on a machine without one predicts on the CPU. A list
        of devices (kinds with ``n_jobs`` only), e.g. ``['cuda:0',
        'cuda:1']``, trains one member group on each, all at once (one worker
        each); the joined ensemble lives on the first.

    precision : {'fp32', 'bf16'}, default='fp32'
        Arithmetic of the network's forward passes. ``'bf16'``: mixed
        precision (``torch.autocast`` with bfloat16) for the matrix products,
        with the input encoding, the losses and the returned predictions in
        float32 or float64 as usual. It pays off on CUDA GPUs with bfloat16
        support (Ampere and newer; see ``doc/benchmarks.md``); on a CPU it
        runs, but is rarely faster.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling, the validation split
        and bootstrap draws, all from generators the fit owns. With an int,
        two fits on the CPU give identical predictions, also when they run
        concurrently in threads, and torch's and numpy's global random states
        are neither read nor changed (``None`` draws the fit's seeds from
        numpy's global generator).

    verbose : int, default=0
        ``0``: silent. ``1``: a progress bar over the epochs on standard
        error (``tqdm.auto``: a widget in a notebook; one line an epoch
        without tqdm) with the training loss, the best validation loss so
        far and its epoch, the elapsed and remaining time; it closes where
        early stopping stops (see :class:`skens.callbacks.EpochProgress`).
        Each ``partial_fit`` call writes one line; member groups (``n_jobs``,
        lists of devices) train silently. ``>= 2``: skorch's per-epoch table
        of losses and scores, on standard output.
"""

_COMMON_ATTRIBUTES = """
    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` had string column names.

    n_iter_ : int
        Number of epochs run.

    loss_curve_ : list of float
        Training loss (mean of the members' losses) at each epoch.

    validation_loss_curve_ : list of float or None
        The ensemble's loss on the validation split at each epoch; ``None``
        without early stopping.

    best_loss_ : float
        With early stopping, the ensemble's validation loss at the epoch
        whose weights were restored; else the lowest training loss.

    device_ : str
        Device the ensemble lives on: where it was trained, or ``'cpu'`` after
        loading a CUDA-trained model on a machine without CUDA.

    preprocessor_ : TabularPreprocessor
        Encoding of ``X`` (scaling, missing indicators, categorical codes)
        fitted on the internal training part (the rows not held out for
        early stopping).

    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` holds all members.
"""


def _edit_entries(text, omit, replace):
    """``text`` (numpydoc entries a blank line apart) less ``omit``, with ``replace`` in place."""
    for name in [*omit, *replace]:
        start = text.find(f"    {name} : ")
        if start == -1:
            continue
        end = text.find("\n\n", start)
        end = len(text) if end == -1 else end + 2
        new = replace[name].strip("\n") + "\n\n" if name in replace else ""
        text = text[:start] + new + text[end:]
    return text


def _docstring(doc, *, omit=(), replace=None, **blocks):
    """Fill the ``%(key)s`` blocks of a deep estimator's docstring.

    The common parameter blocks lose the entries named in ``omit`` and get
    the entries of ``replace`` (name -> entry text) in their place, so the
    documented order stays the signature's; ``blocks`` fill further
    placeholders (``%(notes)s``...).
    """
    replace = replace or {}
    for key, text in [
        ("parameters", _edit_entries(_COMMON_PARAMETERS, omit, replace)),
        ("trailing_parameters", _edit_entries(_TRAILING_PARAMETERS, omit, replace)),
        ("attributes", _COMMON_ATTRIBUTES),
        *blocks.items(),
    ]:
        doc = doc.replace(f"%({key})s", text.strip("\n"))
    return doc


class DeepEnsembleClassifier(
    _IncrementalMixin, EnsembleClassifierMixin, ClassifierMixin, _BaseDeepEnsemble
):
    """A deep ensemble of MLP classifiers, all members trained at once.

    ``n_members`` networks, differently initialised, live in one vectorized
    torch module and are trained together by skorch in one forward/backward
    pass per mini-batch, each on its own loss (the training loss is the mean
    of the members' losses). ``predict_proba`` averages the members' softmax
    probabilities. Features are scaled internally and labels may be of any
    type.

    Read more in the user guide: ``doc/user_guide/deep_ensembles.md``.

    Parameters
    ----------
%(parameters)s

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the loss, multiplied with ``sample_weight``.
        ``'balanced'`` uses ``n_samples / (n_classes * np.bincount(y))``,
        counted over the samples of positive ``sample_weight``; a dict maps
        labels to weights (missing labels weigh 1).

    aggregation : {'mean', 'crossmax'}, default='mean'
        How :meth:`predict` and :meth:`decision_function` combine the
        members. ``'mean'``: the mean probability (``decision_function``
        gives its logarithm, or the log-odds with two classes).
        ``'crossmax'``: the CrossMax scores of the members' logits
        (:func:`skens.ensemble.crossmax`, ``k=2``), robust to a few members
        with extreme, wrong logits; they are not probabilities (with one
        member: its log-probabilities). ``predict_proba`` is the mean in
        both cases.

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
    DeepEnsembleRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : A single MLP.

    Notes
    -----
    Members differ by their random initialisation (and dropout, and their
    bootstrap resample with ``bootstrap=True``); Lakshminarayanan et al.
    showed that this alone gives well-calibrated, diverse ensembles.

    References
    ----------
    .. [1] B. Lakshminarayanan, A. Pritzel and C. Blundell, "Simple and Scalable
       Predictive Uncertainty Estimation using Deep Ensembles", NeurIPS 2017.
    .. [2] Y. Gorishniy, A. Kotelnikov and A. Babenko, "TabM: Advancing Tabular
       Deep Learning with Parameter-Efficient Ensembling", ICLR 2025.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import DeepEnsembleClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = DeepEnsembleClassifier(n_members=4, hidden_layer_sizes=(32,),
    ...                              max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.predict_proba_members(X[:2]).shape
    (4, 2, 2)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        **_BaseDeepEnsemble._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "aggregation": [StrOptions({"mean", "crossmax"})],
    }
    _stratify = True
    # Kinds built on this class without the parameter aggregate by the mean.
    aggregation = "mean"

    def __init__(
        self,
        *,
        n_members=8,
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
        aggregation="mean",
        callbacks=None,
        n_jobs=None,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            n_members=n_members,
            ensemble_type=ensemble_type,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            bootstrap=bootstrap,
            categorical_features=categorical_features,
            numeric_scaling=numeric_scaling,
            numeric_embedding=numeric_embedding,
            callbacks=callbacks,
            device=device,
            precision=precision,
            random_state=random_state,
            verbose=verbose,
        )
        self.class_weight = class_weight
        self.aggregation = aggregation
        self.n_jobs = n_jobs

    def _make_task(self):
        return ClassificationTask()

    def _n_task_outputs(self):
        return len(self.classes_)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train all members at once on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data: numbers, or a DataFrame mixing numeric, categorical,
            string and boolean columns; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Class labels (strings, bools, integers...).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample's loss; zero ignores a sample,
            an integer weight acts like repeating the sample.

        Returns
        -------
        self : DeepEnsembleClassifier
            The fitted estimator.
        """
        self._reset()
        X = self._check_X(X, reset=True)
        y = _check_classification_target(self, y)
        check_consistent_length(X, y)
        sample_weight = check_sample_weight(sample_weight, len(y))
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                f"but the data contains only one class: {self.classes_[0]!r}."
            )
        sample_weight = _class_weighted(self.class_weight, y, sample_weight)
        self._fit(X, y_encoded.astype(np.int64), sample_weight)
        return self

    def _iter_member_proba(self, X, module=None):
        X = self._validate_X_predict(X)
        for logits in self._raw_outputs(X, module=module):
            yield torch.softmax(logits.double(), dim=-1).numpy().transpose(1, 0, 2)

    def _class_scores(self, X):
        """Scores of each class under ``aggregation``, (n_samples, n_classes)."""
        if self.aggregation == "mean":
            with np.errstate(divide="ignore"):
                return np.log(self.predict_proba(X))
        X = self._validate_X_predict(X)
        parts = []
        for logits in self._raw_outputs(X):
            member_logits = logits.double().numpy().transpose(1, 0, 2)
            if len(member_logits) == 1:  # CrossMax needs two members
                parts.append(torch.log_softmax(logits[:, 0].double(), dim=-1).numpy())
            else:
                parts.append(crossmax(member_logits, k=2))
        return _concat(parts)

    def decision_function(self, X):
        """Class scores under ``aggregation``: log mean probabilities, or CrossMax scores.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            With two classes, the score of ``classes_[1]`` minus that of
            ``classes_[0]`` (positive: ``classes_[1]`` is predicted); else
            one column per class of ``classes_``, whose argmax is
            :meth:`predict`. Not probabilities with ``'crossmax'``.
        """
        scores = self._class_scores(X)
        if scores.shape[1] == 2:
            with np.errstate(invalid="ignore"):
                return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X):
        """Class with the highest score under ``aggregation`` (the mean probability by default).

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        if self.aggregation == "mean":
            return super().predict(X)
        return self.classes_[np.argmax(self._class_scores(X), axis=1)]


class DeepEnsembleRegressor(
    _IncrementalMixin, EnsembleRegressorMixin, RegressorMixin, _BaseDeepEnsemble
):
    """A deep ensemble of MLP regressors with Gaussian outputs, trained at once.

    Each of the ``n_members`` networks predicts a mean and a variance (with
    ``loss='gaussian_nll'``); all live in one vectorized torch module trained
    by skorch, each member on its own loss. The ensemble's predictive
    distribution is the uniform mixture of the member Gaussians, so
    ``predict(X, return_std=True)`` accounts both for the noise each member
    expects (aleatoric) and for their disagreement (epistemic). Features are
    encoded and scaled, and targets standardised, internally.

    Read more in the user guide: ``doc/user_guide/deep_ensembles.md``.

    Parameters
    ----------
%(parameters)s

    loss : {'gaussian_nll', 'mse'}, default='gaussian_nll'
        ``'gaussian_nll'`` trains a mean and a variance per member.
        ``'mse'`` trains means only; each member's noise variance is then its
        mean squared residual on the validation split (on the training data
        without early stopping) and is the same for every sample.

%(trailing_parameters)s

    Attributes
    ----------
    n_outputs_ : int
        Number of regression targets.

%(attributes)s

    validation_scores_ : list of float or None
        The ensemble's R² on the validation split at each epoch; ``None``
        without early stopping.

    target_scaler_ : StandardScaler
        Target standardisation fitted on the internal training part of ``y``.

    noise_variance_ : ndarray of shape (n_members, n_outputs) or None
        Per-member noise variance for ``loss='mse'``; ``None`` otherwise.

    See Also
    --------
    DeepEnsembleClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : A single MLP.
    sklearn.gaussian_process.GaussianProcessRegressor : Also answers ``return_std``.

    References
    ----------
    .. [1] B. Lakshminarayanan, A. Pritzel and C. Blundell, "Simple and Scalable
       Predictive Uncertainty Estimation using Deep Ensembles", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from skens import DeepEnsembleRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = DeepEnsembleRegressor(n_members=4, hidden_layer_sizes=(32,),
    ...                             max_epochs=20, random_state=0).fit(X, y)
    >>> mean, std = reg.predict(X[:3], return_std=True)
    >>> mean.shape, bool((std > 0).all())
    ((3,), True)
    >>> u = reg.predict_uncertainty(X[:3])
    >>> bool(np.allclose(u.total, u.aleatoric + u.epistemic))
    True
    """

    _parameter_constraints = {
        **_BaseDeepEnsemble._parameter_constraints,
        "loss": [StrOptions({"gaussian_nll", "mse"})],
    }

    def __init__(
        self,
        *,
        n_members=8,
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
        n_jobs=None,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            n_members=n_members,
            ensemble_type=ensemble_type,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            bootstrap=bootstrap,
            categorical_features=categorical_features,
            numeric_scaling=numeric_scaling,
            numeric_embedding=numeric_embedding,
            callbacks=callbacks,
            device=device,
            precision=precision,
            random_state=random_state,
            verbose=verbose,
        )
        self.loss = loss
        self.n_jobs = n_jobs

    def _make_task(self):
        if self.loss == "gaussian_nll":
            return GaussianRegressionTask()
        return SquaredErrorRegressionTask()

    def _n_task_outputs(self):
        return self.n_outputs_

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train all members at once on ``(X, y)``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data: numbers, or a DataFrame mixing numeric, categorical,
            string and boolean columns; NaN marks a missing value.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Numeric targets; standardised internally.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample's loss; zero ignores a sample,
            an integer weight acts like repeating the sample.

        Returns
        -------
        self : DeepEnsembleRegressor
            The fitted estimator.
        """
        self._reset()
        X = self._check_X(X, reset=True)
        y = _check_regression_target(self, y)
        check_consistent_length(X, y)
        sample_weight = check_sample_weight(sample_weight, len(y))
        self._y_ndim = y.ndim
        y_2d = y.reshape(len(y), -1)
        self.n_outputs_ = y_2d.shape[1]
        data = self._fit(X, y_2d, sample_weight)
        self.noise_variance_ = None
        if not self._task.predicts_variance:
            held_out = data.train_idx if data.valid_idx is None else data.valid_idx
            self.noise_variance_ = self._residual_variance(
                data.X[held_out],
                data.y[held_out],
                None if data.sample_weight is None else data.sample_weight[held_out],
            )
        return self

    def _prepare_target(self, y, train_idx, sample_weight):
        """Standardise ``y`` with the mean and scale of the internal training part."""
        weight = None if sample_weight is None else sample_weight[train_idx]
        self.target_scaler_ = StandardScaler().fit(y[train_idx], sample_weight=weight)
        return self.target_scaler_.transform(y).astype(np.float32)

    def _residual_variance(self, X_encoded, y_scaled, sample_weight):
        """Each member's mean squared residual: the noise variance of an MSE fit."""
        means = _concat([m.double().numpy() for m in self._raw_outputs(X_encoded, encoded=True)])
        squared = (means - y_scaled[:, None, :].astype(np.float64)) ** 2  # (n, k, d)
        return np.average(squared, axis=0, weights=sample_weight) * self.target_scaler_.scale_**2

    def _iter_member_gaussians(self, X):
        """Yield each batch's member means and variances, (n_members, batch, n_outputs)."""
        X = self._validate_X_predict(X)
        loc, scale = self.target_scaler_.mean_, self.target_scaler_.scale_
        for out in self._raw_outputs(X):
            if self._task.predicts_variance:
                mean, var = (t.double().numpy().transpose(1, 0, 2) for t in out)
                var = var * scale**2
            else:
                mean = out.double().numpy().transpose(1, 0, 2)
                var = np.broadcast_to(self.noise_variance_[:, None, :], mean.shape)
            yield mean * scale + loc, var

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


DeepEnsembleClassifier.__doc__ = _docstring(DeepEnsembleClassifier.__doc__)
DeepEnsembleRegressor.__doc__ = _docstring(DeepEnsembleRegressor.__doc__)
