"""The compiled epoch (numba) against the numpy path, step for step.

The reference replicates ``TrainingMixin._run_epoch``'s loop over the generic numpy
code (``Network.loss_gradient``, ``coef_grad_sq_norms``, ``SGD.update`` /
``Adam.update``) with the kernels turned off, so these tests keep checking the
kernel against numpy after ``_run_epoch`` itself starts calling the kernel.
"""

import contextlib

import numba  # noqa: F401  (numba is in the test extra: fail, do not skip, without it)
import numpy as np
import pytest
from sklearn.utils import gen_batches

from skbackprop._kernels import epoch as K
from skbackprop._kernels import epoch_jit as J
from skbackprop.activations import (
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    Logistic,
    PReLU,
    ReLU,
    Softplus,
    Tanh,
)
from skbackprop.losses import BinaryLogLoss, PoissonLoss, SoftmaxLogLoss, SquaredError
from skbackprop.network import Network
from skbackprop.optimizers import SGD, Adam

ACTIVATIONS = {
    "identity": Identity,
    "logistic": Logistic,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.1),
    "elu": lambda: ELU(0.7),
    "softplus": Softplus,
    "gelu": GELU,
}
LOSSES = {
    "squared": SquaredError,
    "binary": BinaryLogLoss,
    "softmax": SoftmaxLogLoss,
    "poisson": PoissonLoss,
}
OPTIMIZERS = {
    "sgd": dict(momentum=0.0, nesterov=False),
    "sgd_momentum": dict(momentum=0.9, nesterov=False),
    "sgd_nesterov": dict(momentum=0.9, nesterov=True),
    "adam": {},
}
ALPHA = 1e-2


def _problem(act, loss, dtype, n, seed=0, hidden=(6, 5), n_features=4):
    """A network with random weights, data, targets of the loss's kind, weights."""
    rng = np.random.default_rng(seed)
    k = 3
    units = [n_features, *hidden, k]
    net = Network(units, [ACTIVATIONS[act]() for _ in hidden], LOSSES[loss](), dtype)
    net.params[...] = rng.normal(scale=0.5, size=net.params.size)
    X = rng.normal(size=(n, n_features)).astype(dtype)
    if loss == "squared":
        Y = rng.normal(size=(n, k))
    elif loss == "binary":
        Y = rng.integers(0, 2, size=(n, k))
    elif loss == "softmax":
        Y = np.eye(k)[rng.integers(0, k, n)]
    else:
        Y = rng.poisson(1.5, size=(n, k))
    sw = rng.uniform(0.2, 3.0, n).astype(dtype)
    return net, X, Y.astype(dtype), sw


def _optimizer(name, net, lr):
    if name == "adam":
        return Adam(net.params.size, net.dtype, learning_rate_init=lr)
    return SGD(net.params.size, net.dtype, learning_rate_init=lr, **OPTIMIZERS[name])


def _generic_numpy():
    """Context in which the network and optimizers run their generic numpy code."""
    try:
        from skbackprop._kernels.config import config_context
    except ImportError:  # no config module: no kernels to turn off
        return contextlib.nullcontext()
    return config_context(kernels=False)


def _numpy_epoch(net, opt, X, Y, sw, order, batch_size, alpha):
    """``_run_epoch``'s loop over the numpy code; (loss, per-batch squared norms)."""
    with _generic_numpy():
        return _numpy_loop(net, opt, X, Y, sw, order, batch_size, alpha)


def _numpy_loop(net, opt, X, Y, sw, order, batch_size, alpha):
    n = X.shape[0]
    batches = list(gen_batches(n, batch_size))
    sq_norms = np.zeros((len(batches), len(net.coefs)), dtype=net.dtype)
    total = 0.0
    for b, batch in enumerate(batches):
        idx = order[batch]
        m = batch.stop - batch.start
        if sw is not None and not sw[idx].any():
            continue
        swb = None if sw is None else sw.take(idx)
        Xb, Yb = X.take(idx, axis=0), Y.take(idx, axis=0)
        total += net.loss_gradient(Xb, Yb, swb, alpha) * m
        net.coef_grad_sq_norms(sq_norms[b])
        opt.update(net.params, net.grad)
    return float(total) / n, sq_norms


def _kernel_epoch(net, opt, X, Y, sw, order, batch_size, alpha):
    codes, alphas, loss = K.network_codes(net)
    if isinstance(opt, Adam):
        t = np.array([opt.t], dtype=np.int64)
        state = (opt.m, opt.v, t)
        settings = (opt.learning_rate_init, opt.beta_1, opt.beta_2, opt.epsilon)
        name = "adam"
    else:
        state, name = opt.velocity, "sgd"
        settings = (opt.learning_rate, opt.momentum, opt.nesterov)
    out = K.run_epoch(
        X,
        Y,
        sw,
        order,
        batch_size,
        net.params,
        net._offsets,
        net.layer_units,
        codes,
        alphas,
        loss,
        alpha,
        name,
        state,
        settings,
        grad=net.grad,
    )
    if name == "adam":
        opt.t = int(t[0])
    return out


def _twins(act, loss, opt_name, dtype, n, lr, seed=0):
    """The same network and optimizer twice (numpy, kernel) and the data."""
    net, X, Y, sw = _problem(act, loss, dtype, n, seed)
    net2, *_ = _problem(act, loss, dtype, n, seed)
    return (
        (net, _optimizer(opt_name, net, lr)),
        (net2, _optimizer(opt_name, net2, lr)),
        X,
        Y,
        sw,
    )


def _state(opt):
    if isinstance(opt, Adam):
        return [opt.m, opt.v]
    return [opt.velocity]


def _assert_same(ref, got, rtol, atol):
    (net, opt, loss, sq), (net2, opt2, loss2, sq2) = ref, got
    np.testing.assert_allclose(loss2, loss, rtol=rtol, atol=atol)
    np.testing.assert_allclose(sq2, sq, rtol=rtol, atol=atol)
    np.testing.assert_allclose(net2.params, net.params, rtol=rtol, atol=atol)
    np.testing.assert_allclose(net2.grad, net.grad, rtol=rtol, atol=atol)
    for a, b in zip(_state(opt2), _state(opt), strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    if isinstance(opt, Adam):
        assert opt2.t == opt.t


def _run_both(
    act,
    loss,
    opt_name,
    dtype,
    n,
    batch_size,
    weighted,
    lr=0.1,
    seed=0,
    order=None,
    alpha=ALPHA,
):
    (net, opt), (net2, opt2), X, Y, sw = _twins(act, loss, opt_name, dtype, n, lr, seed)
    sw = sw if weighted else None
    if order is None:
        order = np.random.default_rng(seed + 1).permutation(n)
    loss_ref, sq_ref = _numpy_epoch(net, opt, X, Y, sw, order, batch_size, alpha)
    loss_k, sq_k = _kernel_epoch(net2, opt2, X, Y, sw, order, batch_size, alpha)
    assert sq_k.dtype == sq_ref.dtype and sq_k.shape == sq_ref.shape
    return (net, opt, loss_ref, sq_ref), (net2, opt2, loss_k, sq_k)


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_one_step_float64(act, loss, opt_name):
    for weighted in (False, True):
        ref, got = _run_both(act, loss, opt_name, np.float64, 9, 9, weighted)
        _assert_same(ref, got, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("opt_name", ["sgd_nesterov", "adam"])
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_one_step_float32(act, loss, opt_name):
    for weighted in (False, True):
        ref, got = _run_both(act, loss, opt_name, np.float32, 9, 9, weighted)
        _assert_same(ref, got, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 7, 32])
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("act", ["tanh", "relu", "gelu", "elu"])
def test_epoch_sgd(act, loss, batch_size):
    for weighted in (False, True):
        ref, got = _run_both(act, loss, "sgd", np.float64, 100, batch_size, weighted)
        _assert_same(ref, got, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 7, 32])
@pytest.mark.parametrize("act", ["logistic", "softplus", "leaky_relu", "identity"])
def test_epoch_adam(act, batch_size):
    # A few Adam steps: 40 rows.
    for loss in LOSSES:
        ref, got = _run_both(act, loss, "adam", np.float64, 40, batch_size, True, 0.01)
        _assert_same(ref, got, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("opt_name", ["sgd_momentum", "sgd_nesterov"])
def test_epoch_momentum(opt_name):
    ref, got = _run_both("tanh", "softmax", opt_name, np.float64, 60, 7, True, 0.05)
    _assert_same(ref, got, rtol=1e-9, atol=1e-11)


def test_epoch_float32():
    ref, got = _run_both("tanh", "softmax", "sgd_nesterov", np.float32, 64, 16, False)
    _assert_same(ref, got, rtol=1e-5, atol=1e-6)


def test_unshuffled_and_no_penalty():
    ref, got = _run_both(
        "relu", "squared", "sgd", np.float64, 30, 4, False, order=np.arange(30), alpha=0
    )
    _assert_same(ref, got, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("opt_name", ["sgd_nesterov", "adam"])
def test_zero_weight_batches_skipped(opt_name):
    (net, opt), (net2, opt2), X, Y, sw = _twins(
        "tanh", "softmax", opt_name, np.float64, 18, 0.1
    )
    order = np.random.default_rng(3).permutation(18)
    sw[order[4:8]] = 0  # batch 1 of size 4: all weights zero
    sw[order[16:]] = 0  # the last, smaller batch (2 rows) too
    sw[order[9]] = 0  # one zero weight in an active batch
    loss_ref, sq_ref = _numpy_epoch(net, opt, X, Y, sw, order, 4, ALPHA)
    loss_k, sq_k = _kernel_epoch(net2, opt2, X, Y, sw, order, 4, ALPHA)
    assert np.all(sq_k[1] == 0) and np.all(sq_k[4] == 0) and np.all(sq_k[[0, 2, 3]] > 0)
    _assert_same((net, opt, loss_ref, sq_ref), (net2, opt2, loss_k, sq_k), 1e-12, 1e-14)
    if opt_name == "adam":
        assert opt2.t == 3  # three steps: skipped batches do not count


def test_all_weights_zero():
    net, X, Y, sw = _problem("tanh", "softmax", np.float64, 10)
    before = net.params.copy()
    opt = _optimizer("adam", net, 0.1)
    loss, sq = _kernel_epoch(net, opt, X, Y, np.zeros(10), np.arange(10), 3, ALPHA)
    assert loss == 0.0 and np.all(sq == 0) and opt.t == 0
    np.testing.assert_array_equal(net.params, before)


def test_sw_host_decides_skipping():
    # Host weights decide which batches are skipped (as _run_epoch's sw_host).
    net, X, Y, sw = _problem("tanh", "squared", np.float64, 8)
    v = np.zeros_like(net.params)
    codes, alphas, loss = K.network_codes(net)
    host = np.ones(8)
    host[:4] = 0
    _, sq = K.run_epoch(
        X,
        Y,
        sw,
        np.arange(8),
        4,
        net.params,
        net._offsets,
        net.layer_units,
        codes,
        alphas,
        loss,
        0.0,
        "sgd",
        v,
        (0.1, 0.0, False),
        sw_host=host,
    )
    assert np.all(sq[0] == 0) and np.all(sq[1] > 0)


def test_grad_holds_last_gradient():
    (net, opt), (net2, opt2), X, Y, sw = _twins(
        "elu", "poisson", "sgd", np.float64, 10, 0.1
    )
    order = np.arange(10)
    _numpy_epoch(net, opt, X, Y, sw, order, 3, ALPHA)
    codes, alphas, loss = K.network_codes(net2)
    K.run_epoch(
        X,
        Y,
        sw,
        order,
        3,
        net2.params,
        net2._offsets,
        net2.layer_units,
        codes,
        alphas,
        loss,
        ALPHA,
        "sgd",
        opt2.velocity,
        (0.1, 0.0, False),
        grad=net2.grad,
    )
    np.testing.assert_allclose(net2.grad, net.grad, rtol=1e-12, atol=1e-14)


def test_codes():
    assert K.activation_code(Tanh()) == (K.TANH, 0.0)
    assert K.activation_code(LeakyReLU(0.2)) == (K.LEAKY_RELU, 0.2)
    assert K.activation_code(ELU(2)) == (K.ELU, 2.0)
    assert K.activation_code(PReLU()) is None

    class MyTanh(Tanh):
        pass

    assert K.activation_code(MyTanh()) is None
    assert K.loss_code(SoftmaxLogLoss()) == K.SOFTMAX_LOG_LOSS
    assert K.loss_code(type("L", (SquaredError,), {})()) is None
    codes = {K.activation_code(cls())[0] for cls in ACTIVATIONS.values()}
    assert codes == set(range(8))
    net = Network([2, 3, 1], [PReLU()], SquaredError(), np.float64)
    assert K.network_codes(net) is None


def test_without_numba(monkeypatch):
    monkeypatch.setattr(K, "AVAILABLE", False)
    with pytest.raises(ImportError, match="numba"):
        K.run_epoch(*[None] * 15)


def test_read_only_data_shares_the_kernel():
    # Read-only inputs (joblib memmaps) must not compile another kernel.
    (net, opt), (net2, opt2), X, Y, sw = _twins(
        "relu", "binary", "sgd", np.float64, 12, 0.1
    )
    order = np.arange(12)
    _kernel_epoch(net, opt, X, Y, sw, order, 5, ALPHA)
    n_kernels = len(K._epoch.signatures)
    for a in (X, Y, sw, order):
        a.flags.writeable = False
    _kernel_epoch(net2, opt2, X, Y, sw, order, 5, ALPHA)
    assert len(K._epoch.signatures) == n_kernels
    np.testing.assert_array_equal(net2.params, net.params)


def test_bad_state_rejected():
    net, X, Y, sw = _problem("tanh", "squared", np.float64, 8)
    codes, alphas, loss = K.network_codes(net)
    args = (X, Y, None, np.arange(8), 4, net.params, net._offsets, net.layer_units)
    args += (codes, alphas, loss, 0.0)
    with pytest.raises(ValueError, match="state"):
        K.run_epoch(*args, "sgd", np.zeros(3), (0.1, 0.0, False))
    with pytest.raises(ValueError, match="optimizer"):
        K.run_epoch(*args, "rmsprop", np.zeros_like(net.params), (0.1, 0.0, False))


@pytest.mark.parametrize("act", ["relu", "tanh"])
@pytest.mark.parametrize("loss", ["squared", "poisson"])
def test_divergence_as_numpy(act, loss):
    # Overflowing steps give inf/NaN where numpy does (numpy's error model: no
    # ZeroDivisionError, no exception).
    (net, opt), (net2, opt2), X, Y, sw = _twins(
        act, loss, "sgd_nesterov", np.float64, 40, 1e4
    )
    X = X * 1e3
    with np.errstate(all="ignore"):
        loss_ref, _ = _numpy_epoch(net, opt, X, Y, sw, np.arange(40), 4, ALPHA)
    loss_k, _ = _kernel_epoch(net2, opt2, X, Y, sw, np.arange(40), 4, ALPHA)
    assert np.isfinite(loss_k) == np.isfinite(loss_ref)
    np.testing.assert_array_equal(np.isfinite(net2.params), np.isfinite(net.params))


def _run_epoch_with(net, opt, X, Y, sw, order, batch_size, **kwargs):
    """``run_epoch`` on copies of the network's and optimizer's arrays."""
    params, grad = net.params.copy(), np.zeros_like(net.params)
    codes, alphas, loss = K.network_codes(net)
    if isinstance(opt, Adam):
        state = (opt.m.copy(), opt.v.copy(), np.array([opt.t], dtype=np.int64))
        settings = (opt.learning_rate_init, opt.beta_1, opt.beta_2, opt.epsilon)
        name = "adam"
    else:
        state, name = opt.velocity.copy(), "sgd"
        settings = (opt.learning_rate, opt.momentum, opt.nesterov)
    out = K.run_epoch(
        X, Y, sw, order, batch_size, params, net._offsets, net.layer_units,
        codes, alphas, loss, ALPHA, name, state, settings, grad=grad, **kwargs,
    )  # fmt: skip
    arrays = [params, grad, *(state if name == "adam" else [state])]
    return out, arrays


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("opt_name", ["sgd_nesterov", "adam"])
def test_chunks_change_nothing(opt_name, dtype):
    """An epoch in one compiled call per batch is bitwise the epoch in one call."""
    net, X, Y, sw = _problem("tanh", "softmax", dtype, 50, hidden=(7, 6))
    sw[:10] = 0  # batches of zero weight (skipped) among the chunks
    order = np.random.default_rng(5).permutation(50)
    opt = _optimizer(opt_name, net, 0.05)
    runs = [
        _run_epoch_with(net, opt, X, Y, sw, order, 3, chunk_seconds=seconds)
        for seconds in (np.inf, 0.0, None)
    ]
    (loss, sq), arrays = runs[0]
    for (loss_c, sq_c), arrays_c in runs[1:]:
        assert loss_c == loss
        np.testing.assert_array_equal(sq_c, sq)
        for a, b in zip(arrays_c, arrays, strict=True):
            np.testing.assert_array_equal(a, b)


def test_chunks_cover_the_epoch_in_order(monkeypatch):
    """The compiled calls take every batch once, in order."""
    net, X, Y, sw = _problem("relu", "squared", np.float64, 400, hidden=(5,))
    calls = []
    original = K._epoch

    def spy(*args):
        calls.append(args[-1][:2])
        return original(*args)

    monkeypatch.setattr(K, "_epoch", spy)
    opt = _optimizer("sgd", net, 0.01)
    _run_epoch_with(net, opt, X, Y, None, np.arange(400), 1, chunk_seconds=0.0)
    assert calls == [(b, b + 1) for b in range(400)]
    calls.clear()
    monkeypatch.setattr(K, "_MAX_CHUNK_WORK", 4 * 5 * net.params.size)  # 5 rows
    _run_epoch_with(net, opt, X, Y, None, np.arange(400), 1)
    firsts, stops = zip(*calls, strict=True)
    assert firsts[0] == 0 and stops[-1] == 400 and firsts[1:] == stops[:-1]
    assert stops[0] == 5  # a quarter of the work cap first (its pace is unknown)
    assert all(b - a <= 20 for a, b in calls)  # never beyond the cap
    calls.clear()
    monkeypatch.undo()
    monkeypatch.setattr(K, "_epoch", spy)
    _run_epoch_with(net, opt, X, Y, None, np.arange(400), 1)
    assert calls == [(0, 400)]  # a small epoch: one call


def test_chunk_size_follows_the_pace():
    """About CHUNK_SECONDS per call at the pace measured; within its bounds."""
    assert K._next_chunk(100, 0.1, 0.05, 10**6) == 50  # twice too long: halved
    assert K._next_chunk(100, 0.025, 0.05, 10**6) == 200
    assert K._next_chunk(1, 1e-6, 0.05, 10**6) == 4  # at most fourfold growth
    assert K._next_chunk(1, 0.0, 0.05, 10**6) == 4  # below the clock's resolution
    assert K._next_chunk(100, 1e-6, 0.05, 150) == 150  # the work cap
    assert K._next_chunk(1, 20.0, 0.05, 10**6) == 1  # a compiling call: one batch


@pytest.mark.parametrize("opt_name", ["sgd_nesterov", "adam"])
def test_wide_input_as_numpy(opt_name):
    """An input wider than one block of the forward products (several blocks).

    logistic, as in test_epoch_adam: the kernel's tanh is within 2 ulp of
    numpy's, and Adam's m/√v turns that into ~1e-12 differences in weights whose
    gradients are near zero, which would hide what this test is about.
    """
    pair = []
    for _ in range(2):
        net, X, Y, sw = _problem(
            "logistic", "softmax", np.float64, 24, hidden=(6,), n_features=3001
        )
        pair.append((net, _optimizer(opt_name, net, 0.05)))
    (net, opt), (net2, opt2) = pair
    order = np.random.default_rng(2).permutation(24)
    loss_ref, sq_ref = _numpy_epoch(net, opt, X, Y, sw, order, 5, ALPHA)
    loss_k, sq_k = _kernel_epoch(net2, opt2, X, Y, sw, order, 5, ALPHA)
    _assert_same((net, opt, loss_ref, sq_ref), (net2, opt2, loss_k, sq_k), 1e-10, 1e-12)


def test_scratch_is_sized_by_the_layers():
    """Only the batch's input rows grow with the input's width."""
    units = np.array([20_000, 8, 6, 3])
    bufs = K._scratch(units, 32, np.float64)
    assert bufs[0].shape == (32, 20_000)
    assert sum(b.size for b in bufs[1:]) <= 3 * 4 * 32 * 8 + 6 * 8 + 32 * 3 + 32
    assert K._scratch(np.array([20_000, 3]), 1, np.float32)[4].size == 0


# A fit on wide input (20,000 features, batch 1) in a fresh process: the peak of
# the resident memory during the fit alone, over what the process held before.
_PEAK_SCRIPT = r"""
import json, resource, sys, warnings
import numpy as np
import skbackprop
from skbackprop import BackpropRegressor

def status(key):  # VmRSS (now) or VmHWM (peak) in bytes; None without /proc
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None

def peak():
    hwm = status("VmHWM")
    if hwm is not None:
        return hwm
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, else KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.standard_normal((160, 20_000))
y = X[:, :5].sum(axis=1)
# batch_size=1: where the dispatch rule still picks the epoch kernel for a
# 20,000-wide input (at batch 32 the fit goes to BLAS).
params = dict(hidden_layer_sizes=(32,), solver="sgd", batch_size=1, max_iter=2,
              learning_rate_init=1e-4, random_state=0)
with skbackprop.config_context(kernels=True):
    # numba and the kernel loaded in both runs, before the measured fit.
    BackpropRegressor(**params).fit(X[:40, :30], y[:40])
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak (VmHWM) starts again from the current RSS
except OSError:
    pass
before = status("VmRSS") or peak()
with skbackprop.config_context(kernels=sys.argv[1] == "1"):
    BackpropRegressor(**params).fit(X, y)
print(json.dumps({"fit_peak": peak() - before}))
"""


def test_wide_input_memory_follows_the_network():
    """The kernels' scratch is sized by the layers, not by the input's width.

    Measured as the peak resident memory of the fit (numba's allocations, which
    tracemalloc does not see, included) in fresh processes: with the kernels it
    stays within 1.2x of the numpy path's (a 20,000-wide scratch matrix alone
    would take 3.2 GB).
    """
    import json
    import subprocess
    import sys

    from skbackprop._kernels import dispatch as _dispatch

    assert _dispatch.use_epoch_kernel(1, [20_000, 32, 1], np.float64)
    peaks = {}
    for kernels in ("0", "1"):
        out = subprocess.run(
            [sys.executable, "-c", _PEAK_SCRIPT, kernels],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks[kernels] = json.loads(out.stdout.strip().splitlines()[-1])["fit_peak"]
    numpy_peak, kernel_peak = peaks["0"], peaks["1"]
    assert numpy_peak > 0
    assert kernel_peak <= 1.2 * numpy_peak, (
        f"peak memory of the fit: {kernel_peak / 2**20:.1f} MiB with the kernels, "
        f"{numpy_peak / 2**20:.1f} MiB with numpy"
    )


@numba.njit
def _kernel_tanh(x, out):
    dt = x.dtype.type
    for i in range(x.shape[0]):
        out[i] = J._tanh(x[i], dt)


def _ordered(a):
    """Integers in the order of the floats ``a`` (adjacent floats differ by 1)."""
    bits = a.view(np.int64 if a.dtype == np.float64 else np.int32).astype(np.int64)
    top = np.int64(np.iinfo(np.int64 if a.dtype == np.float64 else np.int32).min)
    return np.where(bits < 0, top - bits, bits)


def _tanh_sweep(dtype):
    """A dense sweep of tanh's domain, both signs, with its special values."""
    info = np.finfo(dtype)
    tiny = [info.smallest_subnormal, info.smallest_normal, 1e-30, 1e-8, 1e-5]
    special = [0.0, *tiny, 0.3, 0.625, 1.0, 9.0, 19.0, 20.0, 25.0, 1e30, info.max]
    dense = np.linspace(0, 25, 1_000_001)
    # Every float32 near the switch between the two formulas (0.625) and near 1.
    around = [np.nextafter(np.float32(c), np.float32(np.inf * s)) for c in (0.625, 1.0)
              for s in (1, -1)]  # fmt: skip
    logs = np.logspace(np.log10(info.smallest_subnormal), np.log10(25), 200_001)
    x = np.concatenate([special, dense, logs, around, [np.inf]]).astype(dtype)
    return np.concatenate([x, -x, [np.nan]]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tanh_within_2_ulp_of_numpy(dtype):
    x = _tanh_sweep(dtype)
    got = np.empty_like(x)
    _kernel_tanh(x, got)
    ref = np.tanh(x)
    assert got.dtype == ref.dtype == dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    finite = ~np.isnan(ref)
    # -0.0 stays -0.0 (and +0.0 +0.0), as in numpy.
    np.testing.assert_array_equal(np.signbit(got[finite]), np.signbit(ref[finite]))
    ulps = np.abs(_ordered(got[finite]) - _ordered(ref[finite]))
    worst = int(np.argmax(ulps))
    assert ulps.max() <= 2, (x[finite][worst], got[finite][worst], ref[finite][worst])
    # Exact where tanh is exact: tiny arguments give themselves, large ones ±1.
    small = np.abs(x) < np.sqrt(np.finfo(dtype).eps) / 4
    np.testing.assert_array_equal(got[small], x[small])
    large = np.abs(x) >= 20
    np.testing.assert_array_equal(got[large], np.sign(x[large]))


def test_dispatch_knows_when_the_kernel_transposes():
    from skbackprop._kernels import dispatch as _dispatch

    assert _dispatch.TRANSPOSE_MIN_ROWS == J._TRANSPOSE_MIN_ROWS
