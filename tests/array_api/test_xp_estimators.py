"""The estimators under scikit-learn's array_api_dispatch (array-api-strict, torch CPU).

The same fit on numpy and on another namespace gives the same model to rtol 1e-10
in float64: the core is one code path written against the namespace, the initial
weights and the batches are drawn on the host with the same random state. Fitted
arrays and outputs live in the input's namespace; mixing namespaces fails with a
clear error; ``move_to`` takes a model between namespaces.

This module needs array-API dispatch, which scikit-learn allows only with SciPy >=
1.14 (conftest.py leaves it out on older SciPy; test_xp_network.py checks that
refusal).
"""

import importlib
import importlib.util
import pickle
import warnings

import array_api_strict as xps
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from skbackprop import (
    BackpropClassifier,
    BackpropRegressor,
    PReLU,
    check_gradient,
    move_to,
)
from skbackprop._core import xp as _xp
from skbackprop.losses import Loss, reduce_loss

# torch is optional: array-api-strict always runs. Its cases are marked slow:
# importing torch alone takes seconds, so the quick subset (-m "not slow") runs
# array-api-strict only and never imports it.
HAS_TORCH = importlib.util.find_spec("torch") is not None
NAMESPACES = ["array_api_strict"] + (
    [pytest.param("torch", marks=pytest.mark.slow)] if HAS_TORCH else []
)
RTOL = 1e-10


def _module(name):
    return xps if name == "array_api_strict" else importlib.import_module("torch")


def _to(name, a):
    return None if a is None else _module(name).asarray(a)


def _np(a):
    return _xp.to_numpy(a)


@pytest.fixture
def dispatch():
    with sklearn.config_context(array_api_dispatch=True):
        yield


X, y_class = make_classification(
    n_samples=90, n_features=6, n_informative=4, n_classes=3, random_state=0
)
y_binary = (y_class > 0).astype(np.int64)
y_multilabel = np.stack([y_class == 0, y_class == 1, X[:, 0] > 0], axis=1).astype(
    np.int64
)
X_reg, y_reg = make_regression(n_samples=90, n_features=6, random_state=0)
X_reg /= X_reg.std(axis=0)
y_reg /= y_reg.std()
Y_reg = np.stack([y_reg, X_reg[:, 0] - y_reg], axis=1)
SW = np.random.RandomState(1).randint(0, 4, size=90).astype(np.float64)

CASES = {
    "binary": (BackpropClassifier, X, y_binary),
    "multiclass": (BackpropClassifier, X, y_class),
    "multilabel": (BackpropClassifier, X, y_multilabel),
    "regression": (BackpropRegressor, X_reg, y_reg),
    "two-output regression": (BackpropRegressor, X_reg, Y_reg),
}
SETTINGS = {
    "sgd": dict(solver="sgd", learning_rate_init=0.05, momentum=0.9),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}


def _fit_both(name, cls, X, y, params, quiet=True, **fit_params):
    """Fit on numpy (dispatch off) and on namespace ``name`` (dispatch on)."""
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", ConvergenceWarning)
        ref = cls(**params).fit(X, y, **fit_params)
        xp_fit_params = {k: _to(name, v) for k, v in fit_params.items()}
        with sklearn.config_context(array_api_dispatch=True):
            est = cls(**params).fit(_to(name, X), _to(name, y), **xp_fit_params)
    return ref, est


def _assert_same_model(ref, est, namespace):
    assert est.n_iter_ == ref.n_iter_
    for key in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(est, key), getattr(ref, key), strict=True):
            assert _xp.namespace_name(_xp.namespace(a)).endswith(namespace)
            np.testing.assert_allclose(_np(a), b, rtol=RTOL, atol=1e-13)
    if hasattr(ref, "loss_curve_"):
        np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=RTOL)
    np.testing.assert_allclose(
        _np(est.gradient_norms_), ref.gradient_norms_, rtol=1e-8, atol=1e-13
    )


@pytest.mark.parametrize("settings", list(SETTINGS))
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_fit_equals_numpys(namespace, case, settings):
    """Several epochs of sgd and adam: the same weights, losses and outputs."""
    cls, X_, y_ = CASES[case]
    params = dict(
        hidden_layer_sizes=(12, 7), max_iter=8, random_state=0, **SETTINGS[settings]
    )
    ref, est = _fit_both(namespace, cls, X_, y_, params)
    _assert_same_model(ref, est, namespace)
    methods = ["predict"]
    if cls is BackpropClassifier:
        methods += ["predict_proba", "predict_log_proba", "decision_function"]
    with sklearn.config_context(array_api_dispatch=True):
        X_x = _to(namespace, X_)
        for method in methods:
            out = getattr(est, method)(X_x)
            assert type(out) is type(X_x), method
            np.testing.assert_allclose(
                _np(out), getattr(ref, method)(X_), rtol=RTOL, atol=1e-12
            )
        score = est.score(X_x, _to(namespace, y_))
    assert isinstance(score, float)
    # scikit-learn's accuracy_score (ClassifierMixin.score) averages torch's
    # integer labels in float32; r2_score and array-api-strict keep float64.
    exact = cls is BackpropRegressor or namespace == "array_api_strict"
    assert score == pytest.approx(ref.score(X_, y_), rel=RTOL if exact else 1e-6)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_weights_early_stopping_and_class_weight_equal_numpys(namespace):
    params = dict(
        hidden_layer_sizes=(10,),
        max_iter=15,
        random_state=0,
        early_stopping=True,
        n_iter_no_change=3,
        class_weight="balanced",
        learning_rate_init=0.02,
    )
    ref, est = _fit_both(
        namespace, BackpropClassifier, X, y_class, params, sample_weight=SW
    )
    _assert_same_model(ref, est, namespace)
    np.testing.assert_allclose(est.validation_scores_, ref.validation_scores_)
    np.testing.assert_allclose(
        est.validation_loss_curve_, ref.validation_loss_curve_, rtol=RTOL
    )
    assert est.best_validation_score_ == pytest.approx(ref.best_validation_score_)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["multiclass", "two-output regression"])
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_lbfgs_runs_on_the_host_and_equals_numpys(namespace, case):
    cls, X_, y_ = CASES[case]
    params = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, random_state=0)
    ref, est = _fit_both(namespace, cls, X_, y_, params)
    _assert_same_model(ref, est, namespace)
    assert est.loss_ == pytest.approx(ref.loss_, rel=RTOL)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_float32_and_parametric_activations_stay_in_the_namespace(namespace, dtype):
    params = dict(
        hidden_layer_sizes=(9, 5),
        activation=["tanh", PReLU()],
        max_iter=5,
        random_state=0,
    )
    ref, est = _fit_both(
        namespace, BackpropClassifier, X.astype(dtype), y_class, params
    )
    xp = _module(namespace)
    assert est.coefs_[0].dtype == getattr(xp, dtype)
    assert est.activation_params_[1] is not None
    assert type(est.activation_params_[1]) is type(est.coefs_[0])
    rtol = RTOL if dtype == "float64" else 1e-5
    for a, b in zip(
        est.activation_params_[1:], ref.activation_params_[1:], strict=True
    ):
        np.testing.assert_allclose(_np(a), b, rtol=rtol)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_partial_fit_and_warm_start_continue_in_the_namespace(namespace, dispatch):
    params = dict(hidden_layer_sizes=(8,), random_state=0, max_iter=3)
    with sklearn.config_context(array_api_dispatch=False):
        ref = BackpropClassifier(**params)
        for _ in range(3):
            ref.partial_fit(X, y_class, classes=[0, 1, 2])
    est = BackpropClassifier(**params)
    for _ in range(3):
        est.partial_fit(_to(namespace, X), _to(namespace, y_class), classes=[0, 1, 2])
    for a, b in zip(est.coefs_, ref.coefs_, strict=True):
        np.testing.assert_allclose(_np(a), b, rtol=RTOL)
    with pytest.warns(ConvergenceWarning):
        est.set_params(warm_start=True).fit(_to(namespace, X), _to(namespace, y_class))
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 6
    assert est.gradient_norms_.shape == (6, 2)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_string_labels_come_back_as_numpy(namespace, dispatch):
    labels = np.array(["cat", "dog", "eel"])[y_class]
    est = BackpropClassifier((8,), max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(_to(namespace, X), labels)
    pred = est.predict(_to(namespace, X))
    assert isinstance(pred, np.ndarray) and set(pred) <= {"cat", "dog", "eel"}
    proba = est.predict_proba(_to(namespace, X))
    assert type(proba) is type(_to(namespace, X))
    assert est.score(_to(namespace, X), labels) == np.mean(pred == labels)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_another_namespace_at_predict_is_refused(namespace):
    est = BackpropRegressor(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    with (
        sklearn.config_context(array_api_dispatch=True),
        pytest.warns(ConvergenceWarning),
    ):
        est.fit(_to(namespace, X_reg), _to(namespace, y_reg))
    state = dict(vars(est))
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match=r"BackpropRegressor.predict\(\) must use"):
            est.predict(X_reg)
        with pytest.raises(ValueError, match="scipy sparse matrix"):
            est.predict(sp.csr_matrix(X_reg))
        with pytest.raises(ValueError, match=r"\.fit\(\) must use the same namespace"):
            est.set_params(warm_start=True).fit(X_reg, y_reg)
    # Without dispatch every input is numpy: the error says how to move the model.
    with pytest.raises(ValueError, match="array_api_dispatch is off.*move_to"):
        est.predict(X_reg)
    assert est.get_params()["warm_start"] is True
    est.set_params(warm_start=False)
    # The failed calls left every attribute as it was (the optimizer as an
    # equal copy: a failed call restores a copy of its state).
    optimizer = state.pop("_optimizer")
    for key, value in state.items():
        assert vars(est)[key] is value, key
    np.testing.assert_array_equal(_np(est._optimizer.m), _np(optimizer.m))


def test_numpy_model_refuses_another_namespace_under_dispatch(dispatch):
    est = BackpropRegressor(
        hidden_layer_sizes=(6,), solver="lbfgs", random_state=0
    ).fit(X_reg, y_reg)
    with pytest.raises(ValueError, match="weights are numpy arrays"):
        est.predict(xps.asarray(X_reg))
    # numpy input keeps working under dispatch.
    np.testing.assert_array_equal(est.predict(X_reg), move_to(est).predict(X_reg))


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_move_to_numpy_and_back(namespace):
    """A model fitted in another namespace, moved to numpy, pickles and predicts."""
    params = dict(hidden_layer_sizes=(8,), max_iter=4, random_state=0)
    ref, est = _fit_both(namespace, BackpropClassifier, X, y_class, params)
    host = move_to(est)
    assert type(est.coefs_[0]) is not np.ndarray  # the original is untouched
    assert all(type(a) is np.ndarray for a in host.coefs_ + host.intercepts_)
    assert type(host.gradient_norms_) is np.ndarray
    restored = pickle.loads(pickle.dumps(host))
    np.testing.assert_allclose(restored.predict_proba(X), ref.predict_proba(X), RTOL)
    # And back: the same predictions in the namespace; training continues
    # exactly (the optimizer's moments moved too).
    back = move_to(restored, namespace)
    with sklearn.config_context(array_api_dispatch=True):
        X_x, y_x = _to(namespace, X), _to(namespace, y_class)
        np.testing.assert_allclose(
            _np(back.predict_proba(X_x)), ref.predict_proba(X), rtol=RTOL
        )
        back.partial_fit(X_x, y_x)
        est.partial_fit(X_x, y_x)
    ref.partial_fit(X, y_class)
    for a, b, c in zip(back.coefs_, est.coefs_, ref.coefs_, strict=True):
        np.testing.assert_allclose(_np(a), _np(b), rtol=RTOL)
        np.testing.assert_allclose(_np(a), c, rtol=RTOL)


def test_move_to_needs_a_fitted_model():
    with pytest.raises(ValueError, match="needs a fitted model"):
        move_to(BackpropClassifier(), "array_api_strict")


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_divergence_in_a_fresh_fit_raises_and_leaves_it_unfitted(namespace, dispatch):
    est = BackpropRegressor(hidden_layer_sizes=(4,), solver="sgd", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Solver produced non-finite"):
            est.fit(_to(namespace, X_reg * 1e150), _to(namespace, y_reg))
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_divergence_after_finite_epochs_keeps_the_same_weights_as_numpy(namespace):
    """Full-batch steps far too large: both stop, warn and keep the same epoch."""
    params = dict(
        hidden_layer_sizes=(4,),
        activation="identity",
        solver="sgd",
        learning_rate_init=0.1,
        momentum=0.0,
        batch_size=90,
        shuffle=False,
        max_iter=30,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref, est = _fit_both(
            namespace, BackpropRegressor, X_reg * 1e3, y_reg, params, quiet=False
        )
    diverged = [str(w.message) for w in caught if "diverged" in str(w.message)]
    assert len(diverged) == 2 and diverged[0] == diverged[1], diverged
    _assert_same_model(ref, est, namespace)
    with sklearn.config_context(array_api_dispatch=True):
        assert _xp.all_finite(est.predict(_to(namespace, X_reg * 1e3)))


@pytest.mark.slow
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_check_gradient_in_the_namespace(namespace, dispatch):
    est = BackpropClassifier((5,), activation="tanh", random_state=0, alpha=0.1)
    with sklearn.config_context(array_api_dispatch=False):
        ref = check_gradient(est, X[:20], y_class[:20], sample_weight=SW[:20])
    err = check_gradient(
        est,
        _to(namespace, X[:20]),
        _to(namespace, y_class[:20]),
        sample_weight=_to(namespace, SW[:20]),
    )
    # Both at the finite differences' rounding level (their exact values are
    # that rounding, which differs with the summation order).
    assert ref < 1e-6 and err < 1e-6


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_callbacks_see_host_figures(namespace, dispatch):
    seen = []

    class Record:
        def on_epoch_end(self, estimator, logs):
            seen.append((logs["loss"], logs["gradient_norms"]))

    est = BackpropRegressor(
        hidden_layer_sizes=(6,), max_iter=3, random_state=0, callbacks=Record()
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(_to(namespace, X_reg), _to(namespace, y_reg))
    assert len(seen) == 3
    assert all(isinstance(loss, float) for loss, _ in seen)
    assert all(type(norms) is np.ndarray for _, norms in seen)


def test_sparse_input_under_dispatch_trains_on_numpy(dispatch):
    """Sparse input is numpy-only: under dispatch it fits with numpy, as before."""
    est = BackpropClassifier((6,), max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(sp.csr_matrix(X), xps.asarray(y_class))
    assert type(est.coefs_[0]) is np.ndarray
    assert type(est.predict(sp.csr_matrix(X))) is np.ndarray


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_an_activation_written_for_any_namespace(namespace, dispatch):
    from skbackprop import Activation

    class Swish(Activation):
        """s·σ(s), written once for every namespace."""

        def forward(self, s):
            xp = _xp.namespace(s)
            return s / (1 + xp.exp(-s))

        def derivative(self, s, o):
            xp = _xp.namespace(s)
            sig = 1 / (1 + xp.exp(-s))
            return sig + o * (1 - sig)

    params = dict(hidden_layer_sizes=(7,), activation=Swish(), max_iter=4)
    with sklearn.config_context(array_api_dispatch=False):
        ref, est = _fit_both(
            namespace, BackpropRegressor, X_reg, y_reg, {**params, "random_state": 0}
        )
    _assert_same_model(ref, est, namespace)


def test_gradient_norm_display_of_a_model_fitted_in_another_namespace(dispatch):
    import matplotlib

    matplotlib.use("Agg")
    from skbackprop.plotting import GradientNormDisplay

    est = BackpropRegressor(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(xps.asarray(X_reg), xps.asarray(y_reg))
    display = GradientNormDisplay.from_estimator(est)
    np.testing.assert_array_equal(display.gradient_norms, _np(est.gradient_norms_))


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_numpy_only_activation_is_refused_with_advice(namespace, dispatch):
    from skbackprop import Activation

    class NumpyTanh(Activation):
        def forward(self, s):
            return np.tanh(np.asarray(s))

        def derivative(self, s, o):
            return 1 - np.asarray(o) ** 2

    est = BackpropRegressor(hidden_layer_sizes=(4,), activation=NumpyTanh())
    with pytest.raises(TypeError, match="xp = array_namespace"):
        est.fit(_to(namespace, X_reg), _to(namespace, y_reg))
    assert not hasattr(est, "coefs_")
    # On numpy it trains as always.
    with (
        sklearn.config_context(array_api_dispatch=False),
        pytest.warns(ConvergenceWarning),
    ):
        est.set_params(max_iter=2).fit(X_reg, y_reg)


# Fitted on a DataFrame, trained on further with the namespace's arrays, which
# carry no column names: scikit-learn's feature-names warning is expected.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_move_to_copies_and_keeps_feature_names_on_the_host(namespace):
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = BackpropClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(frame, y_class)
    moved = move_to(est, namespace)
    assert moved.feature_names_in_ is est.feature_names_in_
    assert type(moved._optimizer.m) is not np.ndarray
    # No memory shared: training the copy leaves the original as it was.
    before = [c.copy() for c in est.coefs_], est._optimizer.m.copy()
    with sklearn.config_context(array_api_dispatch=True):
        moved.partial_fit(_to(namespace, X), _to(namespace, y_class))
    for a, b in zip(est.coefs_, before[0], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(est._optimizer.m, before[1])
    back = move_to(moved, np)
    assert type(back.coefs_[0]) is np.ndarray
    assert not np.shares_memory(back.coefs_[0], est.coefs_[0])


# ------------------------------------------- complex and autograd-tracked input
def _complex(name, a):
    if name == "numpy":
        return a + 1j * a
    return _module(name).asarray(a + 1j * a)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict"])
@pytest.mark.parametrize("namespace", ["numpy", *NAMESPACES])
def test_complex_x_is_refused_in_every_namespace(namespace, method, dispatch):
    # torch cast complex X to real (dropping the imaginary part, with only its
    # own UserWarning); every namespace must refuse it as numpy's does.
    to = (lambda a: a) if namespace == "numpy" else (lambda a: _to(namespace, a))
    est = BackpropRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(to(X_reg), to(y_reg))
    before = [_np(c).copy() for c in est.coefs_]
    call = getattr(est, method)
    args = (_complex(namespace, X_reg),) + (() if method == "predict" else (to(y_reg),))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no cast warning either
        with pytest.raises(ValueError, match="Complex data not supported"):
            call(*args)
    for a, b in zip(before, est.coefs_, strict=True):
        np.testing.assert_array_equal(a, _np(b))


@pytest.mark.parametrize("dispatch_on", [True, False])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_requires_grad_x_is_detached_and_outputs_never_join_its_graph(
    kind, dispatch_on
):
    torch = pytest.importorskip("torch")
    cls, Xn, yn = CASES["multiclass" if kind == "classifier" else "regression"]
    params = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    X_grad = torch.asarray(Xn).requires_grad_(True)
    y_in = torch.asarray(yn) if dispatch_on else yn
    dispatch = sklearn.config_context(array_api_dispatch=dispatch_on)
    with dispatch, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = cls(**params).fit(X_grad, y_in)
        ref = cls(**params).fit(X_grad.detach(), y_in)
        est.partial_fit(X_grad, y_in)
        ref.partial_fit(X_grad.detach(), y_in)
        methods = ["predict", "decision_function", "predict_proba"]
        methods = [m for m in methods if hasattr(est, m)] + ["score"]
        for method in methods:
            args = (X_grad, y_in) if method == "score" else (X_grad,)
            out = getattr(est, method)(*args)
            expected = getattr(ref, method)(X_grad.detach(), *args[1:])
            if method == "score":
                assert out == expected
                continue
            if dispatch_on:
                assert not out.requires_grad and out.grad_fn is None, method
            np.testing.assert_array_equal(_np(out), _np(expected))
    for a, b in zip(est.coefs_, ref.coefs_, strict=True):
        np.testing.assert_array_equal(_np(a), _np(b))
    assert X_grad.grad is None


class _XpLogSquared(Loss):
    """Squared error of ``log(p + 3)`` in any namespace: NaN for p < -3."""

    def value(self, y, p, sample_weight=None):
        xp = _xp.namespace(p)
        return reduce_loss(0.5 * (xp.log(p + 3) - xp.log(y + 3)) ** 2, sample_weight)

    def output_delta(self, y, p, out=None):
        xp = _xp.namespace(p)
        return (xp.log(p + 3) - xp.log(y + 3)) / (p + 3)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_user_loss_fault_is_named_in_every_namespace(namespace, dispatch):
    # The check stays on the device during the epoch (no synchronisation per
    # batch) and is read when the epoch blows up.
    est = BackpropRegressor(
        loss=_XpLogSquared(),
        solver="sgd",
        learning_rate_init=0.5,
        hidden_layer_sizes=(6,),
        random_state=0,
    )
    y = -2.5 + 0.1 * X_reg[:, 0]
    with pytest.raises(ValueError, match=r"_XpLogSquared\.\w+ returned NaN or inf"):
        est.fit(_to(namespace, X_reg), _to(namespace, y))
    assert not hasattr(est, "coefs_")
