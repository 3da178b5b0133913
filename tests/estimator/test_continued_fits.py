"""Continued fits: set_params between partial_fit or warm_start calls is honoured.

A new learning rate, activation, solver or early-stopping setting takes effect in
the next call (keeping what should be kept: momentum, the invscaling decay, the
weights); a new layer structure says to refit. (From
tests/test_reliability_round2.py, issue 9.)
"""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor

RNG = np.random.RandomState(0)
X = RNG.standard_normal((60, 3))
Y_REG = X @ np.array([1.0, 2.0, -1.0]) + 0.1 * RNG.standard_normal(60)
Y_BIN = (Y_REG > 0).astype(np.int64)
SMALL = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kwargs)


def test_partial_fit_honours_a_new_learning_rate():
    """set_params between partial_fit calls changes the step, momentum kept."""
    est = BackpropRegressor(**{**SMALL, "solver": "sgd", "learning_rate_init": 0.01})
    est.partial_fit(X, Y_REG)
    velocity = est._optimizer.velocity.copy()
    est.set_params(learning_rate_init=0.001)
    same = clone(est).set_params(learning_rate_init=0.01)
    same.partial_fit(X, Y_REG)
    est.partial_fit(X, Y_REG)
    assert est._optimizer.learning_rate == 0.001
    assert not np.array_equal(est._optimizer.velocity, velocity)


# ------------------------------------ 9. set_params between continued fits
def test_changed_activation_is_honoured_under_warm_start():
    est = _quiet(BackpropRegressor(**SMALL, warm_start=True).fit, X, Y_REG)
    coefs = [c.copy() for c in est.coefs_]
    est.set_params(activation="tanh", max_iter=1, learning_rate_init=1e-300)
    _quiet(est.fit, X, Y_REG)
    assert type(est.activations_[0]).__name__ == "Tanh"
    for a, b in zip(coefs, est.coefs_, strict=True):  # weights carried over
        np.testing.assert_array_equal(a, b)
    hidden = np.tanh(X @ est.coefs_[0] + est.intercepts_[0])
    np.testing.assert_allclose(
        est.predict(X), (hidden @ est.coefs_[1] + est.intercepts_[1]).ravel()
    )


def test_changed_activation_to_prelu_gets_fresh_slopes_in_partial_fit():
    est = BackpropClassifier(**SMALL).partial_fit(X, Y_BIN, classes=[0, 1])
    est.set_params(activation="prelu")
    est.partial_fit(X, Y_BIN)
    assert est.activation_params_[0].shape == (1, 5)
    assert np.isfinite(est.predict_proba(X)).all()


def test_changed_layer_sizes_under_warm_start_say_to_refit():
    est = _quiet(BackpropRegressor(**SMALL, warm_start=True).fit, X, Y_REG)
    with pytest.raises(ValueError, match="warm_start=False"):
        est.set_params(hidden_layer_sizes=(5, 5)).fit(X, Y_REG)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ({"solver": "lbfgs"}, {"solver": "adam"}),
        ({"solver": "adam"}, {"solver": "lbfgs"}),
        ({"early_stopping": True}, {"early_stopping": False}),
        ({"early_stopping": False}, {"early_stopping": True}),
    ],
)
def test_solver_and_early_stopping_changes_continue_under_warm_start(first, then):
    est = _quiet(BackpropClassifier(**SMALL, warm_start=True, **first).fit, X, Y_BIN)
    coefs = [c.copy() for c in est.coefs_]
    _quiet(est.set_params(**then).fit, X, Y_BIN)
    assert any(not np.array_equal(a, b) for a, b in zip(coefs, est.coefs_, strict=True))
    assert np.isfinite(est.predict_proba(X)).all()
    if then.get("early_stopping"):
        assert len(est.validation_scores_) == est.n_iter_
    elif est.solver != "lbfgs":
        assert est.validation_scores_ is None and np.isfinite(est.best_loss_)


def test_changed_activation_resets_the_early_stopping_best_weights():
    est = _quiet(
        BackpropClassifier(**{**SMALL, "max_iter": 20}, early_stopping=True).fit,
        X,
        Y_BIN,
    )
    est.set_params(warm_start=True, activation="logistic", max_iter=3)
    _quiet(est.fit, X, Y_BIN)
    # The best score now belongs to a logistic epoch of this call.
    assert est.best_validation_score_ in est.validation_scores_[-3:]


def test_a_new_learning_rate_keeps_the_invscaling_decay():
    est = BackpropRegressor(
        **SMALL, solver="sgd", learning_rate="invscaling", learning_rate_init=0.01
    )
    for _ in range(5):
        est.partial_fit(X, Y_REG)
    decayed = est._optimizer.learning_rate
    est.set_params(learning_rate_init=0.05)
    est.partial_fit(X, Y_REG)
    expected = 0.05 / (est.t_ + 1) ** est.power_t
    assert est._optimizer.learning_rate == pytest.approx(expected)
    assert est._optimizer.learning_rate < 10 * decayed
