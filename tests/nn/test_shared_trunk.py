"""Shared trunks (ensemble_type='shared'): SharedLinear, input views, subset tools."""

import copy
import pickle

import pytest
import torch

from skens.nn import (
    EnsembleLinear,
    EnsembleMLP,
    GaussianEnsembleMLP,
    InputViews,
    SharedLinear,
    dropout_members,
    independent_members,
    module_members,
    quantize_weights,
    select_members,
    stack_members,
)
from skens.nn._quantization import Int8SharedLinear

N_NUMERIC, CARDINALITIES = 4, (5, 7)


def _inputs(batch=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    numeric = torch.randn(batch, N_NUMERIC, generator=g)
    codes = torch.stack([torch.randint(0, c, (batch,), generator=g) for c in CARDINALITIES], 1)
    return torch.cat([numeric, codes.float()], dim=1)


def _mlp(seed=0, n_members=4, **params):
    params = dict(
        hidden_layer_sizes=(16, 8),
        ensemble_type="shared",
        categorical_cardinalities=CARDINALITIES,
        n_periodic=N_NUMERIC,
        **params,
    )
    return EnsembleMLP(
        N_NUMERIC + len(CARDINALITIES),
        3,
        n_members=n_members,
        generator=torch.Generator().manual_seed(seed),
        **params,
    ).eval()


# ------------------------------------------------------------- SharedLinear
def test_shared_linear_computes_shared_rows_once():
    layer = SharedLinear(4, 3, n_members=5, generator=torch.Generator().manual_seed(0))
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)
    x = torch.randn(6, 4)
    out = layer(x)
    assert out.shape == (5, 6, 3) and out.stride(0) == 0  # expanded, not copied
    torch.testing.assert_close(out[2], x @ layer.weight + layer.bias)
    # An expanded shared input stays one product.
    again = layer(x.expand(5, 6, 4))
    assert again.stride(0) == 0
    torch.testing.assert_close(again, out)


def test_shared_linear_member_specific_rows():
    layer = SharedLinear(4, 3, n_members=2, bias=False)
    assert layer.bias is None
    x = torch.randn(2, 6, 4)
    out = layer(x)
    assert out.shape == (2, 6, 3)
    for k in range(2):
        torch.testing.assert_close(out[k], x[k] @ layer.weight)


def test_shared_linear_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_members"):
        SharedLinear(4, 3, n_members=0)


# --------------------------------------------------------- the shared MLP
def test_shared_mlp_shares_hidden_layers_and_embeddings():
    mlp = _mlp(share_embeddings=False)  # forced to shared
    hidden = [m for m in mlp.hidden if isinstance(m, (SharedLinear, EnsembleLinear))]
    assert all(type(m) is SharedLinear for m in hidden)
    assert type(mlp.output) is EnsembleLinear and mlp.output.n_members == 4
    assert mlp.embedding.n_members is None and mlp.embedding.periodic.n_members is None
    out = mlp(_inputs())
    assert out.shape == (9, 4, 3)
    assert not torch.allclose(out[:, 0], out[:, 1])  # the heads differ
    assert module_members(mlp) == 4


def test_shared_mlp_has_far_fewer_parameters():
    def n_params(ensemble_type):
        mlp = EnsembleMLP(20, 2, 8, hidden_layer_sizes=(64, 64), ensemble_type=ensemble_type)
        return sum(p.numel() for p in mlp.parameters())

    assert n_params("shared") < n_params("batchensemble") < n_params("independent")


def test_shared_and_member_specific_rows_agree():
    mlp = _mlp()
    x = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(mlp(x.expand(4, *x.shape).clone()), mlp(x))


def test_the_gaussian_mlp_takes_the_shared_trunk_and_views():
    mlp = GaussianEnsembleMLP(
        6, 2, n_members=3, hidden_layer_sizes=(8,), ensemble_type="shared", input_noise=0.1
    )
    mean, var = mlp(torch.randn(5, 6))
    assert mean.shape == var.shape == (5, 3, 2)


def test_the_trunk_trains_from_every_head():
    mlp = _mlp().train()
    mlp(_inputs()).sum().backward()
    assert mlp.hidden[0].weight.grad is not None and mlp.output.weight.grad.abs().sum() > 0


# ------------------------------------------------------------- input views
@pytest.mark.parametrize("view", [{"input_dropout": 0.5}, {"input_noise": 0.3}])
def test_views_only_in_training_and_only_on_numeric_columns(view):
    mlp = _mlp(**view)
    x = _inputs(batch=64)
    seen = []
    handle = mlp.embedding.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        mlp.eval()(x)
        mlp.train()(x)
    handle.remove()
    assert torch.equal(seen[0], x)  # evaluation: the input itself, shared
    views = seen[1]
    assert views.shape == (4, 64, x.shape[1])  # training: one view per member
    torch.testing.assert_close(views[..., N_NUMERIC:], x[:, N_NUMERIC:].expand(4, -1, -1))
    numeric = views[..., :N_NUMERIC]
    assert not torch.equal(numeric[0], numeric[1])  # each member its own view
    if "input_dropout" in view:
        dropped = numeric == 0
        assert 0.35 < dropped.float().mean() < 0.65
        # Kept values are the inputs themselves (not rescaled).
        torch.testing.assert_close(numeric[~dropped], x[:, :N_NUMERIC].expand(4, -1, -1)[~dropped])
    else:
        noise = numeric - x[:, :N_NUMERIC]
        assert 0.2 < float(noise.std()) < 0.4


def test_views_skip_columns_past_n_view_features():
    views = InputViews(2, dropout=0.9, noise=1.0, generator=torch.Generator().manual_seed(0))
    x = torch.randn(10, 5)
    out = views(x, 3)
    assert out.shape == (3, 10, 5)
    torch.testing.assert_close(out[..., 2:], x[:, 2:].expand(3, -1, -1))
    # Member-specific rows keep their member axis.
    assert views(torch.randn(3, 10, 5), 3).shape == (3, 10, 5)
    with pytest.raises(ValueError, match="n_view_features"):
        EnsembleMLP(6, 2, 2, categorical_cardinalities=(3,), n_view_features=6)
    with pytest.raises(ValueError, match="input_dropout"):
        EnsembleMLP(6, 2, 2, input_dropout=1.0)
    with pytest.raises(ValueError, match="input_noise"):
        EnsembleMLP(6, 2, 2, input_noise=-0.1)


def test_views_are_reproducible_from_the_generator():
    x = _inputs()
    outs = [_mlp(seed=3, input_dropout=0.3, input_noise=0.1).train()(x) for _ in range(2)]
    torch.testing.assert_close(outs[0], outs[1])
    other = _mlp(seed=4, input_dropout=0.3, input_noise=0.1).train()(x)
    assert not torch.allclose(outs[0], other)
    # Views draw their seed last: the parameters are those of the network without views.
    plain, viewed = _mlp(seed=3), _mlp(seed=3, input_dropout=0.3)
    for (name, a), (_, b) in zip(plain.named_parameters(), viewed.named_parameters()):
        assert torch.equal(a, b), name


def test_views_survive_pickling_and_copies():
    mlp = _mlp(seed=3, input_noise=0.2).train()
    x = _inputs()
    for clone in (pickle.loads(pickle.dumps(mlp)), copy.deepcopy(mlp)):
        torch.testing.assert_close(clone.train()(x), _mlp(seed=3, input_noise=0.2).train()(x))


# ------------------------------------------------- subsets, stacks, quantization
def test_select_members_keeps_the_trunk():
    mlp = _mlp(dropout=0.2, input_dropout=0.2)
    x = _inputs()
    with torch.no_grad():
        full = mlp(x)
        for members in ([0], [3, 1]):
            sub = select_members(mlp, members)
            assert sub.n_members == len(members) and module_members(sub) == len(members)
            torch.testing.assert_close(sub(x), full[:, members])


def test_independent_members_copies_the_trunk_per_member():
    mlp = _mlp()
    x = _inputs()
    independent = independent_members(mlp)
    assert not any(isinstance(m, SharedLinear) for m in independent.modules())
    assert independent.hidden[0].weight.shape == (4, *mlp.hidden[0].weight.shape)
    assert any(isinstance(m, SharedLinear) for m in mlp.modules())  # untouched
    with torch.no_grad():
        torch.testing.assert_close(independent(x), mlp(x))


def test_stacking_shared_networks():
    parts = [_mlp(seed=s, n_members=n) for s, n in ((0, 2), (1, 3))]
    x = _inputs()
    with pytest.raises(ValueError, match="shared trunks independent"):
        stack_members(parts)
    # The trunks and embeddings are shared: stack one network's own subsets as they are.
    again = stack_members([select_members(parts[1], [2, 0]), select_members(parts[1], [1])])
    with torch.no_grad():
        torch.testing.assert_close(again(x), parts[1](x)[:, [2, 0, 1]])
    # Different networks: their trunks and embeddings made independent first.
    x = _inputs()
    stacked = stack_members([independent_members(p) for p in parts])
    assert module_members(stacked) == 5 and stacked.embedding.n_members == 5
    with torch.no_grad():
        torch.testing.assert_close(stacked(x), torch.cat([p(x) for p in parts], dim=1))
        torch.testing.assert_close(select_members(stacked, [4, 0])(x), stacked(x)[:, [4, 0]])
    plain = [
        EnsembleMLP(
            6,
            3,
            n_members=n,
            hidden_layer_sizes=(8, 8),
            ensemble_type="shared",
            generator=torch.Generator().manual_seed(s),
        ).eval()
        for s, n in ((0, 2), (1, 3))
    ]
    rows = torch.randn(7, 6)
    stacked = stack_members([independent_members(p) for p in plain])
    assert module_members(stacked) == 5
    with torch.no_grad():
        torch.testing.assert_close(stacked(rows), torch.cat([p(rows) for p in plain], dim=1))


def test_quantized_shared_network():
    mlp = _mlp()
    small = quantize_weights(mlp)
    assert type(small.hidden[0]) is Int8SharedLinear
    assert small.hidden[0].weight_int8.dtype == torch.int8
    x = _inputs(batch=64)
    with torch.no_grad():
        out, q_out = mlp(x), small(x)
        assert (q_out - out).abs().max() < 0.05 * out.abs().max()
        # Member-specific rows take the same int8 path.
        torch.testing.assert_close(small(x.expand(4, *x.shape).contiguous()), q_out)


def test_dropout_members_of_a_shared_network():
    mlp = EnsembleMLP(
        5,
        2,
        n_members=2,
        hidden_layer_sizes=(16, 8),
        ensemble_type="shared",
        dropout=0.3,
        generator=torch.Generator().manual_seed(0),
    )
    sampled = dropout_members(mlp, 3, generator=torch.Generator().manual_seed(1))
    assert module_members(sampled) == 6
    x = torch.randn(7, 5)
    with torch.no_grad():
        out = sampled(x)
        # Sample t of member k: the trunk under fixed masks, computed by hand.
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(1)
        keep = [
            (torch.rand(6, 16, generator=g) >= 0.3).float() / 0.7,
            (torch.rand(6, 8, generator=g) >= 0.3).float() / 0.7,
        ]
        layer1, layer2 = mlp.hidden[0], mlp.hidden[3]
        for j, k in enumerate([0, 0, 0, 1, 1, 1]):
            h = torch.relu(x @ layer1.weight + layer1.bias) * keep[0][j]
            h = torch.relu(h @ layer2.weight + layer2.bias) * keep[1][j]
            expected = h @ mlp.output.weight[k] + mlp.output.bias[k]
            torch.testing.assert_close(out[:, j], expected)
