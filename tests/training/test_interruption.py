"""Interruption (Ctrl-C) and failures mid-fit: the last completed epoch is kept.

Weights, optimizer state and records roll back together to the last completed
epoch (or batch of a partial_fit); the estimator predicts and continues. (From
tests/test_reliability.py, issue 4.)
"""


import numpy as np
import pytest

import skbackprop
from skbackprop.network import Network
from tests._small_fits import (
    Y_BIN,
    Y_MULTI,
    Y_REG,
    X,
    _estimator,
    _fitted,
    _quiet,
    _same,
    _state,
    _target,
    _weights,
)

# ------------------------------------------------------------------- helpers


def _fit_catching_interrupt(est, *args, **kwargs):
    """Fit; a KeyboardInterrupt escaping fit fails the test instead of the session."""
    try:
        return est.fit(*args, **kwargs)
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped fit: training was not ended cleanly")


class _InterruptAt:
    """Callback raising KeyboardInterrupt (Ctrl-C) at the end of one epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, est, logs):
        if logs["epoch"] == self.epoch:
            raise KeyboardInterrupt


# ============================================================== interruption
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_interrupt_in_callback_keeps_last_completed_epoch(kind, solver):
    """Ctrl-C at the end of epoch 3 keeps epoch 3's weights and warns."""
    est = _estimator(kind, solver=solver, max_iter=20, callbacks=[_InterruptAt(3)])
    with pytest.warns(UserWarning, match="(?i)interrupt") as record:
        _fit_catching_interrupt(est, X, _target(kind))
    reference = _fitted(kind, solver=solver, max_iter=3)
    assert est.n_iter_ == 3
    assert _same(_weights(est), _weights(reference))
    message = next(str(w.message) for w in record if "nterrupt" in str(w.message))
    assert "partial_fit" in message or "warm_start" in message, message


def test_interrupt_in_the_middle_of_an_epoch_keeps_the_previous_epoch(monkeypatch):
    """Ctrl-C during epoch 3's second batch restores the weights after epoch 2.

    The interrupt is injected into the generic path's per-batch
    ``Network.loss_gradient``, so the compiled kernels (which run batches in
    compiled calls, where Ctrl-C arrives when a call returns) are off here; the
    next test covers an interrupt after partial updates on either path, and
    test_interrupt_between_compiled_chunks_ends_the_epoch_there the kernels.
    """
    with skbackprop.config_context(kernels=False):
        calls = []
        original = Network.loss_gradient

        def loss_gradient(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 2 * 4 + 2:  # 4 batches of 15 rows per epoch
                raise KeyboardInterrupt
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Network, "loss_gradient", loss_gradient)
        est = _estimator("regressor", solver="sgd", batch_size=15, max_iter=20)
        with pytest.warns(UserWarning, match="(?i)interrupt"):
            _fit_catching_interrupt(est, X, Y_REG)
        monkeypatch.undo()
        reference = _fitted("regressor", solver="sgd", batch_size=15, max_iter=2)
    assert est.n_iter_ == 2
    assert _same(_weights(est), _weights(reference))


def test_interrupt_after_partial_updates_in_run_epoch(monkeypatch):
    """Ctrl-C inside _run_epoch after some updates undoes that epoch's changes."""
    est = _estimator("classifier", solver="adam", max_iter=20)
    original = est._run_epoch
    calls = []

    def run_epoch(net, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            net.params *= 1.5  # half an epoch of updates
            raise KeyboardInterrupt
        return original(net, *args, **kwargs)

    monkeypatch.setattr(est, "_run_epoch", run_epoch)
    with pytest.warns(UserWarning, match="(?i)interrupt"):
        _fit_catching_interrupt(est, X, Y_BIN)
    reference = _fitted("classifier", solver="adam", max_iter=2)
    assert est.n_iter_ == 2
    assert _same(_weights(est), _weights(reference))


def _optimizer_state(est):
    """The optimizer's state: momentum or moments, Adam's step count, the rate."""
    opt = est._optimizer
    names = ("m", "v") if hasattr(opt, "m") else ("velocity",)
    state = {name: np.array(getattr(opt, name), copy=True) for name in names}
    state.update(t=getattr(opt, "t", None), learning_rate=opt.learning_rate)
    return state


def _assert_same_optimizer_state(est, reference):
    got, expected = _optimizer_state(est), _optimizer_state(reference)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert np.array_equal(got[key], value), f"optimizer {key} differs"


def _assert_same_records(est, reference):
    """What the epochs recorded: counts, losses, norms."""
    assert est.n_iter_ == reference.n_iter_
    assert est.t_ == reference.t_
    assert est.loss_ == reference.loss_
    assert est.loss_curve_ == reference.loss_curve_
    assert est.best_loss_ == reference.best_loss_
    assert est._no_improvement_count == reference._no_improvement_count
    np.testing.assert_array_equal(est.gradient_norms_, reference.gradient_norms_)


def _interrupt_in_epoch(monkeypatch, kernels, epoch, batches_per_epoch):
    """Make Ctrl-C arrive in ``epoch`` after some of its steps were taken.

    Without kernels, in the second batch's gradient (one step of the epoch
    taken). With kernels, when the compiled call that trains the epoch returns:
    where Python sees a Ctrl-C pressed while compiled code runs.
    """
    calls = []
    if not kernels:
        original = Network.loss_gradient

        def loss_gradient(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == (epoch - 1) * batches_per_epoch + 2:
                raise KeyboardInterrupt
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Network, "loss_gradient", loss_gradient)
        return
    from skbackprop._kernels import epoch as _kernels_epoch

    original = _kernels_epoch.run_epoch

    def run_epoch(*args, **kwargs):
        calls.append(1)
        result = original(*args, **kwargs)
        if len(calls) == epoch:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(_kernels_epoch, "run_epoch", run_epoch)


@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "kernels"])
@pytest.mark.parametrize(
    "solver, schedule", [("sgd", "invscaling"), ("sgd", "adaptive"), ("adam", None)]
)
def test_interrupt_mid_epoch_rolls_the_optimizer_back_with_the_weights(
    monkeypatch, kernels, solver, schedule
):
    """Ctrl-C in epoch 4 keeps epoch 3: weights, optimizer state, records.

    The optimizer's state (SGD's velocity, Adam's moments and step count, the
    learning rate its schedule reached) must be the one that goes with the kept
    weights, so that training continues as from an uninterrupted 3-epoch fit.
    """
    params = dict(solver=solver, batch_size=15, max_iter=20)
    if schedule is not None:
        params.update(learning_rate=schedule)
    if schedule == "adaptive":
        # The training loss "stalls" at once: the rate is divided after epoch 3.
        params.update(n_iter_no_change=1, tol=10.0)
    with skbackprop.config_context(kernels=kernels):
        _interrupt_in_epoch(monkeypatch, kernels, epoch=4, batches_per_epoch=4)
        est = _estimator("regressor", **params)
        with pytest.warns(UserWarning, match="(?i)interrupt"):
            _fit_catching_interrupt(est, X, Y_REG)
        monkeypatch.undo()
        reference = _estimator("regressor", **{**params, "max_iter": 3})
        _quiet(reference.fit, X, Y_REG)
        _assert_same_records(est, reference)
        assert _same(_weights(est), _weights(reference))
        _assert_same_optimizer_state(est, reference)
        for model in (est, reference):
            _quiet(model.partial_fit, X, Y_REG)
        assert _same(_weights(est), _weights(reference))
        _assert_same_optimizer_state(est, reference)


@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "kernels"])
def test_interrupt_during_epoch_bookkeeping_rolls_the_whole_epoch_back(
    monkeypatch, kernels
):
    """Ctrl-C after epoch 3's steps, before its records are complete: epoch 2."""
    params = dict(solver="sgd", learning_rate="invscaling", batch_size=15, max_iter=20)
    with skbackprop.config_context(kernels=kernels):
        est = _estimator("regressor", **params)
        original = est._end_epoch

        def end_epoch(net, val):
            if est.n_iter_ == 3:
                raise KeyboardInterrupt
            return original(net, val)

        monkeypatch.setattr(est, "_end_epoch", end_epoch)
        with pytest.warns(UserWarning, match="(?i)interrupt"):
            _fit_catching_interrupt(est, X, Y_REG)
        monkeypatch.undo()
        reference = _estimator("regressor", **{**params, "max_iter": 2})
        _quiet(reference.fit, X, Y_REG)
    _assert_same_records(est, reference)
    assert _same(_weights(est), _weights(reference))
    _assert_same_optimizer_state(est, reference)


@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "kernels"])
def test_interrupted_partial_fit_does_not_count_its_batch(monkeypatch, kernels):
    """An interrupted partial_fit trained on nothing: "balanced" class counts too.

    The counts accumulate over the batches trained on (as ``t_``), so the next
    partial_fit weighs its classes as if the interrupted call had not happened.
    """
    params = dict(solver="sgd", batch_size=15, class_weight="balanced")
    classes, half = np.unique(Y_MULTI), slice(0, 30)
    with skbackprop.config_context(kernels=kernels):
        est = _estimator("classifier", **params)
        reference = _estimator("classifier", **params)
        for model in (est, reference):
            model.partial_fit(X[half], Y_MULTI[half], classes=classes)
        _interrupt_in_epoch(monkeypatch, kernels, epoch=1, batches_per_epoch=4)
        with pytest.warns(UserWarning, match="(?i)interrupt"):
            est.partial_fit(X, Y_MULTI)
        monkeypatch.undo()
        assert est.t_ == reference.t_
        assert _same(_weights(est), _weights(reference))
        for model in (est, reference):
            model.partial_fit(X, Y_MULTI)
    assert _same(_weights(est), _weights(reference))
    _assert_same_optimizer_state(est, reference)


class _RaiseAt(_InterruptAt):
    """Callback raising an error (not Ctrl-C) at the end of one epoch."""

    def on_epoch_end(self, est, logs):
        if logs["epoch"] == self.epoch:
            raise RuntimeError("callback failed")


@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "kernels"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_failed_call_leaves_the_optimizer_as_it_was(kernels, solver):
    """A partial_fit or warm-start fit that raises restores the optimizer too."""
    params = dict(solver=solver, batch_size=15, learning_rate_init=0.01)
    with skbackprop.config_context(kernels=kernels):
        est = _fitted("regressor", **params)
        reference = _fitted("regressor", **params)
        before, state = _state(est), _optimizer_state(est)
        est.set_params(callbacks=[_RaiseAt(1)])
        with pytest.raises(RuntimeError, match="callback failed"):
            est.partial_fit(X, Y_REG)
        est.set_params(warm_start=True, callbacks=[_RaiseAt(2)])
        with pytest.raises(RuntimeError, match="callback failed"):
            est.fit(X, Y_REG)
        est.set_params(warm_start=False, callbacks=None)
        assert _state(est).keys() == before.keys()
        assert _same(_weights(est), _weights(reference))
        _assert_same_records(est, reference)
        after = _optimizer_state(est)
        assert all(np.array_equal(after[k], v) for k, v in state.items())
        for model in (est, reference):
            _quiet(model.partial_fit, X, Y_REG)
        assert _same(_weights(est), _weights(reference))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_interrupt_between_compiled_chunks_ends_the_epoch_there(monkeypatch, solver):
    """With kernels, Ctrl-C is taken between compiled calls, within the epoch.

    A Ctrl-C pressed while compiled code runs reaches Python when the call
    returns; the epoch runs in chunks of batches (here one per call), so no
    further chunk runs, and the fit ends as on the numpy path: epoch 2's
    weights, optimizer state and records, and the warning.
    """
    from skbackprop._kernels import epoch as _kernels_epoch

    monkeypatch.setattr(_kernels_epoch, "CHUNK_SECONDS", 0.0)  # a batch per call
    calls, original = [], _kernels_epoch._epoch

    def compiled_call(*args):
        calls.append(args[-1][:2])  # (first batch, stop)
        result = original(*args)
        if len(calls) == 2 * 4 + 2:  # 4 batches of 15 rows per epoch
            raise KeyboardInterrupt  # as Python raises it when the call returns
        return result

    monkeypatch.setattr(_kernels_epoch, "_epoch", compiled_call)
    params = dict(solver=solver, batch_size=15, max_iter=20)
    with skbackprop.config_context(kernels=True):
        est = _estimator("regressor", **params)
        with pytest.warns(UserWarning, match="(?i)interrupt.*last completed"):
            _fit_catching_interrupt(est, X, Y_REG)
        monkeypatch.undo()
        reference = _estimator("regressor", **{**params, "max_iter": 2})
        _quiet(reference.fit, X, Y_REG)
    assert calls[-2:] == [(0, 1), (1, 2)]  # epoch 3 stopped after its 2nd batch
    _assert_same_records(est, reference)
    assert _same(_weights(est), _weights(reference))
    _assert_same_optimizer_state(est, reference)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_interrupt_under_early_stopping_keeps_best_weights(kind):
    """Ctrl-C under early stopping keeps the best epoch seen so far."""
    params = dict(solver="sgd", learning_rate_init=0.05, early_stopping=True)
    est = _estimator(kind, max_iter=30, callbacks=[_InterruptAt(6)], **params)
    with pytest.warns(UserWarning, match="(?i)interrupt"):
        _fit_catching_interrupt(est, X, _target(kind))
    # An uninterrupted fit of 6 epochs also ends on the best epoch's weights.
    reference = _fitted(kind, max_iter=6, **params)
    assert _same(_weights(est), _weights(reference))
    assert est.best_validation_score_ == reference.best_validation_score_


def test_interrupt_warning_under_early_stopping_suggests_only_what_works():
    """With early stopping (no partial_fit) the Ctrl-C warning offers warm_start."""
    est = _estimator(
        "classifier", solver="sgd", early_stopping=True, callbacks=[_InterruptAt(2)]
    )
    with pytest.warns(UserWarning, match="(?i)interrupt") as record:
        _fit_catching_interrupt(est, X, Y_BIN)
    message = next(str(w.message) for w in record if "nterrupt" in str(w.message))
    assert "warm_start" in message, message
    assert "partial_fit" not in message, message


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_interrupted_estimator_predicts_and_continues(kind):
    """After Ctrl-C the model predicts, and partial_fit/warm_start continue exactly."""
    target = _target(kind)

    def interrupted():
        est = _estimator(kind, solver="sgd", max_iter=20, callbacks=[_InterruptAt(3)])
        with pytest.warns(UserWarning, match="(?i)interrupt"):
            _fit_catching_interrupt(est, X, target)
        return est.set_params(callbacks=None)

    est = interrupted()
    assert np.isfinite(est.predict(X).astype(float)).all()
    reference = _fitted(kind, solver="sgd", max_iter=3)
    np.testing.assert_array_equal(est.predict(X), reference.predict(X))

    est.partial_fit(X, target)
    reference.partial_fit(X, target)
    assert est.n_iter_ == reference.n_iter_
    assert _same(_weights(est), _weights(reference))

    est, reference = interrupted(), _fitted(kind, solver="sgd", max_iter=3)
    for model in (est, reference):
        _quiet(model.set_params(warm_start=True, max_iter=2).fit, X, target)
    assert _same(_weights(est), _weights(reference))
    assert len(est.loss_curve_) == 5


def test_interrupt_during_lbfgs_keeps_last_iterate_and_continues():
    """Ctrl-C in an lbfgs callback keeps that iterate, warns, and warm_start works."""
    est = _estimator(
        "classifier", solver="lbfgs", max_iter=50, callbacks=[_InterruptAt(3)]
    )
    with pytest.warns(UserWarning, match="(?i)interrupt"):
        _fit_catching_interrupt(est, X, Y_BIN)
    reference = _fitted("classifier", solver="lbfgs", max_iter=3)
    assert _same(_weights(est), _weights(reference))
    assert np.isfinite(est.predict_proba(X)).all()
    _quiet(est.set_params(callbacks=None, warm_start=True).fit, X, Y_BIN)
    assert est.n_iter_ >= 1
