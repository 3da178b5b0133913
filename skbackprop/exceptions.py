"""Exceptions that skbackprop raises besides Python's and scikit-learn's own."""

__all__ = ["UnavailableMethodError"]


class UnavailableMethodError(AttributeError, ValueError):
    """A method that the estimator's current parameters do not offer.

    Raised, for example, by ``partial_fit`` with ``early_stopping=True``. It is an
    AttributeError, so that ``hasattr(estimator, "partial_fit")`` is False, and a
    ValueError, as scikit-learn's MLP raises in that case; its message says which
    parameter to change.
    """
