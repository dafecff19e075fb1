"""dropout_members: fixed dropout masks folded into member copies (MC dropout)."""

import pytest
import torch

from skens.nn import EnsembleMLP, GaussianEnsembleMLP, dropout_members, module_members


def _mlp(ensemble_type="independent", n_members=1, p=0.5, hidden=(16,)):
    return EnsembleMLP(
        4, 3, n_members=n_members, hidden_layer_sizes=hidden, dropout=p,
        ensemble_type=ensemble_type, generator=torch.Generator().manual_seed(0),
    ).eval()


@pytest.mark.parametrize("ensemble_type", ["independent", "batchensemble"])
def test_each_sample_is_the_network_under_one_fixed_mask(ensemble_type):
    mlp = _mlp(ensemble_type, n_members=2, p=0.3, hidden=(16, 8))
    x = torch.randn(7, 4, generator=torch.Generator().manual_seed(1))
    sampled = dropout_members(mlp, 3, generator=torch.Generator().manual_seed(5))
    assert module_members(sampled) == 6
    # The masks, drawn in the same order: one per dropout layer, (members, width).
    g = torch.Generator().manual_seed(5)
    masks = [(torch.rand(6, width, generator=g) >= 0.3).float() / 0.7 for width in (16, 8)]
    expected = []
    for j in range(6):
        k = j // 3  # member k, sample j % 3
        h = x
        layers = [m for m in mlp.hidden if not isinstance(m, torch.nn.ReLU)]
        linear = [m for m in layers if hasattr(m, "in_features")]
        for layer, mask in zip(linear, masks):
            weight = layer.weight[k] if layer.weight.dim() == 3 else (
                layer.r[k].T * layer.weight * layer.s[k]
            )
            h = torch.relu(h @ weight + layer.bias[k]) * mask[j]
        expected.append(h @ mlp.output.weight[k] + mlp.output.bias[k])
    with torch.no_grad():
        torch.testing.assert_close(sampled(x), torch.stack(expected, dim=1))
    # The original keeps its weights and its dropout.
    assert module_members(mlp) == 2 and mlp.hidden[2].p == 0.3


def test_the_mean_of_many_samples_is_the_network_without_dropout():
    # With one hidden layer the output is linear in the mask: its mean is the eval output.
    mlp = _mlp(p=0.5, hidden=(32,))
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(2))
    sampled = dropout_members(mlp, 4000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mean = sampled(x).mean(dim=1)
        exact = mlp(x)[:, 0]
        spread = sampled(x).std(dim=1)
    assert torch.all((mean - exact).abs() < 5 * spread / 4000**0.5 + 1e-6)
    assert torch.all(spread > 0)


def test_gaussian_networks_and_bad_input():
    mlp = GaussianEnsembleMLP(4, 2, n_members=1, hidden_layer_sizes=(8,), dropout=0.2)
    mean, var = dropout_members(mlp, 5)(torch.randn(3, 4))
    assert mean.shape == var.shape == (3, 5, 2)
    with pytest.raises(ValueError, match="with dropout"):
        dropout_members(_mlp(p=0.0), 3)
    with pytest.raises(ValueError, match="positive integer"):
        dropout_members(_mlp(), 0)
