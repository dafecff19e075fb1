"""The skorch training backend: one :class:`EnsembleNet` from the estimator's parts.

The estimators decide *what* to train through their hooks (see
``_BaseDeepEnsemble``: ``_get_module``, ``_get_criterion``,
``_get_optimizer``, ``_get_callbacks``); :func:`build_net` decides only how
skorch is wired: skens' datasets and batch iterators, the predefined
validation split, the ``prefix__name`` parameters.
"""

from skorch.helper import predefined_split

from ._data import ArrayDataset, BatchIterator
from ._net import EnsembleNet

__all__ = ["build_net"]


def _prefixed(prefix, params):
    return {f"{prefix}__{key}": value for key, value in params.items()}


def build_net(
    *,
    module,
    criterion,
    optimizer,
    callbacks,
    max_epochs,
    batch_size,
    valid_dataset,
    predict_batch_size,
    member_batches,
    shuffle_seed,
    seed,
    device,
    verbose,
    precision="fp32",
    net_class=EnsembleNet,
):
    """The skorch net that trains the ensemble.

    Parameters
    ----------
    module, criterion : tuple of (type, dict)
        A class and its keyword arguments.
    optimizer : tuple of (type, dict)
        A ``torch.optim.Optimizer`` class and its keyword arguments, which
        must hold the learning rate ``'lr'`` and may hold skorch's
        ``'param_groups'``.
    callbacks : list of (str, skorch.callbacks.Callback)
        Named callbacks, after skorch's defaults.
    max_epochs, batch_size : int
        Training schedule.
    valid_dataset : ArrayDataset or None
        The validation rows; ``None`` trains on everything without validation.
    predict_batch_size : int
        Rows per validation batch.
    member_batches : int or None
        Number of members, each drawing its own mini-batches; ``None``
        shares every mini-batch between the members.
    shuffle_seed : int
        Seeds the training batch iterator.
    seed : int
        Seeds the module's generator (see :class:`EnsembleNet`).
    device : str
        Torch device.
    precision : {'fp32', 'bf16'}, default='fp32'
        Arithmetic of the forward passes (see :class:`EnsembleNet`).
    verbose : int
        The estimator's verbosity: ``>= 2`` prints skorch's per-epoch table;
        below, skorch is silent (``1`` is a progress bar, a callback of the
        estimator's, see ``_BaseDeepEnsemble._get_callbacks``).
    net_class : type, default=EnsembleNet
        The net's class: :class:`EnsembleNet` or a subclass of it (HyperTab's
        sequential training overrides its training step).

    Returns
    -------
    net : EnsembleNet
        Not yet initialised.
    """
    module_class, module_params = module
    criterion_class, criterion_params = criterion
    optimizer_class, optimizer_params = optimizer
    optimizer_params = dict(optimizer_params)
    lr = optimizer_params.pop("lr")
    return net_class(
        module=module_class,
        **_prefixed("module", module_params),
        criterion=criterion_class,
        **_prefixed("criterion", criterion_params),
        optimizer=optimizer_class,
        lr=lr,
        **_prefixed("optimizer", optimizer_params),
        max_epochs=max_epochs,
        batch_size=batch_size,
        dataset=ArrayDataset,
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__seed=shuffle_seed,
        iterator_train__n_members=member_batches,
        iterator_valid=BatchIterator,
        iterator_valid__batch_size=predict_batch_size,
        train_split=None if valid_dataset is None else predefined_split(valid_dataset),
        callbacks=callbacks,
        device=device,
        verbose=verbose if verbose >= 2 else 0,
        seed=seed,
        precision=precision,
        # Silent without a table to print: skorch's PrintLog prints whenever
        # its sink is not the builtin print, which Ray's workers replace.
        **({} if verbose >= 2 else {"callbacks__print_log": None}),
    )
