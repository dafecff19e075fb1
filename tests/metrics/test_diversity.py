import itertools

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from skens.metrics import (
    ambiguity_decomposition,
    mean_error_correlation,
    pairwise_disagreement,
    q_statistic,
)


def _pairs(n_members):
    return list(itertools.combinations(range(n_members), 2))


# --------------------------------------------------------------------------- disagreement
def test_disagreement_hand_worked():
    member_pred = [[0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0]]
    # pairs (0, 1): 1 of 4 samples differ, (0, 2): 2 of 4, (1, 2): 1 of 4
    assert pairwise_disagreement(member_pred) == pytest.approx((1 / 4 + 2 / 4 + 1 / 4) / 3)
    # weights 0 on sample 0 and 2 on sample 2: pair fractions (2/4, 2/4, 0)
    assert pairwise_disagreement(member_pred, sample_weight=[0, 1, 2, 1]) == pytest.approx(1 / 3)
    assert pairwise_disagreement([["a", "b"], ["a", "b"]]) == 0.0


def test_disagreement_matches_pair_loop():
    rng = np.random.RandomState(0)
    labels = np.array(["x", "y", "z", "w"])
    member_pred = labels[rng.randint(0, 4, size=(5, 30))]
    weight = rng.rand(30)
    expected = np.mean(
        [np.average(member_pred[i] != member_pred[j], weights=weight) for i, j in _pairs(5)]
    )
    assert pairwise_disagreement(member_pred, sample_weight=weight) == pytest.approx(expected)


def test_disagreement_takes_the_argmax_of_probabilities():
    rng = np.random.RandomState(1)
    proba = rng.dirichlet(np.ones(3), size=(4, 20))
    assert pairwise_disagreement(proba) == pairwise_disagreement(proba.argmax(axis=-1))


# --------------------------------------------------------------------------- error correlation
def test_error_correlation_regression_matches_corrcoef():
    rng = np.random.RandomState(2)
    y = rng.randn(50)
    member_pred = y + rng.randn(4, 50) + 0.5 * rng.randn(50)  # a shared error component
    corr = np.corrcoef(member_pred - y)
    expected = np.mean([corr[i, j] for i, j in _pairs(4)])
    assert mean_error_correlation(y, member_pred) == pytest.approx(expected)


def test_error_correlation_weighted_matches_weighted_covariance():
    rng = np.random.RandomState(3)
    y = rng.randn(40)
    member_pred = y + rng.randn(3, 40)
    weight = rng.randint(0, 4, size=40).astype(float)
    cov = np.cov(member_pred - y, aweights=weight)
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    expected = np.mean([corr[i, j] for i, j in _pairs(3)])
    assert mean_error_correlation(y, member_pred, sample_weight=weight) == pytest.approx(expected)
    repeated = np.repeat(np.arange(40), weight.astype(int))
    assert mean_error_correlation(y[repeated], member_pred[:, repeated]) == pytest.approx(expected)


def test_error_correlation_classification_uses_error_indicators():
    rng = np.random.RandomState(4)
    y = rng.randint(0, 3, size=60)
    member_pred = np.where(rng.rand(4, 60) < 0.6, y, (y + 1) % 3)
    corr = np.corrcoef((member_pred != y).astype(float))
    expected = np.mean([corr[i, j] for i, j in _pairs(4)])
    assert mean_error_correlation(y, member_pred) == pytest.approx(expected)
    labels = np.array(["cat", "dog", "emu"])
    assert mean_error_correlation(labels[y], labels[member_pred]) == pytest.approx(expected)
    # float predictions of integer labels are still classification (y_true is not float)
    assert mean_error_correlation(y, member_pred.astype(float)) == pytest.approx(expected)


def test_error_correlation_skips_zero_variance_members():
    y = np.array([0, 1, 2, 0, 1])
    member_pred = np.array(
        [
            [0, 1, 2, 0, 1],  # always right: no correlation defined
            [0, 1, 0, 0, 0],  # errors on samples 2, 4
            [0, 0, 0, 0, 1],  # errors on samples 1, 2
        ]
    )
    expected = np.corrcoef([[0, 0, 1, 0, 1], [0, 1, 1, 0, 0]])[0, 1]  # only the pair (1, 2)
    assert mean_error_correlation(y, member_pred) == pytest.approx(expected)
    # a constant regression error (up to rounding) is zero variance too
    y_float = np.random.RandomState(5).randn(10) * 1e3
    offsets = np.array([[1.0], [2.0]])
    with pytest.warns(
        UndefinedMetricWarning, match="error correlation is undefined for every pair"
    ):
        assert np.isnan(mean_error_correlation(y_float, y_float + offsets))


def test_error_correlation_nan_when_every_member_is_right():
    y = [0, 1, 1]
    with pytest.warns(UndefinedMetricWarning, match="returning nan"):
        assert np.isnan(mean_error_correlation(y, [y, y, y]))


# --------------------------------------------------------------------------- ambiguity
def test_ambiguity_identity_and_definitions():
    rng = np.random.RandomState(6)
    y = rng.randn(50)
    member_pred = y + rng.randn(5, 50)
    d = ambiguity_decomposition(y, member_pred)
    assert d.ensemble_error == pytest.approx(d.mean_member_error - d.ambiguity, abs=1e-12)
    mean = member_pred.mean(axis=0)
    assert d.ensemble_error == pytest.approx(np.mean((mean - y) ** 2))
    assert d.mean_member_error == pytest.approx(
        np.mean([np.mean((f - y) ** 2) for f in member_pred])
    )
    assert d.ambiguity == pytest.approx(np.mean([np.mean((f - mean) ** 2) for f in member_pred]))
    assert d.ambiguity >= 0


def test_ambiguity_weights_and_multioutput():
    rng = np.random.RandomState(7)
    y = rng.randn(30, 2)
    member_pred = y + rng.randn(3, 30, 2)
    weight = rng.randint(0, 4, size=30)
    weight[0] = 1
    d = ambiguity_decomposition(y, member_pred, sample_weight=weight)
    assert d.ensemble_error == pytest.approx(d.mean_member_error - d.ambiguity, abs=1e-12)
    repeated = np.repeat(np.arange(30), weight)
    r = ambiguity_decomposition(y[repeated], member_pred[:, repeated])
    for key in ("ensemble_error", "mean_member_error", "ambiguity"):
        assert d[key] == pytest.approx(r[key], rel=1e-12)
    mean = member_pred.mean(axis=0)
    assert d.ensemble_error == pytest.approx(
        np.average(((mean - y) ** 2).mean(axis=1), weights=weight)
    )


def test_a_single_member_has_no_ambiguity():
    d = ambiguity_decomposition([1.0, 2.0], [[1.5, 2.5]])
    assert (d.ensemble_error, d.mean_member_error, d.ambiguity) == (0.25, 0.25, 0.0)


# --------------------------------------------------------------------------- Q statistic
def test_q_statistic_hand_worked_table():
    # Correct/wrong oracle outputs of two members on 10 samples:
    #               member 1 right   member 1 wrong
    # member 0 right    N11 = 4          N10 = 1
    # member 0 wrong    N01 = 2          N00 = 3
    # Q = (4 * 3 - 2 * 1) / (4 * 3 + 2 * 1) = 10 / 14
    y = np.zeros(10, dtype=int)
    right0 = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    right1 = np.array([1, 1, 1, 1, 0, 1, 1, 0, 0, 0], dtype=bool)
    member_pred = np.where([right0, right1], 0, 7)
    assert q_statistic(y, member_pred) == pytest.approx(10 / 14)
    # weight 3 on the N10 sample: Q = (12 - 2 * 3) / (12 + 6)
    weight = np.ones(10)
    weight[4] = 3
    assert q_statistic(y, member_pred, sample_weight=weight) == pytest.approx(6 / 18)


def test_q_statistic_matches_pair_loop_and_repetition():
    rng = np.random.RandomState(8)
    labels = np.array(["a", "b", "c"])
    y = labels[rng.randint(0, 3, size=40)]
    member_pred = np.where(rng.rand(4, 40) < 0.7, y, "z")
    expected = []
    for i, j in _pairs(4):
        ri, rj = member_pred[i] == y, member_pred[j] == y
        n11, n00 = np.sum(ri & rj), np.sum(~ri & ~rj)
        n10, n01 = np.sum(ri & ~rj), np.sum(~ri & rj)
        expected.append((n11 * n00 - n01 * n10) / (n11 * n00 + n01 * n10))
    assert q_statistic(y, member_pred) == pytest.approx(np.mean(expected))
    weight = rng.randint(0, 3, size=40)
    repeated = np.repeat(np.arange(40), weight)
    assert q_statistic(y, member_pred, sample_weight=weight) == pytest.approx(
        q_statistic(y[repeated], member_pred[:, repeated])
    )


def test_q_statistic_skips_undefined_pairs():
    y = [0, 0, 0, 0]
    member_pred = [
        [0, 0, 0, 0],  # right on every sample
        [0, 0, 0, 0],  # right on every sample
        [0, 0, 1, 1],  # right on samples 0, 1
    ]
    # (0, 1): N11 = 4, all else 0; (0, 2) and (1, 2): N11 = 2, N10 = 2, N01 = N00 = 0.
    # Every denominator N11 * N00 + N01 * N10 is 0, so every pair is skipped.
    with pytest.warns(UndefinedMetricWarning, match="Yule's Q statistic is undefined"):
        assert np.isnan(q_statistic(y, member_pred))
    # A member right on samples 1, 3 gives pair (2, 3) N11 = N00 = N10 = N01 = 1 -> Q = 0;
    # its pairs with members 0 and 1 are undefined again and skipped.
    member_pred.append([1, 0, 1, 0])
    assert q_statistic(y, member_pred) == 0.0


# --------------------------------------------------------------------------- validation
PAIRWISE_WITH_Y = [mean_error_correlation, q_statistic]


@pytest.mark.parametrize("metric", PAIRWISE_WITH_Y)
@pytest.mark.parametrize(
    "y_true, member_pred, kwargs, match",
    [
        ([0, 1], [[0, 1]], {}, "at least 2 members"),
        ([0, 1], [0, 1], {}, r"must have shape \(n_members, n_samples\)"),
        ([0, 1], np.zeros((2, 2, 2)), {}, "member_proba.argmax"),
        ([0, 1, 2], [[0, 1], [1, 0]], {}, "inconsistent numbers of samples"),
        ([], np.zeros((2, 0)), {}, "empty input"),
        ([0.0, np.nan], [[0.0, 1.0], [1.0, 0.0]], {}, "y_true contains NaN"),
        ([0.0, 1.0], [[0.0, np.nan], [1.0, 0.0]], {}, "member_pred contains NaN"),
        ([0, 1], [[0, 1], [1, 0]], {"sample_weight": [1.0, -1.0]}, "Negative values"),
        ([0, 1], [[0, 1], [1, 0]], {"sample_weight": [0.0, 0.0]}, "at least one non-zero"),
        ([0, 1], [[0, 1], [1, 0]], {"sample_weight": [1.0]}, "inconsistent numbers of samples"),
    ],
)
def test_pairwise_validation(metric, y_true, member_pred, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric(y_true, member_pred, **kwargs)


def test_error_correlation_rejects_infinite_regression_values():
    with pytest.raises(ValueError, match="NaN or infinity"):
        mean_error_correlation([0.0, 1.0], [[0.0, np.inf], [1.0, 0.0]])


@pytest.mark.parametrize(
    "member_pred, kwargs, match",
    [
        ([[0, 1]], {}, "at least 2 members"),
        ([0, 1], {}, r"must have shape \(n_members, n_samples\) or"),
        (np.zeros((2, 2, 2, 2)), {}, "must have shape"),
        (np.full((2, 2, 2), np.nan), {}, "NaN or infinity"),
        ([[0.0, np.nan], [0.0, 1.0]], {}, "member_pred contains NaN"),
        (np.zeros((2, 0)), {}, "empty input"),
        ([[0, 1], [1, 0]], {"sample_weight": [1.0, 2.0, 3.0]}, "one weight per sample"),
        ([[0, 1], [1, 0]], {"sample_weight": [np.nan, 1.0]}, "sample_weight contains NaN"),
    ],
)
def test_disagreement_validation(member_pred, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pairwise_disagreement(member_pred, **kwargs)


@pytest.mark.parametrize(
    "y_true, member_pred, kwargs, match",
    [
        ([0.0, 1.0], [0.0, 1.0], {}, r"member_pred must have shape \(n_members, \*y_true.shape\)"),
        ([0.0, 1.0], [[0.0, 1.0, 2.0]], {}, "must have shape"),
        ([[[0.0]]], [[[[0.0]]]], {}, "must have shape"),
        ([], np.zeros((2, 0)), {}, "empty input"),
        ([0.0, np.nan], [[0.0, 1.0]], {}, "NaN or infinity"),
        ([0.0, 1.0], [[0.0, np.inf]], {}, "NaN or infinity"),
        ([0.0, 1.0], [[0.0, 1.0]], {"sample_weight": [-1.0, 1.0]}, "Negative values"),
        ([0.0, 1.0], [[0.0, 1.0]], {"sample_weight": [1.0]}, "one weight per sample"),
    ],
)
def test_ambiguity_validation(y_true, member_pred, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ambiguity_decomposition(y_true, member_pred, **kwargs)
