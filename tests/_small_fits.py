"""Small data and helpers shared by the reliability tests.

The bad-input, divergence, interruption, determinism and extreme-input tests fit
tiny networks on the same 60 rows and compare weights and fitted state.
"""

import pickle
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor

RNG = np.random.RandomState(0)
X = RNG.standard_normal((60, 3))
Y_REG = X @ np.array([1.0, 2.0, -1.0]) + 0.1 * RNG.standard_normal(60)
Y_BIN = (Y_REG > 0).astype(np.int64)
Y_MULTI = np.digitize(Y_REG, [-1.0, 1.0])
SMALL = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)


def _quiet(fit, *args, **kwargs):
    """Call ``fit`` with ConvergenceWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


def _estimator(kind, **params):
    if kind == "classifier":
        return BackpropClassifier(**{**SMALL, **params})
    return BackpropRegressor(**{**SMALL, **params})


def _target(kind):
    return Y_BIN if kind == "classifier" else Y_REG


def _fitted(kind, **params):
    return _quiet(_estimator(kind, **params).fit, X, _target(kind))


def _weights(est):
    """Copies of every trainable array: coefs, intercepts, activation parameters."""
    arrays = list(est.coefs_) + list(est.intercepts_)
    arrays += [p for p in est.activation_params_ if p is not None]
    return [np.array(a, copy=True) for a in arrays]


def _state(est):
    """Every attribute of ``est`` (fitted ones, optimizer state), as pickled bytes."""
    return {key: pickle.dumps(value) for key, value in vars(est).items()}


def _same(weights_a, weights_b):
    return len(weights_a) == len(weights_b) and all(
        a.dtype == b.dtype and np.array_equal(a, b)
        for a, b in zip(weights_a, weights_b, strict=True)
    )
