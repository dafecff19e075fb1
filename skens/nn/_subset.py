"""A module that evaluates only some of an ensemble's members."""

import copy

import torch

from ._embedding import FeatureEmbedding, PeriodicEmbedding
from ._linear import BatchEnsembleLinear, EnsembleLinear

__all__ = ["select_members"]

# The parameters of each layer that carry a member axis first.
_MEMBER_FIRST = {
    EnsembleLinear: ("weight", "bias"),
    BatchEnsembleLinear: ("r", "s", "bias"),
    PeriodicEmbedding: ("frequencies", "weight", "bias"),
}


def _take(parameter, members):
    return torch.nn.Parameter(parameter.detach()[members].clone(), requires_grad=False)


def select_members(module, members):
    """A copy of an ensemble module that evaluates only the given members.

    Every per-member parameter (the member axis of :class:`EnsembleLinear`,
    the adapters of :class:`BatchEnsembleLinear`, per-member periodic and
    categorical embeddings) is sliced to ``members``; shared parameters are
    copied. The copy's outputs are the original's for those members, at the
    cost of ``len(members)`` members.

    Parameters
    ----------
    module : torch.nn.Module
        A module built from skens' ensemble layers (:class:`EnsembleMLP`,
        :class:`GaussianEnsembleMLP`, :class:`EncodedNetwork`...).
    members : sequence of int
        The members to keep, in the output's member order.

    Returns
    -------
    subset : torch.nn.Module
        The copy, in evaluation mode, without gradients.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsembleMLP, select_members
    >>> mlp = EnsembleMLP(3, 2, n_members=4, hidden_layer_sizes=(8,)).eval()
    >>> x = torch.randn(5, 3)
    >>> sub = select_members(mlp, [1, 3])
    >>> torch.allclose(sub(x), mlp(x)[:, [1, 3]])
    True
    """
    members = torch.as_tensor(list(members), dtype=torch.long)
    if members.dim() != 1 or not len(members):
        raise ValueError("members must be a non-empty sequence of member indices.")
    counts = {
        m.n_members for m in module.modules() if isinstance(getattr(m, "n_members", None), int)
    }
    if len(counts) != 1:
        raise ValueError(
            "select_members needs a module whose layers hold one number of members, "
            f"found {sorted(counts)}."
        )
    (n_members,) = counts
    if members.min() < 0 or members.max() >= n_members:
        raise ValueError(f"members must be in [0, {n_members - 1}], got {members.tolist()}.")
    subset = copy.deepcopy(module).eval().requires_grad_(False)
    for layer in subset.modules():
        if not isinstance(getattr(layer, "n_members", None), int):
            continue
        index = members.to(next(iter(layer.parameters()), members).device)
        for name in _MEMBER_FIRST.get(type(layer), ()):
            if getattr(layer, name, None) is not None:
                setattr(layer, name, _take(getattr(layer, name), index))
        if isinstance(layer, FeatureEmbedding):
            for embedding in layer.embeddings:
                n_codes = embedding.num_embeddings
                weight = embedding.weight.detach().view(n_codes, n_members, -1)[:, index]
                embedding.weight = _take(weight.reshape(n_codes, -1), slice(None))
                embedding.embedding_dim = embedding.weight.shape[1]
        layer.n_members = len(members)
    return subset
