"""Linear layers that hold every ensemble member in one module.

Activations travel member-first, as ``(n_members, batch, features)``, so
that every layer is a single batched matrix multiplication. The very first
layer of a network may also receive the shared ``(batch, features)`` input,
which all members see. A :class:`SharedLinear` is one map shared by all
members (the trunk of a multi-head network).
"""

import math

import torch
from torch import nn

__all__ = ["EnsembleLinear", "BatchEnsembleLinear", "SharedLinear"]


def _init_rsqrt_uniform_(tensor, fan_in, generator=None):
    """Fill ``tensor`` from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), torch's Linear scale."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.init.uniform_(tensor, -bound, bound, generator=generator)


def _check_positive(name, value):
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


class EnsembleLinear(nn.Module):
    """``n_members`` independent linear maps applied with one batched matmul.

    Parameters
    ----------
    in_features : int
        Size of each input sample.
    out_features : int
        Size of each output sample.
    n_members : int
        Number of ensemble members, each with its own weight and bias.
    bias : bool, default=True
        Whether each member has an additive bias.
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved).
        Source of the initial weights; ``None`` uses torch's global generator.

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (n_members, in_features, out_features)
    bias : torch.nn.Parameter of shape (n_members, 1, out_features) or None

    Notes
    -----
    The input is either shared by all members, shape ``(batch, in_features)``,
    or member-specific, shape ``(n_members, batch, in_features)``. The output
    is always ``(n_members, batch, out_features)``. Each member's weights are
    drawn independently from U(-1/sqrt(in), 1/sqrt(in)), so members differ from
    the start.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsembleLinear
    >>> layer = EnsembleLinear(4, 3, n_members=5)
    >>> layer(torch.randn(10, 4)).shape
    torch.Size([5, 10, 3])
    """

    def __init__(self, in_features, out_features, n_members, *, bias=True, generator=None):
        super().__init__()
        for name, value in [
            ("in_features", in_features),
            ("out_features", out_features),
            ("n_members", n_members),
        ]:
            _check_positive(name, value)
        self.in_features = in_features
        self.out_features = out_features
        self.n_members = n_members
        self.weight = nn.Parameter(torch.empty(n_members, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n_members, 1, out_features)) if bias else None
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        """Draw every member's weights and biases independently.

        Parameters
        ----------
        generator : torch.Generator, default=None
            On the device of the parameters.
            Source of the draws; ``None`` uses torch's global generator.
        """
        _init_rsqrt_uniform_(self.weight, self.in_features, generator)
        if self.bias is not None:
            _init_rsqrt_uniform_(self.bias, self.in_features, generator)

    def forward(self, x):
        """Apply every member's linear map.

        Parameters
        ----------
        x : tensor of shape (batch, in_features) or (n_members, batch, in_features)
            Input shared by all members, or member-specific input.

        Returns
        -------
        out : tensor of shape (n_members, batch, out_features)
            The output of each member.
        """
        if x.dim() == 2:
            # Shared input: a stride-0 view, so all members read the same rows.
            x = x.expand(self.n_members, *x.shape)
        if self.bias is None:
            return torch.bmm(x, self.weight)
        return torch.baddbmm(self.bias, x, self.weight)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"n_members={self.n_members}, bias={self.bias is not None}"
        )


class BatchEnsembleLinear(nn.Module):
    """A linear layer shared by all members, with per-member rank-1 adapters.

    Member ``k`` computes ``((x * r_k) @ W) * s_k + b_k``: one weight matrix
    ``W`` is shared, and each member owns an input scaling ``r_k``, an output
    scaling ``s_k`` and a bias ``b_k`` (BatchEnsemble, Wen et al. 2020, in the
    form used by TabM, Gorishniy et al. 2024).

    Parameters
    ----------
    in_features : int
        Size of each input sample.
    out_features : int
        Size of each output sample.
    n_members : int
        Number of ensemble members.
    scaling_init : {'ones', 'random-signs', 'normal'}, default='ones'
        Initialisation of the input adapter ``r``. TabM initialises the first
        layer's ``r`` with random signs, which is what makes the members
        differ, and every other adapter with ones.
    bias : bool, default=True
        Whether each member has its own additive bias.
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved).
        Source of the initial weights; ``None`` uses torch's global generator.

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (in_features, out_features)
    r : torch.nn.Parameter of shape (n_members, 1, in_features)
    s : torch.nn.Parameter of shape (n_members, 1, out_features)
    bias : torch.nn.Parameter of shape (n_members, 1, out_features) or None

    Examples
    --------
    >>> import torch
    >>> from skens.nn import BatchEnsembleLinear
    >>> layer = BatchEnsembleLinear(4, 3, n_members=5, scaling_init="random-signs")
    >>> layer(torch.randn(10, 4)).shape
    torch.Size([5, 10, 3])
    """

    _scaling_inits = ("ones", "random-signs", "normal")

    def __init__(
        self,
        in_features,
        out_features,
        n_members,
        *,
        scaling_init="ones",
        bias=True,
        generator=None,
    ):
        super().__init__()
        for name, value in [
            ("in_features", in_features),
            ("out_features", out_features),
            ("n_members", n_members),
        ]:
            _check_positive(name, value)
        if scaling_init not in self._scaling_inits:
            raise ValueError(
                f"scaling_init must be one of {self._scaling_inits}, got {scaling_init!r}."
            )
        self.in_features = in_features
        self.out_features = out_features
        self.n_members = n_members
        self.scaling_init = scaling_init
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.r = nn.Parameter(torch.empty(n_members, 1, in_features))
        self.s = nn.Parameter(torch.empty(n_members, 1, out_features))
        self.bias = nn.Parameter(torch.empty(n_members, 1, out_features)) if bias else None
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        """Initialise the shared weight, the adapters and the member biases.

        Parameters
        ----------
        generator : torch.Generator, default=None
            On the device of the parameters.
            Source of the draws; ``None`` uses torch's global generator.
        """
        _init_rsqrt_uniform_(self.weight, self.in_features, generator)
        if self.scaling_init == "random-signs":
            signs = torch.bernoulli(torch.full_like(self.r, 0.5), generator=generator)
            self.r.copy_(signs * 2 - 1)
        elif self.scaling_init == "normal":
            nn.init.normal_(self.r, generator=generator)
        else:
            nn.init.ones_(self.r)
        nn.init.ones_(self.s)
        if self.bias is not None:
            # Independent biases per member add diversity on top of ``r``.
            _init_rsqrt_uniform_(self.bias, self.in_features, generator)

    def forward(self, x):
        """Apply every member's linear map.

        Parameters
        ----------
        x : tensor of shape (batch, in_features) or (n_members, batch, in_features)
            Input shared by all members, or member-specific input.

        Returns
        -------
        out : tensor of shape (n_members, batch, out_features)
            The output of each member.
        """
        # Fold the adapters into per-member weights, diag(r_k) W diag(s_k): one
        # (n_members, in, out) tensor instead of two passes over the activations.
        weight = self.r.transpose(1, 2) * self.weight * self.s
        if x.dim() == 2:
            x = x.expand(self.n_members, *x.shape)
        if self.bias is None:
            return torch.bmm(x, weight)
        return torch.baddbmm(self.bias, x, weight)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"n_members={self.n_members}, scaling_init={self.scaling_init!r}, "
            f"bias={self.bias is not None}"
        )


class SharedLinear(nn.Module):
    """One linear map shared by all ensemble members (a layer of a shared trunk).

    Every member computes ``x @ W + b`` with the same ``W`` and ``b``: the
    layer has no member axis, and ``n_members`` only sets the size of its
    output's member axis. Shared rows are multiplied once.

    Parameters
    ----------
    in_features : int
        Size of each input sample.
    out_features : int
        Size of each output sample.
    n_members : int
        Number of ensemble members that read the output.
    bias : bool, default=True
        Whether the map has an additive bias.
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved).
        Source of the initial weights; ``None`` uses torch's global generator.

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (in_features, out_features)
    bias : torch.nn.Parameter of shape (out_features,) or None

    Notes
    -----
    The input is either shared by all members, shape ``(batch, in_features)``,
    or member-specific, shape ``(n_members, batch, in_features)``; the output
    is ``(n_members, batch, out_features)``. For shared rows (and for a
    member-specific input whose member axis has stride 0, i.e. an expanded
    shared input) the product is computed once and expanded to the members
    without a copy. :meth:`forward_shared` gives the ``(batch, out_features)``
    result itself. :func:`skens.nn.independent_members` turns the layer into
    the :class:`EnsembleLinear` holding one copy of the map per member.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import SharedLinear
    >>> layer = SharedLinear(4, 3, n_members=5)
    >>> out = layer(torch.randn(10, 4))
    >>> out.shape, out.stride(0)  # five members, one copy of the values
    (torch.Size([5, 10, 3]), 0)
    """

    def __init__(self, in_features, out_features, n_members, *, bias=True, generator=None):
        super().__init__()
        for name, value in [
            ("in_features", in_features),
            ("out_features", out_features),
            ("n_members", n_members),
        ]:
            _check_positive(name, value)
        self.in_features = in_features
        self.out_features = out_features
        self.n_members = n_members
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        """Draw the weight and bias from U(-1/sqrt(in), 1/sqrt(in)), torch's Linear scale.

        Parameters
        ----------
        generator : torch.Generator, default=None
            On the device of the parameters.
            Source of the draws; ``None`` uses torch's global generator.
        """
        _init_rsqrt_uniform_(self.weight, self.in_features, generator)
        if self.bias is not None:
            _init_rsqrt_uniform_(self.bias, self.in_features, generator)

    def forward_shared(self, x):
        """Apply the map to rows, without a member axis.

        Parameters
        ----------
        x : tensor of shape (..., in_features)
            Rows.

        Returns
        -------
        out : tensor of shape (..., out_features)
            ``x @ weight + bias``.
        """
        if self.bias is None:
            return torch.matmul(x, self.weight)
        if x.dim() == 2:
            return torch.addmm(self.bias, x, self.weight)
        return torch.matmul(x, self.weight) + self.bias

    def forward(self, x):
        """Apply the shared map for every member.

        Parameters
        ----------
        x : tensor of shape (batch, in_features) or (n_members, batch, in_features)
            Input shared by all members, or member-specific input.

        Returns
        -------
        out : tensor of shape (n_members, batch, out_features)
            The output of each member; a stride-0 view when the rows are shared.
        """
        if x.dim() == 2:
            return self.forward_shared(x).expand(self.n_members, *x.shape[:1], -1)
        if x.stride(0) == 0:
            # An expanded shared input: every member reads the same rows.
            return self.forward_shared(x[0]).expand(x.shape[0], -1, -1)
        members, batch = x.shape[:2]
        return self.forward_shared(x.reshape(members * batch, -1)).view(members, batch, -1)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"n_members={self.n_members}, bias={self.bias is not None}"
        )
