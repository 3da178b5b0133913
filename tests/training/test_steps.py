"""The stochastic loop's steps: zero-weight and cancelling mini-batches, invscaling.

(From tests/test_reliability_round2.py, issue 9.)
"""

import warnings

import numpy as np
import pytest
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


# ------------------------------------------- 7. all-zero-weight mini-batches
@pytest.mark.parametrize("cls", [BackpropClassifier, BackpropRegressor])
def test_zero_weight_batches_are_skipped_like_removed_rows(cls):
    y = Y_BIN if cls is BackpropClassifier else Y_REG
    sw = np.ones(len(X))
    sw[::3] = 0.0
    params = dict(SMALL, solver="sgd", batch_size=1, shuffle=False)
    weighted = _quiet(cls(**params).fit, X, y, sample_weight=sw)
    removed = _quiet(cls(**params).fit, X[sw > 0], y[sw > 0])
    for a, b in zip(weighted.coefs_, removed.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_huge_power_t_does_not_overflow():
    est = BackpropRegressor(
        **SMALL, solver="sgd", learning_rate="invscaling", power_t=1e6
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _quiet(est.fit, X, Y_REG)
    assert np.isfinite(est.predict(X)).all()


def test_weights_cancelling_in_one_row_batches_are_warned_about():
    est = BackpropClassifier(**SMALL, batch_size=1, class_weight={0: 5.0, 1: 1.0})
    with pytest.warns(UserWarning, match="cancels out"):
        _quiet(est.fit, X, Y_BIN)
