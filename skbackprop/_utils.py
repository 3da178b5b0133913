"""Small helpers of the estimator layer: warnings, input hints, callbacks, snapshots."""

import copy
import functools
import os
import sys
import types
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from . import _xp


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


def _same_kind(err, message):
    """Return a new exception of ``err``'s type with ``message`` (raise it from err).

    A type whose constructor does not take one message (a user's exception
    class) becomes a ValueError, or a TypeError for a TypeError, so that the
    message is never lost to the constructor's own error.
    """
    try:
        return type(err)(message)
    except Exception:
        return (TypeError if isinstance(err, TypeError) else ValueError)(message)


def _validate_with_hints(*args, **kwargs):
    """``validate_data`` whose errors also say how to fix the input."""
    try:
        return validate_data(*args, **kwargs)
    except (ValueError, TypeError) as err:
        msg = str(err)
        hints = [hint for key, hint in _INPUT_HINTS if key in msg and hint not in msg]
        if not hints:
            raise
        raise _same_kind(err, f"{msg} {' '.join(hints)}") from err


def _atomic(method):
    """Make a fitting method all-or-nothing: if it raises, undo every change.

    The estimator's attributes are recorded before the call; if anything raises
    (invalid input, a divergence that left no trained weights, an error in a
    callback), they are put back exactly, so a failed call leaves the estimator as
    it was, and a failed first fit leaves it unfitted. Fitting rebinds weights to
    a new network rather than writing into the old arrays; the objects it changes
    in place (lists such as ``loss_curve_``, the optimizer's state) are copied.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(vars(self))
        lists = {k: list(v) for k, v in saved.items() if type(v) is list}
        optimizer = copy.deepcopy(saved.get("_optimizer"))
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(saved)
            for key, items in lists.items():
                saved[key][:] = items
            if optimizer is not None:
                self._optimizer = optimizer
            raise

    return wrapper


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
        self._xp = _xp.namespace(params)
        self._items = [(0, _xp.copy(params, self._xp))]

    def append(self, epoch, params):
        """Record the weights after ``epoch`` (reusing the oldest buffer)."""
        if len(self._items) < 3:
            self._items.append((epoch, _xp.copy(params, self._xp)))
            return
        _, buf = self._items.pop(1)
        buf[...] = params
        self._items.append((epoch, buf))

    def latest(self):
        """Return the most recent weights."""
        return self._items[-1][1]

    def latest_first(self):
        """``(epoch, params)`` pairs, newest first, the starting weights last."""
        return reversed(self._items)


class _Checkpoint:
    """Everything the last completed epoch left, to go back to on Ctrl-C.

    The weights (recorded in ``history``, the :class:`_Snapshots` that divergence
    falls back on), the optimizer's state (momentum, moment estimates, step count,
    the learning rate its schedule reached) and the estimator's attributes
    (``n_iter_``, ``t_``, ``loss_curve_``, the early-stopping records...), all of
    one moment, so that training continues from an interrupted fit exactly as
    from one that stopped there.

    Ctrl-C can arrive between any two Python steps, also during a save. A save is
    made when an epoch has just completed, so while one is under way the live
    state *is* that completed epoch: :meth:`restore` then keeps it.
    """

    def __init__(self, estimator, params, optimizer, history):
        self._estimator, self._params = estimator, params
        self._optimizer, self.history = optimizer, history
        self._saving = False
        self._optimizer_state = optimizer.snapshot()
        self._attributes = self._record()

    def _record(self):
        """Return the estimator's attributes and the lengths of its lists."""
        attributes = dict(vars(self._estimator))
        lengths = {k: len(v) for k, v in attributes.items() if type(v) is list}
        return attributes, lengths

    def save(self, epoch, arrays=True):
        """Record the state after ``epoch``, which has just completed.

        ``arrays=False`` records only what changes without the weights and
        optimizer arrays changing (the learning rate and counters after a stall
        check).
        """
        self._saving = True
        if arrays:
            self.history.append(epoch, self._params)
        self._optimizer_state = self._optimizer.snapshot(
            into=self._optimizer_state, arrays=arrays
        )
        self._attributes = self._record()
        self._saving = False

    def restore(self):
        """Go back to the last record (unless interrupted during a save)."""
        if self._saving:
            return
        self._params[...] = self.history.latest()
        self._optimizer.restore(self._optimizer_state)
        attributes, lengths = self._attributes
        state = vars(self._estimator)
        state.clear()
        state.update(attributes)
        for key, length in lengths.items():
            del attributes[key][length:]


class _StopTraining(Exception):
    """A callback asked L-BFGS-B to stop (raised through scipy, any version)."""


_HOOKS = ("on_fit_begin", "on_epoch_end", "on_fit_end")


def _callbacks(callbacks):
    """Return the callbacks parameter as a list, refusing objects without hooks.

    Called as a fit starts, before any epoch: an object with none of the hook
    methods (a typo, a function passed for an object) would otherwise be
    ignored silently.
    """
    if callbacks is None:
        return []
    items = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    for i, cb in enumerate(items):
        if not any(callable(getattr(cb, hook, None)) for hook in _HOOKS):
            raise TypeError(
                f"callbacks[{i}] is {cb!r} (a {type(cb).__name__}), which has none "
                f"of the hook methods {', '.join(_HOOKS[:-1])} or {_HOOKS[-1]}. "
                "Pass objects with at least one of them, e.g. instances of "
                "skbackprop.callbacks.Callback subclasses, or ProgressBar()."
            )
    return items


def _notify(callbacks, hook, estimator, logs):
    """Call ``hook`` on every callback that has it; True if any asked to stop.

    A hook returns True to stop, False or None to go on; numpy booleans and
    0-d arrays count as their truth value. An array of several values has no
    truth value: the error names the callback instead of numpy's "ambiguous".
    """
    stop = False
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is None:
            continue
        result = method(estimator, logs)
        if result is None:
            continue
        shape = getattr(result, "shape", None)
        if shape is not None and len(shape) > 0:
            raise TypeError(
                f"{type(cb).__name__}.{hook} returned an {type(result).__name__} "
                f"of shape {tuple(shape)}; a callback returns True to stop "
                "training, or False or None to go on. Reduce the array to one "
                "truth value first (e.g. with .all() or .any())."
            )
        if result:
            stop = True
    return stop


def _take_rows(X, idx):
    """Rows ``idx`` (a host index array) of a dense or sparse matrix, any namespace."""
    if sp.issparse(X):
        return X[idx]
    if isinstance(X, np.ndarray):
        return np.take(X, idx, axis=0)
    xp = _xp.namespace(X)
    return xp.take(X, xp.asarray(idx, device=_xp.device(X)), axis=0)


def _combine(sample_weight, class_factor):
    """Sample weights times per-row class weights (either may be None)."""
    if class_factor is None:
        return sample_weight
    return class_factor if sample_weight is None else sample_weight * class_factor


def _non_finite_error(est):
    """Return the error for a fit that produced no finite trained weights."""
    return ValueError(
        "Solver produced non-finite parameter weights. The input data may contain "
        "large values and need to be preprocessed. Scale the input (e.g. with "
        "sklearn.preprocessing.StandardScaler) or use a smaller learning_rate_init "
        f"(now {est.learning_rate_init}); the estimator was left as it was before "
        "this call."
    )
