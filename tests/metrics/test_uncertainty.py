import numpy as np
import pytest

from skens.metrics import (
    entropy_decomposition,
    expected_entropy,
    gaussian_variance_decomposition,
    mutual_information,
    predictive_entropy,
)


def _random_member_proba(rng, n_members=5, n_samples=20, n_classes=4):
    logits = rng.randn(n_members, n_samples, n_classes)
    return np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)


def _entropy_by_definition(p):
    return -sum(p_c * np.log(p_c) for p_c in p if p_c > 0)


def test_entropies_match_their_definitions():
    rng = np.random.RandomState(0)
    proba = _random_member_proba(rng)
    for i in range(proba.shape[1]):
        mean = proba[:, i].mean(axis=0)
        assert predictive_entropy(proba)[i] == pytest.approx(_entropy_by_definition(mean))
        expected = np.mean([_entropy_by_definition(p) for p in proba[:, i]])
        assert expected_entropy(proba)[i] == pytest.approx(expected)


def test_mutual_information_matches_its_definition():
    # I(y; m) = sum_m (1/M) sum_c p_m(c) log(p_m(c) / p(c))  (mean KL to the mixture)
    rng = np.random.RandomState(1)
    proba = _random_member_proba(rng)
    mean = proba.mean(axis=0)
    kl = (proba * np.log(proba / mean)).sum(axis=-1).mean(axis=0)
    np.testing.assert_allclose(mutual_information(proba), kl, rtol=1e-10)


def test_decomposition_sums_and_bounds():
    rng = np.random.RandomState(2)
    proba = _random_member_proba(rng, n_classes=3)
    u = entropy_decomposition(proba)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic, rtol=0, atol=1e-15)
    assert (u.epistemic >= 0).all()
    assert (u.total <= np.log(3) + 1e-12).all()


def test_agreeing_members_have_zero_mutual_information():
    p = np.tile([[0.2, 0.8]], (4, 6, 1))
    np.testing.assert_allclose(mutual_information(p), 0.0, atol=1e-15)
    np.testing.assert_allclose(expected_entropy(p), predictive_entropy(p))


def test_confident_disagreeing_members():
    p = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert expected_entropy(p)[0] == 0.0  # zero probabilities contribute 0 log 0 = 0
    assert mutual_information(p)[0] == pytest.approx(np.log(2))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.ones((3, 4)) / 4, "must have shape"),
        (np.full((2, 3, 2), 0.7), "sum to 1"),
        (np.array([[[1.5, -0.5]]]), "non-negative"),
        (np.array([[[np.nan, 1.0]]]), "finite"),
    ],
)
def test_member_proba_validation(bad, match):
    with pytest.raises(ValueError, match=match):
        entropy_decomposition(bad)


def test_gaussian_variance_decomposition_against_mixture_moments():
    rng = np.random.RandomState(0)
    means = rng.randn(4, 10)
    variances = rng.rand(4, 10) + 0.1
    u = gaussian_variance_decomposition(means, variances)
    # Mixture moments by sampling-free definition: E[y^2] - E[y]^2.
    second_moment = (variances + means**2).mean(axis=0)
    np.testing.assert_allclose(u.mean, means.mean(axis=0))
    np.testing.assert_allclose(u.total, second_moment - u.mean**2)
    np.testing.assert_allclose(u.total, u.aleatoric + u.epistemic)


def test_gaussian_variance_decomposition_validation():
    with pytest.raises(ValueError, match="same shape"):
        gaussian_variance_decomposition(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        gaussian_variance_decomposition(np.zeros((2, 3)), -np.ones((2, 3)))
