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


# ------------------------------------------------------------ stack_members
def _mlp(seed, n_members=1, **params):
    return EnsembleMLP(
        6, 3, n_members=n_members, hidden_layer_sizes=(8, 8),
        categorical_cardinalities=(5, 7), n_periodic=4,
        generator=torch.Generator().manual_seed(seed), **params,
    ).eval()


@pytest.mark.parametrize("ensemble_type", ["independent", "batchensemble"])
def test_stacked_modules_compute_each_modules_members(ensemble_type):
    from skens.nn import independent_members, stack_members

    parts = [independent_members(_mlp(s, n, ensemble_type=ensemble_type))
             for s, n in ((0, 1), (1, 2), (2, 1))]
    x = _inputs()
    with torch.no_grad():
        stacked = stack_members(parts)
        assert stacked.n_members == 4
        torch.testing.assert_close(stacked(x), torch.cat([p(x) for p in parts], dim=1))
    assert parts[1].n_members == 2 and parts[1].output.weight.shape[0] == 2  # untouched


def test_stacking_undoes_selecting():
    from skens.nn import stack_members

    mlp = _mlp(0, n_members=4, ensemble_type="batchensemble", share_embeddings=True)
    x = _inputs()
    # Subsets of one module share their BatchEnsemble weight and embeddings: they stack as they are.
    again = stack_members([select_members(mlp, [2, 0]), select_members(mlp, [3])])
    with torch.no_grad():
        torch.testing.assert_close(again(x), mlp(x)[:, [2, 0, 3]])


def test_shared_tensors_must_agree():
    from skens.nn import stack_members

    with pytest.raises(ValueError, match="shared by the members and differs.*independent_members"):
        stack_members([_mlp(0, ensemble_type="batchensemble"),
                       _mlp(1, ensemble_type="batchensemble")])
    with pytest.raises(ValueError, match="embedding.*shared by the members"):
        stack_members([_mlp(0, share_embeddings=True), _mlp(1, share_embeddings=True)])
    with pytest.raises(ValueError, match="one architecture"):
        stack_members([_mlp(0), EnsembleMLP(6, 3, n_members=1, hidden_layer_sizes=(8,))])
    with pytest.raises(ValueError, match="non-empty"):
        stack_members([])


def test_independent_members_keeps_the_outputs():
    from skens.nn import BatchEnsembleLinear, independent_members

    mlp = _mlp(0, n_members=3, ensemble_type="batchensemble")
    x = _inputs()
    folded = independent_members(mlp)
    assert not any(isinstance(m, BatchEnsembleLinear) for m in folded.modules())
    assert any(isinstance(m, BatchEnsembleLinear) for m in mlp.modules())
    with torch.no_grad():
        torch.testing.assert_close(folded(x), mlp(x))


def test_select_members_refuses_a_quantized_module():
    from skens.nn import EnsembleMLP, quantize_weights, select_members

    mlp = EnsembleMLP(3, 2, n_members=3, hidden_layer_sizes=(8,), ensemble_type="independent")
    quantized = quantize_weights(mlp.eval())
    with pytest.raises(ValueError, match="select the members first"):
        select_members(quantized, [1])
    # The other order works.
    x = torch.randn(4, 3)
    subset = quantize_weights(select_members(mlp, [1]))
    torch.testing.assert_close(subset(x), quantized(x)[:, [1]], atol=1e-5, rtol=0)
