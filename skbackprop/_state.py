"""The fitted state: the network's structure, its initialisation and continuation.

:class:`StateMixin` turns the estimator's parameters into the structure of the
network (layer sizes, activations, the loss), draws the initial weights as
scikit-learn's MLP does, and, when a fit continues (``warm_start`` or
``partial_fit``), reconciles the fitted state with parameters changed since:
what still fits the weights is honoured, the rest is refused with a clear error.
"""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from . import _xp
from ._utils import _same_kind
from .activations import (
    BUILTIN_ACTIVATIONS,
    FAST_ACTIVATIONS,
    Activation,
    Logistic,
    ParametricActivation,
    get_activation,
)
from .losses import BUILTIN_LOSSES

_STOCHASTIC_SOLVERS = ("sgd", "adam")
_REFIT = "refit with warm_start=False (or a new estimator) to change it"


class StateMixin:
    """Structure and fitted-state bookkeeping shared by the estimators."""

    # ------------------------------------------------------------ structure
    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, str) or not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        bad = [
            s
            for s in sizes
            if isinstance(s, bool)
            or not isinstance(s, numbers.Real)
            or not np.isfinite(s)
            or int(s) != s
            or s <= 0
        ]
        if bad:
            raise InvalidParameterError(
                f"hidden_layer_sizes must contain positive integers, got "
                f"{self.hidden_layer_sizes!r}. Give one size per hidden layer, e.g. "
                "(100,) or (64, 32)."
            )
        return [int(s) for s in sizes]

    def _resolve_activations(self, n_hidden, check=True):
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
        acts = [clone(a) for a in acts]
        if check:
            for act in acts:
                _check_activation_contract(act)
        return acts

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

    # ------------------------------------------------------- initialisation
    def _initialize(self, Y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self._loss = self._make_loss()
        _check_loss_contract(self._loss)
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
            if isinstance(act, ParametricActivation)
            else None
            for act, units in zip(self.activations_, layer_units[1:-1], strict=True)
        ]
        self._optimizer = None
        self._best_params = None
        self.gradient_norms_ = np.empty((0, self.n_layers_ - 1))
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            self.best_loss_ = None
            self.validation_scores_ = None
            self._sync_stopping_state()

    def _sync_stopping_state(self):
        """Make the early-stopping bookkeeping match ``early_stopping``.

        Called on a fresh fit and whenever a fit continues, so that switching
        ``early_stopping`` (or from L-BFGS to a stochastic solver) under
        ``warm_start`` starts its own bookkeeping instead of crashing on the
        other mode's attributes.
        """
        if getattr(self, "loss_curve_", None) is None:
            self.loss_curve_ = []
            self._no_improvement_count = 0
        if self.early_stopping and getattr(self, "validation_scores_", None) is None:
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
            self.best_validation_score_ = -np.inf
            self._best_criterion = -np.inf
            self._best_val_loss = np.inf
            self._best_params = None
            self.best_loss_ = None
            self._no_improvement_count = 0
        elif not self.early_stopping and getattr(self, "best_loss_", None) is None:
            self.best_loss_ = min(self.loss_curve_, default=np.inf)
            self.validation_scores_ = None
            self.validation_loss_curve_ = None
            self.best_validation_score_ = None
            self._no_improvement_count = 0

    # ---------------------------------------------------------- continuation
    def _continue(self, layer_units, dtype):
        """Reconcile the fitted state with the current parameters (warm/partial).

        Layer sizes must still match the weights (the number of features and
        outputs are checked on the data). Activations, the loss, the solver and
        ``early_stopping`` may change: the weights are kept, a parametric
        activation keeps its learned parameters if its class is unchanged and
        starts from its initial ones otherwise.
        """
        fitted = [self.coefs_[0].shape[0], *(c.shape[1] for c in self.coefs_)]
        if list(layer_units) != fitted:
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} gives layers of "
                f"{layer_units[1:-1]} units, but the fitted weights have hidden "
                f"layers of {fitted[1:-1]}, so training cannot continue from them "
                f"(warm_start or partial_fit). Restore hidden_layer_sizes, or {_REFIT}."
            )
        old_acts = self.activations_
        old_params = list(self.activation_params_)
        self.activations_ = self._resolve_activations(len(layer_units) - 2, False)
        changed_acts = [
            not _same_params(new, old)
            for new, old in zip(self.activations_, old_acts, strict=True)
        ]
        for act, changed in zip(self.activations_, changed_acts, strict=True):
            if changed:  # the others were checked when the fit began
                _check_activation_contract(act)
        self.activation_params_ = [
            old_theta
            if type(act) is type(old) and old_theta is not None
            else (
                act.init_parameters(units, dtype)
                if isinstance(act, ParametricActivation)
                else None
            )
            for act, old, old_theta, units in zip(
                self.activations_, old_acts, old_params, layer_units[1:-1], strict=True
            )
        ]
        old_loss = self._loss
        self._loss = self._make_loss()
        # A loss of another class, or with other parameters (HuberLoss's delta,
        # QuantileLoss's quantile), is another objective.
        changed_loss = not _same_params(self._loss, old_loss)
        if changed_loss:
            _check_loss_contract(self._loss)
        self.out_activation_ = self._loss.out_activation
        changed = changed_loss or any(changed_acts)
        if changed and getattr(self, "validation_scores_", None) is not None:
            # The best weights so far were scored with the old activations or
            # loss: they are no reference for the new network.
            self._best_params = None
            self._best_criterion = -np.inf
            self._best_val_loss = np.inf
            self.best_validation_score_ = -np.inf
        if self.solver in _STOCHASTIC_SOLVERS:
            self._sync_stopping_state()
            if changed_loss and not self.early_stopping:
                # Training losses of another objective are no reference for
                # the new one's: the no-improvement count starts afresh.
                self.best_loss_ = np.inf
                self._no_improvement_count = 0


def _same_params(new, old):
    """Whether two activations (or losses) are one class with equal parameters."""
    if type(new) is not type(old):
        return False
    try:
        return bool(new.get_params(deep=False) == old.get_params(deep=False))
    except ValueError:  # array-valued parameters: count them as changed
        return False


def _check_activation_contract(act):
    """Check a user's activation once, on a probe, before any training.

    Built-ins are trusted. ``forward`` and ``derivative`` must return float arrays
    of the probe's shape with finite values (another float dtype is cast to the
    network's), and leave their inputs unchanged; anything else would train
    silently on wrong gradients or fail later with a bare numpy error, so the
    error names the class and the method.
    """
    if type(act) in FAST_ACTIVATIONS:
        return
    name = type(act).__name__
    for dtype in (np.float64, np.float32):
        s = np.linspace(-4, 4, 12, dtype=dtype).reshape(3, 4)
        theta = (
            act.init_parameters(4, dtype)
            if isinstance(act, ParametricActivation)
            else None
        )
        extra = () if theta is None else (theta,)

        def where(method, dtype=dtype):
            shape = f"a (3, 4) {dtype.__name__} array"
            return f"{name}.{method} failed on {shape} of signals"

        s_in = s.copy()
        o = _call(act, "forward", where, s_in, *extra)
        _check_output(o, s, name, "forward")
        o_in = np.array(o, copy=True)
        d = _call(act, "derivative", where, s_in, o_in, *extra)
        _check_output(d, s, name, "derivative")
        if not (np.array_equal(s_in, s) and np.array_equal(o_in, o)):
            raise ValueError(
                f"{name}.forward or {name}.derivative modified its input array; "
                "they must return new arrays (or write only to their own)."
            )


def _check_in_namespace(act, xp, device):
    """Check a user's activation on a tiny array of the fit's namespace.

    Under ``array_api_dispatch`` activations receive arrays of the input's
    namespace; one written with numpy functions would fail mid-fit with a bare
    error (or return numpy arrays). This says what is wrong and how to fix it.
    """
    if type(act) in BUILTIN_ACTIVATIONS:
        return
    name = type(act).__name__
    s = xp.reshape(xp.linspace(-4, 4, 12, dtype=xp.float64, device=device), (3, 4))
    theta = (
        xp.asarray(act.init_parameters(4, np.float64), device=device)
        if isinstance(act, ParametricActivation)
        else None
    )
    extra = () if theta is None else (theta,)
    try:
        o = act.forward(s, *extra)
        results = [o, act.derivative(s, o, *extra)]
        wrong = [type(r).__name__ for r in results if type(r) is not type(s)]
        problem = f"returned a {wrong[0]}" if wrong else None
    except Exception as err:  # noqa: BLE001  (any failure gets the same advice)
        problem = f"failed ({type(err).__name__}: {err})"
    if problem:
        where = _xp.namespace_name(xp)
        raise TypeError(
            f"Activation {name} {problem} on a {where} array of signals. Under "
            "scikit-learn's array_api_dispatch, activations receive arrays of the "
            "input's namespace: write forward and derivative with xp = "
            "array_namespace(s) and the array API's functions (xp.exp, xp.where, "
            "...), or fit on numpy arrays."
        )


def _call(obj, method, where, *args, **kwargs):
    """``obj.method(*args, **kwargs)`` on the probe; its errors say ``where``."""
    try:
        return getattr(obj, method)(*args, **kwargs)
    except Exception as err:
        hint = (
            " (output_delta must accept out=None, a buffer it may ignore)"
            if method == "output_delta" and isinstance(err, TypeError)
            else ""
        )
        raise _same_kind(err, f"{where(method)}{hint}: {err}") from err


def _check_output(out, s, name, method):
    problem = None
    if not isinstance(out, np.ndarray):
        problem = f"returned a {type(out).__name__}, not a numpy array"
    elif out.shape != s.shape:
        problem = f"returned shape {out.shape} for input of shape {s.shape}"
    elif out.dtype.kind != "f":
        problem = (
            f"returned dtype {out.dtype} for {s.dtype} input; it must be a float "
            "array (e.g. .astype(s.dtype))"
        )
    elif not np.isfinite(out).all():
        problem = "returned NaN or inf for finite signals in [-4, 4]"
    if problem:
        raise ValueError(
            f"Activation {name}.{method} {problem}. {method}(s) must return a "
            "float array of the same shape as s, elementwise and finite."
        )


# The probe's shapes: several outputs and one (a loss that is right for one of
# them only, np.squeeze, is caught), with odd numbers of rows.
_LOSS_PROBE_SHAPES = ((7, 3), (5, 1))


def _check_loss_contract(loss):
    """Check a user's loss once, on probes, before any training.

    Built-ins are trusted. ``link`` and ``output_delta`` must return finite float
    arrays of the probe's shape and dtype (the network multiplies the delta into
    buffers of its dtype), ``value`` a finite number, and none may modify the
    targets or outputs; the delta must be writable and its own memory (the
    network scales it in place). The probes have several outputs and one, with
    odd row counts. Anything else would train on wrong numbers or fail later
    with a bare numpy error, so the error names the class and the method.
    """
    if type(loss) in BUILTIN_LOSSES:
        return
    for dtype in (np.float64, np.float32):
        for shape in _LOSS_PROBE_SHAPES:
            _probe_loss(loss, dtype, shape)


def _probe_loss(loss, dtype, shape):
    """Check ``loss`` on one probe of ``shape`` in ``dtype`` (see above)."""
    name = type(loss).__name__
    size = shape[0] * shape[1]
    # Targets in (0, 1): inside the domain of most losses (counts, rates,
    # positive values, probabilities).
    y = np.linspace(0.9, 0.1, size, dtype=dtype).reshape(shape)
    s = np.linspace(-1, 1, size, dtype=dtype).reshape(shape)

    def where(method):
        return f"Loss {name}.{method} failed on {shape} {dtype.__name__} arrays"

    p = _call(loss, "link", where, s.copy())
    _check_loss_output(p, s, name, "link")
    y_in, p_in = y.copy(), np.array(p, copy=True)
    weights = np.linspace(0.5, 1.5, shape[0], dtype=dtype)
    for sample_weight in (None, weights):
        value = _call(loss, "value", where, y, p, sample_weight)
        try:
            finite = np.ndim(value) == 0 and np.isfinite(float(value))
        except (TypeError, ValueError):
            finite = False
        if not finite:
            raise ValueError(
                f"Loss {name}.value returned {value!r} for finite outputs; it "
                "must return one finite number, the weighted mean over samples "
                "summed over outputs (see skbackprop.losses.reduce_loss)."
            )
    delta = _call(loss, "output_delta", where, y, p, out=np.empty_like(p))
    _check_loss_output(delta, p, name, "output_delta")
    if not (np.array_equal(y, y_in) and np.array_equal(p, p_in)):
        raise ValueError(
            f"{name}.value or {name}.output_delta modified its input y or p; "
            "they must leave them unchanged (output_delta may write to out)."
        )
    problem = None
    if not delta.flags.writeable:
        problem = (
            "returned a read-only array (np.broadcast_to and some views give "
            "one); the network scales the delta in place"
        )
    elif np.shares_memory(delta, y) or np.shares_memory(delta, p):
        problem = (
            "returned an array that shares memory with its input y or p; the "
            "network scales the delta in place, which would change them"
        )
    if problem:
        raise ValueError(
            f"Loss {name}.output_delta {problem}. Return a new array (e.g. "
            "np.array(delta), or .copy() of a view) or write the result into out."
        )


def _check_loss_output(out, like, name, method):
    problem = None
    if not isinstance(out, np.ndarray):
        problem = f"returned a {type(out).__name__}, not a numpy array"
    elif out.shape != like.shape:
        problem = f"returned shape {out.shape} for input of shape {like.shape}"
    elif out.dtype != like.dtype:
        problem = (
            f"returned dtype {out.dtype} for {like.dtype} input; return the input's "
            "dtype (e.g. .astype(p.dtype, copy=False), or write into out)"
        )
    elif not np.isfinite(out).all():
        problem = "returned NaN or inf for finite inputs"
    if problem:
        raise ValueError(
            f"Loss {name}.{method} {problem}. It must return a float array of "
            "the shape and dtype of its input, finite where the input is."
        )


def _check_loss_in_namespace(loss, xp, device):
    """Check a user's loss on tiny arrays of the fit's namespace.

    Under ``array_api_dispatch`` the loss receives arrays of the input's
    namespace; one written with numpy functions would fail mid-fit with a bare
    error (or return numpy arrays). This says what is wrong and how to fix it.
    """
    if type(loss) in BUILTIN_LOSSES:
        return
    name = type(loss).__name__
    problem = None
    for shape in _LOSS_PROBE_SHAPES:
        size = shape[0] * shape[1]
        s = xp.linspace(-1, 1, size, dtype=xp.float64, device=device)
        y = xp.linspace(0.9, 0.1, size, dtype=xp.float64, device=device)
        s, y = xp.reshape(s, shape), xp.reshape(y, shape)
        try:
            p = loss.link(xp.asarray(s, copy=True))
            delta = loss.output_delta(y, p)
            value = loss.value(y, p)
            wrong = [type(r).__name__ for r in (p, delta) if type(r) is not type(s)]
            if wrong:
                problem = f"returned a {wrong[0]}"
            float(value)
        except Exception as err:  # noqa: BLE001  (any failure gets the same advice)
            problem = f"failed ({type(err).__name__}: {err})"
        if problem:
            break
    if problem:
        where = _xp.namespace_name(xp)
        raise TypeError(
            f"Loss {name} {problem} on {where} arrays of outputs. Under "
            "scikit-learn's array_api_dispatch, losses receive arrays of the "
            "input's namespace: write link, value and output_delta with xp = "
            "array_namespace(p) and the array API's functions (xp.abs, xp.where, "
            "...), or fit on numpy arrays."
        )


class _CheckedLoss:
    """A user's loss whose results are checked for NaN and inf while it trains.

    The network computes through this wrapper; it records the first method
    (``link``, ``value``, ``output_delta``) that returned NaN or inf for finite
    inputs: the loss's own fault (a log of a negative prediction, say), which a
    diverging fit would otherwise be blamed for. Built-in losses are trusted and
    not wrapped. With numpy the check is immediate; in other namespaces the
    flags stay 0-d arrays on the device (no synchronisation per batch) until
    :meth:`fault` reads them.
    """

    def __init__(self, loss):
        self.loss = loss
        self._flags = {}

    def __getattr__(self, name):
        if name in ("loss", "_flags"):  # not set yet (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.loss, name)

    def link(self, s):  # noqa: D102
        # A numpy link may overwrite s: its finiteness is taken before the call.
        return self._checked("link", s, lambda: self.loss.link(s))

    def value(self, y, p, sample_weight=None):  # noqa: D102
        return self._checked("value", p, lambda: self.loss.value(y, p, sample_weight))

    def output_delta(self, y, p, out=None):  # noqa: D102
        return self._checked(
            "output_delta", p, lambda: self.loss.output_delta(y, p, out=out)
        )

    def _checked(self, method, inputs, call):
        """Return ``call()``; flag ``method`` if it is non-finite on finite inputs."""
        if isinstance(inputs, np.ndarray):
            if self._flags.get(method, False):
                return call()
            finite_in = bool(np.isfinite(inputs).all())
            result = call()
            if finite_in and not np.isfinite(result).all():
                self._flags[method] = True
            return result
        xp = _xp.namespace(inputs)
        finite_in = xp.all(xp.isfinite(inputs))
        result = call()
        bad = ~xp.all(xp.isfinite(xp.asarray(result))) & finite_in
        old = self._flags.get(method)
        self._flags[method] = bad if old is None else old | bad
        return result

    def fault(self):
        """Return the first method that gave NaN or inf for finite inputs, or None."""
        for method in ("link", "value", "output_delta"):
            flag = self._flags.get(method)
            if flag is not None and bool(flag):
                return method
        return None
