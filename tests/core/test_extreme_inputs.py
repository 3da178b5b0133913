"""Extreme inputs: every activation and loss at magnitudes up to 1e300.

Predictions stay finite or fail clearly, fits on extreme data work or fail
clearly, and the signal bound behind the end-of-call check is never below a real
signal. (From tests/test_reliability.py, issue 4, and
tests/test_reliability_round2.py, issue 9.)
"""

import warnings

import numpy as np
import pytest

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.activations import Activation
from skbackprop.network import signal_bound
from tests._builtins import ACTIVATION_NAMES
from tests._small_fits import SMALL, Y_BIN, Y_MULTI, Y_REG, X, _quiet, _weights

Y_LABELS = np.column_stack([Y_REG > 0, X[:, 0] > 0]).astype(np.int64)


# =========================================================== extreme inputs
MAGNITUDES = [1e5, 1e10, 1e50, 1e150, 1e300]


LOSSES = ["squared_error", "poisson", "binary", "multiclass", "multilabel"]


def _loss_estimator(loss, activation, **params):
    params = dict(
        hidden_layer_sizes=(5, 4), activation=activation, random_state=0, **params
    )
    if loss in ("squared_error", "poisson"):
        target = Y_REG if loss == "squared_error" else np.exp(Y_REG / 3)
        return BackpropRegressor(loss=loss, **params), target
    target = {"binary": Y_BIN, "multiclass": Y_MULTI, "multilabel": Y_LABELS}[loss]
    return BackpropClassifier(**params), target


def _extreme_rows(n_features=3):
    """Rows with |x| from 1e5 to 1e300: all-equal, mixed signs, one huge feature."""
    rng = np.random.RandomState(1)
    rows = []
    for m in MAGNITUDES:
        rows += [np.full(n_features, m), np.full(n_features, -m)]
        rows += [m * rng.choice([-1.0, 1.0], n_features) for _ in range(3)]
        one = rng.standard_normal(n_features)
        one[rng.randint(n_features)] = m
        rows += [one, -one]
    return np.array(rows)


ALL_OUTPUTS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def _output_problems(est, Xe, methods=ALL_OUTPUTS):
    """Describe every non-finite output or bad probability row for inputs ``Xe``."""
    problems = []
    for method in methods:
        if not hasattr(est, method):
            continue
        try:
            out = getattr(est, method)(Xe)
        except Warning as w:  # raised because warnings are errors here
            problems.append(f"{method}: {type(w).__name__}: {w}")
            continue
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            rows = np.unique(np.nonzero(~np.isfinite(out))[0])
            problems.append(f"{method}: non-finite for |x| ~ {np.abs(Xe[rows]).max()}")
        if method == "predict" and out.dtype.kind != "f":
            if not np.isin(out, est.classes_).all():
                problems.append("predict: labels outside classes_")
        if method == "predict_proba":
            if np.any((out < 0) | (out > 1)):
                problems.append("predict_proba: outside [0, 1]")
            if est.n_outputs_ == 1 or est.out_activation_ == "softmax":
                err = np.abs(out.sum(axis=1) - 1).max()
                if not err <= 1e-12:
                    problems.append(f"predict_proba: rows sum to 1 ± {err}")
    return problems


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_extreme_inputs_at_predict_time(activation, loss):
    """|X| up to 1e300 at predict: no warning, finite outputs, probas sum to 1."""
    est, target = _loss_estimator(loss, activation, max_iter=5)
    _quiet(est.fit, X, target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problems = _output_problems(est, _extreme_rows())
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_fitting_on_extreme_inputs_works_or_fails_clearly(activation, loss):
    """Fitting on |X| of 1e5, 1e150, 1e300 works or fails clearly, never with NaN."""
    # Asserted for each magnitude and solver: no RuntimeWarning escapes fit or
    # predict; fit either raises a ValueError that suggests scaling, or returns a
    # model with finite weights whose outputs on the training rows are finite
    # (probabilities summing to 1); a divergence ConvergenceWarning suggests scaling.
    problems = []
    for magnitude in (1e5, 1e150, 1e300):
        for solver in ("sgd", "adam", "lbfgs"):
            config = f"|X|~{magnitude:g} solver={solver}"
            est, target = _loss_estimator(loss, activation, solver=solver, max_iter=5)
            Xe = X * magnitude
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                warnings.simplefilter("error", RuntimeWarning)
                try:
                    est.fit(Xe, target)
                except RuntimeWarning as w:
                    problems.append(f"{config}: fit leaked RuntimeWarning: {w}")
                    continue
                except ValueError as e:
                    if "scal" not in str(e).lower():
                        problems.append(f"{config}: unclear ValueError: {e}")
                    continue
                outputs = _output_problems(est, Xe, ("predict", "predict_proba"))
                problems += [f"{config}: {p}" for p in outputs]
            if not all(np.isfinite(w).all() for w in _weights(est)):
                problems.append(f"{config}: non-finite weights")
            for w in caught:
                text = str(w.message)
                if "diverged" in text and "scal" not in text.lower():
                    problems.append(f"{config}: divergence warning without a fix")
    assert not problems, "\n".join(problems)


# --------------------------------------------- 8. float32 Poisson extremes
def test_float32_poisson_predictions_stay_finite_for_extreme_inputs():
    X32 = X.astype(np.float32)
    est = _quiet(BackpropRegressor(**SMALL, loss="poisson").fit, X32, np.exp(Y_REG / 3))
    extreme = np.array([[1e30, 1e30, 1e30], [-1e30, 1e30, -1e30]], dtype=np.float32)
    est.coefs_[-1][...] = np.abs(est.coefs_[-1]) * 1e3  # push the output up
    pred = est.predict(extreme)
    assert pred.dtype == np.float32 and np.isfinite(pred).all()


# ------------------------------------------------------------------- low
def test_log_proba_agrees_with_proba_for_huge_tied_logits():
    est = _quiet(BackpropClassifier(**SMALL).fit, X, Y_MULTI)
    est.coefs_[-1][...] = 0.0
    est.intercepts_[-1][...] = [1e300, 1e300, 0.0]
    proba, log_proba = est.predict_proba(X[:3]), est.predict_log_proba(X[:3])
    np.testing.assert_allclose(proba[:, :2], 0.5)
    np.testing.assert_allclose(np.exp(log_proba), proba, atol=1e-300)


def test_float64_input_to_a_float32_model_is_clipped_before_the_cast():
    est = _quiet(BackpropRegressor(**SMALL).fit, X.astype(np.float32), Y_REG)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow in the cast
        pred = est.predict(np.array([[1e300, -1e300, 1.0]]))
    assert pred.dtype == np.float32 and np.isfinite(pred).all()


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_signal_bound_holds_for_every_builtin_activation(name):
    """The cheap end-of-call check's bound is never below a real signal."""
    rng = np.random.RandomState(0)
    est = _quiet(
        BackpropRegressor(
            hidden_layer_sizes=(7, 5),
            activation=name,
            **{"max_iter": 3, "random_state": 0},
        ).fit,
        X,
        Y_REG,
    )
    for scale in (1.0, 1e3):
        for W in est.coefs_:
            W *= rng.uniform(0.5, 2.0, W.shape)  # other weights than trained ones
        Xs = X * scale
        bound = signal_bound(
            Xs, est.coefs_, est.intercepts_, est.activations_, est.activation_params_
        )
        o, worst = Xs, 0.0
        for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
            s = o @ W + b
            worst = max(worst, np.abs(s).max())
            if i < len(est.activations_):
                theta = est.activation_params_[i]
                act = est.activations_[i]
                o = act.forward(s) if theta is None else act.forward(s, theta)
        assert worst <= bound * (1 + 1e-12), (worst, bound)


def test_user_activation_without_a_bound_falls_back_to_a_forward_pass():
    class Cube(Activation):
        def forward(self, s):
            return s**3

        def derivative(self, s, o):
            return 3 * s**2

    est = _quiet(BackpropRegressor(**SMALL, activation=Cube()).fit, X, Y_REG)
    bound = signal_bound(
        X, est.coefs_, est.intercepts_, est.activations_, est.activation_params_
    )
    assert bound == np.inf and np.isfinite(est.predict(X)).all()


def test_a_user_subclass_of_a_builtin_is_not_trusted_by_the_bound():
    from skbackprop.activations import Identity

    class Cube(Identity):
        def forward(self, s):
            return s**3

    coefs = [np.array([[1e104, -1e104]]), np.array([[1.0], [1.0]])]
    intercepts = [np.zeros(2), np.zeros(1)]
    bound = signal_bound(np.ones((1, 1)), coefs, intercepts, [Cube()], [None])
    assert bound == np.inf
