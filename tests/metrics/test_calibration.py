import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from skens.metrics import (
    classwise_calibration_error,
    expected_calibration_error,
    multiclass_brier_score_loss,
    reliability_curve,
)


def _random_proba(rng, n_samples=60, n_classes=3, sharpness=2.0):
    logits = sharpness * rng.randn(n_samples, n_classes)
    proba = np.exp(logits)
    return proba / proba.sum(axis=1, keepdims=True)


def _in_bin(value, edges, b):
    """Right-closed bins (lo, hi], the first one also holding its left edge."""
    lo, hi = edges[b], edges[b + 1]
    return lo < value <= hi or (b == 0 and value == lo)


def _brute_binned_error(confidence, target, weight, edges):
    """sum_b W_b / W * |mean target_b - mean confidence_b| with plain loops."""
    total = 0.0
    for b in range(len(edges) - 1):
        members = [i for i in range(len(confidence)) if _in_bin(confidence[i], edges, b)]
        w_b = sum(weight[i] for i in members)
        if w_b == 0:
            continue
        accuracy = sum(weight[i] * target[i] for i in members) / w_b
        mean_confidence = sum(weight[i] * confidence[i] for i in members) / w_b
        total += w_b / sum(weight) * abs(accuracy - mean_confidence)
    return total


def _top_label(y, proba):
    confidence = [max(row) for row in proba]
    correct = [float(int(np.argmax(row)) == y_i) for row, y_i in zip(proba, y)]
    return confidence, correct


def _quantile_edges(confidence, weight, n_bins):
    """Independent weighted quantile edges (numpy's inverted CDF), ties merged."""
    keep = np.asarray(weight) > 0
    edges = np.quantile(
        np.asarray(confidence)[keep],
        np.arange(n_bins + 1) / n_bins,  # k / n exactly, not linspace's 0.6000000000000001
        method="inverted_cdf",
        weights=np.asarray(weight)[keep],
    )
    return np.unique(edges)


# --------------------------------------------------------------------------- hand-worked
def test_ece_hand_worked_multiclass():
    y = [0, 1, 1, 2, 0]
    proba = [
        [0.7, 0.2, 0.1],  # predicts 0, right, confidence 0.7
        [0.6, 0.3, 0.1],  # predicts 0, wrong, 0.6
        [0.1, 0.85, 0.05],  # predicts 1, right, 0.85
        [0.3, 0.3, 0.4],  # predicts 2, right, 0.4
        [0.2, 0.35, 0.45],  # predicts 2, wrong, 0.45
    ]
    # bin [0, 0.5]: {0.4, 0.45}, accuracy 1/2, confidence 0.425 -> gap 0.075, weight 2/5
    # bin (0.5, 1]: {0.7, 0.6, 0.85}, accuracy 2/3, confidence 2.15/3 -> gap 0.05, weight 3/5
    # ECE = 0.4 * 0.075 + 0.6 * 0.05 = 0.06
    assert expected_calibration_error(y, proba, n_bins=2) == pytest.approx(0.06)
    accuracy, confidence, counts, edges = reliability_curve(y, proba, n_bins=2)
    np.testing.assert_allclose(accuracy, [0.5, 2 / 3])
    np.testing.assert_allclose(confidence, [0.425, 2.15 / 3])
    np.testing.assert_array_equal(counts, [2.0, 3.0])
    np.testing.assert_array_equal(edges, [0.0, 0.5, 1.0])


def test_ece_binary_edges_and_ties():
    # p = 0.5 is predicted positive (p >= 0.5) with confidence 0.5, and sits in the
    # first bin [0, 0.5]; 1.0 sits in the last bin (0.5, 1].
    y, p = [1, 0, 1, 1], [0.5, 0.5, 0.9, 1.0]
    # bin [0, 0.5]: two tied samples, one right: accuracy 0.5, confidence 0.5 -> gap 0
    # bin (0.5, 1]: accuracy 1, confidence 0.95 -> gap 0.05, weight 1/2 -> ECE = 0.025
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.025)
    accuracy, confidence, counts, _ = reliability_curve(y, p, n_bins=2)
    np.testing.assert_allclose(accuracy, [0.5, 1.0])
    np.testing.assert_allclose(confidence, [0.5, 0.95])
    np.testing.assert_array_equal(counts, [2.0, 2.0])


# --------------------------------------------------------------------------- brute force
@pytest.mark.parametrize("n_bins", [1, 2, 5, 15])
@pytest.mark.parametrize("weighted", [False, True])
def test_ece_matches_brute_force_uniform(n_bins, weighted):
    rng = np.random.RandomState(n_bins)
    proba = _random_proba(rng)
    y = rng.randint(0, 3, size=len(proba))
    weight = rng.rand(len(y)) if weighted else np.ones(len(y))
    confidence, correct = _top_label(y, proba)
    expected = _brute_binned_error(confidence, correct, weight, np.linspace(0, 1, n_bins + 1))
    ece = expected_calibration_error(
        y, proba, n_bins=n_bins, sample_weight=weight if weighted else None
    )
    assert ece == pytest.approx(expected, rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("n_bins", [1, 3, 7])
@pytest.mark.parametrize("weighted", [False, True])
def test_ece_matches_brute_force_quantile(n_bins, weighted):
    rng = np.random.RandomState(10 + n_bins)
    proba = _random_proba(rng)
    y = rng.randint(0, 3, size=len(proba))
    weight = rng.rand(len(y)) if weighted else np.ones(len(y))
    confidence, correct = _top_label(y, proba)
    edges = _quantile_edges(confidence, weight, n_bins)
    expected = _brute_binned_error(confidence, correct, weight, edges)
    ece = expected_calibration_error(
        y, proba, n_bins=n_bins, strategy="quantile", sample_weight=weight if weighted else None
    )
    assert ece == pytest.approx(expected, rel=1e-10, abs=1e-14)
    *_, used_edges = reliability_curve(y, proba, n_bins=n_bins, strategy="quantile")
    if not weighted:
        np.testing.assert_array_equal(used_edges, edges)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_classwise_matches_brute_force(strategy):
    rng = np.random.RandomState(3)
    proba = _random_proba(rng, n_classes=4)
    y = rng.randint(0, 4, size=len(proba))
    weight = np.ones(len(y))
    expected = []
    for c in range(4):
        confidence, target = proba[:, c], (y == c).astype(float)
        if strategy == "uniform":
            edges = np.linspace(0, 1, 6)
        else:
            edges = _quantile_edges(confidence, weight, 5)
        expected.append(_brute_binned_error(confidence, target, weight, edges))
    assert classwise_calibration_error(y, proba, n_bins=5, strategy=strategy) == pytest.approx(
        np.mean(expected)
    )


def test_reliability_curve_matches_sklearn_calibration_curve():
    # The top-label curve is sklearn's binary curve of "correct" against the confidence.
    rng = np.random.RandomState(4)
    proba = _random_proba(rng, n_samples=200, n_classes=5)
    y = rng.randint(0, 5, size=len(proba))
    confidence, correct = _top_label(y, proba)
    prob_true, prob_pred = calibration_curve(correct, confidence, n_bins=10)
    accuracy, mean_confidence, counts, edges = reliability_curve(y, proba, n_bins=10)
    np.testing.assert_allclose(accuracy, prob_true)
    np.testing.assert_allclose(mean_confidence, prob_pred)
    assert counts.sum() == len(y)
    bins = np.searchsorted(edges[1:-1], mean_confidence)
    assert np.all((edges[bins] <= mean_confidence) & (mean_confidence <= edges[bins + 1]))


# --------------------------------------------------------------------------- edge cases
def test_single_bin_is_gap_of_the_means():
    rng = np.random.RandomState(5)
    proba = _random_proba(rng)
    y = rng.randint(0, 3, size=len(proba))
    weight = rng.rand(len(y))
    confidence, correct = _top_label(y, proba)
    expected = abs(np.average(correct, weights=weight) - np.average(confidence, weights=weight))
    for strategy in ("uniform", "quantile"):
        ece = expected_calibration_error(
            y, proba, n_bins=1, strategy=strategy, sample_weight=weight
        )
        assert ece == pytest.approx(expected)


def test_perfect_one_hot_predictions_are_calibrated():
    y = np.array([0, 2, 1, 2, 0])
    proba = np.eye(3)[y]
    for strategy in ("uniform", "quantile"):
        assert expected_calibration_error(y, proba, strategy=strategy) == 0.0
        assert classwise_calibration_error(y, proba, strategy=strategy) == 0.0
    assert multiclass_brier_score_loss(y, proba) == 0.0
    accuracy, confidence, counts, _ = reliability_curve(y, proba)
    np.testing.assert_array_equal(accuracy, [1.0])
    np.testing.assert_array_equal(confidence, [1.0])
    np.testing.assert_array_equal(counts, [5.0])


def test_quantile_bins_with_ties_are_never_empty():
    # 8 samples tied at 0.9: quantile edges repeat and are merged.
    p = np.array([0.9] * 8 + [0.6, 0.7])
    y = np.array([1, 1, 1, 1, 1, 1, 0, 1, 1, 0])
    accuracy, confidence, counts, edges = reliability_curve(y, p, n_bins=5, strategy="quantile")
    np.testing.assert_array_equal(edges, [0.6, 0.7, 0.9])
    np.testing.assert_array_equal(counts, [2.0, 8.0])  # [0.6, 0.7] and (0.7, 0.9]
    np.testing.assert_allclose(accuracy, [0.5, 7 / 8])
    np.testing.assert_allclose(confidence, [0.65, 0.9])
    # (2 * |0.5 - 0.65| + 8 * |0.875 - 0.9|) / 10
    assert expected_calibration_error(y, p, n_bins=5, strategy="quantile") == pytest.approx(0.05)


def test_quantile_bins_hold_equal_counts():
    p = np.linspace(0.55, 0.95, 10)
    y = np.ones(10, dtype=int)
    *_, counts, edges = reliability_curve(y, p, n_bins=5, strategy="quantile")
    np.testing.assert_array_equal(counts, [2.0] * 5)
    assert edges[0] == p[0] and edges[-1] == p[-1]


def test_all_confidences_equal_give_one_quantile_bin():
    accuracy, confidence, counts, edges = reliability_curve(
        [1, 0, 1], [0.8, 0.8, 0.8], strategy="quantile"
    )
    np.testing.assert_array_equal(edges, [0.8, 0.8])
    np.testing.assert_allclose(accuracy, [2 / 3])
    np.testing.assert_allclose(confidence, [0.8])


def test_empty_uniform_bins_are_dropped_from_the_curve():
    y, p = [1, 1, 0], [0.95, 0.92, 0.12]  # confidences 0.95, 0.92, 0.88
    accuracy, confidence, counts, edges = reliability_curve(y, p, n_bins=10)
    assert len(edges) == 11
    np.testing.assert_array_equal(counts, [1.0, 2.0])
    np.testing.assert_allclose(confidence, [0.88, 0.935])
    np.testing.assert_allclose(accuracy, [1.0, 1.0])


@pytest.mark.parametrize(
    "metric, kwargs",
    [
        (expected_calibration_error, {}),
        (expected_calibration_error, {"strategy": "quantile", "n_bins": 4}),
        (classwise_calibration_error, {}),
        (classwise_calibration_error, {"strategy": "quantile", "n_bins": 4}),
        (multiclass_brier_score_loss, {}),
    ],
)
def test_integer_weights_equal_repeated_rows(metric, kwargs):
    rng = np.random.RandomState(6)
    proba = _random_proba(rng, n_samples=30)
    y = rng.randint(0, 3, size=30)
    weight = rng.randint(0, 4, size=30)
    weight[0] = 1
    repeated = np.repeat(np.arange(30), weight)
    assert metric(y, proba, sample_weight=weight, **kwargs) == pytest.approx(
        metric(y[repeated], proba[repeated], **kwargs), rel=1e-12
    )


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_curve_integer_weights_equal_repeated_rows(strategy):
    rng = np.random.RandomState(7)
    proba = _random_proba(rng, n_samples=40)
    y = rng.randint(0, 3, size=40)
    weight = rng.randint(1, 4, size=40)
    repeated = np.repeat(np.arange(40), weight)
    weighted = reliability_curve(y, proba, n_bins=6, strategy=strategy, sample_weight=weight)
    plain = reliability_curve(y[repeated], proba[repeated], n_bins=6, strategy=strategy)
    for a, b in zip(weighted, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize(
    "metric, kwargs",
    [
        (expected_calibration_error, {}),
        (expected_calibration_error, {"strategy": "quantile", "n_bins": 5}),
        (classwise_calibration_error, {"n_bins": 7}),
        (multiclass_brier_score_loss, {}),
    ],
)
def test_binary_1d_equals_two_columns(metric, kwargs):
    rng = np.random.RandomState(8)
    p = rng.rand(50)
    p[np.isclose(p, 0.5)] = 0.3  # the conventions differ only at exactly 0.5
    y = rng.randint(0, 2, size=50)
    assert metric(y, p, **kwargs) == pytest.approx(
        metric(y, np.column_stack([1 - p, p]), **kwargs), rel=1e-12
    )


def test_binary_prediction_at_one_half_is_positive():
    # 1-D: p = 0.5 predicts the positive class; 2-D argmax picks the first column.
    assert expected_calibration_error([1], [0.5], n_bins=1) == pytest.approx(
        0.5
    )  # right, confidence 0.5
    assert expected_calibration_error([0], [0.5], n_bins=1) == pytest.approx(
        0.5
    )  # wrong, confidence 0.5
    accuracy, *_ = reliability_curve([1], [0.5])
    assert accuracy[0] == 1.0
    accuracy, *_ = reliability_curve([1], [[0.5, 0.5]])
    assert accuracy[0] == 0.0


# --------------------------------------------------------------------------- labels
def test_string_labels_and_labels_argument():
    rng = np.random.RandomState(9)
    proba = _random_proba(rng, n_samples=30)
    y_index = np.r_[0, 1, 2, rng.randint(0, 3, size=27)]
    names = np.array(["ant", "bee", "cat"])
    expected = expected_calibration_error(y_index, proba)
    assert expected_calibration_error(names[y_index], proba) == expected
    # Columns follow the sorted labels, as classes_ and log_loss do.
    assert (
        expected_calibration_error(names[y_index], proba, labels=["cat", "ant", "bee"]) == expected
    )
    # Labels that are not column indices are matched to the sorted unique values.
    assert multiclass_brier_score_loss(y_index + 1, proba) == multiclass_brier_score_loss(
        y_index, proba
    )
    # A label missing from y_true needs labels=... only when y_true is not made of indices.
    subset = y_index[y_index != 1]
    assert expected_calibration_error(subset, proba[y_index != 1]) == pytest.approx(
        expected_calibration_error(names[subset], proba[y_index != 1], labels=names)
    )


def test_binary_labels_other_than_indices():
    p = np.array([0.2, 0.7, 0.9, 0.4])
    y01 = np.array([0, 1, 1, 1])
    for y in (np.array([-1, 1, 1, 1]), np.array(["no", "yes", "yes", "yes"])):
        assert multiclass_brier_score_loss(y, p) == pytest.approx(
            multiclass_brier_score_loss(y01, p)
        )
    # All-positive y_true: 1 is the index of the positive column.
    assert multiclass_brier_score_loss([1, 1], [0.5, 1.0]) == pytest.approx(0.25)


# --------------------------------------------------------------------------- Brier
def test_brier_matches_its_definition():
    rng = np.random.RandomState(10)
    proba = _random_proba(rng, n_classes=4)
    y = rng.randint(0, 4, size=len(proba))
    weight = rng.rand(len(y))
    per_sample = [sum((proba[i, c] - (y[i] == c)) ** 2 for c in range(4)) for i in range(len(y))]
    assert multiclass_brier_score_loss(y, proba) == pytest.approx(np.mean(per_sample))
    assert multiclass_brier_score_loss(y, proba, sample_weight=weight) == pytest.approx(
        np.average(per_sample, weights=weight)
    )
    assert multiclass_brier_score_loss([0], [[0.0, 1.0, 0.0]]) == 2.0  # the maximum


def test_binary_brier_is_twice_sklearn():
    rng = np.random.RandomState(11)
    p, y, weight = rng.rand(40), rng.randint(0, 2, size=40), rng.rand(40)
    assert multiclass_brier_score_loss(y, p) == pytest.approx(2 * brier_score_loss(y, p))
    assert multiclass_brier_score_loss(y, p, sample_weight=weight) == pytest.approx(
        2 * brier_score_loss(y, p, sample_weight=weight)
    )


# --------------------------------------------------------------------------- validation
ALL_METRICS = [
    expected_calibration_error,
    classwise_calibration_error,
    multiclass_brier_score_loss,
    reliability_curve,
]
GOOD_P = [[0.7, 0.3], [0.2, 0.8]]


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize(
    "y_true, y_prob, kwargs, match",
    [
        ([0, 1], np.full((2, 2, 2), 0.5), {}, "1-D array of positive-class"),
        ([0, 1], [[1.0], [1.0]], {}, "at least 2 columns"),
        ([0, 1], [[np.nan, 1.0], [0.2, 0.8]], {}, "NaN or infinity"),
        ([0, 1], [[1.2, -0.2], [0.2, 0.8]], {}, r"in \[0, 1\]"),
        ([0, 1], [1.5, 0.5], {}, r"in \[0, 1\]"),
        ([0, 1], [[0.7, 0.7], [0.2, 0.8]], {}, "sum to 1"),
        ([0, 1, 1], GOOD_P, {}, "inconsistent numbers of samples"),
        ([5, 7, 9], [[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]], {}, "3 distinct labels"),
        (["a", "a"], GOOD_P, {}, "1 distinct labels"),
        (["a", "b"], GOOD_P, {"labels": ["a", "b", "c"]}, "labels has 3 entries"),
        (["a", "b"], GOOD_P, {"labels": ["a", "a"]}, "must be unique"),
        (["a", "z"], GOOD_P, {"labels": ["a", "b"]}, r"not in labels: \['z'\]"),
        ([0.0, np.nan], GOOD_P, {}, "y_true contains NaN"),
        ([0, 1], GOOD_P, {"sample_weight": [1.0, -1.0]}, "Negative values"),
        ([0, 1], GOOD_P, {"sample_weight": [0.0, 0.0]}, "at least one non-zero"),
        ([0, 1], GOOD_P, {"sample_weight": [1.0, np.nan]}, "sample_weight contains NaN"),
        (
            [0, 1],
            GOOD_P,
            {"sample_weight": [[1.0, 1.0]]},
            "inconsistent numbers of samples|one weight per sample",
        ),
    ],
)
def test_input_validation(metric, y_true, y_prob, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric(y_true, y_prob, **kwargs)


@pytest.mark.parametrize(
    "metric", [expected_calibration_error, classwise_calibration_error, reliability_curve]
)
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_bins": 0}, "n_bins must be a positive integer"),
        ({"n_bins": 2.5}, "n_bins must be a positive integer"),
        ({"n_bins": True}, "n_bins must be a positive integer"),
        ({"strategy": "kmeans"}, "strategy must be one of"),
    ],
)
def test_binning_validation(metric, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric([0, 1], GOOD_P, **kwargs)
