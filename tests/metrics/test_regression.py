import numpy as np
import pytest
from scipy.stats import norm

from skens.metrics import gaussian_nll_loss


def test_gaussian_nll_matches_scipy():
    rng = np.random.RandomState(0)
    y, mean, std = rng.randn(50), rng.randn(50), rng.rand(50) + 0.2
    assert gaussian_nll_loss(y, mean, std) == pytest.approx(-norm.logpdf(y, mean, std).mean())


def test_gaussian_nll_sample_weight_and_multioutput():
    rng = np.random.RandomState(1)
    y, mean, std = rng.randn(20, 2), rng.randn(20, 2), rng.rand(20, 2) + 0.2
    w = rng.rand(20)
    per_sample = -norm.logpdf(y, mean, std).mean(axis=1)
    assert gaussian_nll_loss(y, mean, std, sample_weight=w) == pytest.approx(
        np.average(per_sample, weights=w)
    )


@pytest.mark.parametrize(
    "args, match",
    [
        (([0.0], [0.0], [0.0]), "strictly positive"),
        (([0.0, 1.0], [0.0], [1.0]), "inconsistent numbers of samples"),
        (([np.nan], [0.0], [1.0]), "NaN"),
    ],
)
def test_gaussian_nll_validation(args, match):
    with pytest.raises(ValueError, match=match):
        gaussian_nll_loss(*args)
