"""Exceptions and warnings raised by skens."""

__all__ = ["TrainingDivergedError"]


class TrainingDivergedError(ValueError):
    """Training produced a NaN or infinite loss and was stopped.

    Raised instead of returning a model that would predict NaN; the message
    suggests what to change (usually a lower learning rate). Subclasses
    :class:`ValueError`, so code that catches bad-input errors catches it too.

    Examples
    --------
    >>> from skens.exceptions import TrainingDivergedError
    >>> try:
    ...     raise TrainingDivergedError("the training loss is NaN at epoch 3")
    ... except ValueError as exc:
    ...     print(type(exc).__name__, exc)
    TrainingDivergedError the training loss is NaN at epoch 3
    """
