"""Persistence (issue 4): pickle, joblib and skops round trips.

A loaded model predicts bit-identically and continues training with partial_fit
exactly as the original does. skops' untrusted-types list names only skbackprop
types, except a user's own activation class, which skops cannot vouch for: it is
listed under this test module's name, and the user trusts it explicitly.
"""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor, LeakyReLU, PReLU
from skbackprop.activations import Activation

RNG = np.random.RandomState(0)
X = RNG.standard_normal((80, 4))
Y_REG = X @ np.array([1.0, -2.0, 0.5, 0.0])
Y_BIN = np.where(Y_REG > 0, "yes", "no")
Y_MULTI = np.digitize(Y_REG, [-1.0, 1.0])
Y_LABELS = np.column_stack([Y_REG > 0, X[:, 0] > 0]).astype(np.int64)
X_NEW = np.random.RandomState(1).standard_normal((25, 4))


class Swish(Activation):
    """A user's own activation, defined at module level so it can be loaded."""

    def __init__(self, beta=1.0):
        self.beta = beta

    def forward(self, s):
        return s / (1 + np.exp(-self.beta * s))

    def derivative(self, s, o):
        sig = 1 / (1 + np.exp(-self.beta * s))
        return sig + self.beta * o * (1 - sig)


SWISH_TYPE = f"{Swish.__module__}.{Swish.__qualname__}"


def _configs():
    """name -> (unfitted estimator, X, y); all small and quick to fit."""
    common = dict(max_iter=8, random_state=0)
    return {
        "regressor-adam": (
            BackpropRegressor(hidden_layer_sizes=(6,), **common),
            X,
            Y_REG,
        ),
        "regressor-poisson-sgd-float32": (
            BackpropRegressor(
                loss="poisson", hidden_layer_sizes=(5, 3), solver="sgd", **common
            ),
            X.astype(np.float32),
            np.exp(Y_REG / 4),
        ),
        "classifier-binary-leaky-prelu": (
            BackpropClassifier(
                hidden_layer_sizes=(5, 4),
                activation=[LeakyReLU(alpha=0.2), PReLU(init=0.1)],
                solver="sgd",
                **common,
            ),
            X,
            Y_BIN,
        ),
        "classifier-multiclass-prelu-adam": (
            BackpropClassifier(hidden_layer_sizes=(6,), activation=PReLU(), **common),
            X,
            Y_MULTI,
        ),
        "classifier-multilabel": (
            BackpropClassifier(hidden_layer_sizes=(6,), activation="tanh", **common),
            X,
            Y_LABELS,
        ),
        "classifier-multiclass-lbfgs": (
            BackpropClassifier(hidden_layer_sizes=(6,), solver="lbfgs", **common),
            X,
            Y_MULTI,
        ),
        "regressor-early-stopping": (
            BackpropRegressor(hidden_layer_sizes=(6,), early_stopping=True, **common),
            X,
            Y_REG,
        ),
        "regressor-user-activation": (
            BackpropRegressor(hidden_layer_sizes=(6,), activation=Swish(0.5), **common),
            X,
            Y_REG,
        ),
        "classifier-callbacks-none": (
            BackpropClassifier(hidden_layer_sizes=(6,), callbacks=None, **common),
            X,
            Y_MULTI,
        ),
    }


CONFIGS = list(_configs())
# partial_fit exists for the stochastic solvers without early stopping.
PARTIAL_FIT_CONFIGS = [
    name
    for name, (est, _, _) in _configs().items()
    if est.solver != "lbfgs" and not est.early_stopping
]


def _fit(name):
    est, Xc, yc = _configs()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(Xc, yc)
    return est, Xc, yc


def _round_trip(est, how, tmp_path):
    if how == "pickle":
        return pickle.loads(pickle.dumps(est))
    if how == "joblib":
        path = tmp_path / "model.joblib"
        joblib.dump(est, path)
        return joblib.load(path)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    return sio.load(path, trusted=sio.get_untrusted_types(file=path))


def _outputs(est, Xp):
    methods = ["predict", "predict_proba", "predict_log_proba", "decision_function"]
    return {m: getattr(est, m)(Xp) for m in methods if hasattr(est, m)}


def _weights(est):
    arrays = list(est.coefs_) + list(est.intercepts_)
    return arrays + [p for p in est.activation_params_ if p is not None]


def _assert_bit_identical(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("how", ["pickle", "joblib", "skops"])
def test_round_trip_predicts_bit_identically(how, name, tmp_path):
    """A saved and loaded model gives bit-identical predictions and probabilities."""
    est, Xc, _ = _fit(name)
    loaded = _round_trip(est, how, tmp_path)
    assert type(loaded) is type(est)
    assert repr(loaded) == repr(est)
    X_new = X_NEW.astype(Xc.dtype)
    expected, got = _outputs(est, X_new), _outputs(loaded, X_new)
    assert expected.keys() == got.keys()
    for method in expected:
        _assert_bit_identical(got[method], expected[method])
    for a, b in zip(_weights(loaded), _weights(est), strict=True):
        _assert_bit_identical(a, b)


@pytest.mark.parametrize("name", PARTIAL_FIT_CONFIGS)
@pytest.mark.parametrize("how", ["pickle", "joblib", "skops"])
def test_partial_fit_continues_identically_after_loading(how, name, tmp_path):
    """The loaded copy and the original continue partial_fit to the same weights."""
    est, Xc, yc = _fit(name)
    loaded = _round_trip(est, how, tmp_path)
    for start in (0, 20, 40):
        rows = slice(start, start + 40)
        est.partial_fit(Xc[rows], yc[rows])
        loaded.partial_fit(Xc[rows], yc[rows])
    assert loaded.n_iter_ == est.n_iter_ and loaded.t_ == est.t_
    for a, b in zip(_weights(loaded), _weights(est), strict=True):
        _assert_bit_identical(a, b)
    _assert_bit_identical(loaded.predict(Xc), est.predict(Xc))


@pytest.mark.parametrize(
    "name", [n for n in CONFIGS if n != "regressor-user-activation"]
)
def test_skops_untrusted_types_are_only_skbackprop_types(name):
    """skops lists only skbackprop types as untrusted, and trusting them loads."""
    est, Xc, _ = _fit(name)
    buffer = io.BytesIO()
    sio.dump(est, buffer)
    data = buffer.getvalue()
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted, "the estimator's own class must need explicit trust"
    assert all(t.startswith("skbackprop.") for t in untrusted), untrusted
    assert f"{type(est).__module__}.{type(est).__qualname__}" in untrusted
    loaded = sio.loads(data, trusted=untrusted)
    X_new = X_NEW.astype(Xc.dtype)
    _assert_bit_identical(loaded.predict(X_new), est.predict(X_new))


def test_skops_file_api_lists_and_trusts_both_estimators(tmp_path):
    """skops.io.dump/load with a file: both estimators, trust list from the file."""
    for name in ("regressor-adam", "classifier-binary-leaky-prelu"):
        est, Xc, _ = _fit(name)
        path = tmp_path / f"{name}.skops"
        sio.dump(est, path)
        untrusted = sio.get_untrusted_types(file=path)
        assert all(t.startswith("skbackprop.") for t in untrusted), untrusted
        loaded = sio.load(path, trusted=untrusted)
        _assert_bit_identical(loaded.predict(X_NEW), est.predict(X_NEW))
        if name.startswith("classifier"):
            _assert_bit_identical(loaded.predict_proba(X_NEW), est.predict_proba(X_NEW))
            expected_types = {
                "skbackprop.activations.LeakyReLU",
                "skbackprop.activations.PReLU",
                "skbackprop.classifier.BackpropClassifier",
            }
            assert expected_types <= set(untrusted), untrusted


def test_skops_refuses_to_load_untrusted_types(tmp_path):
    """Without trusted=..., skops refuses to load: the secure default holds."""
    est, _, _ = _fit("regressor-adam")
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)


def test_skops_user_activation_is_listed_under_its_own_module(tmp_path):
    """A user's activation is untrusted under its own module; the rest is skbackprop."""
    est, _, _ = _fit("regressor-user-activation")
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert SWISH_TYPE in untrusted
    others = [t for t in untrusted if t != SWISH_TYPE]
    assert others and all(t.startswith("skbackprop.") for t in others), untrusted
    loaded = sio.load(path, trusted=untrusted)
    assert isinstance(loaded.activation, Swish) and loaded.activation.beta == 0.5
    _assert_bit_identical(loaded.predict(X_NEW), est.predict(X_NEW))


def test_skops_model_with_callbacks_none(tmp_path):
    """A fitted model with callbacks=None round-trips with skbackprop types only."""
    est, _, _ = _fit("classifier-callbacks-none")
    assert est.callbacks is None
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(t.startswith("skbackprop.") for t in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    assert loaded.callbacks is None
    _assert_bit_identical(loaded.predict_proba(X_NEW), est.predict_proba(X_NEW))
