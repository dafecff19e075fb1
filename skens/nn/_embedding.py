"""Learned embeddings for categorical features given as integer codes."""

import math

import torch
from torch import nn

__all__ = ["FeatureEmbedding", "PeriodicEmbedding", "embedding_dimension"]


def embedding_dimension(cardinality):
    """Embedding width for a categorical feature with ``cardinality`` codes.

    The rule of thumb of fastai, ``round(1.6 * cardinality ** 0.56)``, capped
    at 32.

    Parameters
    ----------
    cardinality : int
        Number of distinct codes of the feature.

    Returns
    -------
    dimension : int
        The embedding width, between 1 and 32.

    Examples
    --------
    >>> from skens.nn import embedding_dimension
    >>> embedding_dimension(10), embedding_dimension(1000)
    (6, 32)
    """
    return int(min(32, max(1, round(1.6 * cardinality**0.56))))


class PeriodicEmbedding(nn.Module):
    """Periodic embeddings of numeric features ("PLR", Gorishniy et al. 2022).

    Each feature ``x_j`` becomes ``ReLU(W_j [cos(2 pi c_j x_j), sin(2 pi c_j x_j)] + b_j)``
    with learned frequencies ``c_j`` (``n_frequencies`` of them, drawn from
    ``N(0, sigma^2)``) and a learned per-feature linear map to ``d_embedding``
    values. It lets an MLP fit sharp, non-monotone effects of a single
    feature that a plain first layer fits poorly.

    Parameters
    ----------
    n_features : int
        Number of numeric features.
    n_frequencies : int, default=16
        Frequencies per feature.
    d_embedding : int, default=8
        Output width per feature (8 matched 16 in the benchmark study at half
        the cost of the first layer).
    sigma : float, default=0.1
        Standard deviation of the initial frequencies (inputs are assumed
        scaled to about unit variance).
    n_members : int, default=None
        ``None``: one embedding, input ``(batch, n_features)``, output
        ``(batch, out_features)``. An int: each of ``n_members`` ensemble
        members owns its embedding (frequencies, weights and biases with a
        leading member axis); input ``(batch, n_features)`` shared by all
        members or ``(n_members, batch, n_features)``, output
        ``(n_members, batch, out_features)``.
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved).
        Source of the initial parameters; ``None`` uses torch's global generator.

    Attributes
    ----------
    out_features : int
        ``n_features * d_embedding``.

    References
    ----------
    .. [1] Y. Gorishniy, I. Rubachev and A. Babenko, "On Embeddings for Numerical
       Features in Tabular Deep Learning", NeurIPS 2022.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import PeriodicEmbedding
    >>> emb = PeriodicEmbedding(3, n_frequencies=4, d_embedding=5)
    >>> emb(torch.randn(2, 3)).shape
    torch.Size([2, 15])
    >>> PeriodicEmbedding(3, d_embedding=5, n_members=4)(torch.randn(2, 3)).shape
    torch.Size([4, 2, 15])
    """

    def __init__(
        self,
        n_features,
        *,
        n_frequencies=16,
        d_embedding=8,
        sigma=0.1,
        n_members=None,
        generator=None,
    ):
        super().__init__()
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma!r}.")
        self.n_features = int(n_features)
        self.n_members = None if n_members is None else int(n_members)
        lead = () if n_members is None else (self.n_members,)
        self.frequencies = nn.Parameter(
            torch.randn(*lead, n_features, n_frequencies, generator=generator) * sigma
        )
        bound = 1 / math.sqrt(2 * n_frequencies)
        self.weight = nn.Parameter(
            torch.empty(*lead, n_features, 2 * n_frequencies, d_embedding)
        )
        self.bias = nn.Parameter(torch.empty(*lead, n_features, d_embedding))
        nn.init.uniform_(self.weight, -bound, bound, generator=generator)
        nn.init.uniform_(self.bias, -bound, bound, generator=generator)
        self.out_features = self.n_features * d_embedding

    def forward(self, x):
        """Embed each numeric feature.

        Parameters
        ----------
        x : tensor of shape (batch, n_features) or (n_members, batch, n_features)
            Numeric features. The member-specific shape needs ``n_members``;
            with it, ``(batch, n_features)`` is shared by all members.

        Returns
        -------
        out : tensor of shape (batch, out_features) or (n_members, batch, out_features)
            The embeddings of the features, concatenated feature by feature:
            ``(batch, out_features)`` when ``n_members`` is None, else
            ``(n_members, batch, out_features)``.
        """
        if self.n_members is None:
            angles = 2 * math.pi * x.unsqueeze(-1) * self.frequencies  # (batch, features, freq)
            periodic = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
            out = torch.relu(torch.einsum("bfk,fkd->bfd", periodic, self.weight) + self.bias)
            return out.flatten(1)
        # Feature-major (members, features, batch, freq), so that each (member,
        # feature) map is one matrix of a batched product: faster than an einsum.
        k, f = self.frequencies.shape[:2]
        x = (2 * math.pi * x).transpose(-1, -2)  # (features, batch) or (members, features, batch)
        if x.dim() == 2:
            x = x.unsqueeze(0)  # broadcast over members
        angles = x.unsqueeze(-1) * self.frequencies.unsqueeze(2)
        periodic = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
        batch = periodic.shape[2]
        out = torch.baddbmm(
            self.bias.reshape(k * f, 1, -1),
            periodic.reshape(k * f, batch, -1),
            self.weight.reshape(k * f, self.weight.shape[2], -1),
        )
        return torch.relu(out).view(k, f, batch, -1).transpose(1, 2).flatten(2)


class FeatureEmbedding(nn.Module):
    """Embed categorical codes (and optionally numeric features) before an MLP.

    The input is one float matrix whose first ``n_numeric`` columns are
    real-valued and whose last ``len(cardinalities)`` columns hold integer
    codes in ``[0, cardinality)``. The output concatenates the real-valued
    columns — the first ``n_periodic`` of them through a
    :class:`PeriodicEmbedding` — with one learned embedding vector per code
    column. Embeddings are shared by all ensemble members.

    Parameters
    ----------
    n_numeric : int
        Number of leading real-valued columns.
    cardinalities : sequence of int
        Number of codes of each code column.
    embedding_dims : sequence of int, default=None
        Width of each embedding; defaults to :func:`embedding_dimension`.
    n_periodic : int, default=0
        Number of leading real-valued columns given a periodic embedding.
    n_members : int, default=None
        ``None``: the embeddings are shared by all ensemble members and the
        output is ``(batch, out_features)``. An int: each member owns its
        periodic and categorical embeddings, and the output is
        ``(n_members, batch, out_features)`` (real-valued columns passed
        through are the same for every member).
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved).
        Source of the initial parameters; ``None`` uses torch's global generator.

    Attributes
    ----------
    out_features : int
        Width of the output.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import FeatureEmbedding
    >>> emb = FeatureEmbedding(2, [5, 3], embedding_dims=[4, 2])
    >>> x = torch.tensor([[0.5, -1.0, 4.0, 0.0]])
    >>> emb(x).shape, emb.out_features
    (torch.Size([1, 8]), 8)
    >>> FeatureEmbedding(2, [5, 3], embedding_dims=[4, 2], n_members=3)(x).shape
    torch.Size([3, 1, 8])
    """

    def __init__(
        self,
        n_numeric,
        cardinalities,
        embedding_dims=None,
        n_periodic=0,
        *,
        n_members=None,
        generator=None,
    ):
        super().__init__()
        cardinalities = [int(c) for c in cardinalities]
        if embedding_dims is None:
            embedding_dims = [embedding_dimension(c) for c in cardinalities]
        if len(embedding_dims) != len(cardinalities):
            raise ValueError("embedding_dims must have one entry per cardinality.")
        self.n_numeric = int(n_numeric)
        self.n_members = None if n_members is None else int(n_members)
        # N(0, 1) rows as nn.Embedding draws them, from ``generator``; with
        # n_members, one row holds every member's vector side by side.
        width = 1 if n_members is None else self.n_members
        self.embeddings = nn.ModuleList(
            nn.Embedding(c, d * width, _weight=torch.randn(c, d * width, generator=generator))
            for c, d in zip(cardinalities, embedding_dims)
        )
        if not 0 <= n_periodic <= self.n_numeric:
            raise ValueError(f"n_periodic must be in [0, {self.n_numeric}], got {n_periodic!r}.")
        self.n_periodic = int(n_periodic)
        self.periodic = (
            PeriodicEmbedding(n_periodic, n_members=n_members, generator=generator)
            if n_periodic
            else None
        )
        periodic_width = self.periodic.out_features - n_periodic if n_periodic else 0
        self.out_features = self.n_numeric + periodic_width + sum(embedding_dims)

    @torch.no_grad()
    def fill_unseen(self, seen):
        """Give codes never seen in training the mean embedding of the seen codes.

        An embedding row that no training sample used keeps its random
        initialisation; a sample with such a code (an unknown category, or a
        missing value when training had none) would get an arbitrary vector.
        The mean of the trained rows is a neutral stand-in.

        Parameters
        ----------
        seen : sequence of array-like of bool
            One mask per code column, of shape ``(cardinality,)``: ``True``
            for the codes that occur in the training data; or of shape
            ``(cardinality, n_members)``: the codes each member trained on
            (bootstrap resamples); ``(cardinality, 1)`` is the same as
            ``(cardinality,)``. With per-member embeddings each member's
            vectors are filled from its own seen codes; shared embeddings
            count a code seen when any member saw it.

        Examples
        --------
        >>> import torch
        >>> from skens.nn import FeatureEmbedding
        >>> emb = FeatureEmbedding(0, [3], embedding_dims=[2])
        >>> emb.fill_unseen([[True, True, False]])
        >>> torch.allclose(emb.embeddings[0].weight[2], emb.embeddings[0].weight[:2].mean(0))
        True
        """
        if len(seen) != len(self.embeddings):
            raise ValueError(f"seen must have one mask per code column ({len(self.embeddings)}).")
        for embedding, mask in zip(self.embeddings, seen):
            mask = torch.as_tensor(mask, dtype=torch.bool, device=embedding.weight.device)
            n_codes = embedding.num_embeddings
            if mask.dim() == 2 and mask.shape[0] == n_codes and (
                self.n_members is None or mask.shape[1] == 1
            ):
                mask = mask.any(dim=1)  # seen by some member
            if mask.dim() == 1 and mask.shape == (n_codes,):
                if mask.any() and not mask.all():
                    embedding.weight[~mask] = embedding.weight[mask].mean(dim=0)
                continue
            if mask.shape != (n_codes, self.n_members):
                raise ValueError(
                    f"A seen mask has shape {tuple(mask.shape)}, expected ({n_codes},) or "
                    f"({n_codes}, {self.n_members})."
                )
            weight = embedding.weight.view(n_codes, self.n_members, -1)
            for member in range(self.n_members):
                own = mask[:, member]
                if own.any() and not own.all():
                    weight[~own, member] = weight[own, member].mean(dim=0)

    def forward(self, x):
        """Embed the code columns and join them to the real-valued columns.

        Parameters
        ----------
        x : tensor of shape (batch, n_columns) or (n_members, batch, n_columns)
            Rows shared by all members, or member-specific rows; the
            ``n_columns = n_numeric + len(cardinalities)`` columns are the
            real-valued ones, then the integer codes.

        Returns
        -------
        out : tensor of shape (batch, out_features) or (n_members, batch, out_features)
            ``(batch, out_features)`` for shared rows and shared embeddings
            (``n_members`` None); ``(n_members, batch, out_features)`` for
            member-specific rows or per-member embeddings.
        """
        if x.dim() == 3 and self.n_members is None:
            # Member-specific rows through shared embeddings: embed them all at once.
            k, batch = x.shape[:2]
            return self.forward(x.reshape(k * batch, -1)).view(k, batch, -1)
        parts = []
        if self.periodic is not None:
            parts.append(self.periodic(x[..., : self.n_periodic]))
        parts.append(x[..., self.n_periodic : self.n_numeric])
        codes = x[..., self.n_numeric :].long()
        if self.n_members is None:
            vectors = [embedding(codes[:, i]) for i, embedding in enumerate(self.embeddings)]
            return torch.cat(parts + vectors, dim=1)
        k = self.n_members
        if x.dim() == 2:
            # Shared rows: (batch, members * d) -> (members, batch, d).
            vectors = [
                embedding(codes[:, i]).view(len(x), k, -1).transpose(0, 1)
                for i, embedding in enumerate(self.embeddings)
            ]
            parts[-1] = parts[-1].expand(k, *parts[-1].shape)
        else:
            # Member-specific rows: member m reads its own vector of its own rows' codes.
            member = torch.arange(k, device=x.device).unsqueeze(1)
            vectors = [
                embedding.weight.view(embedding.num_embeddings, k, -1)[codes[..., i], member]
                for i, embedding in enumerate(self.embeddings)
            ]
        return torch.cat(parts + vectors, dim=2)
