"""Monte Carlo dropout as an ensemble: fixed dropout masks folded into member copies."""

import torch

from ._dropout import FastDropout
from ._linear import BatchEnsembleLinear, EnsembleLinear, SharedLinear
from ._mlp import EnsembleMLP
from ._subset import _expand_shared, select_members

__all__ = ["dropout_members", "module_members"]


def module_members(module):
    """The number of members of a module built from skens' ensemble layers.

    Parameters
    ----------
    module : torch.nn.Module
        A module whose member layers all hold one number of members.

    Returns
    -------
    n_members : int
        That number.

    Examples
    --------
    >>> from skens.nn import GaussianEnsembleMLP, module_members
    >>> module_members(GaussianEnsembleMLP(3, 1, n_members=4, hidden_layer_sizes=(8,)))
    4
    """
    counts = {
        m.n_members for m in module.modules() if isinstance(getattr(m, "n_members", None), int)
    }
    if len(counts) != 1:
        raise ValueError(
            f"Expected a module whose layers hold one number of members, found {sorted(counts)}."
        )
    return counts.pop()


def _next_linear(mlp, position):
    """The linear layer that reads the output of ``mlp.hidden[position]``."""
    for layer in list(mlp.hidden)[position + 1 :]:
        if isinstance(layer, (EnsembleLinear, BatchEnsembleLinear, SharedLinear)):
            return layer
    return mlp.output


def dropout_members(module, n_samples, *, generator=None):
    """An ensemble of fixed dropout masks of a module's members (MC dropout).

    Member ``k * n_samples + t`` of the result is member ``k`` of ``module``
    with the ``t``-th set of dropout masks: every :class:`FastDropout` of
    probability ``p`` keeps each unit with probability ``1 - p``, and the
    kept units are scaled by ``1 / (1 - p)``. The masks are folded into the
    weights of the next layer (the rows of an :class:`EnsembleLinear`, the
    input adapter of a :class:`BatchEnsembleLinear`; a shared trunk's
    :class:`SharedLinear` first becomes an :class:`EnsembleLinear` with a
    copy per sample), so the result computes every sample in one
    evaluation-mode pass.

    One mask set is shared by all rows (a fixed sub-network per sample),
    where Gal & Ghahramani draw masks per row: the distribution of each
    row's samples is the same, and a row's prediction no longer depends on
    the rows beside it or on how often the model was called.

    Parameters
    ----------
    module : torch.nn.Module
        A trained module with dropout (:class:`EnsembleMLP`,
        :class:`GaussianEnsembleMLP`, :class:`EncodedNetwork`...).
    n_samples : int
        Mask sets per member.
    generator : torch.Generator, default=None
        A CPU generator the masks are drawn from; ``None`` uses torch's
        global generator.

    Returns
    -------
    sampled : torch.nn.Module
        A new module of ``n_members * n_samples`` members, in evaluation
        mode, without gradients and without dropout.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsembleMLP, dropout_members
    >>> mlp = EnsembleMLP(3, 2, n_members=1, hidden_layer_sizes=(16,), dropout=0.5)
    >>> sampled = dropout_members(mlp, 10, generator=torch.Generator().manual_seed(0))
    >>> sampled(torch.randn(4, 3)).shape
    torch.Size([4, 10, 2])
    """
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    n_members = module_members(module)
    members = [k for k in range(n_members) for _ in range(int(n_samples))]
    sampled = select_members(module, members)
    found = False
    for mlp in [m for m in sampled.modules() if isinstance(m, EnsembleMLP)]:
        for position, layer in enumerate(mlp.hidden):
            if not isinstance(layer, FastDropout) or layer.p == 0:
                continue
            found = True
            target = _next_linear(mlp, position)
            if isinstance(target, SharedLinear):
                # Masks differ by member: the trunk layer gets a copy per member.
                _expand_shared(target)
            keep = torch.rand(len(members), target.in_features, generator=generator) >= layer.p
            keep = keep.to(torch.float32) / (1.0 - layer.p)
            with torch.no_grad():
                if isinstance(target, BatchEnsembleLinear):
                    target.r.mul_(keep.to(target.r)[:, None, :])
                else:
                    target.weight.mul_(keep.to(target.weight)[:, :, None])
            layer.p = 0.0
    if not found:
        raise ValueError("dropout_members needs a module with dropout (p > 0).")
    return sampled
