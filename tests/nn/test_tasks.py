import pytest
import torch
from sklearn.metrics import accuracy_score, r2_score

from skens.nn import (
    ClassificationTask,
    EnsembleCriterion,
    EnsembleMLP,
    EnsembleTask,
    GaussianEnsembleMLP,
    GaussianRegressionTask,
    SquaredErrorRegressionTask,
    ensemble_log_loss,
    ensemble_squared_error,
    member_cross_entropy,
    member_gaussian_nll,
    member_squared_error,
    mixture_gaussian_nll,
)

N, K, C, D = 10, 3, 4, 2


def _classification():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(N, K, C, generator=g)
    target = torch.randint(C, (N,), generator=g)
    return logits, target


def _regression():
    g = torch.Generator().manual_seed(1)
    mean, var = torch.randn(N, K, D, generator=g), torch.rand(N, K, D, generator=g) + 0.1
    return mean, var, torch.randn(N, D, generator=g)


def _weights():
    g = torch.Generator().manual_seed(2)
    return torch.rand(N, K, generator=g), torch.rand(N, generator=g)


def _classification_data():
    return _classification(), _weights()


def _regression_data():
    return _regression(), _weights()


def test_classification_losses_are_the_loss_functions():
    task, (logits, target), (member_w, sample_w) = ClassificationTask(), *_classification_data()
    for w in (None, member_w):
        expected = member_cross_entropy(logits, target, w)
        assert torch.equal(task.member_loss(logits, target, w), expected)
    per_member = target.unsqueeze(1).expand(-1, K)
    assert torch.equal(
        task.member_loss(logits, per_member), member_cross_entropy(logits, per_member)
    )
    for w in (None, sample_w):
        expected = ensemble_log_loss(logits, target, w)
        assert torch.equal(task.ensemble_loss(logits, target, w), expected)


def test_gaussian_regression_losses_are_the_loss_functions():
    task, (mean, var, target), (member_w, sample_w) = GaussianRegressionTask(), *_regression_data()
    for w in (None, member_w):
        assert torch.equal(
            task.member_loss((mean, var), target, w), member_gaussian_nll(mean, var, target, w)
        )
    for w in (None, sample_w):
        assert torch.equal(
            task.ensemble_loss((mean, var), target, w), mixture_gaussian_nll(mean, var, target, w)
        )


def test_squared_error_regression_losses_are_the_loss_functions():
    task = SquaredErrorRegressionTask()
    (mean, _, target), (member_w, sample_w) = _regression_data()
    for w in (None, member_w):
        assert torch.equal(task.member_loss(mean, target, w), member_squared_error(mean, target, w))
    for w in (None, sample_w):
        assert torch.equal(
            task.ensemble_loss(mean, target, w), ensemble_squared_error(mean, target, w)
        )


def test_point_predictions():
    logits, _ = _classification()
    expected = torch.softmax(logits, dim=-1).mean(dim=1).argmax(dim=-1)
    assert torch.equal(ClassificationTask().point_prediction(logits), expected)
    mean, var, _ = _regression()
    assert torch.equal(GaussianRegressionTask().point_prediction((mean, var)), mean.mean(dim=1))
    assert torch.equal(SquaredErrorRegressionTask().point_prediction(mean), mean.mean(dim=1))


def test_accuracy_score_matches_scikit_learn():
    task = ClassificationTask()
    logits, target = _classification()
    _, sample_w = _weights()
    prediction = task.point_prediction(logits)
    assert task.score_name == "accuracy"
    assert task.score(prediction, target) == pytest.approx(accuracy_score(target, prediction))
    assert task.score(prediction, target, sample_w) == pytest.approx(
        accuracy_score(target, prediction, sample_weight=sample_w)
    )


@pytest.mark.parametrize("task", [GaussianRegressionTask(), SquaredErrorRegressionTask()])
def test_r2_score_matches_scikit_learn(task):
    mean, _, target = _regression()
    _, sample_w = _weights()
    prediction = mean.mean(dim=1)
    assert task.score_name == "r2"
    assert task.score(prediction, target) == pytest.approx(r2_score(target, prediction))
    assert task.score(prediction, target, sample_w) == pytest.approx(
        r2_score(target, prediction, sample_weight=sample_w), rel=1e-5
    )
    constant = torch.ones(N, D)
    assert task.score(prediction, constant) == 0.0  # no variance to explain


@pytest.mark.parametrize(
    "task, module_class, predicts_variance",
    [
        (ClassificationTask(), EnsembleMLP, False),
        (GaussianRegressionTask(), GaussianEnsembleMLP, True),
        (SquaredErrorRegressionTask(), EnsembleMLP, False),
    ],
)
def test_build_module_shapes(task, module_class, predicts_variance):
    module = task.build_module(
        5, 3, 4, hidden_layer_sizes=(8,), categorical_cardinalities=(6,), n_periodic=4
    )
    assert type(module) is module_class
    assert task.predicts_variance is predicts_variance
    X = torch.cat([torch.randn(7, 4), torch.randint(6, (7, 1)).float()], dim=1)
    out = module(X)
    if predicts_variance:
        assert [t.shape for t in out] == [(7, 4, 3)] * 2
        assert (out[1] > 0).all()
    else:
        assert out.shape == (7, 4, 3)  # (batch, n_members, n_classes or n_outputs)
    module_class_, params = task.module_spec(5, 3, 4, hidden_layer_sizes=(8,))
    assert module_class_ is module_class and params["in_features"] == 5


@pytest.mark.parametrize(
    "kind, task_class",
    [
        ("cross_entropy", ClassificationTask),
        ("gaussian_nll", GaussianRegressionTask),
        ("mse", SquaredErrorRegressionTask),
    ],
)
def test_criterion_maps_the_loss_names_to_the_tasks(kind, task_class):
    criterion = EnsembleCriterion(kind)
    assert type(criterion.task) is task_class and criterion.kind == kind
    assert EnsembleCriterion(task_class()).kind == kind
    assert repr(criterion) == f"EnsembleCriterion(task={task_class.__name__}())"


def test_criterion_uses_a_custom_task():
    class Halved(SquaredErrorRegressionTask):
        def member_loss(self, y_pred, target, weight=None):
            return super().member_loss(y_pred, target, weight) / 2

    mean, _, target = _regression()
    criterion = EnsembleCriterion(Halved())
    assert torch.equal(criterion(mean, target), member_squared_error(mean, target) / 2)
    assert torch.equal(criterion.ensemble_loss(mean, target), ensemble_squared_error(mean, target))
    with pytest.raises(TypeError, match="task must be an EnsembleTask"):
        EnsembleCriterion(object())


def test_base_task_methods_are_abstract():
    task = EnsembleTask()
    assert repr(task) == "EnsembleTask()"
    for call in (
        lambda: task.module_spec(2, 1, 1),
        lambda: task.member_loss(None, None),
        lambda: task.ensemble_loss(None, None),
        lambda: task.point_prediction(None),
        lambda: task.score(None, None),
    ):
        with pytest.raises(NotImplementedError):
            call()


def test_tasks_do_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import sys, skens.nn._tasks; print('sklearn' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
