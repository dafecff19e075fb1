"""Fast batching for skorch: whole tensors sliced per batch, no per-sample Python.

skorch's default path wraps the data in a ``Dataset`` and a torch
``DataLoader``, which indexes one sample at a time and collates the batch in
Python. For tabular data that is most of the cost of a training step. Here
the training tensors are put on the device once per fit, and a batch is one
index (or slice) operation on each tensor.
"""

import math

import numpy as np
import torch
from torch.utils.data import Dataset

from ..utils._compat import _safe_indexing

__all__ = ["ArrayDataset", "BatchIterator", "MIN_BATCH_ROWS"]

# No prediction batch holds fewer rows than this: on some CPUs a matrix product
# of 1 to 3 rows rounds differently from the same rows in a larger product, and
# a row's prediction must not depend on the rows predicted with it. (A
# prediction of fewer rows pads them to this many, then evaluates the network on
# as few as measured to be safe: _BaseDeepEnsemble._rows_alone.)
MIN_BATCH_ROWS = 8


class ArrayDataset(Dataset):
    """Features, targets and weights that are batched by whole-tensor indexing.

    Parameters
    ----------
    X : tensor, ndarray or DataFrame of shape (n_samples, n_features)
        Either a float32 tensor ready for the module (training data, already
        on the device), or raw rows that ``transform`` turns into such a
        tensor batch by batch (prediction, so that a million rows are never
        encoded all at once).
    y : tensor of shape (n_samples, ...), default=None
    weight : tensor of shape (n_samples,) or (n_samples, n_members), default=None
        Per-sample (or per-sample-and-member) loss weights.
    transform : callable, default=None
        Applied to each batch of ``X`` rows; returns a numpy array (made a
        float32 tensor), a tensor, or a dict of tensors (the keyword
        arguments of the module's forward).

    Notes
    -----
    A batch is ``(X_batch, (y_batch, weight_batch))``; skorch passes the
    second element to ``get_loss`` as ``y_true``.
    """

    def __init__(self, X, y=None, weight=None, *, transform=None):
        self.X = X
        self.y = y
        self.weight = weight
        self.transform = transform

    def __len__(self):
        return len(self.X)

    def batch(self, index):
        """Return the batch at ``index`` (a slice or a tensor of positions).

        A 2-D ``index`` of shape ``(n_members, batch)`` gives each member its
        own rows: ``X`` comes member-first, ``(n_members, batch, n_features)``,
        the targets and weights batch-first with a member axis,
        ``(batch, n_members, ...)``, as the member losses of :mod:`skens.nn`
        take them.
        """
        if isinstance(index, torch.Tensor) and index.dim() == 2:
            return self._member_batch(index)
        if self.transform is None:
            X = self.X[index]
        else:
            X = self.transform(_safe_indexing(self.X, index))
            if not isinstance(X, (dict, torch.Tensor)):
                X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        if self.y is None:
            return X, None
        weight = None if self.weight is None else self.weight[index]
        return X, (self.y[index], weight)

    def _member_batch(self, index):
        X = self.X[index]
        y = self.y[index].transpose(0, 1)
        weight = None
        if self.weight is not None:
            if self.weight.dim() == 2 and self.weight.shape[1] > 1:  # per-member weights
                member = torch.arange(len(index), device=index.device).unsqueeze(1)
                weight = self.weight[index, member]
            else:
                weight = self.weight[index].reshape(index.shape)
            weight = weight.transpose(0, 1)
        return X, (y, weight)

    def __getitem__(self, i):
        # One sample, for tools that expect a map-style Dataset; BatchIterator uses batch().
        X, target = self.batch(slice(i, i + 1))
        if target is None:
            return X[0], None
        y, weight = target
        return X[0], (y[0], None if weight is None else weight[0])


class BatchIterator:
    """Iterate over an :class:`ArrayDataset` in mini-batches.

    Used as skorch's ``iterator_train`` and ``iterator_valid``; skorch builds
    one per fit and iterates it once per epoch.

    Parameters
    ----------
    dataset : ArrayDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation at every pass.
    seed : int, default=None
        Seeds the permutation generator, so shuffling is reproducible without
        touching torch's global random state.
    n_members : int, default=None
        With ``shuffle``, give each of ``n_members`` ensemble members its own
        permutation of the rows, so that members see different mini-batches
        (see :meth:`ArrayDataset.batch`). ``None``: one permutation, every
        member sees the same batches.
    """

    def __init__(self, dataset, batch_size, *, shuffle=False, seed=None, n_members=None):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.n_members = n_members
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(int(seed))
        else:
            self.generator.seed()

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        n_samples = len(self.dataset)
        if not self.shuffle:
            # In order (prediction, validation); a last batch of fewer than
            # MIN_BATCH_ROWS rows joins the batch before it: matrix products of
            # a few rows take other kernel paths (and rounding) than larger ones.
            starts = list(range(0, n_samples, self.batch_size))
            if len(starts) > 1 and n_samples - starts[-1] < MIN_BATCH_ROWS:
                starts.pop()
            for start, stop in zip(starts, [*starts[1:], n_samples]):
                yield self.dataset.batch(slice(start, stop))
            return
        X = self.dataset.X
        if self.n_members is not None:
            # One permutation per member.
            order = torch.stack(
                [torch.randperm(n_samples, generator=self.generator) for _ in range(self.n_members)]
            ).to(X.device)
            for start in range(0, n_samples, self.batch_size):
                yield self.dataset.batch(order[:, start : start + self.batch_size])
            return
        order = torch.randperm(n_samples, generator=self.generator)
        order = order.to(X.device) if isinstance(X, torch.Tensor) else order.numpy()
        for start in range(0, n_samples, self.batch_size):
            yield self.dataset.batch(order[start : start + self.batch_size])
