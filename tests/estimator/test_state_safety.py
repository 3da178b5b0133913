"""State safety: a call that raises leaves the estimator exactly as it was.

(From tests/test_reliability_round2.py, issue 9.)
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skbackprop import BackpropClassifier, BackpropRegressor
from tests._small_fits import SMALL, Y_BIN, Y_MULTI, Y_REG, X, _quiet, _state

Y_LABELS = np.column_stack([Y_REG > 0, X[:, 0] > 0, X[:, 1] > 0]).astype(np.int64)


# -------------------------------------------- 4. a failed call changes nothing
FAILURES = {
    "partial_fit one label column of a 3-label model": (
        lambda: _quiet(BackpropClassifier(**SMALL).fit, X, Y_LABELS),
        lambda est: est.partial_fit(X, Y_LABELS[:, 0]),
    ),
    "refit with NaN sample_weight": (
        lambda: _quiet(BackpropClassifier(**SMALL).fit, X, Y_MULTI),
        lambda est: est.fit(
            X[Y_MULTI < 2],
            Y_MULTI[Y_MULTI < 2],
            np.full(int((Y_MULTI < 2).sum()), np.nan),
        ),
    ),
    "partial_fit with an unseen class": (
        lambda: BackpropClassifier(**SMALL).partial_fit(X, Y_BIN, classes=[0, 1]),
        lambda est: est.partial_fit(X, Y_MULTI),
    ),
    "warm_start with other features": (
        lambda: _quiet(BackpropRegressor(**SMALL, warm_start=True).fit, X, Y_REG),
        lambda est: est.fit(X[:, :2], Y_REG),
    ),
    "warm_start with other hidden layers": (
        lambda: _quiet(BackpropRegressor(**SMALL, warm_start=True).fit, X, Y_REG),
        lambda est: est.set_params(hidden_layer_sizes=(7,)).fit(X, Y_REG),
    ),
    "partial_fit with NaN in X": (
        lambda: BackpropRegressor(**SMALL).partial_fit(X, Y_REG),
        lambda est: est.partial_fit(np.where(X > 1, np.nan, X), Y_REG),
    ),
    "a callback that raises": (
        lambda: _quiet(BackpropRegressor(**SMALL, warm_start=True).fit, X, Y_REG),
        lambda est: est.set_params(callbacks=[_Boom()]).fit(X, Y_REG),
    ),
    "refit diverging in its first epoch": (
        lambda: _quiet(BackpropRegressor(**SMALL, solver="sgd").fit, X, Y_REG),
        lambda est: est.fit(X, Y_REG * 1e200),
    ),
}


class _Boom:
    def on_epoch_end(self, est, logs):
        if logs["epoch"] == 2:
            raise RuntimeError("boom")


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_call_that_raises_leaves_the_estimator_exactly_as_it_was(case):
    make, fail = FAILURES[case]
    est = make()
    out = "predict_proba" if hasattr(est, "predict_proba") else "predict"
    before, predictions = _state(est), getattr(est, out)(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((ValueError, RuntimeError)):
            fail(est)
    est.set_params(callbacks=None, hidden_layer_sizes=(5,))  # undo the test's edit
    after = _state(est)
    assert after.keys() == before.keys()
    changed = [k for k in before if after[k] != before[k]]
    assert not changed, f"attributes changed by the failed call: {changed}"
    np.testing.assert_array_equal(getattr(est, out)(X), predictions)


def test_a_failed_first_fit_leaves_the_estimator_unfitted():
    est = BackpropClassifier(**SMALL)
    with pytest.raises(ValueError):
        est.fit(X, Y_MULTI, sample_weight=np.full(len(X), np.nan))
    with pytest.raises(NotFittedError):
        est.predict(X)
    assert not [k for k in vars(est) if k.endswith("_") and not k.startswith("_")]
