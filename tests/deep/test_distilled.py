"""Distillation: the loss, and a student trained on any teacher's probabilities."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skens import DistilledClassifier
from skens.nn import DistillationTask, distillation_loss

STUDENT = dict(hidden_layer_sizes=(32,), max_epochs=40, random_state=0)
# A linear teacher is easiest to follow on standard-scaled inputs.
REGRESSION_STUDENT = dict(
    hidden_layer_sizes=(64,), numeric_scaling="standard", numeric_embedding=None,
    max_epochs=200, random_state=0,
)


# ------------------------------------------------------------------ the loss
def test_distillation_loss_is_the_temperature_scaled_kl():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 2, 3, generator=g)
    teacher = torch.softmax(torch.randn(5, 3, generator=g), dim=-1)
    target = torch.cat([teacher, torch.full((5, 1), -1.0)], dim=1)
    for t in (1.0, 2.0):
        p = torch.softmax(torch.log(teacher) / t, dim=-1).unsqueeze(1)
        q = torch.log_softmax(logits / t, dim=-1)
        expected = (t * t) * (p * (p.log() - q)).sum(-1).mean()
        torch.testing.assert_close(distillation_loss(logits, target, temperature=t), expected)
    same = torch.log(teacher).unsqueeze(1).expand(-1, 2, -1)
    assert distillation_loss(same, target).item() == pytest.approx(0.0, abs=1e-6)


def test_hard_labels_count_where_known_only():
    logits = torch.zeros(2, 1, 2)
    target = torch.tensor([[0.5, 0.5, 1.0], [0.5, 0.5, -1.0]])
    soft_only = distillation_loss(logits, target)
    mixed = distillation_loss(logits, target, hard_label_weight=0.5)
    # KL is 0; the known row adds 0.5 * log(2), the unknown row nothing.
    assert soft_only.item() == pytest.approx(0.0, abs=1e-7)
    assert mixed.item() == pytest.approx(0.5 * np.log(2) / 2, rel=1e-6)


def test_the_task_scores_agreement_with_the_teacher():
    task = DistillationTask()
    target = torch.tensor([[0.9, 0.1, 1.0], [0.2, 0.8, 0.0]])
    assert task.score(torch.tensor([0, 0]), target) == 0.5
    logits = torch.log(target[:, :2]).unsqueeze(1)
    assert task.ensemble_loss(logits, target).item() == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------ the student
@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    teacher = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X, y)
    return X, y, teacher


def test_a_student_matches_a_prefit_teacher(cancer):
    X, y, teacher = cancer
    student = DistilledClassifier(teacher, **STUDENT).fit(X, y)
    assert student.teacher_ is teacher
    np.testing.assert_array_equal(student.classes_, teacher.classes_)
    assert student.n_transfer_ == 2 * len(y)  # the rows and one noisy copy each
    assert student.fidelity_["rows"] == "validation"
    assert student.fidelity_["agreement"] > 0.9 and student.fidelity_["kl"] < 0.3
    agreement = np.mean(student.predict(X) == teacher.predict(X))
    assert agreement > 0.9
    assert student.predict_proba_members(X).shape == (1, len(y), 2)


def test_an_unfitted_teacher_is_cloned_and_fitted(cancer):
    X, y, _ = cancer
    teacher = make_pipeline(StandardScaler(), LogisticRegression())
    student = DistilledClassifier(teacher, augmentation=None, **STUDENT).fit(X, y)
    assert not hasattr(teacher, "classes_")
    assert hasattr(student.teacher_, "classes_")
    assert student.n_transfer_ == len(y)


def test_unlabeled_rows_and_mixup_on_a_frame():
    from tests.deep.test_tabular_input import _mixed_frame

    X, y, _ = _mixed_frame(n=300)
    from skens import DeepEnsembleClassifier

    teacher = DeepEnsembleClassifier(n_members=3, hidden_layer_sizes=(16,), max_epochs=20,
                                     random_state=0).fit(X, y)
    student = DistilledClassifier(
        teacher, augmentation="mixup", n_augment=2, **STUDENT
    ).fit(X.iloc[:200], y[:200], unlabeled=X.iloc[200:])
    assert student.n_transfer_ == 200 * 3 + 100
    assert np.mean(student.predict(X) == teacher.predict(X)) > 0.8


def test_string_labels_and_hard_labels():
    X, y = make_classification(n_samples=300, n_classes=3, n_informative=4, random_state=0)
    labels = np.array(["low", "mid", "high"])[y]
    teacher = LogisticRegression(max_iter=500).fit(X, labels)
    student = DistilledClassifier(teacher, hard_label_weight=0.3, temperature=2.0,
                                  **STUDENT).fit(X, labels)
    assert set(student.predict(X)) <= set(labels)
    assert student.score(X, labels) > 0.6


def test_labels_the_teacher_does_not_know_are_rejected():
    X, y = make_classification(n_samples=100, random_state=0)
    teacher = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="labels the teacher does not predict"):
        DistilledClassifier(teacher, **STUDENT).fit(X, np.where(y == 1, 2, 0))
    with pytest.raises(ValueError, match="teacher"):
        DistilledClassifier(teacher="not an estimator").fit(X, y)


def test_the_user_teacher_is_not_changed(cancer):
    X, y, teacher = cancer
    before = clone(teacher).get_params()
    DistilledClassifier(teacher, **STUDENT).fit(X, y)
    assert teacher.get_params() == before


# ------------------------------------------------------------------ regression
def test_the_regression_task_is_moment_matching():
    from skens.nn import GaussianDistillationTask

    task = GaussianDistillationTask()
    target = torch.tensor([[1.0, 4.0], [-2.0, 0.25]])
    mean = torch.linspace(-3, 3, 121).reshape(1, -1, 1).expand(2, -1, -1)
    losses = []
    for v in (0.25, 1.0, 4.0):
        var = torch.full_like(mean, v)
        per_member = [
            task.member_loss((mean[:, [i]], var[:, [i]]), target[[0]].expand(2, -1)).item()
            for i in range(mean.shape[1])
        ]
        losses.append(per_member)
    losses = np.array(losses)  # (variance, member mean)
    best_variance, best_mean = np.unravel_index(losses.argmin(), losses.shape)
    assert best_variance == 2 and mean[0, best_mean, 0].item() == pytest.approx(1.0, abs=0.05)


@pytest.fixture(scope="module")
def regression():
    from sklearn.datasets import make_regression
    from sklearn.linear_model import BayesianRidge

    X, y = make_regression(n_samples=600, n_features=5, noise=60.0, random_state=0)
    return X, y, BayesianRidge().fit(X, y)


def test_a_regression_student_learns_the_teachers_distribution(regression):
    from skens import DistilledRegressor

    X, y, teacher = regression
    student = DistilledRegressor(teacher, **REGRESSION_STUDENT).fit(X, y)
    mean, std = student.predict(X, return_std=True)
    t_mean, t_std = teacher.predict(X, return_std=True)
    assert np.corrcoef(mean, t_mean)[0, 1] > 0.99
    assert 0.7 < np.median(std / t_std) < 1.4
    assert set(student.fidelity_) == {"rmse", "kl", "std_ratio", "n_rows", "rows"}
    assert 0.7 < student.fidelity_["std_ratio"] < 1.4
    assert np.shape(student.predict_members(X[:5])) == (1, 5)


def test_a_point_teacher_gives_its_residual_noise(regression):
    from sklearn.linear_model import Ridge

    from skens import DistilledRegressor

    X, y, _ = regression
    teacher = Ridge().fit(X, y)
    student = DistilledRegressor(teacher, augmentation=None, **REGRESSION_STUDENT).fit(X, y)
    noise = np.sqrt(np.mean((teacher.predict(X) - y) ** 2))
    _, std = student.predict(X, return_std=True)
    assert np.median(std) == pytest.approx(noise, rel=0.3)


def test_a_regression_student_takes_one_target(regression):
    from skens import DistilledRegressor

    X, y, teacher = regression
    with pytest.raises(ValueError, match="one target"):
        DistilledRegressor(teacher).fit(X, np.column_stack([y, y]))


# ------------------------------------------------------------- quantization
def test_an_int8_student_is_the_float_student_quantized(cancer):
    import pickle

    X, y, teacher = cancer
    float_student = DistilledClassifier(teacher, **STUDENT).fit(X, y)
    assert float_student.quantization_ is None
    student = DistilledClassifier(teacher, quantize="int8", **STUDENT).fit(X, y)
    report = student.quantization_
    assert set(report) == {
        "dtype", "float_bytes", "bytes", "agreement", "max_proba_change", "n_rows", "rows"
    }
    assert report["bytes"] < report["float_bytes"] / 3
    assert report["agreement"] > 0.97 and 0 < report["max_proba_change"] < 0.1
    # The same training, then rounding: close to the float student, not equal.
    proba, q_proba = float_student.predict_proba(X), student.predict_proba(X)
    assert 0 < np.abs(proba - q_proba).max() < 0.1
    assert np.mean(student.predict(X) == float_student.predict(X)) > 0.97
    restored = pickle.loads(pickle.dumps(student))
    np.testing.assert_array_equal(restored.predict_proba(X), q_proba)
    assert len(pickle.dumps(student)) < len(pickle.dumps(float_student))


def test_an_int8_regression_student(regression):
    from skens import DistilledRegressor

    X, y, teacher = regression
    params = {**REGRESSION_STUDENT, "hidden_layer_sizes": (64, 64), "max_epochs": 40}
    float_student = DistilledRegressor(teacher, **params).fit(X, y)
    student = DistilledRegressor(teacher, quantize="int8", **params).fit(X, y)
    report = student.quantization_
    assert report["bytes"] < report["float_bytes"] / 3
    assert report["rmse"] < 0.05 * np.std(y) and 0.9 < report["std_ratio"] < 1.1
    mean, std = student.predict(X, return_std=True)
    f_mean, f_std = float_student.predict(X, return_std=True)
    assert np.abs(mean - f_mean).max() < 0.1 * np.std(y)
    assert 0.9 < np.median(std / f_std) < 1.1
