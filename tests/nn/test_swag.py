"""SWAG moments: running mean, variance, deviations, and samples from them."""

import numpy as np
import pytest
import torch

from skens.nn import EnsembleMLP, SWAGMoments


def _weights(module):
    return torch.nn.utils.parameters_to_vector(module.parameters()).detach().double()


def test_moments_match_numpy():
    layer = torch.nn.Linear(3, 2)
    moments = SWAGMoments(layer, max_rank=3)
    seen = []
    for k in range(5):
        with torch.no_grad():
            for p in layer.parameters():
                p.add_(0.1 * (k + 1) * torch.randn(p.shape))
        moments.collect(layer)
        seen.append(_weights(layer).numpy())
    seen = np.array(seen)
    np.testing.assert_allclose(moments.mean.numpy(), seen.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(moments.variance.numpy(), seen.var(axis=0), rtol=1e-8, atol=1e-12)
    assert len(moments.deviations) == 3  # the last max_rank
    # Each deviation is from the running mean at the time it was collected.
    np.testing.assert_allclose(moments.deviations[-1].numpy(), seen[-1] - seen.mean(axis=0))
    mean_layer = moments.mean_module()
    np.testing.assert_allclose(_weights(mean_layer).numpy(), seen.mean(axis=0), rtol=1e-6)


def test_samples_follow_the_gaussian():
    layer = torch.nn.Linear(4, 1)
    moments = SWAGMoments(layer, max_rank=10)
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):
        with torch.no_grad():
            for p in layer.parameters():
                p.copy_(torch.randn(p.shape, generator=generator))
        moments.collect(layer)
    g = torch.Generator().manual_seed(1)
    diag = np.array([_weights(m).numpy() for m in moments.sample(4000, covariance="diagonal",
                                                                 generator=g)])
    # Diagonal part: variance scale * var.
    np.testing.assert_allclose(diag.var(axis=0), 0.5 * moments.variance.numpy(), rtol=0.1)
    np.testing.assert_allclose(diag.mean(axis=0), moments.mean.numpy(), atol=0.05)
    low = np.array([_weights(m).numpy() for m in moments.sample(4000, generator=g)])
    D = torch.stack(moments.deviations, dim=1).numpy()
    expected = 0.5 * (np.diag(moments.variance.numpy()) + D @ D.T / (D.shape[1] - 1))
    np.testing.assert_allclose(np.cov(low.T), expected, atol=0.12)
    same = moments.sample(3, covariance="none")
    assert all(torch.equal(_weights(m), _weights(same[0])) for m in same)


def test_errors():
    moments = SWAGMoments(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="no weights collected"):
        moments.sample(2)
    with pytest.raises(ValueError, match="architecture"):
        moments.collect(torch.nn.Linear(3, 2))
    moments.collect(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="covariance"):
        moments.sample(2, covariance="full")
    with pytest.raises(ValueError, match="max_rank"):
        SWAGMoments(torch.nn.Linear(2, 2), max_rank=0)


def test_ensemble_modules_round_trip():
    mlp = EnsembleMLP(3, 2, n_members=2, hidden_layer_sizes=(8,),
                      ensemble_type="batchensemble").eval()
    moments = SWAGMoments(mlp)
    moments.collect(mlp)
    x = torch.randn(5, 3)
    torch.testing.assert_close(moments.mean_module().eval()(x), mlp(x))
