"""Equivalence with scikit-learn's MLPClassifier and MLPRegressor.

From the same initial weights, with the same batches (``shuffle=False``, or the same
``random_state`` driving the shuffles and the early-stopping split) and the same
solver settings, our weights follow scikit-learn's trajectory to rounding error.
This pins down the math (forward pass, δ recursion, gradients, L2 penalty, sample
weights) and every convention (initialisation, batching, schedules, stopping).
"""

import inspect
import warnings

import numpy as np
import pytest
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import LabelBinarizer

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._training.split import _canonical_order

# scikit-learn's MLP accepts sample_weight from 1.7 on; we support 1.6 too.
SKLEARN_HAS_SAMPLE_WEIGHT = (
    "sample_weight" in inspect.signature(MLPClassifier.fit).parameters
)
# ... and loss="poisson" from 1.7 on: before, there is nothing to compare it with.
SKLEARN_HAS_POISSON = "loss" in inspect.signature(MLPRegressor).parameters
STOCHASTIC_TASKS = ["binary", "multiclass", "multilabel", "regression"]
if SKLEARN_HAS_POISSON:
    STOCHASTIC_TASKS.append("poisson")

RTOL = 1e-10
N_SAMPLES = 200
ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]
SOLVERS = {
    "sgd-momentum": dict(
        solver="sgd", nesterovs_momentum=False, learning_rate_init=0.05
    ),
    "sgd-nesterov": dict(
        solver="sgd", nesterovs_momentum=True, learning_rate_init=0.05
    ),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}
# Five epochs of seven mini-batches; never stop early on the training loss.
TRAJECTORY = dict(
    hidden_layer_sizes=(10, 7),
    alpha=1e-3,
    batch_size=32,
    shuffle=False,
    max_iter=5,
    tol=0.0,
    n_iter_no_change=1000,
    random_state=1,
)


def _data(task, dtype=np.float64):
    """Small data: binary, multiclass, multilabel, regression or poisson."""
    if task in ("binary", "multiclass"):
        X, y = make_classification(
            N_SAMPLES,
            6,
            n_informative=4,
            n_classes=2 if task == "binary" else 3,
            random_state=0,
        )
    elif task == "multilabel":
        X, y = make_multilabel_classification(N_SAMPLES, 6, n_classes=3, random_state=0)
        X = (X - X.mean(0)) / X.std(0)
    else:
        X, y = make_regression(N_SAMPLES, 6, n_informative=4, noise=1.0, random_state=0)
        y = (y - y.mean()) / y.std()
        if task == "poisson":
            y = np.exp(y / 2)
    return X.astype(dtype), y


def _in_split_order(task, X, y, *weights):
    """Reorder rows into the canonical order our early-stopping split starts from.

    Our split depends on the rows' values, not their order (so that shuffled data
    and integer weights give the same model); scikit-learn's splits positions. Once
    the rows are in our canonical order, the two splits draw the same rows.
    """
    if task in ("binary", "multiclass", "multilabel"):
        Y = LabelBinarizer().fit_transform(y).astype(float)
    else:
        Y = y.reshape(len(y), -1)
    order = _canonical_order(X, Y)
    return (X[order], y[order], *(w[order] for w in weights))


def _pair(task, **params):
    """Our estimator and scikit-learn's for a task, with equal parameters."""
    if task in ("binary", "multiclass", "multilabel"):
        return BackpropClassifier(**params), MLPClassifier(**params)
    if task == "poisson":
        params = {**params, "loss": "poisson"}
    return BackpropRegressor(**params), MLPRegressor(**params)


def _fit_quietly(est, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # batch_size clipped
        return est.fit(X, y, **fit_params)


def _assert_same_weights(ours, theirs, rtol=RTOL, atol=0.0):
    assert ours.n_layers_ == theirs.n_layers_
    assert ours.out_activation_ == theirs.out_activation_
    assert len(ours.coefs_) == len(theirs.coefs_)
    for name in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(ours, name), getattr(theirs, name), strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def _assert_same_trajectory(ours, theirs, rtol=RTOL, atol=0.0):
    _assert_same_weights(ours, theirs, rtol, atol)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol, atol=0)
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=rtol, atol=0)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_initial_weights_equal_sklearn(task, activation):
    """The same random_state draws bit-identical Glorot weights as scikit-learn."""
    X, y = _data(task)
    # A step of 1e-300 cannot move any weight: after fitting, coefs_ are the init.
    params = dict(
        hidden_layer_sizes=(10, 7),
        activation=activation,
        solver="sgd",
        momentum=0.0,
        learning_rate_init=1e-300,
        max_iter=1,
        random_state=3,
    )
    ours, theirs = _pair(task, **params)
    _fit_quietly(ours, X, y)
    _fit_quietly(theirs, X, y)
    ours_init = ours.coefs_ + ours.intercepts_
    for a, b in zip(ours_init, theirs.coefs_ + theirs.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    # And they are Glorot-uniform draws from RandomState(3), layer by layer.
    rng = np.random.RandomState(3)
    factor = 2.0 if activation == "logistic" else 6.0
    for W, b in zip(ours.coefs_, ours.intercepts_, strict=True):
        bound = np.sqrt(factor / sum(W.shape))
        np.testing.assert_array_equal(W, rng.uniform(-bound, bound, W.shape))
        np.testing.assert_array_equal(b, rng.uniform(-bound, bound, b.shape))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("task", STOCHASTIC_TASKS)
def test_stochastic_trajectory_equals_sklearn(task, solver, activation):
    """Mini-batch SGD (momentum, Nesterov) and Adam give sklearn's weights, losses."""
    X, y = _data(task)
    params = {**TRAJECTORY, **SOLVERS[solver], "activation": activation}
    if task == "poisson":
        # The exponential output blows up with the classification step sizes.
        params["learning_rate_init"] /= 10
    ours, theirs = _pair(task, **params)
    _fit_quietly(ours, X, y)
    _fit_quietly(theirs, X, y)
    _assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("n_outputs", [2, 3])
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_multi_output_regression_trajectory_equals_sklearn(solver, n_outputs):
    """Several squared-error outputs: sklearn's weights; the loss is summed over them.

    The gradient is scikit-learn's (δ^(L) = p - y per output, no division by the
    number of outputs), so every weight follows its trajectory. scikit-learn
    reports the mean over outputs of the loss whose gradient it uses; we report the
    sum, the loss the lecture writes, so our values are n_outputs times its values.
    """
    X, Y = make_regression(
        N_SAMPLES, 6, n_informative=4, n_targets=n_outputs, noise=1.0, random_state=0
    )
    Y = (Y - Y.mean(0)) / Y.std(0)
    params = {**TRAJECTORY, **SOLVERS[solver], "activation": "tanh", "alpha": 0.0}
    ours, theirs = _pair("regression", **params)
    _fit_quietly(ours, X, Y)
    _fit_quietly(theirs, X, Y)
    assert ours.n_outputs_ == theirs.n_outputs_ == n_outputs
    _assert_same_weights(ours, theirs)
    np.testing.assert_allclose(
        ours.loss_curve_, n_outputs * np.asarray(theirs.loss_curve_), rtol=RTOL
    )
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=RTOL)
    # With an L2 term (not scaled by the outputs) the weights still agree.
    ours, theirs = _pair("regression", **{**params, "alpha": 1e-2})
    _fit_quietly(ours, X, Y)
    _fit_quietly(theirs, X, Y)
    _assert_same_weights(ours, theirs)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
@pytest.mark.parametrize("solver", ["sgd-nesterov", "adam"])
def test_trajectory_from_assigned_weights_equals_sklearn(task, solver):
    """Equal explicitly assigned coefs_/intercepts_ lead to equal weights."""
    X, y = _data(task)
    params = {**TRAJECTORY, **SOLVERS[solver], "activation": "tanh"}
    ours, theirs = _pair(task, **{**params, "max_iter": 1})
    # Different seeds: the first fits start from different weights on purpose.
    _fit_quietly(ours.set_params(random_state=10), X, y)
    _fit_quietly(theirs.set_params(random_state=20), X, y)
    rng = np.random.RandomState(42)
    coefs = [rng.normal(0, 0.3, W.shape) for W in theirs.coefs_]
    intercepts = [rng.normal(0, 0.3, b.shape) for b in theirs.intercepts_]
    for est in (ours, theirs):
        est.coefs_ = [W.copy() for W in coefs]
        est.intercepts_ = [b.copy() for b in intercepts]
        est.loss_curve_ = []
        est.set_params(warm_start=True, max_iter=5)
        _fit_quietly(est, X, y)
    _assert_same_trajectory(ours, theirs)
    assert len(ours.loss_curve_) == 5


@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_sgd_learning_rate_schedules_equal_sklearn(task, schedule):
    """invscaling and adaptive learning rates follow sklearn's schedule and stopping."""
    X, y = _data(task)
    params = {**TRAJECTORY, **SOLVERS["sgd-nesterov"], "learning_rate": schedule}
    if schedule == "adaptive":
        # The loss never improves by tol=10, so from epoch 2 on every second epoch
        # finds no improvement twice in a row: the rate is divided by 5 at epochs
        # 3, 5, ..., 15 (down to 0.05 / 5**7 <= 1e-6) and epoch 17 stops.
        params.update(tol=10.0, n_iter_no_change=1, max_iter=30)
    else:
        params.update(power_t=0.3, max_iter=8)
    ours, theirs = _pair(task, **params)
    _fit_quietly(ours, X, y)
    _fit_quietly(theirs, X, y)
    _assert_same_trajectory(ours, theirs)
    if schedule == "adaptive":
        assert ours.n_iter_ == 17 < params["max_iter"]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_shuffled_batches_equal_sklearn(task):
    """With shuffle=True the same random_state gives the same batches as sklearn."""
    X, y = _data(task)
    ours, theirs = _pair(task, **{**TRAJECTORY, **SOLVERS["adam"], "shuffle": True})
    _fit_quietly(ours, X, y)
    _fit_quietly(theirs, X, y)
    _assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("solver", ["sgd-momentum", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_early_stopping_with_shuffle_equals_sklearn(task, solver):
    """Early stopping splits, scores, stops and restores exactly as sklearn does."""
    X, y = _in_split_order(task, *_data(task))
    params = {
        **TRAJECTORY,
        **SOLVERS[solver],
        "shuffle": True,
        "early_stopping": True,
        "validation_fraction": 0.2,
        "max_iter": 60,
        "tol": 1e-3,
        "n_iter_no_change": 3,
    }
    ours, theirs = _pair(task, **params)
    _fit_quietly(ours, X, y)
    _fit_quietly(theirs, X, y)
    _assert_same_trajectory(ours, theirs)
    np.testing.assert_allclose(
        ours.validation_scores_, theirs.validation_scores_, rtol=RTOL, atol=0
    )
    assert ours.best_validation_score_ == pytest.approx(
        theirs.best_validation_score_, rel=RTOL
    )
    # Training stopped on the validation score, not at max_iter.
    assert ours.n_iter_ < params["max_iter"]


def _weights(n, integer):
    rng = np.random.RandomState(7)
    return rng.randint(0, 4, n).astype(float) if integer else rng.uniform(0.2, 3.0, n)


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("solver", ["sgd-momentum", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_sample_weight_equals_sklearn(task, solver, early_stopping):
    """Weighted fits equal sklearn's weighted fit (on < 1.7: its repeated-rows fit)."""
    X, y = _in_split_order(task, *_data(task))
    params = {**TRAJECTORY, **SOLVERS[solver], "early_stopping": early_stopping}
    ours, theirs = _pair(task, **params)
    if SKLEARN_HAS_SAMPLE_WEIGHT:
        # Real-valued weights, mini-batches: the weighted objective batch by batch.
        sw = _weights(len(y), integer=False)
        _fit_quietly(ours, X, y, sample_weight=sw)
        _fit_quietly(theirs, X, y, sample_weight=sw)
    else:
        # scikit-learn 1.6 has no sample_weight: integer weights must act as
        # repeated rows. That only holds batch for batch with one full batch (the
        # batches of the repeated rows differ from those of the weighted rows), so
        # both fit on all their rows at once.
        sw = _weights(len(y), integer=True)
        ours.set_params(batch_size=10 * len(y))
        theirs.set_params(batch_size=10 * len(y))
        _fit_quietly(ours, X, y, sample_weight=sw)
        _fit_quietly(theirs, X.repeat(sw.astype(int), axis=0), y.repeat(sw.astype(int)))
    _assert_same_weights(ours, theirs)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=RTOL, atol=0)
    if early_stopping:
        np.testing.assert_allclose(
            ours.validation_scores_, theirs.validation_scores_, rtol=RTOL, atol=0
        )


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("solver", ["sgd-nesterov", "adam"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_integer_sample_weight_equals_sklearn_on_repeated_rows(
    task, solver, early_stopping
):
    """Integer weights (full batch) equal sklearn fitted on the repeated rows."""
    X, y = _in_split_order(task, *_data(task))
    sw = _weights(len(y), integer=True).astype(int)
    X_rep, y_rep = X.repeat(sw, axis=0), y.repeat(sw)
    params = {
        **TRAJECTORY,
        **SOLVERS[solver],
        "batch_size": 10 * len(y),
        "early_stopping": early_stopping,
    }
    ours, theirs = _pair(task, **params)
    _fit_quietly(ours, X, y, sample_weight=sw)
    _fit_quietly(theirs, X_rep, y_rep)
    _assert_same_weights(ours, theirs)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=RTOL, atol=0)
    if early_stopping:
        np.testing.assert_allclose(
            ours.validation_scores_, theirs.validation_scores_, rtol=RTOL, atol=0
        )


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_partial_fit_equals_sklearn(task):
    """Successive partial_fit calls keep optimizer state exactly as sklearn does."""
    X, y = _data(task)
    params = {**TRAJECTORY, **SOLVERS["sgd-nesterov"]}
    ours, theirs = _pair(task, **params)
    extra = {"classes": np.unique(y)} if task != "regression" else {}
    for chunk in np.array_split(np.arange(len(y)), 4):
        ours.partial_fit(X[chunk], y[chunk], **extra)
        theirs.partial_fit(X[chunk], y[chunk], **extra)
    _assert_same_trajectory(ours, theirs)
    assert len(ours.loss_curve_) == 4


# L-BFGS amplifies rounding differences through its line searches: on a barely
# regularised non-convex problem the two runs can drift into different minima
# (ReLU kinks or alpha=1e-4 give 1e-3..1e-1 apart). These are smooth problems with
# a real L2 penalty that converge well before max_iter; from the same start both
# reach the same minimum.
LBFGS_CASES = [
    ("binary", "tanh", 1.0),
    ("binary", "logistic", 0.1),
    ("multiclass", "logistic", 1.0),
    ("multiclass", "identity", 0.1),
    ("regression", "tanh", 1.0),
    ("regression", "logistic", 0.1),
]


@pytest.mark.slow
@pytest.mark.parametrize(("task", "activation", "alpha"), LBFGS_CASES)
def test_lbfgs_reaches_sklearn_loss(task, activation, alpha):
    """L-BFGS from the same init reaches sklearn's final loss within 1e-6 relative."""
    X, y = _data(task)
    params = dict(
        hidden_layer_sizes=(8,),
        activation=activation,
        solver="lbfgs",
        alpha=alpha,
        max_iter=500,
        random_state=0,
    )
    ours, theirs = _pair(task, **params)
    _fit_quietly(ours, X, y)
    _fit_quietly(theirs, X, y)
    assert theirs.n_iter_ < params["max_iter"]
    assert ours.n_iter_ < params["max_iter"]
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_float32_trajectory_equals_sklearn(task, solver):
    """In float32 the trajectory stays in float32 and matches sklearn to rtol 1e-4."""
    X, y = _data(task, dtype=np.float32)
    ours, theirs = _pair(task, activation="tanh", **SOLVERS[solver], **TRAJECTORY)
    _fit_quietly(ours, X, y)
    _fit_quietly(theirs, X, y)
    assert ours.coefs_[0].dtype == np.float32
    # float32 rounding (eps 1.2e-7) in a different order of operations; atol covers
    # weights that pass near zero, where a relative tolerance means nothing.
    _assert_same_weights(ours, theirs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-4)
