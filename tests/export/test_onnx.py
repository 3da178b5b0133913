"""ONNX export (skbackprop.onnx) checked with onnxruntime: its outputs equal
predict / predict_proba to 1e-5 (float32 graph and model) and 1e-10 relative
(float64 graph and model) for every activation, loss and kind of target."""

import importlib
import subprocess
import sys
import warnings

import numpy as np
import onnxruntime as ort
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from skl2onnx import to_onnx as skl2onnx_to_onnx
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skbackprop.onnx as skonnx
from skbackprop import BackpropClassifier, BackpropRegressor, PReLU
from skbackprop.activations import Activation, ParametricActivation
from skbackprop.losses import Loss, reduce_loss
from tests._builtins import ACTIVATION_NAMES

FEW_ITERATIONS = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)
RNG = np.random.RandomState(0)
X = RNG.standard_normal((40, 4))
Y_REG = np.tanh(X @ np.array([1.0, -2.0, 0.5, 0.3]))
Y_MULTI = np.digitize(Y_REG, [-0.3, 0.3])  # 0, 1, 2
Y_LABELS = np.column_stack([Y_REG > 0, X[:, 0] > 0, X[:, 1] > 0.5]).astype(int)
X_NEW = np.random.RandomState(1).standard_normal((30, 4)) * 2
# float32 graph vs a float32 model; float64 graph vs a float64 model.
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=0)}
DTYPES = [np.float32, np.float64]


def run(onx, X):
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def fit(est, y, dtype):
    return est.set_params(max_iter=15, random_state=0).fit(X.astype(dtype), y)


class Swish(Activation):
    """A user's activation that knows its ONNX form."""

    def __init__(self, beta=1.0):
        self.beta = beta

    def forward(self, s):
        return s * expit(self.beta * s)

    def derivative(self, s, o):
        sig = expit(self.beta * s)
        return sig + self.beta * o * (1 - sig)

    def onnx_nodes(self, g, s):
        # s / (1 + exp(-βs)); onnxruntime < 1.31 fuses s·Sigmoid(βs) into a
        # QuickGelu that has no float64 kernel (its issue 32421).
        e = g.op("Exp", g.op("Neg", g.op("Mul", s, self.beta)))
        return g.op("Div", s, g.op("Add", e, 1.0))


class Scale(ParametricActivation):
    """A user's parametric activation, ``θ(s) = a·s`` with ``a`` learned per unit."""

    def __init__(self, init=0.5):
        self.init = init

    def init_parameters(self, n_units, dtype):
        return np.full((1, n_units), self.init, dtype=dtype)

    def forward(self, s, theta):
        return s * theta[0]

    def derivative(self, s, o, theta):
        return np.broadcast_to(theta[0], s.shape).copy()

    def parameter_gradient(self, s, o, theta, grad_o):
        return np.sum(grad_o * s, axis=0, keepdims=True)

    def onnx_nodes(self, g, s, theta):
        return g.op("Mul", s, theta[0])


class LogCosh(Loss):
    """A user's loss with the default identity link: exports without a hook."""

    def value(self, y, p, sample_weight=None):
        r = p - y
        return reduce_loss(np.logaddexp(r, -r) - np.log(2), sample_weight)

    def output_delta(self, y, p, out=None):
        return np.tanh(p - y)


class TanhSquared(Loss):
    """A user's loss with a link of its own, exported by its hook."""

    out_activation = "tanh"

    def link(self, s):
        return np.tanh(s)

    def value(self, y, p, sample_weight=None):
        return reduce_loss(0.5 * (p - y) ** 2, sample_weight)

    def output_delta(self, y, p, out=None):
        return (p - y) * (1 - p * p)

    def onnx_nodes(self, g, s):
        return g.op("Tanh", s)


# Without the hook, the export must refuse them.
NoOnnxSwish = type("NoOnnxSwish", (Swish,), {"onnx_nodes": None})
NoOnnxScale = type("NoOnnxScale", (Scale,), {"onnx_nodes": None})
NoOnnxTanhSquared = type("NoOnnxTanhSquared", (TanhSquared,), {"onnx_nodes": None})


# ------------------------------------------------------------- activations
@FEW_ITERATIONS
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_each_activation_on_a_wide_range(name, dtype):
    # One unit with weights 1 and biases 0 makes predict(x) = θ(x): compares the
    # graph's θ with the numpy one in the tails too (softplus, erf, expm1).
    s = np.concatenate([np.linspace(-40, 40, 321), [-1e6, -1e-9, 0, 1e-9, 1e6]])
    s = s.reshape(-1, 1).astype(dtype)
    reg = BackpropRegressor(hidden_layer_sizes=(1,), activation=name, max_iter=1)
    reg.fit(s[::40], s[::40, 0] / 40)
    reg.coefs_ = [np.ones((1, 1), dtype), np.ones((1, 1), dtype)]
    reg.intercepts_ = [np.zeros(1, dtype), np.zeros(1, dtype)]
    if name == "prelu":
        reg.activation_params_ = [np.full((1, 1), 0.3, dtype)]
    (out,) = run(skonnx.to_onnx(reg, dtype=dtype), s)
    assert out.dtype == dtype
    # Tails that cancel (1 + erf(-5) for GELU) carry ulp-sized absolute errors.
    atol = 1e-6 if dtype == np.float32 else 1e-13
    assert_allclose(out.ravel(), reg.predict(s), rtol=TOL[dtype]["rtol"], atol=atol)


@FEW_ITERATIONS
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_activation_in_one_network_at_opset_9(dtype):
    acts = [name for name in ACTIVATION_NAMES if name != "prelu"] + [PReLU()]
    clf = BackpropClassifier(hidden_layer_sizes=[3] * len(acts), activation=acts)
    clf = fit(clf, LABELS["binary-str"], dtype)
    onx = skonnx.to_onnx(clf, dtype=dtype, target_opset=9, options={"zipmap": False})
    assert max(o.version for o in onx.opset_import if o.domain == "") <= 9
    label, proba = run(onx, X_NEW.astype(dtype))
    assert_allclose(proba, clf.predict_proba(X_NEW.astype(dtype)), **TOL[dtype])
    assert_array_equal(label, clf.predict(X_NEW.astype(dtype)))


# --------------------------------------------------------------- regressor
REGRESSORS = {
    "squared-prelu-gelu": lambda: BackpropRegressor(
        hidden_layer_sizes=(6, 5), activation=[PReLU(), "gelu"]
    ),
    "squared-tanh-elu-softplus-multioutput": lambda: BackpropRegressor(
        hidden_layer_sizes=(5, 4, 3), activation=["tanh", "elu", "softplus"]
    ),
    "huber-relu": lambda: BackpropRegressor(loss="huber", hidden_layer_sizes=(5,)),
    "quantile-logistic": lambda: BackpropRegressor(
        loss="quantile", hidden_layer_sizes=(5,), activation="logistic"
    ),
    "user-loss-identity-link": lambda: BackpropRegressor(
        loss=LogCosh(), hidden_layer_sizes=(4,)
    ),
    "user-loss-tanh-link": lambda: BackpropRegressor(
        loss=TanhSquared(), hidden_layer_sizes=(4,)
    ),
    "poisson-sigmoid-leaky": lambda: BackpropRegressor(
        loss="poisson", hidden_layer_sizes=(5, 4), activation=["sigmoid", "leaky_relu"]
    ),
}


def _regression_target(name):
    if name.startswith("poisson"):
        return np.exp(Y_REG)
    if "multioutput" in name:
        return np.column_stack([Y_REG, X[:, 0]])
    return Y_REG


@FEW_ITERATIONS
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_regressor(name, dtype):
    reg = fit(REGRESSORS[name](), _regression_target(name), dtype)
    (out,) = run(skonnx.to_onnx(reg, X_NEW.astype(dtype)), X_NEW.astype(dtype))
    expected = reg.predict(X_NEW.astype(dtype))
    assert out.shape == (len(X_NEW), reg.n_outputs_)  # (n, 1) for one output
    assert_allclose(out.reshape(expected.shape), expected, **TOL[dtype])


# -------------------------------------------------------------- classifier
LABELS = {
    "binary-str": np.where(Y_REG > 0, "yes", "no"),
    "binary-bool": Y_REG > 0,
    "multiclass-int": Y_MULTI + 3,
    "multiclass-str": np.array(["a", "b", "c"])[Y_MULTI],
    "multiclass-float": Y_MULTI.astype(float),
    "multilabel": Y_LABELS,
}


@FEW_ITERATIONS
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels", sorted(LABELS))
def test_classifier(labels, dtype):
    clf = BackpropClassifier(hidden_layer_sizes=(6, 4), activation=["relu", "elu"])
    clf = fit(clf, LABELS[labels], dtype)
    onx = skonnx.to_onnx(clf, dtype=dtype, options={"zipmap": False})
    label, proba = run(onx, X_NEW.astype(dtype))
    assert proba.dtype == dtype
    assert_allclose(proba, clf.predict_proba(X_NEW.astype(dtype)), **TOL[dtype])
    expected = clf.predict(X_NEW.astype(dtype))
    if labels.endswith("str"):
        assert_array_equal(label, expected.astype(str))
    else:  # int64, as skl2onnx gives numbers, bools, floats with integer values
        assert label.dtype == np.int64
        assert_array_equal(label, expected.astype(np.int64))


@pytest.fixture(scope="module")
def multiclass():
    clf = BackpropClassifier(hidden_layer_sizes=(5,), activation="gelu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # few iterations
        return fit(clf, LABELS["multiclass-str"], np.float32)


@FEW_ITERATIONS
def test_zipmap_gives_dicts(multiclass):
    label, dicts = run(skonnx.to_onnx(multiclass), X_NEW.astype(np.float32))
    proba = np.array([[row[c] for c in multiclass.classes_] for row in dicts])
    assert_allclose(proba, multiclass.predict_proba(X_NEW), rtol=1e-5, atol=1e-5)
    assert_array_equal(label, multiclass.predict(X_NEW))


def test_zipmap_columns_nocl_and_class_labels(multiclass):
    X32 = X_NEW.astype(np.float32)
    expected = multiclass.predict_proba(X32)
    outputs = run(skonnx.to_onnx(multiclass, options={"zipmap": "columns"}), X32)
    assert_allclose(np.column_stack(outputs[1:]), expected, rtol=1e-5, atol=1e-5)
    label, _ = run(
        skonnx.to_onnx(multiclass, options={"nocl": True, "zipmap": False}), X32
    )
    assert_array_equal(label, expected.argmax(axis=1))
    onx = skonnx.to_onnx(
        multiclass, options={"zipmap": False, "output_class_labels": True}
    )
    assert_array_equal(run(onx, X32)[2], multiclass.classes_)


def test_float64_classifier_needs_zipmap_off(multiclass):
    with pytest.raises(ValueError, match=r"float64 graph.*zipmap': False"):
        skonnx.to_onnx(multiclass, dtype=np.float64)


# ---------------------------------------------------------- skl2onnx, pipelines
@FEW_ITERATIONS
def test_pipeline_converts_with_skl2onnx_to_onnx():
    pipe = make_pipeline(
        StandardScaler(),
        BackpropClassifier(hidden_layer_sizes=(5,), activation="softplus", max_iter=15),
    ).fit(X.astype(np.float32), LABELS["multiclass-int"])
    X32 = X_NEW.astype(np.float32)
    onx = skl2onnx_to_onnx(pipe, X32[:1], options={"backpropclassifier__zipmap": False})
    label, proba = run(onx, X32)
    assert_array_equal(label, pipe.predict(X32))
    assert_allclose(proba, pipe.predict_proba(X32), **TOL[np.float32])


@FEW_ITERATIONS
def test_float64_model_in_a_float32_graph_and_int_input():
    reg = fit(BackpropRegressor(hidden_layer_sizes=(4,)), Y_REG, np.float64)
    (out,) = run(skonnx.to_onnx(reg), X_NEW.astype(np.float32))  # default: float32
    assert out.dtype == np.float32
    assert_allclose(out.ravel(), reg.predict(X_NEW), rtol=1e-4, atol=1e-5)
    X_int = np.round(X_NEW * 3).astype(np.int64)
    (out,) = run(skonnx.to_onnx(reg, X_int), X_int)  # cast inside the graph
    assert_allclose(out.ravel(), reg.predict(X_int), rtol=1e-4, atol=1e-5)


@FEW_ITERATIONS
def test_subclass_is_registered_by_to_onnx():
    class MyRegressor(BackpropRegressor):
        pass

    reg = fit(MyRegressor(hidden_layer_sizes=(3,)), Y_REG, np.float64)
    (out,) = run(skonnx.to_onnx(reg, dtype=np.float64), X_NEW)
    assert_allclose(out.ravel(), reg.predict(X_NEW), rtol=1e-10)


# ---------------------------------------------------------- user activations
@FEW_ITERATIONS
@pytest.mark.parametrize("dtype", DTYPES)
def test_user_activation_with_hook(dtype):
    reg = BackpropRegressor(hidden_layer_sizes=(5, 4), activation=[Swish(1.5), Scale()])
    reg = fit(reg, Y_REG, dtype)
    assert not np.allclose(reg.activation_params_[1], 0.5)  # the slopes trained
    (out,) = run(skonnx.to_onnx(reg, dtype=dtype), X_NEW.astype(dtype))
    assert_allclose(out.ravel(), reg.predict(X_NEW.astype(dtype)), **TOL[dtype])


@FEW_ITERATIONS
def test_user_activation_without_hook_is_refused():
    reg = fit(
        BackpropRegressor(hidden_layer_sizes=(3,), activation=NoOnnxSwish()),
        Y_REG,
        np.float64,
    )
    with pytest.raises(
        NotImplementedError, match=r"NoOnnxSwish.*onnx_nodes\(self, g, s\)"
    ):
        skonnx.to_onnx(reg)
    reg = fit(
        BackpropRegressor(hidden_layer_sizes=(3,), activation=NoOnnxScale()),
        Y_REG,
        np.float64,
    )
    with pytest.raises(NotImplementedError, match=r"onnx_nodes\(self, g, s, theta\)"):
        skonnx.to_onnx(reg)


@FEW_ITERATIONS
def test_user_loss_with_its_own_link_needs_the_hook():
    reg = BackpropRegressor(loss=NoOnnxTanhSquared(), hidden_layer_sizes=(3,))
    reg = fit(reg, Y_REG, np.float64)
    with pytest.raises(NotImplementedError, match=r"NoOnnxTanhSquared.*onnx_nodes"):
        skonnx.to_onnx(reg)


@FEW_ITERATIONS
def test_hook_must_return_a_name():
    class Broken(Swish):
        def onnx_nodes(self, g, s):
            return None

    reg = fit(
        BackpropRegressor(hidden_layer_sizes=(3,), activation=Broken()),
        Y_REG,
        np.float64,
    )
    with pytest.raises(TypeError, match=r"Broken.onnx_nodes returned None.*name"):
        skonnx.to_onnx(reg)


@FEW_ITERATIONS
def test_graph_builder_refuses_other_constant_dtypes():
    class Int32Constant(Swish):
        def onnx_nodes(self, g, s):
            return g.op("Mul", s, g.const(2, dtype=np.int32))

    reg = BackpropRegressor(hidden_layer_sizes=(3,), activation=Int32Constant())
    reg = fit(reg, Y_REG, np.float64)
    with pytest.raises(TypeError, match="float32, float64, int64 or str.*int32"):
        skonnx.to_onnx(reg)


# ------------------------------------------------------------ bad arguments
def test_bad_dtype_and_unfitted():
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        skonnx.to_onnx(BackpropRegressor(), dtype=np.int32)
    with pytest.raises(ValueError, match="not fitted.*Fit it first, or pass"):
        skonnx.to_onnx(BackpropRegressor())


def test_missing_skl2onnx_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # import fails
    monkeypatch.delitem(sys.modules, "skbackprop.onnx")
    with pytest.raises(ImportError, match=r"pip install skl2onnx onnx \(the onnx"):
        importlib.import_module("skbackprop.onnx")


@pytest.mark.slow
def test_importing_skbackprop_does_not_import_onnx():
    code = (
        "import sys, skbackprop; "
        "assert not {'skl2onnx', 'onnx', 'onnxruntime'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------- extreme inputs (clipping)
EXTREMES = {
    np.float64: [0.0, 1e3, -1e3, 1e30, -1e30, 1e300, -1e300, 1.3e154, -1.4e154],
    np.float32: [0.0, 1e3, -1e3, 1e18, -1e18, 1.8e19, -1.9e19, 1e30, -1e30, 3e38],
}


@FEW_ITERATIONS
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_graph_clips_extreme_inputs_and_signals_as_predict_does(name, dtype):
    # predict clips inputs and every layer's signal at sqrt(finfo.max); the
    # graph must apply the same rule, or the two disagree for huge inputs (a
    # float32 ReLU model at x = 1e30: 3.9e18 in Python, 2.1e29 in ONNX).
    values = np.array(EXTREMES[dtype], dtype=dtype)
    rows = np.column_stack(
        [values, -values, np.roll(values, 1), np.full_like(values, 0.5)]
    ).astype(dtype)
    reg = BackpropRegressor(hidden_layer_sizes=(5, 3), activation=name)
    reg = fit(reg, np.column_stack([Y_REG, X[:, 0]]), dtype)
    expected = reg.predict(rows)
    assert np.isfinite(expected).all()
    (out,) = run(skonnx.to_onnx(reg, dtype=dtype), rows)
    assert_allclose(out, expected, **TOL[dtype])
    clf = BackpropClassifier(hidden_layer_sizes=(4,), activation=name)
    clf = fit(clf, Y_MULTI, dtype)
    onx = skonnx.to_onnx(clf, dtype=dtype, options={"zipmap": False})
    label, proba = run(onx, rows)
    assert_allclose(proba, clf.predict_proba(rows), **TOL[dtype])
    assert_array_equal(label, clf.predict(rows))


@FEW_ITERATIONS
@pytest.mark.parametrize("name", ["relu", "tanh", "gelu"])
def test_float64_graph_of_a_float32_model_clips_where_predict_does(name):
    # predict clips at the model dtype's limit (1.8e19 for float32), so a float64
    # graph of a float32 model must too, not at float64's 1.3e154.
    values = np.array(EXTREMES[np.float32][:-1] + [1e300, -1e300])
    rows = np.column_stack([values, -values, np.roll(values, 1), values * 0 + 0.5])
    reg = BackpropRegressor(hidden_layer_sizes=(5, 3), activation=name)
    reg = fit(reg, np.column_stack([Y_REG, X[:, 0]]), np.float32)
    expected = reg.predict(rows)
    (out,) = run(skonnx.to_onnx(reg, dtype=np.float64), rows)
    assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@FEW_ITERATIONS
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NaN signals
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_graph_keeps_a_nan_row_nan_as_the_network_does(name, dtype):
    # predict refuses NaN inputs (scikit-learn's validation); the graph cannot
    # refuse, so it follows the network's rule: NaN is not clipped, its row
    # gives NaN, the other rows are untouched.
    rows = np.array([[np.nan, 1.0, 0.0, 2.0], [1e30, -1e30, 0.5, 0.0], [0.1] * 4])
    rows = rows.astype(dtype)
    clf = fit(
        BackpropClassifier(hidden_layer_sizes=(4,), activation=name), Y_MULTI, dtype
    )
    with pytest.raises(ValueError, match="NaN"):
        clf.predict_proba(rows)
    _, proba = run(skonnx.to_onnx(clf, dtype=dtype, options={"zipmap": False}), rows)
    expected = np.maximum(clf._forward(rows), np.finfo(dtype).tiny)
    assert np.isnan(proba[0]).all() and np.isnan(expected[0]).all()
    assert_allclose(proba[1:], expected[1:], **TOL[dtype])


@pytest.mark.parametrize("est", [BackpropRegressor(), BackpropClassifier()])
@pytest.mark.parametrize("how", ["skl2onnx", "sample rows", "pipeline"])
def test_exporting_an_unfitted_model_raises_not_fitted_error(est, how):
    from sklearn.exceptions import NotFittedError

    sample = X[:2].astype(np.float32)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        if how == "skl2onnx":
            skl2onnx_to_onnx(est, sample)
        elif how == "sample rows":
            skonnx.to_onnx(est, sample)
        else:
            scaler = StandardScaler().fit(X)
            skonnx.to_onnx(make_pipeline(scaler, est), sample)
