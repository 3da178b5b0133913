"""Inputs clipped at the signal limit: no overflow warnings, whatever X's dtype."""

import warnings

import numpy as np
import pytest

from skbackprop import BackpropRegressor
from skbackprop._core.limits import clip_extreme, signal_limit


@pytest.mark.parametrize("model_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64, np.int64])
def test_predict_takes_any_input_dtype_silently(model_dtype, x_dtype):
    rng = np.random.default_rng(0)
    X = rng.integers(-3, 4, (60, 3)).astype(model_dtype)
    model = BackpropRegressor(max_iter=50, random_state=0, tol=0, n_iter_no_change=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few iterations: ConvergenceWarning
        model.fit(X, X.sum(axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a float64 limit cast to float32 overflowed
        got = model.predict(X.astype(x_dtype))
    ref = model.predict(X)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_float32_entries_beyond_a_float32_limit_are_clipped():
    limit = signal_limit(np.float32, np)
    X = np.array([[1.0, 3e20, -3e20]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = clip_extreme(X, signal_limit(np.float64, np))  # a float64 model
        clipped = clip_extreme(X, limit)
    assert out is X  # float64's limit is beyond float32's range: nothing to clip
    np.testing.assert_array_equal(clipped, np.array([[1.0, limit, -limit]], np.float32))
    assert clipped is not X and X[0, 1] == np.float32(3e20)  # a copy, X untouched
