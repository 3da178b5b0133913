"""The stopping rule on its own (issue 19): EarlyStoppingState without a fit.

The training-loss criterion, the validation criterion (score or loss, ties
decided by the loss), ``tol``, ``n_iter_no_change``, the best weights and their
restoring, the switches of criterion under ``warm_start``, and the record: the
estimator's attributes under scikit-learn's names. Two fits at the end check that
replaying a fit's curves through a fresh state gives the fit's own bookkeeping.
"""

import types

import numpy as np
import pytest

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._training.early_stopping import EarlyStoppingState


def _training(tol=0.1, n_iter_no_change=2):
    state = EarlyStoppingState(tol=tol, n_iter_no_change=n_iter_no_change)
    state.start()
    return state


def _validation(tol=0.1, n_iter_no_change=2, **kwargs):
    state = EarlyStoppingState(
        tol=tol, n_iter_no_change=n_iter_no_change, validation=True, **kwargs
    )
    state.start()
    return state


def _losses(state, losses):
    """Append each loss to the curve and judge it, as the epoch loop does."""
    for loss in losses:
        state.loss_curve.append(loss)
        state.record_loss(loss)


# ------------------------------------------------------ training-loss criterion
def test_a_fresh_training_state_has_no_best_and_no_count():
    state = _training()
    assert state.loss_curve == []
    assert state.best_loss == np.inf
    assert state.no_improvement_count == 0
    assert state.validation_scores is None and state.best_validation_score is None
    assert state.best_params is None and not state.stalled()


def test_a_loss_lower_by_more_than_tol_is_an_improvement():
    state = _training(tol=0.1)
    _losses(state, [1.0, 0.8])
    assert state.best_loss == 0.8 and state.no_improvement_count == 0


def test_a_loss_lower_by_less_than_tol_counts_as_none_but_is_the_best():
    state = _training(tol=0.1)
    _losses(state, [1.0, 0.95])
    assert state.no_improvement_count == 1
    assert state.best_loss == 0.95  # the reference still moves down


def test_a_higher_loss_counts_and_keeps_the_best():
    state = _training(tol=0.0)
    _losses(state, [1.0, 1.5])
    assert state.no_improvement_count == 1 and state.best_loss == 1.0


def test_an_improvement_resets_the_count():
    state = _training(tol=0.1)
    _losses(state, [1.0, 1.0, 1.0, 0.5])
    assert state.no_improvement_count == 0 and state.best_loss == 0.5


@pytest.mark.parametrize("n_iter_no_change", [1, 2, 5])
def test_stalled_after_more_than_n_iter_no_change_epochs(n_iter_no_change):
    state = _training(tol=0.1, n_iter_no_change=n_iter_no_change)
    _losses(state, [1.0])
    for _ in range(n_iter_no_change):
        _losses(state, [1.0])
        assert not state.stalled()
    _losses(state, [1.0])
    assert state.stalled()
    assert state.no_improvement_count == n_iter_no_change + 1


def test_infinite_n_iter_no_change_never_stalls():
    state = _training(n_iter_no_change=np.inf)
    _losses(state, [1.0] * 50)
    assert state.no_improvement_count == 49 and not state.stalled()


def test_carry_on_counts_afresh_after_a_stall():
    state = _training(n_iter_no_change=1)
    _losses(state, [1.0, 1.0, 1.0])
    assert state.stalled()
    state.carry_on()
    assert state.no_improvement_count == 0 and not state.stalled()


def test_the_message_names_the_criterion_tol_and_epochs():
    assert _training(tol=0.25, n_iter_no_change=3).message() == (
        "Training loss did not improve more than tol=0.250000 for 3 consecutive epochs."
    )
    assert (
        _validation(tol=0.25, n_iter_no_change=3)
        .message()
        .startswith("Validation score did not improve more than tol=0.250000")
    )


# --------------------------------------------------------- validation criterion
def test_a_fresh_validation_state_has_empty_records_and_no_trained_best():
    state = _validation()
    assert state.validation_scores == [] and state.validation_losses == []
    assert state.best_validation_score == -np.inf
    assert state.best_criterion == -np.inf
    assert state.best_validation_loss == np.inf
    assert state.best_loss is None  # as scikit-learn's MLP with early stopping
    assert state.best_params is None and state.trained_best() is None


def test_begin_validation_takes_the_starting_weights_as_the_best():
    state = _validation()
    params = np.arange(4.0)
    state.begin_validation(params)
    assert np.array_equal(state.best_params, params)
    assert not np.shares_memory(state.best_params, params)
    # Before any epoch was scored the "best" weights are not trained ones.
    assert state.trained_best() is None


def test_begin_validation_keeps_a_best_of_the_same_shape_only():
    state = _validation()
    state.begin_validation(np.zeros(4))
    state.begin_validation(np.ones(4))  # a continued fit: the best stays
    assert np.array_equal(state.best_params, np.zeros(4))
    state.begin_validation(np.ones(6))  # another network: it is replaced
    assert np.array_equal(state.best_params, np.ones(6))


def test_a_better_score_is_kept_with_a_copy_of_its_weights():
    state = _validation(tol=0.1)
    params = np.zeros(3)
    state.begin_validation(params)
    params[:] = 1.0
    state.record_validation(0.5, 2.0, params)
    params[:] = 2.0  # training goes on: the copy does not follow
    assert state.validation_scores == [0.5] and state.validation_losses == [2.0]
    assert state.best_validation_score == 0.5 and state.best_criterion == 0.5
    assert state.best_validation_loss == 2.0
    assert np.array_equal(state.trained_best(), np.ones(3))
    assert state.no_improvement_count == 0


def test_a_better_score_by_less_than_tol_is_the_best_but_counts_as_none():
    state = _validation(tol=0.1)
    state.begin_validation(np.zeros(2))
    state.record_validation(0.5, 1.0, np.ones(2))
    state.record_validation(0.55, 0.9, np.full(2, 2.0))
    assert state.no_improvement_count == 1
    assert state.best_validation_score == 0.55
    assert np.array_equal(state.best_params, np.full(2, 2.0))


def test_a_worse_score_counts_and_keeps_the_best_weights():
    state = _validation(tol=0.0)
    state.begin_validation(np.zeros(2))
    state.record_validation(0.9, 0.1, np.ones(2))
    state.record_validation(0.7, 0.3, np.full(2, 5.0))
    assert state.no_improvement_count == 1 and state.best_validation_score == 0.9
    assert np.array_equal(state.best_params, np.ones(2))


def test_with_the_loss_metric_a_lower_validation_loss_is_better():
    state = _validation(tol=0.05, metric="loss")
    state.begin_validation(np.zeros(2))
    state.record_validation(0.1, 1.0, np.ones(2))  # score ignored
    state.record_validation(0.9, 1.5, np.full(2, 2.0))
    assert state.best_criterion == -1.0 and state.no_improvement_count == 1
    assert np.array_equal(state.best_params, np.ones(2))
    state.record_validation(0.0, 0.5, np.full(2, 3.0))
    assert state.best_criterion == -0.5 and state.no_improvement_count == 0
    assert state.best_validation_score == 0.0  # the best epoch's score
    assert np.array_equal(state.best_params, np.full(2, 3.0))


def test_ties_of_the_score_are_decided_by_the_loss_when_asked():
    for ties_by_loss, expected in ((False, np.ones(2)), (True, np.full(2, 2.0))):
        state = _validation(tol=0.01, ties_by_loss=ties_by_loss)
        state.begin_validation(np.zeros(2))
        state.record_validation(1.0, 0.5, np.ones(2))
        state.record_validation(1.0, 0.2, np.full(2, 2.0))  # same score, lower loss
        assert np.array_equal(state.best_params, expected)
        assert state.no_improvement_count == (0 if ties_by_loss else 1)


def test_a_tie_decided_by_the_loss_keeps_the_top_score_as_reference():
    state = _validation(tol=0.01, ties_by_loss=True)
    state.begin_validation(np.zeros(2))
    state.record_validation(1.0, 0.5, np.ones(2))
    state.record_validation(0.995, 0.2, np.full(2, 2.0))  # within tol, lower loss
    assert state.best_validation_score == 0.995
    assert state.best_criterion == 1.0  # cannot drift down
    assert state.best_validation_loss == 0.2


def test_nan_scores_never_improve():
    state = _validation(tol=0.0)
    state.begin_validation(np.zeros(2))
    state.record_validation(0.5, 1.0, np.ones(2))
    state.record_validation(np.nan, np.nan, np.full(2, 9.0))
    assert state.no_improvement_count == 1
    assert np.array_equal(state.best_params, np.ones(2))


def test_restore_best_writes_the_best_weights_in_place():
    state = _validation()
    params = np.zeros(3)
    state.begin_validation(params)
    state.record_validation(0.8, 0.2, np.array([1.0, 2.0, 3.0]))
    params += 7.0
    view = params
    state.restore_best(params)
    assert view is params and np.array_equal(params, [1.0, 2.0, 3.0])


# ---------------------------------------------------- continuation (warm_start)
def test_switching_to_validation_starts_its_own_records():
    state = _training()
    _losses(state, [1.0, 0.5])
    state.validation = True
    state.resume(stochastic=True, network_changed=False, loss_changed=False)
    assert state.validation_scores == [] and state.best_loss is None
    assert state.best_criterion == -np.inf and state.no_improvement_count == 0
    assert state.loss_curve == [1.0, 0.5]  # the training record goes on


def test_switching_back_takes_the_lowest_loss_of_the_curve_as_best():
    state = _validation()
    state.loss_curve.extend([3.0, 1.0, 2.0])
    state.validation = False
    state.resume(stochastic=True, network_changed=False, loss_changed=False)
    assert state.best_loss == 1.0 and state.validation_scores is None
    assert state.best_validation_score is None and state.no_improvement_count == 0


def test_an_unchanged_continuation_keeps_everything():
    state = _training()
    _losses(state, [1.0, 1.0])
    state.resume(stochastic=True, network_changed=False, loss_changed=False)
    assert state.best_loss == 1.0 and state.no_improvement_count == 1


def test_a_changed_loss_restarts_the_training_loss_reference():
    state = _training()
    _losses(state, [0.01, 0.01])
    state.resume(stochastic=True, network_changed=True, loss_changed=True)
    assert state.best_loss == np.inf and state.no_improvement_count == 0


def test_a_changed_network_forgets_the_best_validation_weights():
    state = _validation()
    state.begin_validation(np.zeros(2))
    state.record_validation(0.9, 0.1, np.ones(2))
    state.resume(stochastic=True, network_changed=True, loss_changed=False)
    assert state.best_params is None and state.trained_best() is None
    assert state.best_criterion == -np.inf and state.best_validation_loss == np.inf
    assert state.best_validation_score == -np.inf
    assert state.validation_scores == [0.9]  # the records stay


def test_lbfgs_keeps_no_stopping_records():
    state = EarlyStoppingState()
    state.start(stochastic=False)
    assert vars(state.record) == {"_best_params": None}


# --------------------------------------------------------------- the record
def test_the_state_lives_in_the_records_attributes_under_sklearn_names():
    record = types.SimpleNamespace()
    state = EarlyStoppingState(record, tol=0.0, n_iter_no_change=1)
    state.start()
    state.loss_curve.append(2.0)
    state.record_loss(2.0)
    assert record.best_loss_ == 2.0 and record._no_improvement_count == 0
    assert record.loss_curve_ == [2.0] and record.validation_scores_ is None
    record._no_improvement_count = 5  # written from outside: read back
    assert state.stalled()


def test_of_reads_the_estimators_current_parameters():
    est = BackpropClassifier(
        tol=0.5, n_iter_no_change=3, early_stopping=True, class_weight="balanced"
    )
    state = EarlyStoppingState.of(est)
    assert state.record is est
    assert (state.tol, state.n_iter_no_change, state.validation) == (0.5, 3, True)
    assert state.ties_by_loss
    assert not EarlyStoppingState.of(
        est.set_params(validation_metric="loss")
    ).ties_by_loss
    assert not EarlyStoppingState.of(BackpropRegressor()).ties_by_loss


# --------------------------------------------- replaying a fit's own curves
def test_replaying_a_fits_training_losses_gives_its_bookkeeping():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 3))
    y = X @ [1.0, -1.0, 0.5]
    est = BackpropRegressor(
        hidden_layer_sizes=(5,),
        solver="sgd",
        tol=0.05,
        n_iter_no_change=3,
        max_iter=200,
        random_state=0,
    ).fit(X, y)
    assert est.n_iter_ < 200  # it stopped on the rule
    state = _training(tol=0.05, n_iter_no_change=3)
    _losses(state, est.loss_curve_)
    assert state.best_loss == est.best_loss_
    assert state.no_improvement_count == est._no_improvement_count == 4


def test_replaying_a_fits_validation_scores_gives_its_best():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((120, 3))
    y = (X[:, 0] > 0).astype(int)
    est = BackpropClassifier(
        hidden_layer_sizes=(5,),
        early_stopping=True,
        n_iter_no_change=4,
        max_iter=60,
        random_state=0,
    ).fit(X, y)
    state = _validation(tol=est.tol, n_iter_no_change=4)
    state.begin_validation(np.zeros(1))
    for score, loss in zip(
        est.validation_scores_, est.validation_loss_curve_, strict=True
    ):
        state.record_validation(score, loss, np.zeros(1))
    assert state.best_validation_score == est.best_validation_score_
    assert state.no_improvement_count == est._no_improvement_count
