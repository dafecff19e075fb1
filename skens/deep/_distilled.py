"""One network trained to reproduce a teacher's probabilities (knowledge distillation)."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from ..base import EnsembleClassifierMixin, EnsembleRegressorMixin, _concat
from ..nn import DistillationTask, GaussianDistillationTask, parameter_bytes, quantize_weights
from ..utils._compat import HasMethods, Interval, StrOptions, _fit_context, _safe_indexing
from ..utils._estimators import _accepts_nan, _assert_finite_table, _predicts_std
from ..utils._validation import _check_classification_target, _check_regression_target
from ._base import _BaseDeepEnsemble
from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor, _docstring

__all__ = ["DistilledClassifier", "DistilledRegressor"]

_MIXUP_ALPHA = 0.4


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _numeric_columns(X):
    """Positions of the real-valued columns of a table (all of a numeric array)."""
    if hasattr(X, "dtypes"):
        return [j for j, dtype in enumerate(X.dtypes) if getattr(dtype, "kind", "O") == "f"]
    return list(range(X.shape[1])) if X.dtype.kind == "f" else []


def _augment(X, kind, n_rows, noise_scale, rng):
    """``n_rows`` new rows around those of ``X``: Gaussian noise, or mixup of row pairs.

    Only real-valued columns change; a mixup row takes the other columns
    from the partner that weighs more. NaN stays NaN.
    """
    first = rng.randint(len(X), size=n_rows)
    rows = _safe_indexing(X, first)
    rows = rows.reset_index(drop=True) if hasattr(rows, "reset_index") else rows.copy()
    columns = _numeric_columns(X)
    if not columns:
        return rows
    values = (rows.iloc[:, columns].to_numpy(dtype=np.float64) if hasattr(rows, "iloc")
              else rows[:, columns].astype(np.float64))
    if kind == "noise":
        full = (X.iloc[:, columns].to_numpy(dtype=np.float64) if hasattr(X, "iloc")
                else np.asarray(X[:, columns], dtype=np.float64))
        scale = np.nanstd(full, axis=0)
        values = values + rng.randn(*values.shape) * noise_scale * np.nan_to_num(scale)
    else:  # mixup
        partner = _safe_indexing(X, rng.randint(len(X), size=n_rows))
        other = (partner.iloc[:, columns].to_numpy(dtype=np.float64) if hasattr(partner, "iloc")
                 else np.asarray(partner[:, columns], dtype=np.float64))
        lam = rng.beta(_MIXUP_ALPHA, _MIXUP_ALPHA, size=(n_rows, 1))
        lam = np.maximum(lam, 1 - lam)  # the row itself weighs more: its other columns fit
        values = lam * values + (1 - lam) * other
    if hasattr(rows, "iloc"):
        for position, j in enumerate(columns):
            rows.iloc[:, j] = values[:, position]
    else:
        rows = rows.astype(np.float64) if rows.dtype.kind != "O" else rows
        rows[:, columns] = values
    return rows


def _concat_rows(parts):
    if hasattr(parts[0], "iloc"):
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    return np.concatenate(parts, axis=0)


class _BaseDistilled(_BaseDeepEnsemble):
    """What the students share: parameters, the teacher, the transfer set, input checks."""

    _parameter_constraints = {
        **_BaseDeepEnsemble._parameter_constraints,
        "augmentation": [StrOptions({"noise", "mixup"}), None],
        "n_augment": [Interval(Integral, 0, None, closed="left")],
        "noise_scale": [Interval(Real, 0, None, closed="left")],
        "quantize": [StrOptions({"int8"}), None],
    }

    def _fit_teacher(self, X, y):
        teacher = self._default_teacher() if self.teacher is None else self.teacher
        if _is_fitted(teacher):
            return teacher
        return clone(teacher).fit(X, y)

    def _transfer_set(self, X, n_labeled, unlabeled):
        """The training rows, the augmented rows, then the unlabelled rows."""
        parts = [X]
        rng = np.random.RandomState(self._extra_seed(0))
        if self.augmentation is not None and self.n_augment > 0:
            parts.append(
                _augment(X, self.augmentation, self.n_augment * n_labeled, self.noise_scale, rng)
            )
        if unlabeled is not None:
            unlabeled = self._check_X(unlabeled, reset=False)
            if hasattr(X, "iloc") and hasattr(unlabeled, "iloc"):
                unlabeled = unlabeled.reset_index(drop=True)
            parts.append(unlabeled)
        transfer = _concat_rows(parts) if len(parts) > 1 else X
        self.n_transfer_ = len(transfer)
        return transfer

    @staticmethod
    def _fidelity_rows(data):
        """Encoded rows and targets the fidelity is measured on, and which ones they are."""
        if data.valid_idx is not None:
            return data.X_valid, data.y[data.n_train :], "validation"
        return data.X_train, data.y[: data.n_train], "training"

    def _fit_student(self, transfer, targets):
        """Train the student, quantize it if asked, and measure its fidelity."""
        data = self._fit(transfer, targets)
        X_rows, targets, rows = self._fidelity_rows(data)
        prediction = self._prediction(self._raw_outputs(X_rows, encoded=True))
        self.quantization_ = None
        if self.quantize is not None:
            network = self.net_.module_.network
            float_bytes = parameter_bytes(network)
            quantize_weights(network, inplace=True)
            quantized = self._prediction(self._raw_outputs(X_rows, encoded=True))
            self.quantization_ = {
                "dtype": self.quantize,
                "float_bytes": float_bytes,
                "bytes": parameter_bytes(network),
                **self._prediction_change(prediction, quantized),
                "n_rows": int(len(targets)),
                "rows": rows,
            }
            prediction = quantized
        # The fidelity of the student as fitted (quantized, if asked).
        self._record_fidelity(prediction, targets, rows)
        return self

    def _check_X(self, X, *, reset):
        """Validate a table; without NaN and infinity when the teacher takes no NaN."""
        X = super()._check_X(X, reset=reset)
        if not self.__sklearn_tags__().input_tags.allow_nan:
            _assert_finite_table(self, X)
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.teacher is not None:
            # The teacher reads the raw rows too: what it cannot take, the student cannot.
            tags.input_tags.allow_nan = _accepts_nan(self.teacher)
            tags.input_tags.categorical = False
        return tags


class DistilledClassifier(EnsembleClassifierMixin, ClassifierMixin, _BaseDistilled):
    """A single network trained on a teacher's probabilities (knowledge distillation).

    The teacher is any classifier with ``predict_proba``: a deep ensemble,
    an ensemble selection over trees and nets, a gradient-boosting model.
    The student is a skens network (by default one member) trained on a
    *transfer set*: the training rows, rows made around them
    (``augmentation``), and unlabelled rows passed to :meth:`fit`. Its
    targets are the teacher's probabilities (MEAL V2: no hard labels by
    default); ``temperature`` and ``hard_label_weight`` give the
    temperature-scaled KL plus a share of hard-label loss of Hinton et al.
    and Polino et al. The student predicts at the cost of one network.

    Read more in the user guide: ``doc/user_guide/cascades.md``.

    Parameters
    ----------
    teacher : estimator or None, default=None
        A classifier with ``predict_proba``, fitted (used as it is) or not
        (a clone is fitted on ``X, y`` first). ``None``: a default
        :class:`DeepEnsembleClassifier`, fitted on ``X, y``.
    temperature : float, default=1.0
        The distillation temperature (> 0).
    hard_label_weight : float, default=0.0
        The share of the cross-entropy to the true labels in the loss, on
        the rows whose label is known.
    augmentation : {'noise', 'mixup'} or None, default='noise'
        How extra transfer rows are made from the training rows:
        ``'noise'`` adds Gaussian noise (``noise_scale`` times each
        column's standard deviation) to the real-valued columns;
        ``'mixup'`` mixes the real-valued columns of two rows (the weight of
        the first drawn from Beta(0.4, 0.4), at least 0.5), the other
        columns from the first. Soft targets on such rows are what lets a
        student match its teacher away from the training rows.
    n_augment : int, default=1
        How many extra rows per training row (0: none).
    noise_scale : float, default=0.1
        The noise of ``augmentation='noise'``, in column standard deviations.
    n_members : int, default=1
        The student's members (1: a single network).
    quantize : {'int8'} or None, default=None
        Post-training quantization of the trained student:
        ``'int8'`` stores the network's weights as int8 with one scale per
        output channel (:func:`skens.nn.quantize_weights`), about a
        quarter of their float size. Prediction computes in float on the
        dequantized weights, on any device: smaller, not faster.

%(parameters)s

%(trailing_parameters)s

    Attributes
    ----------
    teacher_ : estimator
        The fitted teacher.
    classes_ : ndarray of shape (n_classes,)
        The teacher's classes, in the order of ``predict_proba``'s columns.
    fidelity_ : dict
        On the student's validation rows (its training rows without early
        stopping): ``'agreement'`` (share of rows where student and teacher
        predict the same class), ``'kl'`` (mean KL divergence from the
        teacher's probabilities to the student's), ``'n_rows'`` and
        ``'rows'`` (``'validation'`` or ``'training'``).
    n_transfer_ : int
        Rows of the transfer set.
    quantization_ : dict or None
        With ``quantize``: ``'dtype'``, the network's ``'float_bytes'`` and
        quantized ``'bytes'`` (weights and buffers, without the encoding
        stage), and what quantizing changed on the fidelity rows:
        ``'agreement'`` (share of rows whose predicted class stayed the
        same) and ``'max_proba_change'``;
        ``'n_rows'`` and ``'rows'``. ``None`` without ``quantize``.

%(attributes)s

    validation_scores_ : list of float or None
        The student's agreement with the teacher on the validation split at
        each epoch; ``None`` without early stopping.

    See Also
    --------
    DeepEnsembleClassifier : A usual teacher.
    skens.ensemble.CascadeClassifier : The other way to cheaper prediction.

    References
    ----------
    .. [1] G. Hinton, O. Vinyals and J. Dean, "Distilling the Knowledge in a
       Neural Network", 2015.
    .. [2] Z. Shen and M. Savvides, "MEAL V2: Boosting Vanilla ResNet-50 to
       80%+ Top-1 Accuracy on ImageNet without Tricks", 2020.
    .. [3] A. Polino, R. Pascanu and D. Alistarh, "Model compression via
       distillation and quantization", ICLR 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from skens import DistilledClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> student = DistilledClassifier(HistGradientBoostingClassifier(max_iter=30),
    ...                               hidden_layer_sizes=(32,), max_epochs=30,
    ...                               random_state=0).fit(X, y)
    >>> student.fidelity_["agreement"] > 0.9
    True
    """

    _parameter_constraints = {
        **_BaseDistilled._parameter_constraints,
        "teacher": [HasMethods(["fit", "predict_proba"]), None],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "hard_label_weight": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        teacher=None,
        *,
        temperature=1.0,
        hard_label_weight=0.0,
        augmentation="noise",
        n_augment=1,
        noise_scale=0.1,
        n_members=1,
        quantize=None,
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
        callbacks=None,
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
        self.teacher = teacher
        self.temperature = temperature
        self.hard_label_weight = hard_label_weight
        self.augmentation = augmentation
        self.n_augment = n_augment
        self.noise_scale = noise_scale
        self.quantize = quantize

    def _default_teacher(self):
        return DeepEnsembleClassifier(random_state=self.random_state)

    def _make_task(self):
        return DistillationTask(self.temperature, self.hard_label_weight)

    def _n_task_outputs(self):
        return len(self.classes_)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, unlabeled=None):
        """Fit the teacher if needed, then train the student on its probabilities.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training rows (NaN allowed, categorical columns as for
            :class:`DeepEnsembleClassifier`).
        y : array-like of shape (n_samples,)
            Class labels (fit the teacher, and weigh in with
            ``hard_label_weight``).
        unlabeled : {array-like, DataFrame} of shape (n_unlabeled, n_features), default=None
            Extra transfer rows without labels; the teacher labels them.

        Returns
        -------
        self : DistilledClassifier
            The fitted student.
        """
        self._reset()
        X = self._check_X(X, reset=True)
        y = _check_classification_target(self, y)
        check_consistent_length(X, y)
        self.teacher_ = self._fit_teacher(X, y)
        self.classes_ = np.asarray(self.teacher_.classes_)
        if len(self.classes_) < 2:
            raise ValueError(
                "DistilledClassifier needs a teacher of at least 2 classes, got "
                f"{self.classes_.tolist()}."
            )
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(
                f"y holds labels the teacher does not predict: {unknown.tolist()}."
            )
        transfer = self._transfer_set(X, len(y), unlabeled)
        soft = np.asarray(self.teacher_.predict_proba(transfer), dtype=np.float64)
        hard = np.full(len(transfer), -1.0)
        hard[: len(y)] = np.searchsorted(self.classes_, y)
        targets = np.column_stack([soft, hard]).astype(np.float32)
        return self._fit_student(transfer, targets)

    @staticmethod
    def _prediction(outputs):
        """Mean class probabilities from the module's logits."""
        logits = _concat([out.double().numpy() for out in outputs])
        return torch.softmax(torch.from_numpy(logits), dim=-1).mean(dim=1).numpy()

    @staticmethod
    def _prediction_change(before, after):
        return {
            "agreement": float(np.mean(before.argmax(1) == after.argmax(1))),
            "max_proba_change": float(np.max(np.abs(before - after))),
        }

    def _record_fidelity(self, student, targets, rows):
        student = np.clip(student, 1e-12, None)
        teacher = np.clip(targets[:, :-1].astype(np.float64), 1e-12, None)
        self.fidelity_ = {
            "agreement": float(np.mean(student.argmax(1) == teacher.argmax(1))),
            "kl": float(np.mean(np.sum(teacher * (np.log(teacher) - np.log(student)), axis=1))),
            "n_rows": int(len(targets)),
            "rows": rows,
        }

    def _iter_member_proba(self, X):
        X = self._validate_X_predict(X)
        for logits in self._raw_outputs(X):
            yield torch.softmax(logits.double(), dim=-1).numpy().transpose(1, 0, 2)


class DistilledRegressor(EnsembleRegressorMixin, RegressorMixin, _BaseDistilled):
    """A single network trained on a teacher's predictive distribution (one target).

    The regression counterpart of :class:`DistilledClassifier`. The teacher
    is any regressor: with ``predict(X, return_std=True)`` (a
    :class:`DeepEnsembleRegressor`, an ensemble selection, a Gaussian
    process) its predictive mean and variance are the targets; a point
    regressor's variance is taken as its mean squared residual on the
    training rows, the same everywhere. The student, a Gaussian network,
    learns both by moment matching: its Gaussian NLL in expectation under
    the teacher's Gaussian, minimised by the teacher's mean and variance. So
    ``predict(X, return_std=True)`` works on the student, at the cost of one
    network. Its standard deviation reproduces the teacher's total
    uncertainty; with one member it has no epistemic part of its own
    (``predict_uncertainty`` puts everything in the aleatoric part).

    Parameters
    ----------
    teacher : estimator or None, default=None
        A regressor, fitted (used as it is) or not (a clone is fitted on
        ``X, y`` first). ``None``: a default :class:`DeepEnsembleRegressor`.
    augmentation : {'noise', 'mixup'} or None, default='noise'
        Extra transfer rows, as for :class:`DistilledClassifier`.
    n_augment : int, default=1
        Extra rows per training row.
    noise_scale : float, default=0.1
        The noise of ``augmentation='noise'``, in column standard deviations.
    n_members : int, default=1
        The student's members.
    quantize : {'int8'} or None, default=None
        Post-training int8 quantization of the student's weights, as for
        :class:`DistilledClassifier`.

%(parameters)s

%(trailing_parameters)s

    Attributes
    ----------
    teacher_ : estimator
        The fitted teacher.
    target_scaler_ : StandardScaler
        Standardises the teacher's means for training (its variances by the
        square of the scale).
    fidelity_ : dict
        On the student's validation rows (training rows without early
        stopping), in target units: ``'rmse'`` between the student's and the
        teacher's means, ``'kl'`` (mean KL divergence from the teacher's
        Gaussian to the student's), ``'std_ratio'`` (median ratio of the
        student's standard deviation to the teacher's), ``'n_rows'`` and
        ``'rows'``.
    n_transfer_ : int
        Rows of the transfer set.
    quantization_ : dict or None
        With ``quantize``: ``'dtype'``, the network's ``'float_bytes'`` and
        quantized ``'bytes'`` (weights and buffers, without the encoding
        stage), and what quantizing changed on the fidelity rows, in
        target units: ``'rmse'`` between the float and quantized means and
        ``'std_ratio'`` (median ratio of their standard deviations);
        ``'n_rows'`` and ``'rows'``. ``None`` without ``quantize``.

%(attributes)s

    validation_scores_ : list of float or None
        The R² of the student's mean against the teacher's on the validation
        split at each epoch; ``None`` without early stopping.

    See Also
    --------
    DistilledClassifier : The classification student.
    DeepEnsembleRegressor : A usual teacher.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.linear_model import BayesianRidge
    >>> from skens import DistilledRegressor
    >>> X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=0)
    >>> teacher = BayesianRidge().fit(X, y)  # predict(X, return_std=True)
    >>> student = DistilledRegressor(teacher, hidden_layer_sizes=(32,), max_epochs=60,
    ...                              random_state=0).fit(X, y)
    >>> mean, std = student.predict(X[:3], return_std=True)
    >>> mean.shape, std.shape
    ((3,), (3,))
    """

    _parameter_constraints = {
        **_BaseDistilled._parameter_constraints,
        "teacher": [HasMethods(["fit", "predict"]), None],
    }

    def __init__(
        self,
        teacher=None,
        *,
        augmentation="noise",
        n_augment=1,
        noise_scale=0.1,
        n_members=1,
        quantize=None,
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
        callbacks=None,
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
        self.teacher = teacher
        self.augmentation = augmentation
        self.n_augment = n_augment
        self.noise_scale = noise_scale
        self.quantize = quantize

    def _default_teacher(self):
        return DeepEnsembleRegressor(random_state=self.random_state)

    def _make_task(self):
        return GaussianDistillationTask()

    def _n_task_outputs(self):
        return 1

    def _prepare_target(self, y, train_idx, sample_weight):
        """Standardise the teacher's means (and its variances by the scale squared)."""
        self.target_scaler_ = StandardScaler().fit(y[train_idx, :1])
        mean = self.target_scaler_.transform(y[:, :1])
        var = y[:, 1:2] / self.target_scaler_.scale_**2
        return np.hstack([mean, var]).astype(np.float32)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, unlabeled=None):
        """Fit the teacher if needed, then train the student on its predictive distribution.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Targets (fit the teacher; give a point teacher its noise level).
        unlabeled : {array-like, DataFrame} of shape (n_unlabeled, n_features), default=None
            Extra transfer rows without targets.

        Returns
        -------
        self : DistilledRegressor
            The fitted student.
        """
        self._reset()
        X = self._check_X(X, reset=True)
        y = _check_regression_target(self, y, single_output=True)
        check_consistent_length(X, y)
        self.teacher_ = self._fit_teacher(X, y)
        self._y_ndim = 1
        self.n_outputs_ = 1
        transfer = self._transfer_set(X, len(y), unlabeled)
        if _predicts_std(self.teacher_):
            mean, std = self.teacher_.predict(transfer, return_std=True)
            var = np.asarray(std, dtype=np.float64) ** 2
        else:
            mean = self.teacher_.predict(transfer)
            residual = np.mean((np.asarray(self.teacher_.predict(X), dtype=np.float64) - y) ** 2)
            var = np.full(len(transfer), max(float(residual), 1e-12 * (1 + float(np.var(y)))))
        mean = np.asarray(mean, dtype=np.float64).reshape(len(transfer))
        targets = np.column_stack([mean, np.maximum(var, 1e-12)])
        return self._fit_student(transfer, targets)

    def _prediction(self, outputs):
        """The mixture's mean and variance, in target units, from the module's outputs."""
        outs = list(outputs)
        means = _concat([m.double().numpy() for m, _ in outs])[..., 0]  # (n, members)
        variances = _concat([v.double().numpy() for _, v in outs])[..., 0]
        scale, loc = self.target_scaler_.scale_[0], self.target_scaler_.mean_[0]
        mean = means.mean(axis=1)
        var = np.clip((variances + means**2).mean(axis=1) - mean**2, 1e-12, None) * scale**2
        return mean * scale + loc, var

    @staticmethod
    def _prediction_change(before, after):
        (mean, var), (q_mean, q_var) = before, after
        return {
            "rmse": float(np.sqrt(np.mean((mean - q_mean) ** 2))),
            "std_ratio": float(np.median(np.sqrt(q_var / var))),
        }

    def _record_fidelity(self, prediction, targets, rows):
        mean, var = prediction
        scale, loc = self.target_scaler_.scale_[0], self.target_scaler_.mean_[0]
        t_mean = targets[:, 0].astype(np.float64) * scale + loc
        t_var = np.clip(targets[:, 1].astype(np.float64), 1e-12, None) * scale**2
        kl = 0.5 * (np.log(var / t_var) + (t_var + (t_mean - mean) ** 2) / var - 1)
        self.fidelity_ = {
            "rmse": float(np.sqrt(np.mean((mean - t_mean) ** 2))),
            "kl": float(np.mean(kl)),
            "std_ratio": float(np.median(np.sqrt(var / t_var))),
            "n_rows": int(len(targets)),
            "rows": rows,
        }

    def _iter_member_gaussians(self, X):
        X = self._validate_X_predict(X)
        loc, scale = self.target_scaler_.mean_, self.target_scaler_.scale_
        for mean, var in self._raw_outputs(X):
            mean, var = (t.double().numpy().transpose(1, 0, 2) for t in (mean, var))
            yield mean * scale + loc, var * scale**2


# The common parameters, without their n_members entry (the student's default is 1).
DistilledClassifier.__doc__ = _docstring(DistilledClassifier.__doc__, omit=("n_members", "n_jobs"))
DistilledRegressor.__doc__ = _docstring(DistilledRegressor.__doc__, omit=("n_members", "n_jobs"))
