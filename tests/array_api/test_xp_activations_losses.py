"""Built-in activations and losses on array-api-strict arrays.

Every built-in activation and loss must take arrays of any array API namespace and
return arrays of the same namespace, device and dtype, with numpy's values to
rounding; the numpy path must stay bit-identical to the formulas it always had
(written out again here as references).
"""

import array_api_strict as xps
import numpy as np
import pytest
from scipy.special import erf, expit, xlogy

from skbackprop._core import xp as _xp
from skbackprop.activations import ACTIVATIONS, ParametricActivation
from skbackprop.losses import (
    BinaryLogLoss,
    PoissonLoss,
    SoftmaxLogLoss,
    SquaredError,
    _exp_cap,
    _xp_exp_cap,
)
from tests._builtins import ACTIVATION_NAMES

DTYPES = {
    "float64": (np.float64, xps.float64, 1e-12, 1e-300),
    "float32": (np.float32, xps.float32, 1e-5, 1e-30),
}
# array-api-strict's array class (not exported under a public name).
STRICT_ARRAY = type(xps.asarray(0.0))


def _np(a):
    return np.from_dlpack(a)


def _signal(np_dtype):
    """A (7, 5) signal over about -30..30 with exact zeros and small values."""
    s = np.linspace(-30.0, 30.0, 35).reshape(7, 5)  # holds 0 at [3, 2]
    s[0, 1] = s[6, 3] = 0.0
    s[1, 1], s[2, 3], s[5, 0] = 1e-3, -1e-3, 0.5
    return s.astype(np_dtype)


def _check(result, reference, xp_dtype, rtol, atol):
    assert isinstance(result, STRICT_ARRAY)
    assert result.dtype == xp_dtype
    assert _xp.device(result) == xps.Device("CPU_DEVICE")
    np.testing.assert_allclose(_np(result), reference, rtol=rtol, atol=atol)


# The numpy formulas as they were before the array API port: the numpy path must
# give exactly these values.
def _old_forward(name, s, theta):
    t = s.dtype.type
    return {
        "identity": lambda: s.copy(),
        "logistic": lambda: expit(s),
        "sigmoid": lambda: expit(s),
        "tanh": lambda: np.tanh(s),
        "relu": lambda: np.maximum(s, 0),
        "leaky_relu": lambda: np.where(s >= 0, s, s * t(0.01)),
        "elu": lambda: np.where(s > 0, s, np.expm1(np.minimum(s, 0)) * t(1.0)),
        "gelu": lambda: s * (0.5 * (1 + erf(s * t(np.sqrt(0.5))))),
        "softplus": lambda: np.logaddexp(t(0), s),
        "prelu": lambda: np.where(s >= 0, s, s * theta[0]),
    }[name]()


def _old_derivative(name, s, o, theta):
    t = s.dtype.type

    def gelu():
        cdf = 0.5 * (1 + erf(s * t(np.sqrt(0.5))))
        sc = np.clip(s, -40, 40)
        return cdf + sc * (np.exp(-0.5 * sc * sc) * t(1.0 / np.sqrt(2.0 * np.pi)))

    return {
        "identity": lambda: np.ones_like(s),
        "logistic": lambda: o * (1 - o),
        "sigmoid": lambda: o * (1 - o),
        "tanh": lambda: 1 - o * o,
        "relu": lambda: (o > 0).astype(o.dtype),
        "leaky_relu": lambda: np.where(s >= 0, 1, 0.01).astype(s.dtype),
        "elu": lambda: np.where(s > 0, 1, o + t(1.0)).astype(s.dtype),
        "gelu": gelu,
        "softplus": lambda: expit(s),
        "prelu": lambda: np.where(s >= 0, 1, np.broadcast_to(theta[0], s.shape)),
    }[name]()


def _args(act, theta):
    return (theta,) if isinstance(act, ParametricActivation) else ()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_strict_matches_numpy(name, dtype):
    np_dtype, xp_dtype, rtol, atol = DTYPES[dtype]
    act = ACTIVATIONS[name]()
    s = _signal(np_dtype)
    theta = None
    if isinstance(act, ParametricActivation):
        theta = act.init_parameters(s.shape[1], np_dtype)
        theta[0, :3] = [0.1, -0.2, 0.0]  # per-unit slopes, a negative and a zero
    theta_x = None if theta is None else xps.asarray(theta)
    s_x = xps.asarray(s)

    o = act.forward(s, *_args(act, theta))
    d = act.derivative(s, o, *_args(act, theta))
    # The numpy path is unchanged: same values, bit for bit, same dtype.
    for new, old in [
        (o, _old_forward(name, s, theta)),
        (d, _old_derivative(name, s, o, theta)),
    ]:
        assert isinstance(new, np.ndarray) and new.dtype == np_dtype
        np.testing.assert_array_equal(new, old.astype(np_dtype))

    o_x = act.forward(s_x, *_args(act, theta_x))
    _check(o_x, o, xp_dtype, rtol, atol)
    # The same output for both namespaces, so the derivatives are compared alone.
    d_x = act.derivative(s_x, xps.asarray(o), *_args(act, theta_x))
    _check(d_x, d, xp_dtype, rtol, atol)
    np.testing.assert_array_equal(_np(s_x), s)  # input untouched

    if theta is not None:
        grad_o = np.random.default_rng(0).uniform(0.5, 1.5, s.shape).astype(np_dtype)
        g = act.parameter_gradient(s, o, theta, grad_o)
        np.testing.assert_array_equal(
            g, np.einsum("ij,ij->j", grad_o, np.minimum(s, 0))[np.newaxis, :]
        )
        g_x = act.parameter_gradient(s_x, o_x, theta_x, xps.asarray(grad_o))
        assert g_x.shape == theta.shape
        _check(g_x, g, xp_dtype, rtol, atol)


# ---------------------------------------------------------------- losses


def _targets(kind, n_outputs, np_dtype, rng):
    shape = (7, n_outputs)
    if kind == "squared_error":
        return rng.standard_normal(shape).astype(np_dtype)
    if kind == "poisson":
        y = rng.poisson(2.0, shape).astype(np_dtype)
        y[0] = 0.0  # some exact zeros
        return y
    if kind == "binary":
        y = (rng.uniform(size=shape) > 0.5).astype(np_dtype)
        y[0], y[1] = 0.0, 1.0
        return y
    return np.eye(n_outputs, dtype=np_dtype)[rng.integers(0, n_outputs, 7)]


def _old_link(kind, s):
    if kind == "squared_error":
        return s.copy()
    if kind == "poisson":
        return np.exp(np.minimum(s, _exp_cap(s.dtype)))
    if kind == "binary":
        return expit(s)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _old_value(kind, y, p, w):
    def total(v):
        if w is None:
            return float(np.add.reduce(v, axis=None)) / v.shape[0]
        return float(np.add.reduce(w @ v)) / float(w.sum())

    eps = np.finfo(p.dtype).eps
    if kind == "squared_error":
        return 0.5 * total((y - p) * (y - p))
    if kind == "poisson":
        dev = xlogy(y, y / p) - y + p
        mean = np.add.reduce(dev, axis=0) / 7 if w is None else w @ dev / w.sum()
        return float(mean.sum())
    if kind == "binary":
        return -total(np.log(np.clip(np.where(y > 0.5, p, 1 - p), eps, 1 - eps)))
    return -total(np.log(np.clip(p, eps, 1 - eps)) * y)


LOSSES = {
    "squared_error": SquaredError,
    "poisson": PoissonLoss,
    "binary": BinaryLogLoss,
    "softmax": SoftmaxLogLoss,
}
LOSS_CASES = [
    ("squared_error", 1),
    ("squared_error", 3),
    ("poisson", 1),
    ("poisson", 3),
    ("binary", 1),
    ("binary", 4),
    ("softmax", 3),
    ("softmax", 5),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind, n_outputs", LOSS_CASES)
def test_loss_strict_matches_numpy(kind, n_outputs, dtype):
    np_dtype, xp_dtype, rtol, atol = DTYPES[dtype]
    rng = np.random.default_rng(n_outputs)
    loss = LOSSES[kind]()
    scale = 3.0 if kind == "poisson" else 10.0  # softmax/logistic: saturated rows
    s = (scale * rng.standard_normal((7, n_outputs))).astype(np_dtype)
    y = _targets(kind, n_outputs, np_dtype, rng)
    w = rng.uniform(0.5, 2.0, 7).astype(np_dtype)

    p = loss.link(s.copy())
    np.testing.assert_array_equal(p, _old_link(kind, s))
    s_x = xps.asarray(s)
    p_x = loss.link(s_x)
    _check(p_x, p, xp_dtype, rtol, atol)

    y_x = xps.asarray(y)
    for weight in [None, w]:
        weight_x = None if weight is None else xps.asarray(weight)
        v = loss.value(y, p, weight)
        assert v == _old_value(kind, y, p, weight)
        # Same outputs in both namespaces: the value alone is compared.
        v_x = loss.value(y_x, xps.asarray(p), weight_x)
        # A 0-d array of the namespace (read without a device sync only when
        # needed), not a float.
        assert type(v_x) is STRICT_ARRAY and v_x.shape == ()
        assert np.isfinite(float(v_x))
        np.testing.assert_allclose(float(v_x), v, rtol=rtol)

    delta = loss.output_delta(y, p)
    np.testing.assert_array_equal(delta, p - y)
    out = np.empty_like(p)
    assert loss.output_delta(y, p, out=out) is out
    np.testing.assert_array_equal(out, p - y)
    _check(loss.output_delta(y_x, xps.asarray(p)), delta, xp_dtype, rtol, atol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_poisson_link_caps_huge_signals(dtype):
    np_dtype, xp_dtype, rtol, atol = DTYPES[dtype]
    s = np.array([[-1e4, 0.0, 1e4], [700.0, 88.8, 1e38]], dtype=np_dtype)
    p = PoissonLoss().link(s.copy())
    p_x = PoissonLoss().link(xps.asarray(s))
    assert np.all(np.isfinite(_np(p_x)))
    _check(p_x, p, xp_dtype, rtol, atol)
    assert _xp_exp_cap(xp_dtype, xps) == float(_exp_cap(np.dtype(np_dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_poisson_value_zero_targets_give_no_nan(dtype):
    np_dtype, xp_dtype, rtol, _ = DTYPES[dtype]
    y = np.array([[0.0, 1.0], [0.0, 3.0]], dtype=np_dtype)
    p = np.array([[1e-20, 2.0], [5.0, 3.0]], dtype=np_dtype)
    v = PoissonLoss().value(y, p)
    v_x = float(PoissonLoss().value(xps.asarray(y), xps.asarray(p)))
    assert np.isfinite(v_x)
    np.testing.assert_allclose(v_x, v, rtol=rtol)
