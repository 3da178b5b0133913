"""The early-stopping split: weightless sides, row order, no float64 copy of X.

(From tests/test_reliability_round2.py, issue 9.)
"""

import tracemalloc

import numpy as np
import pytest

from skbackprop import BackpropRegressor
from skbackprop._training.split import _canonical_order

SMALL = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)


# --------------------------- 11. float32 early stopping: no float64 copy of X
def test_early_stopping_split_of_float32_x_makes_no_float64_copy():
    X32 = np.random.RandomState(0).standard_normal((20000, 50)).astype(np.float32)
    Y = np.ones((len(X32), 1), dtype=np.float32)
    tracemalloc.start()
    _canonical_order(X32, Y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.5 * X32.nbytes, f"peak {peak} bytes for X of {X32.nbytes}"


@pytest.mark.parametrize("empty_side", ["training", "validation"])
def test_early_stopping_split_with_a_weightless_side_is_a_clear_error(empty_side):
    rng = np.random.RandomState(0)
    Xs = rng.standard_normal((100, 3))
    sw = np.zeros(100)
    sw[0] = 0.5
    seeds = {"training": 58, "validation": 59}  # splits with row 0 on that side
    est = BackpropRegressor(
        **{**SMALL, "random_state": seeds[empty_side]}, early_stopping=True
    )
    with pytest.raises(ValueError, match=f"the {empty_side} part"):
        est.fit(Xs, Xs[:, 0], sample_weight=sw)


def test_float32_early_stopping_split_ignores_row_order():
    rng = np.random.RandomState(0)
    X32 = rng.standard_normal((20000, 4)).astype(np.float32)
    Y = X32[:, :1] * 2
    order = _canonical_order(X32, Y)
    perm = rng.permutation(len(X32))
    again = _canonical_order(X32[perm], Y[perm])
    np.testing.assert_array_equal(perm[again], order)
