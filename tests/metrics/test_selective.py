import itertools

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skens.metrics import (
    accuracy_at_coverage_score,
    aurc_loss,
    excess_aurc_loss,
    misclassification_auroc_score,
    risk_coverage_curve,
)


def _brute_curve(y_true, y_pred, confidence, weight):
    """Enumerate the thresholds: accept confidence >= t for each distinct t."""
    error = (np.asarray(y_pred) != np.asarray(y_true)).astype(float)
    confidence = np.asarray(confidence, dtype=float)
    coverage, risk, thresholds = [], [], []
    for t in sorted(set(confidence[weight > 0]), reverse=True):
        accepted = confidence >= t
        coverage.append(weight[accepted].sum() / weight.sum())
        risk.append((weight * error)[accepted].sum() / weight[accepted].sum())
        thresholds.append(t)
    return np.array(coverage), np.array(risk), np.array(thresholds)


def _brute_aurc(y_true, y_pred, confidence, weight):
    """Step integral of risk d(coverage)."""
    coverage, risk, _ = _brute_curve(y_true, y_pred, confidence, weight)
    return float(np.sum(risk * np.diff(coverage, prepend=0.0)))


def _sample_by_sample_aurc(error, weight):
    """AURC when the samples are accepted one at a time in the given order."""
    cum_weight, cum_error = np.cumsum(weight), np.cumsum(weight * error)
    return float(np.sum(weight * cum_error / cum_weight) / cum_weight[-1])


def _random_problem(seed, n=40, n_levels=None):
    rng = np.random.RandomState(seed)
    y_true = rng.randint(0, 3, size=n)
    y_pred = np.where(rng.rand(n) < 0.7, y_true, (y_true + 1) % 3)
    confidence = rng.rand(n) if n_levels is None else rng.randint(0, n_levels, size=n) / n_levels
    return y_true, y_pred, confidence, rng


# --------------------------------------------------------------------------- curve
@pytest.mark.parametrize("n_levels", [None, 5])  # distinct confidences, then many ties
@pytest.mark.parametrize("weighted", [False, True])
def test_risk_coverage_curve_matches_brute_force(n_levels, weighted):
    y_true, y_pred, confidence, rng = _random_problem(0, n_levels=n_levels)
    weight = rng.rand(len(y_true)) if weighted else np.ones(len(y_true))
    coverage, risk, thresholds = risk_coverage_curve(
        y_true, y_pred, confidence, sample_weight=weight if weighted else None
    )
    expected = _brute_curve(y_true, y_pred, confidence, weight)
    for got, want in zip((coverage, risk, thresholds), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert coverage[-1] == 1.0 and np.all(np.diff(coverage) > 0) and np.all(np.diff(thresholds) < 0)


def test_risk_coverage_curve_hand_worked_ties():
    # confidences 0.9 | 0.8, 0.8 | 0.6; errors 0 | 0, 1 | 1
    coverage, risk, thresholds = risk_coverage_curve(
        [0, 1, 1, 0], [0, 1, 0, 1], [0.9, 0.8, 0.8, 0.6]
    )
    np.testing.assert_allclose(coverage, [0.25, 0.75, 1.0])
    np.testing.assert_allclose(risk, [0.0, 1 / 3, 0.5])  # the tie at 0.8 enters as one group
    np.testing.assert_allclose(thresholds, [0.9, 0.8, 0.6])


def test_zero_weight_samples_are_ignored():
    y_true, y_pred, confidence, rng = _random_problem(1, n=20)
    weight = rng.rand(20)
    weight[[3, 7]] = 0
    keep = weight > 0
    full = risk_coverage_curve(y_true, y_pred, confidence, sample_weight=weight)
    reduced = risk_coverage_curve(
        y_true[keep], y_pred[keep], confidence[keep], sample_weight=weight[keep]
    )
    for a, b in zip(full, reduced):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- AURC
def test_aurc_hand_worked():
    # 0.25 * 0 + 0.5 * (1/3) + 0.25 * (1/2)
    assert aurc_loss([0, 1, 1, 0], [0, 1, 0, 1], [0.9, 0.8, 0.8, 0.6]) == pytest.approx(
        1 / 6 + 1 / 8
    )
    # No ties: (1/n) sum_k risk(top k) = (1 + 1/2 + 1/3) / 3 for the error first
    assert aurc_loss([0, 1, 1], [1, 1, 1], [0.9, 0.5, 0.1]) == pytest.approx(
        (1 + 1 / 2 + 1 / 3) / 3
    )


@pytest.mark.parametrize("n_levels", [None, 4])
@pytest.mark.parametrize("weighted", [False, True])
def test_aurc_matches_brute_force(n_levels, weighted):
    y_true, y_pred, confidence, rng = _random_problem(2, n_levels=n_levels)
    weight = rng.rand(len(y_true)) if weighted else np.ones(len(y_true))
    aurc = aurc_loss(y_true, y_pred, confidence, sample_weight=weight if weighted else None)
    assert aurc == pytest.approx(_brute_aurc(y_true, y_pred, confidence, weight), rel=1e-12)


def test_aurc_without_ties_is_geifman_mean_of_risks():
    y_true, y_pred, confidence, _ = _random_problem(3)
    error = (y_pred != y_true)[np.argsort(-confidence)]
    risks = [error[:k].mean() for k in range(1, len(error) + 1)]
    assert aurc_loss(y_true, y_pred, confidence) == pytest.approx(np.mean(risks))


@pytest.mark.parametrize(
    "metric", [aurc_loss, lambda *a, **k: accuracy_at_coverage_score(*a, coverage=0.55, **k)]
)
def test_integer_weights_equal_repeated_rows(metric):
    y_true, y_pred, confidence, rng = _random_problem(4, n_levels=6)
    weight = rng.randint(0, 4, size=len(y_true))
    weight[0] = 1
    repeated = np.repeat(np.arange(len(y_true)), weight)
    assert metric(y_true, y_pred, confidence, sample_weight=weight) == pytest.approx(
        metric(y_true[repeated], y_pred[repeated], confidence[repeated]), rel=1e-12
    )
    curve_weighted = risk_coverage_curve(y_true, y_pred, confidence, sample_weight=weight)
    curve_repeated = risk_coverage_curve(y_true[repeated], y_pred[repeated], confidence[repeated])
    for a, b in zip(curve_weighted, curve_repeated):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# --------------------------------------------------------------------------- E-AURC
def test_excess_aurc_of_an_oracle_ranking_is_zero():
    y_true, y_pred, _, rng = _random_problem(5)
    correct = y_pred == y_true
    oracle = correct + 0.5 * rng.rand(len(y_true))  # every right one above every wrong one
    assert excess_aurc_loss(y_true, y_pred, oracle) == pytest.approx(0.0, abs=1e-15)
    assert excess_aurc_loss(y_true, y_pred, -oracle) > 0.1


def test_excess_aurc_matches_the_closed_form_oracle():
    # Unit weights: AURC* = (1/n) sum_{k > n_correct} (k - n_correct) / k.
    y_true, y_pred, confidence, _ = _random_problem(6, n_levels=5)
    n, n_correct = len(y_true), int(np.sum(y_pred == y_true))
    oracle = sum((k - n_correct) / k for k in range(n_correct + 1, n + 1)) / n
    assert excess_aurc_loss(y_true, y_pred, confidence) == pytest.approx(
        _brute_aurc(y_true, y_pred, confidence, np.ones(n)) - oracle
    )
    # Hand-worked, reversed ranking of 2 right, 2 wrong:
    # (1 + 1 + 2/3 + 1/2) / 4 - (0 + 0 + 1/3 + 1/2) / 4
    assert excess_aurc_loss([0, 1, 1, 0], [0, 1, 0, 1], [0.6, 0.7, 0.8, 0.9]) == pytest.approx(
        7 / 12
    )


@pytest.mark.parametrize("seed", range(4))
def test_weighted_oracle_is_the_best_ordering(seed):
    # Brute force over every order of 6 weighted samples, accepted one at a time.
    rng = np.random.RandomState(seed)
    y_true = np.zeros(6, dtype=int)
    y_pred = np.array([0, 0, 1, 1, 1, 0])
    weight = rng.rand(6) * 5 + 0.1
    confidence = rng.rand(6)
    error = (y_pred != y_true).astype(float)
    best = min(
        _sample_by_sample_aurc(error[list(p)], weight[list(p)])
        for p in itertools.permutations(range(6))
    )
    aurc = aurc_loss(y_true, y_pred, confidence, sample_weight=weight)
    assert excess_aurc_loss(y_true, y_pred, confidence, sample_weight=weight) == pytest.approx(
        aurc - best
    )


def test_excess_aurc_is_non_negative_with_ties_and_weights():
    for seed in range(20):
        y_true, y_pred, confidence, rng = _random_problem(seed, n=15, n_levels=3)
        weight = rng.rand(15)
        assert excess_aurc_loss(y_true, y_pred, confidence, sample_weight=weight) >= 0.0


# --------------------------------------------------------------------------- accuracy at coverage
@pytest.mark.parametrize(
    "coverage, expected",
    [
        (0.2, 1.0),  # 0.9 alone covers 1/5: one right
        (0.21, 2 / 3),  # needs the tie at 0.8 whole: 3/5 covered, 2 of 3 right
        (0.6, 2 / 3),
        (0.61, 0.5),  # 0.7 joins: 4/5 covered, 2 of 4 right
        (1.0, 3 / 5),  # everything: the plain accuracy
    ],
)
def test_accuracy_at_coverage_hand_worked(coverage, expected):
    y_true = [0, 1, 1, 0, 1]
    y_pred = [0, 1, 0, 1, 1]  # right, right, wrong, wrong, right
    confidence = [0.9, 0.8, 0.8, 0.7, 0.6]
    assert accuracy_at_coverage_score(
        y_true, y_pred, confidence, coverage=coverage
    ) == pytest.approx(expected)


def test_accuracy_at_coverage_tolerates_rounding_of_the_coverage():
    # 0.7 + 0.1 is 0.7999999999999999 in floats; a requested 0.8 must still stop there.
    weight = [0.7, 0.1, 0.2]
    score = accuracy_at_coverage_score(
        [1, 1, 0], [1, 1, 1], [0.9, 0.8, 0.1], coverage=0.8, sample_weight=weight
    )
    assert score == 1.0


# --------------------------------------------------------------------------- AUROC
@pytest.mark.parametrize("weighted", [False, True])
def test_misclassification_auroc_matches_sklearn(weighted):
    y_true, y_pred, confidence, rng = _random_problem(7, n_levels=8)
    weight = rng.rand(len(y_true)) if weighted else None
    expected = roc_auc_score(y_pred == y_true, confidence, sample_weight=weight)
    assert misclassification_auroc_score(
        y_true, y_pred, confidence, sample_weight=weight
    ) == pytest.approx(expected)


def test_misclassification_auroc_hand_worked():
    # right: 0.9, 0.6; wrong: 0.7, 0.4 -> 3 of the 4 (right, wrong) pairs are ordered
    assert misclassification_auroc_score([0, 1, 1, 0], [0, 1, 0, 1], [0.9, 0.6, 0.7, 0.4]) == 0.75
    # A tie between a right and a wrong prediction counts one half.
    assert misclassification_auroc_score([0, 1], [0, 0], [0.5, 0.5]) == 0.5


@pytest.mark.parametrize(
    "y_pred, sample_weight, match",
    [
        ([0, 1, 1], None, "All predictions are correct"),
        ([1, 0, 0], None, "All predictions are wrong"),
        ([0, 1, 0], [1.0, 1.0, 0.0], "All predictions are correct"),  # the wrong one weighs 0
    ],
)
def test_misclassification_auroc_needs_both_outcomes(y_pred, sample_weight, match):
    with pytest.raises(ValueError, match=match):
        misclassification_auroc_score(
            [0, 1, 1], y_pred, [0.1, 0.2, 0.3], sample_weight=sample_weight
        )


# --------------------------------------------------------------------------- validation
ALL_METRICS = [
    risk_coverage_curve,
    aurc_loss,
    excess_aurc_loss,
    accuracy_at_coverage_score,
    misclassification_auroc_score,
]


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize(
    "y_true, y_pred, confidence, kwargs, match",
    [
        ([0, 1], [0, 0], [[0.1, 0.2]], {}, "confidence must be a 1-D array"),
        ([0, 1], [0, 0], [0.1, np.nan], {}, "confidence contains NaN or infinity"),
        ([0, 1], [0, 0], [0.1, np.inf], {}, "confidence contains NaN or infinity"),
        ([0, 1, 1], [0, 0], [0.1, 0.2], {}, "inconsistent numbers of samples"),
        ([], [], [], {}, "empty input"),
        ([0.0, np.nan], [0, 0], [0.1, 0.2], {}, "y_true contains NaN"),
        ([0, 1], [np.nan, 0.0], [0.1, 0.2], {}, "y_pred contains NaN"),
        ([0, 1], [[0, 1]], [0.1, 0.2], {}, "y should be a 1d array"),
        ([0, 1], [0, 0], [0.1, 0.2], {"sample_weight": [1.0, -1.0]}, "Negative values"),
        ([0, 1], [0, 0], [0.1, 0.2], {"sample_weight": [0.0, 0.0]}, "at least one non-zero"),
        (
            [0, 1],
            [0, 0],
            [0.1, 0.2],
            {"sample_weight": [1.0, np.inf]},
            "sample_weight contains NaN",
        ),
        ([0, 1], [0, 0], [0.1, 0.2], {"sample_weight": [1.0]}, "inconsistent numbers of samples"),
    ],
)
def test_input_validation(metric, y_true, y_pred, confidence, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric(y_true, y_pred, confidence, **kwargs)


@pytest.mark.parametrize("coverage", [0, 0.0, -0.1, 1.5, True, "0.5", None])
def test_coverage_validation(coverage):
    with pytest.raises(ValueError, match=r"coverage must be a number in \(0, 1\]"):
        accuracy_at_coverage_score([0, 1], [0, 0], [0.1, 0.2], coverage=coverage)
