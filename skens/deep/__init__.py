"""Scikit-learn estimators backed by vectorized torch ensembles, trained through skorch."""

from ._deep_ensemble import DeepEnsembleClassifier, DeepEnsembleRegressor
from ._distilled import DistilledClassifier, DistilledRegressor
from ._ensloss import EnsLossClassifier
from ._evidential import EvidentialRegressor
from ._hypertab import HyperTabClassifier, HyperTabRegressor
from ._mc_dropout import MCDropoutClassifier, MCDropoutRegressor
from ._multihead import MultiHeadClassifier, MultiHeadRegressor
from ._sgmcmc import SGMCMCClassifier, SGMCMCRegressor
from ._snapshot import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor
from ._swag import SWAGClassifier, SWAGRegressor

__all__ = [
    "DeepEnsembleClassifier",
    "DeepEnsembleRegressor",
    "DistilledClassifier",
    "DistilledRegressor",
    "EnsLossClassifier",
    "EvidentialRegressor",
    "HyperTabClassifier",
    "HyperTabRegressor",
    "MCDropoutClassifier",
    "MCDropoutRegressor",
    "MultiHeadClassifier",
    "MultiHeadRegressor",
    "SGMCMCClassifier",
    "SGMCMCRegressor",
    "SnapshotEnsembleClassifier",
    "SnapshotEnsembleRegressor",
    "SWAGClassifier",
    "SWAGRegressor",
]
