"""Early stopping on small data, its error messages, and class weights (issue 8)."""

import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor

SMALL = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0)


def _quiet_fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


def test_input_errors_come_before_the_validation_split():
    """NaN in 10 rows is named as NaN, not as a too-small validation set."""
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(10, 3)), np.array([0, 1] * 5)
    X[0, 0] = np.nan
    for est in (BackpropClassifier(early_stopping=True), BackpropRegressor()):
        with pytest.raises(ValueError, match="NaN"):
            est.set_params(early_stopping=True).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        BackpropClassifier(early_stopping=True).fit(
            np.nan_to_num(X), y, sample_weight=np.ones(3)
        )


@pytest.mark.parametrize("n_classes", [2, 3])
def test_ten_rows_with_default_fraction_hold_out_the_minimum(n_classes):
    """0.1 of 10 rows is 1: the validation set grows to its minimum, 2 rows.

    (Binary targets are stratified, as in scikit-learn, so the 2 rows are one of
    each class; multiclass targets are not stratified.)
    """
    rng = np.random.RandomState(0)
    X = rng.normal(size=(10, 1))
    y = np.arange(10) % n_classes
    est = _quiet_fit(BackpropClassifier(**SMALL, early_stopping=True), X, y)
    held_out = 10 - est.t_ // est.n_iter_
    assert held_out == 2
    assert len(est.validation_scores_) == est.n_iter_
    assert np.isfinite(est.predict_proba(X)).all()
    reg = _quiet_fit(BackpropRegressor(**SMALL, early_stopping=True), X, y * 1.0)
    assert 10 - reg.t_ // reg.n_iter_ == 2


def test_too_small_validation_set_uses_sklearns_words_then_ours():
    X, y = np.random.RandomState(0).normal(size=(2, 5)), np.array([0.5, 1.5])
    with pytest.raises(ValueError) as exc:
        BackpropRegressor(early_stopping=True).fit(X, y)
    message = str(exc.value)
    assert message.startswith(
        "The validation set is too small. Increase 'validation_fraction' or the "
        "size of your dataset."
    )
    assert "early_stopping=False" in message and "leaves 0 for training" in message


def test_empty_training_set_is_named_as_the_training_set():
    """validation_fraction=0.99 of 4 rows: it is the training set that is empty."""
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError) as exc:
        BackpropRegressor(early_stopping=True, validation_fraction=0.99).fit(
            X, np.arange(4.0)
        )
    message = str(exc.value)
    assert message.startswith("The training set is too small.")
    assert "validation_fraction=0.99" in message


def test_one_member_class_uses_sklearns_words_then_ours():
    X = [[1, 2], [2, 3], [3, 4], [4, 5]]
    with pytest.raises(ValueError) as exc:
        BackpropClassifier(early_stopping=True).fit(X, [0, 0, 0, 1])
    message = str(exc.value)
    # scikit-learn's own sentence (singular before 1.8).
    sklearn_words = r"The least populated class(es)? in y ha(s|ve) only 1 member"
    assert re.match(sklearn_words, message)
    assert "at least 2 samples" in message and "early_stopping=False" in message


@pytest.mark.parametrize("cls", [BackpropClassifier, BackpropRegressor])
def test_partial_fit_with_early_stopping_is_a_value_error_and_absent(cls):
    """scikit-learn raises ValueError; hasattr stays False and says why."""
    X = np.random.RandomState(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    est = _quiet_fit(cls(**SMALL, early_stopping=True), X, y)
    assert not hasattr(est, "partial_fit")
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        est.partial_fit(X, y)
    with pytest.raises(AttributeError, match="early_stopping=False"):
        est.partial_fit(X, y)


def test_class_weight_ties_of_the_score_are_decided_by_the_weighted_loss():
    """Weighted accuracy saturates under extreme class weights; the loss decides.

    Without class weights the stopping rule is scikit-learn's (score only); with
    them, an epoch tying the best score but with a lower weighted validation loss
    is an improvement, so training goes on until the weighted loss stalls.
    """
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.8 * rng.normal(size=200) > 0).astype(int)
    params = dict(SMALL, max_iter=500, early_stopping=True, learning_rate_init=0.01)
    weights = {0: 1000.0, 1: 1e-4}
    est = _quiet_fit(BackpropClassifier(**params, class_weight=weights), X, y)
    scores = np.array(est.validation_scores_)
    losses = np.array(est.validation_loss_curve_)
    first_top = int(np.argmax(scores >= scores.max() - est.tol))
    # The score reached its top early, yet training went on while the loss fell.
    assert est.n_iter_ > first_top + est.n_iter_no_change + 1
    best = int(np.argmin(np.where(scores >= scores.max() - est.tol, losses, np.inf)))
    assert est.best_validation_score_ == scores[best]
    # Under these weights the model predicts class 0 nearly everywhere.
    assert np.mean(est.predict(X) == 0) > 0.9


def test_partial_fit_with_early_stopping_raises_a_public_exception_class():
    # The error's class is shown in every traceback: it must be one a user can
    # import and catch by its documented name, not a private helper.
    import importlib

    est = _quiet_fit(BackpropRegressor(**SMALL, early_stopping=True), *_reg_data())
    with pytest.raises(ValueError) as info:
        est.partial_fit(*_reg_data())
    cls = type(info.value)
    shown = f"{cls.__module__}.{cls.__qualname__}"
    assert not any(part.startswith("_") for part in shown.split(".")), shown
    assert getattr(importlib.import_module(cls.__module__), cls.__qualname__) is cls
    assert issubclass(cls, AttributeError)


def _reg_data():
    X = np.random.RandomState(0).normal(size=(40, 3))
    return X, X[:, 0]
