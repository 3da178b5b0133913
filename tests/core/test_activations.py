"""Activation objects: formulas, derivatives, stability, dtypes, names, estimator use.

Forward passes are compared with the lecture's activation table written out with
:mod:`math` (independent of the numpy implementation); derivatives with central
differences of the forward pass.
"""

import math
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skbackprop import (
    ELU,
    GELU,
    Activation,
    BackpropClassifier,
    BackpropRegressor,
    Identity,
    LeakyReLU,
    Logistic,
    ParametricActivation,
    PReLU,
    ReLU,
    Softplus,
    Tanh,
)
from skbackprop.activations import ACTIVATIONS, get_activation
from tests._builtins import ACTIVATION_CLASSES, ACTIVATION_NAMES

# Slopes of a PReLU layer with six units: each unit its own slope, one negative
# and one zero among them.
PRELU_SLOPES = np.array([[0.1, 0.25, 0.5, -0.2, 1.3, 0.0]])


def _prelu_ref(x, a):
    return x if x >= 0 else a * x


def _elu_ref(alpha):
    return lambda x: x if x > 0 else alpha * (math.exp(x) - 1)


def _leaky_ref(alpha):
    return lambda x: x if x >= 0 else alpha * x


# (activation, scalar reference formula from the lecture's table)
REFERENCES = {
    "identity": (Identity(), lambda x: x),
    "logistic": (Logistic(), lambda x: 1 / (1 + math.exp(-x))),
    "tanh": (
        Tanh(),
        lambda x: (math.exp(x) - math.exp(-x)) / (math.exp(x) + math.exp(-x)),
    ),
    "relu": (ReLU(), lambda x: max(0.0, x)),
    "leaky_relu": (LeakyReLU(alpha=0.01), _leaky_ref(0.01)),
    "leaky_relu_0.2": (LeakyReLU(alpha=0.2), _leaky_ref(0.2)),
    "elu": (ELU(alpha=1.0), _elu_ref(1.0)),
    "elu_0.5": (ELU(alpha=0.5), _elu_ref(0.5)),
    "gelu": (GELU(), lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2)))),
    "softplus": (Softplus(), lambda x: math.log(1 + math.exp(x))),
}


def _forward(act, s):
    """Forward of any activation; PReLU gets the six per-unit slopes."""
    if isinstance(act, ParametricActivation):
        return act.forward(s, PRELU_SLOPES.astype(s.dtype))
    return act.forward(s)


def _derivative(act, s, o):
    if isinstance(act, ParametricActivation):
        return act.derivative(s, o, PRELU_SLOPES.astype(s.dtype))
    return act.derivative(s, o)


def _signals(dtype=np.float64):
    """Moderate signals of shape (7, 6), none within 1e-3 of the kinks at 0."""
    rng = np.random.RandomState(0)
    s = rng.uniform(-6, 6, (7, 6))
    s[np.abs(s) < 1e-3] = 0.5
    return s.astype(dtype)


ALL_BUILTINS = [*(act for act, _ in REFERENCES.values()), PReLU()]
ALL_IDS = [*REFERENCES, "prelu"]


def test_the_formula_tables_cover_every_builtin():
    """A new built-in is checked against a formula once the registry lists it."""
    assert {type(act) for act in ALL_BUILTINS} == set(ACTIVATION_CLASSES)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_forward_matches_lecture_formula(name):
    """forward equals the lecture's formula on moderate signals, zero included."""
    act, ref = REFERENCES[name]
    s = np.concatenate([_signals(), np.zeros((1, 6))])
    expected = np.vectorize(ref)(s)
    np.testing.assert_allclose(act.forward(s), expected, rtol=1e-12, atol=1e-15)


def test_prelu_forward_matches_lecture_formula():
    """PReLU's forward is ``x`` for x >= 0 and ``a·x`` below, with each unit's slope."""
    s = np.concatenate([_signals(), np.zeros((1, 6))])
    expected = np.array(
        [
            [_prelu_ref(x, a) for x, a in zip(row, PRELU_SLOPES[0], strict=True)]
            for row in s
        ]
    )
    np.testing.assert_array_equal(PReLU().forward(s, PRELU_SLOPES), expected)


def test_sigmoid_and_logistic_agree_with_tanh_identity():
    """Logistic satisfies σ(x) = (1 + tanh(x/2)) / 2, tying two table rows together."""
    s = _signals()
    np.testing.assert_allclose(
        Logistic().forward(s), 0.5 * (1 + Tanh().forward(s / 2)), rtol=1e-14
    )


@pytest.mark.parametrize("act", ALL_BUILTINS, ids=ALL_IDS)
def test_derivative_matches_central_differences(act):
    """derivative(s, θ(s)) equals central differences of forward away from kinks."""
    s = _signals()
    h = 1e-6
    numeric = (_forward(act, s + h) - _forward(act, s - h)) / (2 * h)
    analytic = _derivative(act, s, _forward(act, s))
    assert analytic.shape == s.shape
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


def test_prelu_parameter_gradient_matches_central_differences():
    """PReLU's slope gradient Σ_rows grad_o·min(s, 0) matches finite differences."""
    act = PReLU()
    s = _signals()
    grad_o = np.random.RandomState(1).randn(*s.shape)
    o = act.forward(s, PRELU_SLOPES)
    analytic = act.parameter_gradient(s, o, PRELU_SLOPES, grad_o)
    assert analytic.shape == PRELU_SLOPES.shape
    h = 1e-6
    numeric = np.empty_like(PRELU_SLOPES)
    for j in range(PRELU_SLOPES.shape[1]):
        up, down = PRELU_SLOPES.copy(), PRELU_SLOPES.copy()
        up[0, j] += h
        down[0, j] -= h
        numeric[0, j] = np.sum(grad_o * (act.forward(s, up) - act.forward(s, down)))
        numeric[0, j] /= 2 * h
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("act", ALL_BUILTINS, ids=ALL_IDS)
def test_forward_and_derivative_do_not_modify_inputs(act):
    """Neither forward nor derivative writes into ``s`` or ``o`` (the contract)."""
    s = _signals()
    s_copy = s.copy()
    o = _forward(act, s)
    o_copy = o.copy()
    _derivative(act, s, o)
    np.testing.assert_array_equal(s, s_copy)
    np.testing.assert_array_equal(o, o_copy)
    assert o is not s


# Limits for s → +∞ and s → -∞ of (forward, derivative); "s" means θ(s) = s·factor.
LIMITS = {
    "identity": ((("s", 1), 1.0), (("s", 1), 1.0)),
    "logistic": ((1.0, 0.0), (0.0, 0.0)),
    "tanh": ((1.0, 0.0), (-1.0, 0.0)),
    "relu": ((("s", 1), 1.0), (0.0, 0.0)),
    "leaky_relu": ((("s", 1), 1.0), (("s", 0.01), 0.01)),
    "leaky_relu_0.2": ((("s", 1), 1.0), (("s", 0.2), 0.2)),
    "elu": ((("s", 1), 1.0), (-1.0, 0.0)),
    "elu_0.5": ((("s", 1), 1.0), (-0.5, 0.0)),
    "gelu": ((("s", 1), 1.0), (0.0, 0.0)),
    "softplus": ((("s", 1), 1.0), (0.0, 0.0)),
}


def _expected(limit, s):
    if isinstance(limit, tuple):
        return s * s.dtype.type(limit[1])
    return np.full_like(s, limit)


@pytest.mark.parametrize(
    "dtype, big",
    [
        (np.float64, 1e300),
        (np.float64, 1e5),
        (np.float32, float(np.finfo(np.float32).max)),
        (np.float32, 1e5),
    ],
)
@pytest.mark.parametrize("name", list(LIMITS))
def test_stable_for_huge_signals(name, dtype, big):
    """Huge |s| gives no RuntimeWarning and the exact limits of θ and θ'."""
    act, _ = REFERENCES[name]
    (pos_o, pos_d), (neg_o, neg_d) = LIMITS[name]
    s = np.array([[big, -big, big / 2, -big / 2]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o = act.forward(s)
        d = act.derivative(s, o)
    assert o.dtype == dtype and d.dtype == dtype
    assert np.isfinite(o).all() and np.isfinite(d).all()
    pos, neg = [0, 2], [1, 3]
    np.testing.assert_allclose(o[:, pos], _expected(pos_o, s[:, pos]), rtol=1e-6)
    np.testing.assert_allclose(o[:, neg], _expected(neg_o, s[:, neg]), rtol=1e-6)
    np.testing.assert_allclose(d[:, pos], pos_d, rtol=1e-6)
    np.testing.assert_allclose(d[:, neg], neg_d, rtol=1e-6)


@pytest.mark.parametrize(
    "dtype, big",
    [(np.float64, 1e300), (np.float64, 1e5), (np.float32, 1e38), (np.float32, 1e5)],
)
def test_prelu_stable_for_huge_signals(dtype, big):
    """PReLU at huge |s| is warning-free, finite and exact: s above 0, a·s below."""
    act = PReLU()
    theta = act.init_parameters(4, dtype)
    s = np.array([[big, -big, big / 2, -big / 2]], dtype=dtype)
    grad_o = np.full_like(s, 1 / big)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o = act.forward(s, theta)
        d = act.derivative(s, o, theta)
        g = act.parameter_gradient(s, o, theta, grad_o)
    assert o.dtype == d.dtype == theta.dtype == dtype
    assert np.isfinite(o).all() and np.isfinite(d).all() and np.isfinite(g).all()
    np.testing.assert_allclose(o, s * np.array([1, 0.25, 1, 0.25], dtype=dtype))
    np.testing.assert_array_equal(d, np.array([[1, 0.25, 1, 0.25]], dtype=dtype))
    # Σ_rows grad_o·min(s, 0) = (-big or -big/2) / big per unit.
    np.testing.assert_allclose(g, [[0, -1, 0, -0.5]], rtol=1e-6)


@pytest.mark.parametrize("act", ALL_BUILTINS, ids=ALL_IDS)
def test_float32_preserved_and_accurate(act):
    """float32 signals give float32 outputs and derivatives close to float64 ones."""
    s32 = _signals(np.float32)
    s64 = s32.astype(np.float64)
    o32 = _forward(act, s32)
    d32 = _derivative(act, s32, o32)
    assert o32.dtype == np.float32
    assert d32.dtype == np.float32
    np.testing.assert_allclose(o32, _forward(act, s64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        d32, _derivative(act, s64, _forward(act, s64)), rtol=1e-5, atol=1e-6
    )


def test_prelu_init_parameters_one_slope_per_unit():
    """init_parameters gives shape (1, n_units) filled with ``init`` in the dtype."""
    theta = PReLU(init=0.1).init_parameters(7, np.float32)
    assert theta.shape == (1, 7)
    assert theta.dtype == np.float32
    np.testing.assert_array_equal(theta, np.float32(0.1))
    np.testing.assert_array_equal(PReLU().init_parameters(3, np.float64), 0.25)


# --------------------------------------------------------------------- names
def test_names_map_to_classes():
    """Every name maps to its class ("sigmoid" is Logistic) and back via ``.name``."""
    assert ACTIVATIONS == {
        "identity": Identity,
        "logistic": Logistic,
        "sigmoid": Logistic,
        "tanh": Tanh,
        "relu": ReLU,
        "leaky_relu": LeakyReLU,
        "elu": ELU,
        "gelu": GELU,
        "softplus": Softplus,
        "prelu": PReLU,
    }
    for name, cls in ACTIVATIONS.items():
        act = get_activation(name)
        assert type(act) is cls
        assert ACTIVATIONS[act.name] is cls
    assert get_activation("relu") is not get_activation("relu")


def test_get_activation_passes_instances_through():
    """An Activation instance is returned as is, keeping its parameters."""
    leaky = LeakyReLU(alpha=0.3)
    assert get_activation(leaky) is leaky


def test_get_activation_unknown_name_lists_valid_names():
    """An unknown name raises ValueError naming it and listing the valid names."""
    with pytest.raises(ValueError, match="Unknown activation 'swishy'") as info:
        get_activation("swishy")
    message = str(info.value)
    for name in ACTIVATIONS:
        assert repr(name) in message


@pytest.mark.parametrize("bad", [3, None, np.tanh])
def test_get_activation_wrong_type_raises_type_error(bad):
    """Neither a name nor an Activation raises TypeError saying what was given."""
    with pytest.raises(TypeError, match="activation must be a name") as info:
        get_activation(bad)
    assert type(bad).__name__ in str(info.value)


@pytest.mark.parametrize("estimator_cls", [BackpropClassifier, BackpropRegressor])
def test_estimator_unknown_activation_name_raises(estimator_cls):
    """fit with an unknown activation name raises ValueError listing valid names."""
    X, y = _xor_like()
    with pytest.raises(ValueError, match="'activation' parameter") as info:
        estimator_cls(activation="swishy", max_iter=1).fit(X, y)
    message = str(info.value)
    assert "swishy" in message
    for name in ("relu", "tanh", "leaky_relu", "prelu"):
        assert repr(name) in message


def test_estimator_unknown_name_in_activation_list_raises():
    """An unknown name inside a per-layer list raises ValueError listing valid names."""
    X, y = _xor_like()
    est = BackpropClassifier(hidden_layer_sizes=(3, 3), activation=["relu", "swishy"])
    with pytest.raises(ValueError, match="Unknown activation 'swishy'") as info:
        est.fit(X, y)
    assert "'relu'" in str(info.value) and "'tanh'" in str(info.value)


def test_estimator_non_activation_in_list_raises_type_error():
    """A list entry that is no name and no Activation raises TypeError."""
    X, y = _xor_like()
    est = BackpropClassifier(hidden_layer_sizes=(3, 3), activation=["relu", 3])
    with pytest.raises(TypeError, match="got 3 of type int"):
        est.fit(X, y)


@pytest.mark.parametrize(
    "hidden, activation",
    [
        ((4, 3), ["relu"]),
        ((4, 3), ("relu", "tanh", "gelu")),
        ((4,), ["relu", PReLU()]),
        ((4, 3, 2), [LeakyReLU(), "tanh"]),
    ],
)
@pytest.mark.parametrize("estimator_cls", [BackpropClassifier, BackpropRegressor])
def test_activation_list_of_wrong_length_raises(estimator_cls, hidden, activation):
    """A per-layer list of the wrong length raises ValueError saying both counts."""
    X, y = _xor_like()
    est = estimator_cls(hidden_layer_sizes=hidden, activation=activation)
    expected = (
        f"activation is a list of {len(activation)} entries but there are "
        f"{len(hidden)} hidden layers"
    )
    with pytest.raises(ValueError, match=expected) as info:
        est.fit(X, y)
    assert "one activation per hidden layer" in str(info.value)


# -------------------------------------------------------- sklearn parameters
def test_clone_keeps_activation_parameters():
    """clone of an activation is a new object with the same parameters."""
    for act in (LeakyReLU(alpha=0.2), ELU(alpha=0.5), PReLU(init=0.1)):
        copy = clone(act)
        assert copy is not act
        assert type(copy) is type(act)
        assert copy.get_params() == act.get_params()
    assert clone(LeakyReLU(alpha=0.2)).alpha == 0.2
    assert LeakyReLU().get_params() == {"alpha": 0.01}
    assert ELU().get_params() == {"alpha": 1.0}
    assert PReLU().get_params() == {"init": 0.25}
    assert ReLU().get_params() == {}


def test_estimator_exposes_nested_activation_params():
    """get_params has ``activation__alpha``, set_params changes it, clone keeps it."""
    est = BackpropClassifier(activation=LeakyReLU())
    params = est.get_params()
    assert params["activation__alpha"] == 0.01
    est.set_params(activation__alpha=0.2)
    assert est.activation.alpha == 0.2
    cloned = clone(est)
    assert cloned.activation is not est.activation
    assert cloned.activation.alpha == 0.2
    assert "activation__alpha" not in BackpropClassifier(activation="relu").get_params()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fitted_activations_are_clones_with_the_given_parameters():
    """activations_ copy the user's objects (same parameters, separate objects)."""
    X, y = _xor_like()
    leaky = LeakyReLU(alpha=0.3)
    est = BackpropClassifier(
        hidden_layer_sizes=(4, 3),
        activation=[leaky, "elu"],
        max_iter=2,
        random_state=0,
    ).fit(X, y)
    assert [type(a) for a in est.activations_] == [LeakyReLU, ELU]
    assert est.activations_[0] is not leaky
    assert est.activations_[0].alpha == 0.3
    assert est.activation[0] is leaky and leaky.alpha == 0.3
    single = BackpropClassifier(
        hidden_layer_sizes=(4, 3), activation=leaky, max_iter=2, random_state=0
    ).fit(X, y)
    assert single.activations_[0] is not single.activations_[1]
    assert all(type(a) is LeakyReLU and a.alpha == 0.3 for a in single.activations_)


def test_leaky_alpha_changes_the_fitted_model():
    """The alpha of a LeakyReLU passed to the estimator is the slope actually used."""
    X, y = _xor_like()

    def proba(alpha):
        est = BackpropClassifier(
            hidden_layer_sizes=(6,),
            activation=LeakyReLU(alpha=alpha),
            solver="lbfgs",
            max_iter=5,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.fit(X, y).predict_proba(X)

    assert not np.allclose(proba(0.01), proba(0.5))
    # alpha = 1 makes the network linear in X: same as the identity activation.
    identity = BackpropClassifier(
        hidden_layer_sizes=(6,),
        activation="identity",
        solver="lbfgs",
        max_iter=5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = identity.fit(X, y).predict_proba(X)
    np.testing.assert_allclose(proba(1.0), expected, rtol=1e-10)


# ---------------------------------------------------------------- training
def _xor_like(n=60, seed=0):
    """A small two-class problem that a linear model cannot separate."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    return X, y


class Swish(Activation):
    """design.md's user-defined activation."""

    def forward(self, s):
        return s / (1 + np.exp(-s))

    def derivative(self, s, o):
        sig = 1 / (1 + np.exp(-s))
        return sig + o * (1 - sig)


def test_user_defined_swish_trains_and_predicts():
    """A user's Swish trains a classifier that fits a nonlinear problem."""
    X, y = _xor_like()
    swish = Swish()
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,),
        activation=swish,
        solver="lbfgs",
        max_iter=300,
        random_state=0,
    ).fit(X, y)
    assert type(clf.activations_[0]) is Swish
    assert clf.activations_[0] is not swish
    pred = clf.predict(X)
    assert pred.shape == (len(y),)
    assert set(np.unique(pred)) <= {0, 1}
    assert np.mean(pred == y) >= 0.95
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_prelu_slopes_are_learned_per_unit():
    """PReLU slopes have shape (1, n_units) per layer and move, unit by unit, in fit."""
    X, y = _xor_like()
    clf = BackpropClassifier(
        hidden_layer_sizes=(6, 4, 3),
        activation=["prelu", "tanh", PReLU(init=0.1)],
        learning_rate_init=0.05,
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    first, middle, last = clf.activation_params_
    assert middle is None
    assert first.shape == (1, 6) and last.shape == (1, 3)
    assert not np.any(np.isclose(first, 0.25, rtol=0, atol=1e-4))
    assert not np.any(np.isclose(last, 0.1, rtol=0, atol=1e-4))
    assert len(np.unique(first)) == 6 and len(np.unique(last)) == 3


def test_prelu_init_is_the_starting_slope():
    """PReLU(init=...) sets every starting slope: a negligible step keeps them there."""
    X, y = _xor_like()
    clf = BackpropClassifier(
        hidden_layer_sizes=(5,),
        activation=PReLU(init=0.1),
        solver="sgd",
        learning_rate_init=1e-12,
        momentum=0.0,
        max_iter=1,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    np.testing.assert_allclose(clf.activation_params_[0], 0.1, atol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("activation", [*ACTIVATION_NAMES, "swish"])
def test_float32_training_stays_float32(activation):
    """Fitting on float32 keeps weights, slopes and probabilities in float32."""
    act = Swish() if activation == "swish" else activation
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3).astype(np.float32)
    y = np.arange(30) % 3
    clf = BackpropClassifier(
        hidden_layer_sizes=(5, 4), activation=act, max_iter=5, random_state=0
    ).fit(X, y)
    for array in (*clf.coefs_, *clf.intercepts_):
        assert array.dtype == np.float32
    for theta in clf.activation_params_:
        assert theta is None or theta.dtype == np.float32
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32
    assert np.isfinite(proba).all()
    assert np.isfinite(clf.loss_)
    reg = BackpropRegressor(
        hidden_layer_sizes=(5,), activation=act, max_iter=5, random_state=0
    ).fit(X, X[:, 0])
    assert {c.dtype for c in reg.coefs_} == {np.dtype(np.float32)}
    assert reg.predict(X).dtype == np.float32


def test_a_bad_activation_parameter_error_names_public_classes_only():
    import re

    from sklearn.utils._param_validation import InvalidParameterError

    X, y = np.random.RandomState(0).normal(size=(10, 2)), np.arange(10.0)
    with pytest.raises(InvalidParameterError) as info:
        BackpropRegressor(activation=3).fit(X, y)
    message = str(info.value)
    assert "skbackprop.activations.Activation" in message
    assert not re.search(r"skbackprop\.(\w+\.)*_\w+", message), message
