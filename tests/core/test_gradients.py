"""Backprop gradients against central finite differences (``check_gradient``).

Every activation × loss × depth, with an L2 penalty and random positive sample
weights, in float64 on tiny data. Further tests show that the check covers PReLU
slopes at fitted values, leaves the estimator alone, and fails on a wrong derivative.
"""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skbackprop import (
    ELU,
    Activation,
    BackpropClassifier,
    BackpropRegressor,
    LeakyReLU,
    PReLU,
    check_gradient,
)
from skbackprop.activations import ACTIVATIONS

N_SAMPLES, N_FEATURES = 12, 4
DEPTHS = [(5,), (5, 4), (5, 4, 3)]
TOL = 1e-6
# Central differences with step ε carry a rounding error of about
# ε_mach·|loss| / ε. check_gradient scales each parameter array by its own largest
# gradient, and a deep logistic network has first-layer intercept gradients near
# 1e-4, so the default ε = 1e-6 sits at the noise floor of a 1e-6 tolerance
# (1.1e-6 for logistic, binary, depth 3). ε = 1e-5 is close to the optimal step
# ε_mach^(1/3) and leaves truncation error (~ε²) far below the tolerance.
EPSILON = 1e-5


def _data():
    """Tiny regression/classification inputs, weights and targets of every kind."""
    rng = np.random.RandomState(0)
    X = rng.randn(N_SAMPLES, N_FEATURES)
    sample_weight = rng.uniform(0.5, 2.0, N_SAMPLES)
    y_multilabel = (rng.rand(N_SAMPLES, 3) > 0.5).astype(int)
    # Every label column must hold both values for a real multilabel problem.
    y_multilabel[:2] = [[0, 1, 0], [1, 0, 1]]
    targets = {
        "squared_error": rng.randn(N_SAMPLES),
        "squared_error_2_outputs": rng.randn(N_SAMPLES, 2),
        "poisson": rng.poisson(2.0, N_SAMPLES).astype(float),
        "binary": rng.permutation(np.tile([0, 1], N_SAMPLES // 2)),
        "multiclass": rng.permutation(np.tile([0, 1, 2], N_SAMPLES // 3)),
        "multilabel": y_multilabel,
    }
    return X, sample_weight, targets


X, SAMPLE_WEIGHT, TARGETS = _data()


def _estimator(target, **params):
    """An alpha > 0 estimator of the kind that ``target`` needs."""
    params = {"alpha": 0.1, "random_state": 0, **params}
    if target.startswith("squared_error"):
        return BackpropRegressor(**params)
    if target == "poisson":
        return BackpropRegressor(loss="poisson", **params)
    return BackpropClassifier(**params)


def _out_activation(target):
    return {
        "squared_error": "identity",
        "squared_error_2_outputs": "identity",
        "poisson": "exp",
        "binary": "logistic",
        "multiclass": "softmax",
        "multilabel": "logistic",
    }[target]


class Swish(Activation):
    """design.md's user-defined activation: ``s·σ(s)``."""

    def forward(self, s):
        return s / (1 + np.exp(-s))

    def derivative(self, s, o):
        sig = 1 / (1 + np.exp(-s))
        return sig + o * (1 - sig)


class SwishWrongDerivative(Swish):
    """Swish whose derivative is off by a factor 1.5."""

    def derivative(self, s, o):
        return 1.5 * super().derivative(s, o)


class PReLUWrongSlopeGradient(PReLU):
    """PReLU whose slope gradient is doubled; its derivative in s is right."""

    def parameter_gradient(self, s, o, theta, grad_o):
        return 2.0 * super().parameter_gradient(s, o, theta, grad_o)


class PReLUStaleSlope(PReLU):
    """PReLU whose derivative uses the initial slope instead of the learned one."""

    def derivative(self, s, o, theta):
        return np.where(s >= 0, 1.0, self.init)


def test_targets_cover_every_output_kind():
    """The target fixtures exercise identity, exp, logistic and softmax outputs."""
    for target, y in TARGETS.items():
        est = _estimator(target, hidden_layer_sizes=(3,), max_iter=1)
        with pytest.warns(ConvergenceWarning):
            est.fit(X, y)
        assert est.out_activation_ == _out_activation(target)
    assert TARGETS["squared_error_2_outputs"].shape == (N_SAMPLES, 2)
    assert np.all(TARGETS["poisson"] >= 0)
    assert set(TARGETS["multilabel"].min(axis=0)) == {0}
    assert set(TARGETS["multilabel"].max(axis=0)) == {1}


@pytest.mark.parametrize("hidden_layer_sizes", DEPTHS, ids=["d1", "d2", "d3"])
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_gradient_matches_finite_differences(activation, target, hidden_layer_sizes):
    """Backprop equals central differences for this activation, loss and depth."""
    est = _estimator(
        target, hidden_layer_sizes=hidden_layer_sizes, activation=activation
    )
    error = check_gradient(
        est, X, TARGETS[target], sample_weight=SAMPLE_WEIGHT, epsilon=EPSILON
    )
    assert error < TOL


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize(
    "activation",
    [
        ["tanh", "prelu", "gelu"],
        ["prelu", ELU(alpha=0.5), "softplus"],
        ["logistic", PReLU(init=0.1), Swish()],
        [LeakyReLU(alpha=0.2), "identity", "relu"],
    ],
    ids=repr,
)
def test_gradient_with_per_layer_activations(activation, target):
    """A different activation in every hidden layer still gives exact gradients."""
    est = _estimator(target, hidden_layer_sizes=(5, 4, 3), activation=activation)
    error = check_gradient(
        est, X, TARGETS[target], sample_weight=SAMPLE_WEIGHT, epsilon=EPSILON
    )
    assert error < TOL


@pytest.mark.parametrize("target", ["squared_error", "multiclass"])
def test_gradient_on_sparse_input(target):
    """A CSR ``X`` gives the same exact gradients as a dense one."""
    est = _estimator(target, hidden_layer_sizes=(5, 4), activation=["prelu", "tanh"])
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    error = check_gradient(
        est, X_sparse, TARGETS[target], sample_weight=SAMPLE_WEIGHT, epsilon=EPSILON
    )
    assert error < TOL


def _fitted(estimator_cls, activation, y, **params):
    """An estimator fitted for a few epochs on 40 rows, with the rows and weights."""
    rng = np.random.RandomState(1)
    X_fit = rng.randn(40, N_FEATURES)
    sw = rng.uniform(0.5, 2.0, 40)
    y = y(X_fit)
    est = estimator_cls(
        hidden_layer_sizes=(5, 4),
        activation=activation,
        alpha=0.1,
        learning_rate_init=0.05,
        max_iter=20,
        random_state=0,
        **params,
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(X_fit, y, sample_weight=sw)
    return est, X_fit, y, sw


FITTED_CASES = {
    "classifier": (BackpropClassifier, lambda X: (X[:, 0] + X[:, 1] > 0).astype(int)),
    "regressor": (BackpropRegressor, lambda X: np.sin(X[:, 0]) + X[:, 2]),
}


@pytest.mark.parametrize("case", list(FITTED_CASES))
@pytest.mark.parametrize("activation", [["tanh", "prelu"], ["prelu", "gelu"]], ids=repr)
def test_gradient_on_fitted_estimator_with_learned_prelu(case, activation):
    """At trained weights, with PReLU slopes moved off 0.25, backprop is still exact."""
    estimator_cls, make_y = FITTED_CASES[case]
    est, X_fit, y, sw = _fitted(estimator_cls, activation, make_y)
    prelu_layer = activation.index("prelu")
    slopes = est.activation_params_[prelu_layer]
    assert slopes.shape == (1, est.hidden_layer_sizes[prelu_layer])
    assert not np.any(np.isclose(slopes, 0.25, rtol=0, atol=1e-4))
    assert check_gradient(est, X_fit, y, sample_weight=sw) < TOL


def test_check_evaluates_at_fitted_slopes():
    """A derivative that ignores learned slopes passes at init but fails once fitted."""
    estimator_cls, make_y = FITTED_CASES["classifier"]
    est, X_fit, y, sw = _fitted(estimator_cls, ["tanh", PReLUStaleSlope()], make_y)
    assert not np.any(np.isclose(est.activation_params_[1], 0.25, rtol=0, atol=1e-4))
    unfitted = BackpropClassifier(
        hidden_layer_sizes=(5, 4),
        activation=["tanh", PReLUStaleSlope()],
        alpha=0.1,
        random_state=0,
    )
    assert check_gradient(unfitted, X_fit, y, sample_weight=sw) < TOL
    assert check_gradient(est, X_fit, y, sample_weight=sw) > 1e-2


@pytest.mark.parametrize("case", list(FITTED_CASES))
def test_check_gradient_does_not_modify_fitted_estimator(case):
    """Checking a fitted estimator leaves its weights, slopes and state untouched."""
    estimator_cls, make_y = FITTED_CASES[case]
    est, X_fit, y, sw = _fitted(estimator_cls, ["prelu", "tanh"], make_y)
    before = {
        name: copy.deepcopy(getattr(est, name))
        for name in (
            "coefs_",
            "intercepts_",
            "activation_params_",
            "loss_curve_",
            "n_iter_",
            "t_",
        )
    }
    params_before = est.get_params(deep=False)
    predictions = est.predict(X_fit)
    coef_arrays = list(est.coefs_)

    check_gradient(est, X_fit, y, sample_weight=sw)

    for name in ("coefs_", "intercepts_"):
        for old, new in zip(before[name], getattr(est, name), strict=True):
            np.testing.assert_array_equal(new, old)
    np.testing.assert_array_equal(
        est.activation_params_[0], before["activation_params_"][0]
    )
    assert est.activation_params_[1] is None
    assert est.loss_curve_ == before["loss_curve_"]
    assert (est.n_iter_, est.t_) == (before["n_iter_"], before["t_"])
    assert all(a is b for a, b in zip(est.coefs_, coef_arrays, strict=True))
    assert est.get_params(deep=False) == params_before
    assert est.warm_start is False
    np.testing.assert_array_equal(est.predict(X_fit), predictions)


@pytest.mark.parametrize("target", ["squared_error", "multiclass"])
def test_check_gradient_leaves_unfitted_estimator_unfitted(target):
    """Checking an unfitted estimator neither fits it nor changes its parameters."""
    est = _estimator(target, hidden_layer_sizes=(5, 4), activation=["prelu", "tanh"])
    params_before = est.get_params(deep=False)
    check_gradient(est, X, TARGETS[target], sample_weight=SAMPLE_WEIGHT)
    for name in (
        "coefs_",
        "intercepts_",
        "activation_params_",
        "activations_",
        "n_features_in_",
        "n_outputs_",
        "classes_",
        "_loss",
    ):
        assert not hasattr(est, name), name
    assert est.get_params(deep=False) == params_before


@pytest.mark.parametrize("target", ["squared_error", "binary", "multiclass", "poisson"])
def test_wrong_derivative_is_detected(target):
    """A user activation with a derivative off by a factor 1.5 fails the check."""
    y = TARGETS[target]
    right = _estimator(target, hidden_layer_sizes=(5,), activation=Swish())
    wrong = _estimator(
        target, hidden_layer_sizes=(5,), activation=SwishWrongDerivative()
    )
    assert check_gradient(right, X, y, sample_weight=SAMPLE_WEIGHT) < TOL
    assert check_gradient(wrong, X, y, sample_weight=SAMPLE_WEIGHT) > 1e-2


def test_wrong_slope_gradient_is_detected():
    """A doubled PReLU slope gradient fails the check: slopes are covered by it."""
    right = _estimator(
        "multiclass", hidden_layer_sizes=(5, 4), activation=["tanh", PReLU()]
    )
    wrong = _estimator(
        "multiclass",
        hidden_layer_sizes=(5, 4),
        activation=["tanh", PReLUWrongSlopeGradient()],
    )
    y = TARGETS["multiclass"]
    assert check_gradient(right, X, y, sample_weight=SAMPLE_WEIGHT) < TOL
    assert check_gradient(wrong, X, y, sample_weight=SAMPLE_WEIGHT) > 1e-2


def test_float32_fitted_estimator_is_refused():
    """A network fitted in float32 is refused with a message naming the dtype."""
    est = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    X32 = X.astype(np.float32)
    with pytest.warns(ConvergenceWarning):
        est.fit(X32, TARGETS["squared_error"])
    with pytest.raises(ValueError, match="float64 network.*float32"):
        check_gradient(est, X32, TARGETS["squared_error"])


def test_fitted_on_dataframe_checks_without_feature_name_warning():
    """A DataFrame-fitted estimator is checked on that DataFrame without warnings."""
    pd = pytest.importorskip("pandas")
    estimator_cls, make_y = FITTED_CASES["regressor"]
    est, X_fit, y, sw = _fitted(estimator_cls, ["prelu", "tanh"], make_y)
    frame = pd.DataFrame(X_fit, columns=[f"x{i}" for i in range(N_FEATURES)])
    with pytest.warns(ConvergenceWarning):
        est.fit(frame, y, sample_weight=sw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        error = check_gradient(est, frame, y, sample_weight=sw)
    assert error < TOL


@pytest.mark.parametrize(
    "estimator, match",
    [
        (
            "pipeline",
            r"BackpropClassifier or BackpropRegressor; got a Pipeline.*pipe\[-1\]",
        ),
        (
            "sklearn_mlp",
            r"BackpropClassifier or BackpropRegressor; got a MLPRegressor.*"
            r"BackpropRegressor\(\*\*mlp.get_params\(\)\)",
        ),
        ("not_an_estimator", r"BackpropClassifier or BackpropRegressor; got a str"),
    ],
)
def test_check_gradient_refuses_what_it_cannot_check_with_advice(estimator, match):
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = np.random.RandomState(0).standard_normal((10, 3)), np.arange(10.0)
    est = {
        "pipeline": make_pipeline(StandardScaler(), BackpropRegressor()),
        "sklearn_mlp": MLPRegressor(),
        "not_an_estimator": "BackpropRegressor",
    }[estimator]
    with pytest.raises(TypeError, match=match):
        check_gradient(est, X, y)


@pytest.mark.parametrize("epsilon", ["1e-6", None, True, [1e-6], 1j])
def test_check_gradient_refuses_an_epsilon_that_is_not_a_real_number(epsilon):
    X, y = np.random.RandomState(0).standard_normal((10, 3)), np.arange(10.0)
    with pytest.raises(TypeError, match=r"epsilon must be a real number.*1e-6"):
        check_gradient(BackpropRegressor(), X, y, epsilon=epsilon)


def test_check_gradient_refuses_complex_x_instead_of_dropping_its_imaginary_part():
    X = np.random.RandomState(0).standard_normal((10, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's ComplexWarning was all there was
        with pytest.raises(ValueError, match="Complex data not supported"):
            check_gradient(BackpropRegressor(), X + 1j * X, np.arange(10.0))
