"""Resolve the ``device`` parameter of the estimators to a torch device string."""

__all__ = ["resolve_device"]


def resolve_device(device):
    """Turn ``'auto' | 'cpu' | 'cuda' | 'cuda:N'`` into a usable device string.

    Parameters
    ----------
    device : str or torch.device
        ``'auto'`` picks CUDA when it is available, else the CPU.

    Returns
    -------
    device : str
        ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.

    Raises
    ------
    ValueError
        If the string is not a device torch knows, or names a CUDA device this
        machine does not have.

    Examples
    --------
    >>> from skens.utils import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    import torch  # here, so that skens.utils (used by skens.metrics) needs no torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}."
        ) from exc
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this "
                "machine; use device='auto' or device='cpu'."
            )
        index = 0 if parsed.index is None else parsed.index
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) are available."
            )
    elif parsed.type != "cpu":
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}."
        )
    return str(parsed)
