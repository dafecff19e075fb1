"""A multilayer perceptron that holds all ensemble members at once."""

import torch
from torch import nn

from ._dropout import FastDropout
from ._embedding import FeatureEmbedding
from ._heads import GaussianHead
from ._linear import BatchEnsembleLinear, EnsembleLinear, SharedLinear

__all__ = ["EnsembleMLP", "GaussianEnsembleMLP", "InputViews", "ACTIVATIONS", "ENSEMBLE_TYPES"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
}

ENSEMBLE_TYPES = ("independent", "batchensemble", "shared")


class InputViews(nn.Module):
    """Per-member views of the input: feature dropout and Gaussian noise.

    Each member gets its own perturbation of the leading ``n_features``
    columns of every row: each value is set to 0 with probability
    ``dropout`` (not rescaled), then Gaussian noise of standard deviation
    ``noise`` is added. The other columns (category codes) pass unchanged.

    Parameters
    ----------
    n_features : int
        Number of leading columns perturbed.
    dropout : float, default=0.0
        Probability of zeroing each value, in [0, 1).
    noise : float, default=0.0
        Standard deviation of the added noise, non-negative.
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved).
        Seeds the module's own generators (one seed is drawn from it at
        construction), as :class:`FastDropout` does; ``None`` draws from
        torch's global generator.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import InputViews
    >>> views = InputViews(2, dropout=0.5, generator=torch.Generator().manual_seed(0))
    >>> x = torch.tensor([[1.0, 2.0, 3.0]])
    >>> out = views(x, n_members=4)
    >>> out.shape, bool((out[..., 2] == 3).all())
    (torch.Size([4, 1, 3]), True)
    """

    def __init__(self, n_features, *, dropout=0.0, noise=0.0, generator=None):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"input_dropout must be in [0, 1), got {dropout!r}.")
        if not noise >= 0.0:
            raise ValueError(f"input_noise must be non-negative, got {noise!r}.")
        self.n_features = int(n_features)
        self.dropout = dropout
        self.noise = noise
        self.seed = None
        if generator is not None:
            self.seed = int(torch.randint(2**62, (1,), generator=generator))
        self._generators = {}

    def _generator(self, device):
        """The module's own generator on ``device`` (None: torch's global one)."""
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def __getstate__(self):
        # Generators live on a device and restart from the seed after loading.
        state = self.__dict__.copy()
        state["_generators"] = {}
        return state

    def forward(self, x, n_members):
        """Draw each member's view of the rows.

        Parameters
        ----------
        x : tensor of shape (batch, in_features) or (n_members, batch, in_features)
            Rows shared by all members, or member-specific rows.
        n_members : int
            Number of members (the views of shared rows).

        Returns
        -------
        out : tensor of shape (n_members, batch, in_features)
            Each member's view; ``x`` itself when there is nothing to perturb.
        """
        if not self.n_features or (self.dropout == 0 and self.noise == 0):
            return x
        if x.dim() == 2:
            x = x.expand(n_members, *x.shape)
        generator = self._generator(x.device)
        view, rest = x[..., : self.n_features], x[..., self.n_features :]
        if self.dropout > 0:
            keep = torch.rand(view.shape, device=x.device, generator=generator) >= self.dropout
            view = view * keep.to(view.dtype)
        if self.noise > 0:
            noise = torch.randn(view.shape, device=x.device, generator=generator, dtype=view.dtype)
            view = view + noise * self.noise
        return torch.cat([view, rest], dim=-1)

    def extra_repr(self):
        return f"n_features={self.n_features}, dropout={self.dropout}, noise={self.noise}"


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
        own mask (in a ``'shared'`` trunk fed shared rows, one mask per row
        serves every member: the trunk is one network, computed once).
    ensemble_type : {'independent', 'batchensemble', 'shared'}, default='independent'
        ``'independent'``: every layer holds ``n_members`` separate weight
        matrices (a classic deep ensemble). ``'batchensemble'``: hidden layers
        share one weight matrix with per-member rank-1 adapters, the first
        layer's input adapter drawn with random signs (TabM). ``'shared'``:
        the hidden layers are one trunk shared by every member
        (:class:`SharedLinear`), and so are the embeddings (whatever
        ``share_embeddings`` says); the members are the output layers, one
        head each (a multi-head network). The output layer is always
        independent per member.
    categorical_cardinalities : sequence of int, default=()
        When given, the last ``len(categorical_cardinalities)`` input columns
        are integer codes, embedded by a :class:`FeatureEmbedding` before the
        first layer.
    n_periodic : int, default=0
        Number of leading input columns (numeric features) given a
        :class:`PeriodicEmbedding`.
    share_embeddings : bool, default=False
        Whether the embeddings (periodic and categorical) are shared by all
        members, or each member owns its own (always shared with
        ``ensemble_type='shared'``). Shared embeddings are one
        learned feature extractor under every member and make the members
        near-copies of one another; per-member embeddings keep them diverse
        at the cost of one embedding per member (in the CPU speed benchmark
        of ``doc/benchmarks.md``, about a third more training time).
    input_dropout : float, default=0.0
        Training only: each member, row and view feature (see
        ``n_view_features``) is independently set to 0, the centre of the
        scaled features, with this probability, so that each member trains on
        its own view of the data. The kept values are not rescaled: a dropped
        feature looks like a missing value imputed with the centre (as the
        preprocessing imputes), and the values a member sees in training are
        those it sees in prediction (inverted dropout's ``1 / (1 - p)`` would
        inflate them, and a periodic embedding would read other values).
        In [0, 1).
    input_noise : float, default=0.0
        Training only: Gaussian noise of this standard deviation is added to
        each member's, row's and view feature's value (after
        ``input_dropout``). Non-negative.
    n_view_features : int, default=None
        The number of leading input columns the input views apply to;
        ``None``: every real-valued column, ``in_features -
        len(categorical_cardinalities)``. The category codes are never changed.
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved).
        Source of every random draw of the module: initial parameters and
        the seeds of its dropout masks and input views. ``None`` uses
        torch's global generator, as torch's own layers do.

    Notes
    -----
    Input ``(batch, in_features)``; output ``(batch, n_members, out_features)``.

    The input views make the input member-specific during training; in
    evaluation mode they are the identity and shared rows stay shared. A
    ``'shared'`` network computes its trunk once for shared rows and only
    the heads per member.

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
        input_dropout=0.0,
        input_noise=0.0,
        n_view_features=None,
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
        n_real = in_features - len(categorical_cardinalities)
        if n_view_features is None:
            n_view_features = n_real
        if not 0 <= n_view_features <= n_real:
            raise ValueError(
                f"n_view_features must be in [0, {n_real}] (the real-valued columns), "
                f"got {n_view_features!r}."
            )
        self.n_members = n_members
        self.ensemble_type = ensemble_type
        if ensemble_type == "shared":
            share_embeddings = True
        self.embedding = None
        if len(categorical_cardinalities) or n_periodic:
            n_numeric = n_real
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
            elif ensemble_type == "shared":
                layers.append(SharedLinear(d_in, d_out, n_members, generator=generator))
            else:
                layers.append(EnsembleLinear(d_in, d_out, n_members, generator=generator))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(FastDropout(dropout, generator=generator))
        self.hidden = nn.Sequential(*layers)
        self.output = EnsembleLinear(sizes[-1], out_features, n_members, generator=generator)
        # Last, and only when on: the parameters drawn above do not depend on the views.
        self.views = None
        if input_dropout or input_noise:
            self.views = InputViews(
                n_view_features, dropout=input_dropout, noise=input_noise, generator=generator
            )

    def _hidden(self, x):
        """The hidden layers; a shared trunk computes shared rows once, ``(batch, width)``."""
        if x.dim() == 3 or self.ensemble_type != "shared":
            return self.hidden(x)
        for layer in self.hidden:
            if x.dim() == 2 and isinstance(layer, SharedLinear):
                x = layer.forward_shared(x)
            else:  # activations, dropout (one mask per row), layers made independent
                x = layer(x)
        return x

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
        if self.views is not None and self.training:
            x = self.views(x, self.n_members)
        if self.embedding is not None:
            x = self.embedding(x)
        out = self.output(self._hidden(x))
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
