"""The skorch net behind the estimators, and its callbacks.

skorch runs the fit loop; skens only overrides the smallest hooks:
``get_loss`` (member-averaged loss for training, the ensemble's loss for
validation, per-sample weights carried with the batch) and a few callbacks.
"""

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import get_len

from ..exceptions import TrainingDivergedError
from ..nn import FeatureEmbedding

__all__ = ["EnsembleNet", "FiniteLossCheck", "FillUnseenEmbeddings", "ValidationScore"]


class EnsembleNet(NeuralNet):
    """A skorch ``NeuralNet`` whose module holds every ensemble member.

    The criterion must be a :class:`skens.nn.EnsembleCriterion`. Batches come
    from :class:`skens.deep._data.BatchIterator` as ``(X, (y, weight))``.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`skorch.NeuralNet`.
    seed : int, default=None
        Seeds a generator the module draws all its randomness from (initial
        weights, dropout masks; see :class:`skens.nn.EnsembleMLP`), so that
        a fit never reads or moves torch's global random state and
        concurrent fits in threads are reproducible. ``None`` leaves the
        module on torch's global generator.
    precision : {'fp32', 'bf16'}, default='fp32'
        ``'bf16'`` runs the module's forward under ``torch.autocast`` with
        bfloat16 on the net's device; its outputs are cast back to float32,
        so the losses (and everything after) are computed in float32.
    """

    def __init__(self, *args, seed=None, precision="fp32", **kwargs):
        super().__init__(*args, **kwargs)
        self.seed = seed
        self.precision = precision

    def infer(self, x, **fit_params):
        if self.precision == "fp32":
            return super().infer(x, **fit_params)
        device_type = torch.device(self.device).type
        with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
            out = super().infer(x, **fit_params)
        if isinstance(out, tuple):
            return tuple(t.float() for t in out)
        return out.float()

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        if self.seed is not None and isinstance(self.module, type):
            # Only a module built here can draw from the generator; an instance
            # passed in keeps the parameters it has.
            kwargs["generator"] = torch.Generator().manual_seed(int(self.seed))
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    def get_params_for_optimizer(self, prefix, named_parameters):
        """skorch's optimizer arguments, with parameter groups of equal options merged.

        skorch makes one group per ``param_groups`` pattern; patterns that set
        the same options (``'*bias'``, ``'*.r'``, ``'*.s'``: no weight decay)
        become one group, so each optimizer step runs once per distinct set
        of options. An Adam-type update of a parameter reads only that
        parameter and its group's options: the updates are unchanged.
        """
        (groups,), kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        merged = {}
        for group in groups:
            options = {key: value for key, value in group.items() if key != "params"}
            key = repr(sorted(options.items()))
            if key in merged:
                merged[key]["params"].extend(group["params"])
            else:
                merged[key] = {**options, "params": list(group["params"])}
        return (list(merged.values()),), kwargs

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop, with the batch losses read from the device once per epoch.

        skorch records each batch's loss with ``loss.item()``, which on a GPU
        waits for the step to finish, so the host cannot queue the next
        steps' kernels meanwhile. Here the losses stay on the device until
        the last batch, then go to the history in one transfer, before the
        epoch-end callbacks (which average them) run. Callbacks that read a
        batch's loss from the history during the epoch are not supported.
        """
        if iterator is None:
            return
        batches = self.history[-1]["batches"]
        first = len(batches)
        losses, batch_count = [], 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            self.history.record_batch(prefix + "_batch_size", get_len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        if losses:
            values = torch.stack(losses).float().cpu().tolist()
            # skorch's own on_batch_begin opens one history row per batch, in order.
            for row, value in zip(batches[first : first + batch_count], values):
                row[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", batch_count)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        # skorch records len(X) as the batch size; member-specific batches are
        # (n_members, batch, features), so record the rows, which weight the
        # epoch's mean training loss.
        if training and batch is not None and batch[0].dim() == 3:
            self.history.record_batch("train_batch_size", batch[0].shape[1])

    def get_loss(self, y_pred, y_true, X=None, training=False):
        target, weight = y_true
        target = target.to(self.device, non_blocking=True)
        if weight is not None:
            weight = weight.to(self.device, non_blocking=True)
        if training:
            return self.criterion_(y_pred, target, weight)
        return self.criterion_.ensemble_loss(y_pred, target, weight)


class FiniteLossCheck(Callback):
    """Stop with a clear error as soon as an epoch's loss is NaN or infinite."""

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        for key in ("train_loss", "valid_loss"):
            if key in row and not np.isfinite(row[key]):
                raise TrainingDivergedError(
                    f"Training diverged: the {key.replace('_', ' ')} became {row[key]} at "
                    f"epoch {row['epoch']}. Try a lower learning rate (lr={net.lr!r} now), "
                    "a smaller network, or check the inputs for extreme values."
                )


class ValidationScore(Callback):
    """Record the ensemble's score (accuracy, R²...) on the validation split each epoch.

    Reuses the validation forward passes skorch already ran; the score goes to
    the history under ``'valid_score'``.

    Parameters
    ----------
    task : skens.nn.EnsembleTask
        Forms the ensemble's point predictions
        (:meth:`~skens.nn.EnsembleTask.point_prediction`) and scores them
        (:meth:`~skens.nn.EnsembleTask.score`).
    """

    def __init__(self, task):
        self.task = task

    def on_epoch_begin(self, net, **kwargs):
        self.batches_ = []

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if training:
            return
        _, (target, weight) = batch
        prediction = self.task.point_prediction(y_pred)
        self.batches_.append((prediction, target, weight))

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if not self.batches_:
            return
        prediction, target, weight = (
            None if parts[0] is None else torch.cat(parts) for parts in zip(*self.batches_)
        )
        self.batches_ = []
        net.history.record("valid_score", self.task.score(prediction, target, weight))


class FillUnseenEmbeddings(Callback):
    """Keep the embeddings of codes absent from training at the mean of the others.

    Applied before each epoch's validation pass (so early stopping judges the
    model as it will predict) and at the end of training; see
    :meth:`skens.nn.FeatureEmbedding.fill_unseen`.

    Parameters
    ----------
    seen : list of ndarray of bool
        One mask per categorical code column: the codes present in training.
    """

    def __init__(self, seen):
        self.seen = seen

    def _fill(self, net):
        for module in net.module_.modules():
            if isinstance(module, FeatureEmbedding):
                module.fill_unseen(self.seen)

    def on_epoch_begin(self, net, **kwargs):
        self.pending_ = True

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training and self.pending_:
            self._fill(net)
            self.pending_ = False

    def on_train_end(self, net, **kwargs):
        self._fill(net)
