"""Divergence: a fit that returns predicts finitely; one that cannot, raises.

Non-finite losses stop training, restore the last finite weights and warn; a
model beyond recovery says to refit; an activation that overflows internally to a
finite value is no divergence. (From tests/test_reliability.py, issue 4, and
tests/test_reliability_round2.py, issue 9.)
"""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.activations import Activation
from tests._small_fits import (
    SMALL,
    Y_BIN,
    Y_REG,
    X,
    _fitted,
    _quiet,
    _same,
    _state,
    _weights,
)

# ------------------------------------------------------------------- helpers


class _Recorder:
    """Callback keeping the weights at the start and after every epoch."""

    def __init__(self):
        self.weights = []

    def on_fit_begin(self, est, logs):
        self.weights = [_weights(est)]

    def on_epoch_end(self, est, logs):
        self.weights.append(_weights(est))


# ================================================================ divergence
def _divergence_scenarios():
    big_targets = Y_REG * 1e200
    return {
        # ½·mean(y²) with |y| ~ 1e200 overflows on the first batch.
        "targets-1e200": (
            BackpropRegressor(solver="sgd", learning_rate_init=0.01),
            X,
            big_targets,
        ),
        # Loss 2.8e299 in epoch 1; the update makes the next forward pass overflow.
        "inputs-1e150": (
            BackpropRegressor(solver="sgd", learning_rate_init=0.1),
            X * 1e150,
            Y_REG,
        ),
        # Full-batch gradient descent with a step far above 2/λ_max: the loss
        # grows 6.3e5, 8.5e25, 2.1e86, 3.6e267; epoch 5's forward pass gives NaN.
        "learning-rate": (
            BackpropRegressor(
                activation="identity",
                solver="sgd",
                learning_rate_init=0.1,
                momentum=0.0,
                batch_size=60,
                shuffle=False,
            ),
            X * 1e3,
            Y_REG,
        ),
        # Log loss is clipped, so here the weights (not the loss) blow up.
        "classifier-inputs-1e150": (
            BackpropClassifier(solver="sgd", learning_rate_init=1e10),
            X * 1e150,
            Y_BIN,
        ),
    }


DIVERGENCE = list(_divergence_scenarios())


# These blow up before any epoch ends with weights that predict finitely.
NO_FINITE_EPOCH = ["targets-1e200", "inputs-1e150", "classifier-inputs-1e150"]


# The warn-and-restore cases: a fresh fit that diverges after finite epochs, and
# every scenario continued (warm_start) from a model fitted on ordinary data.
WARN_AND_RESTORE = ["learning-rate"] + [f"warm-{name}" for name in DIVERGENCE]


def _diverge(name, **params):
    warm = name.startswith("warm-")
    est, Xd, yd = _divergence_scenarios()[name.removeprefix("warm-")]
    recorder = _Recorder()
    est.set_params(
        hidden_layer_sizes=(4,), max_iter=30, random_state=0, callbacks=[recorder]
    )
    est.set_params(**params)
    if warm:
        # First an ordinary fit (small steps, scaled data), then the blow-up.
        rate = est.learning_rate_init
        target = Y_REG if isinstance(est, BackpropRegressor) else Y_BIN
        _quiet(est.set_params(learning_rate_init=1e-3).fit, X, target)
        est.set_params(warm_start=True, learning_rate_init=rate)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(Xd, yd)
    diverged = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ConvergenceWarning)
        and "Maximum iterations" not in str(w.message)
    ]
    return est, Xd, recorder, diverged


@pytest.mark.parametrize("name", NO_FINITE_EPOCH)
@pytest.mark.parametrize("refit", [False, True])
def test_fresh_fit_without_a_finite_epoch_raises_and_changes_nothing(name, refit):
    """No trained finite weights: scikit-learn's ValueError, the model untouched."""
    est, Xd, yd = _divergence_scenarios()[name]
    est.set_params(hidden_layer_sizes=(4,), max_iter=30, random_state=0)
    if refit:
        target = Y_REG if isinstance(est, BackpropRegressor) else Y_BIN
        rate = est.learning_rate_init
        _quiet(est.set_params(learning_rate_init=1e-3).fit, X, target)
        est.set_params(learning_rate_init=rate)
        before, state = _weights(est), _state(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as exc:
            est.fit(Xd, yd)
    message = str(exc.value)
    assert message.startswith(
        "Solver produced non-finite parameter weights. The input data may contain "
        "large values and need to be preprocessed."
    ), message
    assert "learning_rate_init" in message and "StandardScaler" in message
    if refit:
        assert _same(_weights(est), before)
        assert _state(est) == state
    else:
        with pytest.raises(NotFittedError):
            est.predict(Xd)


@pytest.mark.parametrize("name", WARN_AND_RESTORE)
def test_divergence_stops_restores_last_finite_weights_and_warns(name):
    """A diverging fit stops, keeps the latest usable weights and warns with a fix."""
    est, _, recorder, diverged = _diverge(name)
    assert len(diverged) == 1, f"expected one divergence warning, got {diverged}"
    message = diverged[0]
    epoch = re.search(r"epoch (\d+)", message)
    assert epoch, f"the warning does not name the epoch: {message!r}"
    assert est.n_iter_ < int(epoch.group(1)) <= est.max_iter, message
    assert "learning_rate_init" in message and "scal" in message.lower(), message
    assert "optimizer's state" in message and "reset" in message, message
    assert np.isfinite(est.loss_curve_).all()
    assert all(np.isfinite(w).all() for w in _weights(est))
    # The kept weights are exactly those of the epoch the warning names: the last
    # completed one, or an earlier one if that one's weights overflow on the
    # training rows (0: the weights the call started from).
    after = re.search(r"weights after epoch (\d+)", message)
    kept = int(after.group(1)) if after else 0
    assert after or "weights from before this call" in message, message
    assert kept <= est.n_iter_
    assert _same(_weights(est), recorder.weights[kept])


@pytest.mark.parametrize("name", WARN_AND_RESTORE)
def test_diverged_model_never_predicts_nan(name):
    """After divergence, predictions on the training data contain no NaN."""
    est, Xd, _, _ = _diverge(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # tested elsewhere
        outputs = [est.predict(Xd)]
        if hasattr(est, "predict_proba"):
            outputs.append(est.predict_proba(Xd))
    for out in outputs:
        n_nan = int(np.isnan(out).sum()) if out.dtype.kind == "f" else 0
        assert n_nan == 0, f"{n_nan} NaN outputs out of {out.size}"
    if hasattr(est, "predict_proba"):
        np.testing.assert_allclose(outputs[1].sum(axis=1), 1.0, atol=1e-12)


def test_divergence_under_early_stopping_restores_best_weights():
    """Divergence with early stopping keeps the best validation epoch's weights."""
    recorder = _Recorder()
    est = BackpropRegressor(
        hidden_layer_sizes=(8,),
        solver="sgd",
        learning_rate_init=0.02,
        early_stopping=True,
        max_iter=50,
        random_state=0,
        callbacks=[recorder],
    )
    with pytest.warns(ConvergenceWarning, match=r"epoch \d+") as record:
        est.fit(X * 10, Y_REG)
    message = next(str(w.message) for w in record if "diverged" in str(w.message))
    assert "learning_rate_init" in message and "scal" in message.lower(), message
    scores = np.array(est.validation_scores_, dtype=float)
    assert est.n_iter_ < 50 and np.isfinite(scores).any()
    best_epoch = int(np.nanargmax(scores)) + 1
    assert best_epoch < est.n_iter_, "scenario should diverge after the best epoch"
    assert _same(_weights(est), recorder.weights[best_epoch])
    assert est.best_validation_score_ == scores[best_epoch - 1]
    assert np.isfinite(est.predict(X * 10)).all()


@pytest.mark.parametrize(
    ("solver", "how"),
    [
        ("sgd", "warm_start"),
        ("sgd", "partial_fit"),
        ("adam", "warm_start"),
        ("adam", "partial_fit"),
        ("lbfgs", "warm_start"),  # lbfgs has no partial_fit
    ],
)
def test_fit_from_non_finite_weights_raises(solver, how):
    """Training from NaN weights (no finite weights ever) raises ValueError."""
    est = _fitted("regressor", solver=solver, warm_start=True)
    est.coefs_ = [np.full_like(c, np.nan) for c in est.coefs_]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as exc:
            if how == "warm_start":
                est.fit(X, Y_REG)
            else:
                est.partial_fit(X, Y_REG)
    assert "finite" in str(exc.value), str(exc.value)


# ------------------------------------------------ weights beyond recovery
def _messages(caught):
    return [str(w.message) for w in caught if issubclass(w.category, Warning)]


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_model_beyond_recovery_says_so_once_and_says_to_refit(kind):
    # partial_fit at learning_rate_init=1e3 drives the loss to 1e160 and more
    # while every call returns finite weights; later calls at a sane rate cannot
    # bring them back (they diverge, or crawl). The user is told once, when the
    # loss crosses the line, and every later divergence says to refit.
    cls, y = (
        (BackpropClassifier, Y_BIN)
        if kind == "classifier"
        else (BackpropRegressor, Y_REG)
    )
    est = cls(
        solver="sgd", learning_rate_init=1e3, hidden_layer_sizes=(10,), random_state=0
    )
    fit_params = {"classes": [0, 1]} if kind == "classifier" else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(30):
            est.partial_fit(X, y, **fit_params)
        est.set_params(learning_rate_init=1e-4)
        for _ in range(3):
            est.partial_fit(X, y)
    messages = _messages(caught)
    alone = [
        i
        for i, m in enumerate(messages)
        if "beyond recovery" in m and not m.startswith("Training diverged")
    ]
    assert len(alone) == 1, messages  # said once
    assert re.search(
        r"times its first epoch.*Refit the model from fresh weights.*"
        r"warm_start=False",
        messages[alone[0]],
    )
    # Every later call that diverges says why nothing helps, not "use a
    # smaller learning_rate_init" again.
    diverged = [m for m in messages[alone[0] + 1 :] if "Training diverged" in m]
    assert all("beyond recovery" in m and "Refit the model" in m for m in diverged), (
        diverged
    )
    if kind == "regressor":
        assert diverged  # its later calls at 1e-4 diverge every time


def test_an_ordinary_fit_or_a_rough_start_is_not_beyond_recovery():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        BackpropRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(
            X, Y_REG
        )
        est = BackpropRegressor(
            solver="sgd",
            learning_rate_init=0.3,
            hidden_layer_sizes=(8,),
            random_state=0,
        )
        for _ in range(5):
            est.partial_fit(X, Y_REG)
    assert not [m for m in _messages(caught) if "beyond recovery" in m]


# ------------------------------------------------- 1. no NaN after a return
def _overflowing_regression():
    rng = np.random.RandomState(0)
    Xo = rng.standard_normal((200, 5))
    return Xo, Xo @ rng.standard_normal(5) * 3


def test_fit_that_returns_predicts_finitely_on_its_training_data():
    """The issue's case: epoch 6's weights are finite but overflow in predict."""
    Xo, yo = _overflowing_regression()
    est = BackpropRegressor(
        hidden_layer_sizes=(20,),
        activation="identity",
        solver="sgd",
        learning_rate_init=1.0,
        max_iter=6,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(Xo, yo)
        except ValueError as err:  # no trained finite weights: allowed, said so
            assert "non-finite" in str(err)
            with pytest.raises(NotFittedError):
                est.predict(Xo)
            return
    assert np.isfinite(est.predict(Xo)).all()
    assert any("diverged" in str(w.message) for w in caught)


def test_every_partial_fit_call_ends_predicting_finitely():
    Xo, yo = _overflowing_regression()
    est = BackpropRegressor(
        hidden_layer_sizes=(20,),
        activation="identity",
        solver="sgd",
        learning_rate_init=1e-3,
        random_state=0,
    )
    est.partial_fit(Xo, yo)
    est.set_params(learning_rate_init=1.0)
    warned = 0
    for _ in range(8):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.partial_fit(Xo, yo)
        warned += sum("diverged" in str(w.message) for w in caught)
        assert np.isfinite(est.predict(Xo)).all()
    assert warned >= 1


# ------------------------------------ 2. SGD trains again after a divergence
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_training_goes_on_after_a_diverged_partial_fit(solver):
    est = BackpropRegressor(
        hidden_layer_sizes=(8,), solver=solver, learning_rate_init=1e-3, random_state=0
    )
    est.partial_fit(X, Y_REG)
    est.set_params(learning_rate_init=1e12)
    with pytest.warns(ConvergenceWarning, match="optimizer's state") as record:
        for _ in range(3):
            est.partial_fit(X * 1e100, Y_REG)
    assert sum("diverged" in str(w.message) for w in record) == 3
    before = [c.copy() for c in est.coefs_]
    est.set_params(learning_rate_init=1e-4)
    est.partial_fit(X, Y_REG)
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, est.coefs_, strict=True)
    )
    assert np.isfinite(est.score(X, Y_REG))
    assert est._optimizer.learning_rate_init == 1e-4


# ------------------------------------------ found in review of the above
class _Swish(Activation):
    def forward(self, s):
        return s / (1 + np.exp(-s))  # exp overflows harmlessly for s << 0

    def derivative(self, s, o):
        sig = 1 / (1 + np.exp(-s))
        return sig + o * (1 - sig)


# The user's activation overflows in np.exp on purpose (also when predicting).
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_an_activation_overflowing_internally_to_a_finite_value_is_no_divergence(
    solver,
):
    est = BackpropClassifier(**SMALL, activation=_Swish(), solver=solver)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X * 1000, Y_BIN)
    assert np.isfinite(est.predict_proba(X * 1000)).all()


def test_early_stopping_fit_diverging_in_its_first_epoch_raises():
    Xo, yo = _overflowing_regression()
    est = BackpropRegressor(
        hidden_layer_sizes=(20,),
        activation="identity",
        solver="sgd",
        learning_rate_init=1e30,
        batch_size=10,
        early_stopping=True,
        random_state=0,
    )
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        _quiet(est.fit, Xo, yo)
    with pytest.raises(NotFittedError):
        est.predict(Xo)
