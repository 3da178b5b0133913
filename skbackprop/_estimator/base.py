"""Estimator layer shared by the classifier and the regressor.

Turns user data into the core's inputs, initialises weights as scikit-learn's MLP
does, builds the :class:`~skbackprop.network.Network` for each fit, and predicts. The
training loops live in :mod:`skbackprop._training.loop` and
:mod:`skbackprop._training.lbfgs`,
the structure and fitted-state bookkeeping in :mod:`skbackprop._estimator.state`, the
early-stopping split in :mod:`skbackprop._training.split` and its bookkeeping in
:mod:`skbackprop._training.early_stopping`.
"""

import contextlib
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from .._core import xp as _xp
from .._kernels import config as _config
from .._kernels import loading as _kernel_loading
from .._training.checkpoint import _atomic
from .._training.fit_data import FitData, _combine
from .._training.lbfgs import LbfgsMixin
from .._training.loop import TrainingMixin
from .._training.validation_set import (
    check_validation_args,
    prepare_validation,
    resolve_scorer,
)
from ..activations import ACTIVATIONS, Activation
from ..exceptions import UnavailableMethodError
from ..losses import is_builtin as is_builtin_loss
from ..network import Network, clip_extreme, forward, signal_limit
from ..schedules import Schedule
from .checks import _check_in_namespace, _check_loss_in_namespace, _CheckedLoss
from .compat import _check_sample_weight, _fit_context
from .messages import _non_finite_error
from .sklearn_callbacks import SklearnCallbackMixin
from .state import _STOCHASTIC_SOLVERS, StateMixin
from .validation import _validate_with_hints

# Parameters beyond scikit-learn's MLP checked on every fit and partial_fit.
_EXTRAS = ("learning_rate", "weight_decay", "max_grad_norm", "label_smoothing")


class BaseBackprop(
    StateMixin,
    TrainingMixin,
    LbfgsMixin,
    SklearnCallbackMixin,
    BaseEstimator,
    metaclass=ABCMeta,
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
        "learning_rate": [
            StrOptions({"constant", "invscaling", "adaptive"}),
            Schedule,
        ],
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
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        # A sequence: one rate per hidden layer, checked with the layers at fit.
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        # The validation side of early stopping (skbackprop._training.validation_set).
        "scoring": [str, callable, None],
        "tol_mode": [StrOptions({"absolute", "relative"})],
    }

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _validate_input(self, X, y, incremental, reset, xp):
        """Return ``X`` (in namespace ``xp``) and encoded targets (host), validated."""

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

    def _smooth_targets(self, Y):
        """Return the training targets from the encoded ones (the classifier smooths).

        Applied after the class weights are read off the 0/1 encoding.
        """
        return Y

    def _encode_validation_targets(self, y, dtype):
        """Validate ``y_val`` against the fitted targets; return it encoded."""
        raise NotImplementedError

    def _validation_class_factors(self, Y):
        """Per-row class weights of the encoded validation targets, or None."""
        return None

    def _class_weight_factors(self, Y, sample_weight, incremental):
        """Per-row factors multiplied into the sample weights, or None.

        The classifier returns its class weights here; they are applied after the
        early-stopping split, so that integer ``sample_weight`` still splits as
        repeated rows.
        """
        return None

    def _network(self, layer_units, dtype, xp=np, device=None, dropout=None):
        """Build the core for this fit and make the fitted weights views into it.

        The current ``coefs_``/``intercepts_``/``activation_params_`` are copied in
        (moved to ``xp`` on ``device`` when drawn on the host), so whatever the
        user assigned or edited since the last call is what trains. ``dropout``:
        the rate above each hidden layer (see :meth:`_dropout_rates`).
        """
        loss = self._loss
        if not is_builtin_loss(loss):
            # A user's loss is watched for NaN or inf on finite outputs, so that
            # its fault is not reported as a divergence (TrainingMixin).
            loss = _CheckedLoss(loss)
        net = Network(
            layer_units,
            self.activations_,
            loss,
            dtype,
            xp=xp,
            device=device,
            dropout=dropout,
            random_state=self._dropout_seed(dropout),
        )
        net.set_parameters(self.coefs_, self.intercepts_, self.activation_params_)
        self.coefs_ = net.coefs
        self.intercepts_ = net.intercepts
        self.activation_params_ = net.activation_params
        return net

    def _prepare(self, X, y, sample_weight, incremental, validation=None):
        """Validate, initialise on the first pass, and build the network.

        ``validation`` is ``(X_val, y_val, sample_weight_val)`` where the user
        passed a validation set to ``fit`` (checked by
        :func:`~skbackprop._training.validation_set.check_validation_args`).

        Returns
        -------
        data : FitData
            The network (holding a copy of the current or fresh weights), the
            validated inputs in its namespace, device and dtype, the encoded
            2-D targets, ``sample_weight`` and the per-row class weights
            (classifier with ``class_weight``) on the host, and whether the
            weights were freshly initialised; the validation set (validated
            and encoded as the training data) and the early-stopping scorer.
        """
        hidden = self._hidden_layer_sizes()
        dropout = self._dropout_rates(len(hidden))
        X = _xp.plain_input(X)
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        xp = _xp.dispatch_namespace(X)
        if not first_pass:
            self._check_namespace(X, xp, "partial_fit" if incremental else "fit")
        # X stays in its namespace and on its device; y and sample_weight are
        # validated and encoded on the host, then moved to X's device to train.
        X, Y = self._validate_input(X, _xp.host(y), incremental, first_pass, xp)
        dtype = X.dtype if first_pass else self.coefs_[0].dtype
        host_dtype = _xp.numpy_dtype(dtype)
        # Inputs beyond the signal limit are clipped once, before any cast to a
        # float32 model's dtype (which would overflow them to inf): a copy only then.
        X = clip_extreme(X, signal_limit(dtype, xp))
        X = X.astype(dtype, copy=False) if xp is np else xp.astype(X, dtype, copy=False)
        Y = np.asarray(Y, dtype=host_dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if not first_pass and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} output column(s) but the model was fitted with "
                f"{self.n_outputs_}. Pass targets with the same columns, or refit "
                "with warm_start=False to start a new model."
            )
        if sample_weight is not None:
            # Validated against a host stand-in of X (only its length is used).
            like = X if xp is np else np.empty((X.shape[0], 0))
            sample_weight = _check_sample_weight(
                _xp.host(sample_weight), like, dtype=host_dtype
            )
            if (sample_weight < 0).any():
                raise ValueError(
                    "sample_weight has negative values (the smallest is "
                    f"{sample_weight.min()}); weights must be non-negative: a "
                    "negative weight would reward the model for being wrong on "
                    "that sample. Use 0 to ignore a sample."
                )
        class_factor = self._class_weight_factors(Y, sample_weight, incremental)
        if class_factor is not None:
            class_factor = np.asarray(class_factor, dtype=host_dtype)
        Y = self._smooth_targets(Y)
        val = None
        if validation is not None:
            val = prepare_validation(self, *validation, X, dtype, Y)
        scorer = resolve_scorer(self)
        layer_units = [X.shape[1], *hidden, Y.shape[1]]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, layer_units, host_dtype)
        else:
            self._continue(layer_units, host_dtype)
        device = None if xp is np else _xp.device(X)
        if xp is not np:
            for act in self.activations_:
                _check_in_namespace(act, xp, device)
            _check_loss_in_namespace(self._loss, xp, device)
        net = self._network(layer_units, dtype, xp, device, dropout)
        return FitData(net, X, Y, sample_weight, class_factor, first_pass, val, scorer)

    # ---------------------------------------------------------------- fitting
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
        """Fit the network to data ``X`` and targets ``y`` by backpropagation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: class labels (classifier) or real values (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; integer weights act as repeated samples.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            A validation set for early stopping, as in scikit-learn's
            ``HistGradientBoosting*.fit``: with it, every row of ``X`` trains
            and each epoch is scored on ``X_val`` instead of on
            ``validation_fraction`` of ``X`` (which is then ignored). It needs
            ``early_stopping=True`` and a stochastic solver, and is validated
            as ``X`` is (same features and feature names, dtype, namespace and
            device). In a :class:`~sklearn.pipeline.Pipeline`, transform it as
            ``X`` with ``Pipeline(..., transform_input=["X_val"])``.
            ``partial_fit`` takes no validation set (it does not stop early).
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of ``X_val``; both or neither are passed. The classifier's
            must be classes it is fitted on (a label absent from ``y`` is an
            error).
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples (class weights are multiplied in,
            as for the training rows); only with ``X_val``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validation = None
        if check_validation_args(self, X_val, y_val, sample_weight_val):
            validation = (X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight, incremental=False, validation=validation)

    def _check_training_extras(self):
        """Check the schedule object, and refuse settings L-BFGS cannot honour."""
        # partial_fit on a fitted model skips scikit-learn's parameter check
        # (as for scikit-learn's MLP); these parameters are checked each call.
        names = [n for n in _EXTRAS if n in self._parameter_constraints]
        validate_parameter_constraints(
            {n: self._parameter_constraints[n] for n in names},
            {n: getattr(self, n) for n in names},
            caller_name=type(self).__name__,
        )
        if isinstance(self.learning_rate, Schedule):
            self.learning_rate.validate()
        if self.solver not in _STOCHASTIC_SOLVERS:
            for name, off in (("weight_decay", 0.0), ("max_grad_norm", None)):
                value = getattr(self, name, off)
                if value is not None and value != off:
                    raise ValueError(
                        f"{name}={value!r} acts on the steps of solver='sgd' or "
                        f"'adam'; solver={self.solver!r} takes none (its line "
                        "search needs the true gradient). Use solver='adam' or "
                        f"'sgd', or set {name}={off!r}"
                        + (" and regularize with alpha (L2)." if off == 0.0 else ".")
                    )

    def _fit(self, X, y, sample_weight, incremental, validation=None):
        self._check_callbacks_param()
        self._check_training_extras()
        given = (X, y, sample_weight)
        # "balanced" class counts over the batches trained on so far (partial_fit).
        counts_before = vars(self).get("_class_counts")
        data = self._prepare(X, y, sample_weight, incremental, validation)
        net = data.net
        # scikit-learn's callbacks (set_callbacks): the root task opens once the
        # input is validated and closes once the fitted state is complete.
        self._start_fit_tasks(*given, incremental)
        # Recorded on the host while training (moved to X's device at the end).
        self.gradient_norms_ = _xp.to_numpy(self.gradient_norms_)
        if not _xp.all_finite(net.params):
            raise ValueError(
                "The starting weights contain NaN or inf (were coefs_, intercepts_ "
                "or activation_params_ assigned non-finite values?). Assign finite "
                "weights, or fit with warm_start=False to start afresh."
            )
        # Overflow in a diverging fit is detected explicitly (the loss and weights
        # are checked after every epoch and the last finite ones restored), so
        # numpy's floating-point warnings would only repeat it less helpfully.
        stochastic = self.solver in _STOCHASTIC_SOLVERS
        # Small batches' products train on one BLAS thread (skbackprop._kernels.config).
        rows = data.X.shape[0]
        if stochastic:
            rows = min(rows, 200 if self.batch_size == "auto" else self.batch_size)
        threads = contextlib.nullcontext()
        if net.xp is np:
            threads = _config.blas_threads_for(rows, net.layer_units)
        # Which compiled kernels this call uses, decided once, now (may raise with
        # kernels=True, before anything changed).
        kernels = _kernel_loading.plan_for_fit(
            self, net, data.X, incremental, _config.get_config()["kernels"]
        )
        errstate = np.errstate(over="ignore", invalid="ignore", divide="ignore")
        with errstate, threads, _kernel_loading.using(kernels):
            if stochastic:
                self._fit_stochastic(data, incremental)
                if incremental and self.n_iter_ == 0 and hasattr(self, "_class_counts"):
                    # No epoch completed (Ctrl-C, or a divergence back to the
                    # starting weights): the batch was not trained on, so, as in
                    # t_, the class counts do not take it in.
                    self._class_counts = counts_before
            else:
                weights = _combine(data.sample_weight, data.class_factor)
                Y = net.asarray(data.Y)
                self._fit_lbfgs(net, data.X, Y, net.asarray(weights), data.first_pass)
        if not _xp.all_finite(net.params):
            raise _non_finite_error(self)
        if net.xp is not np:
            # Every fitted array attribute lives in X's namespace and on its
            # device, scikit-learn's array API convention (classes_ and feature
            # names excepted).
            for key, value in list(vars(self).items()):
                if isinstance(value, np.ndarray) and _xp.movable(key, value):
                    setattr(self, key, _xp.to_device(value, net.xp, net.device))
        self._end_fit_tasks()
        return self

    def _check_partial_fit_allowed(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers; "
                f"solver={self.solver!r} is not stochastic. Use solver='sgd' or "
                "solver='adam'."
            )
        if self.early_stopping:
            raise UnavailableMethodError(
                "partial_fit does not support early_stopping=True: a single pass "
                "has no held-out set to stop on. Set early_stopping=False (for "
                "example with set_params) to train incrementally."
            )
        return True

    # -------------------------------------------------------------- predicting
    def _forward(self, X, link=True, strict=False, hidden=None):
        return forward(
            X,
            self.coefs_,
            self.intercepts_,
            self.activations_,
            self.activation_params_,
            self._loss,
            link=link,
            strict=strict,
            hidden=hidden,
        )

    def _validated_output(self, X, link=True, method="predict", hidden=None):
        """Validate ``X`` as ``predict`` does and propagate it.

        Returns the output layer (its signal with ``link=False``), or the output
        of hidden layer ``hidden`` (:class:`skbackprop.HiddenFeatures`).
        """
        if X is vars(self).get("_fit_validation_X", False):
            # A scorer scoring an epoch on the validation set (already validated).
            return self._forward(X, link=link, hidden=hidden)
        if not hasattr(self, "coefs_"):
            check_is_fitted(self)  # raises NotFittedError with the usual message
        X = _xp.plain_input(X)
        xp = _xp.dispatch_namespace(X)
        self._check_namespace(X, xp, method)
        if not self._is_plain_valid_array(X):
            X = _validate_with_hints(
                self,
                X,
                accept_sparse=["csr", "csc"],
                dtype=_xp.float_dtypes(xp),
                reset=False,
            )
        dtype = self.coefs_[0].dtype
        if X.dtype != dtype:
            # Clip before casting down to a float32 model (the cast would overflow
            # to inf); in the model's dtype, forward() clips by itself.
            X = clip_extreme(X, signal_limit(dtype, xp))
            X = X.astype(dtype) if xp is np else xp.astype(X, dtype)
        return self._forward(X, link=link, hidden=hidden)

    def _check_namespace(self, X, xp, method, owner=None):
        """Refuse ``X`` of another namespace or device than the fitted weights.

        Under ``array_api_dispatch`` the input's namespace decides where the model
        computes, so it must be the one the weights live in; without dispatch
        every input is converted to numpy, so the weights must be numpy. The
        message names ``owner.method()`` (``owner``: this class by default).
        """
        fitted = _xp.namespace(self.coefs_[0])
        if _xp.is_numpy(fitted) and _xp.is_numpy(xp):
            return
        same = _xp.namespace_name(fitted) == _xp.namespace_name(xp) and str(
            _xp.device(X)
        ) == str(_xp.device(self.coefs_[0]))
        if same:
            return
        where = (
            f"{_xp.namespace_name(fitted)} arrays on device "
            f"{_xp.device(self.coefs_[0])!r}"
        )
        given = (
            "a scipy sparse matrix (sparse input is numpy-only)"
            if sp.issparse(X)
            else f"{_xp.namespace_name(xp)} arrays on device {_xp.device(X)!r}"
            if xp is not np
            else "numpy arrays (array_api_dispatch is off, or X is not an array of "
            "another namespace)"
        )
        who = owner or type(self).__name__
        raise ValueError(
            f"Inputs passed to {who}.{method}() must use the same "
            f"namespace and the same device as those passed to fit(): the model's "
            f"weights are {where}, but X is {given}. Pass X in the model's "
            "namespace and device with sklearn.set_config(array_api_dispatch=True), "
            "or move the model with skbackprop.move_to(model, xp, device)."
        )

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
        # Where scikit-learn allows array-API dispatch (SciPy >= 1.14).
        tags.array_api_support = _xp.dispatch_supported()
        return tags
