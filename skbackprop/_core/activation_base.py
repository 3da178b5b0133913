"""The activation interface: :class:`Activation` and :class:`ParametricActivation`.

Documented and imported as :mod:`skbackprop.activations`; kept in a module of its
own so that the built-in table there stays short.
"""

from sklearn.base import BaseEstimator

__all__ = ["Activation", "ParametricActivation"]


class Activation(BaseEstimator):
    """Base class of an elementwise activation function θ.

    Subclasses implement :meth:`forward` and :meth:`derivative`. Both receive and
    return arrays of the same shape ``(n_samples, n_units)``; they must not modify
    their inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.activations import Activation
    >>> class Swish(Activation):
    ...     def forward(self, s):
    ...         return s / (1 + np.exp(-s))
    ...     def derivative(self, s, o):
    ...         sig = 1 / (1 + np.exp(-s))
    ...         return sig + o * (1 - sig)
    >>> Swish().forward(np.array([0.0]))
    array([0.])
    """

    # Documented and imported as skbackprop.activations.Activation (also in the
    # messages of scikit-learn's parameter validation).
    __module__ = "skbackprop.activations"

    #: Name used in messages and in ``repr``; built-ins also accept it as a string.
    name = None

    #: A built-in's branch in the compiled kernels (one number per built-in, fixed
    #: once given), or None: no kernel form. Read only for the built-in classes
    #: themselves (``activations.BUILTIN_ACTIVATIONS``), never for a subclass.
    kernel_code = None

    # Further names a built-in is known by ("sigmoid" for logistic).
    _aliases = ()

    def forward(self, s):
        """Compute ``θ(s)`` elementwise.

        Parameters
        ----------
        s : ndarray
            The layer's signal.

        Returns
        -------
        o : ndarray
            The layer's output, same shape and dtype as ``s``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement forward(self, s)."
        )

    def derivative(self, s, o):
        """Compute ``∂θ/∂s`` elementwise.

        Parameters
        ----------
        s : ndarray
            The layer's signal.
        o : ndarray
            ``θ(s)``, passed so that derivatives expressed through the output
            (tanh: ``1 - o²``, logistic: ``o(1 - o)``) need not recompute it.

        Returns
        -------
        d : ndarray
            The derivative, same shape as ``s``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement derivative(self, s, o)."
        )

    def _needs_signal(self):
        # Whether derivative() reads ``s``; when it does not, the network can let
        # the forward pass overwrite S with O and save a buffer.
        return True

    def _output_bound(self, s_max, theta=None):
        # A bound on |θ(s)| for |s| <= s_max, or None when unknown (a user's
        # activation); lets the network prove finite outputs without a forward
        # pass (see network.signal_bound).
        return None

    def _kernel_alpha(self):
        # The float parameter the kernels' branch reads (LeakyReLU's and ELU's
        # alpha); 0.0 for an activation without one.
        return 0.0

    # A built-in also has ``_onnx(self, g, s, theta=None)``: θ(s) as ONNX nodes
    # built with skbackprop.onnx.GraphBuilder ``g``, returning the output's name.
    # (A user's activation gives the public ``onnx_nodes`` instead.)


class ParametricActivation(Activation):
    """Base class of an activation with trainable parameters per unit.

    The parameters of one layer are an array ``theta`` of shape
    ``(n_parameters, n_units)``. The network stores them in its flat parameter
    vector; :meth:`forward`, :meth:`derivative` and :meth:`parameter_gradient`
    receive them.
    """

    __module__ = "skbackprop.activations"

    #: Number of trainable parameters per unit.
    n_parameters = 1

    def init_parameters(self, n_units, dtype):
        """Return the initial parameters of one layer.

        Parameters
        ----------
        n_units : int
            Units in the layer.
        dtype : dtype
            Floating dtype of the network.

        Returns
        -------
        theta : ndarray of shape (n_parameters, n_units)
            Initial parameters.
        """
        raise NotImplementedError

    def forward(self, s, theta):
        """Compute ``θ(s; theta)`` elementwise.

        Parameters
        ----------
        s : ndarray of shape (n_samples, n_units)
            The layer's signal.
        theta : ndarray of shape (n_parameters, n_units)
            The layer's activation parameters.

        Returns
        -------
        o : ndarray
            The layer's output.
        """
        raise NotImplementedError

    def derivative(self, s, o, theta):
        """Compute ``∂θ/∂s`` elementwise.

        Parameters
        ----------
        s, o : ndarray of shape (n_samples, n_units)
            The layer's signal and output.
        theta : ndarray of shape (n_parameters, n_units)
            The layer's activation parameters.

        Returns
        -------
        d : ndarray
            The derivative.
        """
        raise NotImplementedError

    def parameter_gradient(self, s, o, theta, grad_o):
        """Gradient of the loss with respect to ``theta``.

        Parameters
        ----------
        s, o : ndarray of shape (n_samples, n_units)
            The layer's signal and output.
        theta : ndarray of shape (n_parameters, n_units)
            The layer's activation parameters.
        grad_o : ndarray of shape (n_samples, n_units)
            ``∂ℓ/∂o``, the loss gradient flowing into this layer's output.

        Returns
        -------
        grad_theta : ndarray of shape (n_parameters, n_units)
            ``Σ_rows grad_o ⊙ ∂o/∂theta``.
        """
        raise NotImplementedError
