"""A module that evaluates only some of an ensemble's members."""

import copy

import torch

from ._embedding import FeatureEmbedding, PeriodicEmbedding
from ._linear import BatchEnsembleLinear, EnsembleLinear, SharedLinear

__all__ = ["select_members", "stack_members", "independent_members"]

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
    if any(hasattr(m, "weight_int8") for m in module.modules()):
        # Its int8 weights and scales are buffers this function does not slice.
        raise ValueError(
            "select_members needs a float module, got one quantized by quantize_weights: "
            "select the members first, then quantize the subset."
        )
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
        if hasattr(layer, "keep_members"):  # a layer that slices itself (HyperTab's masks)
            layer.keep_members(members.tolist())
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


def _fold_adapters(layer):
    """Turn a :class:`BatchEnsembleLinear` into the :class:`EnsembleLinear` it equals.

    Member ``k``'s map ``diag(r_k) W diag(s_k)`` becomes its own weight.
    """
    requires_grad = layer.weight.requires_grad
    with torch.no_grad():
        weight = (layer.r.transpose(1, 2) * layer.weight * layer.s).detach().clone()
    for name in ("weight", "r", "s"):
        del layer._parameters[name]
    del layer.scaling_init
    layer.__class__ = EnsembleLinear
    layer.weight = torch.nn.Parameter(weight, requires_grad=requires_grad)


def _expand_shared(layer):
    """Turn a :class:`SharedLinear` into the :class:`EnsembleLinear` it equals.

    Each member gets its own copy of the shared weight and bias.
    """
    requires_grad = layer.weight.requires_grad
    n, d_in, d_out = layer.n_members, layer.in_features, layer.out_features
    with torch.no_grad():
        weight = layer.weight.detach().expand(n, d_in, d_out).clone()
        bias = None
        if layer.bias is not None:
            bias = layer.bias.detach().expand(n, 1, d_out).clone()
    del layer._parameters["weight"]
    del layer._parameters["bias"]
    layer.__class__ = EnsembleLinear
    layer.weight = torch.nn.Parameter(weight, requires_grad=requires_grad)
    layer.bias = None if bias is None else torch.nn.Parameter(bias, requires_grad=requires_grad)


def _expand_embedding(layer, n_members):
    """Give each of ``n_members`` members its own copy of a shared :class:`FeatureEmbedding`."""

    def copies(tensor, lead=()):
        return torch.nn.Parameter(
            tensor.detach().expand(*lead, *tensor.shape).clone(),
            requires_grad=tensor.requires_grad,
        )

    for embedding in layer.embeddings:
        n_codes = embedding.num_embeddings
        weight = embedding.weight.detach().unsqueeze(1).expand(n_codes, n_members, -1)
        embedding.weight = torch.nn.Parameter(
            weight.reshape(n_codes, -1).clone(), requires_grad=embedding.weight.requires_grad
        )
        embedding.embedding_dim = embedding.weight.shape[1]
    if layer.periodic is not None:
        for name in _MEMBER_FIRST[PeriodicEmbedding]:
            setattr(layer.periodic, name, copies(getattr(layer.periodic, name), (n_members,)))
        layer.periodic.n_members = n_members
    layer.n_members = n_members


def independent_members(module, *, inplace=False):
    """A module whose shared layers are replaced by the independent layers they equal.

    Each :class:`BatchEnsembleLinear` becomes an :class:`EnsembleLinear`
    whose member ``k`` holds ``diag(r_k) W diag(s_k)``, and each
    :class:`SharedLinear` (a shared trunk) an :class:`EnsembleLinear` that
    holds a copy of its map per member; shared embeddings become per-member
    copies: the same outputs, with no weight shared between members (so that
    members of several such modules can be joined by :func:`stack_members`).

    Parameters
    ----------
    module : torch.nn.Module
        A module built from skens' ensemble layers.
    inplace : bool, default=False
        Change ``module`` itself instead of a deep copy.

    Returns
    -------
    module : torch.nn.Module
        The module with independent layers.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsembleMLP, independent_members
    >>> mlp = EnsembleMLP(3, 2, n_members=2, hidden_layer_sizes=(8,),
    ...                   ensemble_type="batchensemble").eval()
    >>> x = torch.randn(5, 3)
    >>> torch.allclose(independent_members(mlp)(x), mlp(x), atol=1e-6)
    True
    """
    if not inplace:
        module = copy.deepcopy(module)
    counts = {
        m.n_members for m in module.modules() if isinstance(getattr(m, "n_members", None), int)
    }
    for layer in module.modules():
        if isinstance(layer, FeatureEmbedding) and layer.n_members is None and len(counts) == 1:
            _expand_embedding(layer, next(iter(counts)))
        elif type(layer) is BatchEnsembleLinear:
            _fold_adapters(layer)
        elif type(layer) is SharedLinear:
            _expand_shared(layer)
    return module


def _member_slices(layer):
    """The names of a layer's member-first tensors (none for a layer shared by all)."""
    if not isinstance(getattr(layer, "n_members", None), int):
        return ()
    return _MEMBER_FIRST.get(type(layer), ())


def stack_members(modules):
    """One module whose members are the members of several modules, in order.

    The inverse of :func:`select_members`: the modules must have the same
    architecture; every per-member tensor is concatenated along its member
    axis, and every tensor shared by the members (a BatchEnsemble weight,
    shared embeddings, the encoding stage) must be equal in all of them.
    Snapshots of one network taken during training (snapshot ensembles,
    weight samples of SWAG or of an MCMC chain) become one ensemble that
    evaluates them all in one pass.

    Parameters
    ----------
    modules : sequence of torch.nn.Module
        Modules built from skens' ensemble layers, of one architecture.
        BatchEnsemble layers and shared trunks share their weights: pass
        them through :func:`independent_members` first unless those weights
        are the same.

    Returns
    -------
    stacked : torch.nn.Module
        A new module, in evaluation mode, without gradients.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsembleMLP, stack_members
    >>> a = EnsembleMLP(3, 2, n_members=1, hidden_layer_sizes=(8,)).eval()
    >>> b = EnsembleMLP(3, 2, n_members=2, hidden_layer_sizes=(8,)).eval()
    >>> x = torch.randn(5, 3)
    >>> both = stack_members([a, b])
    >>> torch.allclose(both(x), torch.cat([a(x), b(x)], dim=1))
    True
    """
    modules = list(modules)
    if not modules or not all(isinstance(m, torch.nn.Module) for m in modules):
        raise ValueError("modules must be a non-empty sequence of torch modules.")
    if any(hasattr(layer, "keep_members") for m in modules for layer in m.modules()):
        # HyperTab's members are masks on one shared hypernetwork, not weights to join.
        raise ValueError(
            "stack_members cannot join HyperTab networks (their members are feature masks "
            "of one hypernetwork); select_members takes subsets of them."
        )
    stacked = copy.deepcopy(modules[0]).eval().requires_grad_(False)
    peers_of = [list(m.modules()) for m in modules]
    layers = list(stacked.modules())
    if any(len(peers) != len(layers) for peers in peers_of):
        raise ValueError("stack_members needs modules of one architecture.")
    per_member = set()  # tensors (by id) that carry a member axis
    for position, layer in enumerate(layers):
        peers = [modules_layers[position] for modules_layers in peers_of]
        if any(type(peer) is not type(layer) for peer in peers):
            raise ValueError(
                "stack_members needs modules of one architecture, found "
                f"{sorted({type(p).__name__ for p in peers})} at one place."
            )
        for name in _member_slices(layer):
            if getattr(layer, name, None) is None:
                continue
            joined = torch.cat([getattr(peer, name).detach() for peer in peers])
            setattr(layer, name, torch.nn.Parameter(joined, requires_grad=False))
            per_member.add(id(getattr(layer, name)))
        if isinstance(layer, FeatureEmbedding) and isinstance(layer.n_members, int):
            for k, embedding in enumerate(layer.embeddings):
                n_codes = embedding.num_embeddings
                parts = [
                    peer.embeddings[k].weight.detach().view(n_codes, peer.n_members, -1)
                    for peer in peers
                ]
                weight = torch.cat(parts, dim=1).reshape(n_codes, -1)
                embedding.weight = torch.nn.Parameter(weight, requires_grad=False)
                embedding.embedding_dim = weight.shape[1]
                per_member.add(id(embedding.weight))
        if isinstance(getattr(layer, "n_members", None), int):
            layer.n_members = sum(peer.n_members for peer in peers)
    # Everything else is shared by the members: it must be the same in every module.
    for (name, tensor), *others in zip(
        [*stacked.named_parameters(), *stacked.named_buffers()],
        *[[*m.named_parameters(), *m.named_buffers()] for m in modules],
    ):
        if id(tensor) in per_member:
            continue
        if any(o.shape != tensor.shape or not torch.equal(o, tensor) for _, o in others):
            raise ValueError(
                f"'{name}' is shared by the members and differs between the modules; "
                "stack modules whose shared tensors are equal (independent_members makes "
                "BatchEnsemble layers and shared trunks independent)."
            )
    return stacked
