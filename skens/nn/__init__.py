"""Torch building blocks for vectorized ensembles (no scikit-learn here).

Every module keeps all ensemble members in one set of tensors and evaluates
them in one forward pass; outputs are laid out ``(batch, n_members, ...)``.
"""

from ._distillation import DistillationTask, GaussianDistillationTask, distillation_loss
from ._dropout import FastDropout
from ._embedding import FeatureEmbedding, PeriodicEmbedding, embedding_dimension
from ._encoding import EncodedNetwork, TabularEncoding
from ._ensloss import EnsLoss, EnsLossTask, ensloss_derivatives, platt_slope
from ._evidential import (
    EvidentialEnsembleMLP,
    EvidentialHead,
    EvidentialRegressionTask,
    evidential_moments,
    evidential_nll,
    evidential_regularizer,
)
from ._heads import GaussianHead
from ._hypertab import GaussianHyperTabNetwork, HyperTabNetwork, draw_feature_masks
from ._linear import BatchEnsembleLinear, EnsembleLinear, SharedLinear
from ._losses import (
    EnsembleCriterion,
    ensemble_log_loss,
    ensemble_squared_error,
    member_cross_entropy,
    member_gaussian_nll,
    member_squared_error,
    mixture_gaussian_nll,
)
from ._mc_dropout import dropout_members, module_members
from ._mlp import ACTIVATIONS, ENSEMBLE_TYPES, EnsembleMLP, GaussianEnsembleMLP, InputViews
from ._quantization import parameter_bytes, quantize_weights
from ._sgmcmc import PSGLD, SGHMC, polynomial_step_size
from ._subset import independent_members, select_members, stack_members
from ._swag import SWAGMoments
from ._tasks import (
    ClassificationTask,
    EnsembleTask,
    GaussianRegressionTask,
    SquaredErrorRegressionTask,
)

__all__ = [
    "ACTIVATIONS",
    "ENSEMBLE_TYPES",
    "BatchEnsembleLinear",
    "ClassificationTask",
    "DistillationTask",
    "EncodedNetwork",
    "EnsembleCriterion",
    "EnsembleLinear",
    "EnsembleMLP",
    "EnsembleTask",
    "EnsLoss",
    "EnsLossTask",
    "EvidentialEnsembleMLP",
    "EvidentialHead",
    "EvidentialRegressionTask",
    "FastDropout",
    "FeatureEmbedding",
    "GaussianEnsembleMLP",
    "GaussianDistillationTask",
    "GaussianHead",
    "GaussianHyperTabNetwork",
    "HyperTabNetwork",
    "GaussianRegressionTask",
    "InputViews",
    "PeriodicEmbedding",
    "PSGLD",
    "SGHMC",
    "SWAGMoments",
    "SharedLinear",
    "SquaredErrorRegressionTask",
    "TabularEncoding",
    "distillation_loss",
    "draw_feature_masks",
    "dropout_members",
    "embedding_dimension",
    "ensemble_log_loss",
    "ensemble_squared_error",
    "ensloss_derivatives",
    "evidential_moments",
    "evidential_nll",
    "evidential_regularizer",
    "member_cross_entropy",
    "member_gaussian_nll",
    "member_squared_error",
    "mixture_gaussian_nll",
    "module_members",
    "parameter_bytes",
    "platt_slope",
    "polynomial_step_size",
    "quantize_weights",
    "independent_members",
    "select_members",
    "stack_members",
]
