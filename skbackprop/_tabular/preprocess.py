"""Column preprocessing of a raw table for the tabular estimators.

Numeric columns: centred on their median, divided by a robust spread and
smoothly clipped (RealMLP's numeric preprocessing, Holzmüller et al. 2024), then
missing values set to 0 (the median, after centring) with a 0/1 indicator column
per numeric column that had missing values in ``fit``. Categorical columns:
missing values become a category of their own, then one-hot, with categories
unseen in ``fit`` encoded as the infrequent column or all zeros (no error).

Sample weights enter every statistic that has one (medians, quantiles, the
target's mean and spread), so that an integer weight acts as repeated rows.
"""

import numbers

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

# What a missing categorical value becomes before one-hot encoding.
MISSING_CATEGORY = "__missing__"


def weighted_quantile(x, q, sample_weight=None):
    """Quantiles ``q`` (in [0, 1]) of ``x`` ignoring NaN, weights as repetitions.

    With integer weights the result equals :func:`numpy.quantile` (linear
    interpolation) of ``x`` with each value repeated its weight's times: the
    position ``(W - 1) q`` in the weighted order, with ``W`` the total weight.
    Rows of weight 0 do not count.

    Returns NaN for each ``q`` where no value of positive weight is left.
    """
    keep = ~np.isnan(x)
    if sample_weight is not None:
        keep &= sample_weight > 0
    x = x[keep]
    q = np.asarray(q, dtype=float)
    if x.size == 0:
        return np.full(q.shape, np.nan)
    if sample_weight is None:
        return np.quantile(x, q)
    w = sample_weight[keep]
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    # Value at (fractional) repeated index k: the first row whose cumulative
    # weight exceeds k.
    ends = np.cumsum(w)
    pos = (ends[-1] - 1) * q if ends[-1] >= 1 else np.zeros_like(q)
    lower = np.floor(pos)
    frac = pos - lower

    def at(k):
        return x[np.minimum(np.searchsorted(ends, k, side="right"), x.size - 1)]

    low = at(lower)
    return low + frac * (at(lower + 1) - low)


class RobustScaleSmoothClip(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Centre on the median, divide by a robust spread, clip smoothly.

    ``z = (x - median) / spread``, then ``z / sqrt(1 + (z / clip)²)``: close to
    the identity for ``|z|`` well below ``clip`` and bounded by ``±clip``, so an
    outlier (a corrupt row, a heavy tail) cannot dominate the network's input.
    The spread is the interquartile range; where it is 0 (a column mostly of one
    value), half the range; where that is 0 too (a constant column), 1. NaN
    stays NaN (the statistics ignore it).

    Parameters
    ----------
    clip : float or None, default=3.0
        Bound of the smooth clipping; None leaves the scaled values unclipped.
    dtype : {np.float32, np.float64} or None, default=None
        Output dtype; None keeps a float32 input float32 and makes anything else
        float64.
    """

    def __init__(self, clip=3.0, dtype=None):
        self.clip = clip
        self.dtype = dtype

    def fit(self, X, y=None, sample_weight=None):
        """Compute each column's median and spread.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric columns; NaN allowed.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights (integer weights act as repeated rows).

        Returns
        -------
        self : object
        """
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"
        )
        w = None if sample_weight is None else np.asarray(sample_weight, float)
        center = np.zeros(X.shape[1])
        scale = np.ones(X.shape[1])
        for j in range(X.shape[1]):
            col = X[:, j].astype(np.float64)
            q1, med, q3, lo, hi = weighted_quantile(col, [0.25, 0.5, 0.75, 0.0, 1.0], w)
            if np.isnan(med):  # no observed value: the column becomes 0
                continue
            spread = q3 - q1
            if not spread > 0:
                spread = (hi - lo) / 2
            center[j] = med
            scale[j] = spread if spread > 0 else 1.0
        self.center_ = center
        self.scale_ = scale
        return self

    def transform(self, X):
        """Scale and clip ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric columns; NaN allowed.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features)
            The scaled, clipped columns (NaN where ``X`` was NaN).
        """
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
            reset=False,
        )
        dtype = self.dtype or (np.float32 if X.dtype == np.float32 else np.float64)
        Z = (X - self.center_) / self.scale_
        if self.clip is not None:
            Z = Z / np.sqrt(1.0 + (Z / self.clip) ** 2)
        return Z.astype(dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _is_missing(value):
    """Whether one cell of a categorical column is missing (None, NaN, pd.NA, NaT)."""
    if value is None:
        return True
    if isinstance(value, numbers.Real):
        return value != value
    return type(value).__name__ in ("NAType", "NaTType")


_IS_MISSING = np.frompyfunc(_is_missing, 1, 1)
_IS_CONTAINER = np.frompyfunc(
    lambda v: isinstance(v, (dict, list, tuple, set, np.ndarray)), 1, 1
)


class OneHotCategories(TransformerMixin, BaseEstimator):
    """One-hot encode categorical columns of any type, missing values included.

    The cells are compared as strings (so categories of any type, pandas
    categories included, sort and compare alike) and a missing cell (None, NaN,
    ``pd.NA``, ``NaT``) is the category ``"__missing__"``; then a
    :class:`~sklearn.preprocessing.OneHotEncoder` encodes them, a category
    unseen in ``fit`` as the infrequent column (or all zeros), silently.

    Parameters
    ----------
    max_categories : int or None, default=None
        Most columns per categorical column (the rarest categories share one).
    dtype : numpy dtype, default=np.float64
        The output's dtype.
    """

    def __init__(self, max_categories=None, dtype=np.float64):
        self.max_categories = max_categories
        self.dtype = dtype

    @staticmethod
    def _strings(X):
        containers = _IS_CONTAINER(X).astype(bool)
        if containers.any():
            row, col = np.argwhere(containers)[0]
            raise TypeError(
                f"Categorical cells must be single values: the argument must be a "
                f"string or a number (or a boolean; None or NaN for a missing "
                f"value), but column {col} holds a {type(X[row, col]).__name__} "
                f"in row {row}."
            )
        missing = _IS_MISSING(X).astype(bool)
        S = X.astype(str).astype(object)
        S[missing] = MISSING_CATEGORY
        return S

    def fit(self, X, y=None, sample_weight=None):
        """Learn the categories of each column.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Categorical columns.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: a category seen only in rows of weight 0 is not one
            (so that integer weights act as repeated rows).

        Returns
        -------
        self : object
        """
        X = validate_data(self, X, dtype=object, ensure_all_finite=False)
        S = self._strings(X)
        if sample_weight is not None:
            S = S[np.asarray(sample_weight) > 0]
        self.encoder_ = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=self.max_categories,
            sparse_output=False,
            dtype=self.dtype,
        ).fit(S)
        return self

    def transform(self, X):
        """Return the one-hot columns.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Categorical columns.

        Returns
        -------
        onehot : ndarray of shape (n_samples, n_output_columns)
        """
        check_is_fitted(self, "encoder_")
        X = validate_data(self, X, dtype=object, ensure_all_finite=False, reset=False)
        return self.encoder_.transform(self._strings(X))

    def get_feature_names_out(self, input_features=None):
        """Return the one-hot columns' names, as OneHotEncoder names them.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            The input columns' names.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self, "encoder_")
        return self.encoder_.get_feature_names_out(input_features)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _is_categorical_dtype(dtype):
    """Whether a pandas column's dtype holds categories: category, object, string."""
    name = str(dtype)
    return (
        name == "category"
        or name in ("object", "string", "str")
        or (name.startswith("string"))
    )


def categorical_mask(X, categorical_features, feature_names):
    """Which columns of ``X`` are categorical, as a boolean array.

    Parameters
    ----------
    X : DataFrame or ndarray
        The table (already 2-D).
    categorical_features : "from_dtype", None or array-like
        ``"from_dtype"``: a DataFrame's ``category``, ``object`` and ``string``
        columns (none for an array); None: no column; else column indices,
        names (with a DataFrame) or a boolean mask, as
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier` takes.
    feature_names : ndarray of str or None
        The column names seen in fit.

    Returns
    -------
    mask : ndarray of bool of shape (n_features,)
    """
    n_features = X.shape[1]
    mask = np.zeros(n_features, dtype=bool)
    if categorical_features is None:
        return mask
    if isinstance(categorical_features, str):  # "from_dtype" (validated)
        if _is_dataframe(X):
            mask[:] = [_is_categorical_dtype(d) for d in X.dtypes]
        return mask
    given = np.asarray(categorical_features)
    if given.size == 0:
        return mask
    if given.ndim != 1:
        raise ValueError(
            "categorical_features must be 1-D (column indices, names or a boolean "
            f"mask); got an array of shape {given.shape}."
        )
    if given.dtype.kind == "b":
        if given.shape[0] != n_features:
            raise ValueError(
                f"categorical_features is a boolean mask of length {given.shape[0]}, "
                f"but X has {n_features} columns. Give one entry per column."
            )
        return given.copy()
    if given.dtype.kind in "iu":
        if given.min() < -n_features or given.max() >= n_features:
            raise ValueError(
                f"categorical_features has column indices out of range for X's "
                f"{n_features} columns: {given.tolist()}. Use indices in "
                f"[0, {n_features - 1}]."
            )
        mask[given] = True
        return mask
    if given.dtype.kind in "UO":
        if feature_names is None:
            raise ValueError(
                f"categorical_features names columns ({given.tolist()}), but X has "
                "no column names. Pass a DataFrame with those columns, or give "
                "column indices or a boolean mask."
            )
        names = list(feature_names)
        unknown = [str(v) for v in given if v not in names]
        if unknown:
            raise ValueError(
                f"categorical_features names columns that X does not have: "
                f"{unknown}. X's columns are {names}."
            )
        mask[[names.index(v) for v in given]] = True
        return mask
    raise ValueError(
        "categorical_features must hold column indices (int), column names (str) "
        f"or a boolean mask; got values of dtype {given.dtype}."
    )


def model_dtype(X, numeric):
    """Return the float dtype to train in: float32 when every numeric column is.

    A table of float32 numbers stays float32 end to end (one-hot columns are
    made in that dtype too); anything else trains in float64.
    """
    if not numeric.any():
        return np.float64
    if _is_dataframe(X):
        dtypes = [X.dtypes.iloc[j] for j in np.flatnonzero(numeric)]
    else:
        dtypes = [X.dtype]
    return np.float32 if all(d == np.float32 for d in dtypes) else np.float64


def build_preprocessor(mask, dtype, *, clip, missing_indicator, max_categories):
    """Return the (unfitted) ColumnTransformer for columns ``mask`` marks categorical.

    Parameters
    ----------
    mask : ndarray of bool of shape (n_features,)
        The categorical columns.
    dtype : numpy dtype
        The output's float dtype.
    clip : float or None
        Smooth clipping bound of the numeric columns.
    missing_indicator : bool
        Add a 0/1 column per numeric column with missing values in fit.
    max_categories : int or None
        Most one-hot columns per categorical column; the rarest categories
        beyond it share one.

    Returns
    -------
    preprocessor : ColumnTransformer
    """
    numeric = np.flatnonzero(~mask)
    categorical = np.flatnonzero(mask)
    transformers = []
    if numeric.size:
        steps = [
            ("scale", RobustScaleSmoothClip(clip=clip, dtype=dtype)),
            # After centring on the median, the median is 0.
            (
                "impute",
                SimpleImputer(
                    strategy="constant", fill_value=0.0, add_indicator=missing_indicator
                ),
            ),
        ]
        transformers.append(("num", Pipeline(steps), numeric))
    if categorical.size:
        onehot = OneHotCategories(max_categories=max_categories, dtype=dtype)
        transformers.append(("cat", onehot, categorical))
    return ColumnTransformer(
        transformers,
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out=True,
    )


def fit_transform_weighted(preprocessor, X, sample_weight):
    """Fit ``preprocessor`` on ``X`` with the numeric statistics weighted.

    The weights reach the robust scaler (weighted medians and quantiles) and the
    one-hot step (a category only in rows of weight 0 is none) through
    scikit-learn's metadata routing, switched on for this call only.
    """
    if sample_weight is None:
        return preprocessor.fit_transform(X)
    with sklearn.config_context(enable_metadata_routing=True):
        for name, step, _ in preprocessor.transformers:
            if name == "num":
                step.named_steps["scale"].set_fit_request(sample_weight=True)
            else:
                step.set_fit_request(sample_weight=True)
        return preprocessor.fit_transform(X, sample_weight=sample_weight)


def as_table(X):
    """``X`` as a DataFrame (kept) or a 2-D array; sparse input is refused."""
    if sp.issparse(X):
        raise TypeError(
            "The tabular estimators do not take sparse input: their numeric "
            "preprocessing needs each column's median and quantiles. Pass a dense "
            "array (X.toarray()) or a DataFrame, or use BackpropClassifier/"
            "BackpropRegressor, which take sparse matrices."
        )
    dispatch = sklearn.get_config().get("array_api_dispatch", False)
    if dispatch and hasattr(X, "__array_namespace__") and not isinstance(X, np.ndarray):
        raise TypeError(
            "The tabular estimators preprocess numpy arrays and DataFrames on the "
            f"host; X is a {type(X).__module__}.{type(X).__name__} under "
            "array_api_dispatch. Pass a numpy array or a DataFrame (the network "
            "then trains with numpy), or use BackpropClassifier/BackpropRegressor "
            "on preprocessed arrays of another namespace."
        )
    if _is_dataframe(X):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D; got {X.ndim} dimensions.")
        return X
    return check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=1)


class TargetScaler:
    """Standardize a regression target per output, and undo it.

    Weighted mean and (population) standard deviation; an output with no spread
    is only centred.
    """

    def fit(self, y, sample_weight=None):
        """Learn each output's mean and spread; returns self."""
        y = np.asarray(y, dtype=np.float64)
        Y = y.reshape(y.shape[0], -1)
        w = np.ones(Y.shape[0]) if sample_weight is None else sample_weight
        total = w.sum()
        self.mean_ = (w @ Y) / total
        var = (w @ (Y - self.mean_) ** 2) / total
        scale = np.sqrt(var)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, y):
        """Return the standardized target, in ``y``'s shape."""
        y = np.asarray(y, dtype=np.float64)
        mean, scale = self.mean_, self.scale_
        if y.ndim == 1:
            mean, scale = mean[0], scale[0]
        return (y - mean) / scale

    def inverse_transform(self, z):
        """Return predictions in the target's units (``z`` 1-D or 2-D), in z's dtype."""
        mean, scale = self.mean_, self.scale_
        if z.ndim == 1:
            mean, scale = mean[0], scale[0]
        return (z * scale + mean).astype(z.dtype, copy=False)
