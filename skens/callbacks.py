"""skorch callbacks for the deep estimators' ``callbacks`` parameter.

Importing this module imports torch and skorch (``import skens`` does not).
"""

import copy
import sys
import time

import torch
from skorch.callbacks import Callback

__all__ = ["EpochProgress", "GradientNoise", "gradient_noise_std"]


def gradient_noise_std(step, eta=0.01, gamma=0.55):
    """Standard deviation of the annealed gradient noise at optimizer step ``step``.

    Neelakantan et al.'s schedule: the variance is ``eta / (1 + step) ** gamma``.

    Parameters
    ----------
    step : int
        Optimizer step, from 0.
    eta : float, default=0.01
        Variance at the first step.
    gamma : float, default=0.55
        Decay exponent.

    Returns
    -------
    std : float
        ``sqrt(eta / (1 + step) ** gamma)``.

    Examples
    --------
    >>> from skens.callbacks import gradient_noise_std
    >>> gradient_noise_std(0, eta=0.01)
    0.1
    >>> round(gradient_noise_std(99, eta=0.01, gamma=0.55), 4)
    0.0282
    """
    return float((eta / (1.0 + step) ** gamma) ** 0.5)


class GradientNoise(Callback):
    """Annealed Gaussian noise added to every gradient (Neelakantan et al. 2015).

    After each training step's backward pass, each gradient element gets
    independent noise ``N(0, eta / (1 + t) ** gamma)`` at optimizer step
    ``t``: the members of an ensemble (their own weights, or their own
    adapters) get independent noise. Pass it to any deep estimator::

        DeepEnsembleClassifier(callbacks=[("noise", GradientNoise(eta=0.01))])

    Parameters
    ----------
    eta : float, default=0.01
        Noise variance at the first step (the paper tries 0.01, 0.3 and 1).
    gamma : float, default=0.55
        Decay exponent of the variance, as in the paper.
    seed : int or None, default=None
        Seeds the noise. ``None``: derived from the net's seed (the
        estimator's ``random_state``), so a seeded fit stays reproducible.

    Attributes
    ----------
    step_ : int
        Optimizer steps seen in the current fit.

    References
    ----------
    .. [1] A. Neelakantan, L. Vilnis, Q. V. Le, I. Sutskever, L. Kaiser,
       K. Kurach and J. Martens, "Adding Gradient Noise Improves Learning for
       Very Deep Networks", arXiv:1511.06807, 2015.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import DeepEnsembleClassifier
    >>> from skens.callbacks import GradientNoise
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = DeepEnsembleClassifier(n_members=2, hidden_layer_sizes=(16,), max_epochs=5,
    ...                              callbacks=[("noise", GradientNoise(eta=0.01))],
    ...                              random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.8
    True
    """

    def __init__(self, eta=0.01, gamma=0.55, seed=None):
        self.eta = eta
        self.gamma = gamma
        self.seed = seed

    def initialize(self):
        """Check the parameters and reset the step count (skorch calls it before a fit)."""
        if not self.eta > 0:
            raise ValueError(f"GradientNoise: eta must be positive, got {self.eta!r}.")
        if not self.gamma >= 0:
            raise ValueError(f"GradientNoise: gamma must be non-negative, got {self.gamma!r}.")
        self.step_ = 0
        self._generators = {}
        return self

    def _generator(self, net, device):
        if device not in self._generators:
            seed = self.seed
            if seed is None:
                seed = getattr(net, "seed", None)
                seed = torch.seed() if seed is None else int(seed) + 5
            self._generators[device] = torch.Generator(device=device).manual_seed(
                int(seed) % 2**63
            )
        return self._generators[device]

    def on_train_begin(self, net, **kwargs):
        """Start counting steps from 0."""
        self.step_ = 0

    def on_grad_computed(self, net, named_parameters, training=False, **kwargs):
        """Add the step's noise to every gradient (training steps only)."""
        if not training:
            return
        std = gradient_noise_std(self.step_, self.eta, self.gamma)
        with torch.no_grad():
            for _, param in named_parameters:
                if param.grad is None:
                    continue
                noise = torch.randn(
                    param.grad.shape,
                    generator=self._generator(net, param.grad.device),
                    device=param.grad.device,
                    dtype=param.grad.dtype,
                )
                param.grad.add_(noise, alpha=std)
        self.step_ += 1

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_generators", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._generators = {}


def _tqdm_class():
    """``tqdm.auto.tqdm`` (a widget in a notebook), or ``None`` when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _format_postfix(train_loss, best):
    """``train_loss=..., best_valid_loss=... (epoch e)`` (``best``: ``(loss, epoch)`` or None)."""
    parts = []
    if train_loss is not None:
        parts.append(f"train_loss={train_loss:.4g}")
    if best is not None:
        parts.append(f"best_valid_loss={best[0]:.4g} (epoch {best[1]})")
    return ", ".join(parts)


def _format_seconds(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class _Progress:
    """The display of one training run of ``total`` epochs: a tqdm bar, or one line an epoch.

    ``total > 1`` with tqdm installed: a ``tqdm.auto`` bar over the epochs
    (a widget in a notebook, with the terminal bar as fallback when the
    notebook lacks ipywidgets). Otherwise (``total == 1``, as each
    ``partial_fit`` call is, or no tqdm): one line per epoch on ``file``,
    numbered from ``first_epoch``.
    """

    def __init__(self, total, desc, file=None, leave=True, first_epoch=1, unit="epoch"):
        self.total = total
        self.unit = unit
        self.desc = desc
        self.file = sys.stderr if file is None else file
        self.first_epoch = first_epoch
        self.done = 0
        self._start = time.perf_counter()
        self._bar = None
        tqdm = _tqdm_class() if total > 1 else None
        if tqdm is not None:
            kwargs = dict(total=total, desc=desc, unit=unit, file=self.file, leave=leave,
                          dynamic_ncols=True)
            try:
                self._bar = tqdm(**kwargs)
            except ImportError:  # a notebook without ipywidgets: the terminal bar
                from tqdm.std import tqdm as std_tqdm

                self._bar = std_tqdm(**kwargs)

    def epoch(self, postfix):
        """One more epoch done; ``postfix`` sums it up."""
        self.done += 1
        if self._bar is not None:
            self._bar.set_postfix_str(postfix, refresh=False)
            self._bar.update(1)
            return
        elapsed = time.perf_counter() - self._start
        if self.total == 1:
            where = f"{self.unit} {self.first_epoch + self.done - 1}"
            timing = _format_seconds(elapsed)
        else:
            where = f"{self.unit} {self.done}/{self.total}"
            left = elapsed / self.done * (self.total - self.done)
            timing = f"{_format_seconds(elapsed)}<{_format_seconds(left)}"
        line = f"{self.desc} {where}: {postfix} [{timing}]" if postfix else (
            f"{self.desc} {where} [{timing}]"
        )
        print(line, file=self.file, flush=True)

    def close(self):
        """End the display; a run that ended before ``total`` epochs says so."""
        early = self.done < self.total
        if self._bar is not None:
            if early:
                postfix = self._bar.postfix
                note = f"stopped after {self.done} of {self.total} {self.unit}s"
                self._bar.set_postfix_str(f"{postfix}, {note}" if postfix else note,
                                          refresh=False)
            self._bar.close()
            self._bar = None
        elif early and self.total > 1:
            elapsed = _format_seconds(time.perf_counter() - self._start)
            print(f"{self.desc}: stopped after {self.done} of {self.total} {self.unit}s "
                  f"[{elapsed}]", file=self.file, flush=True)


class _NoProgress:
    """The display of a run shown nowhere."""

    def epoch(self, postfix):
        pass

    def close(self):
        pass


def _phase_progress(estimator, total, label, unit="epoch"):
    """The display of a training phase of a deep estimator outside skorch's epochs.

    A :class:`_Progress` of ``total`` steps labelled ``'<class name> (label)'``
    when the estimator shows progress (``verbose=1``, not in a member
    group's worker: see ``_BaseDeepEnsemble._get_callbacks``), else one
    that shows nothing. For SWAG's SWA epochs, say, or the member groups.
    """
    if estimator.verbose != 1 or "_group" in vars(estimator):
        return _NoProgress()
    return _Progress(int(total), f"{type(estimator).__name__} ({label})", unit=unit)


class EpochProgress(Callback):
    """A progress bar over the epochs of a fit: losses so far, elapsed and remaining time.

    A ``tqdm.auto`` bar (a widget in a notebook, a text bar in a terminal),
    on standard error, advanced at the end of each epoch. Its postfix holds
    the epoch's training loss and, with a validation split, the best
    validation loss so far and the epoch of it; tqdm adds the elapsed time
    and an estimate of the time left. Its length is the net's
    ``max_epochs`` (or ``total``); a fit stopped early (early stopping, an
    interrupt) closes it where it stopped, saying so.

    The deep estimators add it themselves with ``verbose=1``; pass it in
    ``callbacks`` to show it with other settings, or to choose its label or
    stream.

    A training run of one epoch (each ``partial_fit`` call is one) writes
    one line instead of a bar, numbered by the epochs the net has trained:
    ``DeepEnsembleClassifier epoch 5: train_loss=0.41 [00:00]``. Without
    tqdm installed, every epoch writes such a line (with ``epoch 3/200`` and
    the time left).

    Parameters
    ----------
    desc : str or None, default=None
        Label at the start of the bar; ``None``: ``'fit'``.
    total : int or None, default=None
        Epochs the bar counts to; ``None``: the net's ``max_epochs``.
    file : file-like or None, default=None
        Where the bar is written; ``None``: ``sys.stderr`` (read at the start
        of each fit). A notebook widget ignores it. Copies of the callback
        (the estimators copy theirs) write to the same stream; a pickle
        keeps ``sys.stdout`` and ``sys.stderr`` by name.
    leave : bool, default=True
        Whether the finished bar stays on screen.

    Attributes
    ----------
    n_epochs_ : int
        Epochs shown by the last (or current) training run.
    best_valid_loss_ : tuple of (float, int) or None
        The lowest validation loss of that run and its epoch (counted from 1
        in the run); ``None`` without validation.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skens import DeepEnsembleClassifier
    >>> from skens.callbacks import EpochProgress
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = DeepEnsembleClassifier(n_members=2, hidden_layer_sizes=(16,), max_epochs=3,
    ...                              callbacks=[("progress", EpochProgress(desc="cancer"))],
    ...                              random_state=0).fit(X, y)  # the bar goes to stderr
    >>> clf.n_iter_
    3
    """

    def __init__(self, desc=None, total=None, file=None, leave=True):
        self.desc = desc
        self.total = total
        self.file = file
        self.leave = leave

    def initialize(self):
        """Check the parameters and close a bar left open (skorch calls it before a fit)."""
        if self.total is not None and not (isinstance(self.total, int) and self.total >= 1):
            raise ValueError(
                f"EpochProgress: total must be a positive int or None, got {self.total!r}."
            )
        self._close()
        self.n_epochs_ = 0
        self.best_valid_loss_ = None
        return self

    def _close(self):
        progress = self.__dict__.pop("_progress", None)
        if progress is not None:
            progress.close()

    def on_train_begin(self, net, **kwargs):
        """Open the bar; the run's epochs are those the net's history gets from now on."""
        self._close()  # a run that raised never reached on_train_end
        self._first_row = len(net.history)  # partial_fit goes on with the history
        self.n_epochs_ = 0
        self.best_valid_loss_ = None
        total = int(net.max_epochs if self.total is None else self.total)
        self._progress = _Progress(
            total, "fit" if self.desc is None else self.desc, file=self.file, leave=self.leave,
            first_epoch=self._first_row + 1,
        )

    def _sync(self, net):
        """Show every epoch the history holds that the bar has not shown yet."""
        progress = self.__dict__.get("_progress")
        if progress is None:
            return
        while self._first_row + self.n_epochs_ < len(net.history):
            row = net.history[self._first_row + self.n_epochs_]
            self.n_epochs_ += 1
            valid_loss = row.get("valid_loss")
            if valid_loss is not None and (
                self.best_valid_loss_ is None or valid_loss < self.best_valid_loss_[0]
            ):
                self.best_valid_loss_ = (float(valid_loss), self.n_epochs_)
            train_loss = row.get("train_loss")
            progress.epoch(_format_postfix(
                None if train_loss is None else float(train_loss), self.best_valid_loss_
            ))

    def on_epoch_end(self, net, **kwargs):
        """Advance the bar by the epoch, with its losses."""
        self._sync(net)

    def on_train_end(self, net, **kwargs):
        """Show the epochs not shown yet (a callback that stopped training ran first), close."""
        self._sync(net)
        self._close()

    def __deepcopy__(self, memo):
        # The estimators (and sklearn's clone) deep-copy the callbacks they are
        # given: the copy writes to the same stream (a stream cannot be copied).
        clone = copy.copy(self)
        clone.__dict__.pop("_progress", None)
        memo[id(self)] = clone
        return clone

    def __sklearn_clone__(self):
        # sklearn's clone would deep-copy the parameters, the stream included.
        return type(self)(**self.get_params(deep=False))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_progress", None)
        for name in ("stdout", "stderr"):  # the process's own streams, by name
            if state.get("file") is getattr(sys, name):
                state["file"] = f"<sys.{name}>"
        return state

    def __setstate__(self, state):
        for name in ("stdout", "stderr"):
            if state.get("file") == f"<sys.{name}>":
                state["file"] = getattr(sys, name)
        self.__dict__.update(state)
