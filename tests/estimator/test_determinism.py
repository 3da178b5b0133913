"""Determinism and threads: equal seeds, bit-identical models; thread-safe predict.

(From tests/test_reliability.py, issue 4.)
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.base import clone

from skbackprop import BackpropClassifier, BackpropRegressor, PReLU
from tests._small_fits import Y_MULTI, Y_REG, X, _estimator, _quiet, _same, _weights

# =============================================================== determinism
DETERMINISM = [
    ("classifier", {"solver": "sgd"}),
    ("classifier", {"solver": "adam", "early_stopping": True}),
    ("classifier", {"solver": "lbfgs", "activation": PReLU()}),
    ("regressor", {"solver": "adam"}),
    ("regressor", {"solver": "sgd", "early_stopping": True, "loss": "poisson"}),
    ("regressor", {"solver": "lbfgs", "activation": "tanh"}),
]


def _determinism_target(kind, params):
    if params.get("loss") == "poisson":
        return np.exp(Y_REG / 3)
    return Y_MULTI if kind == "classifier" else Y_REG


@pytest.mark.parametrize(("kind", "params"), DETERMINISM)
def test_same_random_state_gives_bit_identical_weights(kind, params):
    """Two fits with the same random_state give bit-identical weights."""
    target = _determinism_target(kind, params)
    first = _quiet(_estimator(kind, random_state=42, **params).fit, X, target)
    second = _quiet(_estimator(kind, random_state=42, **params).fit, X, target)
    assert _same(_weights(first), _weights(second))
    assert first.n_iter_ == second.n_iter_
    np.testing.assert_array_equal(
        getattr(first, "loss_curve_", []), getattr(second, "loss_curve_", [])
    )


@pytest.mark.parametrize(("kind", "params"), DETERMINISM)
def test_clone_then_fit_equals_fresh_fit(kind, params):
    """clone of a fitted estimator, then fit, equals a fresh fit (and a refit)."""
    target = _determinism_target(kind, params)
    fitted = _quiet(_estimator(kind, random_state=7, **params).fit, X, target)
    cloned = _quiet(clone(fitted).fit, X, target)
    fresh = _quiet(_estimator(kind, random_state=7, **params).fit, X, target)
    assert _same(_weights(cloned), _weights(fresh))
    refit = _quiet(fitted.fit, X, target)
    assert _same(_weights(refit), _weights(fresh))


# =============================================================== concurrency
@pytest.mark.parametrize(
    "est",
    [
        BackpropClassifier(hidden_layer_sizes=(16, 8), max_iter=20, random_state=0),
        BackpropRegressor(
            hidden_layer_sizes=(16,), activation=PReLU(), max_iter=20, random_state=0
        ),
    ],
    ids=["classifier", "regressor-prelu"],
)
def test_concurrent_predict_equals_serial(est):
    """predict from 8 threads at once on one estimator equals the serial result."""
    kind = "classifier" if hasattr(est, "predict_proba") else "regressor"
    est = _quiet(clone(est).fit, X, Y_MULTI if kind == "classifier" else Y_REG)
    rng = np.random.RandomState(3)
    X_test = rng.standard_normal((400, 3))
    methods = ["predict", "predict_proba"] if kind == "classifier" else ["predict"]
    tasks = []
    for i in range(400):
        start = rng.randint(0, 300)
        stop = start + rng.randint(1, 100)
        tasks.append((methods[i % len(methods)], start, stop))
    serial = [getattr(est, m)(X_test[a:b]) for m, a, b in tasks]

    def run(task):
        method, a, b = task
        return getattr(est, method)(X_test[a:b])

    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(run, tasks))
    for task, expected, got in zip(tasks, serial, parallel, strict=True):
        assert got.dtype == expected.dtype, task
        np.testing.assert_array_equal(got, expected, err_msg=str(task))
