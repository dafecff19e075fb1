"""Turn a mixed-type table into the numbers a neural network needs."""

import contextlib
import contextvars
import numbers
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ..utils._compat import Interval, StrOptions, _fit_context, validate_data
from ..utils._validation import is_missing
from ._layout import ColumnLayout

__all__ = ["TabularPreprocessor", "check_tabular_input"]

# Scaled numeric values are clipped to this range: numerical safety for inputs
# far outside the training range, not a modelling choice.
_CLIP = 1e3
_MISSING, _UNKNOWN, _N_SPECIAL = 0, 1, 2
_TIME_DTYPES = ("datetime", "timedelta", "period", "interval")

# The preprocessor whose input rows its estimator has just validated (see
# _rows_checked_for): check_tabular_input then leaves out the feature-name
# check, so that an array passed to a model fitted on a DataFrame warns once,
# from the estimator, and not a second time from its preprocessor. A context
# variable, so that other threads and other preprocessors are not affected.
_CHECKED_FOR = contextvars.ContextVar("skens_rows_checked_for", default=None)


@contextlib.contextmanager
def _rows_checked_for(preprocessor):
    """Within: ``preprocessor``'s input rows were validated by the estimator that owns it."""
    token = _CHECKED_FOR.set(preprocessor)
    try:
        yield
    finally:
        _CHECKED_FOR.reset(token)


def _is_dataframe(X):
    # The class first: on a pandas DataFrame, ``hasattr(X, "dtypes")`` builds a
    # Series (tens of microseconds, many times per prediction of one row).
    names = ("columns", "iloc", "dtypes")
    return all(hasattr(type(X), n) for n in names) or all(hasattr(X, n) for n in names)


def _category_keys(values):
    """Map a column's values to string keys; missing values become None.

    Numbers are written canonically (``1``, ``1.0`` and ``True`` -> ``'1'``,
    ``'1'`` and ``'True'``), so a column read as int at fit time and as float
    at predict time still matches.
    """
    values = np.asarray(values)
    if values.dtype.kind == "b":
        return np.where(values, "True", "False").astype(object)
    if values.dtype.kind in "iu":
        return values.astype(str).astype(object)
    if values.dtype.kind == "f":
        keys = np.empty(len(values), dtype=object)
        missing = np.isnan(values)
        integral = ~missing & (np.mod(values, 1) == 0) & (np.abs(values) < 2**53)
        keys[integral] = values[integral].astype(np.int64).astype(str)
        other = ~missing & ~integral
        keys[other] = values[other].astype(str)
        return keys
    keys = np.empty(len(values), dtype=object)
    missing = is_missing(values)
    for i in np.flatnonzero(~missing):
        v = values[i]
        if isinstance(v, (bool, np.bool_)):
            keys[i] = str(bool(v))
        elif isinstance(v, numbers.Real) and float(v).is_integer() and abs(v) < 2**53:
            keys[i] = str(int(v))
        else:
            keys[i] = str(v)
    return keys


# pandas' inferred kinds of an object column whose values can be factorised by
# hashing without merging values whose keys differ (True == 1 in Python, but
# their keys are 'True' and '1'): these never mix booleans with numbers.
_HASHABLE_KINDS = ("string", "empty", "boolean", "integer", "floating", "mixed-integer-float")


def _factorize_keys(values):
    """Keys of a column's distinct values, and each row's position among them.

    Returns ``(keys, inverse)``: ``keys`` is a str array of the distinct
    non-missing values' keys (see :func:`_category_keys`, possibly repeated:
    ``1`` and ``1.0`` share a key), ``inverse`` the int64 position of each
    row's value in ``keys``, -1 where the value is missing. Vectorised (pandas'
    hash table, or numpy for numbers): no Python runs per row, only per
    distinct value, except for object columns that mix booleans with numbers,
    which fall back to one key per row.
    """
    values = np.asarray(values)
    if values.dtype.kind in "fiub":
        if values.dtype.kind == "f":
            missing = np.isnan(values)
            uniques, inverse = np.unique(values[~missing], return_inverse=True)
            full = np.full(len(values), -1, dtype=np.int64)
            full[~missing] = inverse
            return _category_keys(uniques).astype(str), full
        uniques, inverse = np.unique(values, return_inverse=True)
        return _category_keys(uniques).astype(str), inverse.astype(np.int64).reshape(-1)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        pd = None
    if pd is not None and pd.api.types.infer_dtype(values, skipna=True) in _HASHABLE_KINDS:
        inverse, uniques = pd.factorize(values, use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
        return _category_keys(uniques).astype(str), inverse.astype(np.int64)
    keys = _category_keys(values)
    missing = keys == None  # noqa: E711 - elementwise test on an object array
    uniques, inverse = np.unique(keys[~missing].astype(str), return_inverse=True)
    full = np.full(len(values), -1, dtype=np.int64)
    full[~missing] = inverse
    return uniques, full


def _frame_column(X, j):
    """Column ``j`` of DataFrame ``X`` as a Series.

    By label when the labels are unique: several times faster than ``X.iloc[:, j]``.
    """
    columns = X.columns
    return X[columns[j]] if columns.is_unique else X.iloc[:, j]


def _pandas_categorical(column):
    """``(categories, codes)`` of a pandas category column, else ``None``."""
    if str(column.dtype) != "category":
        return None
    return np.asarray(column.cat.categories, dtype=object), np.asarray(
        column.cat.codes, dtype=np.int64
    )


def _check_n_features(estimator, X):
    """The error of :func:`sklearn.utils.validation.validate_data` for a wrong feature count."""
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )


def check_tabular_input(estimator, X, *, reset):
    """Validate a table for ``estimator``; return it as a DataFrame or a 2-D array.

    Rejects sparse input, 1-D and 3-D arrays, complex numbers and empty data
    with a clear error, and records (``reset=True``) or checks
    (``reset=False``) ``n_features_in_`` and ``feature_names_in_`` as
    :func:`sklearn.utils.validation.validate_data` does. Values are not
    converted: a DataFrame keeps its dtypes, and NaN is allowed.

    Parameters
    ----------
    estimator : estimator instance
        Receives ``n_features_in_`` and ``feature_names_in_``.
    X : {array-like, DataFrame} of shape (n_samples, n_features)
        The input.
    reset : bool
        Record the features (in ``fit``) rather than check them.

    Returns
    -------
    X : DataFrame or ndarray of shape (n_samples, n_features)
        A DataFrame as it is; anything else as a 2-D numpy array of its own
        dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> from skens.preprocessing import check_tabular_input
    >>> estimator = BaseEstimator()
    >>> check_tabular_input(estimator, [[1.0, np.nan], [2.0, 3.0]], reset=True)
    array([[ 1., nan],
           [ 2.,  3.]])
    >>> estimator.n_features_in_
    2
    """
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{type(estimator).__name__} does not support sparse input; convert it with "
            "X.toarray() (or pass a dense DataFrame)."
        )
    if (
        not reset
        and type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype.kind in "fiu"
        and 0 not in X.shape
        and not hasattr(estimator, "feature_names_in_")
        and hasattr(estimator, "n_features_in_")
    ):
        # A plain numeric array for an estimator fitted without feature names:
        # all ``check_array`` and ``validate_data`` would do is count the
        # features. (A single-row prediction's cost, benchmarks/bench_latency.py.)
        _check_n_features(estimator, X)
        return X
    if not _is_dataframe(X):
        X = check_array(X, dtype=None, ensure_all_finite=False)
    elif 0 in X.shape:
        what = "feature(s)" if X.shape[1] == 0 else "sample(s)"
        raise ValueError(
            f"Found array with 0 {what} (shape={X.shape}) while a minimum of 1 is required."
        )
    if not reset and _CHECKED_FOR.get() is estimator:
        # The owning estimator has checked these rows' features (and warned).
        _check_n_features(estimator, X)
        return X
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    return X


class TabularPreprocessor(TransformerMixin, BaseEstimator):
    """Encode a table of numeric, categorical, boolean and missing values.

    Numeric columns are scaled (quantile, standard or robust scaling), their
    missing values replaced by the centre of the scaled feature (0) and
    flagged in a missing-indicator column. Categorical columns become integer
    codes for learned embeddings — ``0`` for a missing value, ``1`` for a
    category never seen in training, ``2...`` for the training categories —
    or, with few categories, one-hot columns. The output is one float matrix
    laid out as ``[numeric | missing indicators | one-hot | codes]``, a
    layout published as ``column_layout_``: numeric columns come first, in
    input order, and the integer codes last.

    The deep-ensemble estimators use it internally; it is also a regular
    scikit-learn transformer (``get_feature_names_out``, ``set_output``).

    Parameters
    ----------
    categorical_features : 'from_dtype', array-like of str, int or bool, or None, \
            default='from_dtype'
        Which columns are categorical. ``'from_dtype'``: in a DataFrame, the
        columns of dtype ``category``, ``object``, string or ``bool``; a numpy
        array has none. Otherwise column names, column indices or a boolean
        mask with one entry per column. ``None``: no categorical column.

    numeric_scaling : {'quantile', 'standard', 'robust'}, default='quantile'
        ``'quantile'`` maps each numeric column through its empirical
        quantiles onto a standard normal (robust to skew and outliers);
        ``'standard'`` removes the mean and divides by the standard deviation;
        ``'robust'`` removes the median and divides by the interquartile
        range. Scaled values are clipped to [-1000, 1000].

    max_onehot_cardinality : int, default=64
        Categorical columns with at most this many training categories are
        one-hot encoded (plus a column for missing values when training had
        any; an unseen category is all zeros); the others get an integer code
        for a learned embedding. ``0`` embeds every categorical column. The
        default comes from ``benchmarks/study_preprocessing.py``: one-hot
        matched or beat embeddings on every benchmark column (up to 41
        categories), and embeddings keep columns of hundreds or thousands of
        categories compact.

    random_state : int, RandomState instance or None, default=None
        Seeds the subsample the quantile scaling is fitted on (above 10,000
        rows).

    Attributes
    ----------
    n_features_in_ : int
        Number of input columns.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Input column names, when ``X`` had string column names.

    categorical_mask_ : ndarray of bool of shape (n_features_in_,)
        Which input columns are treated as categorical.

    categories_ : list of ndarray
        Training categories (as strings) of each categorical column.

    scaler_ : transformer or None
        The fitted numeric scaler; ``None`` without numeric columns.

    n_numeric_out_ : int
        Number of leading output columns that are real-valued (scaled
        numerics, missing indicators and one-hot columns).

    embedding_cardinalities_ : list of int
        Number of codes (categories + missing + unknown) of each trailing
        code column, in output order.

    column_layout_ : ColumnLayout
        Sizes of the output's blocks, in column order: ``n_numeric`` scaled
        numeric columns (one per numeric input column), ``n_indicators``
        missing indicators, ``n_onehot`` one-hot columns, and the trailing
        code columns with their ``code_cardinalities`` (equal to
        ``embedding_cardinalities_``). A network may rely on it: it is the
        contract between this encoding and the deep estimators.

    See Also
    --------
    sklearn.compose.ColumnTransformer : Compose your own preprocessing.
    sklearn.preprocessing.QuantileTransformer : The numeric scaling used.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skens.preprocessing import TabularPreprocessor
    >>> X = pd.DataFrame({"age": [25.0, np.nan, 40.0, 31.0],
    ...                   "city": ["Oslo", "Rome", None, "Bergen"]})
    >>> pre = TabularPreprocessor(max_onehot_cardinality=2).fit(X)
    >>> pre.get_feature_names_out().tolist()
    ['age', 'age_missing', 'city_code']
    >>> pre.embedding_cardinalities_  # 3 cities, missing, unknown
    [5]
    >>> pre.column_layout_
    ColumnLayout(n_numeric=1, n_indicators=1, n_onehot=0, code_cardinalities=(5,))
    >>> pre.transform(pd.DataFrame({"age": [25.0], "city": ["Paris"]}))[0, 1:]
    array([0., 1.])
    """

    _parameter_constraints = {
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "numeric_scaling": [StrOptions({"quantile", "standard", "robust"})],
        "max_onehot_cardinality": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        categorical_features="from_dtype",
        numeric_scaling="quantile",
        max_onehot_cardinality=64,
        random_state=None,
    ):
        self.categorical_features = categorical_features
        self.numeric_scaling = numeric_scaling
        self.max_onehot_cardinality = max_onehot_cardinality
        self.random_state = random_state

    def _column(self, X, j, column=None):
        """Column ``j`` as a numpy array (object dtype keeps mixed values).

        ``column``: the DataFrame's column ``j`` as a Series, when already fetched.
        """
        if not _is_dataframe(X):
            return X[:, j]
        column = _frame_column(X, j) if column is None else column
        dtype = column.dtype
        self._reject_time_dtype(dtype, j)
        kind = getattr(dtype, "kind", "O")
        if isinstance(dtype, np.dtype) and kind in "fiubc":
            return column.to_numpy()
        if kind in "fiu":  # pandas nullable Int64 / Float64 with pd.NA
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        return column.to_numpy(dtype=object)

    def _reject_time_dtype(self, dtype, j):
        if getattr(dtype, "kind", None) in ("m", "M") or str(dtype).startswith(_TIME_DTYPES):
            raise TypeError(
                f"Column {self._column_name(j)} has dtype {dtype}, which is not supported; "
                "convert it to numbers (e.g. days since a date) first."
            )

    def _column_name(self, j):
        names = getattr(self, "feature_names_in_", None)
        return repr(str(names[j])) if names is not None else str(j)

    def _resolve_categorical_mask(self, X):
        n_features = X.shape[1]
        spec = self.categorical_features
        if spec is None:
            return np.zeros(n_features, dtype=bool)
        if isinstance(spec, str):  # 'from_dtype'
            if not _is_dataframe(X):
                return np.zeros(n_features, dtype=bool)
            return np.array([self._is_categorical_dtype(dtype) for dtype in X.dtypes])
        spec = np.asarray(spec)
        if spec.size == 0 and spec.ndim == 1:  # an empty list: no categorical column
            return np.zeros(n_features, dtype=bool)
        if spec.dtype.kind == "b":
            if spec.shape != (n_features,):
                raise ValueError(
                    "categorical_features as a boolean mask must have one entry per feature "
                    f"({n_features}), got shape {spec.shape}."
                )
            return spec.astype(bool)
        mask = np.zeros(n_features, dtype=bool)
        if spec.dtype.kind in "OUS":
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError(
                    "categorical_features names columns by string, but X has no string "
                    "column names; pass column indices or a boolean mask instead."
                )
            unknown = sorted(set(map(str, spec)) - set(names))
            if unknown:
                raise ValueError(f"categorical_features names unknown columns: {unknown}.")
            mask[np.isin(names, spec.astype(str))] = True
            return mask
        if spec.dtype.kind not in "iu":
            raise ValueError(
                "categorical_features must be 'from_dtype', None, column names, column indices "
                f"or a boolean mask, got {self.categorical_features!r}."
            )
        if spec.size and (spec.min() < -n_features or spec.max() >= n_features):
            raise ValueError(
                f"categorical_features indices must be in [-{n_features}, {n_features - 1}], "
                f"got {spec.tolist()}."
            )
        mask[spec] = True
        return mask

    @staticmethod
    def _is_categorical_dtype(dtype):
        kind = getattr(dtype, "kind", "O")
        name = str(dtype)
        if name.startswith(_TIME_DTYPES):
            return False  # rejected with a clear message by _column
        return kind in "ObUS" or name in ("category", "boolean", "string", "str")

    def _numeric_column(self, X, j):
        values = self._column(X, j)
        kind = values.dtype.kind
        self._reject_time_dtype(values.dtype, j)
        if kind == "c":
            raise ValueError(f"Complex data not supported (column {self._column_name(j)}).")
        if kind == "O":
            # pd.NA / None (e.g. from a nullable boolean column) mark missing values too.
            missing = is_missing(values)
            if missing.any():
                values = np.where(missing, np.nan, values)
        try:
            values = np.asarray(values, dtype=np.float64)
        except ValueError as exc:
            raise ValueError(
                f"Column {self._column_name(j)} has non-numeric values ({exc}); mark it as "
                "categorical with categorical_features, or pass a DataFrame with a string or "
                "category column."
            ) from exc
        except TypeError as exc:
            if "complex" in str(exc):
                raise ValueError(
                    f"Complex data not supported (column {self._column_name(j)})."
                ) from exc
            raise
        if np.isinf(values).any():
            raise ValueError(
                f"Input X contains infinity in column {self._column_name(j)}; replace it with a "
                "finite value or NaN (which is treated as missing)."
            )
        return values

    def _numeric_block(self, X):
        """The numeric columns as one float64 array (NaN: missing)."""
        numeric = np.flatnonzero(~self.categorical_mask_)
        if not _is_dataframe(X) and X.dtype.kind in "fiub" and len(numeric):
            # One block, one check; no copy of an all-numeric float64 array.
            block = X if len(numeric) == X.shape[1] else X[:, numeric]
            block = np.asarray(block, dtype=np.float64)
            if not np.isinf(block).any():
                return block
        columns = [self._numeric_column(X, j) for j in numeric]
        return np.column_stack(columns) if columns else np.empty((X.shape[0], 0))

    # ------------------------------------------------- encoding on a device
    def _encoding_params(self):
        """Keyword arguments of a :class:`skens.nn.TabularEncoding` equal to :meth:`transform`.

        Plain numpy arrays and numbers (this module needs no torch). The
        encoding reads :meth:`_raw_block`'s output.
        """
        check_is_fitted(self)
        n_numeric = int(np.sum(~self.categorical_mask_))
        params = dict(
            n_numeric=n_numeric,
            clip=_CLIP,
            indicator_columns=np.asarray(self._indicator_columns, dtype=np.int64),
        )
        scaler = self.scaler_
        if scaler is None:
            params["scaling"] = "none"
        elif isinstance(scaler, QuantileTransformer):
            from scipy import stats

            threshold = 1e-7 - np.spacing(1)  # as QuantileTransformer's clipping
            params.update(
                scaling="quantile",
                quantiles=scaler.quantiles_,
                references=scaler.references_,
                clip_normal=(
                    float(stats.norm.ppf(threshold)),
                    float(stats.norm.ppf(1 - threshold)),
                ),
            )
        else:  # StandardScaler or RobustScaler: (x - center) / scale
            n = n_numeric
            center = getattr(scaler, "mean_", None)
            if center is None:
                center = getattr(scaler, "center_", None)
            scale = getattr(scaler, "scale_", None)
            params.update(
                scaling="affine",
                center=np.zeros(n) if center is None else center,
                scale=np.ones(n) if scale is None else scale,
            )
        sources, levels, embedded = [], [], []
        for position, categories in enumerate(self.categories_):
            if self._onehot[position]:
                column_levels = list(np.arange(len(categories)) + _N_SPECIAL)
                if self._has_missing[position]:
                    column_levels = [_MISSING, *column_levels]
                sources += [position] * len(column_levels)
                levels += column_levels
            else:
                embedded.append(position)
        params.update(
            onehot_sources=np.asarray(sources, dtype=np.int64),
            onehot_levels=np.asarray(levels, dtype=np.int64),
            embedded_columns=np.asarray(embedded, dtype=np.int64),
        )
        return params

    def _raw_block(self, X):
        """The input of :meth:`_encoding_params`' encoding for validated rows ``X``.

        Returns ``(numeric, codes)``: the numeric columns as float64 (NaN:
        missing) and the integer codes of the categorical columns (missing
        0, unknown 1, known categories 2...), int64.
        """
        numeric = self._numeric_block(X)
        positions = np.flatnonzero(self.categorical_mask_)
        codes = np.empty((X.shape[0], len(positions)), dtype=np.int64)
        for position, j in enumerate(positions):
            codes[:, position] = self._codes(X, position, j)
        return numeric, codes

    # ------------------------------------------------------------------ fit
    def _make_scaler(self, n_samples):
        if self.numeric_scaling == "standard":
            return StandardScaler()
        if self.numeric_scaling == "robust":
            return RobustScaler()
        return QuantileTransformer(
            n_quantiles=max(1, min(1000, n_samples)),
            output_distribution="normal",
            random_state=self.random_state,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the scaling, the missing-value indicators and the categories.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data; NaN marks a missing value anywhere.
        y : None
            Ignored.

        Returns
        -------
        self : TabularPreprocessor
            The fitted transformer.
        """
        X = check_tabular_input(self, X, reset=True)
        self.categorical_mask_ = self._resolve_categorical_mask(X)
        numeric = self._numeric_block(X)
        nan = np.isnan(numeric)
        self._indicator_columns = np.flatnonzero(nan.any(axis=0))
        empty = nan.all(axis=0)
        del nan
        self.scaler_ = None
        if numeric.shape[1]:
            # A column that is entirely missing is scaled as zeros (no copy of the
            # data without such a column).
            observed = np.where(empty, 0.0, numeric) if empty.any() else numeric
            self.scaler_ = self._make_scaler(len(numeric)).fit(observed)
        self.categories_, self._has_missing = [], []
        for j in np.flatnonzero(self.categorical_mask_):
            categories, has_missing = self._learn_categories(X, j)
            self.categories_.append(categories)
            self._has_missing.append(has_missing)
        self._onehot = [len(c) <= self.max_onehot_cardinality for c in self.categories_]
        self.embedding_cardinalities_ = [
            len(c) + _N_SPECIAL for c, onehot in zip(self.categories_, self._onehot) if not onehot
        ]
        self.n_numeric_out_ = len(self.get_feature_names_out()) - len(self.embedding_cardinalities_)
        self.column_layout_ = ColumnLayout(
            n_numeric=numeric.shape[1],
            n_indicators=len(self._indicator_columns),
            n_onehot=sum(
                len(categories) + has_missing
                for categories, onehot, has_missing in zip(
                    self.categories_, self._onehot, self._has_missing
                )
                if onehot
            ),
            code_cardinalities=tuple(self.embedding_cardinalities_),
        )
        return self

    # ------------------------------------------------------------ transform
    def _column_keys(self, X, j):
        """:func:`_factorize_keys` of categorical column ``j``."""
        column = None
        if _is_dataframe(X):
            column = _frame_column(X, j)
            categorical = _pandas_categorical(column)
            if categorical is not None:
                categories, codes = categorical
                keys, inverse = _factorize_keys(categories)
                return keys, np.append(inverse, -1)[codes]  # code -1 (missing) reads -1
        return _factorize_keys(self._column(X, j, column))

    def _learn_categories(self, X, j):
        """The sorted category keys of column ``j``, and whether a value is missing."""
        keys, inverse = self._column_keys(X, j)
        present = np.zeros(len(keys), dtype=bool)
        present[inverse[inverse >= 0]] = True
        return np.unique(keys[present]), bool((inverse < 0).any())

    def _codes(self, X, position, j):
        """Integer codes of categorical column ``j``: missing 0, unknown 1, known 2..."""
        keys, inverse = self._column_keys(X, j)
        categories = self.categories_[position]
        # The code of each distinct key, then of each row.
        index = np.searchsorted(categories, keys)
        clipped = np.minimum(index, max(len(categories) - 1, 0))
        known = (index < len(categories)) & (categories[clipped] == keys) if len(categories) else (
            np.zeros(len(keys), dtype=bool)
        )
        key_codes = np.append(np.where(known, index + _N_SPECIAL, _UNKNOWN), _MISSING)
        return key_codes[inverse]  # inverse -1 (missing) reads the appended _MISSING

    def transform(self, X):
        """Encode ``X`` with what was learned in :meth:`fit`.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Data with the training columns.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features_out)
            ``[numeric | missing indicators | one-hot | codes]``, as float64.
        """
        check_is_fitted(self)
        X = check_tabular_input(self, X, reset=False)
        blocks = []
        numeric = self._numeric_block(X)
        if numeric.shape[1]:
            missing = np.isnan(numeric)
            scaled = self.scaler_.transform(np.where(missing, 0.0, numeric))
            scaled = np.clip(np.where(missing, 0.0, scaled), -_CLIP, _CLIP)
            blocks += [scaled, missing[:, self._indicator_columns].astype(np.float64)]
        codes = [
            self._codes(X, position, j)
            for position, j in enumerate(np.flatnonzero(self.categorical_mask_))
        ]
        for position, code in enumerate(codes):
            if self._onehot[position]:
                levels = np.arange(len(self.categories_[position])) + _N_SPECIAL
                if self._has_missing[position]:
                    levels = np.concatenate([[_MISSING], levels])
                blocks.append((code[:, None] == levels[None, :]).astype(np.float64))
        blocks += [
            code[:, None].astype(np.float64)
            for position, code in enumerate(codes)
            if not self._onehot[position]
        ]
        return np.hstack(blocks) if blocks else np.empty((X.shape[0], 0))

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input column names; defaults to ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            One per column of :meth:`transform`'s output, in its order:
            numeric columns, missing indicators, one-hot columns, codes.
        """
        check_is_fitted(self, "categorical_mask_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        input_features = np.asarray(input_features, dtype=object)
        if len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features should have length {self.n_features_in_}, "
                f"got {len(input_features)}."
            )
        numeric_names = input_features[~self.categorical_mask_]
        names = list(numeric_names)
        names += [f"{numeric_names[i]}_missing" for i in self._indicator_columns]
        categorical_names = input_features[self.categorical_mask_]
        for name, categories, onehot, has_missing in zip(
            categorical_names, self.categories_, self._onehot, self._has_missing
        ):
            if onehot:
                names += [f"{name}_missing"] if has_missing else []
                names += [f"{name}_{c}" for c in categories]
        names += [
            f"{name}_code"
            for name, onehot in zip(categorical_names, self._onehot)
            if not onehot
        ]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags
