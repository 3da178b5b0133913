"""Methods that exist only when a check on the estimator passes."""

import functools
import types


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
