"""Fused numba kernels against the numpy code paths they replace.

Each kernel runs on copies of the same random arrays as the numpy path (the
optimizers' ``update``, the activations' ``_forward_into`` and ``_mul_derivative``,
the network's L2 term and gradient norms); equality is bitwise where the module
claims it.
"""

import numba  # noqa: F401 - the fused kernels need it: fail loudly without it
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skbackprop._kernels import fused as kf
from skbackprop._kernels.config import config_context
from skbackprop.activations import Identity, Logistic, ReLU, Tanh
from skbackprop.losses import BinaryLogLoss, PoissonLoss, SoftmaxLogLoss, SquaredError
from skbackprop.network import Network
from skbackprop.optimizers import SGD, Adam

DTYPES = [np.float32, np.float64]
SIZES = [1, 2, 7, 33, 1000, 10_007]
SHAPES = [(1, 1), (1, 5), (3, 1), (7, 13), (64, 257)]
ACTIVATIONS = [Identity, Logistic, Tanh, ReLU]
# Tolerances for logistic: the kernel's exp and scipy's may come from two libm.
RTOL = {np.float32: 1e-6, np.float64: 1e-14}


def _randn(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _layer_bounds(n, n_layers=3):
    """Offsets ``[0, ..., n_coef]`` of ``n_layers`` uneven layers in ``n`` params."""
    cuts = sorted({0, n // 5, n // 2, (3 * n) // 4}) if n >= 4 else [0, n // 2]
    return np.array(cuts[: n_layers + 1], dtype=np.int64)


def _sq_norms(grad, bounds):
    """Network.coef_grad_sq_norms: one dot per layer."""
    layers = zip(bounds[:-1], bounds[1:], strict=True)
    return np.array([np.dot(grad[a:b], grad[a:b]) for a, b in layers])


def _add_l2(grad, params, bounds, scale):
    """Network.loss_gradient's L2 term (numpy path); return the squared norms."""
    n_coef = bounds[-1]
    tmp = np.empty(n_coef, dtype=params.dtype)
    np.multiply(params[:n_coef], scale, out=tmp)
    grad[:n_coef] += tmp
    return _sq_norms(grad, bounds)


def _check_norms(fused, ref, dtype):
    assert_allclose(fused, ref, rtol=1e-12 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("l2", [False, True])
def test_adam_update_bitwise(dtype, n, l2):
    rng = np.random.default_rng(n)
    opt = Adam(n, dtype, learning_rate_init=3e-3, beta_1=0.85, epsilon=1e-7)
    params = _randn(rng, n, dtype)
    m, v = opt.m.copy(), opt.v.copy()
    p_fused = params.copy()
    bounds, scale = _layer_bounds(n), 1e-3 / 37
    for _ in range(4):  # from zero moments, then from nonzero ones
        grad = _randn(rng, n, dtype, scale=rng.choice([1e-6, 1.0, 1e3]))
        g_fused = grad.copy()
        if l2:
            ref_norms = _add_l2(grad, params, bounds, scale)
        opt.update(params, grad)
        norms = np.empty(len(bounds) - 1, dtype=dtype)
        kf.adam_update(
            p_fused,
            g_fused,
            m,
            v,
            opt.beta_1,
            opt.beta_2,
            opt.learning_rate,
            opt.epsilon,
            l2_scale=scale if l2 else None,
            coef_bounds=bounds,
            sq_norms=norms,
        )
        for fused, ref in [(p_fused, params), (m, opt.m), (v, opt.v)]:
            assert_array_equal(fused, ref)
        assert_array_equal(g_fused, grad)
        _check_norms(norms, ref_norms if l2 else _sq_norms(grad, bounds), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("l2", [False, True])
def test_sgd_update_bitwise(dtype, n, nesterov, l2):
    rng = np.random.default_rng(n + 1)
    opt = SGD(n, dtype, learning_rate_init=0.07, momentum=0.83, nesterov=nesterov)
    params = _randn(rng, n, dtype)
    velocity = opt.velocity.copy()
    p_fused = params.copy()
    bounds, scale = _layer_bounds(n), 1e-2 / 3
    for _ in range(3):
        grad = _randn(rng, n, dtype)
        g_fused = grad.copy()
        ref_norms = _add_l2(grad, params, bounds, scale) if l2 else None
        opt.update(params, grad)
        norms = np.empty(len(bounds) - 1) if l2 else None
        kf.sgd_update(
            p_fused,
            g_fused,
            velocity,
            opt.learning_rate,
            opt.momentum,
            nesterov,
            l2_scale=scale if l2 else None,
            coef_bounds=bounds if l2 else None,
            sq_norms=norms,
        )
        assert_array_equal(p_fused, params)
        assert_array_equal(velocity, opt.velocity)
        assert_array_equal(g_fused, grad)
        if l2:
            _check_norms(norms, ref_norms, dtype)


def test_updates_without_layers_leave_grad_alone():
    rng = np.random.default_rng(0)
    params, grad = rng.standard_normal(9), rng.standard_normal(9)
    before = grad.copy()
    kf.adam_update(params, grad, np.zeros(9), np.zeros(9), 0.9, 0.999, 1e-3, 1e-8)
    assert_array_equal(grad, before)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("in_place", [True, False])
def test_bias_forward(dtype, shape, activation, in_place):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    s = _randn(rng, shape, dtype, scale=4.0)
    b = _randn(rng, shape[1], dtype)
    s_fused = s.copy()
    out = s_fused if in_place else np.empty_like(s)
    ref_out = s if in_place else np.empty_like(s)
    s += b
    s_ref = s.copy()
    ref = activation()._forward_into(s, ref_out)
    got = kf.bias_forward(s_fused, b, kf.FUSED_CODES[activation], out)
    assert got is out
    if not in_place:
        assert_array_equal(s_fused, s_ref)
    if activation is not Logistic:
        assert_array_equal(got, ref)
    else:
        assert_allclose(got, ref, rtol=RTOL[dtype], atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_forward_special_values(dtype):
    # ReLU as np.maximum: NaN propagates (with its sign), -0.0 becomes +0.0.
    row = np.array([np.nan, -np.nan, -0.0, 0.0, np.inf, -np.inf, -1, 2], dtype)
    s = np.tile(row, (3, 1))
    b = np.zeros(row.size, dtype)
    b[2] = -0.0
    ref = s.copy()
    ref += b
    ref = np.maximum(ref, 0, out=ref)
    got = kf.bias_forward(s, b, kf.FUSED_CODES[ReLU], s)
    assert_array_equal(got, ref)
    assert_array_equal(np.signbit(got), np.signbit(ref))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mul_derivative_bitwise(dtype, shape, activation):
    rng = np.random.default_rng(shape[0] + 7 * shape[1])
    act = activation()
    s = _randn(rng, shape, dtype, scale=3.0)
    o = act._forward_into(s, np.empty_like(s))
    if activation is ReLU:  # some outputs exactly 0 next to negative gradients
        o[::2] = 0.0
    g = _randn(rng, shape, dtype)
    g_fused = g.copy()
    act._mul_derivative(g, s, o, np.empty_like(g))
    kf.mul_derivative(g_fused, s, o, kf.FUSED_CODES[activation])
    assert_array_equal(g_fused, g)
    assert_array_equal(np.signbit(g_fused), np.signbit(g))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_derivative_special_values(dtype):
    o = np.array([np.nan, -np.nan, 0.0, -0.0, np.inf, 1.5, 0.0, 3.0], dtype)
    g = np.array([1.0, -2.0, -3.0, -4.0, 5.0, -6.0, np.inf, np.nan], dtype)
    ref, g_fused = g.copy(), g.copy()
    with np.errstate(invalid="ignore"):  # inf·0
        ReLU()._mul_derivative(ref, None, o, np.empty_like(o))
    kf.mul_derivative(g_fused, None, o, kf.FUSED_CODES[ReLU])
    assert_array_equal(g_fused, ref)
    assert_array_equal(np.signbit(g_fused), np.signbit(ref))


def test_fused_codes_are_the_fast_activations():
    from skbackprop.activations import FAST_ACTIVATIONS

    assert set(kf.FUSED_CODES) == set(FAST_ACTIVATIONS)
    assert sorted(kf.FUSED_CODES.values()) == [0, 1, 2, 3]


def test_wrappers_check_arrays():
    x = np.zeros(4)
    with pytest.raises(ValueError, match="one dtype"):
        kf.sgd_update(x, np.zeros(4, np.float32), np.zeros(4), 0.1, 0.9, True)
    with pytest.raises(TypeError, match="float32 or float64"):
        kf.mul_derivative(np.zeros(4, int), None, np.zeros(4, int), 3)
    with pytest.raises(ValueError, match="C-contiguous"):
        kf.mul_derivative(np.zeros((4, 4))[:, ::2], None, np.zeros((4, 2)), 3)
    with pytest.raises(ValueError, match="coef_bounds"):
        kf.adam_update(x, x, x, x, 0.9, 0.999, 1e-3, 1e-8, l2_scale=1.0)
    with pytest.raises(ValueError, match="shape"):
        kf.bias_forward(np.zeros((2, 3)), np.zeros(2), 3, np.zeros((2, 3)))


def test_unavailable_raises_import_error(monkeypatch):
    monkeypatch.setattr(kf, "AVAILABLE", False)
    with pytest.raises(ImportError, match="numba"):
        kf.mul_derivative(np.zeros(3), None, np.zeros(3), 0)


# A single column is summed pairwise by numpy (as a vector), more columns row by row.
SUM_SHAPES = [*SHAPES, (200, 1), (300, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SUM_SHAPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mul_derivative_sums_bitwise(dtype, shape, activation):
    # θ' and the intercept gradient (numpy: add.reduce over the rows) in one pass.
    rng = np.random.default_rng(shape[0] + 11 * shape[1])
    act = activation()
    s = _randn(rng, shape, dtype, scale=3.0)
    o = act._forward_into(s, np.empty_like(s))
    if activation is ReLU:
        o[::2] = 0.0
    g = _randn(rng, shape, dtype)
    g_fused = g.copy()
    act._mul_derivative(g, s, o, np.empty_like(g))
    ref = np.add.reduce(g, axis=0)
    sums = np.full(shape[1], np.nan, dtype)
    kf.mul_derivative_sums(g_fused, o, kf.FUSED_CODES[activation], sums)
    assert_array_equal(g_fused, g)
    assert_array_equal(sums, ref)
    assert_array_equal(np.signbit(sums), np.signbit(ref))


# Widths around numpy's pairwise-sum blocks (8 running sums, blocks of 128).
SOFTMAX_SHAPES = [(1, 1), (5, 2), (7, 8), (3, 10), (4, 17), (2, 128), (3, 300)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SOFTMAX_SHAPES)
def test_softmax_forward_bitwise(dtype, shape):
    rng = np.random.default_rng(shape[1])
    s = _randn(rng, shape, dtype, scale=5.0)
    b = _randn(rng, shape[1], dtype)
    s[0, 0] = np.nan if shape[0] > 2 else s[0, 0]  # a NaN row stays NaN
    ref = s.copy()
    ref += b
    with np.errstate(invalid="ignore"):
        ref = SoftmaxLogLoss().link(ref)
        got = kf.softmax_forward(s, b)
    assert got is s
    assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 3), (9, 10), (256, 10), (33, 130), (200, 1), (300, 2)]
)
def test_canonical_delta_bitwise(dtype, weighted, shape):
    # Network.loss_gradient's base case: P - Y, times w, divided by Σw, summed.
    rng = np.random.default_rng(shape[0])
    m, k = shape
    P = _randn(rng, shape, dtype)
    Y = _randn(rng, shape, dtype)
    P[0, 0], Y[-1, -1] = np.nan, np.inf
    sw = rng.uniform(0.0, 3.0, m).astype(dtype) if weighted else None
    sw_sum = float(sw.sum()) if weighted else m
    ref = SoftmaxLogLoss().output_delta(Y, P)
    if weighted:
        ref *= sw[:, np.newaxis]
    if sw_sum != 1:
        ref /= sw_sum
    D, sums = np.empty_like(P), np.empty(k, dtype)
    with np.errstate(invalid="ignore"):
        kf.canonical_delta(Y, P, sw, sw_sum, D, sums)
        ref_sums = np.add.reduce(ref, axis=0)
    assert_array_equal(D, ref)
    assert_array_equal(sums, ref_sums)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "loss", [SoftmaxLogLoss, BinaryLogLoss, SquaredError, PoissonLoss]
)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_network_gradient_with_fused_output_is_bitwise(
    dtype, loss, activation, weighted
):
    # The fused output layer (softmax, δ^(L) with its sums) and intercept sums in
    # the derivative pass give the numpy path's loss and gradient bit for bit.
    rng = np.random.default_rng(3)
    units = [5, 7, 6, 4]
    nets = []
    for kernels in (True, False):
        with config_context(kernels=kernels):
            net = Network(units, [activation(), activation()], loss(), dtype)
            net.params[...] = (
                rng.normal(scale=0.7, size=net.params.size)
                if not nets
                else nets[0].params
            )
            net._workspace(9)  # the workspace (and its kernels) of this setting
        nets.append(net)
    X = _randn(rng, (9, 5), dtype)
    if loss is SoftmaxLogLoss:
        Y = np.eye(4, dtype=dtype)[rng.integers(0, 4, 9)]
    else:
        Y = rng.integers(0, 3 if loss is PoissonLoss else 2, (9, 4)).astype(dtype)
    sw = rng.uniform(0.1, 2.0, 9).astype(dtype) if weighted else None
    values = [net.loss_gradient(X, Y, sw, alpha=0.3) for net in nets]
    assert nets[0]._workspaces[9].canonical and not nets[1]._workspaces[9].fused
    assert values[0] == values[1]
    assert_array_equal(nets[0].grad, nets[1].grad)


def test_network_gradient_with_strided_targets_keeps_numpy():
    # L-BFGS can hand the network a strided view of the targets: the compiled
    # output pass takes contiguous arrays only, so the numpy path computes δ.
    rng = np.random.default_rng(5)
    with config_context(kernels=True):
        net = Network([3, 4, 1], [ReLU()], SquaredError(), np.float64)
        net.params[...] = rng.normal(size=net.params.size)
        X = rng.normal(size=(10, 3))
        Y = rng.normal(size=(10, 2))[:, :1]  # a column view: not C-contiguous
        value = net.loss_gradient(X, Y, None, alpha=0.1)
        grad = net.grad.copy()
    with config_context(kernels=False):
        ref = Network([3, 4, 1], [ReLU()], SquaredError(), np.float64)
        ref.params[...] = net.params
        assert ref.loss_gradient(X, np.ascontiguousarray(Y), None, alpha=0.1) == value
    assert_array_equal(grad, ref.grad)
