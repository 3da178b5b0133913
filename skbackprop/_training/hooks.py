"""Calling the callbacks' hooks during a fit (see :mod:`skbackprop.callbacks`)."""


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
