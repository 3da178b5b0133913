"""Conformance: every built-in activation and loss on every backend, against numpy.

In the spirit of autograd's ``test_systematic``: each built-in (taken from the
package's registries, so a new one is picked up without editing this file) runs
on each backend that says it covers it, on ordinary and on extreme inputs, and
is compared with the numpy reference: the classes' own ``forward`` /
``derivative`` and the losses' ``link`` / ``value`` / ``output_delta``.

The matrix (rows: built-ins; columns: backends; ``·``: the backend does not
cover the class, it keeps the reference path)::

                    numpy in place  fused kernels  epoch kernel  strict  torch  ONNX
    identity        F D             F D            E × 4 losses  F D     F D    P
    logistic        F D             F D            E × 4 losses  F D     F D    P
    tanh            F D             F D            E × 4 losses  F D     F D    P
    relu            F D             F D            E × 4 losses  F D     F D    P
    leaky_relu      ·               ·              E × 4 losses  F D     F D    P
    elu             ·               ·              E × 4 losses  F D     F D    P
    gelu            ·               ·              E × 4 losses  F D     F D    P
    softplus        ·               ·              E × 4 losses  F D     F D    P
    prelu           ·               ·              ·             F D     F D    P
    squared_error   (reference)     C              E             L V Δ   L V Δ  P
    poisson         (reference)     C              E             L V Δ   L V Δ  P
    huber           (reference)     ·              ·             L V Δ   L V Δ  P
    quantile        (reference)     ·              ·             L V Δ   L V Δ  P
    binary_log_loss (reference)     C              E             L V Δ   L V Δ  P
    softmax_log_loss (reference)    C S            E             L V Δ   L V Δ  P

* F: the forward pass ``θ(s)`` (numpy in place: ``_forward_into``, into a buffer
  and onto the signal itself; fused: ``bias_forward``, ``s + b`` then θ).
* D: the derivative's product ``g ⊙ θ'(s)`` (numpy in place: ``_mul_derivative``;
  fused: ``mul_derivative_sums``, with the column sums).
* E: one epoch of two weighted Adam steps through ``_kernels_epoch.run_epoch``
  against the numpy path (``Network.loss_gradient`` + ``Adam.update``, kernels
  off), one hidden layer of the activation, for every covered loss: loss, norms,
  parameters, gradient and Adam's moments.
* C: ``canonical_delta`` (``δ^(L) = (P - Y)·w/Σw`` and its column sums) against
  ``output_delta``; S: ``softmax_forward`` (``s + b`` then the softmax) against
  ``link``.
* L V Δ: ``link``, ``value`` (weighted) and ``output_delta``.
* P: an estimator fitted for a few iterations (a regressor with two hidden layers
  of the activation; per loss a regressor, or a classifier for the log losses),
  exported with :func:`skbackprop.onnx.to_onnx` and run by onnxruntime, against
  ``predict`` / ``predict_proba`` (labels too). Four cells of (model, graph)
  dtypes: ``f64``, ``f32``, ``f32-model-f64-graph`` and ``f64-model-f32-graph``
  (``to_onnx``'s default graph is float32, whatever the model's dtype).

Each cell runs in float64 and float32 on ``ordinary`` inputs (moderate random
values) and on ``extreme`` ones: ``0, ±1e3, ±1e30, ±1e300`` and a NaN row (in
float32 ±1e300 are ±inf), cast as the backend receives them; ONNX runs NaN rows
as inputs of their own (``nan``). "Agree" means one rule for every backend,
:func:`_agree`: NaN exactly where the reference has NaN, the same ±inf, and
finite values equal to ``rtol`` 1e-12 (float64) / 1e-5 (float32). Two backends
round differently by design and get the tolerances of their own test files:
the epoch kernel sums in another order (1e-10 / 2e-5), and an ONNX graph with
float32 on either side agrees to float32's rounding (1e-5; 1e-10 for float64).
Where a backend differs from the reference on purpose, the comment at the check
says why and the test asserts that documented rule instead (see
``_onnx_reference``).

Extreme inputs per backend, as each one meets them:

* activations and losses (numpy, fused, strict, torch): the raw values above,
  NaN included (a network meets them in its signals);
* epoch kernel: ``fit`` clips ``X`` at :func:`~skbackprop.network.signal_limit`
  and refuses NaN, so the epoch sees the clipped values and no NaN; what
  overflows in training (inf, NaN) must overflow the same way in both paths;
* ONNX: ``predict`` clips inputs and every signal at ``signal_limit`` (the one
  rule for extreme inputs); the graph must give ``predict``'s outputs for any
  finite row. ``predict`` refuses NaN rows; for those the graph must give NaN
  in exactly the rows where ``network.forward`` (predict's path without the
  validation) does.
"""

import copy
import functools
import re
import warnings

import array_api_strict
import numba  # noqa: F401  (the kernels are in the test extra: fail, do not skip)
import numpy as np
import onnxruntime as ort
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

import skbackprop.onnx as skonnx
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop import activations as activations_module
from skbackprop import losses as losses_module
from skbackprop._core import xp as _xp
from skbackprop._core.layers import _CANONICAL
from skbackprop._kernels import epoch as epoch_kernel
from skbackprop._kernels import fused as fused
from skbackprop._kernels.config import config_context
from skbackprop.activations import ParametricActivation
from skbackprop.losses import SoftmaxLogLoss
from skbackprop.network import Network, clip_extreme, forward, signal_limit
from skbackprop.optimizers import Adam

# ------------------------------------------------------------------ built-ins


def _classes(registry):
    """The classes of a registry, each once (aliases folded), in a stable order.

    A registry is a name -> class mapping or a collection of classes (a set
    today; an ordered tuple works the same).
    """
    values = registry.values() if isinstance(registry, dict) else registry
    return tuple(sorted(set(values), key=lambda cls: cls.__name__))


ACTIVATION_CLASSES = _classes(activations_module.BUILTIN_ACTIVATIONS)
LOSS_CLASSES = _classes(losses_module.BUILTIN_LOSSES)
_LOSS_NAMES = {cls: name for name, cls in dict(losses_module.LOSSES).items()}


def _name(cls):
    """Readable id of a built-in: its ``name``, its registry name, or snake case."""
    name = getattr(cls, "name", None)
    if isinstance(name, str):
        return name
    if cls in _LOSS_NAMES:
        return _LOSS_NAMES[cls]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


DTYPES = {"float64": np.float64, "float32": np.float32}
INPUTS = ["ordinary", "extreme"]
RTOL = {np.float64: 1e-12, np.float32: 1e-5}
ATOL = {np.float64: 1e-300, np.float32: 1e-30}  # below: underflow noise
EXTREME_VALUES = (0.0, 1e3, -1e3, 1e30, -1e30, 1e300, -1e300, np.nan)



def _cases(classes, *axes, backend):
    """pytest.params of class x axes, with ids such as ``tanh-fused-float32-extreme``.

    Each axis is a list of ``(id, value)`` pairs.
    """
    params = []
    for cls in classes:
        combos = [((cls,), [_name(cls), backend])]
        for axis in axes:
            combos = [(a + (v,), i + [k]) for a, i in combos for k, v in axis]
        params += [pytest.param(*a, id="-".join(i)) for a, i in combos]
    return params


DTYPE_AXIS = list(DTYPES.items())
INPUT_AXIS = [(k, k) for k in INPUTS]


# ------------------------------------------------------------------ agreement


def _agree(got, ref, dtype, rtol=None, atol=None):
    """The one rule: NaN where the reference has NaN, the same ±inf, values to rtol."""
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape
    assert_allclose(
        got,
        ref,
        rtol=RTOL[dtype] if rtol is None else rtol,
        atol=ATOL[dtype] if atol is None else atol,
        equal_nan=True,
    )


def _cast(values, dtype):
    with np.errstate(over="ignore"):  # float32: ±1e300 become ±inf
        return np.asarray(values, dtype=np.float64).astype(dtype)


def _signal(inputs, dtype, width=8, seed=0):
    """Signals of a layer: ordinary random values, or the extreme values."""
    rng = np.random.default_rng(seed)
    if inputs == "ordinary":
        s = rng.normal(scale=3.0, size=(5, width))
        s[0, 0] = 0.0
        return _cast(s, dtype)
    # Every extreme value in a column of its own, with an ordinary row below,
    # and a row that is NaN throughout (a NaN row).
    values = np.resize(np.array(EXTREME_VALUES), width)
    s = np.vstack([values, -values, rng.normal(size=width), np.full(width, np.nan)])
    return _cast(s, dtype)


def _grad(shape, dtype, seed=1):
    """An ordinary ∂ℓ/∂o to multiply θ' into."""
    return _cast(np.random.default_rng(seed).uniform(-2.0, 2.0, shape), dtype)


def _theta(act, units, dtype):
    if not isinstance(act, ParametricActivation):
        return ()
    theta = act.init_parameters(units, dtype)
    theta[0, :3] = [0.1, -0.2, 0.0]  # per-unit slopes, a negative and a zero
    return (theta,)


def _reference_activation(act, s, theta=()):
    with np.errstate(all="ignore"):
        o = act.forward(s.copy(), *theta)
        return o, act.derivative(s.copy(), o.copy(), *theta)


def _fast_product_reference(cls, g, s, d):
    """``g ⊙ θ'`` as the fast forms must give it (the reference's product)."""
    with np.errstate(all="ignore"):
        return g * d


def _targets(loss, shape, dtype, seed=2):
    """Targets of the loss's kind, told by its output activation."""
    rng = np.random.default_rng(seed)
    n, k = shape
    if loss.out_activation == "softmax":
        y = np.eye(k)[rng.integers(0, k, n)]
    elif loss.out_activation == "logistic":
        y = rng.integers(0, 2, shape)
    elif loss.out_activation == "exp":
        y = rng.poisson(1.5, shape)
    else:
        y = rng.normal(size=shape)
    return y.astype(dtype)


def _reference_loss(loss, s, y, w):
    """The numpy reference: link, value (weighted) and output_delta."""
    with np.errstate(all="ignore"):
        p = loss.link(s.copy())
        return p, loss.value(y, p, w), loss.output_delta(y, p.copy())


# ------------------------------------------------------------ numpy in place

FAST = [c for c in ACTIVATION_CLASSES if c in activations_module.FAST_ACTIVATIONS]


@pytest.mark.parametrize(
    "cls, dtype, inputs", _cases(FAST, DTYPE_AXIS, INPUT_AXIS, backend="numpy")
)
def test_numpy_in_place_forms(cls, dtype, inputs):
    act = cls()
    s = _signal(inputs, dtype)
    o, d = _reference_activation(act, s)
    g = _grad(s.shape, dtype)
    with np.errstate(all="ignore"):
        into = act._forward_into(s.copy(), np.empty_like(s))
        onto = s.copy()
        onto = act._forward_into(onto, onto)  # the prediction path's form
        product = g.copy()
        act._mul_derivative(product, s, o, np.empty_like(s))
    _agree(into, o, dtype)
    _agree(onto, o, dtype)
    _agree(product, _fast_product_reference(cls, g, s, d), dtype)


# ------------------------------------------------------------- fused kernels

FUSED = [c for c in ACTIVATION_CLASSES if c in fused.FUSED_CODES]


@pytest.mark.parametrize(
    "cls, dtype, inputs", _cases(FUSED, DTYPE_AXIS, INPUT_AXIS, backend="fused")
)
def test_fused_activation_kernels(cls, dtype, inputs):
    act, code = cls(), fused.FUSED_CODES[cls]
    s = _signal(inputs, dtype)
    b = _grad(s.shape[1], dtype, seed=3)  # ordinary intercepts
    with np.errstate(all="ignore"):
        s_b = s + b
    o, d = _reference_activation(act, s_b)
    with np.errstate(all="ignore"):
        out = fused.bias_forward(s.copy(), b, code, np.empty_like(s))
        onto = s.copy()
        onto = fused.bias_forward(onto, b, code, onto)  # the network's call
    _agree(out, o, dtype)
    _agree(onto, o, dtype)

    g = _grad(s.shape, dtype)
    sums = np.empty(s.shape[1], dtype)
    product = g.copy()
    with np.errstate(all="ignore"):
        fused.mul_derivative_sums(product, o, code, sums)
        ref = _fast_product_reference(cls, g, s_b, d)
        ref_sums = ref.sum(axis=0)
    _agree(product, ref, dtype)
    _agree(sums, ref_sums, dtype)


# The network's compiled output passes: canonical_delta for the losses whose
# δ^(L) is P - Y (_layers._CANONICAL), softmax_forward for SoftmaxLogLoss.
FUSED_OUTPUT = [c for c in LOSS_CLASSES if c in _CANONICAL]


@pytest.mark.parametrize(
    "cls, dtype, inputs",
    _cases(FUSED_OUTPUT, DTYPE_AXIS, INPUT_AXIS, backend="fused"),
)
def test_fused_output_kernels(cls, dtype, inputs):
    loss = cls()
    s = _signal(inputs, dtype, width=3)
    y = _targets(loss, s.shape, dtype)
    w = _cast(np.random.default_rng(4).uniform(0.2, 3.0, s.shape[0]), dtype)
    p, _, delta = _reference_loss(loss, s, y, w)
    sw_sum = float(w.sum())
    with np.errstate(all="ignore"):
        ref = delta * w[:, np.newaxis] / dtype(sw_sum)
        D, sums = np.empty_like(p), np.empty(p.shape[1], dtype)
        fused.canonical_delta(y, p, w, sw_sum, D, sums)
        ref_sums = ref.sum(axis=0)
    _agree(D, ref, dtype)
    _agree(sums, ref_sums, dtype)
    if cls is SoftmaxLogLoss:
        b = _grad(s.shape[1], dtype, seed=3)
        with np.errstate(all="ignore"):
            ref_p = loss.link(s + b)
            got = fused.softmax_forward(s.copy(), b)
        _agree(got, ref_p, dtype)


# -------------------------------------------------------------- epoch kernel

EPOCH_ACTIVATIONS = [
    c for c in ACTIVATION_CLASSES if epoch_kernel.activation_code(c()) is not None
]
EPOCH_LOSSES = [c for c in LOSS_CLASSES if epoch_kernel.loss_code(c()) is not None]
EPOCH_CASES = [
    pytest.param(a, lo, dt, inp, id=f"{_name(a)}-{_name(lo)}-epoch-{dn}-{inp}")
    for a in EPOCH_ACTIVATIONS
    for lo in EPOCH_LOSSES
    for dn, dt in DTYPE_AXIS
    for inp in INPUTS
]
# The kernel sums products and rows in another order than BLAS and numpy's
# pairwise sums, and its tanh is within 2 ulp of numpy's: agreement to rounding.
EPOCH_TOL = {
    np.float64: dict(rtol=1e-10, atol=1e-12),
    np.float32: dict(rtol=2e-5, atol=1e-6),
}


def _epoch_problem(act_cls, loss_cls, dtype, inputs):
    """A tiny network (4 → 3 → 3) with random weights, and its training data."""
    rng = np.random.default_rng(5)
    n, k = 6, 3
    net = Network([4, 3, k], [act_cls()], loss_cls(), dtype)
    net.params[...] = rng.normal(scale=0.5, size=net.params.size)
    X = rng.normal(size=(n, 4))
    if inputs == "extreme":
        # What fit hands the epoch: finite values clipped at the signal limit.
        X[:3, :] = np.resize(np.array(EXTREME_VALUES[:-1]), (3, 4))
        X = clip_extreme(X, signal_limit(dtype))
    X = _cast(X, dtype)
    Y = _targets(net.loss, (n, k), dtype)
    w = _cast(rng.uniform(0.2, 3.0, n), dtype)
    return net, X, Y, w


def _numpy_epoch(net, opt, X, Y, w, batch_size):
    """``_run_epoch``'s loop over the numpy code (kernels off)."""
    n = X.shape[0]
    total, norms = 0.0, []
    with config_context(kernels=False), np.errstate(all="ignore"):
        for start in range(0, n, batch_size):
            rows = slice(start, min(n, start + batch_size))
            m = rows.stop - rows.start
            total += net.loss_gradient(X[rows], Y[rows], w[rows], 0.0) * m
            norms.append(net.coef_grad_sq_norms())
            opt.update(net.params, net.grad)
    return total / n, np.array(norms)


def _kernel_epoch(net, opt, X, Y, w, batch_size):
    codes, alphas, loss = epoch_kernel.network_codes(net)
    t = np.array([opt.t], dtype=np.int64)
    settings = (opt.learning_rate_init, opt.beta_1, opt.beta_2, opt.epsilon)
    with np.errstate(all="ignore"):
        out = epoch_kernel.run_epoch(
            X, Y, w, np.arange(X.shape[0]), batch_size, net.params, net._offsets,
            net.layer_units, codes, alphas, loss, 0.0, "adam", (opt.m, opt.v, t),
            settings, grad=net.grad,
        )  # fmt: skip
    opt.t = int(t[0])
    return out


@pytest.mark.parametrize("act_cls, loss_cls, dtype, inputs", EPOCH_CASES)
def test_epoch_kernel(act_cls, loss_cls, dtype, inputs):
    ref_net, X, Y, w = _epoch_problem(act_cls, loss_cls, dtype, inputs)
    net = _epoch_problem(act_cls, loss_cls, dtype, inputs)[0]  # its twin
    ref_opt = Adam(ref_net.params.size, dtype, learning_rate_init=0.05)
    opt = Adam(net.params.size, dtype, learning_rate_init=0.05)
    ref_loss, ref_norms = _numpy_epoch(ref_net, ref_opt, X, Y, w, batch_size=3)
    loss, norms = _kernel_epoch(net, opt, X, Y, w, batch_size=3)
    tol = EPOCH_TOL[dtype]
    assert_allclose(loss, ref_loss, equal_nan=True, **tol)
    assert_allclose(norms, ref_norms, equal_nan=True, **tol)
    for got, ref in [
        (net.params, ref_net.params),
        (net.grad, ref_net.grad),
        (opt.m, ref_opt.m),
        (opt.v, ref_opt.v),
    ]:
        assert_allclose(got, ref, equal_nan=True, **tol)
    assert opt.t == ref_opt.t


# -------------------------------------------------- array-api-strict, torch


def _namespace(backend):
    """``(asarray, to_numpy)`` for a backend; torch is skipped where not installed."""
    if backend == "array_api_strict":
        return array_api_strict.asarray, _xp.to_numpy
    torch = pytest.importorskip("torch")
    return (lambda a: torch.asarray(a, device="cpu")), _xp.to_numpy


XP_AXIS = [("strict", "array_api_strict"), ("torch", "torch")]


def _xp_cases(classes):
    return [
        pytest.param(cls, backend, dt, inp, id=f"{_name(cls)}-{bn}-{dn}-{inp}")
        for cls in classes
        for bn, backend in XP_AXIS
        for dn, dt in DTYPE_AXIS
        for inp in INPUTS
    ]


@pytest.mark.parametrize("cls, backend, dtype, inputs", _xp_cases(ACTIVATION_CLASSES))
def test_activation_in_namespace(cls, backend, dtype, inputs):
    asarray, to_numpy = _namespace(backend)
    act = cls()
    s = _signal(inputs, dtype)
    theta = _theta(act, s.shape[1], dtype)
    o, d = _reference_activation(act, s, theta)
    theta_x = tuple(asarray(t) for t in theta)
    with np.errstate(all="ignore"):  # array-api-strict computes with numpy
        o_x = act.forward(asarray(s), *theta_x)
        # The reference's output goes in, so that the derivative is compared alone.
        d_x = act.derivative(asarray(s), asarray(o), *theta_x)
    _agree(to_numpy(o_x), o, dtype)
    _agree(to_numpy(d_x), d, dtype)


@pytest.mark.parametrize("cls, backend, dtype, inputs", _xp_cases(LOSS_CLASSES))
def test_loss_in_namespace(cls, backend, dtype, inputs):
    asarray, to_numpy = _namespace(backend)
    loss = cls()
    s = _signal(inputs, dtype, width=3)
    y = _targets(loss, s.shape, dtype)
    w = _cast(np.random.default_rng(4).uniform(0.2, 3.0, s.shape[0]), dtype)
    p, value, delta = _reference_loss(loss, s, y, w)
    y_x, p_x = asarray(y), asarray(p)
    with np.errstate(all="ignore"):  # array-api-strict computes with numpy
        p_link = loss.link(asarray(s))
        # The reference's outputs go in, so that value and delta are compared alone.
        value_x = loss.value(y_x, p_x, asarray(w))
        delta_x = loss.output_delta(y_x, p_x)
    _agree(to_numpy(p_link), p, dtype)
    _agree(float(value_x), value, dtype)
    _agree(to_numpy(delta_x), delta, dtype)


# ------------------------------------------------------------------- ONNX

ONNX_X = np.random.default_rng(6).normal(size=(40, 4))
ONNX_Y = np.tanh(ONNX_X @ np.array([1.0, -2.0, 0.5, 0.3]))
# (model dtype, graph dtype) of each ONNX cell. predict clips at the model's
# signal limit (and PoissonLoss caps exp at the model dtype's cap), so a float64
# graph of a float32 model must clip and cap at float32's values, as predict
# does; a float32 graph of a float64 model is held to _onnx_reference's rule.
ONNX_CELLS = {
    "f64": (np.float64, np.float64),
    "f32": (np.float32, np.float32),
    "f32-model-f64-graph": (np.float32, np.float64),
    "f64-model-f32-graph": (np.float64, np.float32),
}
ONNX_INPUTS = ["ordinary", "extreme", "nan"]


def _regression_targets(loss):
    y = np.column_stack([ONNX_Y, ONNX_X[:, 0]])
    return np.exp(y) if loss.out_activation == "exp" else y


def _make(kind, cls):
    """An unfitted estimator of one ONNX row of the matrix, and its targets."""
    if kind == "activation":
        est = BackpropRegressor(hidden_layer_sizes=(4, 3), activation=cls())
        return est, _regression_targets(losses_module.SquaredError())
    loss = cls()
    if not loss._for_classifier:
        return BackpropRegressor(hidden_layer_sizes=(4,), loss=loss), (
            _regression_targets(loss)
        )
    # The classifier picks its log loss from the targets.
    if loss.out_activation == "softmax":
        return BackpropClassifier(hidden_layer_sizes=(4,)), np.digitize(
            ONNX_Y, [-0.3, 0.3]
        )
    labels = np.column_stack([ONNX_Y > 0, ONNX_X[:, 0] > 0]).astype(int)
    return BackpropClassifier(hidden_layer_sizes=(4,)), labels


@functools.cache
def _fitted(kind, cls, dtype):
    est, y = _make(kind, cls)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(max_iter=5, random_state=0).fit(ONNX_X.astype(dtype), y)
    if kind == "loss" and isinstance(est, BackpropClassifier):
        assert type(est._loss) is cls  # the targets chose the loss of this row
    return est


@functools.cache
def _session(kind, cls, model_dtype, graph_dtype):
    est = _fitted(kind, cls, model_dtype)
    options = {"zipmap": False} if isinstance(est, BackpropClassifier) else None
    onx = skonnx.to_onnx(est, dtype=graph_dtype, options=options)
    return ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def _onnx_rows(inputs):
    """Rows of 4 features: ordinary, extreme (finite), or ordinary with NaN rows."""
    rng = np.random.default_rng(7)
    ordinary = rng.normal(scale=2.0, size=(6, 4))
    if inputs == "ordinary":
        return ordinary
    if inputs == "nan":
        rows = ordinary.copy()
        rows[1, 2] = rows[4, :] = np.nan
        return rows
    values = np.array(EXTREME_VALUES[:-1])
    return np.column_stack(
        [values, -values, np.roll(values, 1), np.full_like(values, 0.5)]
    )


def _outputs(est, rows):
    """predict (regressor) or (predict, predict_proba) (classifier) of float64 rows."""
    if isinstance(est, BackpropClassifier):
        return est.predict(rows), est.predict_proba(rows)
    return (est.predict(rows).reshape(rows.shape[0], -1),)


def _onnx_reference(est, graph_dtype):
    """The model whose ``predict`` the graph must reproduce.

    A graph in the model's dtype or a wider one computes the model's predictions.
    A float32 graph of a float64 model cannot: float32 holds neither float64's
    signal limit (1.3e154) nor its precision. It computes what the model rounded
    to float32 predicts (clipping at float32's limit, 1.8e19), and that model is
    its reference.
    """
    if np.dtype(graph_dtype).itemsize >= est.coefs_[0].dtype.itemsize:
        return est
    twin = copy.deepcopy(est)
    for name in ("coefs_", "intercepts_", "activation_params_"):
        arrays = getattr(est, name)
        setattr(
            twin, name, [None if a is None else a.astype(graph_dtype) for a in arrays]
        )
    return twin


def _forward_outputs(est, rows):
    """predict's path without its validation (it refuses NaN): network.forward."""
    dtype = est.coefs_[0].dtype
    with np.errstate(all="ignore"):
        X = clip_extreme(rows, signal_limit(dtype)).astype(dtype)
        out = forward(
            X, est.coefs_, est.intercepts_, est.activations_,
            est.activation_params_, est._loss,
        )  # fmt: skip
    return out


def _onnx_cases(kind, classes):
    return [
        pytest.param(kind, cls, cell, inp, id=f"{_name(cls)}-onnx-{cell}-{inp}")
        for cls in classes
        for cell in ONNX_CELLS
        for inp in ONNX_INPUTS
    ]


@pytest.mark.parametrize(
    "kind, cls, cell, inputs",
    _onnx_cases("activation", ACTIVATION_CLASSES) + _onnx_cases("loss", LOSS_CLASSES),
)
def test_onnx_export(kind, cls, cell, inputs):
    model_dtype, graph_dtype = ONNX_CELLS[cell]
    est = _fitted(kind, cls, model_dtype)
    session = _session(kind, cls, model_dtype, graph_dtype)
    rows = _onnx_rows(inputs)
    feed = {session.get_inputs()[0].name: _cast(rows, graph_dtype)}
    got = session.run(None, feed)
    # float32 on either side: float32's rounding (as tests/test_onnx.py).
    f64 = model_dtype == graph_dtype == np.float64
    tol = dict(rtol=1e-10, atol=0) if f64 else dict(rtol=1e-5, atol=1e-5)
    reference = _onnx_reference(est, graph_dtype)
    if inputs == "nan":
        with pytest.raises(ValueError, match="NaN"):
            reference.predict(rows)
        nan_rows = np.isnan(_forward_outputs(reference, rows)).any(axis=1)
        assert nan_rows.tolist() == np.isnan(rows).any(axis=1).tolist()
        out = got[-1].reshape(rows.shape[0], -1)  # regressor output or proba
        assert np.isnan(out).all(axis=1).tolist() == nan_rows.tolist()
        assert not np.isnan(out[~nan_rows]).any()
        rows, got = rows[~nan_rows], [g[~nan_rows] for g in got]
    expected = _outputs(reference, rows)
    assert np.isfinite(expected[-1]).all()
    if len(expected) == 2:  # classifier: labels, then probabilities
        assert_array_equal(got[0], expected[0])
    assert_allclose(got[-1].reshape(expected[-1].shape), expected[-1], **tol)
