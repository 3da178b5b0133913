"""Estimator layer shared by the classifier and the regressor.

Turns user data into the core's inputs, initialises weights as scikit-learn's MLP does,
and drives an optimizer over :class:`~skbackprop.network.Network` in small pieces:
:meth:`BaseBackprop._run_epoch` (batching), :meth:`BaseBackprop._end_epoch` (stopping
and best-weights bookkeeping), :func:`_train_validation_split` (early-stopping split).
"""

import functools
import os
import sys
import time
import types
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, gen_batches, shuffle
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ._compat import _check_sample_weight, _fit_context
from .activations import ACTIVATIONS, Activation, Logistic, get_activation
from .network import Network, clip_extreme, forward, signal_limit
from .optimizers import SGD, Adam, minimize_lbfgs

_STOCHASTIC_SOLVERS = ("sgd", "adam")

# Above this many weight units, integer weights are not expanded for the split.
_MAX_SPLIT_UNITS = 10_000_000


def _warn(message, category=UserWarning):
    """Warn with the location of the user's call, outside skbackprop and sklearn."""
    internal = (
        os.path.dirname(__file__),
        os.path.dirname(sys.modules["sklearn"].__file__),
    )
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(internal):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


# How to fix the input errors scikit-learn's validation reports, by what they say.
_INPUT_HINTS = [
    (
        "infinity",
        "Replace or drop infinite values before fitting (e.g. np.nan_to_num, or "
        "clip extreme values).",
    ),
    (
        "y contains NaN",
        "Drop the samples whose target is missing, or impute the target.",
    ),
    (
        "0 sample(s)",
        "Pass at least one sample: the data is empty, check any filtering before.",
    ),
    (
        "0 feature(s)",
        "Pass at least one feature column.",
    ),
    (
        "inconsistent numbers of samples",
        "X and y (and sample_weight) need one entry per sample; check that they "
        "were sliced the same way.",
    ),
    (
        "could not convert",
        "The model needs numeric input: encode text or categorical columns first "
        "(e.g. OneHotEncoder or OrdinalEncoder in a ColumnTransformer); for class "
        "labels as targets use BackpropClassifier.",
    ),
    (
        "features as input",
        "Pass data with the same columns as during fit.",
    ),
]


def _validate_with_hints(*args, **kwargs):
    """``validate_data`` whose errors also say how to fix the input."""
    try:
        return validate_data(*args, **kwargs)
    except (ValueError, TypeError) as err:
        msg = str(err)
        hints = [hint for key, hint in _INPUT_HINTS if key in msg and hint not in msg]
        if not hints:
            raise
        raise type(err)(f"{msg} {' '.join(hints)}") from err


class _available_if:
    """Make a method exist only when ``check(estimator)`` passes.

    Like scikit-learn's ``available_if`` (``hasattr`` is False when it fails), but
    the AttributeError the check raises reaches the user with its own message,
    which says why the method is unavailable and what to do.
    """

    def __init__(self, check):
        self.check = check

    def __call__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)
        return self

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        self.check(obj)
        return types.MethodType(self.fn, obj)


class _Snapshots:
    """The starting weights and those after the last two finite epochs."""

    def __init__(self, params):
        self._items = [(0, params.copy())]

    def append(self, epoch, params):
        """Record the weights after ``epoch`` (reusing the oldest buffer)."""
        if len(self._items) < 3:
            self._items.append((epoch, params.copy()))
            return
        _, buf = self._items.pop(1)
        buf[...] = params
        self._items.append((epoch, buf))

    def latest_first(self):
        """``(epoch, params)`` pairs, newest first, the starting weights last."""
        return reversed(self._items)


class _StopTraining(Exception):
    """A callback asked L-BFGS-B to stop (raised through scipy, any version)."""


def _callbacks(callbacks):
    """Return the callbacks parameter as a list."""
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        return list(callbacks)
    return [callbacks]


def _notify(callbacks, hook, estimator, logs):
    """Call ``hook`` on every callback that has it; True if any asked to stop."""
    stop = False
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is not None and method(estimator, logs):
            stop = True
    return stop


def _take_rows(X, idx):
    """Rows ``idx`` of a dense or sparse matrix."""
    if sp.issparse(X):
        return X[idx]
    return np.take(X, idx, axis=0)


def _canonical_order(X, Y):
    """Return an order of the rows that depends on their values, not positions.

    Rows are sorted by a fixed random projection of ``[X, Y]``: identical rows get
    identical keys (and are interchangeable), distinct rows almost surely distinct
    ones. Works for dense and sparse ``X`` in one pass.
    """
    rng = np.random.RandomState(0)
    key = np.asarray(X @ rng.uniform(1, 2, X.shape[1])).ravel()
    key = key + np.pi * (Y @ rng.uniform(1, 2, Y.shape[1]))
    return np.argsort(key, kind="stable")


def _train_validation_split(X, Y, sample_weight, stratify, fraction, random_state):
    """Split off the early-stopping validation set.

    The split depends on the rows' values, not on their order: rows are put in a
    canonical order before the random split. Integer weights are frequency weights:
    a weight ``k`` stands for ``k`` copies of the row and the copies are split as
    if they were separate rows. So shuffling the data, or replacing repeated rows
    by integer weights, gives the same split (and the same model). Other weights
    travel with their rows.

    Returns
    -------
    train, validation : tuple of (X, Y, sample_weight)
    """
    n = X.shape[0]
    order = _canonical_order(X, Y)
    sw = sample_weight
    if sw is None:
        copies = np.ones(n, dtype=np.int64)
    elif np.all(sw == np.round(sw)) and sw.sum() <= _MAX_SPLIT_UNITS:
        copies = sw.astype(np.int64)
    else:
        copies = None
    if copies is not None:
        units = np.repeat(order, copies[order])
        strat = None if stratify is None else stratify[units]
        tr_units, val_units = train_test_split(
            units, random_state=random_state, test_size=fraction, stratify=strat
        )
        parts = []
        for chosen in (tr_units, val_units):
            # Each row once, in the order the split drew it: without weights this
            # is exactly train_test_split's order.
            rows, first = np.unique(chosen, return_index=True)
            rows = rows[np.argsort(first)]
            w = None if sw is None else np.bincount(chosen, minlength=n)[rows]
            w = None if w is None else w.astype(sw.dtype)
            parts.append((_take_rows(X, rows), Y[rows], w))
        return parts[0], parts[1]
    strat = None if stratify is None else stratify[order]
    tr, val = train_test_split(
        order, random_state=random_state, test_size=fraction, stratify=strat
    )
    return (
        (_take_rows(X, tr), Y[tr], sw[tr]),
        (_take_rows(X, val), Y[val], sw[val]),
    )


class BaseBackprop(BaseEstimator, metaclass=ABCMeta):
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

    def _fit_sample_weight(self, Y, sample_weight, incremental):
        """Sample weights for training from encoded targets ``Y`` (2-D).

        The classifier folds its class weights in here.
        """
        return sample_weight

    # ------------------------------------------------------------ structure
    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if any(int(s) != s or s <= 0 for s in sizes):
            raise InvalidParameterError(
                f"hidden_layer_sizes must contain positive integers, got {sizes}. "
                "Give one size per hidden layer, e.g. (100,) or (64, 32)."
            )
        return [int(s) for s in sizes]

    def _resolve_activations(self, n_hidden):
        spec = self.activation
        if isinstance(spec, (list, tuple)):
            if len(spec) != n_hidden:
                raise ValueError(
                    f"activation is a list of {len(spec)} entries but there are "
                    f"{n_hidden} hidden layers (hidden_layer_sizes="
                    f"{self.hidden_layer_sizes!r}); give one activation per hidden "
                    "layer, or a single one for all."
                )
            acts = [get_activation(a) for a in spec]
        else:
            acts = [get_activation(spec)] * n_hidden
        # Clone so that fitting never shares state with the user's objects.
        return [clone(a) for a in acts]

    def _init_bound_factor(self, layer):
        # Glorot uniform as in scikit-learn: factor 2 for logistic units, 6 otherwise.
        # Layer i's weights use the activation they feed; the output layer uses the
        # last hidden one (scikit-learn uses its single activation everywhere).
        acts = self.activations_
        if acts:
            act = acts[min(layer, len(acts) - 1)]
        elif isinstance(self.activation, (str, Activation)):
            act = get_activation(self.activation)
        else:
            act = None
        return 2.0 if isinstance(act, Logistic) else 6.0

    def _initialize(self, Y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self._loss = self._make_loss()
        self.out_activation_ = self._loss.out_activation
        self.activations_ = self._resolve_activations(len(layer_units) - 2)
        rng = self._random_state
        self.coefs_, self.intercepts_ = [], []
        for i, (fan_in, fan_out) in enumerate(
            zip(layer_units[:-1], layer_units[1:], strict=True)
        ):
            bound = np.sqrt(self._init_bound_factor(i) / (fan_in + fan_out))
            coef = rng.uniform(-bound, bound, (fan_in, fan_out))
            intercept = rng.uniform(-bound, bound, fan_out)
            self.coefs_.append(coef.astype(dtype, copy=False))
            self.intercepts_.append(intercept.astype(dtype, copy=False))
        self.activation_params_ = [
            act.init_parameters(units, dtype)
            if hasattr(act, "init_parameters")
            else None
            for act, units in zip(self.activations_, layer_units[1:-1], strict=True)
        ]
        self._optimizer = None
        self._best_params = None
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self.gradient_norms_ = np.empty((0, self.n_layers_ - 1))
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self._best_criterion = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
                self.best_validation_score_ = None
        else:
            self.gradient_norms_ = np.empty((0, self.n_layers_ - 1))

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
        """Validate, initialise on the first pass, and build the network."""
        hidden = self._hidden_layer_sizes()
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        dtype = X.dtype if first_pass else self.coefs_[0].dtype
        X = X.astype(dtype, copy=False)
        Y = np.asarray(Y, dtype=dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=dtype)
        sample_weight = self._fit_sample_weight(Y, sample_weight, incremental)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=dtype)
        # Inputs beyond the signal limit are clipped once here (a copy only then).
        X = clip_extreme(X, signal_limit(dtype))
        layer_units = [X.shape[1], *hidden, Y.shape[1]]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, layer_units, dtype)
        self.n_outputs_ = Y.shape[1]
        net = self._network(layer_units, dtype)
        return net, X, Y, sample_weight

    # ---------------------------------------------------------------- fitting
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
        net, X, Y, sample_weight = self._prepare(X, y, sample_weight, incremental)
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
                self._fit_stochastic(net, X, Y, sample_weight, incremental)
            else:
                self._fit_lbfgs(net, X, Y, sample_weight)
        if not np.isfinite(net.params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed (e.g. with "
                "StandardScaler), or learning_rate_init may be too large."
            )
        return self

    def _check_partial_fit_allowed(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers; "
                f"solver={self.solver!r} is not stochastic. Use solver='sgd' or "
                "solver='adam'."
            )
        if self.early_stopping:
            raise AttributeError(
                "partial_fit is not available with early_stopping=True: a single "
                "pass has no held-out set to stop on. Set early_stopping=False."
            )
        return True

    def _make_optimizer(self, net):
        if self.solver == "sgd":
            return SGD(
                net.params.size,
                net.dtype,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return Adam(
            net.params.size,
            net.dtype,
            self.learning_rate_init,
            self.beta_1,
            self.beta_2,
            self.epsilon,
        )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            _warn(
                f"batch_size={self.batch_size} is larger than the {n_samples} "
                "training samples; it is clipped to the number of samples.",
                UserWarning,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _early_stopping_split(self, net, X, Y, sample_weight):
        """Training and validation sets (validation None without early stopping)."""
        if not self.early_stopping:
            return (X, Y, sample_weight), None
        stratify = None
        if is_classifier(self) and self.n_outputs_ == 1:
            stratify = self._targets_for_score(Y)
        too_small = (
            f"early_stopping=True holds out validation_fraction="
            f"{self.validation_fraction} of the n_samples={X.shape[0]} training "
            "samples, which "
            "leaves too few for a validation set (it needs at least 2 samples{}). "
            "Increase validation_fraction, use more data, or set "
            "early_stopping=False."
        )
        try:
            train, val = _train_validation_split(
                X,
                Y,
                sample_weight,
                stratify,
                self.validation_fraction,
                self._random_state,
            )
        except ValueError as err:  # train_test_split's own wording
            extra = "" if stratify is None else " and, stratified, one per class"
            raise ValueError(too_small.format(extra)) from err
        if val[0].shape[0] < 2:
            raise ValueError(too_small.format(f"; it got {val[0].shape[0]}"))
        if self._best_params is None or self._best_params.shape != net.params.shape:
            # Nothing better seen yet: the starting weights are the best.
            self._best_params = net.params.copy()
        return train, val

    def _fit_stochastic(self, net, X, Y, sample_weight, incremental):
        if incremental and self._optimizer is not None:
            optimizer = self._optimizer
        else:
            optimizer = self._optimizer = self._make_optimizer(net)
        train, val = self._early_stopping_split(net, X, Y, sample_weight)
        n_samples = train[0].shape[0]
        batch_size = self._batch_size(n_samples)
        order = np.arange(n_samples)
        callbacks = _callbacks(self.callbacks)
        _notify(callbacks, "on_fit_begin", self, {"n_samples": n_samples})
        # The weights after the last completed, finite epoch: what divergence and
        # Ctrl-C fall back to.
        last_good = net.params.copy()
        history = _Snapshots(net.params)
        start = time.perf_counter()
        self.n_iter_ = 0
        try:
            for _ in range(self.max_iter):
                if self.shuffle:
                    order = shuffle(order, random_state=self._random_state)
                loss, norms = self._run_epoch(net, optimizer, train, order, batch_size)
                if not (np.isfinite(loss) and np.isfinite(net.params).all()):
                    self._diverged(net, history, train[0])
                    break
                last_good[...] = net.params
                history.append(self.n_iter_ + 1, net.params)
                self.n_iter_ += 1
                self.loss_ = loss
                self.t_ += n_samples
                self.loss_curve_.append(loss)
                self.gradient_norms_ = np.vstack([self.gradient_norms_, norms])
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
                self._end_epoch(net, val)
                optimizer.iteration_ends(self.t_)
                logs = self._epoch_logs(loss, norms, optimizer, start)
                if _notify(callbacks, "on_epoch_end", self, logs):
                    break
                if self._no_improvement_count > self.n_iter_no_change:
                    what = (
                        "Validation score" if self.early_stopping else "Training loss"
                    )
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for "
                        f"{self.n_iter_no_change} consecutive epochs."
                    )
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    _warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                        "reached and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            net.params[...] = last_good
            if self.early_stopping:
                kept, more = "the best epoch's", "warm_start=True"
            else:
                kept, more = "the last completed", "partial_fit or warm_start=True"
            _warn(
                f"Training interrupted by user after {self.n_iter_} epoch(s); "
                f"{kept} weights were kept. The model can predict, and training can "
                f"go on with {more}.",
            )
        if self.early_stopping:
            net.params[...] = self._best_params
        _notify(callbacks, "on_fit_end", self, {"n_iter": self.n_iter_})

    def _diverged(self, net, history, X):
        """Fall back to the latest weights that predict finitely after a blow-up.

        The weights after the last finite epoch were never evaluated; if even they
        overflow on the training rows, step back to earlier epochs' weights, and
        at worst to the starting weights.
        """
        epoch = self.n_iter_ + 1
        kept_epoch = 0
        for snapshot_epoch, params in history.latest_first():
            net.params[...] = params
            kept_epoch = snapshot_epoch
            if self._predicts_finitely(X):
                break
        if self.early_stopping:
            kept = "the best epoch's weights are restored"
        elif kept_epoch == 0:
            kept = "the starting weights are kept"
        else:
            kept = f"the weights after epoch {kept_epoch} are kept"
        _warn(
            f"Training diverged in epoch {epoch}: the loss or the weights became "
            f"non-finite (inf or NaN); {kept}. Use a smaller learning_rate_init "
            f"(now {self.learning_rate_init}) or scale the input, e.g. with "
            "sklearn.preprocessing.StandardScaler.",
            ConvergenceWarning,
        )

    def _predicts_finitely(self, X):
        """Whether the current weights give finite outputs on ``X``, no overflow."""
        with np.errstate(over="raise", invalid="raise"):
            try:
                return bool(np.isfinite(self._forward(X)).all())
            except FloatingPointError:
                return False

    def _epoch_logs(self, loss, norms, optimizer, start):
        """Return the figures of the epoch just finished, for callbacks."""
        logs = {
            "epoch": self.n_iter_,
            "loss": loss,
            "gradient_norms": norms,
            "learning_rate": optimizer.learning_rate,
            "elapsed": time.perf_counter() - start,
        }
        if self.early_stopping:
            logs["validation_score"] = self.validation_scores_[-1]
            logs["validation_loss"] = self.validation_loss_curve_[-1]
        return logs

    def _run_epoch(self, net, optimizer, train, order, batch_size):
        """One pass over the training rows in mini-batches; mean loss and norms."""
        X, Y, sw = train
        n = X.shape[0]
        dense = not sp.issparse(X)
        total = 0.0
        alpha = float(self.alpha)
        batches = list(gen_batches(n, batch_size))
        sq_norms = np.empty((len(batches), len(net.coefs)), dtype=net.dtype)
        # Shuffled batches are gathered into reused buffers (sliced for the last,
        # smaller batch); unshuffled ones are views.
        if self.shuffle and dense:
            xbuf = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
            ybuf = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)
            wbuf = None if sw is None else np.empty(batch_size, dtype=sw.dtype)
        for b, batch in enumerate(batches):
            m = batch.stop - batch.start
            if not self.shuffle:
                Xb, Yb = X[batch], Y[batch]
                swb = None if sw is None else sw[batch]
            elif dense:
                idx = order[batch]
                Xb = X.take(idx, axis=0, out=xbuf[:m])
                Yb = Y.take(idx, axis=0, out=ybuf[:m])
                swb = None if sw is None else sw.take(idx, out=wbuf[:m])
            else:
                idx = order[batch]
                Xb, Yb = X[idx], Y[idx]
                swb = None if sw is None else sw[idx]
            total += net.loss_gradient(Xb, Yb, swb, alpha) * m
            net.coef_grad_sq_norms(sq_norms[b])
            optimizer.update(net.params, net.grad)
        return total / n, np.sqrt(sq_norms).mean(axis=0)

    def _end_epoch(self, net, val):
        """Early-stopping or training-loss bookkeeping after an epoch."""
        if val is None:
            last = self.loss_curve_[-1]
            if last > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last < self.best_loss_:
                self.best_loss_ = last
            return
        X_val, Y_val, sw_val = val
        out = self._forward(X_val)
        if np.isfinite(out).all():
            score = self._score_predictions(
                self._targets_for_score(Y_val), self._predict_from_output(out), sw_val
            )
            val_loss = self._loss.value(Y_val, out, sw_val)
        else:
            score = val_loss = np.nan
        self.validation_scores_.append(score)
        self.validation_loss_curve_.append(val_loss)
        if self.verbose:
            print(f"Validation score: {score:f}")
        # Higher is better for the criterion: the score, or minus the loss.
        criterion = score if self.validation_metric == "score" else -val_loss
        if criterion < self._best_criterion + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if criterion > self._best_criterion:
            self._best_criterion = criterion
            self.best_validation_score_ = score
            self._best_params = net.params.copy()

    def _fit_lbfgs(self, net, X, Y, sample_weight):
        alpha = float(self.alpha)
        rows, last_loss = [], [np.nan]
        last_good = net.params.copy()
        callbacks = _callbacks(self.callbacks)
        _notify(callbacks, "on_fit_begin", self, {"n_samples": X.shape[0]})
        start = time.perf_counter()

        def fun(x):
            net.params[...] = x
            last_loss[0] = net.loss_gradient(X, Y, sample_weight, alpha)
            return last_loss[0], net.grad.astype(np.float64)

        # L-BFGS-B's line search ends by evaluating the accepted point, so at each
        # callback the network's last loss and gradient are the iterate's.
        def callback(xk):
            norms = net.coef_grad_norms()
            rows.append(norms)
            if np.isfinite(xk).all():
                last_good[...] = xk
            if self.verbose:
                print(f"Iteration {len(rows)}, loss = {last_loss[0]:.8f}")
            logs = {
                "epoch": len(rows),
                "loss": last_loss[0],
                "gradient_norms": norms,
                "learning_rate": None,
                "elapsed": time.perf_counter() - start,
            }
            if _notify(callbacks, "on_epoch_end", self, logs):
                raise _StopTraining

        try:
            res = minimize_lbfgs(
                fun,
                net.params.astype(np.float64),
                max_iter=self.max_iter,
                max_fun=self.max_fun,
                tol=self.tol,
                callback=callback,
            )
        except _StopTraining:  # a callback asked to stop; xk was finite or kept
            net.params[...] = last_good
            self.n_iter_ = len(rows)
            self.loss_ = float(last_loss[0])
        except KeyboardInterrupt:
            net.params[...] = last_good
            self.n_iter_ = len(rows)
            self.loss_ = float(last_loss[0])
            _warn(
                f"Training interrupted by user after {len(rows)} iteration(s); the "
                "last iterate's weights were kept. The model can predict, and "
                "training can go on with warm_start=True.",
            )
        else:
            self.n_iter_ = min(res.nit, self.max_iter)
            if res.status not in (0, 99) and np.isfinite(res.x).all():
                _warn(
                    f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                    f"(status={res.status}): {res.message}. Increase max_iter or "
                    "max_fun, or scale the data (e.g. with StandardScaler).",
                    ConvergenceWarning,
                )
            if np.isfinite(res.x).all() and np.isfinite(res.fun):
                net.params[...] = res.x
                self.loss_ = float(res.fun)
            else:
                net.params[...] = last_good
                self.loss_ = float(net.loss_gradient(X, Y, sample_weight, alpha))
                _warn(
                    "lbfgs diverged: the loss or the weights became non-finite; the "
                    "last finite iterate was kept. Scale the input, e.g. with "
                    "sklearn.preprocessing.StandardScaler.",
                    ConvergenceWarning,
                )
        if rows:
            self.gradient_norms_ = np.vstack([self.gradient_norms_, rows])
        _notify(callbacks, "on_fit_end", self, {"n_iter": self.n_iter_})

    # -------------------------------------------------------------- predicting
    def _forward(self, X, link=True):
        return forward(
            X,
            self.coefs_,
            self.intercepts_,
            self.activations_,
            self.activation_params_,
            self._loss,
            link=link,
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
        return self._forward(X.astype(self.coefs_[0].dtype, copy=False), link=link)

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
