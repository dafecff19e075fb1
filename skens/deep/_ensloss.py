"""EnsLoss ensembles: binary classifiers trained on random calibrated losses."""

import numpy as np
import torch
from scipy.special import expit

from ..base import _concat
from ..nn._ensloss import EnsLossTask, platt_slope
from ._base import _store_params
from ._deep_ensemble import DeepEnsembleClassifier, _docstring

__all__ = ["EnsLossClassifier"]

_ENSLOSS_ATTRIBUTES = """
    calibration_slope_ : float
        The slope ``a > 0`` of the calibration ``sigmoid(a * score)``,
        fitted on the validation split (on the training rows without early
        stopping).
"""

_ENSLOSS_NOTES = """
    Notes
    -----
    **Training.** EnsLoss (Dai, ICML 2025) trains a binary classifier on a
    new random loss at every mini-batch: it draws loss-derivatives that a
    convex, classification-calibrated margin loss could have
    (:func:`skens.nn.ensloss_derivatives`, as in the official code
    ``statmlben/ensLoss``) and steps along them. Here each of the
    ``n_members`` networks has one output, its score ``f_k(x)``, and its own
    derivative draws (:class:`skens.nn.EnsLossTask`): an ensemble of
    networks and of losses. Early stopping monitors the ensemble's log
    loss on the validation split after calibration (EnsLoss' own batch loss
    is random and not comparable between epochs): the log loss of
    ``sigmoid(a * mean score)`` with the slope ``a`` fitted on the
    validation rows, the probabilities ``predict_proba`` would give.

    **Calibration.** A calibrated margin loss makes the *sign* of the score
    consistent for accuracy (score 0 is where both classes are equally
    likely), not its scale, which EnsLoss leaves arbitrary and growing. The
    scores are therefore mapped to probabilities by Platt scaling with the
    intercept fixed at 0 (:func:`skens.nn.platt_slope`):
    ``p = sigmoid(a * score)``, the slope ``a > 0`` fitted by weighted log
    loss (with Platt's smoothed targets, so that a separable split gives a
    finite slope) to the *mean* score on the validation split that early
    stopping held out, or on the training rows without early stopping
    (where the scores are optimistic: probabilities come out too
    confident). Fixing the intercept at 0 keeps EnsLoss' decision
    threshold, so that

    - :meth:`decision_function` is the mean of the members' scores,
      positive for ``classes_[1]``;
    - :meth:`predict` is its sign, and :meth:`predict_proba` is
      ``sigmoid(a * decision_function)``: a monotone map of it whose argmax
      is :meth:`predict`.

    The members' calibrated probabilities are ``sigmoid(a * f_k(x))`` (one
    slope for all), given by :meth:`predict_proba_members` and decomposed by
    :meth:`predict_uncertainty` (the entropy of their arithmetic mean and
    the members' mean entropy). :meth:`predict_proba` is their normalised
    geometric mean (the logistic of the mean log-odds), not their
    arithmetic mean, so that it is a function of the mean score (the two
    agree closely when the members agree).

    Only two classes are supported (a margin loss is binary); ``fit`` raises
    a ``ValueError`` for more. Deviations from the official code: see
    :mod:`skens.nn`'s ``ensloss_derivatives`` (a device generator instead
    of the global one, stable ranking of tied margins, sample weights).

    References
    ----------
    .. [1] B. Dai, "EnsLoss: Stochastic Calibrated Loss Ensembles for
       Preventing Overfitting in Classification", ICML 2025.
    .. [2] J. Platt, "Probabilistic Outputs for Support Vector Machines and
       Comparisons to Regularized Likelihood Methods", Advances in Large
       Margin Classifiers, 1999.
"""


class EnsLossClassifier(DeepEnsembleClassifier):
    """EnsLoss: a deep ensemble of binary classifiers trained on random calibrated losses.

    Each of the ``n_members`` networks outputs one score and trains with
    EnsLoss: at every mini-batch, fresh random derivatives of a convex,
    classification-calibrated margin loss, drawn for each member
    independently. ``decision_function`` is the mean score and ``predict``
    its sign; ``predict_proba`` maps the mean score through a calibration
    ``sigmoid(a * score)`` fitted on held-out rows. Binary targets only,
    with labels of any type.

    Read more in the user guide: ``doc/user_guide/uncertainty_methods.md``.

    Parameters
    ----------
%(parameters)s

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the loss (and in the calibration), as for
        :class:`DeepEnsembleClassifier`.

%(trailing_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels; ``classes_[1]`` is the class of positive scores.

%(ensloss_attributes)s

%(attributes)s

    validation_scores_ : list of float or None
        The ensemble's accuracy on the validation split at each epoch;
        ``None`` without early stopping.

    See Also
    --------
    DeepEnsembleClassifier : The same ensembles trained on cross-entropy.

%(notes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import EnsLossClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = EnsLossClassifier(n_members=4, hidden_layer_sizes=(32,),
    ...                         max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.predict_proba_members(X[:2]).shape
    ((2, 2), (4, 2, 2))
    >>> bool(np.all((clf.decision_function(X) > 0) == (clf.predict(X) == 1)))
    True
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints = {
        k: v for k, v in DeepEnsembleClassifier._parameter_constraints.items()
        if k != "aggregation"
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
        class_weight=None,
        callbacks=None,
        n_jobs=None,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
    ):
        _store_params(self, locals())

    # ------------------------------------------------------------------ fitting
    def _make_task(self):
        return EnsLossTask()

    def _n_task_outputs(self):
        return 1

    def _get_criterion(self):
        # The derivative draws get their own seed from random_state (offset: an
        # int random_state's first draws seed the module, the batches and, for
        # SG-MCMC, the sampler's noise).
        seed = self._extra_seed(3)
        self._task.seed = seed
        return super()._get_criterion()

    def _fit(self, X, y, sample_weight=None):
        if len(self.classes_) > 2:
            raise ValueError(
                "Only binary classification is supported. "
                f"{type(self).__name__} trains on a margin loss, which needs exactly two "
                f"classes, but y has {len(self.classes_)}: {list(self.classes_)}. "
                "For more classes, use DeepEnsembleClassifier or a one-vs-rest wrapper "
                "(sklearn.multiclass.OneVsRestClassifier)."
            )
        return super()._fit(X, y, sample_weight)

    def _after_training(self, data):
        # The calibration slope, here so that a failure leaves an unfitted estimator.
        held_out = data.train_idx if data.valid_idx is None else data.valid_idx
        scores = torch.cat(
            [out[..., 0].double() for out in self._raw_outputs(data.X[held_out], encoded=True)]
        ).mean(dim=1)
        target = torch.as_tensor(np.asarray(data.y)[held_out])
        weight = None
        if data.sample_weight is not None:
            weight = torch.as_tensor(data.sample_weight[held_out], dtype=torch.float64)
        self.calibration_slope_ = platt_slope(scores, target, weight)

    def fit(self, X, y, sample_weight=None):
        """Train the members with EnsLoss, then fit the calibration slope.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data: numbers, or a DataFrame mixing numeric, categorical,
            string and boolean columns; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Labels of exactly two classes (strings, bools, integers...);
            ``classes_[1]``, the larger in sorted order, is the positive class.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample's loss (and of its term in the
            calibration); zero ignores a sample.

        Returns
        -------
        self : EnsLossClassifier
            The fitted estimator.

        Raises
        ------
        ValueError
            If ``y`` holds more than two classes, or only one.
        """
        return super().fit(X, y, sample_weight)

    # --------------------------------------------------------------- inference
    def _member_scores(self, X, module=None):
        """Each batch's member scores, (n_members, batch), float64."""
        X = self._validate_X_predict(X)
        for out in self._raw_outputs(X, module=module):
            yield out[..., 0].double().numpy().T

    def _iter_member_proba(self, X, module=None):
        for scores in self._member_scores(X, module=module):
            x = self.calibration_slope_ * scores
            yield np.stack([expit(-x), expit(x)], axis=-1)

    def decision_function(self, X):
        """Mean of the members' scores; positive means ``classes_[1]``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The mean score. :meth:`predict` is its sign, and
            :meth:`predict_proba`'s second column is
            ``sigmoid(calibration_slope_ * scores)``.
        """
        return _concat([s.mean(axis=0) for s in self._member_scores(X)])

    def predict_proba(self, X):
        """Calibrated probabilities of the mean score, ``sigmoid(a * mean score)``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns follow ``classes_``; rows sum to one. The normalised
            geometric mean of the members' calibrated probabilities
            (:meth:`predict_proba_members`), whose argmax is :meth:`predict`.
        """
        decision = self.decision_function(X)  # checks that the estimator is fitted first
        x = self.calibration_slope_ * decision
        return np.stack([expit(-x), expit(x)], axis=1)

    def predict(self, X):
        """The sign of :meth:`decision_function`: ``classes_[1]`` where the mean score is positive.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        decision = self.decision_function(X)  # checks that the estimator is fitted first
        return self.classes_[(decision > 0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


EnsLossClassifier.__doc__ = _docstring(
    EnsLossClassifier.__doc__, ensloss_attributes=_ENSLOSS_ATTRIBUTES, notes=_ENSLOSS_NOTES
)
