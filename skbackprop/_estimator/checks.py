"""Checking a user's activation or loss before, and while, it trains.

A user's :class:`~skbackprop.activations.Activation` or
:class:`~skbackprop.losses.Loss` is probed once on tiny arrays before any
training (:func:`_check_activation_contract`, :func:`_check_loss_contract`; in
the fit's array namespace: :func:`_check_in_namespace`,
:func:`_check_loss_in_namespace`), so that a broken one is named with its class
and method instead of training on wrong numbers or failing mid-fit with a bare
numpy error. While it trains, :class:`_CheckedLoss` watches a user's loss for
NaN or inf on finite outputs, so that its fault is not reported as a divergence.
"""

import numpy as np

from .._core import xp as _xp
from ..activations import FAST_ACTIVATIONS, ParametricActivation
from ..activations import is_builtin as is_builtin_activation
from ..losses import is_builtin as is_builtin_loss
from .messages import _same_kind


def _check_activation_contract(act):
    """Check an activation once, on a probe, before any training.

    ``forward`` and ``derivative`` must return float arrays of the probe's shape
    with finite values (another float dtype is cast to the network's), and leave
    their inputs unchanged; anything else would train silently on wrong
    gradients or fail later with a bare numpy error, so the error names the
    class and the method. The probe is skipped for the classes in
    ``FAST_ACTIVATIONS`` (their numpy and compiled forms are tested against each
    other); every other activation, the other built-ins included, is probed.
    Which activations' output bounds are trusted is another matter, decided in
    :func:`skbackprop._core.limits.signal_bound`.
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
    if is_builtin_activation(act):
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

    ``link`` and ``output_delta`` must return finite float arrays of the probe's
    shape and dtype (the network multiplies the delta into buffers of its
    dtype), ``value`` a finite number, and none may modify the targets or
    outputs; the delta must be writable and its own memory (the network scales
    it in place). The probes have several outputs and one, with odd row counts.
    Anything else would train on wrong numbers or fail later with a bare numpy
    error, so the error names the class and the method. The built-in losses
    (``BUILTIN_LOSSES``) are not probed.
    """
    if is_builtin_loss(loss):
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
    if is_builtin_loss(loss):
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
    diverging fit would otherwise be blamed for. The built-in losses
    (``BUILTIN_LOSSES``) are not wrapped. With numpy the check is immediate; in
    other namespaces the flags stay 0-d arrays on the device (no
    synchronisation per batch) until :meth:`fault` reads them.
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
