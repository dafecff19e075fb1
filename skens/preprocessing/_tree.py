"""Hand a table to a tree model the way tree models want it: numbers, NaN and native categories."""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import Interval, StrOptions, _fit_context
from ._tabular import _N_SPECIAL, TabularPreprocessor, check_tabular_input

__all__ = ["TreeEncoder"]


class TreeEncoder(TabularPreprocessor):
    """Encode a table for tree models: numbers kept, NaN kept, categories as codes.

    Numeric columns pass through as float64 with NaN where values are
    missing (tree models such as HistGradientBoosting, RandomForest, LightGBM
    and XGBoost handle NaN natively). Each categorical column becomes the
    index of its category among the training categories (sorted), with NaN
    for a missing value and for a category never seen in training. Columns
    keep their order. Nothing is scaled.

    With ``categories='native'`` and a DataFrame input, the categorical
    columns of at most ``max_native_categories`` categories come out as
    pandas ``category`` columns in a DataFrame, which HistGradientBoosting
    (``categorical_features='from_dtype'``), LightGBM and XGBoost
    (``enable_categorical=True``) split on natively; otherwise the output is
    one float array of codes.

    Parameters
    ----------
    categorical_features : 'from_dtype', array-like of str or int, array-like of bool, or None, \
            default='from_dtype'
        Which columns are categorical, as for
        :class:`skens.preprocessing.TabularPreprocessor`.
    categories : {'native', 'codes'}, default='native'
        ``'native'``: pandas category columns where possible (see above);
        ``'codes'``: always a float array of codes.
    max_native_categories : int, default=255
        Columns with more categories stay float codes even with
        ``categories='native'`` (HistGradientBoosting accepts at most 255).

    Attributes
    ----------
    categorical_mask_ : ndarray of shape (n_features_in_,)
        Which input columns are categorical.
    categories_ : list of ndarray
        The training categories (as strings) of each categorical column.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` had string column names.

    See Also
    --------
    skens.preprocessing.TabularPreprocessor : The encoding for neural networks.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skens.preprocessing import TreeEncoder
    >>> X = pd.DataFrame({"size": [1.0, np.nan, 3.0], "colour": ["red", "blue", None]})
    >>> encoded = TreeEncoder(categories="codes").fit_transform(X)
    >>> encoded
    array([[ 1.,  1.],
           [nan,  0.],
           [ 3., nan]])
    >>> TreeEncoder().fit_transform(X).dtypes["colour"]
    CategoricalDtype(categories=[0, 1], ordered=False, categories_dtype=int64)
    """

    _parameter_constraints = {
        "categorical_features": TabularPreprocessor._parameter_constraints["categorical_features"],
        "categories": [StrOptions({"native", "codes"})],
        "max_native_categories": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self, *, categorical_features="from_dtype", categories="native", max_native_categories=255
    ):
        self.categorical_features = categorical_features
        self.categories = categories
        self.max_native_categories = max_native_categories

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn which columns are categorical and their categories.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data; NaN marks a missing value anywhere.
        y : None
            Ignored.

        Returns
        -------
        self : TreeEncoder
            The fitted transformer.
        """
        X = check_tabular_input(self, X, reset=True)
        self.categorical_mask_ = self._resolve_categorical_mask(X)
        self.categories_ = []
        for j in np.flatnonzero(self.categorical_mask_):
            self.categories_.append(self._learn_categories(X, j)[0])
        for j in np.flatnonzero(~self.categorical_mask_):
            self._numeric_column(X, j)  # a clear error now for non-numeric values
        self._native = self.categories == "native" and hasattr(X, "columns")
        return self

    def _codes(self, X, position, j):
        """Float codes of categorical column ``j``: NaN for missing and unknown."""
        codes = super()._codes(X, position, j)  # 0 missing, 1 unknown, 2... known
        return np.where(codes >= _N_SPECIAL, codes - _N_SPECIAL, np.nan).astype(np.float64)

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Data with the training columns.

        Returns
        -------
        X_out : ndarray or DataFrame of shape (n_samples, n_features)
            Float columns (NaN for missing values and unknown categories);
            a DataFrame with ``category`` columns with ``categories='native'``
            and a DataFrame input.
        """
        check_is_fitted(self)
        X = check_tabular_input(self, X, reset=False)
        columns, native = [], []
        position = 0
        for j in range(self.n_features_in_):
            if self.categorical_mask_[j]:
                columns.append(self._codes(X, position, j))
                native.append(
                    self._native and len(self.categories_[position]) <= self.max_native_categories
                )
                position += 1
            else:
                columns.append(self._numeric_column(X, j))
                native.append(False)
        if not any(native):
            return np.column_stack(columns) if columns else np.empty((len(X), 0))
        import pandas as pd

        names = [str(name) for name in getattr(self, "feature_names_in_", X.columns)]
        data = {}
        position = 0
        for j, (name, values) in enumerate(zip(names, columns)):
            if native[j]:
                n_categories = len(self.categories_[position])
                codes = np.where(np.isnan(values), -1, values).astype(np.int64)
                data[name] = pd.Categorical.from_codes(codes, categories=np.arange(n_categories))
            else:
                data[name] = values
            position += bool(self.categorical_mask_[j])
        return pd.DataFrame(data, index=X.index)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output columns: the input columns, in order.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input column names; defaults to ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            One per column.
        """
        check_is_fitted(self, "categorical_mask_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        return np.asarray(input_features, dtype=object)
