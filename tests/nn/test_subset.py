"""select_members: a copy of an ensemble module that evaluates some members only."""

import pytest
import torch

from skens.nn import EncodedNetwork, EnsembleMLP, GaussianEnsembleMLP, select_members


def _inputs(n_numeric=4, cardinalities=(5, 7), batch=9):
    g = torch.Generator().manual_seed(0)
    numeric = torch.randn(batch, n_numeric, generator=g)
    codes = torch.stack([torch.randint(0, c, (batch,), generator=g) for c in cardinalities], 1)
    return torch.cat([numeric, codes.float()], dim=1)


@pytest.mark.parametrize("ensemble_type", ["independent", "batchensemble"])
@pytest.mark.parametrize("share_embeddings", [False, True])
def test_a_subset_computes_the_members_it_keeps(ensemble_type, share_embeddings):
    mlp = EnsembleMLP(
        6, 3, n_members=5, hidden_layer_sizes=(8, 8), ensemble_type=ensemble_type,
        categorical_cardinalities=(5, 7), n_periodic=4, share_embeddings=share_embeddings,
        dropout=0.2, generator=torch.Generator().manual_seed(1),
    ).eval()
    x = _inputs()
    with torch.no_grad():
        full = mlp(x)
        for members in ([0], [4, 1], [0, 1, 2, 3, 4]):
            sub = select_members(mlp, members)
            assert sub.n_members == len(members)
            torch.testing.assert_close(sub(x), full[:, members])
    # The original is untouched.
    assert mlp.n_members == 5 and mlp.output.weight.shape[0] == 5


def test_gaussian_and_encoded_networks():
    net = EncodedNetwork(
        GaussianEnsembleMLP, dict(in_features=3, n_outputs=2, n_members=4, hidden_layer_sizes=(8,)),
        encoding=dict(n_numeric=3, scaling="affine", center=[0.0] * 3, scale=[1.0] * 3),
    ).eval()
    numeric = torch.randn(6, 3, dtype=torch.float64)
    codes = torch.zeros(6, 0, dtype=torch.long)
    with torch.no_grad():
        mean, var = net(numeric=numeric, codes=codes)
        sub_mean, sub_var = select_members(net, [2, 0])(numeric=numeric, codes=codes)
    torch.testing.assert_close(sub_mean, mean[:, [2, 0]])
    torch.testing.assert_close(sub_var, var[:, [2, 0]])


def test_bad_members_are_rejected():
    mlp = EnsembleMLP(3, 2, n_members=3)
    with pytest.raises(ValueError, match=r"members must be in \[0, 2\]"):
        select_members(mlp, [3])
    with pytest.raises(ValueError, match="non-empty"):
        select_members(mlp, [])
