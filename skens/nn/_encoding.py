"""A fitted tabular encoding as a frozen torch module, and a network behind it.

The encoding learned on the CPU (numeric scaling, missing-value indicators,
category codes; see :class:`skens.preprocessing.TabularPreprocessor`) is
applied here with torch operations on whatever device the module lives on,
so that prediction on a GPU does not wait for the CPU, and the encoding
ships with the model and moves with ``.to(device)``.
"""

import torch
from torch import nn

__all__ = ["TabularEncoding", "EncodedNetwork"]

_SCALINGS = ("quantile", "affine", "none")
# Bounds of the quantile map (as scikit-learn's QuantileTransformer).
_BOUNDS_THRESHOLD = 1e-7


def _buffer(values, dtype):
    return torch.as_tensor(values, dtype=dtype).clone()


def _tied_references(quantiles, references):
    """For each quantile, the mid-point of the references of the quantiles equal to it.

    ``quantiles`` is ``(n_columns, n_quantiles)``, sorted along each row.
    Where a value repeats in positions ``a..b``, scikit-learn's forward
    interpolation gives ``references[b]`` and its backward one
    ``references[a]``; their mean is returned for each of ``a..b``.
    """
    n_q = quantiles.shape[1]
    first = torch.searchsorted(quantiles, quantiles, right=False).clamp_(max=n_q - 1)
    last = (torch.searchsorted(quantiles, quantiles, right=True) - 1).clamp_(min=0)
    return 0.5 * (references[last] + references[first])


class TabularEncoding(nn.Module):
    """Raw numeric values and category codes in, the network's float32 input out.

    All state is held in buffers (no parameters): the module is fitted
    elsewhere and frozen. The output columns are, in order,
    ``[scaled numerics | missing indicators | one-hot columns | codes]``.

    Parameters
    ----------
    n_numeric : int
        Number of numeric input columns.
    scaling : {'quantile', 'affine', 'none'}, default='none'
        ``'quantile'``: the map of scikit-learn's ``QuantileTransformer``
        with a normal output (``quantiles`` and ``references`` required);
        ``'affine'``: ``(x - center) / scale`` (standard or robust scaling).
    quantiles : array-like of shape (n_quantiles, n_numeric), default=None
        The fitted quantiles of each numeric column, non-decreasing.
    references : array-like of shape (n_quantiles,), default=None
        The probabilities of the quantiles.
    center, scale : array-like of shape (n_numeric,), default=None
        The affine map's parameters.
    clip_normal : tuple of float, default=(-5.199, 5.199)
        Bounds of the quantile map's normal scores (the normal quantiles of
        ``1e-7`` and ``1 - 1e-7``).
    clip : float, default=1e3
        Every scaled value is clipped to ``[-clip, clip]``.
    indicator_columns : sequence of int, default=()
        Numeric columns that get a missing-value indicator.
    onehot_sources : sequence of int, default=()
        For each one-hot output column, the code column it reads.
    onehot_levels : sequence of int, default=()
        For each one-hot output column, the code it marks.
    embedded_columns : sequence of int, default=()
        Code columns passed on as (float) codes, last.
    dtype : torch.dtype, default=torch.float64
        Precision of the numeric map. float64 keeps inputs whose values are
        large next to the spacing of their quantiles (timestamps, ids)
        exact; the output is float32 in any case.

    Notes
    -----
    ``forward(numeric, codes)``: ``numeric`` is ``(batch, n_numeric)`` with
    NaN for missing values, ``codes`` is ``(batch, n_codes)`` integer codes
    (see :class:`skens.preprocessing.TabularPreprocessor`). A missing numeric
    value is scaled as 0.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import TabularEncoding
    >>> encoding = TabularEncoding(1, scaling="affine", center=[1.0], scale=[2.0],
    ...                            indicator_columns=[0])
    >>> encoding(torch.tensor([[3.0], [float("nan")]]), torch.zeros(2, 0, dtype=torch.long))
    tensor([[1., 0.],
            [0., 1.]])
    """

    def __init__(
        self,
        n_numeric,
        *,
        scaling="none",
        quantiles=None,
        references=None,
        center=None,
        scale=None,
        clip_normal=(-5.199337582605575, 5.19933758270342),
        clip=1e3,
        indicator_columns=(),
        onehot_sources=(),
        onehot_levels=(),
        embedded_columns=(),
        dtype=torch.float64,
    ):
        super().__init__()
        if scaling not in _SCALINGS:
            raise ValueError(f"scaling must be one of {_SCALINGS}, got {scaling!r}.")
        self.n_numeric = int(n_numeric)
        self.scaling = scaling
        self.clip = float(clip)
        self.clip_normal = tuple(float(c) for c in clip_normal)
        self.dtype = dtype
        if scaling == "quantile":
            if quantiles is None or references is None:
                raise ValueError("scaling='quantile' needs quantiles and references.")
            quantiles = _buffer(quantiles, dtype)
            if quantiles.dim() != 2 or quantiles.shape[1] != self.n_numeric:
                raise ValueError(
                    f"quantiles must have shape (n_quantiles, {self.n_numeric}), "
                    f"got {tuple(quantiles.shape)}."
                )
            # (n_numeric, n_quantiles), contiguous: one sorted row per column.
            quantiles = quantiles.T.contiguous()
            references = _buffer(references, dtype)
            self.register_buffer("quantiles", quantiles)
            self.register_buffer("references", references)
            self.register_buffer("tied_references", _tied_references(quantiles, references))
        elif scaling == "affine":
            self.register_buffer("center", _buffer(center, dtype).reshape(self.n_numeric))
            self.register_buffer("scale", _buffer(scale, dtype).reshape(self.n_numeric))
        self.register_buffer("indicator_columns", _buffer(indicator_columns, torch.long))
        self.register_buffer("onehot_sources", _buffer(onehot_sources, torch.long))
        self.register_buffer("onehot_levels", _buffer(onehot_levels, torch.long))
        self.register_buffer("embedded_columns", _buffer(embedded_columns, torch.long))

    @property
    def out_features(self):
        """Number of output columns."""
        return (
            self.n_numeric
            + len(self.indicator_columns)
            + len(self.onehot_sources)
            + len(self.embedded_columns)
        )

    def _quantile_map(self, x):
        """``QuantileTransformer(output_distribution='normal').transform``, column-wise.

        ``x`` is ``(n_numeric, batch)``. scikit-learn averages a forward and
        a backward linear interpolation (``np.interp``); the two differ only
        where ``x`` equals a repeated quantile, where the average is the
        mid-point of the repeated quantiles' references (``tied_references``):
        so one search serves both. Then the bounds, then the normal quantile
        function.
        """
        q, r = self.quantiles, self.references
        n_q = q.shape[1]
        if n_q == 1:
            u = torch.full_like(x, float(r[0]))
        else:
            # q[j] <= x < q[j + 1], as np.interp(x, q, r).
            j = (torch.searchsorted(q, x, right=True) - 1).clamp_(0, n_q - 2)
            qj, qj1 = q.gather(1, j), q.gather(1, j + 1)
            rj, rj1 = r[j], r[j + 1]
            u = (rj1 - rj) / (qj1 - qj) * (x - qj) + rj
            u = torch.where(x == qj, self.tied_references.gather(1, j), u)
            u = torch.where(x < q[:, :1], r[0], u)
            u = torch.where(x >= q[:, -1:], r[-1], u)
        u = torch.where(x + _BOUNDS_THRESHOLD > q[:, -1:], 1.0, u)
        u = torch.where(x - _BOUNDS_THRESHOLD < q[:, :1], 0.0, u)
        return torch.special.ndtri(u).clamp_(*self.clip_normal)

    def forward(self, numeric, codes):
        """Encode a batch.

        Parameters
        ----------
        numeric : tensor of shape (batch, n_numeric)
            Raw numeric values; NaN marks a missing value.
        codes : tensor of shape (batch, n_codes)
            Integer category codes.

        Returns
        -------
        encoded : tensor of shape (batch, out_features), float32
            ``[scaled numerics | missing indicators | one-hot columns | codes]``, on the
            inputs' device.
        """
        device = numeric.device if self.n_numeric else codes.device
        out = torch.empty(len(codes), self.out_features, device=device)
        n_numeric, n_indicators = self.n_numeric, len(self.indicator_columns)
        if n_numeric:
            x = numeric.to(self.dtype)
            missing = torch.isnan(x)
            x = x.masked_fill(missing, 0.0)
            if self.scaling == "quantile":
                scaled = self._quantile_map(x.T.contiguous()).T
            elif self.scaling == "affine":
                scaled = (x - self.center) / self.scale
            else:
                scaled = x
            out[:, :n_numeric] = scaled.masked_fill_(missing, 0.0).clamp_(-self.clip, self.clip)
            out[:, n_numeric : n_numeric + n_indicators] = missing[:, self.indicator_columns]
        start = n_numeric + n_indicators
        n_onehot = len(self.onehot_sources)
        if n_onehot:
            out[:, start : start + n_onehot] = codes[:, self.onehot_sources] == self.onehot_levels
        if len(self.embedded_columns):
            out[:, start + n_onehot :] = codes[:, self.embedded_columns]
        return out


class EncodedNetwork(nn.Module):
    """A network with a frozen :class:`TabularEncoding` as its first stage.

    Called with an encoded float32 tensor, it runs the network alone (the
    training data are encoded once per fit); called with ``numeric=`` and
    ``codes=``, it encodes them first.

    Parameters
    ----------
    network : type
        The network's class (e.g. :class:`~skens.nn.EnsembleMLP`).
    network_params : dict
        Its keyword arguments.
    encoding : dict or None, default=None
        Keyword arguments of the :class:`TabularEncoding`; ``None``: inputs
        arrive encoded.
    generator : torch.Generator, default=None
        Passed to the network (its initial weights).

    Examples
    --------
    >>> import torch
    >>> from skens.nn import EncodedNetwork, EnsembleMLP
    >>> model = EncodedNetwork(
    ...     EnsembleMLP, dict(in_features=2, out_features=3, n_members=4),
    ...     encoding=dict(n_numeric=2, scaling="affine", center=[0.0, 0.0],
    ...                   scale=[1.0, 1.0]))
    >>> model(numeric=torch.randn(5, 2), codes=torch.zeros(5, 0, dtype=torch.long)).shape
    torch.Size([5, 4, 3])
    """

    def __init__(self, network, network_params, encoding=None, generator=None):
        super().__init__()
        params = dict(network_params)
        if generator is not None:
            params["generator"] = generator
        self.network = network(**params)
        self.encoding = None if encoding is None else TabularEncoding(**encoding)

    def forward(self, X=None, *, numeric=None, codes=None):
        """The network's output for encoded ``X``, or for raw ``numeric`` and ``codes``.

        Parameters
        ----------
        X : tensor of shape (batch, n_features) or (n_members, batch, n_features), default=None
            Encoded float32 inputs (member-specific rows in training).
        numeric : tensor of shape (batch, n_numeric), default=None
            Raw numeric values (NaN: missing), when ``X`` is not given.
        codes : tensor of shape (batch, n_codes), default=None
            Integer category codes, with ``numeric``.

        Returns
        -------
        out : tensor or tuple of tensors
            The network's output, ``(batch, n_members, ...)``.
        """
        if X is None:
            if self.encoding is None:
                raise ValueError("This network has no encoding stage; pass encoded inputs X.")
            X = self.encoding(numeric, codes)
        return self.network(X)
