"""Targets: sparse ones train; the kind of target is fixed across continued calls.

(From tests/test_reliability_round2.py, issue 9.)
"""


import numpy as np
import pytest
import scipy.sparse as sp

from skbackprop import BackpropClassifier, BackpropRegressor
from tests._small_fits import SMALL, Y_BIN, Y_MULTI, Y_REG, X, _quiet, _state

Y_LABELS = np.column_stack([Y_REG > 0, X[:, 0] > 0, X[:, 1] > 0]).astype(np.int64)


# --------------------------------------------- 3. the kind of target is fixed
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_binary_model_refuses_a_two_column_indicator(how):
    est = _quiet(
        BackpropClassifier(**SMALL, warm_start=how == "warm_start").fit, X, Y_BIN
    )
    before = _state(est)
    indicator = np.column_stack([Y_BIN, 1 - Y_BIN])
    with pytest.raises(ValueError, match="not fitted with multilabel input"):
        if how == "partial_fit":
            est.partial_fit(X, indicator)
        else:
            est.fit(X, indicator)
    assert _state(est) == before


def test_multiclass_model_refuses_multilabel_y_clearly():
    est = _quiet(BackpropClassifier(**SMALL).fit, X, Y_MULTI)
    with pytest.raises(ValueError, match="not fitted with multilabel input"):
        est.partial_fit(X, Y_LABELS)


def test_multilabel_model_refuses_labels_and_other_columns():
    est = _quiet(BackpropClassifier(**SMALL).fit, X, Y_LABELS)
    with pytest.raises(ValueError, match="fitted with multilabel input"):
        est.partial_fit(X, Y_LABELS[:, 0])
    with pytest.raises(ValueError, match="3 label columns|fitted with 3"):
        est.partial_fit(X, Y_LABELS[:, :2])


def test_regressor_refuses_a_different_number_of_outputs():
    est = _quiet(BackpropRegressor(**SMALL).fit, X, np.column_stack([Y_REG, -Y_REG]))
    with pytest.raises(ValueError, match="fitted with 2"):
        est.partial_fit(X, Y_REG)


# ---------------------------------------------------- 6. sparse targets
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix])
def test_sparse_multilabel_y_trains_and_predicts_sparse(container):
    est = _quiet(BackpropClassifier(**SMALL).fit, X, container(Y_LABELS))
    dense = _quiet(BackpropClassifier(**SMALL).fit, X, Y_LABELS)
    pred = est.predict(X)
    assert sp.issparse(pred) and pred.shape == Y_LABELS.shape
    np.testing.assert_array_equal(pred.toarray(), dense.predict(X))
    np.testing.assert_allclose(est.predict_proba(X), dense.predict_proba(X))
    assert 0 <= est.score(X, container(Y_LABELS)) <= 1


def test_sparse_multi_output_regression_target_trains():
    Y = np.column_stack([Y_REG, -Y_REG])
    est = _quiet(BackpropRegressor(**SMALL).fit, X, sp.csr_matrix(Y))
    dense = _quiet(BackpropRegressor(**SMALL).fit, X, Y)
    np.testing.assert_array_equal(est.predict(X), dense.predict(X))
