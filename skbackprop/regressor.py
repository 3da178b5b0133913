"""BackpropRegressor: a drop-in superset of scikit-learn's MLPRegressor."""

import scipy.sparse as sp
from sklearn.base import RegressorMixin, clone
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, column_or_1d

from ._core import xp as _xp
from ._estimator import docs as _docs
from ._estimator.available import _available_if
from ._estimator.base import BaseBackprop
from ._estimator.compat import _fit_context
from ._estimator.messages import _warn
from ._estimator.validation import _validate_with_hints
from ._training.checkpoint import _atomic
from .losses import LOSSES, Loss, SquaredError, get_loss

# A squared-error target whose scale (largest of its standard deviation and mean
# absolute value, per output) lies outside these bounds gets a hint to scale it.
TARGET_SCALE_BOUNDS = (1e-2, 1e2)


def _check_target_scale(y, loss):
    """Warn when a squared-error target is far from unit scale, and say what to do.

    The network starts with outputs near 0 and unit-scale weights, and each step
    moves them by about ``learning_rate_init``; ``tol`` compares losses in the
    target's units squared. A target of scale 1e5 (house prices) is then
    approached far too slowly (R² below 0 after ``max_iter`` epochs), one of
    scale 1e-3 stops at once (every improvement is below ``tol``).
    scikit-learn's MLP behaves the same, silently.
    """
    if not isinstance(loss, SquaredError) or y.shape[0] < 2:
        return
    xp = _xp.namespace(y)
    std = float(xp.max(xp.std(y, axis=0)))
    mean_abs = float(xp.max(xp.mean(xp.abs(y), axis=0)))
    scale = max(std, mean_abs)
    low, high = TARGET_SCALE_BOUNDS
    if low <= scale <= high or scale == 0:
        return
    _warn(
        f"The target is far from unit scale (standard deviation {std:.3g}, mean "
        f"absolute value {mean_abs:.3g}): with the squared error the network "
        f"{'fits it very slowly' if scale > high else 'stops before fitting it'}"
        f" (its outputs start near 0 and move by about learning_rate_init per "
        f"step; tol compares losses in the target's units). Standardise the "
        f"target: sklearn.compose.TransformedTargetRegressor(regressor=..., "
        f"transformer=sklearn.preprocessing.StandardScaler()) fits on the scaled "
        f"target and predicts in the original units.",
        UserWarning,
    )


class BackpropRegressor(RegressorMixin, BaseBackprop):  # noqa: D101
    __doc__ = f"""Neural network regressor trained by backpropagation.

    Same parameters, defaults, attributes and behaviour as scikit-learn's
    :class:`~sklearn.neural_network.MLPRegressor`, plus pluggable activations,
    ``validation_loss_curve_`` and ``gradient_norms_``, and pluggable losses:
    robust (Huber), quantile (pinball) and your own. The output layer is the
    loss's link: the exponential for the Poisson loss, the identity otherwise.

    Parameters
    ----------
    loss : {{"squared_error", "poisson", "huber", "quantile"}} or Loss, \
            default="squared_error"
        The loss, by name or as a :class:`~skbackprop.losses.Loss` object (whose
        parameters are then reachable as ``loss__delta`` and the like, e.g. in
        a grid search). Each is a mean over the samples, summed over the
        outputs when there are several:

        - "squared_error" (:class:`~skbackprop.losses.SquaredError`):
          ``½·(p - y)²``, half the lecture's ``(o - y)²``;
        - "poisson" (:class:`~skbackprop.losses.PoissonLoss`): half the
          Poisson deviance with a log link (exponential output), for
          ``y >= 0``;
        - "huber" (:class:`~skbackprop.losses.HuberLoss`, ``delta=1.0``):
          ``½·r²`` for residuals ``|r| <= delta``, linear beyond: robust to
          outliers;
        - "quantile" (:class:`~skbackprop.losses.QuantileLoss`,
          ``quantile=0.5``): the pinball loss, predicting the conditional
          quantile (the median by default). Pass ``QuantileLoss(quantile=0.95)``
          for another; fit one model per quantile for a prediction interval;
        - a subclass of :class:`~skbackprop.losses.Loss` of your own.

        ``score`` stays R² whatever the loss; with ``early_stopping``,
        ``validation_metric="loss"`` stops on the loss itself, which suits
        the Huber and quantile losses better than R² (a fit of the mean).

    {_docs.HIDDEN_PARAMS}

    {_docs.COMMON_PARAMS}

    {_docs.TRAINING_EXTRAS}

    {_docs.DROPOUT_PARAM}

    {_docs.EARLY_STOPPING_PARAMS}

    Attributes
    ----------
    {_docs.COMMON_ATTRIBUTES}

    See Also
    --------
    BackpropClassifier : The classifier on the same core.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop import BackpropRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = BackpropRegressor(hidden_layer_sizes=(16,), activation="tanh",
    ...                         solver="lbfgs", random_state=0).fit(X, X.ravel() ** 2)
    >>> reg.predict([[0.5]]).shape
    (1,)
    """

    _parameter_constraints: dict = {
        **BaseBackprop._parameter_constraints,
        "loss": [StrOptions(set(LOSSES)), Loss],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        validation_metric="score",
        callbacks=None,
        weight_decay=0.0,
        max_grad_norm=None,
        dropout=0.0,
        scoring=None,
        tol_mode="absolute",
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.validation_metric = validation_metric
        self.callbacks = callbacks
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.dropout = dropout
        self.scoring = scoring
        self.tol_mode = tol_mode

    def _validate_input(self, X, y, incremental, reset, xp):
        loss = self._make_loss()  # the loss's parameters before the data
        X, y = _validate_with_hints(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=_xp.float_dtypes(xp),
            order="C",
            reset=reset,
        )
        if sp.issparse(y):  # a sparse multi-output target trains densely
            y = y.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"The regressor needs numeric targets, but y is non-numeric (dtype "
                f"{y.dtype}, "
                f"e.g. {y.flat[0].item()!r}). Convert y to numbers, or use "
                "BackpropClassifier for class labels."
            )
        loss.check_targets(y)
        if reset:  # a fresh fit, or the first partial_fit
            _check_target_scale(y, loss)
        return X, y

    def _encode_validation_targets(self, y, dtype):
        y = check_array(
            y, ensure_2d=False, dtype=None, accept_sparse=True, input_name="y_val"
        )
        if sp.issparse(y):
            y = y.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"y_val must be numeric, as y, but has dtype {y.dtype}. Convert the "
                "validation targets to numbers."
            )
        self._make_loss().check_targets(y)
        return y.astype(dtype, copy=False)

    def _make_loss(self):
        """Return the validated loss: a copy, never the user's object itself."""
        loss = get_loss(self.loss)
        if loss._for_classifier:
            raise ValueError(
                f"{type(loss).__name__} is a classification loss: it expects the "
                "0/1 targets that BackpropClassifier encodes from class labels. "
                f"Use BackpropClassifier for labels, or a regression loss here: "
                f"one of {sorted(LOSSES)} or a Loss subclass of your own."
            )
        loss = clone(loss)
        loss._check_params()
        return loss

    def _predict_from_output(self, out):
        return _xp.ravel(out) if out.shape[1] == 1 else out

    def _targets_for_score(self, Y):
        return self._predict_from_output(Y)

    def _score_predictions(self, y_true, y_pred, sample_weight):
        return r2_score(y_true, y_pred, sample_weight=sample_weight)

    @_available_if(lambda est: est._check_partial_fit_allowed())
    @_atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one pass over ``X``, ``y``.

        Takes no validation set (``X_val``): ``partial_fit`` does not stop
        early, so ``fit`` alone takes one.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        return self._predict_from_output(self._validated_output(X))
