"""The loss interface: :class:`Loss` and :func:`reduce_loss`.

Documented and imported as :mod:`skbackprop.losses`; kept in a module of its own
so that the built-in losses there stay short.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator

from .loss_math import _namespace, _weighted_total

__all__ = ["Loss", "reduce_loss"]


def reduce_loss(values, sample_weight=None):
    """Reduce per-sample losses to a loss value: weighted mean over samples, summed.

    The convention of every :meth:`Loss.value`: the mean over the samples (rows),
    weighted by ``sample_weight``, summed over the outputs (columns).

    Parameters
    ----------
    values : array of shape (n_samples, n_outputs)
        ``ℓ(y_ij, p_ij)`` for each sample ``i`` and output ``j``.
    sample_weight : array of shape (n_samples,), default=None
        Weights of the samples, in the namespace of ``values``.

    Returns
    -------
    loss : float or 0-d array
        A float for numpy arrays; a 0-d float64 array of the namespace otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.losses import reduce_loss
    >>> reduce_loss(np.array([[1.0, 2.0], [3.0, 4.0]]))
    5.0
    >>> reduce_loss(np.array([[1.0], [3.0]]), sample_weight=np.array([3.0, 1.0]))
    1.5
    """
    return _weighted_total(values, sample_weight)


class Loss(BaseEstimator):
    """Base class of a loss ``ℓ(y, p)`` with its output activation ``p = link(s)``.

    Subclasses implement :meth:`value` and :meth:`output_delta`. The output
    activation defaults to the identity; override :meth:`link` and set
    :attr:`out_activation` for another. :meth:`check_targets` may refuse targets
    outside the loss's domain. Losses are parameters of an estimator and follow
    scikit-learn's conventions: constructor arguments are stored unchanged, which
    makes ``clone``, ``get_params`` and ``GridSearchCV`` (``loss__delta``) work.

    Examples
    --------
    The log-cosh loss, ``log cosh(p - y)``: quadratic near 0, linear far away.

    >>> import numpy as np
    >>> from skbackprop.losses import Loss, reduce_loss
    >>> class LogCosh(Loss):
    ...     def value(self, y, p, sample_weight=None):
    ...         r = p - y
    ...         return reduce_loss(np.logaddexp(r, -r) - np.log(2), sample_weight)
    ...     def output_delta(self, y, p, out=None):
    ...         return np.tanh(p - y)
    >>> LogCosh().output_delta(np.zeros((1, 1)), np.ones((1, 1)))
    array([[0.76159416]])
    """

    # Documented and imported as skbackprop.losses.Loss (also in the messages of
    # scikit-learn's parameter validation).
    __module__ = "skbackprop.losses"

    #: Name a built-in regressor loss is known by (``loss="huber"``); None otherwise.
    name = None

    #: Name of the output activation, as in scikit-learn's ``out_activation_``.
    out_activation = "identity"

    #: Whether the loss needs the classifier's 0/1 target encoding.
    _for_classifier = False

    #: A built-in's branch in the compiled kernels (one number per built-in, fixed
    #: once given), or None: no kernel form. Read only for the built-in classes
    #: themselves (``losses.BUILTIN_LOSSES``), never for a subclass.
    kernel_code = None

    def link(self, s):
        """Apply the output activation to the last layer's signal (the identity).

        Parameters
        ----------
        s : array of shape (n_samples, n_outputs)
            Signal of the output layer, ``s^(L)``. A numpy array may be
            overwritten and returned; arrays of other namespaces must be left as
            they are.

        Returns
        -------
        p : array of shape (n_samples, n_outputs)
            The outputs, in the dtype of ``s``.
        """
        return s

    def _onnx(self, g, s):
        # link(s) as ONNX nodes (GraphBuilder g), returning the output's name: the
        # identity here. Each built-in with another link writes its own; a user's
        # loss with its own link gives the public ``onnx_nodes`` instead.
        return s

    def value(self, y, p, sample_weight=None):
        """Loss of outputs ``p`` against targets ``y`` (without the L2 term).

        Parameters
        ----------
        y : array of shape (n_samples, n_outputs)
            Targets (encoded as floats).
        p : array of shape (n_samples, n_outputs)
            Network outputs.
        sample_weight : array of shape (n_samples,), default=None
            Weights of the samples, in the namespace of ``p``.

        Returns
        -------
        loss : float or 0-d array
            The weighted mean over samples, summed over outputs
            (:func:`reduce_loss`). A float for numpy arrays; for other
            namespaces a 0-d array on the arrays' device (no synchronisation
            with a GPU; ``float(loss)`` reads it).
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement value(self, y, p, "
            "sample_weight=None), the weighted mean loss (see reduce_loss)."
        )

    def output_delta(self, y, p, out=None):
        """Return ``∂ℓ_i/∂s^(L)`` per sample, before weighting and averaging.

        Parameters
        ----------
        y, p : array of shape (n_samples, n_outputs)
            Targets and outputs, of one namespace; not to be modified.
        out : ndarray of shape (n_samples, n_outputs), default=None
            A buffer the result may be written to (numpy only); an
            implementation may ignore it and return a new array.

        Returns
        -------
        delta : array of shape (n_samples, n_outputs)
            The derivative of sample ``i``'s loss with respect to the output
            signal (through the link), in the dtype of ``p``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement output_delta(self, y, p, "
            "out=None), the derivative of each sample's loss with respect to the "
            "output signal s^(L)."
        )

    def check_targets(self, y):
        """Refuse targets outside the loss's domain (all are accepted here).

        Called by the estimator on the validated targets, before it changes
        anything.

        Parameters
        ----------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The targets, a numpy array.

        Raises
        ------
        ValueError
            If some targets are outside the domain; the message should say how
            to fix it.
        """

    def _check_params(self):
        """Raise ValueError if a parameter is invalid (none to check here)."""


class _CanonicalLoss(Loss):
    """A loss whose link is its canonical one, so that ``δ^(L) = p - y``."""

    def output_delta(self, y, p, out=None):  # noqa: D102
        if _namespace(p) is not np:
            return p - y
        return np.subtract(p, y, out=out)


def _check_number(loss, name, low, high, hint):
    """Check that parameter ``name`` of ``loss`` is a real number in (low, high)."""
    value = getattr(loss, name)
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and low < value < high
    )
    if not ok:
        where = f"in ({low}, {high})" if np.isfinite(high) else f"> {low} and finite"
        raise ValueError(
            f"{type(loss).__name__}'s {name} must be a real number {where}, got "
            f"{value!r}. {hint}"
        )
