"""Learned embeddings for categorical features given as integer codes."""

import torch
from torch import nn

__all__ = ["FeatureEmbedding", "embedding_dimension"]


def embedding_dimension(cardinality):
    """Embedding width for a categorical feature with ``cardinality`` codes.

    The rule of thumb of fastai, ``round(1.6 * cardinality ** 0.56)``, capped
    at 32.

    Examples
    --------
    >>> from skens.nn import embedding_dimension
    >>> embedding_dimension(10), embedding_dimension(1000)
    (6, 32)
    """
    return int(min(32, max(1, round(1.6 * cardinality**0.56))))


class FeatureEmbedding(nn.Module):
    """Replace trailing integer-code columns by learned embeddings.

    The input is one float matrix whose first ``n_numeric`` columns are
    real-valued and whose last ``len(cardinalities)`` columns hold integer
    codes in ``[0, cardinality)``. The output concatenates the real-valued
    columns with one embedding vector per code column. Embeddings are shared
    by all ensemble members.

    Parameters
    ----------
    n_numeric : int
        Number of leading real-valued columns.
    cardinalities : sequence of int
        Number of codes of each code column.
    embedding_dims : sequence of int, default=None
        Width of each embedding; defaults to :func:`embedding_dimension`.

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
    """

    def __init__(self, n_numeric, cardinalities, embedding_dims=None):
        super().__init__()
        cardinalities = [int(c) for c in cardinalities]
        if embedding_dims is None:
            embedding_dims = [embedding_dimension(c) for c in cardinalities]
        if len(embedding_dims) != len(cardinalities):
            raise ValueError("embedding_dims must have one entry per cardinality.")
        self.n_numeric = int(n_numeric)
        self.embeddings = nn.ModuleList(
            nn.Embedding(c, d) for c, d in zip(cardinalities, embedding_dims)
        )
        self.out_features = self.n_numeric + sum(embedding_dims)

    def forward(self, x):
        if not self.embeddings:
            return x
        codes = x[:, self.n_numeric :].long()
        parts = [x[:, : self.n_numeric]]
        parts += [embedding(codes[:, i]) for i, embedding in enumerate(self.embeddings)]
        return torch.cat(parts, dim=1)
