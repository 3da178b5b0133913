"""Reliability, round 2 (issue 9): one regression test per defect, named after it.

A call that fails changes nothing; a call that returns leaves a model that
predicts finitely; structure and target changes between calls are honoured or
refused clearly; memory order and memory peaks match scikit-learn's.
"""

import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import InvalidParameterError

from skbackprop import BackpropClassifier, BackpropRegressor, check_gradient
from skbackprop._training.split import _canonical_order
from skbackprop.activations import ACTIVATIONS, Activation
from skbackprop.network import signal_bound

RNG = np.random.RandomState(0)
X = RNG.standard_normal((60, 3))
Y_REG = X @ np.array([1.0, 2.0, -1.0]) + 0.1 * RNG.standard_normal(60)
Y_BIN = (Y_REG > 0).astype(np.int64)
Y_MULTI = np.digitize(Y_REG, [-1.0, 1.0])
Y_LABELS = np.column_stack([Y_REG > 0, X[:, 0] > 0, X[:, 1] > 0]).astype(np.int64)
SMALL = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kwargs)


def _state(est):
    """Every attribute of ``est`` as pickled bytes: equal means bit-identical."""
    return {key: pickle.dumps(value) for key, value in vars(est).items()}


# ------------------------------------------------- 1. no NaN after a return
def _overflowing_regression():
    rng = np.random.RandomState(0)
    Xo = rng.standard_normal((200, 5))
    return Xo, Xo @ rng.standard_normal(5) * 3


def test_fit_that_returns_predicts_finitely_on_its_training_data():
    """The issue's case: epoch 6's weights are finite but overflow in predict."""
    Xo, yo = _overflowing_regression()
    est = BackpropRegressor(
        hidden_layer_sizes=(20,),
        activation="identity",
        solver="sgd",
        learning_rate_init=1.0,
        max_iter=6,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(Xo, yo)
        except ValueError as err:  # no trained finite weights: allowed, said so
            assert "non-finite" in str(err)
            with pytest.raises(NotFittedError):
                est.predict(Xo)
            return
    assert np.isfinite(est.predict(Xo)).all()
    assert any("diverged" in str(w.message) for w in caught)


def test_every_partial_fit_call_ends_predicting_finitely():
    Xo, yo = _overflowing_regression()
    est = BackpropRegressor(
        hidden_layer_sizes=(20,),
        activation="identity",
        solver="sgd",
        learning_rate_init=1e-3,
        random_state=0,
    )
    est.partial_fit(Xo, yo)
    est.set_params(learning_rate_init=1.0)
    warned = 0
    for _ in range(8):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.partial_fit(Xo, yo)
        warned += sum("diverged" in str(w.message) for w in caught)
        assert np.isfinite(est.predict(Xo)).all()
    assert warned >= 1


# ------------------------------------ 2. SGD trains again after a divergence
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_training_goes_on_after_a_diverged_partial_fit(solver):
    est = BackpropRegressor(
        hidden_layer_sizes=(8,), solver=solver, learning_rate_init=1e-3, random_state=0
    )
    est.partial_fit(X, Y_REG)
    est.set_params(learning_rate_init=1e12)
    with pytest.warns(ConvergenceWarning, match="optimizer's state") as record:
        for _ in range(3):
            est.partial_fit(X * 1e100, Y_REG)
    assert sum("diverged" in str(w.message) for w in record) == 3
    before = [c.copy() for c in est.coefs_]
    est.set_params(learning_rate_init=1e-4)
    est.partial_fit(X, Y_REG)
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, est.coefs_, strict=True)
    )
    assert np.isfinite(est.score(X, Y_REG))
    assert est._optimizer.learning_rate_init == 1e-4


def test_partial_fit_honours_a_new_learning_rate():
    """set_params between partial_fit calls changes the step, momentum kept."""
    est = BackpropRegressor(**{**SMALL, "solver": "sgd", "learning_rate_init": 0.01})
    est.partial_fit(X, Y_REG)
    velocity = est._optimizer.velocity.copy()
    est.set_params(learning_rate_init=0.001)
    same = clone(est).set_params(learning_rate_init=0.01)
    same.partial_fit(X, Y_REG)
    est.partial_fit(X, Y_REG)
    assert est._optimizer.learning_rate == 0.001
    assert not np.array_equal(est._optimizer.velocity, velocity)


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


# --------------------------------------------- 8. float32 Poisson extremes
def test_float32_poisson_predictions_stay_finite_for_extreme_inputs():
    X32 = X.astype(np.float32)
    est = _quiet(BackpropRegressor(**SMALL, loss="poisson").fit, X32, np.exp(Y_REG / 3))
    extreme = np.array([[1e30, 1e30, 1e30], [-1e30, 1e30, -1e30]], dtype=np.float32)
    est.coefs_[-1][...] = np.abs(est.coefs_[-1]) * 1e3  # push the output up
    pred = est.predict(extreme)
    assert pred.dtype == np.float32 and np.isfinite(pred).all()


# ------------------------------------ 9. set_params between continued fits
def test_changed_activation_is_honoured_under_warm_start():
    est = _quiet(BackpropRegressor(**SMALL, warm_start=True).fit, X, Y_REG)
    coefs = [c.copy() for c in est.coefs_]
    est.set_params(activation="tanh", max_iter=1, learning_rate_init=1e-300)
    _quiet(est.fit, X, Y_REG)
    assert type(est.activations_[0]).__name__ == "Tanh"
    for a, b in zip(coefs, est.coefs_, strict=True):  # weights carried over
        np.testing.assert_array_equal(a, b)
    hidden = np.tanh(X @ est.coefs_[0] + est.intercepts_[0])
    np.testing.assert_allclose(
        est.predict(X), (hidden @ est.coefs_[1] + est.intercepts_[1]).ravel()
    )


def test_changed_activation_to_prelu_gets_fresh_slopes_in_partial_fit():
    est = BackpropClassifier(**SMALL).partial_fit(X, Y_BIN, classes=[0, 1])
    est.set_params(activation="prelu")
    est.partial_fit(X, Y_BIN)
    assert est.activation_params_[0].shape == (1, 5)
    assert np.isfinite(est.predict_proba(X)).all()


def test_changed_layer_sizes_under_warm_start_say_to_refit():
    est = _quiet(BackpropRegressor(**SMALL, warm_start=True).fit, X, Y_REG)
    with pytest.raises(ValueError, match="warm_start=False"):
        est.set_params(hidden_layer_sizes=(5, 5)).fit(X, Y_REG)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ({"solver": "lbfgs"}, {"solver": "adam"}),
        ({"solver": "adam"}, {"solver": "lbfgs"}),
        ({"early_stopping": True}, {"early_stopping": False}),
        ({"early_stopping": False}, {"early_stopping": True}),
    ],
)
def test_solver_and_early_stopping_changes_continue_under_warm_start(first, then):
    est = _quiet(BackpropClassifier(**SMALL, warm_start=True, **first).fit, X, Y_BIN)
    coefs = [c.copy() for c in est.coefs_]
    _quiet(est.set_params(**then).fit, X, Y_BIN)
    assert any(not np.array_equal(a, b) for a, b in zip(coefs, est.coefs_, strict=True))
    assert np.isfinite(est.predict_proba(X)).all()
    if then.get("early_stopping"):
        assert len(est.validation_scores_) == est.n_iter_
    elif est.solver != "lbfgs":
        assert est.validation_scores_ is None and np.isfinite(est.best_loss_)


# --------------------------------- 10. a custom activation's contract
class _WrongShape(Activation):
    def forward(self, s):
        return s[:, :1]

    def derivative(self, s, o):
        return np.ones_like(s)


class _AList(Activation):
    def forward(self, s):
        return s.tolist()

    def derivative(self, s, o):
        return np.ones_like(s)


class _IntOutput(Activation):
    def forward(self, s):
        return np.maximum(s, 0).astype(np.int64)

    def derivative(self, s, o):
        return np.ones_like(s)


class _NaNDerivative(Activation):
    def forward(self, s):
        return np.tanh(s)

    def derivative(self, s, o):
        return np.log(-s)


class _InPlace(Activation):
    def forward(self, s):
        np.tanh(s, out=s)
        return s

    def derivative(self, s, o):
        return 1 - o * o


@pytest.mark.parametrize(
    ("activation", "method", "what"),
    [
        (_WrongShape(), "forward", "shape"),
        (_AList(), "forward", "list"),
        (_IntOutput(), "forward", "int64"),
        (_NaNDerivative(), "derivative", "NaN"),
        (_InPlace(), "forward", "modified its input"),
    ],
)
def test_a_broken_custom_activation_is_named_before_training(activation, method, what):
    est = BackpropRegressor(**SMALL, activation=activation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError) as exc:
            est.fit(X, Y_REG)
    message = str(exc.value)
    assert type(activation).__name__ in message and method in message, message
    assert what in message, message
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_a_custom_activation_in_float64_arithmetic_trains_a_float32_model():
    class Step(Activation):
        def forward(self, s):
            return np.where(s > 0, s, 0.1 * s)  # float32 stays float32 here

        def derivative(self, s, o):
            return np.where(s > 0, 1.0, 0.1)  # float64 for float32 s: allowed

    est = _quiet(
        BackpropRegressor(**SMALL, activation=Step()).fit, X.astype("f4"), Y_REG
    )
    assert est.predict(X.astype("f4")).dtype == np.float32


# --------------------------- 11. float32 early stopping: no float64 copy of X
def test_early_stopping_split_of_float32_x_makes_no_float64_copy():
    X32 = np.random.RandomState(0).standard_normal((20000, 50)).astype(np.float32)
    Y = np.ones((len(X32), 1), dtype=np.float32)
    tracemalloc.start()
    _canonical_order(X32, Y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.5 * X32.nbytes, f"peak {peak} bytes for X of {X32.nbytes}"


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


# ------------------------------------------------------------------- low
def test_log_proba_agrees_with_proba_for_huge_tied_logits():
    est = _quiet(BackpropClassifier(**SMALL).fit, X, Y_MULTI)
    est.coefs_[-1][...] = 0.0
    est.intercepts_[-1][...] = [1e300, 1e300, 0.0]
    proba, log_proba = est.predict_proba(X[:3]), est.predict_log_proba(X[:3])
    np.testing.assert_allclose(proba[:, :2], 0.5)
    np.testing.assert_allclose(np.exp(log_proba), proba, atol=1e-300)


def test_float64_input_to_a_float32_model_is_clipped_before_the_cast():
    est = _quiet(BackpropRegressor(**SMALL).fit, X.astype(np.float32), Y_REG)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow in the cast
        pred = est.predict(np.array([[1e300, -1e300, 1.0]]))
    assert pred.dtype == np.float32 and np.isfinite(pred).all()


@pytest.mark.parametrize("sizes", [(np.nan,), (np.inf,), ((3, 4),), ("5",), (True,)])
def test_bad_hidden_layer_sizes_are_a_parameter_error(sizes):
    with pytest.raises(InvalidParameterError, match="positive integers"):
        BackpropRegressor(hidden_layer_sizes=sizes).fit(X, Y_REG)


@pytest.mark.parametrize("epsilon", [0.0, -1e-6, np.nan, np.inf])
def test_check_gradient_refuses_a_useless_epsilon(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        check_gradient(BackpropRegressor(**SMALL), X, Y_REG, epsilon=epsilon)


def test_huge_power_t_does_not_overflow():
    est = BackpropRegressor(
        **SMALL, solver="sgd", learning_rate="invscaling", power_t=1e6
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _quiet(est.fit, X, Y_REG)
    assert np.isfinite(est.predict(X)).all()


def test_negative_sample_weights_are_refused_clearly():
    sw = np.ones(len(X))
    sw[:3] = -1.0
    for early_stopping in (False, True):
        est = BackpropRegressor(**SMALL, early_stopping=early_stopping)
        with pytest.raises(ValueError, match="non-negative"):
            est.fit(X, Y_REG, sample_weight=sw)


def test_weights_cancelling_in_one_row_batches_are_warned_about():
    est = BackpropClassifier(**SMALL, batch_size=1, class_weight={0: 5.0, 1: 1.0})
    with pytest.warns(UserWarning, match="cancels out"):
        _quiet(est.fit, X, Y_BIN)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_signal_bound_holds_for_every_builtin_activation(name):
    """The cheap end-of-call check's bound is never below a real signal."""
    rng = np.random.RandomState(0)
    est = _quiet(
        BackpropRegressor(
            hidden_layer_sizes=(7, 5),
            activation=name,
            **{"max_iter": 3, "random_state": 0},
        ).fit,
        X,
        Y_REG,
    )
    for scale in (1.0, 1e3):
        for W in est.coefs_:
            W *= rng.uniform(0.5, 2.0, W.shape)  # other weights than trained ones
        Xs = X * scale
        bound = signal_bound(
            Xs, est.coefs_, est.intercepts_, est.activations_, est.activation_params_
        )
        o, worst = Xs, 0.0
        for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
            s = o @ W + b
            worst = max(worst, np.abs(s).max())
            if i < len(est.activations_):
                theta = est.activation_params_[i]
                act = est.activations_[i]
                o = act.forward(s) if theta is None else act.forward(s, theta)
        assert worst <= bound * (1 + 1e-12), (worst, bound)


def test_user_activation_without_a_bound_falls_back_to_a_forward_pass():
    class Cube(Activation):
        def forward(self, s):
            return s**3

        def derivative(self, s, o):
            return 3 * s**2

    est = _quiet(BackpropRegressor(**SMALL, activation=Cube()).fit, X, Y_REG)
    bound = signal_bound(
        X, est.coefs_, est.intercepts_, est.activations_, est.activation_params_
    )
    assert bound == np.inf and np.isfinite(est.predict(X)).all()


# ------------------------------------------ found in review of the above
class _Swish(Activation):
    def forward(self, s):
        return s / (1 + np.exp(-s))  # exp overflows harmlessly for s << 0

    def derivative(self, s, o):
        sig = 1 / (1 + np.exp(-s))
        return sig + o * (1 - sig)


# The user's activation overflows in np.exp on purpose (also when predicting).
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_an_activation_overflowing_internally_to_a_finite_value_is_no_divergence(
    solver,
):
    est = BackpropClassifier(**SMALL, activation=_Swish(), solver=solver)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X * 1000, Y_BIN)
    assert np.isfinite(est.predict_proba(X * 1000)).all()


def test_early_stopping_fit_diverging_in_its_first_epoch_raises():
    Xo, yo = _overflowing_regression()
    est = BackpropRegressor(
        hidden_layer_sizes=(20,),
        activation="identity",
        solver="sgd",
        learning_rate_init=1e30,
        batch_size=10,
        early_stopping=True,
        random_state=0,
    )
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        _quiet(est.fit, Xo, yo)
    with pytest.raises(NotFittedError):
        est.predict(Xo)


def test_changed_activation_resets_the_early_stopping_best_weights():
    est = _quiet(
        BackpropClassifier(**{**SMALL, "max_iter": 20}, early_stopping=True).fit,
        X,
        Y_BIN,
    )
    est.set_params(warm_start=True, activation="logistic", max_iter=3)
    _quiet(est.fit, X, Y_BIN)
    # The best score now belongs to a logistic epoch of this call.
    assert est.best_validation_score_ in est.validation_scores_[-3:]


def test_a_new_learning_rate_keeps_the_invscaling_decay():
    est = BackpropRegressor(
        **SMALL, solver="sgd", learning_rate="invscaling", learning_rate_init=0.01
    )
    for _ in range(5):
        est.partial_fit(X, Y_REG)
    decayed = est._optimizer.learning_rate
    est.set_params(learning_rate_init=0.05)
    est.partial_fit(X, Y_REG)
    expected = 0.05 / (est.t_ + 1) ** est.power_t
    assert est._optimizer.learning_rate == pytest.approx(expected)
    assert est._optimizer.learning_rate < 10 * decayed


def test_a_user_subclass_of_a_builtin_is_not_trusted_by_the_bound():
    from skbackprop.activations import Identity

    class Cube(Identity):
        def forward(self, s):
            return s**3

    coefs = [np.array([[1e104, -1e104]]), np.array([[1.0], [1.0]])]
    intercepts = [np.zeros(2), np.zeros(1)]
    bound = signal_bound(np.ones((1, 1)), coefs, intercepts, [Cube()], [None])
    assert bound == np.inf


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
