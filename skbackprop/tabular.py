"""Tabular estimators: a strong recipe for raw tables, on the same backprop core.

:class:`TabularMLPClassifier` and :class:`TabularMLPRegressor` take a raw pandas
DataFrame (or an array) with numeric and categorical columns, missing values and
an unscaled target, and fit a :class:`~skbackprop.BackpropClassifier` or
:class:`~skbackprop.BackpropRegressor` behind the preprocessing such a table needs,
with defaults informed by RealMLP-TD (Holzmüller et al. 2024) and the
regularization cocktails of Kadra et al. (2021):

- numeric columns centred on the median, divided by the interquartile range and
  smoothly clipped to ``±smooth_clip``; missing values set to the median with a
  0/1 indicator column;
- categorical columns (pandas ``category``, ``object`` and ``string`` columns, or
  those ``categorical_features`` names) one-hot encoded, a missing value being a
  category of its own, a category unseen in ``fit`` ignored;
- the regression target standardized, predictions turned back to its units;
- three hidden layers of 256 ReLU units, Adam with decoupled weight decay and a
  cosine learning-rate schedule, batches of 256, and the weights of the epoch
  with the lowest validation loss on a held-out fifth of the rows.

The parameters of the inner network are set in one place,
``skbackprop/_tabular/recipe.py``.
"""

import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._estimator.compat import _check_sample_weight, _fit_context
from ._tabular import recipe as _recipe
from ._tabular.preprocess import (
    TargetScaler,
    _is_dataframe,
    as_table,
    build_preprocessor,
    categorical_mask,
    fit_transform_weighted,
    model_dtype,
)
from ._training.checkpoint import _atomic
from .classifier import BackpropClassifier
from .losses import Loss, PoissonLoss
from .regressor import BackpropRegressor

__all__ = ["TabularMLPClassifier", "TabularMLPRegressor"]

_D = _recipe.DEFAULTS
_BATCH_CLIPPED = "batch_size=.* is larger than the .* training samples"

_PARAMS_DOC = """\
hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(256, 256, 256)
        Units of each hidden layer (RealMLP-TD's three layers of 256).

    activation : str, Activation or list of them, default="relu"
        Hidden-layer activation, as in :class:`~skbackprop.BackpropClassifier`;
        e.g. :class:`~skbackprop.PReLU` for a learnable slope per unit.

    alpha : float, default=1e-4
        L2 penalty on the weights (not the intercepts).

    batch_size : int or "auto", default="auto"
        Rows per Adam step (at most the training rows). "auto": 256
        (RealMLP-TD's), or on tables of fewer than 4096 training rows one
        sixteenth of them, at least 32, so that each epoch takes several steps.

    learning_rate_init : float, default=1e-3
        Adam's step size.

    max_iter : int, default=256
        Most epochs.

    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows, stop once the validation
        criterion stopped improving for ``n_iter_no_change`` epochs, and keep
        the weights of the best epoch (the recipe's most important ingredient).
        False trains ``max_iter`` epochs (or until the training loss stalls)
        and keeps the last weights.

    validation_fraction : float, default=0.2
        Fraction of the rows held out for early stopping.

    n_iter_no_change : int, default=16
        Epochs without improvement before stopping.

    tol : float, default=1e-4
        Improvement of the criterion below which an epoch counts as none. The
        regressor's losses are on the standardized target, so ``tol`` means the
        same on any target scale.

    validation_metric : {"loss", "score"}, default="loss"
        The early-stopping criterion: the validation loss (log loss, or squared
        error on the standardized target) or the score (accuracy, R²). The loss
        picks better epochs (the score, accuracy above all, is coarse).

    weight_decay : float, default=0.02
        Decoupled (AdamW) weight decay of the coefficients, RealMLP-TD's value:
        each Adam step first shrinks them by ``learning_rate · weight_decay``
        (see :class:`~skbackprop.BackpropClassifier`). The learning rate
        itself follows a cosine decay over ``max_iter`` epochs
        (:class:`skbackprop.schedules.Cosine`).

    dropout : float or array-like of shape (n_layers - 2,), default=0.0
        Inverted dropout on the hidden layers while training (RealMLP-TD uses
        0.15). Off by default: a random mask per row makes a row of integer
        weight ``k`` train differently from ``k`` copies of it.

    categorical_features : "from_dtype", array-like of {bool, int, str} or None, \
            default="from_dtype"
        Which columns are categorical. "from_dtype": a DataFrame's ``category``,
        ``object`` and ``string`` columns (an array's columns are all numeric);
        else column indices, column names (with a DataFrame) or a boolean mask,
        as in :class:`~sklearn.ensemble.HistGradientBoostingClassifier`; None:
        all columns numeric.

    max_categories : int or None, default=32
        Most one-hot columns per categorical column: beyond it the rarest
        categories (by row count, unweighted) share one column. None keeps every
        category.

    smooth_clip : float or None, default=3.0
        Bound of the smooth clipping ``z / sqrt(1 + (z / smooth_clip)²)`` of the
        robustly scaled numeric columns. None leaves them unclipped.

    missing_indicator : bool, default=True
        Add a 0/1 column per numeric column that has missing values in ``fit``.

    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling and the validation split.

    verbose : bool, default=False
        Print the inner network's progress per epoch."""

_ATTRIBUTES_DOC = """\
preprocessor_ : ColumnTransformer
        The fitted column preprocessing; its ``get_feature_names_out()`` names
        the network's inputs.

    model_ : BackpropClassifier or BackpropRegressor
        The fitted network, on the preprocessed columns.

    n_iter_ : int
        Epochs run.

    best_epoch_ : int
        The epoch (1-based) whose weights the model keeps: the best on the
        validation set with ``early_stopping``, else the last (``n_iter_``).

    loss_curve_ : list of float
        Training loss per epoch.

    validation_scores_ : list of float or None
        Validation score per epoch (None without ``early_stopping``).

    validation_loss_curve_ : list of float or None
        Validation loss per epoch (None without ``early_stopping``).

    n_features_in_ : int
        Number of columns seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in ``fit``, when they are all strings.

    categorical_features_ : ndarray of bool of shape (`n_features_in_`,)
        Which input columns were taken as categorical."""

_SHARED_CONSTRAINTS = {
    key: BackpropRegressor._parameter_constraints[key]
    for key in (
        "hidden_layer_sizes",
        "activation",
        "alpha",
        "batch_size",
        "learning_rate_init",
        "max_iter",
        "early_stopping",
        "validation_fraction",
        "n_iter_no_change",
        "tol",
        "validation_metric",
        "weight_decay",
        "dropout",
        "random_state",
        "verbose",
    )
}


def _best_epoch(model):
    """Return the 1-based epoch whose weights ``model`` kept (0: the start)."""
    scores = getattr(model, "validation_scores_", None)
    if scores is None:
        return model.n_iter_
    losses = model.validation_loss_curve_
    best_score = model.best_validation_score_
    best_loss = getattr(model, "_best_val_loss", None)
    for i, (score, loss) in enumerate(zip(scores, losses, strict=False)):
        if score == best_score and (best_loss is None or loss == best_loss):
            return i + 1
    return 0


class _BaseTabular(BaseEstimator):
    """Preprocessing, the inner network, and the fitted state both estimators share."""

    _parameter_constraints: dict = {
        **_SHARED_CONSTRAINTS,
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "max_categories": [Interval(Integral, 2, None, closed="left"), None],
        "smooth_clip": [Interval(Real, 0, None, closed="neither"), None],
        "missing_indicator": ["boolean"],
    }

    _task = None  # "classifier" or "regressor"
    _inner = None  # the Backprop estimator class

    def _check_y(self, y):
        """Return ``y`` validated for this task (the network is fitted on it)."""
        return y

    def _fit_target(self, y, sample_weight):
        """Return the target the network trains on, and the fitted state it needs."""
        return y, {}

    def _min_validation_rows(self, y):
        """Fewest rows the inner estimator's validation split holds for ``y``."""
        return 2

    def _fitted_state(self, model):
        """Attributes taken from the fitted inner ``model``, besides the shared ones."""
        return {}

    @_atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Preprocess the table and fit the network on it.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            The table: numeric and categorical columns, missing values allowed.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (classifier) or real values (regressor, in any units).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows, used by the preprocessing statistics, the
            target's standardization and the loss; integer weights act as
            repeated rows.
        X_val, y_val, sample_weight_val : default=None
            A validation set for early stopping instead of the held-out
            ``validation_fraction``, preprocessed as ``X``; needs an inner
            estimator whose ``fit`` takes them.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None. Pass the targets: class labels or real values."
            )
        X = as_table(X)
        y = self._check_y(y)
        check_consistent_length(X, y)
        n_samples = X.shape[0]
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, np.empty((n_samples, 0))
            )
            if (sample_weight < 0).any():
                raise ValueError(
                    "sample_weight has negative values (the smallest is "
                    f"{sample_weight.min()}); weights must be non-negative. Use 0 "
                    "to ignore a row."
                )
        fit_val = self._check_fit_val(X_val, y_val, sample_weight_val)
        names = None
        if _is_dataframe(X) and all(isinstance(c, str) for c in X.columns):
            names = np.asarray(X.columns, dtype=object)
        mask = categorical_mask(X, self.categorical_features, names)
        preprocessor = build_preprocessor(
            mask,
            model_dtype(X, ~mask),
            clip=self.smooth_clip,
            missing_indicator=self.missing_indicator,
            max_categories=self.max_categories,
        )
        try:
            Xt = fit_transform_weighted(preprocessor, X, sample_weight)
        except ValueError as err:
            if "could not convert" not in str(err):
                raise
            raise ValueError(
                f"A column taken as numeric holds non-numeric values ({err}). Mark "
                "the categorical columns with categorical_features (indices, names "
                "or a boolean mask), or pass a DataFrame whose categorical columns "
                "have the category or object dtype."
            ) from err
        target, state = self._fit_target(y, sample_weight)
        if fit_val:
            fit_val = self._transform_val(preprocessor, state, **fit_val)
        n_train = n_samples
        if self.early_stopping and not fit_val:  # the held-out rows do not train
            n_val = max(math.ceil(self.validation_fraction * n_samples), 2)
            n_train -= max(n_val, self._min_validation_rows(y))
        params = _recipe.inner_params(self, self._inner, self._task, n_train)
        model = self._inner(**params)
        with warnings.catch_warnings():
            if self.batch_size == "auto":
                # The "auto" batch is sized from an estimate of the training
                # rows; where the split leaves fewer, clipping it is no news.
                warnings.filterwarnings("ignore", message=_BATCH_CLIPPED)
            model.fit(Xt, target, sample_weight=sample_weight, **fit_val)
        # Everything succeeded: commit the fitted state.
        vars(self).pop("feature_names_in_", None)  # a refit on unnamed columns
        self.n_features_in_ = preprocessor.n_features_in_
        if hasattr(preprocessor, "feature_names_in_"):
            self.feature_names_in_ = preprocessor.feature_names_in_
        self.categorical_features_ = mask
        self.preprocessor_ = preprocessor
        self.model_ = model
        for key, value in {**state, **self._fitted_state(model)}.items():
            setattr(self, key, value)
        self.n_iter_ = model.n_iter_
        self.best_epoch_ = _best_epoch(model)
        self.loss_curve_ = list(getattr(model, "loss_curve_", None) or [])
        self.validation_scores_ = model.validation_scores_
        self.validation_loss_curve_ = model.validation_loss_curve_
        return self

    def _check_fit_val(self, X_val, y_val, sample_weight_val):
        """Validate the validation-set arguments; return them as fit keywords."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError(
                    "sample_weight_val was given without X_val and y_val. Pass the "
                    "validation set too, or leave sample_weight_val out."
                )
            return {}
        if X_val is None or y_val is None:
            raise ValueError(
                "X_val and y_val go together: pass both for a validation set of "
                "your own, or neither to hold out validation_fraction of X."
            )
        accepted = inspect.signature(self._inner.fit).parameters
        if "X_val" not in accepted:
            raise ValueError(
                f"This version of {self._inner.__name__}.fit takes no X_val, so "
                "a validation set of your own is not supported yet. Leave X_val "
                "and y_val out: early_stopping holds out validation_fraction of X."
            )
        if not self.early_stopping:
            raise ValueError(
                "X_val and y_val are used for early stopping, but "
                "early_stopping=False. Set early_stopping=True, or leave them out."
            )
        X_val = as_table(X_val)
        y_val = self._check_y(y_val)
        check_consistent_length(X_val, y_val)
        if sample_weight_val is not None:
            sample_weight_val = _check_sample_weight(
                sample_weight_val, np.empty((X_val.shape[0], 0))
            )
        return dict(X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val)

    def _transform_val(self, preprocessor, state, X_val, y_val, sample_weight_val):
        Xt_val = preprocessor.transform(X_val)
        scaler = state.get("_target_scaler")
        y_val = y_val if scaler is None else scaler.transform(y_val)
        return dict(X_val=Xt_val, y_val=y_val, sample_weight_val=sample_weight_val)

    def _transformed(self, X):
        """Validate ``X`` against the fitted columns and preprocess it."""
        check_is_fitted(self, "model_")
        X = as_table(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        return self.preprocessor_.transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.non_deterministic = False
        return tags


class TabularMLPClassifier(ClassifierMixin, _BaseTabular):  # noqa: D101
    __doc__ = f"""Neural network classifier for raw tables, with a strong recipe.

    Drop it onto a pandas DataFrame (or an array): numeric columns are robustly
    scaled and smoothly clipped, missing values imputed with an indicator,
    categorical columns one-hot encoded (unseen categories ignored), and a
    :class:`~skbackprop.BackpropClassifier` of three layers of 256 units is
    trained with Adam, keeping the epoch with the lowest validation log loss.
    The recipe is informed by RealMLP-TD (Holzmüller et al. 2024) and Kadra et
    al. (2021); see :mod:`skbackprop.tabular`.

    Parameters
    ----------
    {_PARAMS_DOC}

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as in :class:`~skbackprop.BackpropClassifier`.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.

    {_ATTRIBUTES_DOC}

    See Also
    --------
    TabularMLPRegressor : The regressor with the same recipe.
    BackpropClassifier : The network alone, for preprocessed inputs.

    Notes
    -----
    ONNX: the network exports (``skbackprop.onnx.to_onnx(clf.model_)``, fed
    with ``clf.preprocessor_.transform(X)``); the preprocessing does not (its
    robust scaler and its one-hot step of any-typed categories have no ONNX
    converter), so the estimator as a whole does not export.

    Examples
    --------
    >>> import pandas as pd
    >>> from skbackprop import TabularMLPClassifier
    >>> X = pd.DataFrame({{"size": [1.0, 2.5, None, 4.0] * 10,
    ...                   "color": ["red", "blue", "red", None] * 10}})
    >>> y = [0, 1, 0, 1] * 10
    >>> clf = TabularMLPClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> clf.predict(X.head(2)).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_BaseTabular._parameter_constraints,
        "class_weight": BackpropClassifier._parameter_constraints["class_weight"],
    }
    _task = "classifier"
    _inner = BackpropClassifier

    def __init__(
        self,
        hidden_layer_sizes=_D["hidden_layer_sizes"],
        activation=_D["activation"],
        *,
        alpha=_D["alpha"],
        batch_size=_D["batch_size"],
        learning_rate_init=_D["learning_rate_init"],
        max_iter=_D["max_iter"],
        early_stopping=_D["early_stopping"],
        validation_fraction=_D["validation_fraction"],
        n_iter_no_change=_D["n_iter_no_change"],
        tol=_D["tol"],
        validation_metric=_D["validation_metric"],
        weight_decay=_D["weight_decay"],
        dropout=_D["dropout"],
        categorical_features="from_dtype",
        max_categories=32,
        smooth_clip=3.0,
        missing_indicator=True,
        random_state=None,
        verbose=False,
        class_weight=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.validation_metric = validation_metric
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.categorical_features = categorical_features
        self.max_categories = max_categories
        self.smooth_clip = smooth_clip
        self.missing_indicator = missing_indicator
        self.random_state = random_state
        self.verbose = verbose
        self.class_weight = class_weight

    def _min_validation_rows(self, y):
        # The split is stratified: one row of each class at least.
        y = np.asarray(y)
        return len(np.unique(y)) if y.ndim == 1 else 2

    def _fitted_state(self, model):
        # The labels are checked and encoded by the inner classifier.
        return {"classes_": model.classes_}

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            Rows with the columns seen in ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        Xt = self._transformed(X)
        return self.model_.predict(Xt)

    def predict_proba(self, X):
        """Predict class probabilities.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            Rows with the columns seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes, in the order of ``classes_``.
        """
        Xt = self._transformed(X)
        return self.model_.predict_proba(Xt)

    def predict_log_proba(self, X):
        """Predict the logarithm of the class probabilities.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            Rows with the columns seen in ``fit``.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities of the classes, in the order of ``classes_``.
        """
        Xt = self._transformed(X)
        return self.model_.predict_log_proba(Xt)


class TabularMLPRegressor(RegressorMixin, _BaseTabular):  # noqa: D101
    __doc__ = f"""Neural network regressor for raw tables, with a strong recipe.

    Drop it onto a pandas DataFrame (or an array) and a target in any units:
    numeric columns are robustly scaled and smoothly clipped, missing values
    imputed with an indicator, categorical columns one-hot encoded (unseen
    categories ignored), the target standardized, and a
    :class:`~skbackprop.BackpropRegressor` of three layers of 256 units is
    trained with Adam, keeping the epoch with the lowest validation loss;
    predictions are in the target's units. The recipe is informed by
    RealMLP-TD (Holzmüller et al. 2024) and Kadra et al. (2021); see
    :mod:`skbackprop.tabular`.

    Parameters
    ----------
    loss : {{"squared_error", "huber", "quantile"}} or Loss, default="squared_error"
        The loss, as in :class:`~skbackprop.BackpropRegressor`, on the
        standardized target (Huber's ``delta`` is then in standard deviations).
        The Poisson loss needs the raw non-negative target, so it is not
        offered: use ``BackpropRegressor(loss="poisson")`` in a pipeline.

    {_PARAMS_DOC}

    Attributes
    ----------
    target_mean_ : ndarray of shape (n_outputs,)
        The target's (weighted) mean.

    target_scale_ : ndarray of shape (n_outputs,)
        The target's (weighted) standard deviation (1 where it is 0): the
        network predicts ``(y - target_mean_) / target_scale_``.

    {_ATTRIBUTES_DOC}

    See Also
    --------
    TabularMLPClassifier : The classifier with the same recipe.
    BackpropRegressor : The network alone, for preprocessed inputs.

    Notes
    -----
    ONNX: the network exports (``skbackprop.onnx.to_onnx(reg.model_)``, fed
    with ``reg.preprocessor_.transform(X)``; its output times
    ``target_scale_`` plus ``target_mean_`` is the prediction); the
    preprocessing does not (its robust scaler and its one-hot step of any-typed
    categories have no ONNX converter), so the estimator as a whole does not
    export.

    Examples
    --------
    >>> import pandas as pd
    >>> from skbackprop import TabularMLPRegressor
    >>> X = pd.DataFrame({{"area": [50.0, 80.0, None, 120.0] * 10,
    ...                   "city": ["a", "b", "a", "c"] * 10}})
    >>> y = [150_000, 240_000, 160_000, 390_000] * 10
    >>> reg = TabularMLPRegressor(max_iter=20, random_state=0).fit(X, y)
    >>> reg.predict(X.head(2)).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_BaseTabular._parameter_constraints,
        "loss": [StrOptions({"squared_error", "huber", "quantile"}), Loss],
    }
    _task = "regressor"
    _inner = BackpropRegressor

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=_D["hidden_layer_sizes"],
        activation=_D["activation"],
        *,
        alpha=_D["alpha"],
        batch_size=_D["batch_size"],
        learning_rate_init=_D["learning_rate_init"],
        max_iter=_D["max_iter"],
        early_stopping=_D["early_stopping"],
        validation_fraction=_D["validation_fraction"],
        n_iter_no_change=_D["n_iter_no_change"],
        tol=_D["tol"],
        validation_metric=_D["validation_metric"],
        weight_decay=_D["weight_decay"],
        dropout=_D["dropout"],
        categorical_features="from_dtype",
        max_categories=32,
        smooth_clip=3.0,
        missing_indicator=True,
        random_state=None,
        verbose=False,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.validation_metric = validation_metric
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.categorical_features = categorical_features
        self.max_categories = max_categories
        self.smooth_clip = smooth_clip
        self.missing_indicator = missing_indicator
        self.random_state = random_state
        self.verbose = verbose

    def _check_y(self, y):
        if isinstance(self.loss, PoissonLoss):
            raise ValueError(
                "TabularMLPRegressor standardizes the target, which the Poisson "
                "loss cannot take (it needs y >= 0 in its own units). Use "
                "BackpropRegressor(loss='poisson') in a pipeline, or another loss."
            )
        y = check_array(
            y, ensure_2d=False, dtype="numeric", input_name="y", ensure_min_samples=1
        )
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D; got {y.ndim} dimensions.")
        return y

    def _fit_target(self, y, sample_weight):
        scaler = TargetScaler().fit(y, sample_weight)
        state = dict(
            _target_scaler=scaler,
            target_mean_=scaler.mean_,
            target_scale_=scaler.scale_,
        )
        return scaler.transform(y), state

    def predict(self, X):
        """Predict targets, in the units of the ``y`` seen in ``fit``.

        Parameters
        ----------
        X : {DataFrame, array-like} of shape (n_samples, n_features)
            Rows with the columns seen in ``fit``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        Xt = self._transformed(X)
        z = self.model_.predict(Xt)
        return self._target_scaler.inverse_transform(z)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
