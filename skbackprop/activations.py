"""Activation functions θ of the lecture's table, as pluggable objects.

An activation maps a layer's signal ``S`` (the lecture's ``s^(l)``, one row per sample)
to its output ``O = θ(S)`` and gives the elementwise derivative ``θ'(S)`` that the δ
recursion multiplies in::

    δ^(l) = (W^(l+1)ᵀ δ^(l+1)) ⊙ θ'(s^(l))

Write your own by subclassing :class:`Activation` and implementing :meth:`forward`
and :meth:`derivative`. Activations are parameters of an estimator, so they follow
scikit-learn's conventions: constructor arguments are stored unchanged, which makes
``clone``, ``get_params`` and ``GridSearchCV`` (``activation__alpha``) work.

An activation with trainable per-unit parameters (:class:`PReLU`) subclasses
:class:`ParametricActivation`; the network keeps those parameters in its flat
parameter vector, so optimizers update them and the gradient check covers them.

**Built-ins.** Each built-in class holds every form it has: the numpy
``forward``/``derivative``, the in-place ``_forward_into``/``_mul_derivative``
of the four the network runs in place, its ``kernel_code`` (its branch in the
compiled kernels), its ONNX nodes (``_onnx``) and the bound on its outputs
(``_output_bound``). ``BUILTIN_ACTIVATIONS`` lists them once; the names, the
kernels' tables, ONNX export and the trust given to built-ins are read from it
(see the developer page of the documentation).
"""

import numpy as np
from scipy.special import expit

from ._core import xp as _xp
from ._core.activation_base import Activation, ParametricActivation

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "Activation",
    "Identity",
    "LeakyReLU",
    "Logistic",
    "PReLU",
    "ParametricActivation",
    "ReLU",
    "Softplus",
    "Tanh",
    "get_activation",
]


def _namespace(s):
    # numpy first: its hot path pays an isinstance check, not a namespace lookup.
    return np if isinstance(s, np.ndarray) else _xp.namespace(s)


def _scalar(value, s, xp):
    # A constant in ``s``'s dtype: a numpy scalar for numpy (as it always was), a
    # Python float elsewhere (the array API casts it to the array's dtype).
    return s.dtype.type(value) if xp is np else float(value)


def _min0(s, xp):
    # min(s, 0) elementwise.
    return np.minimum(s, 0) if xp is np else xp.minimum(s, xp.zeros_like(s))


class Identity(Activation):
    """Identity, ``θ(s) = s``; ``θ'(s) = 1``."""

    name = "identity"
    kernel_code = 0

    def forward(self, s):  # noqa: D102
        return _xp.copy(s, _namespace(s))

    def derivative(self, s, o):  # noqa: D102
        return _namespace(s).ones_like(s)

    def _needs_signal(self):
        return False

    def _forward_into(self, s, out):
        if out is not s:
            out[...] = s
        return out

    def _mul_derivative(self, g, s, o, tmp):
        pass

    def _output_bound(self, s_max, theta=None):
        return s_max

    def _onnx(self, g, s, theta=None):
        return g.op("Identity", s)


class Logistic(Activation):
    """Logistic sigmoid, ``θ(s) = 1 / (1 + e^{-s})``; ``θ'(s) = o (1 - o)``.

    Computed with :func:`scipy.special.expit`, which does not overflow.
    """

    name = "logistic"
    kernel_code = 1
    _aliases = ("sigmoid",)

    def forward(self, s):  # noqa: D102
        return _xp.expit(s, _namespace(s))

    def derivative(self, s, o):  # noqa: D102
        return o * (1 - o)

    def _needs_signal(self):
        return False

    def _forward_into(self, s, out):
        return expit(s, out=out)

    def _mul_derivative(self, g, s, o, tmp):
        # g·o·(1 - o), in scikit-learn's order of operations.
        g *= o
        np.subtract(1, o, out=tmp)
        g *= tmp

    def _output_bound(self, s_max, theta=None):
        return 1.0

    def _onnx(self, g, s, theta=None):
        return _onnx_ops().sigmoid(g, s)


class Tanh(Activation):
    """Hyperbolic tangent, ``θ(s) = tanh(s)``; ``θ'(s) = 1 - o²`` (the lecture's)."""

    name = "tanh"
    kernel_code = 2

    def forward(self, s):  # noqa: D102
        return _namespace(s).tanh(s)

    def derivative(self, s, o):  # noqa: D102
        return 1 - o * o

    def _needs_signal(self):
        return False

    def _forward_into(self, s, out):
        return np.tanh(s, out=out)

    def _mul_derivative(self, g, s, o, tmp):
        np.multiply(o, o, out=tmp)
        np.subtract(1, tmp, out=tmp)
        g *= tmp

    def _output_bound(self, s_max, theta=None):
        return 1.0

    def _onnx(self, g, s, theta=None):
        return g.op("Tanh", s)


class ReLU(Activation):
    """Rectified linear unit, ``θ(s) = max(0, s)``; ``θ'(s) = 1[s > 0]``."""

    name = "relu"
    kernel_code = 3

    def forward(self, s):  # noqa: D102
        xp = _namespace(s)
        if xp is np:
            return np.maximum(s, 0)
        return xp.clip(s, min=0.0)

    def derivative(self, s, o):  # noqa: D102
        # sign(o) is 1[s > 0] (o >= 0), and NaN at a NaN signal as in the
        # in-place and compiled forms: a NaN must not look like a dead unit.
        return _namespace(o).sign(o)

    def _needs_signal(self):
        return False

    def _forward_into(self, s, out):
        return np.maximum(s, 0, out=out)

    def _mul_derivative(self, g, s, o, tmp):
        # sign(o) is exactly the indicator 1[o > 0] since o >= 0; two streaming
        # passes instead of a boolean mask and a scatter.
        np.sign(o, out=tmp)
        g *= tmp

    def _output_bound(self, s_max, theta=None):
        return s_max

    def _onnx(self, g, s, theta=None):
        return g.op("Relu", s)


class LeakyReLU(Activation):
    """Leaky ReLU, ``θ(s) = s`` if ``s >= 0`` else ``alpha·s``.

    Parameters
    ----------
    alpha : float, default=0.01
        Slope for negative signals.
    """

    name = "leaky_relu"
    kernel_code = 4

    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def forward(self, s):  # noqa: D102
        xp = _namespace(s)
        return xp.where(s >= 0, s, s * _scalar(self.alpha, s, xp))

    def derivative(self, s, o):  # noqa: D102
        xp = _namespace(s)
        if xp is np:
            return np.where(s >= 0, 1, self.alpha).astype(s.dtype, copy=False)
        return xp.where(s >= 0, xp.ones_like(s), xp.full_like(s, float(self.alpha)))

    def _output_bound(self, s_max, theta=None):
        return max(1.0, abs(self.alpha)) * s_max

    def _kernel_alpha(self):
        return float(self.alpha)

    def _onnx(self, g, s, theta=None):
        return g.op("Where", g.op("Less", s, 0.0), g.op("Mul", s, float(self.alpha)), s)


class ELU(Activation):
    """Exponential linear unit, ``θ(s) = s`` if ``s > 0`` else ``alpha·(e^s - 1)``.

    Parameters
    ----------
    alpha : float, default=1.0
        Scale of the negative part.
    """

    name = "elu"
    kernel_code = 5

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, s):  # noqa: D102
        # expm1 of the clipped signal: no overflow for large positive s.
        xp = _namespace(s)
        neg = xp.expm1(_min0(s, xp)) * _scalar(self.alpha, s, xp)
        return xp.where(s > 0, s, neg)

    def derivative(self, s, o):  # noqa: D102
        # For s <= 0, θ'(s) = alpha·e^s = o + alpha.
        xp = _namespace(s)
        if xp is np:
            return np.where(s > 0, 1, o + s.dtype.type(self.alpha)).astype(
                s.dtype, copy=False
            )
        return xp.where(s > 0, xp.ones_like(s), o + float(self.alpha))

    def _output_bound(self, s_max, theta=None):
        return max(s_max, abs(self.alpha))

    def _kernel_alpha(self):
        return float(self.alpha)

    def _onnx(self, g, s, theta=None):
        # expm1 on min(s, 0), as forward computes it.
        neg = _onnx_ops().expm1_nonpositive(g, g.op("Min", s, 0.0))
        neg = g.op("Mul", neg, float(self.alpha))
        return g.op("Where", g.op("Greater", s, 0.0), s, neg)


_SQRT_HALF = np.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


class GELU(Activation):
    """Gaussian error linear unit, ``θ(s) = s·Φ(s)`` with the exact ``erf`` form.

    ``θ'(s) = Φ(s) + s·φ(s)`` where ``φ`` is the standard normal density.
    """

    name = "gelu"
    kernel_code = 7

    def forward(self, s):  # noqa: D102
        return s * self._cdf(s, _namespace(s))

    def derivative(self, s, o):  # noqa: D102
        xp = _namespace(s)
        cdf = self._cdf(s, xp)
        # exp(-s²/2) underflows to 0 for large |s|, which is the right limit;
        # s² itself is computed on the clipped signal so it cannot overflow.
        sc = np.clip(s, -40, 40) if xp is np else xp.clip(s, -40.0, 40.0)
        pdf = xp.exp(-0.5 * sc * sc) * _scalar(_INV_SQRT_2PI, s, xp)
        return cdf + sc * pdf

    @staticmethod
    def _cdf(s, xp):
        # Φ(s) = ½(1 + erf(s/√2)).
        return 0.5 * (1 + _xp.erf(s * _scalar(_SQRT_HALF, s, xp), xp))

    def _output_bound(self, s_max, theta=None):
        return s_max  # |s·Φ(s)| <= |s|

    def _onnx(self, g, s, theta=None):
        erf = _onnx_ops().erf(g, g.op("Mul", s, float(_SQRT_HALF)))
        return g.op("Mul", s, g.op("Mul", g.op("Add", erf, 1.0), 0.5))


class Softplus(Activation):
    """Softplus, ``θ(s) = ln(1 + e^s)`` via ``logaddexp``; ``θ'(s) = σ(s)``."""

    name = "softplus"
    kernel_code = 6

    def forward(self, s):  # noqa: D102
        xp = _namespace(s)
        if xp is np:
            return np.logaddexp(s.dtype.type(0), s)
        return xp.logaddexp(xp.zeros_like(s), s)

    def derivative(self, s, o):  # noqa: D102
        return _xp.expit(s, _namespace(s))

    def _output_bound(self, s_max, theta=None):
        return s_max + np.log(2.0)  # ln(1 + e^s) <= max(s, 0) + ln 2

    def _onnx(self, g, s, theta=None):
        # logaddexp(0, s) = max(s, 0) + log1p(exp(-|s|)), as numpy computes it.
        tail = g.op("Exp", g.op("Neg", g.op("Abs", s)))
        return g.op("Add", g.op("Relu", s), _onnx_ops().log1p_nonnegative(g, tail))


class PReLU(ParametricActivation):
    """Parametric ReLU, ``θ(s) = s`` if ``s >= 0`` else ``a·s``, ``a`` learned per unit.

    The slopes ``a`` are trained by backpropagation with the weights:
    ``∂ℓ/∂a_j = Σ_rows ∂ℓ/∂o_j · min(s_j, 0)``. They are not L2-penalised.

    Parameters
    ----------
    init : float, default=0.25
        Initial slope of every unit (He et al., 2015).
    """

    name = "prelu"
    n_parameters = 1

    def __init__(self, init=0.25):
        self.init = init

    def init_parameters(self, n_units, dtype):  # noqa: D102
        return np.full((1, n_units), self.init, dtype=dtype)

    def forward(self, s, theta):  # noqa: D102
        return _namespace(s).where(s >= 0, s, s * theta[0, :])

    def derivative(self, s, o, theta):  # noqa: D102
        xp = _namespace(s)
        slope = xp.broadcast_to(theta[0, :], s.shape)
        return xp.where(s >= 0, xp.ones_like(s), slope)

    def parameter_gradient(self, s, o, theta, grad_o):  # noqa: D102
        xp = _namespace(s)
        if xp is np:
            return np.einsum("ij,ij->j", grad_o, np.minimum(s, 0))[np.newaxis, :]
        return xp.sum(grad_o * _min0(s, xp), axis=0, keepdims=True)

    def _output_bound(self, s_max, theta=None):
        return max(1.0, float(np.abs(theta).max(initial=0.0))) * s_max

    def _onnx(self, g, s, theta=None):
        return g.op("Where", g.op("Less", s, 0.0), g.op("Mul", s, theta[0]), s)


def _onnx_ops():
    # The ONNX helpers (erf, sigmoid, ...) import onnx: loaded only when exporting.
    from ._export import onnx_ops as _onnx_ops

    return _onnx_ops


#: The registry: every built-in activation class, once. Names (:data:`ACTIVATIONS`),
#: the kernels' codes, ONNX export and the trust given to built-ins are read from
#: it. A new built-in is a class above plus its entry here (see the developer page).
BUILTIN_ACTIVATIONS = (
    Identity,
    Logistic,
    Tanh,
    ReLU,
    LeakyReLU,
    ELU,
    GELU,
    Softplus,
    PReLU,
)

#: Built-ins with in-place forms (``_forward_into``, ``_mul_derivative``), which
#: the network and the fused kernels run for exactly these classes; everything
#: else goes through forward/derivative.
FAST_ACTIVATIONS = frozenset(
    cls for cls in BUILTIN_ACTIVATIONS if "_forward_into" in vars(cls)
)

#: Name (and alias) → built-in class.
ACTIVATIONS = {
    name: cls for cls in BUILTIN_ACTIVATIONS for name in (cls.name, *cls._aliases)
}


def is_builtin(act):
    """Whether ``act`` is an instance of a built-in class itself (not a subclass).

    Only the built-ins are trusted: their kernel forms, ONNX nodes and output
    bound describe exactly their ``forward``; a user's subclass may override it.
    """
    return type(act) in BUILTIN_ACTIVATIONS


def get_activation(activation):
    """Return an :class:`Activation` for a name or an activation object.

    Parameters
    ----------
    activation : str or Activation
        A name from :data:`ACTIVATIONS` or an :class:`Activation` instance.

    Returns
    -------
    activation : Activation
        A fresh object for a name; the object itself otherwise.

    Raises
    ------
    ValueError
        If the name is unknown.
    TypeError
        If ``activation`` is neither a string nor an :class:`Activation`.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation]()
        except KeyError:
            raise ValueError(
                f"Unknown activation {activation!r}. Use one of "
                f"{sorted(ACTIVATIONS)}, or an instance of a subclass of "
                "skbackprop.activations.Activation."
            ) from None
    raise TypeError(
        "activation must be a name such as 'relu' or an instance of "
        f"skbackprop.activations.Activation, got {activation!r} of type "
        f"{type(activation).__name__}."
    )
