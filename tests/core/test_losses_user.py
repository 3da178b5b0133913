"""A user's own loss: a subclass of Loss, end to end.

Its gradient is checked by check_gradient (and a wrong one caught); it fits,
predicts, scores, continues with partial_fit and warm_start, stops early on its
own validation loss, in float32 and with sample weights; a loss with its own
link and target check works; a broken one is refused before training, with the
class and method named, and the estimator left as it was.
"""

import numpy as np
import pytest

from skbackprop import BackpropRegressor, check_gradient
from skbackprop._kernels.epoch import loss_code
from skbackprop.losses import HuberLoss, Loss, reduce_loss

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((30, 3))
Y1 = X[:, 0] - 2 * X[:, 1] + 0.3 * RNG.standard_normal(30)
Y2 = np.column_stack([Y1, np.abs(X[:, 2]) + 0.5 * RNG.standard_normal(30)])
SW = RNG.uniform(0.5, 2.0, 30)
SMALL = dict(hidden_layer_sizes=(6,), activation="tanh", random_state=0)


class LogCosh(Loss):
    """A user's loss: ``log cosh(p - y)``, identity output."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def value(self, y, p, sample_weight=None):
        r = (p - y) / self.scale
        per_sample = self.scale**2 * (np.logaddexp(r, -r) - np.log(2))
        return reduce_loss(per_sample, sample_weight)

    def output_delta(self, y, p, out=None):
        return self.scale * np.tanh((p - y) / self.scale)


class WrongLogCosh(LogCosh):
    def output_delta(self, y, p, out=None):
        return 1.5 * super().output_delta(y, p)


class ExpSquared(Loss):
    """A user's loss with its own link: squared error of ``p = exp(s)``."""

    out_activation = "exp"

    def link(self, s):
        return np.exp(np.minimum(s, 30))

    def value(self, y, p, sample_weight=None):
        return reduce_loss(0.5 * (p - y) ** 2, sample_weight)

    def output_delta(self, y, p, out=None):
        return (p - y) * p  # ∂/∂s of ½(exp(s) - y)² through the link

    def check_targets(self, y):
        if np.any(y <= 0):
            raise ValueError("ExpSquared needs positive targets.")


# ------------------------------------------------------------ gradients
@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("loss", [LogCosh(scale=0.5), ExpSquared()], ids=repr)
def test_check_gradient_covers_a_users_loss(loss, outputs):
    y = Y1 if outputs == 1 else Y2
    if isinstance(loss, ExpSquared):
        y = np.abs(y) + 0.1
    est = BackpropRegressor(
        loss=loss, hidden_layer_sizes=(5, 4), activation="tanh", alpha=0.01
    )
    est.set_params(random_state=0)
    assert check_gradient(est, X, y, sample_weight=SW) < 1e-6
    assert loss_code(loss) is None  # the numpy path, never a built-in's kernel


def test_check_gradient_catches_a_wrong_loss_delta():
    right = BackpropRegressor(loss=LogCosh(), **SMALL)
    wrong = BackpropRegressor(loss=WrongLogCosh(), **SMALL)
    assert check_gradient(right, X, Y1) < 1e-6
    assert check_gradient(wrong, X, Y1) > 1e-2


# ------------------------------------------------------------ broken losses
def test_user_target_check_is_honoured():
    with pytest.raises(ValueError, match="ExpSquared needs positive targets"):
        BackpropRegressor(loss=ExpSquared(), **SMALL).fit(X, Y1)


class NoValue(Loss):
    def output_delta(self, y, p, out=None):
        return p - y


class NoOut(LogCosh):
    def output_delta(self, y, p):
        return np.tanh(p - y)


class WrongShape(LogCosh):
    def output_delta(self, y, p, out=None):
        return (p - y).sum(axis=1)


class WrongDtype(LogCosh):
    def output_delta(self, y, p, out=None):
        return np.where(p > y, 0.5, -0.5)  # float64 whatever p's dtype


class ArrayValue(LogCosh):
    def value(self, y, p, sample_weight=None):
        return (p - y) ** 2


class Modifies(LogCosh):
    def output_delta(self, y, p, out=None):
        p -= y
        return p


class NanDelta(LogCosh):
    def output_delta(self, y, p, out=None):
        return np.full_like(p, np.nan)


class SqueezeDelta(LogCosh):
    """Right for several outputs only: squeeze drops the one output's column."""

    def output_delta(self, y, p, out=None):
        return np.squeeze(np.tanh(p - y))


class BroadcastDelta(LogCosh):
    """A read-only delta: the network scales it in place by the sample weights."""

    def output_delta(self, y, p, out=None):
        return np.broadcast_to(np.tanh(p - y), p.shape)


class AliasDelta(LogCosh):
    """A delta that is the output array itself (scaled in place, it changes p)."""

    def output_delta(self, y, p, out=None):
        return p


class CodeError(Exception):
    """A user's exception whose constructor takes two arguments."""

    def __init__(self, code, text):
        super().__init__(f"{code}: {text}")


class RaisesOwnError(LogCosh):
    def output_delta(self, y, p, out=None):
        raise CodeError(3, "bad delta")


@pytest.mark.parametrize(
    "loss, error, match",
    [
        (NoValue(), NotImplementedError, "NoValue must implement value"),
        (NoOut(), TypeError, "NoOut.output_delta.*must accept out=None"),
        (WrongShape(), ValueError, r"WrongShape.output_delta returned shape \(7,\)"),
        (
            SqueezeDelta(),
            ValueError,
            r"SqueezeDelta.output_delta returned shape \(5,\) for input of shape "
            r"\(5, 1\)",
        ),
        (
            BroadcastDelta(),
            ValueError,
            "BroadcastDelta.output_delta returned a read-only array",
        ),
        (
            AliasDelta(),
            ValueError,
            "AliasDelta.output_delta returned an array that "
            "shares memory with its input",
        ),
        (WrongDtype(), ValueError, "returned dtype float64 for float32 input"),
        (ArrayValue(), ValueError, "ArrayValue.value returned"),
        (Modifies(), ValueError, "modified its input y or p"),
        (NanDelta(), ValueError, "NanDelta.output_delta returned NaN or inf"),
        # its message kept, though CodeError cannot be rebuilt from one message
        (RaisesOwnError(), ValueError, "RaisesOwnError.output_delta failed.*3: bad"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Loss) else None,
)
def test_broken_user_loss_is_refused_before_training(loss, error, match):
    est = BackpropRegressor(loss=loss, **SMALL)
    with pytest.raises(error, match=match):
        est.fit(X, Y1)
    assert not hasattr(est, "coefs_")
    # The same on a warm start that switches to it: nothing changes.
    est = BackpropRegressor(loss=HuberLoss(), max_iter=3, **SMALL).fit(X, Y1)
    coefs, curve, fitted_loss = (
        [c.copy() for c in est.coefs_],
        est.loss_curve_[:],
        est._loss,
    )
    with pytest.raises(error, match=match):
        est.set_params(loss=loss, warm_start=True).fit(X, Y1)
    for a, b in zip(coefs, est.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.loss_curve_ == curve and est._loss is fitted_loss


# -------------------------------------------------------- a user's loss end to end
def test_user_loss_end_to_end():
    loss = LogCosh(scale=0.5)
    est = BackpropRegressor(
        loss=loss, hidden_layer_sizes=(8,), learning_rate_init=0.01, random_state=0
    )
    est.set_params(max_iter=60).fit(X, Y1)
    assert est.out_activation_ == "identity" and isinstance(est._loss, LogCosh)
    assert est.score(X, Y1) > 0.8
    assert est.predict(X).shape == (30,)
    # partial_fit and warm_start continue; the loss curve goes on.
    n = len(est.loss_curve_)
    est.partial_fit(X, Y1)
    assert len(est.loss_curve_) == n + 1
    est.set_params(warm_start=True, max_iter=5).fit(X, Y1)
    assert len(est.loss_curve_) == n + 6
    # Early stopping on the user's validation loss.
    es = BackpropRegressor(
        loss=LogCosh(),
        early_stopping=True,
        validation_metric="loss",
        validation_fraction=0.2,
        max_iter=20,
        **SMALL,
    ).fit(X, Y2)
    assert len(es.validation_loss_curve_) == es.n_iter_
    assert np.isfinite(es.validation_loss_curve_).all()
    assert es.predict(X).shape == (30, 2)
    # A link of its own: outputs are exp(s) > 0.
    pos = BackpropRegressor(loss=ExpSquared(), max_iter=20, **SMALL).fit(
        X, np.abs(Y1) + 0.1
    )
    assert pos.out_activation_ == "exp" and (pos.predict(X) > 0).all()


def test_user_loss_float32_and_sample_weight():
    est = BackpropRegressor(loss=LogCosh(), max_iter=5, **SMALL)
    est.fit(X.astype(np.float32), Y1, sample_weight=SW)
    assert est.coefs_[0].dtype == np.float32
    assert np.isfinite(est.loss_)


# --------------------------------------------- a loss undefined for some outputs
class LogSquared(Loss):
    """Squared error of ``log(p + 3)``: finite on the probe, NaN for p < -3."""

    def value(self, y, p, sample_weight=None):
        r = np.log(p + 3) - np.log(y + 3)
        return reduce_loss(0.5 * r**2, sample_weight)

    def output_delta(self, y, p, out=None):
        return (np.log(p + 3) - np.log(y + 3)) / (p + 3)


Y_NEAR_EDGE = -2.5 + 0.1 * X[:, 0]  # close to the loss's edge p = -3


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_a_loss_returning_nan_for_finite_outputs_is_named_not_called_divergence(
    solver,
):
    est = BackpropRegressor(
        loss=LogSquared(), solver=solver, learning_rate_init=0.5, max_iter=50, **SMALL
    )
    match = (
        r"LogSquared\.(value|output_delta) returned NaN or inf for finite network "
        r"outputs.*outside the loss's domain.*link"
    )
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y_NEAR_EDGE)
    assert not hasattr(est, "coefs_")


def test_a_loss_fault_in_partial_fit_leaves_the_model_as_it_was():
    est = BackpropRegressor(loss=LogSquared(), learning_rate_init=1e-3, **SMALL)
    est.partial_fit(X, Y_NEAR_EDGE)
    coefs, curve = [c.copy() for c in est.coefs_], est.loss_curve_[:]
    est.set_params(learning_rate_init=0.5)
    with pytest.raises(ValueError, match="LogSquared.*for finite network outputs"):
        for _ in range(20):
            est.partial_fit(X, Y_NEAR_EDGE)
            coefs, curve = [c.copy() for c in est.coefs_], est.loss_curve_[:]
    for a, b in zip(coefs, est.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.loss_curve_ == curve
