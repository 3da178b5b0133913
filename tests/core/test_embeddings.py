"""The periodic (PLR) embedding of numeric features, a layer kind of the seam.

``Network(..., input_layer=PeriodicEmbedding(m))`` puts it below the dense
stack. Checked: its forward pass is the paper's formula row by row; every
parameter's backprop gradient (frequencies, per-feature linear maps, and the
dense stack's above it) equals central finite differences, with and without
dropout; its input gradient too; its parameters follow the dense stack's in
the flat vector; the kernels step aside; array-api-strict computes the same;
and it trains a periodic target.
"""

import copy
import math

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from skbackprop import config_context
from skbackprop._core.embeddings import PeriodicEmbedding
from skbackprop._core.layers import GROUPS, Dense
from skbackprop.activations import PReLU, ReLU, Tanh
from skbackprop.losses import SoftmaxLogLoss, SquaredError
from skbackprop.network import Network
from skbackprop.optimizers import Adam


def _embedded(units, acts, loss, emb, seed=0, **kwargs):
    net = Network(units, acts, loss, np.float64, input_layer=emb, **kwargs)
    rng = np.random.default_rng(seed)
    net.params[...] = rng.normal(scale=0.5, size=net.params.size)
    emb.initialize(seed)
    return net


def _problem(loss, n=10, m=3, d=2, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, m))
    if isinstance(loss, SoftmaxLogLoss):
        return X, np.eye(d)[rng.integers(0, d, n)]
    return X, rng.normal(size=(n, d))


def test_forward_is_the_papers_formula_row_by_row():
    emb = PeriodicEmbedding(3, n_frequencies=4, d_embedding=5, frequency_scale=1.0)
    net = _embedded([3, 6, 2], [Tanh()], SquaredError(), emb)
    X, _ = _problem(SquaredError())
    _, O = net.forward(X)
    c, W, b = emb.frequencies, emb.coef, emb.intercept
    for i, x in enumerate(X):
        expected = []
        for j in range(3):
            a = 2 * math.pi * c[j] * x[j]
            v = np.concatenate([np.sin(a), np.cos(a)])
            expected.append(np.maximum(v @ W[j] + b[j], 0))
        assert_allclose(O[1][i], np.concatenate(expected), rtol=1e-13, atol=1e-15)


def test_parameters_follow_the_dense_stack():
    emb = PeriodicEmbedding(4, n_frequencies=3, d_embedding=2)
    net = _embedded([4, 6, 5, 2], [Tanh(), PReLU()], SquaredError(), emb)
    assert [type(layer) for layer in net.layers] == [PeriodicEmbedding, *[Dense] * 3]
    assert net.coefs[0].shape == (emb.n_out, 6) == (8, 6)
    size = 4 * 3 + 4 * 6 * 2 + 4 * 2
    assert {g for g, _ in emb.parameter_shapes()} == {GROUPS[-1]}
    assert np.shares_memory(emb.frequencies, net.params[-size:])
    assert net.n_coef == 8 * 6 + 6 * 5 + 5 * 2
    assert not net.plain_dense_stack
    with config_context(kernels=True):
        X, Y = _problem(SquaredError(), m=4)
        net.loss_gradient(X, Y)
        assert net._workspace(len(X)).fused is None


def _numeric_gradient(net, X, Y, sw, alpha, eps=1e-6):
    params = net.params.copy()

    def loss(p):
        net.params[...] = p
        net.reseed(3)  # dropout, if any: the same masks each time
        return net.loss_gradient(X, Y, sw, alpha)

    loss(params)
    analytic = net.grad.copy()
    numeric = np.empty_like(params)
    for i in range(params.size):
        step = np.zeros_like(params)
        step[i] = eps
        numeric[i] = (loss(params + step) - loss(params - step)) / (2 * eps)
    net.params[...] = params
    return analytic, numeric


@pytest.mark.parametrize("loss", [SquaredError(), SoftmaxLogLoss()])
@pytest.mark.parametrize("acts", [[Tanh()], [PReLU(), Tanh()]])
@pytest.mark.parametrize("dropout", [None, 0.4])
def test_gradient_matches_finite_differences(loss, acts, dropout):
    X, Y = _problem(loss, d=3)
    sw = np.random.default_rng(2).uniform(0.5, 2, len(X))
    emb = PeriodicEmbedding(3, n_frequencies=3, d_embedding=4, frequency_scale=0.3)
    units = [3, *[5] * len(acts), 3]
    net = _embedded(units, acts, loss, emb, dropout=dropout, random_state=0)
    analytic, numeric = _numeric_gradient(net, X, Y, sw, 0.1)
    assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    # The embedding's three arrays (the last of the vector) learn.
    size = 3 * 3 + 3 * 6 * 4 + 3 * 4
    c, W, b = np.split(analytic[-size:], [9, 9 + 72])
    assert min(np.abs(c).max(), np.abs(W).max(), np.abs(b).max()) > 1e-4


def test_input_gradient_matches_finite_differences():
    # Above another layer (propagate=True) the embedding returns ∂ℓ/∂x.
    emb = PeriodicEmbedding(3, n_frequencies=2, d_embedding=3, frequency_scale=0.5)
    _embedded([3, 4, 1], [Tanh()], SquaredError(), emb)  # views and parameters
    X, _ = _problem(SquaredError(), n=5)
    R = np.random.default_rng(4).normal(size=(5, emb.n_out))
    run = emb.bind(None, 5, below=object())

    def f(x):  # ℓ = Σ o ⊙ R, so e = R
        return float(np.sum(copy.copy(run).forward(x) * R))

    run.forward(X)
    dx = run.backward(R.copy())
    numeric = np.empty_like(X)
    for idx in np.ndindex(X.shape):
        step = np.zeros_like(X)
        step[idx] = 1e-6
        numeric[idx] = (f(X + step) - f(X - step)) / 2e-6
    assert_allclose(dx, numeric, rtol=1e-6, atol=1e-9)


def test_array_api_strict_computes_what_numpy_does():
    xp = pytest.importorskip("array_api_strict")
    X, Y = _problem(SquaredError())
    host_emb = PeriodicEmbedding(3, n_frequencies=3, d_embedding=4)
    host = _embedded([3, 5, 2], [ReLU()], SquaredError(), host_emb)
    emb = PeriodicEmbedding(3, n_frequencies=3, d_embedding=4)
    net = Network([3, 5, 2], [ReLU()], SquaredError(), xp.float64, xp=xp,
                  input_layer=emb)  # fmt: skip
    net.params[...] = xp.asarray(host.params)
    value = net.loss_gradient(xp.asarray(X), xp.asarray(Y), None, 0.1)
    assert_allclose(float(value), host.loss_gradient(X, Y, None, 0.1), rtol=1e-12)
    assert_allclose(np.asarray(net.grad), host.grad, rtol=1e-10, atol=1e-14)
    emb.initialize(0)  # draws on the host, written into the namespace's views
    host_emb.initialize(0)
    assert_allclose(np.asarray(emb.coef), host_emb.coef)


def test_it_learns_a_periodic_target():
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, size=(200, 1))
    Y = np.sin(8 * X)
    emb = PeriodicEmbedding(1, n_frequencies=8, d_embedding=8, frequency_scale=1.0)
    net = _embedded([1, 16, 1], [ReLU()], SquaredError(), emb)
    net.params[: net.params.size - 8 - 16 * 8 - 8] *= 0.5
    opt = Adam(net.params.size, np.float64, learning_rate_init=0.01)
    first = net.loss_gradient(X, Y)
    for _ in range(400):
        loss = net.loss_gradient(X, Y)
        opt.update(net.params, net.grad)
    # Half the variance of sin(8x) (the loss is ½·MSE): 0.25 at the start.
    assert loss < 0.02 < 0.1 < first


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(n_features=0), "n_features"), (dict(n_features=2, n_frequencies=1.5),
     "n_frequencies"), (dict(n_features=2, d_embedding=True), "d_embedding"),
     (dict(n_features=2, frequency_scale=0.0), "frequency_scale"),
     (dict(n_features=2, frequency_scale=float("inf")), "frequency_scale")],
)  # fmt: skip
def test_bad_settings_fail_clearly(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PeriodicEmbedding(**kwargs)


def test_sparse_input_is_refused_with_the_fix():
    emb = PeriodicEmbedding(3)
    net = _embedded([3, 4, 1], [Tanh()], SquaredError(), emb)
    with pytest.raises(TypeError, match="toarray"):
        net.forward(sp.csr_matrix(np.ones((2, 3))))
