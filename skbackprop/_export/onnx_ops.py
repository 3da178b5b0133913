"""The ONNX graph builder and the helpers the built-ins' ONNX forms share.

Each built-in activation and loss writes its own nodes (its ``_onnx`` method, in
:mod:`skbackprop.activations` and :mod:`skbackprop.losses`) with
:class:`GraphBuilder` and the helpers here. Every formula is written with
operators that onnxruntime implements for float32 *and* float64 (``Exp``,
``Log``, ``Tanh``, ``Relu``, ``Softmax``, ``Where``, ``Less``, ``Min``/``Max``
and arithmetic), mirroring the numpy code step by step, so that one graph
builder serves both dtypes. onnxruntime has no float64 kernels for ``Elu``,
``LeakyRelu``, ``PRelu``, ``Softplus``, ``Gelu`` or ``Erf``, and its
``Sigmoid`` is an approximation (about 1e-10 relative in float64, worse for
tiny float32 outputs), so those are composed here. ``erf`` in float64 is
Cephes' rational approximation (S. L. Moshier, the one behind
``scipy.special.ndtr``), accurate to a few units in the last place.

This module imports numpy and onnx only: the builder is handed skl2onnx's scope
and container by :mod:`skbackprop.onnx`.
"""

import numpy as np
from onnx import TensorProto

__all__ = [
    "GraphBuilder",
    "erf",
    "expm1_nonpositive",
    "log1p_nonnegative",
    "sigmoid",
]

_PROTO = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int64): TensorProto.INT64,
}


class GraphBuilder:
    """Adds ONNX nodes and constants to the graph being converted.

    The object handed to an activation's ``onnx_nodes`` hook (see
    :mod:`skbackprop.onnx`). Tensors are referred to by their names (strings).

    Parameters
    ----------
    scope : skl2onnx.common._topology.Scope
        Gives unique names.
    container : skl2onnx.common._container.ModelComponentContainer
        Receives the nodes and initializers.
    dtype : numpy dtype
        Float dtype of the graph (float32 or float64).
    model_dtype : numpy dtype, default=None
        Float dtype of the fitted weights (``predict`` computes in it); None: the
        graph's.

    Attributes
    ----------
    dtype : numpy.dtype
        Float dtype of the graph: ``np.float32`` or ``np.float64``. Constants
        given as Python or numpy numbers are stored in it.
    model_dtype : numpy.dtype
        Float dtype of the fitted weights. A limit that depends on the dtype (the
        signal clip, an ``exp`` cap) is the narrower of the two dtypes', so that
        the graph gives what ``predict`` gives wherever its dtype can hold it.
    """

    # Documented and used as skbackprop.onnx.GraphBuilder.
    __module__ = "skbackprop.onnx"

    def __init__(self, scope, container, dtype, model_dtype=None):
        self._scope = scope
        self._container = container
        self.dtype = np.dtype(dtype)
        self.model_dtype = self.dtype if model_dtype is None else np.dtype(model_dtype)
        self._consts = {}

    def const(self, value, dtype=None):
        """Add a constant tensor and return its name.

        Parameters
        ----------
        value : float, int, array-like of numbers or of str
            The constant; its shape is kept (a number is a scalar, which
            broadcasts against any tensor).
        dtype : numpy dtype, default=None
            Storage dtype: float32, float64, int64 or str. None uses the graph's
            float dtype for numbers and str for strings.

        Returns
        -------
        name : str
            Name of the constant in the graph.
        """
        arr = np.asarray(value)
        if arr.dtype.kind in "USO":
            data = np.array([str(v).encode("utf-8") for v in arr.ravel()], dtype=object)
            proto = TensorProto.STRING
        else:
            arr = arr.astype(self.dtype if dtype is None else dtype)
            if arr.dtype not in _PROTO:
                raise TypeError(
                    f"GraphBuilder.const stores float32, float64, int64 or str "
                    f"constants, not {arr.dtype}; pass dtype=np.int64 for integers."
                )
            data, proto = arr.ravel(), _PROTO[arr.dtype]
        # Constants repeat (1.0, 0.0, ...): one initializer for each value.
        key = (
            None if proto == TensorProto.STRING else (proto, arr.shape, data.tobytes())
        )
        if key not in self._consts:
            name = self._scope.get_unique_variable_name("c")
            self._container.add_initializer(name, proto, list(arr.shape), data)
            if key is None:
                return name
            self._consts[key] = name
        return self._consts[key]

    def op(self, op_type, *inputs, **attrs):
        """Add one ONNX node of the standard domain and return its output's name.

        Parameters
        ----------
        op_type : str
            ONNX operator with one output, e.g. ``"Mul"``, ``"Exp"``, ``"Where"``.
        *inputs : str or number or array-like
            Tensor names, or constants (added with :meth:`const` in the graph's
            float dtype).
        **attrs
            Node attributes, e.g. ``axis=1``.

        Returns
        -------
        name : str
            Name of the node's output.
        """
        names = [i if isinstance(i, str) else self.const(i) for i in inputs]
        out = self._scope.get_unique_variable_name(op_type.lower())
        self._container.add_node(
            op_type,
            names,
            [out],
            name=self._scope.get_unique_operator_name(op_type),
            **attrs,
        )
        return out


# ------------------------------------------------------------------ helpers
def sigmoid(g, s):
    """``1 / (1 + exp(-s))``: as exact as :func:`scipy.special.expit`."""
    return g.op("Reciprocal", g.op("Add", g.op("Exp", g.op("Neg", s)), 1.0))


def expm1_nonpositive(g, x):
    """``expm1(x)`` for ``x <= 0`` with Kahan's trick, ``(u - 1)·x / log u``.

    ``exp(x) - 1`` alone loses the relative precision of small ``x``. Below -40,
    ``expm1`` is -1 in both dtypes: clipping there keeps ``log u`` finite.
    """
    x = g.op("Max", x, -40.0)
    u = g.op("Exp", x)
    d = g.op("Sub", u, 1.0)
    r = g.op("Mul", d, g.op("Div", x, g.op("Log", u)))
    return g.op("Where", g.op("Less", d, 0.0), r, x)  # u == 1: expm1(x) = x


def log1p_nonnegative(g, y):
    """``log1p(y)`` for ``y >= 0`` with Kahan's trick, ``y·log u / (u - 1)``."""
    u = g.op("Add", y, 1.0)
    d = g.op("Sub", u, 1.0)
    r = g.op("Mul", y, g.op("Div", g.op("Log", u), d))
    return g.op("Where", g.op("Greater", d, 0.0), r, y)  # u == 1: log1p(y) = y


def _polynomial(g, x, coefs, monic=False):
    """Horner's scheme; coefficients from the highest degree (Cephes' polevl)."""
    acc = g.op("Add", x, coefs[0]) if monic else g.const(coefs[0])
    for c in coefs[1:]:
        acc = g.op("Add", g.op("Mul", acc, x), c)
    return acc


# Cephes ndtr.c (public domain): erf(x) = x·T(x²)/U(x²) for |x| <= 1, else
# 1 - erfc(|x|) with erfc(x) = exp(-x²)·P(x)/Q(x) (x < 8) or ·R(x)/S(x).
# fmt: off
_T = [9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
      7.00332514112805075473e3, 5.55923013010394962768e4]
_U = [3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
      2.26290000613890934246e4, 4.92673942608635921086e4]
_P = [2.46196981473530512524e-10, 5.64189564831068821977e-1,
      7.46321056442269912687e0, 4.86371970985681366614e1, 1.96520832956077098242e2,
      5.26445194995477358631e2, 9.34528527171957607540e2, 1.02755188689515710272e3,
      5.57535335369399327526e2]
_Q = [1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
      9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
      1.65666309194161350182e3, 5.57535340817727675546e2]
_R = [5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
      6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0]
_S = [2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
      1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0]
# fmt: on


def erf(g, x):
    """``erf(x)``: the ``Erf`` operator in float32, Cephes' formula in float64.

    Each branch sees its input clipped to its own range, so that the branches not
    taken stay finite (``Where`` evaluates all of them).
    """
    if g.dtype == np.float32:
        return g.op("Erf", x)
    xs = g.op("Max", g.op("Min", x, 1.0), -1.0)
    z = g.op("Mul", xs, xs)
    small = g.op(
        "Div", g.op("Mul", xs, _polynomial(g, z, _T)), _polynomial(g, z, _U, True)
    )
    a = g.op("Abs", x)
    # erfc(a) underflows to 0 long before a = 30; the clip keeps P/Q finite.
    xl = g.op("Min", g.op("Max", a, 1.0), 30.0)
    mid = g.op("Less", xl, 8.0)
    p = g.op("Where", mid, _polynomial(g, xl, _P), _polynomial(g, xl, _R))
    q = g.op("Where", mid, _polynomial(g, xl, _Q, True), _polynomial(g, xl, _S, True))
    erfc = g.op("Div", g.op("Mul", g.op("Exp", g.op("Neg", g.op("Mul", xl, xl))), p), q)
    large = g.op("Sub", 1.0, erfc)
    large = g.op("Where", g.op("Less", x, 0.0), g.op("Neg", large), large)
    return g.op("Where", g.op("Greater", a, 1.0), large, small)
