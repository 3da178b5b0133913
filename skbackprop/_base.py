"""Estimator layer shared by the classifier and the regressor.

Turns user data into the core's inputs, initialises weights as scikit-learn's MLP
does, builds the :class:`~skbackprop.network.Network` for each fit, and predicts. The
training loops live in :mod:`skbackprop._training` and :mod:`skbackprop._lbfgs`,
the structure and fitted-state bookkeeping in :mod:`skbackprop._state`, the
early-stopping split in :mod:`skbackprop._split`.
"""

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
)
from sklearn.utils.validation import check_is_fitted

from ._compat import _check_sample_weight, _fit_context
from ._lbfgs import LbfgsMixin
from ._state import _STOCHASTIC_SOLVERS, StateMixin
from ._training import TrainingMixin
from ._utils import (
    _atomic,
    _combine,
    _non_finite_error,
    _UnavailableError,
    _validate_with_hints,
)
from .activations import ACTIVATIONS, Activation
from .network import Network, clip_extreme, forward, signal_limit


class BaseBackprop(
    StateMixin, TrainingMixin, LbfgsMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class of the backprop estimators; use the classifier or the regressor."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS)), Activation, list, tuple],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "validation_metric": [StrOptions({"score", "loss"})],
        "callbacks": "no_validation",  # any objects with the hook methods
    }

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _validate_input(self, X, y, incremental, reset):
        """Return ``X`` and the encoded targets ``Y`` (2-D), validated."""

    @abstractmethod
    def _make_loss(self):
        """Return the :class:`~skbackprop.losses.Loss` for the fitted targets."""

    @abstractmethod
    def _predict_from_output(self, out):
        """Turn the network's output into predictions."""

    @abstractmethod
    def _score_predictions(self, y_true, y_pred, sample_weight):
        """Return the validation score (accuracy or R²) of predictions."""

    def _targets_for_score(self, Y):
        """Targets in the form :meth:`_score_predictions` expects."""
        return Y

    def _class_weight_factors(self, Y, sample_weight, incremental):
        """Per-row factors multiplied into the sample weights, or None.

        The classifier returns its class weights here; they are applied after the
        early-stopping split, so that integer ``sample_weight`` still splits as
        repeated rows.
        """
        return None

    def _network(self, layer_units, dtype):
        """Build the core for this fit and make the fitted weights views into it.

        The current ``coefs_``/``intercepts_``/``activation_params_`` are copied in,
        so whatever the user assigned or edited since the last call is what trains.
        """
        net = Network(layer_units, self.activations_, self._loss, dtype)
        net.set_parameters(self.coefs_, self.intercepts_, self.activation_params_)
        self.coefs_ = net.coefs
        self.intercepts_ = net.intercepts
        self.activation_params_ = net.activation_params
        return net

    def _prepare(self, X, y, sample_weight, incremental):
        """Validate, initialise on the first pass, and build the network.

        Returns
        -------
        net : Network
            The core, holding a copy of the current (or fresh) weights.
        X, Y : ndarray or sparse matrix
            Validated inputs and encoded 2-D targets in the network's dtype.
        sample_weight : ndarray or None
            The validated ``sample_weight``.
        class_factor : ndarray or None
            Per-row class weights (classifier with ``class_weight``), to be
            multiplied into ``sample_weight``.
        first_pass : bool
            Whether the weights were freshly initialised.
        """
        hidden = self._hidden_layer_sizes()
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        dtype = X.dtype if first_pass else self.coefs_[0].dtype
        # Inputs beyond the signal limit are clipped once, before any cast to a
        # float32 model's dtype (which would overflow them to inf): a copy only then.
        X = clip_extreme(X, signal_limit(dtype)).astype(dtype, copy=False)
        Y = np.asarray(Y, dtype=dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if not first_pass and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} output column(s) but the model was fitted with "
                f"{self.n_outputs_}. Pass targets with the same columns, or refit "
                "with warm_start=False to start a new model."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=dtype)
            if (sample_weight < 0).any():
                raise ValueError(
                    "sample_weight has negative values (the smallest is "
                    f"{sample_weight.min()}); weights must be non-negative: a "
                    "negative weight would reward the model for being wrong on "
                    "that sample. Use 0 to ignore a sample."
                )
        class_factor = self._class_weight_factors(Y, sample_weight, incremental)
        if class_factor is not None:
            class_factor = np.asarray(class_factor, dtype=dtype)
        layer_units = [X.shape[1], *hidden, Y.shape[1]]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, layer_units, dtype)
        else:
            self._continue(layer_units, dtype)
        net = self._network(layer_units, dtype)
        return net, X, Y, sample_weight, class_factor, first_pass

    # ---------------------------------------------------------------- fitting
    @_atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data ``X`` and targets ``y`` by backpropagation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: class labels (classifier) or real values (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; integer weights act as repeated samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental):
        net, X, Y, sample_weight, class_factor, first_pass = self._prepare(
            X, y, sample_weight, incremental
        )
        if not np.isfinite(net.params).all():
            raise ValueError(
                "The starting weights contain NaN or inf (were coefs_, intercepts_ "
                "or activation_params_ assigned non-finite values?). Assign finite "
                "weights, or fit with warm_start=False to start afresh."
            )
        # Overflow in a diverging fit is detected explicitly (the loss and weights
        # are checked after every epoch and the last finite ones restored), so
        # numpy's floating-point warnings would only repeat it less helpfully.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.solver in _STOCHASTIC_SOLVERS:
                self._fit_stochastic(
                    net, X, Y, sample_weight, class_factor, incremental, first_pass
                )
            else:
                self._fit_lbfgs(
                    net, X, Y, _combine(sample_weight, class_factor), first_pass
                )
        if not np.isfinite(net.params).all():
            raise _non_finite_error(self)
        return self

    def _check_partial_fit_allowed(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers; "
                f"solver={self.solver!r} is not stochastic. Use solver='sgd' or "
                "solver='adam'."
            )
        if self.early_stopping:
            raise _UnavailableError(
                "partial_fit does not support early_stopping=True: a single pass "
                "has no held-out set to stop on. Set early_stopping=False (for "
                "example with set_params) to train incrementally."
            )
        return True

    # -------------------------------------------------------------- predicting
    def _forward(self, X, link=True, strict=False):
        return forward(
            X,
            self.coefs_,
            self.intercepts_,
            self.activations_,
            self.activation_params_,
            self._loss,
            link=link,
            strict=strict,
        )

    def _validated_output(self, X, link=True):
        if not hasattr(self, "coefs_"):
            check_is_fitted(self)  # raises NotFittedError with the usual message
        if not self._is_plain_valid_array(X):
            X = _validate_with_hints(
                self,
                X,
                accept_sparse=["csr", "csc"],
                dtype=(np.float64, np.float32),
                reset=False,
            )
        dtype = self.coefs_[0].dtype
        if X.dtype != dtype:
            # Clip before casting down to a float32 model (the cast would overflow
            # to inf); in the model's dtype, forward() clips by itself.
            X = clip_extreme(X, signal_limit(dtype)).astype(dtype)
        return self._forward(X, link=link)

    def _is_plain_valid_array(self, X):
        """Whether ``X`` already is what validate_data would return, unchanged.

        A finite, 2-D float ndarray with the fitted number of features, for a model
        fitted without feature names: the common case, and the one where full
        validation costs more than a small network's forward pass (one-row
        predictions). Anything else goes through scikit-learn's validate_data.
        """
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in (np.float64, np.float32)
            and X.shape[1] == self.n_features_in_
            and X.shape[0] > 0
            and not hasattr(self, "feature_names_in_")
            and np.isfinite(X).all()
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
