"""A user's own activation: its contract is checked before training.

(From tests/test_reliability_round2.py, issue 9.)
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skbackprop import BackpropRegressor
from skbackprop.activations import Activation

RNG = np.random.RandomState(0)
X = RNG.standard_normal((60, 3))
Y_REG = X @ np.array([1.0, 2.0, -1.0]) + 0.1 * RNG.standard_normal(60)
SMALL = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kwargs)


# --------------------------------- 10. a custom activation's contract
class _WrongShape(Activation):
    def forward(self, s):
        return s[:, :1]

    def derivative(self, s, o):
        return np.ones_like(s)


class _AList(Activation):
    def forward(self, s):
        return s.tolist()

    def derivative(self, s, o):
        return np.ones_like(s)


class _IntOutput(Activation):
    def forward(self, s):
        return np.maximum(s, 0).astype(np.int64)

    def derivative(self, s, o):
        return np.ones_like(s)


class _NaNDerivative(Activation):
    def forward(self, s):
        return np.tanh(s)

    def derivative(self, s, o):
        return np.log(-s)


class _InPlace(Activation):
    def forward(self, s):
        np.tanh(s, out=s)
        return s

    def derivative(self, s, o):
        return 1 - o * o


@pytest.mark.parametrize(
    ("activation", "method", "what"),
    [
        (_WrongShape(), "forward", "shape"),
        (_AList(), "forward", "list"),
        (_IntOutput(), "forward", "int64"),
        (_NaNDerivative(), "derivative", "NaN"),
        (_InPlace(), "forward", "modified its input"),
    ],
)
def test_a_broken_custom_activation_is_named_before_training(activation, method, what):
    est = BackpropRegressor(**SMALL, activation=activation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError) as exc:
            est.fit(X, Y_REG)
    message = str(exc.value)
    assert type(activation).__name__ in message and method in message, message
    assert what in message, message
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_a_custom_activation_in_float64_arithmetic_trains_a_float32_model():
    class Step(Activation):
        def forward(self, s):
            return np.where(s > 0, s, 0.1 * s)  # float32 stays float32 here

        def derivative(self, s, o):
            return np.where(s > 0, 1.0, 0.1)  # float64 for float32 s: allowed

    est = _quiet(
        BackpropRegressor(**SMALL, activation=Step()).fit, X.astype("f4"), Y_REG
    )
    assert est.predict(X.astype("f4")).dtype == np.float32
