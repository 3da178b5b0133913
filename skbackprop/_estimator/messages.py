"""How skbackprop speaks to the user: warnings at the user's line, clear errors.

:func:`_warn` points a warning at the user's call (outside skbackprop and
scikit-learn); :func:`_same_kind` rewords an exception without changing its
type; :func:`_non_finite_error` is the error of a fit left with no finite
trained weights.
"""

import os
import sys
import warnings

# The package's root folder (not this module's: a warning raised in any
# subpackage is internal too).
_PACKAGE_DIR = os.path.dirname(sys.modules[__name__.split(".")[0]].__file__)


def _warn(message, category=UserWarning):
    """Warn with the location of the user's call, outside skbackprop and sklearn."""
    internal = (
        _PACKAGE_DIR,
        os.path.dirname(sys.modules["sklearn"].__file__),
    )
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(internal):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


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


def _non_finite_error(est):
    """Return the error for a fit that produced no finite trained weights."""
    return ValueError(
        "Solver produced non-finite parameter weights. The input data may contain "
        "large values and need to be preprocessed. Scale the input (e.g. with "
        "sklearn.preprocessing.StandardScaler) or use a smaller learning_rate_init "
        f"(now {est.learning_rate_init}); the estimator was left as it was before "
        "this call."
    )
