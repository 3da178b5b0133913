"""The registry of built-ins: one list each, and every table read from it.

``activations.BUILTIN_ACTIVATIONS`` and ``losses.BUILTIN_LOSSES`` list each
built-in class once; each class holds its forms (numpy, in place, kernel code,
ONNX nodes, output bound). These tests check that the names, the kernels' codes
and tables, ONNX export and the trust given to built-ins all follow the registry,
and that every kernel branch a class claims computes that class's function, so
that adding a built-in (docs/developer.rst) cannot leave a table behind.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skbackprop import activations as A
from skbackprop import losses as L
from skbackprop._core.activation_base import ParametricActivation

ACTIVATION_CLASSES = list(A.BUILTIN_ACTIVATIONS)
LOSS_CLASSES = list(L.BUILTIN_LOSSES)
KERNEL_ACTIVATIONS = [c for c in ACTIVATION_CLASSES if c.kernel_code is not None]
KERNEL_LOSSES = [c for c in LOSS_CLASSES if c.kernel_code is not None]
# Signals where the forms must agree: zero, ordinary, saturating, NaN.
SIGNALS = np.array([0.0, -0.0, 0.3, -0.7, 2.5, -3.0, 25.0, -40.0, 1e3, -1e3, np.nan])


pytestmark = pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")


def _instance(cls):
    # Non-default parameters where a class has them, so that they reach the forms.
    params = {A.LeakyReLU: {"alpha": 0.1}, A.ELU: {"alpha": 0.7}}
    return cls(**params.get(cls, {}))


def _by_name(obj):
    return type(obj).__name__ if isinstance(obj, type) else obj


# ------------------------------------------------------------- the lists
def test_every_named_activation_is_registered_once():
    assert len(set(A.BUILTIN_ACTIVATIONS)) == len(A.BUILTIN_ACTIVATIONS)
    assert set(A.ACTIVATIONS.values()) == set(A.BUILTIN_ACTIVATIONS)
    for name, cls in A.ACTIVATIONS.items():
        assert name == cls.name or name in cls._aliases
    assert A.ACTIVATIONS["sigmoid"] is A.Logistic


def test_every_named_loss_is_registered_once():
    assert len(set(L.BUILTIN_LOSSES)) == len(L.BUILTIN_LOSSES)
    assert set(L.LOSSES.values()) <= set(L.BUILTIN_LOSSES)
    for name, cls in L.LOSSES.items():
        assert name == cls.name and not cls._for_classifier
    # The classifier's log losses are built-ins without a name.
    assert {L.BinaryLogLoss, L.SoftmaxLogLoss} == set(L.BUILTIN_LOSSES) - set(
        L.LOSSES.values()
    )


def test_every_public_class_of_the_modules_is_registered():
    # A new class exported from the module is a built-in only with its entry.
    for module, registry, bases in (
        (A, A.BUILTIN_ACTIVATIONS, (A.Activation, A.ParametricActivation)),
        (L, L.BUILTIN_LOSSES, (L.Loss,)),
    ):
        exported = [getattr(module, n) for n in module.__all__]
        classes = {c for c in exported if isinstance(c, type)} - set(bases)
        assert classes == set(registry)


@pytest.mark.parametrize("registry", [A.BUILTIN_ACTIVATIONS, L.BUILTIN_LOSSES])
def test_kernel_codes_are_unique_integers(registry):
    codes = [c.kernel_code for c in registry if c.kernel_code is not None]
    assert len(set(codes)) == len(codes)
    assert all(isinstance(c, int) and c >= 0 for c in codes)


def test_fast_activations_are_the_builtins_with_in_place_forms():
    fast = {c for c in A.BUILTIN_ACTIVATIONS if "_forward_into" in vars(c)}
    assert A.FAST_ACTIVATIONS == fast
    for cls in A.FAST_ACTIVATIONS:
        assert "_mul_derivative" in vars(cls) and "_needs_signal" in vars(cls)
        assert cls.kernel_code is not None


def test_is_builtin_trusts_the_classes_themselves_only():
    class MyTanh(A.Tanh):
        def forward(self, s):
            return 2 * np.tanh(s)

    class MyPoisson(L.PoissonLoss):
        pass

    assert all(A.is_builtin(_instance(c)) for c in A.BUILTIN_ACTIVATIONS)
    assert all(L.is_builtin(c()) for c in L.BUILTIN_LOSSES)
    assert not A.is_builtin(MyTanh())
    assert not L.is_builtin(MyPoisson())


# ------------------------------------------------------------ the kernels
def test_epoch_kernel_codes_come_from_the_classes():
    K = pytest.importorskip("skbackprop._kernels.epoch")
    for cls in ACTIVATION_CLASSES:
        act = _instance(cls)
        code = K.activation_code(act)
        if cls.kernel_code is None:
            assert code is None
        else:
            assert code == (cls.kernel_code, act._kernel_alpha())
    for cls in LOSS_CLASSES:
        assert K.loss_code(cls()) == cls.kernel_code
    # The subclass of a built-in keeps the numpy path (its methods may differ).
    assert K.activation_code(type("T", (A.Tanh,), {})()) is None
    assert K.loss_code(type("S", (L.SquaredError,), {})()) is None


def test_fused_codes_are_the_fast_activations():
    kf = pytest.importorskip("skbackprop._kernels.fused")
    assert set(kf.FUSED_CODES) == set(A.FAST_ACTIVATIONS)
    assert all(kf.FUSED_CODES[c] == c.kernel_code for c in kf.FUSED_CODES)


@pytest.mark.parametrize("cls", KERNEL_ACTIVATIONS, ids=_by_name)
def test_epoch_kernel_branch_computes_the_class(cls):
    # Each branch of the compiled kernel, called with the class's code, gives
    # what the numpy path computes: forward, and the in-place _mul_derivative
    # where the class has it, else derivative (the two differ at NaN for ReLU).
    # This also catches a stale numba cache after a code was changed.
    pytest.importorskip("numba")
    from skbackprop._kernels import epoch_jit as J

    act = _instance(cls)
    s = SIGNALS.reshape(1, -1)
    o_ref = act.forward(s)
    if cls in A.FAST_ACTIVATIONS:
        d_ref = np.ones_like(s)
        act._mul_derivative(d_ref, s, o_ref, np.empty_like(s))
    else:
        d_ref = act.derivative(s, o_ref)
    o_ref, d_ref = o_ref.ravel(), d_ref.ravel()
    code, alpha, dt = cls.kernel_code, act._kernel_alpha(), np.float64
    o = np.array([J._forward(code, alpha, si, dt) for si in SIGNALS])
    pairs = zip(SIGNALS, o, strict=True)
    d = np.array([J._backward(code, alpha, dt(1), si, oi, dt) for si, oi in pairs])
    assert_allclose(o, o_ref, rtol=1e-14, atol=1e-300, equal_nan=True)
    assert_allclose(d, d_ref, rtol=1e-14, atol=1e-300, equal_nan=True)


@pytest.mark.parametrize("cls", KERNEL_LOSSES, ids=_by_name)
def test_epoch_kernel_link_computes_the_class(cls):
    pytest.importorskip("numba")
    from skbackprop._kernels import epoch_jit as J

    loss = cls()
    S = np.array([[0.0, 1.5, -2.0], [30.0, -30.0, 800.0], [0.2, 0.1, -0.3]])
    if cls is L.BinaryLogLoss:
        S = S[:, :1]
    expected = loss.link(S.copy())
    P = np.empty_like(S)
    cap = float(L._exp_cap(S.dtype)) if cls is L.PoissonLoss else 0.0
    J._link(cls.kernel_code, S, P, S.shape[0], S.shape[1], cap, np.float64)
    assert_allclose(P, expected, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_kernels_compute_every_fast_activation(dtype):
    kf = pytest.importorskip("skbackprop._kernels.fused")
    rng = np.random.default_rng(0)
    for cls, code in kf.FUSED_CODES.items():
        act = cls()
        s = (rng.standard_normal((5, 7)) * 3).astype(dtype)
        b = rng.standard_normal(7).astype(dtype)
        ref = act._forward_into(s + b, np.empty_like(s))
        got = kf.bias_forward(s.copy(), b, code, np.empty_like(s))
        assert_allclose(got, ref, rtol=1e-6 if dtype == np.float32 else 1e-14)
        g = rng.standard_normal(s.shape).astype(dtype)
        g_ref, g_got = g.copy(), g.copy()
        act._mul_derivative(g_ref, s, ref, np.empty_like(s))
        kf.mul_derivative(g_got, s, ref, code)
        assert_allclose(g_got, g_ref, rtol=1e-6 if dtype == np.float32 else 1e-14)


# ---------------------------------------------------------------- ONNX
@pytest.mark.parametrize("cls", ACTIVATION_CLASSES, ids=_by_name)
def test_every_builtin_activation_has_its_onnx_form(cls):
    assert callable(vars(cls).get("_onnx")), f"{cls.__name__} has no _onnx"


def test_every_builtin_loss_has_its_onnx_form():
    # The identity link is Loss's own; every other link is written by its class.
    for cls in L.BUILTIN_LOSSES:
        owner = next(c for c in cls.__mro__ if "link" in vars(c))
        assert "_onnx" in vars(owner), f"{cls.__name__}'s link has no ONNX form"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", ACTIVATION_CLASSES, ids=_by_name)
def test_onnx_form_runs_as_forward(cls, dtype):
    # Each class's nodes, alone in a graph, compute its forward.
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    from skbackprop._export.onnx_ops import GraphBuilder

    class _Scope:
        def __init__(self):
            self.n = 0

        def _name(self, base):
            self.n += 1
            return f"{base}_{self.n}"

        get_unique_variable_name = get_unique_operator_name = _name

    class _Container:
        def __init__(self):
            self.nodes, self.inits = [], []

        def add_initializer(self, name, proto, shape, data):
            self.inits.append(helper.make_tensor(name, proto, shape, data))

        def add_node(self, op_type, inputs, outputs, name, **attrs):
            self.nodes.append(
                helper.make_node(op_type, inputs, outputs, name=name, **attrs)
            )

    act = _instance(cls)
    container = _Container()
    g = GraphBuilder(_Scope(), container, dtype)
    s = np.clip(SIGNALS[~np.isnan(SIGNALS)], -60, 60).astype(dtype).reshape(1, -1)
    theta = None
    if isinstance(act, ParametricActivation):
        theta = act.init_parameters(s.shape[1], dtype)
    out = act._onnx(g, "s", theta)
    proto = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    graph = helper.make_graph(
        container.nodes,
        "act",
        [helper.make_tensor_value_info("s", proto, list(s.shape))],
        [helper.make_tensor_value_info(out, proto, list(s.shape))],
        container.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    sess = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (got,) = sess.run(None, {"s": s})
    expected = act.forward(s) if theta is None else act.forward(s, theta)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12)
    assert_allclose(got, expected, **tol)


# -------------------------------------------------------------- signal bound
@pytest.mark.parametrize("cls", ACTIVATION_CLASSES, ids=_by_name)
def test_every_builtin_bounds_its_output(cls):
    act = _instance(cls)
    s_max = 7.0
    s = np.linspace(-s_max, s_max, 201).reshape(1, -1)
    if isinstance(act, ParametricActivation):
        theta = act.init_parameters(s.shape[1], np.float64)
        bound, o = act._output_bound(s_max, theta), act.forward(s, theta)
    else:
        bound, o = act._output_bound(s_max), act.forward(s)
    assert bound is not None and np.abs(o).max() <= bound


def test_signal_bound_trusts_the_registry_only():
    from skbackprop._core.limits import signal_bound

    class MyReLU(A.ReLU):
        def forward(self, s):
            return np.exp(s)

    X = np.ones((2, 3))
    W, b = [np.ones((3, 2)), np.ones((2, 1))], [np.zeros(2), np.zeros(1)]
    assert np.isfinite(signal_bound(X, W, b, [A.ReLU()], [None]))
    assert signal_bound(X, W, b, [MyReLU()], [None]) == np.inf
