"""A multilayer perceptron that holds all ensemble members at once."""

from torch import nn

from ._dropout import FastDropout
from ._embedding import FeatureEmbedding
from ._heads import GaussianHead
from ._linear import BatchEnsembleLinear, EnsembleLinear

__all__ = ["EnsembleMLP", "GaussianEnsembleMLP", "ACTIVATIONS", "ENSEMBLE_TYPES"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
}

ENSEMBLE_TYPES = ("independent", "batchensemble")


class EnsembleMLP(nn.Module):
    """An ensemble of MLPs evaluated in one forward pass.

    Parameters
    ----------
    in_features : int
        Number of input features.
    out_features : int
        Number of outputs of each member (classes, or regression outputs).
    n_members : int
        Number of ensemble members.
    hidden_layer_sizes : sequence of int, default=(256, 256)
        Width of each hidden layer; empty gives a linear model per member.
    activation : {'relu', 'gelu', 'silu', 'tanh', 'logistic', 'identity'}, default='relu'
        Non-linearity after each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden activation. Each member draws its
        own mask.
    ensemble_type : {'independent', 'batchensemble'}, default='independent'
        ``'independent'``: every layer holds ``n_members`` separate weight
        matrices (a classic deep ensemble). ``'batchensemble'``: hidden layers
        share one weight matrix with per-member rank-1 adapters, the first
        layer's input adapter drawn with random signs (TabM); the output layer
        is always independent per member.
    categorical_cardinalities : sequence of int, default=()
        When given, the last ``len(categorical_cardinalities)`` input columns
        are integer codes, embedded by a :class:`FeatureEmbedding` before the
        first layer.
    n_periodic : int, default=0
        Number of leading input columns (numeric features) given a
        :class:`PeriodicEmbedding`.
    share_embeddings : bool, default=False
        Whether the embeddings (periodic and categorical) are shared by all
        members, or each member owns its own. Shared embeddings are one
        learned feature extractor under every member and make the members
        near-copies of one another; per-member embeddings keep them diverse
        at the cost of one embedding per member (in the CPU speed benchmark
        of ``doc/benchmarks.md``, about a third more training time).
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved).
        Source of every random draw of the module: initial parameters and
        the seeds of its dropout masks. ``None`` uses torch's global
        generator, as torch's own layers do.

    Notes
    -----
    Input ``(batch, in_features)``; output ``(batch, n_members, out_features)``.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EnsembleMLP
    >>> mlp = EnsembleMLP(6, 2, n_members=4, hidden_layer_sizes=(8, 8))
    >>> mlp(torch.randn(3, 6)).shape
    torch.Size([3, 4, 2])
    """

    def __init__(
        self,
        in_features,
        out_features,
        n_members,
        *,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        dropout=0.0,
        ensemble_type="independent",
        categorical_cardinalities=(),
        n_periodic=0,
        share_embeddings=False,
        generator=None,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
            )
        if ensemble_type not in ENSEMBLE_TYPES:
            raise ValueError(
                f"ensemble_type must be one of {ENSEMBLE_TYPES}, got {ensemble_type!r}."
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
        self.n_members = n_members
        self.ensemble_type = ensemble_type
        self.embedding = None
        if len(categorical_cardinalities) or n_periodic:
            n_numeric = in_features - len(categorical_cardinalities)
            self.embedding = FeatureEmbedding(
                n_numeric,
                categorical_cardinalities,
                n_periodic=n_periodic,
                n_members=None if share_embeddings else n_members,
                generator=generator,
            )
            in_features = self.embedding.out_features
        layers = []
        sizes = [in_features, *hidden_layer_sizes]
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if ensemble_type == "batchensemble":
                init = "random-signs" if i == 0 else "ones"
                layers.append(
                    BatchEnsembleLinear(
                        d_in, d_out, n_members, scaling_init=init, generator=generator
                    )
                )
            else:
                layers.append(EnsembleLinear(d_in, d_out, n_members, generator=generator))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(FastDropout(dropout, generator=generator))
        self.hidden = nn.Sequential(*layers)
        self.output = EnsembleLinear(sizes[-1], out_features, n_members, generator=generator)

    def forward(self, x):
        """Evaluate every member.

        Parameters
        ----------
        x : tensor of shape (batch, in_features) or (n_members, batch, in_features)
            Input rows shared by all members, or member-specific rows (each
            member reads its own mini-batch).

        Returns
        -------
        out : tensor of shape (batch, n_members, out_features)
            The output of each member (logits, or regression outputs).
        """
        if self.embedding is not None:
            x = self.embedding(x)
        out = self.output(self.hidden(x))
        return out.transpose(0, 1)  # (members, batch, out) -> (batch, members, out)


class GaussianEnsembleMLP(nn.Module):
    """An :class:`EnsembleMLP` whose members each predict a Gaussian.

    Parameters
    ----------
    in_features : int
        Number of input features.
    n_outputs : int
        Number of regression targets.
    n_members : int
        Number of ensemble members.
    min_variance : float, default=1e-6
        Variance floor of the :class:`GaussianHead`.
    **mlp_params
        Passed to :class:`EnsembleMLP` (``hidden_layer_sizes``, ``activation``,
        ``dropout``, ``ensemble_type``, ``generator``...).

    Notes
    -----
    Returns ``(mean, variance)``, each ``(batch, n_members, n_outputs)``.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import GaussianEnsembleMLP
    >>> mlp = GaussianEnsembleMLP(6, 2, n_members=4, hidden_layer_sizes=(8,))
    >>> mean, var = mlp(torch.randn(3, 6))
    >>> mean.shape, var.shape
    (torch.Size([3, 4, 2]), torch.Size([3, 4, 2]))
    """

    def __init__(self, in_features, n_outputs, n_members, *, min_variance=1e-6, **mlp_params):
        super().__init__()
        self.mlp = EnsembleMLP(in_features, 2 * n_outputs, n_members, **mlp_params)
        self.head = GaussianHead(n_outputs, min_variance=min_variance)

    def forward(self, x):
        """Predict every member's Gaussian.

        Parameters
        ----------
        x : tensor of shape (batch, in_features) or (n_members, batch, in_features)
            Input rows shared by all members, or member-specific rows (each
            member reads its own mini-batch).

        Returns
        -------
        mean : tensor of shape (batch, n_members, n_outputs)
            The mean predicted by each member.
        var : tensor of shape (batch, n_members, n_outputs)
            The variance predicted by each member, strictly positive.
        """
        return self.head(self.mlp(x))
