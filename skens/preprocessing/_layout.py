"""The column layout of an encoded table: which output columns hold what."""

from dataclasses import dataclass

__all__ = ["ColumnLayout"]


@dataclass(frozen=True)
class ColumnLayout:
    """Blocks of an encoded table, in column order: numeric, indicators, one-hot, codes.

    :class:`TabularPreprocessor` publishes its output's layout as
    ``column_layout_``; a network reads it to know which columns to give a
    periodic embedding (the leading numeric ones) and which hold integer
    codes to embed (the trailing ones). Every block may be empty.

    Parameters
    ----------
    n_numeric : int, default=0
        Number of scaled numeric columns, first.
    n_indicators : int, default=0
        Number of missing-value indicator columns (0 or 1), after them.
    n_onehot : int, default=0
        Number of one-hot columns (0 or 1) of categorical features, after
        the indicators.
    code_cardinalities : tuple of int, default=()
        Number of codes of each trailing integer-code column, in column
        order; a column's codes are ``0, ..., cardinality - 1``.

    See Also
    --------
    TabularPreprocessor : Publishes the layout of its output.

    Examples
    --------
    >>> from skens.preprocessing import ColumnLayout
    >>> layout = ColumnLayout(n_numeric=3, n_indicators=1, n_onehot=4,
    ...                       code_cardinalities=(10, 7))
    >>> layout.n_columns, layout.n_real
    (10, 8)
    >>> layout.codes
    slice(8, 10, None)
    """

    n_numeric: int = 0
    n_indicators: int = 0
    n_onehot: int = 0
    code_cardinalities: tuple = ()

    def __post_init__(self):
        for name in ("n_numeric", "n_indicators", "n_onehot"):
            value = getattr(self, name)
            if int(value) != value or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
            object.__setattr__(self, name, int(value))
        cardinalities = tuple(int(c) for c in self.code_cardinalities)
        if any(c < 1 for c in cardinalities):
            raise ValueError(
                f"code_cardinalities must be positive integers, got {self.code_cardinalities!r}."
            )
        object.__setattr__(self, "code_cardinalities", cardinalities)

    @property
    def n_codes(self):
        """Number of trailing integer-code columns.

        Returns
        -------
        n_codes : int
            ``len(code_cardinalities)``.
        """
        return len(self.code_cardinalities)

    @property
    def n_real(self):
        """Number of leading real-valued columns: numeric, indicators and one-hot.

        Returns
        -------
        n_real : int
            ``n_numeric + n_indicators + n_onehot``.
        """
        return self.n_numeric + self.n_indicators + self.n_onehot

    @property
    def n_columns(self):
        """Number of columns in all.

        Returns
        -------
        n_columns : int
            ``n_real + n_codes``.
        """
        return self.n_real + self.n_codes

    @property
    def numeric(self):
        """Slice of the scaled numeric columns.

        Returns
        -------
        numeric : slice
            ``slice(0, n_numeric)``.
        """
        return slice(0, self.n_numeric)

    @property
    def indicators(self):
        """Slice of the missing-value indicator columns.

        Returns
        -------
        indicators : slice
            The ``n_indicators`` columns after the numeric ones.
        """
        return slice(self.n_numeric, self.n_numeric + self.n_indicators)

    @property
    def onehot(self):
        """Slice of the one-hot columns.

        Returns
        -------
        onehot : slice
            The ``n_onehot`` columns after the indicators.
        """
        return slice(self.n_numeric + self.n_indicators, self.n_real)

    @property
    def codes(self):
        """Slice of the trailing integer-code columns.

        Returns
        -------
        codes : slice
            The last ``n_codes`` columns.
        """
        return slice(self.n_real, self.n_columns)
