"""The layer seam of the core: a new layer kind is one small class.

A per-feature input scaling (``o = x ⊙ a``, ``a`` trainable), written here for
the test only, is inserted below the dense stack through
``Network._make_layers``; its parameters follow the dense stack's in the flat
vector, its gradient comes from its own ``backward``, and nothing in
``loss_gradient`` or the kernels knows about it.
"""

import copy

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skbackprop import config_context
from skbackprop._core import xp as _xp
from skbackprop._core.layers import GROUPS, Dense
from skbackprop.activations import PReLU, Tanh
from skbackprop.losses import SoftmaxLogLoss, SquaredError
from skbackprop.network import Network


class Scale:
    """Per-feature scaling ``o = x ⊙ a`` with ``a`` in the flat vector."""

    s = o = None

    def __init__(self, n_features):
        self.n_features = n_features

    def parameter_shapes(self):
        return [("extra", (self.n_features,))]

    def set_views(self, params, grads):
        (self.a,), (self.grad_a,) = params, grads

    def bind(self, ops, n, below):
        run = copy.copy(self)
        run.propagate = below is not None
        return run

    def forward(self, o):
        self.o_in = o
        self.s = self.o = o * self.a
        return self.o

    def backward(self, e):
        xp = _xp.namespace(e)  # numpy < 2 arrays have no __array_namespace__
        self.grad_a[...] = xp.sum(e * self.o_in, axis=0)  # ∂ℓ/∂a
        return e * self.a if self.propagate else None  # ∂ℓ/∂x


class ScaledNetwork(Network):
    def _make_layers(self):
        return [Scale(self.layer_units[0]), *super()._make_layers()]


def _problem(loss, n=12, units=(4, 6, 5, 3), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, units[0]))
    if loss is SoftmaxLogLoss:
        Y = np.eye(units[-1])[rng.integers(0, units[-1], n)]
    else:
        Y = rng.normal(size=(n, units[-1]))
    sw = rng.uniform(0.5, 2.0, n)
    return list(units), X, Y, sw


def _scaled(units, activations, loss, params, dtype=np.float64):
    net = ScaledNetwork(units, activations, loss, dtype)
    net.params[...] = params
    return net


@pytest.mark.parametrize("loss", [SquaredError, SoftmaxLogLoss])
@pytest.mark.parametrize("activation", [Tanh, PReLU])
def test_scaling_layer_gradient_matches_finite_differences(loss, activation):
    units, X, Y, sw = _problem(loss)
    acts = [activation(), activation()]
    net = ScaledNetwork(units, acts, loss(), np.float64)
    rng = np.random.default_rng(1)
    net.params[...] = rng.normal(scale=0.5, size=net.params.size)
    alpha = 0.3
    net.loss_gradient(X, Y, sw, alpha)
    analytic = net.grad.copy()
    params = net.params.copy()
    numeric = np.empty_like(params)
    eps = 1e-6
    for i in range(params.size):
        net.params[i] = params[i] + eps
        up = net.loss_gradient(X, Y, sw, alpha)
        net.params[i] = params[i] - eps
        down = net.loss_gradient(X, Y, sw, alpha)
        net.params[i] = params[i]
        numeric[i] = (up - down) / (2 * eps)
    assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    # The scale's own gradient is not trivially zero.
    assert np.abs(analytic[-units[0] :]).min() > 1e-6


def test_scaling_layer_parameters_follow_the_dense_stack():
    units, X, Y, _ = _problem(SquaredError)
    acts = [PReLU(), Tanh()]
    plain = Network(units, acts, SquaredError(), np.float64)
    scaled = ScaledNetwork(units, acts, SquaredError(), np.float64)
    # The dense stack's layout (coefs, intercepts, activation parameters) is
    # unchanged; the scale comes last, in the last group.
    assert GROUPS[-1] == "extra"
    assert scaled.params.size == plain.params.size + units[0]
    assert scaled.n_coef == plain.n_coef
    assert scaled._offsets[: len(plain._offsets)] == plain._offsets
    for a, b in zip(scaled.coefs, plain.coefs, strict=True):
        assert a.shape == b.shape
    assert np.shares_memory(scaled.layers[0].a, scaled.params[-units[0] :])
    assert [type(layer) for layer in scaled.layers[1:]] == [Dense] * 3
    S, O = scaled.forward(X)
    assert len(S) == len(O) == len(scaled.layers) + 1


@pytest.mark.parametrize("kernels", [False, True])
def test_unit_scale_gives_the_dense_stacks_gradient_bit_for_bit(kernels):
    # x ⊙ 1 is x: the dense layers above see the same inputs and compute the
    # same gradient as the plain network (the kernels stay off the scaled one).
    units, X, Y, sw = _problem(SoftmaxLogLoss)
    acts = [Tanh(), Tanh()]
    rng = np.random.default_rng(2)
    with config_context(kernels=kernels):
        plain = Network(units, acts, SoftmaxLogLoss(), np.float64)
        plain.params[...] = rng.normal(scale=0.5, size=plain.params.size)
        scaled = ScaledNetwork(units, acts, SoftmaxLogLoss(), np.float64)
        scaled.params[: plain.params.size] = plain.params
        scaled.params[plain.params.size :] = 1.0
        assert plain.plain_dense_stack and not scaled.plain_dense_stack
        values = [net.loss_gradient(X, Y, sw, 0.1) for net in (plain, scaled)]
        assert scaled._workspaces[len(X)].fused is None
    assert values[0] == values[1]
    assert_array_equal(scaled.grad[: plain.params.size], plain.grad)


def test_scaling_layer_in_another_namespace():
    xp = pytest.importorskip("array_api_strict")
    units, X, Y, sw = _problem(SquaredError)
    acts = [Tanh(), Tanh()]
    host = ScaledNetwork(units, acts, SquaredError(), np.float64)
    host.params[...] = np.random.default_rng(3).normal(scale=0.5, size=host.params.size)
    net = ScaledNetwork(units, acts, SquaredError(), xp.float64, xp=xp)
    net.params[...] = xp.asarray(host.params)
    value = net.loss_gradient(xp.asarray(X), xp.asarray(Y), xp.asarray(sw), 0.2)
    expected = host.loss_gradient(X, Y, sw, 0.2)
    assert_allclose(float(value), expected, rtol=1e-12)
    assert_allclose(np.asarray(net.grad), host.grad, rtol=1e-10, atol=1e-14)
