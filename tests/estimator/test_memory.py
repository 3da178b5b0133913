"""Memory: memory order and memory peaks match scikit-learn's.

(From tests/test_reliability_round2.py, issue 9.)
"""

import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skbackprop import BackpropClassifier, BackpropRegressor

SMALL = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kwargs)


# ------------------------------------------------ 5. column-major X, one copy
def test_fortran_ordered_x_is_made_row_major_once_and_trains_the_same():
    Xf = np.asfortranarray(np.random.RandomState(1).standard_normal((300, 6)))
    y = Xf @ np.arange(6.0)
    est = BackpropRegressor(**SMALL)
    net, X_fit, *_ = est._prepare(Xf, y, None, incremental=False)
    assert X_fit.flags.c_contiguous
    c_fit = _quiet(BackpropRegressor(**SMALL).fit, np.ascontiguousarray(Xf), y)
    f_fit = _quiet(BackpropRegressor(**SMALL).fit, Xf, y)
    for a, b in zip(c_fit.coefs_, f_fit.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------- 12. predict_proba memory peak
def test_predict_proba_peak_memory_is_no_more_than_sklearns():
    rng = np.random.RandomState(0)
    Xs, ys = rng.standard_normal((500, 20)), rng.randint(0, 3, 500)
    ours = _quiet(
        BackpropClassifier(hidden_layer_sizes=(256,), **{"max_iter": 2}).fit, Xs, ys
    )
    theirs = _quiet(MLPClassifier(hidden_layer_sizes=(256,), max_iter=2).fit, Xs, ys)
    Xp = rng.standard_normal((20000, 20))
    peaks = []
    for est in (ours, theirs):
        est.predict_proba(Xp[:5])
        tracemalloc.start()
        est.predict_proba(Xp)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[0] <= 1.05 * peaks[1], peaks
