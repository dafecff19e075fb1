import pytest

from skens import DeepEnsembleClassifier, DeepEnsembleRegressor
from skens.utils import all_estimators


def test_all_estimators_lists_public_estimators():
    found = dict(all_estimators())
    assert found["DeepEnsembleClassifier"] is DeepEnsembleClassifier
    assert found["DeepEnsembleRegressor"] is DeepEnsembleRegressor
    assert all(not name.startswith("_") for name in found)


def test_type_filter():
    regressors = [
        "CascadeRegressor",
        "DeepEnsembleRegressor",
        "DistilledRegressor",
        "EnsembleSelectionRegressor",
        "EvidentialRegressor",
        "HyperTabRegressor",
        "MCDropoutRegressor",
        "MultiHeadRegressor",
        "SGMCMCRegressor",
        "SWAGRegressor",
        "SnapshotEnsembleRegressor",
    ]
    assert [n for n, _ in all_estimators("regressor")] == regressors
    both = [n for n, _ in all_estimators(["classifier", "regressor"])]
    assert both == [
        "CascadeClassifier",
        "CascadeRegressor",
        "DeepEnsembleClassifier",
        "DeepEnsembleRegressor",
        "DistilledClassifier",
        "DistilledRegressor",
        "EnsLossClassifier",
        "EnsembleSelectionClassifier",
        "EnsembleSelectionRegressor",
        "EvidentialRegressor",
        "HyperTabClassifier",
        "HyperTabRegressor",
        "MCDropoutClassifier",
        "MCDropoutRegressor",
        "MultiHeadClassifier",
        "MultiHeadRegressor",
        "SGMCMCClassifier",
        "SGMCMCRegressor",
        "SWAGClassifier",
        "SWAGRegressor",
        "SnapshotEnsembleClassifier",
        "SnapshotEnsembleRegressor",
    ]
    transformers = [n for n, _ in all_estimators("transformer")]
    assert transformers == ["TabularPreprocessor", "TreeEncoder"]


def test_unknown_type_filter():
    with pytest.raises(ValueError, match="type_filter must be None or among"):
        all_estimators("clusterer")
