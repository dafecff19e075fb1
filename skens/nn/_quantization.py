"""Post-training int8 quantization of the weights of the skens layers.

The weights of the linear maps (and the embedding tables) are stored as int8
with one float scale per output channel (symmetric, per channel). Biases,
BatchEnsemble adapters, periodic frequencies and the encoding stage stay in
float: they are small, and the frequencies feed a sine.

On the CPU the linear layers compute as torch's dynamic quantization does:
each row of activations is quantized to int8 on the fly (one scale per row,
so a row's result never depends on the rows beside it), multiplied with the
int8 weights in integer arithmetic (``torch._int_mm``, int32 accumulation)
and rescaled. On other devices, and for the embeddings, the weights are
dequantized and the layer's float code runs. ``torch.ao.quantization``'s
``quantize_dynamic`` itself is deprecated in torch (it warns that it will be
removed) and covers only ``nn.Linear``, not these member-batched layers.
"""

import copy
from functools import cache

import torch
from torch import nn

from ._embedding import PeriodicEmbedding
from ._linear import BatchEnsembleLinear, EnsembleLinear, SharedLinear
from ._subset import _fold_adapters

__all__ = ["quantize_weights", "parameter_bytes"]

_QMAX = 127


@cache
def _cpu_int8_matmul_available():
    """Whether this torch multiplies int8 matrices on the CPU (``torch._int_mm``)."""
    try:
        ones = torch.ones(2, 2, dtype=torch.int8)
        return bool(torch._int_mm(ones, ones)[0, 0] == 2)
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def _int8_kernels(x):
    return x.device.type == "cpu" and _cpu_int8_matmul_available()


def _quantize_tensor(weight, dim=-2):
    """int8 values and float scales: symmetric, one scale per slice reduced over ``dim``.

    A weight's scale is the largest magnitude over its inputs (the
    second-to-last axis) over 127; an all-zero slice gets scale 1.
    """
    weight = weight.detach()
    scale = weight.abs().amax(dim=dim, keepdim=True) / _QMAX
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    values = torch.round(weight / scale).clamp_(-_QMAX, _QMAX).to(torch.int8)
    return values, scale


def _quantize_rows(x):
    """int8 rows and their float scales (symmetric, one scale per row).

    |x / scale| <= 127 by construction, so no clamp is needed; a zero row
    gets the smallest scale and stays zero.
    """
    x = x.float()
    # abs().amax(): on the CPU many times faster than an infinity norm.
    scale = x.abs().amax(dim=-1, keepdim=True).div_(_QMAX)
    scale.clamp_(min=torch.finfo(torch.float32).tiny)
    return (x / scale).round_().to(torch.int8), scale


def _int8_linear(rows, row_scale, values, scale, bias):
    """``bias + dequantized(rows) @ dequantized(values)``, the product in int8 (int32 sums)."""
    out = torch.mul(torch._int_mm(rows, values), row_scale)
    return out * scale if bias is None else torch.addcmul(bias, out, scale)


class _Int8Weight:
    """Mixin: ``weight`` is read from int8 values and per-channel scales.

    A class-level property takes precedence over ``nn.Module.__getattr__``,
    so the layer's own float ``forward`` still runs on the dequantized weight.
    """

    @property
    def weight(self):
        return self.weight_int8.to(self.weight_scale.dtype) * self.weight_scale


class Int8EnsembleLinear(_Int8Weight, EnsembleLinear):
    """An :class:`EnsembleLinear` whose weights are stored as int8.

    On the CPU each member's product runs in int8 (see the module's notes).
    """

    def forward(self, x):
        if not _int8_kernels(x):
            return super().forward(x)
        members = range(self.n_members)
        bias = [None] * self.n_members if self.bias is None else self.bias
        if x.dim() == 2:  # shared rows: quantized once for every member
            rows = [_quantize_rows(x)] * self.n_members
        else:
            rows = [_quantize_rows(x[k]) for k in members]
        return torch.stack([
            _int8_linear(*rows[k], self.weight_int8[k], self.weight_scale[k], bias[k])
            for k in members
        ])


class Int8BatchEnsembleLinear(_Int8Weight, BatchEnsembleLinear):
    """A :class:`BatchEnsembleLinear` whose shared weight is stored as int8.

    On the CPU, member ``k`` computes ``(int8(x * r_k) @ W) * s_k + b_k``:
    one int8 product for all members (see the module's notes).
    """

    def forward(self, x):
        if not _int8_kernels(x):
            return super().forward(x)
        scaled = x * self.r  # (members, batch, in), shared rows broadcast
        members, batch, _ = scaled.shape
        rows, row_scale = _quantize_rows(scaled.reshape(members * batch, -1))
        out = torch.mul(torch._int_mm(rows, self.weight_int8), row_scale)
        out = out.reshape(members, batch, -1)
        scale = self.weight_scale * self.s  # (members, 1, out)
        return out * scale if self.bias is None else torch.addcmul(self.bias, out, scale)


class Int8SharedLinear(_Int8Weight, SharedLinear):
    """A :class:`SharedLinear` whose weight is stored as int8.

    On the CPU the shared rows are multiplied once, in int8 (see the
    module's notes).
    """

    def forward_shared(self, x):
        if not _int8_kernels(x):
            return super().forward_shared(x)
        rows, row_scale = _quantize_rows(x.reshape(-1, x.shape[-1]))
        out = _int8_linear(rows, row_scale, self.weight_int8, self.weight_scale, self.bias)
        return out.view(*x.shape[:-1], -1)


class Int8PeriodicEmbedding(_Int8Weight, PeriodicEmbedding):
    """A :class:`PeriodicEmbedding` whose linear maps are stored as int8."""


class Int8Embedding(_Int8Weight, nn.Embedding):
    """An ``nn.Embedding`` whose table is stored as int8."""


_QUANTIZED = {
    EnsembleLinear: Int8EnsembleLinear,
    BatchEnsembleLinear: Int8BatchEnsembleLinear,
    SharedLinear: Int8SharedLinear,
    PeriodicEmbedding: Int8PeriodicEmbedding,
    nn.Embedding: Int8Embedding,
}


def quantize_weights(module, *, inplace=False):
    """Store the weights of a module's skens layers as int8 (post-training).

    Every :class:`EnsembleLinear`, :class:`BatchEnsembleLinear`,
    :class:`SharedLinear`, :class:`PeriodicEmbedding` and ``nn.Embedding``
    inside ``module`` keeps
    its weight as int8 values with one float32 scale per output channel
    (symmetric: ``weight ≈ scale * int8``), and dequantizes it when it runs.
    Biases, adapters, frequencies and buffers are left as they are (a
    one-member :class:`BatchEnsembleLinear` has its adapters folded into
    its weight first: it becomes the int8 :class:`EnsembleLinear` it equals).
    The quantized weights are buffers, not parameters: the result is for
    prediction, not for further training.

    On the CPU the linear layers then compute in int8: each row of
    activations is quantized on the fly with its own scale (dynamic
    quantization, as ``torch.ao``'s ``quantize_dynamic`` does for
    ``nn.Linear``) and multiplied in integer arithmetic. On other devices
    the weights are dequantized and the products run in float.

    Parameters
    ----------
    module : torch.nn.Module
        A trained module (its layers may be anywhere below it).
    inplace : bool, default=False
        Quantize ``module`` itself instead of a deep copy.

    Returns
    -------
    module : torch.nn.Module
        The quantized module, on the device of the original.

    Notes
    -----
    The stored weights shrink about four times. The int8 products of the CPU
    are several times faster than float ones for wide layers; small ones
    gain little (``doc/benchmarks.md``). The scales are per output channel
    for weights and per row for activations, symmetric, so a row's output
    does not depend on the rows computed with it.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsembleMLP, parameter_bytes, quantize_weights
    >>> mlp = EnsembleMLP(16, 2, n_members=1, hidden_layer_sizes=(64, 64)).eval()
    >>> small = quantize_weights(mlp)
    >>> parameter_bytes(small) < parameter_bytes(mlp) / 3
    True
    >>> x = torch.randn(5, 16)
    >>> bool((small(x) - mlp(x)).abs().max() < 0.05)
    True
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}.")
    if not inplace:
        module = copy.deepcopy(module)
    for layer in module.modules():
        if type(layer) is BatchEnsembleLinear and layer.n_members == 1:
            _fold_adapters(layer)
        target = _QUANTIZED.get(type(layer))
        if target is None:
            continue
        values, scale = _quantize_tensor(layer.weight)
        del layer._parameters["weight"]
        layer.__class__ = target
        layer.register_buffer("weight_int8", values)
        layer.register_buffer("weight_scale", scale.to(torch.float32))
    return module


def parameter_bytes(module):
    """Count the bytes taken by a module's parameters and buffers.

    Parameters
    ----------
    module : torch.nn.Module
        Any module.

    Returns
    -------
    n_bytes : int
        The sum of ``numel * element_size`` over its parameters and buffers
        (the size of its ``state_dict`` without the container's overhead).

    Examples
    --------
    >>> from torch import nn
    >>> from skens.nn import parameter_bytes
    >>> parameter_bytes(nn.Linear(3, 2))  # 6 weights and 2 biases, float32
    32
    """
    tensors = [*module.parameters(), *module.buffers()]
    return int(sum(t.numel() * t.element_size() for t in tensors))
