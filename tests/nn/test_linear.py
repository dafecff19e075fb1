import pytest
import torch

from skens.nn import BatchEnsembleLinear, EnsembleLinear


def test_ensemble_linear_equals_one_linear_map_per_member():
    layer = EnsembleLinear(5, 3, n_members=4)
    x = torch.randn(7, 5)
    out = layer(x)
    assert out.shape == (4, 7, 3)
    for k in range(4):
        expected = x @ layer.weight[k] + layer.bias[k]
        torch.testing.assert_close(out[k], expected)


def test_ensemble_linear_member_specific_input():
    layer = EnsembleLinear(5, 3, n_members=4, bias=False)
    x = torch.randn(4, 7, 5)
    out = layer(x)
    for k in range(4):
        torch.testing.assert_close(out[k], x[k] @ layer.weight[k])


def test_ensemble_linear_members_start_different():
    layer = EnsembleLinear(8, 8, n_members=3)
    assert not torch.allclose(layer.weight[0], layer.weight[1])
    assert not torch.allclose(layer.bias[0], layer.bias[1])
    bound = 1 / 8**0.5
    assert layer.weight.abs().max() <= bound


def test_ensemble_linear_gradients_stay_per_member():
    layer = EnsembleLinear(3, 2, n_members=3)
    x = torch.randn(4, 3)
    layer(x)[1].sum().backward()  # only member 1 contributes to the loss
    assert layer.weight.grad[1].abs().sum() > 0
    assert layer.weight.grad[0].abs().sum() == 0
    assert layer.weight.grad[2].abs().sum() == 0


def test_batchensemble_linear_matches_its_formula():
    layer = BatchEnsembleLinear(5, 3, n_members=4, scaling_init="random-signs")
    with torch.no_grad():
        layer.s.normal_()
    x = torch.randn(7, 5)
    out = layer(x)
    assert out.shape == (4, 7, 3)
    for k in range(4):
        expected = ((x * layer.r[k]) @ layer.weight) * layer.s[k] + layer.bias[k]
        torch.testing.assert_close(out[k], expected)


@pytest.mark.parametrize(
    "init, check",
    [
        ("random-signs", lambda r: set(r.unique().tolist()) <= {-1.0, 1.0}),
        ("ones", lambda r: bool((r == 1).all())),
        ("normal", lambda r: r.std() > 0.5),
    ],
)
def test_batchensemble_scaling_init(init, check):
    layer = BatchEnsembleLinear(64, 2, n_members=8, scaling_init=init)
    assert check(layer.r)
    assert bool((layer.s == 1).all())
    assert layer.weight.shape == (64, 2)  # one shared weight matrix


def test_batchensemble_random_signs_make_members_differ():
    layer = BatchEnsembleLinear(16, 4, n_members=3, scaling_init="random-signs")
    out = layer(torch.randn(5, 16))
    assert not torch.allclose(out[0], out[1])


@pytest.mark.parametrize("Layer", [EnsembleLinear, BatchEnsembleLinear])
@pytest.mark.parametrize("bad", [dict(n_members=0), dict(in_features=-1), dict(out_features=1.5)])
def test_layers_reject_bad_sizes(Layer, bad):
    params = dict(in_features=3, out_features=2, n_members=2) | bad
    with pytest.raises(ValueError, match="must be a positive integer"):
        Layer(**params)


def test_batchensemble_rejects_unknown_init():
    with pytest.raises(ValueError, match="scaling_init must be one of"):
        BatchEnsembleLinear(3, 2, 2, scaling_init="zeros")
