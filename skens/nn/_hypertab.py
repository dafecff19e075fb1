"""HyperTab: a hypernetwork that generates one small network per feature subset.

Wydmański, Bulenok & Śmieja (2023): a hypernetwork maps a binary mask of
the input features to the weights of a small *target* network that reads
only the masked features. A fixed set of masks gives the ensemble's
members; all target networks are evaluated in one batched pass here.
"""

import contextlib
import math
from numbers import Integral

import torch
import torch.nn.functional as F
from torch import nn

from ._embedding import FeatureEmbedding
from ._heads import GaussianHead

__all__ = ["HyperTabNetwork", "GaussianHyperTabNetwork", "draw_feature_masks"]


def _check_sizes(name, sizes, *, allow_empty):
    sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    if (not sizes and not allow_empty) or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        raise ValueError(f"{name} must be a positive integer or a sequence of them, got {sizes!r}.")
    return tuple(int(s) for s in sizes)


def draw_feature_masks(n_masks, n_features, n_selected, *, generator=None):
    """Draw ``n_masks`` random subsets of exactly ``n_selected`` of ``n_features`` features.

    Each row is a uniformly random subset, drawn independently of the
    others (two rows may coincide when there are few possible subsets), as
    the reference implementation draws its masks.

    Parameters
    ----------
    n_masks : int
        Number of masks (rows).
    n_features : int
        Number of features (columns).
    n_selected : int
        Number of selected features per mask, in ``[1, n_features]``.
    generator : torch.Generator, default=None
        A CPU generator, the source of the draws; ``None`` uses torch's
        global generator.

    Returns
    -------
    masks : bool tensor of shape (n_masks, n_features)
        ``True`` for the selected features; each row has ``n_selected``.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import draw_feature_masks
    >>> masks = draw_feature_masks(3, 5, 2, generator=torch.Generator().manual_seed(0))
    >>> masks.shape, masks.sum(dim=1).tolist()
    (torch.Size([3, 5]), [2, 2, 2])
    """
    if not 1 <= n_selected <= n_features:
        raise ValueError(
            f"n_selected must be in [1, n_features={n_features}], got {n_selected!r}."
        )
    order = torch.rand(n_masks, n_features, generator=generator).argsort(dim=1)
    masks = torch.zeros(n_masks, n_features, dtype=torch.bool)
    masks.scatter_(1, order[:, :n_selected], True)
    return masks


def _linear(d_in, d_out, generator):
    """A ``torch.nn.Linear`` with torch's default initial scale, drawn from ``generator``."""
    layer = nn.utils.skip_init(nn.Linear, d_in, d_out)
    bound = 1.0 / math.sqrt(d_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


class HyperTabNetwork(nn.Module):
    """HyperTab: one hypernetwork, one generated target network per feature mask.

    ``n_members`` binary masks, each selecting ``k = max(1, int(n_inputs *
    subsample))`` of the ``n_inputs`` input features, are drawn once, at
    construction, and kept as buffers (they move with ``.to()`` and are
    saved with the module). The hypernetwork, an MLP, maps a mask (as a
    0/1 float vector) to the flattened weights of a target MLP with hidden
    layers ``hidden_dims`` that reads only the ``k`` masked features. Each
    mask's target network is a member; all members run in one batched pass.

    Parameters
    ----------
    in_features : int
        Number of input columns.
    out_features : int
        Number of outputs of each member (class logits, or regression outputs).
    n_members : int
        Number of masks, i.e. of members.
    subsample : float, default=0.5
        Share of the features each mask selects, in (0, 1]:
        ``k = max(1, int(n_inputs * subsample))``.
    hidden_dims : int or sequence of int, default=10
        Hidden layers of the target networks (ReLU after each). ``10`` is
        the one hidden layer of ``hypertab`` 0.6.2 on PyPI; ``(10, 10)``
        the two of the repository's latest commit.
    hypernet_hidden : sequence of int, default=(128, 64, 64)
        Hidden layers of the hypernetwork. As in the reference, ReLU follows
        every hidden layer but the last, which feeds the linear output layer
        directly.
    categorical_cardinalities : sequence of int, default=()
        When given, the last ``len(categorical_cardinalities)`` input columns
        are integer codes, embedded by one :class:`FeatureEmbedding` shared
        by every member; the masks then select among the embedded columns
        (the real-valued columns, then each code's embedding dimensions).
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved): the
        source of the masks and of the initial parameters. ``None`` uses
        torch's global generator.

    Attributes
    ----------
    masks : bool tensor of shape (n_members, n_inputs)
        Buffer: the features each member reads (``n_inputs`` is
        ``in_features``, or the embedded width with categorical codes).
    feature_index : long tensor of shape (n_members, n_selected)
        Buffer: the selected features of each mask, in increasing order.
    n_selected : int
        Number of features per mask, ``k``.
    target_shapes : list of (int, int)
        ``(in, out)`` of each layer of a target network.
    n_target_weights : int
        Length of a target network's flattened weights (the hypernetwork's
        output).

    Notes
    -----
    Input ``(batch, in_features)`` or member-specific ``(n_members, batch,
    in_features)``; output ``(batch, n_members, out_features)``. With
    ``members=`` (or within :meth:`restrict_members`) only those members
    are evaluated: a training step on one mask computes that mask's network
    alone. In evaluation mode on a CPU, the target networks run in float64
    (the output is float32), so that a row's output does not depend on the
    rows evaluated with it.

    A target network's flattened weights hold, layer by layer, the weight
    matrix ``(out, in)`` row-major then the bias, as the reference's
    ``InsertableNet`` reads them.

    References
    ----------
    .. [1] W. Wydmański, O. Bulenok and M. Śmieja, "HyperTab: Hypernetwork
       Approach for Deep Learning on Small Tabular Datasets", DSAA 2023.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import HyperTabNetwork
    >>> net = HyperTabNetwork(6, 2, n_members=4, generator=torch.Generator().manual_seed(0))
    >>> net.masks.sum(dim=1).tolist()
    [3, 3, 3, 3]
    >>> net(torch.randn(5, 6)).shape
    torch.Size([5, 4, 2])
    >>> net(torch.randn(5, 6), members=[2]).shape
    torch.Size([5, 1, 2])
    """

    def __init__(
        self,
        in_features,
        out_features,
        n_members,
        *,
        subsample=0.5,
        hidden_dims=10,
        hypernet_hidden=(128, 64, 64),
        categorical_cardinalities=(),
        generator=None,
    ):
        super().__init__()
        if not 0.0 < subsample <= 1.0:
            raise ValueError(f"subsample must be in (0, 1], got {subsample!r}.")
        if int(n_members) != n_members or n_members < 1:
            raise ValueError(f"n_members must be a positive integer, got {n_members!r}.")
        hidden_dims = _check_sizes("hidden_dims", hidden_dims, allow_empty=True)
        hypernet_hidden = _check_sizes("hypernet_hidden", hypernet_hidden, allow_empty=True)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.n_members = int(n_members)
        self.subsample = subsample
        self.embedding = None
        n_inputs = self.in_features
        if len(categorical_cardinalities):
            self.embedding = FeatureEmbedding(
                n_inputs - len(categorical_cardinalities),
                categorical_cardinalities,
                generator=generator,
            )
            n_inputs = self.embedding.out_features
        self.n_inputs = n_inputs
        self.n_selected = min(n_inputs, max(1, int(n_inputs * subsample)))
        masks = draw_feature_masks(self.n_members, n_inputs, self.n_selected, generator=generator)
        self.register_buffer("masks", masks)
        # The selected columns in increasing order, as ``x[:, mask]`` reads them.
        self.register_buffer("feature_index", masks.nonzero()[:, 1].view(self.n_members, -1))
        self.target_shapes = list(
            zip([self.n_selected, *hidden_dims], [*hidden_dims, self.out_features])
        )
        self.n_target_weights = sum(d_in * d_out + d_out for d_in, d_out in self.target_shapes)
        sizes = [n_inputs, *hypernet_hidden]
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(_linear(d_in, d_out, generator))
            if i < len(hypernet_hidden) - 1:
                layers.append(nn.ReLU())
        layers.append(_linear(sizes[-1], self.n_target_weights, generator))
        self.hypernetwork = nn.Sequential(*layers)
        self._active = None

    def generate_weights(self, masks):
        """The flattened target-network weights the hypernetwork generates for ``masks``.

        Parameters
        ----------
        masks : tensor of shape (n_masks, n_inputs)
            Feature masks (bool or 0/1 float), e.g. rows of :attr:`masks`.

        Returns
        -------
        weights : tensor of shape (n_masks, n_target_weights)
            One flattened target network per mask (see the Notes).

        Examples
        --------
        >>> import torch
        >>> from skens.nn import HyperTabNetwork
        >>> net = HyperTabNetwork(6, 2, n_members=4)
        >>> net.generate_weights(net.masks).shape  # 3*10+10 + 10*2+2
        torch.Size([4, 62])
        """
        dtype = self.hypernetwork[0].weight.dtype
        return self.hypernetwork(masks.to(dtype))

    def _members(self, members):
        if members is None:
            members = self._active
        if members is None:
            return None
        members = torch.as_tensor(members, dtype=torch.long, device=self.masks.device).view(-1)
        if not len(members) or members.min() < 0 or members.max() >= self.n_members:
            raise ValueError(
                f"members must be a non-empty sequence of indices in [0, {self.n_members - 1}]"
                f", got {members.tolist()}."
            )
        return members

    @contextlib.contextmanager
    def restrict_members(self, members):
        """Within the ``with`` block, evaluate only ``members`` when ``forward`` is not told.

        Lets a caller that runs the module through a wrapper (which does
        not pass ``members=``) train one mask at a time.

        Parameters
        ----------
        members : sequence of int
            The members to evaluate, in the output's member order.

        Yields
        ------
        network : HyperTabNetwork
            This module.

        Examples
        --------
        >>> import torch
        >>> from skens.nn import HyperTabNetwork
        >>> net = HyperTabNetwork(6, 2, n_members=4)
        >>> with net.restrict_members([1, 3]):
        ...     net(torch.randn(5, 6)).shape
        torch.Size([5, 2, 2])
        """
        previous = self._active
        self._active = list(members)
        try:
            yield self
        finally:
            self._active = previous

    @torch.no_grad()
    def keep_members(self, members):
        """Keep only ``members``, in place: the masks of the others are dropped.

        The hypernetwork is shared by every member, so only the masks are
        sliced (this is how :func:`skens.nn.select_members` can take a subset).

        Parameters
        ----------
        members : sequence of int
            The members to keep, in their new order.

        Returns
        -------
        self : HyperTabNetwork
            This module, now with ``len(members)`` members.

        Examples
        --------
        >>> import torch
        >>> from skens.nn import HyperTabNetwork
        >>> net = HyperTabNetwork(6, 2, n_members=4).eval()
        >>> x = torch.randn(5, 6)
        >>> full = net(x)
        >>> torch.allclose(net.keep_members([3, 0])(x), full[:, [3, 0]])
        True
        """
        if members is None:
            raise ValueError("keep_members needs the members to keep, got None.")
        index = self._members(members)
        masks, feature_index = self.masks[index].clone(), self.feature_index[index].clone()
        self.masks, self.feature_index, self.n_members = masks, feature_index, len(index)
        return self

    def forward(self, x, members=None):
        """Evaluate every member's target network (or those in ``members``).

        Parameters
        ----------
        x : tensor of shape (batch, in_features) or (n_evaluated, batch, in_features)
            Input rows shared by all members, or member-specific rows (one
            mini-batch per evaluated member).
        members : sequence of int, default=None
            The members to evaluate, in the output's order; ``None``: all
            (or those of :meth:`restrict_members`).

        Returns
        -------
        out : tensor of shape (batch, n_evaluated, out_features)
            Each evaluated member's output.
        """
        if self.masks.shape[0] != self.n_members:
            raise RuntimeError(
                f"This HyperTabNetwork holds {self.masks.shape[0]} masks but n_members="
                f"{self.n_members}; take subsets with keep_members."
            )
        members = self._members(members)
        masks, index = self.masks, self.feature_index
        if members is not None:
            masks, index = masks[members], index[members]
        n_eval = len(index)
        if x.dim() == 3 and x.shape[0] != n_eval:
            raise ValueError(
                f"Member-specific input must have {n_eval} rows blocks (one per evaluated "
                f"member), got {x.shape[0]}."
            )
        if self.embedding is not None:
            x = self.embedding(x)
        if x.dim() == 2:
            h = x[:, index].transpose(0, 1)  # (members, batch, k)
        else:
            h = torch.gather(x, 2, index.unsqueeze(1).expand(-1, x.shape[1], -1))
        weights = self.generate_weights(masks)
        dtype = h.dtype
        if not self.training and h.device.type == "cpu":
            # A CPU matrix product's rounding depends on the number of rows it
            # multiplies; in float64, rounded back to float32 at the end, a
            # row's prediction does not depend on the rows predicted with it.
            h, weights = h.double(), weights.double()
        offset = 0
        for i, (d_in, d_out) in enumerate(self.target_shapes):
            w = weights[:, offset : offset + d_in * d_out].view(n_eval, d_out, d_in)
            offset += d_in * d_out
            b = weights[:, offset : offset + d_out]
            offset += d_out
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if i < len(self.target_shapes) - 1:
                h = F.relu(h)
        h = h.to(dtype)
        return h.transpose(0, 1)  # (members, batch, out) -> (batch, members, out)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_active"] = None
        return state

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"n_members={self.n_members}, n_selected={self.n_selected}, "
            f"target_shapes={self.target_shapes}"
        )


class GaussianHyperTabNetwork(nn.Module):
    """A :class:`HyperTabNetwork` whose members each predict a Gaussian.

    Parameters
    ----------
    in_features : int
        Number of input columns.
    n_outputs : int
        Number of regression targets.
    n_members : int
        Number of masks, i.e. of members.
    min_variance : float, default=1e-6
        Variance floor of the :class:`GaussianHead`.
    **params
        Passed to :class:`HyperTabNetwork` (``subsample``, ``hidden_dims``,
        ``generator``...).

    Attributes
    ----------
    network : HyperTabNetwork
        The hypernetwork and masks, with ``2 * n_outputs`` outputs per member.
    head : GaussianHead
        Splits them into means and variances.

    Notes
    -----
    Returns ``(mean, variance)``, each ``(batch, n_members, n_outputs)``.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import GaussianHyperTabNetwork
    >>> net = GaussianHyperTabNetwork(6, 1, n_members=4)
    >>> mean, var = net(torch.randn(5, 6))
    >>> mean.shape, bool((var > 0).all())
    (torch.Size([5, 4, 1]), True)
    """

    def __init__(self, in_features, n_outputs, n_members, *, min_variance=1e-6, **params):
        super().__init__()
        self.network = HyperTabNetwork(in_features, 2 * n_outputs, n_members, **params)
        self.head = GaussianHead(n_outputs, min_variance=min_variance)

    def forward(self, x, members=None):
        """Predict every member's Gaussian (or those in ``members``).

        Parameters
        ----------
        x : tensor of shape (batch, in_features) or (n_evaluated, batch, in_features)
            Input rows shared by all members, or member-specific rows.
        members : sequence of int, default=None
            The members to evaluate; ``None``: all.

        Returns
        -------
        mean : tensor of shape (batch, n_evaluated, n_outputs)
            Each member's mean.
        variance : tensor of shape (batch, n_evaluated, n_outputs)
            Each member's variance, at least ``min_variance``.
        """
        return self.head(self.network(x, members=members))
