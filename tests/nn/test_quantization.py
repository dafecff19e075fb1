"""Post-training int8 quantization of the weights of the skens layers."""

import copy
import io
import pickle

import pytest
import torch

from skens.nn import (
    BatchEnsembleLinear,
    EnsembleLinear,
    EnsembleMLP,
    GaussianEnsembleMLP,
    parameter_bytes,
    quantize_weights,
)
from skens.nn._quantization import Int8EnsembleLinear


def _mlp(ensemble_type, **params):
    torch.manual_seed(0)
    return EnsembleMLP(
        10, 3, n_members=2, hidden_layer_sizes=(32, 32), ensemble_type=ensemble_type,
        categorical_cardinalities=(5,), n_periodic=9, **params,
    ).eval()


def _rows(n=64):
    g = torch.Generator().manual_seed(1)
    return torch.cat(
        [torch.randn(n, 9, generator=g), torch.randint(0, 5, (n, 1), generator=g).float()], 1
    )


@pytest.mark.parametrize("ensemble_type", ["independent", "batchensemble"])
def test_the_quantized_network_predicts_close_to_the_float_one(ensemble_type):
    mlp = _mlp(ensemble_type)
    small = quantize_weights(mlp)
    x = _rows()
    with torch.no_grad():
        out, q_out = mlp(x), small(x)
    assert q_out.shape == out.shape
    assert not torch.equal(q_out, out)  # the weights did change
    assert (q_out - out).abs().max() < 0.02 * out.abs().max()
    # Weights, embedding tables and periodic maps are int8; the rest stays float.
    assert {name for name, _ in small.named_parameters() if name.endswith("weight")} == set()
    int8 = [name for name, b in small.named_buffers() if b.dtype == torch.int8]
    assert "embedding.periodic.weight_int8" in int8 and "output.weight_int8" in int8
    assert any("embeddings.0" in name for name in int8)
    assert parameter_bytes(small) < parameter_bytes(mlp) / 2.5


def test_each_weight_is_within_half_a_step_of_its_int8_value():
    torch.manual_seed(0)
    layer = EnsembleLinear(20, 7, n_members=3)
    weight = layer.weight.detach().clone()
    with torch.no_grad():
        layer.weight[1, :, 4] = 0.0  # an all-zero channel
    weight[1, :, 4] = 0.0
    small = quantize_weights(layer)
    assert type(small) is Int8EnsembleLinear
    assert small.weight_int8.dtype == torch.int8 and small.weight_int8.shape == (3, 20, 7)
    assert small.weight_scale.shape == (3, 1, 7)  # one scale per member and output
    assert small.weight_int8.abs().max() == 127
    step = small.weight_scale.expand_as(weight)
    assert torch.all((small.weight - weight).abs() <= step / 2 + 1e-7)
    assert torch.all(small.weight[1, :, 4] == 0) and small.weight_scale[1, 0, 4] == 1


def test_the_original_is_left_alone_unless_inplace():
    layer = BatchEnsembleLinear(6, 4, n_members=2)
    before = copy.deepcopy(layer.state_dict())
    small = quantize_weights(layer)
    assert small is not layer and type(layer) is BatchEnsembleLinear
    for name, value in layer.state_dict().items():
        assert torch.equal(value, before[name])
    assert quantize_weights(layer, inplace=True) is layer
    assert "weight_int8" in dict(layer.named_buffers())


def test_quantizing_twice_changes_nothing():
    small = quantize_weights(_mlp("batchensemble"))
    again = quantize_weights(small)
    for (name, a), (_, b) in zip(small.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name


def test_a_quantized_module_pickles_and_loads_its_state():
    mlp = GaussianEnsembleMLP(5, 1, n_members=2, hidden_layer_sizes=(8,)).eval()
    small = quantize_weights(mlp)
    x = torch.randn(10, 5)
    restored = pickle.loads(pickle.dumps(small))
    for a, b in zip(small(x), restored(x)):
        assert torch.equal(a, b)
    buffer = io.BytesIO()
    torch.save(small.state_dict(), buffer)
    other = quantize_weights(GaussianEnsembleMLP(5, 1, n_members=2, hidden_layer_sizes=(8,)))
    buffer.seek(0)
    other.load_state_dict(torch.load(buffer))
    for a, b in zip(small(x), other.eval()(x)):
        assert torch.equal(a, b)


def test_a_non_module_is_refused():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        quantize_weights([torch.zeros(2)])


def test_parameter_bytes_counts_parameters_and_buffers():
    layer = torch.nn.BatchNorm1d(4)  # 8 float parameters, 8 float and 1 int64 buffers
    assert parameter_bytes(layer) == 16 * 4 + 8


@pytest.mark.parametrize("Layer", [EnsembleLinear, BatchEnsembleLinear])
@pytest.mark.parametrize("shared", [True, False])
def test_the_int8_products_match_the_dequantized_weights(Layer, shared):
    from skens.nn import _quantization

    if not _quantization._cpu_int8_matmul_available():
        pytest.skip("this torch has no int8 matrix product on the CPU")
    torch.manual_seed(0)
    float_layer = Layer(24, 16, n_members=3)
    small = quantize_weights(float_layer)
    x = torch.randn(40, 24) if shared else torch.randn(3, 40, 24)
    with torch.no_grad():
        out = small(x)
        dequantized = Layer.forward(small, x)  # the float code on the int8 weights
    assert out.shape == (3, 40, 16)
    # Only the rounding of the activations (one step in 254 of each row's range) differs.
    assert not torch.equal(out, dequantized)
    assert (out - dequantized).abs().max() < 0.02 * dequantized.abs().max()
    # Each row has its own scale: a row computed alone gives the same result.
    alone = small(x[:1] if shared else x[:, :1])
    assert torch.equal(alone, out[:, :1])


def test_without_int8_products_the_weights_are_dequantized(monkeypatch):
    from skens.nn import _quantization

    monkeypatch.setattr(_quantization, "_int8_kernels", lambda x: False)
    small = quantize_weights(EnsembleLinear(8, 4, n_members=2))
    x = torch.randn(10, 8)
    with torch.no_grad():
        assert torch.equal(small(x), EnsembleLinear.forward(small, x))
