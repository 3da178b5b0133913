"""Property-based tests (issue 4): random small networks, data, dtypes and solvers.

Data values come from a seeded generator (hypothesis draws the seed and the
shapes), so the properties are about configurations, not adversarial floats.
``@example`` pins cases that must always run.
"""

import warnings

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from skbackprop import (
    ELU,
    BackpropClassifier,
    BackpropRegressor,
    LeakyReLU,
    PReLU,
    check_gradient,
)
from skbackprop.activations import ACTIVATIONS

FAST = settings(max_examples=25, deadline=None, database=None)

ACTIVATION_NAMES = sorted(set(ACTIVATIONS) - {"sigmoid"})  # "sigmoid" = "logistic"
ACTIVATION_OBJECTS = [LeakyReLU(alpha=0.3), ELU(alpha=0.5), PReLU(init=0.1)]
TARGETS = ["regression", "multioutput", "poisson", "binary", "multiclass", "multilabel"]
SOLVERS = ["sgd", "adam", "lbfgs"]
LABEL_DTYPES = ["int64", "int32", "uint8", "float64", "str"]

hidden_layers = st.lists(st.integers(1, 6), min_size=0, max_size=3).map(tuple)
activation_choice = st.sampled_from(ACTIVATION_NAMES + ACTIVATION_OBJECTS)


@st.composite
def networks(draw):
    """(hidden_layer_sizes, activation): one activation for all, or one per layer."""
    hidden = draw(hidden_layers)
    if hidden and draw(st.booleans()):
        return hidden, [draw(activation_choice) for _ in hidden]
    return hidden, draw(activation_choice)


def _data(target, n, n_features, seed, dtype=np.float64, label_dtype="int64"):
    """X of ``dtype`` and y for ``target``; every class is present when n allows."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, n_features)).astype(dtype)
    if target == "regression":
        return X, rng.standard_normal(n)
    if target == "multioutput":
        return X, rng.standard_normal((n, 2))
    if target == "poisson":
        return X, rng.poisson(2.0, n).astype(np.float64)
    if target == "multilabel":
        Y = (rng.rand(n, 3) > 0.5).astype(label_dtype)
        Y[0], Y[-1] = 1, 0  # every label column takes both values when n >= 2
        return X, Y
    k = 2 if target == "binary" else 3
    codes = rng.permutation(np.arange(n) % k)
    if label_dtype == "str":
        return X, np.array(["ant", "bee", "cat"])[codes]
    return X, codes.astype(label_dtype)


def _estimator(target, **params):
    if target in ("regression", "multioutput"):
        return BackpropRegressor(**params)
    if target == "poisson":
        return BackpropRegressor(loss="poisson", **params)
    return BackpropClassifier(**params)


def _fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning, batch_size clipping
        return est.fit(X, y)


@FAST
@given(
    target=st.sampled_from(TARGETS),
    network=networks(),
    n=st.integers(3, 12),
    n_features=st.integers(1, 4),
    alpha=st.sampled_from([0.0, 1e-4, 0.1]),
    weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_check_gradient_holds(target, network, n, n_features, alpha, weighted, seed):
    """Backprop matches finite differences (< 1e-5) for random float64 networks."""
    hidden, activation = network
    X, y = _data(target, n, n_features, seed)
    sw = np.random.RandomState(seed).uniform(0.5, 2.0, len(X)) if weighted else None
    est = _estimator(
        target,
        hidden_layer_sizes=hidden,
        activation=activation,
        alpha=alpha,
        random_state=seed,
    )
    # Central differences have rounding noise ~ 1e-16·loss/ε (it dominates a layer
    # whose gradient is tiny, e.g. behind a mostly dead ReLU) and, for kinked
    # activations, a crossing error when |s| < ε. Each vanishes at some step, a
    # wrong gradient at none: the best of three steps must agree.
    errors = {
        eps: check_gradient(est, X, y, sample_weight=sw, epsilon=eps)
        for eps in (1e-4, 1e-5, 1e-6)
    }
    assert min(errors.values()) < 1e-5, f"relative gradient errors {errors}"


@FAST
@given(
    target=st.sampled_from(TARGETS),
    network=networks(),
    solver=st.sampled_from(SOLVERS),
    dtype=st.sampled_from([np.float32, np.float64]),
    label_dtype=st.sampled_from(LABEL_DTYPES),
    n=st.integers(6, 20),
    n_features=st.integers(1, 4),
    n_new=st.integers(1, 7),
    seed=st.integers(0, 2**16),
)
@example(
    target="multilabel",
    network=((3,), "relu"),
    solver="adam",
    dtype=np.float32,
    label_dtype="int32",
    n=8,
    n_features=2,
    n_new=3,
    seed=0,
).via("multilabel int32 indicators keep their dtype")
def test_predict_shapes_and_dtypes(
    target, network, solver, dtype, label_dtype, n, n_features, n_new, seed
):
    """Predictions have the right shapes; labels keep y's dtype, floats X's."""
    hidden, activation = network
    if target == "multilabel" and label_dtype in ("float64", "str"):
        label_dtype = "int64"
    X, y = _data(target, n, n_features, seed, dtype, label_dtype)
    est = _estimator(
        target,
        hidden_layer_sizes=hidden,
        activation=activation,
        solver=solver,
        max_iter=3,
        random_state=seed,
    )
    _fit_quietly(est, X, y)
    X_new = np.random.RandomState(seed + 1).standard_normal((n_new, n_features))
    X_new = X_new.astype(dtype)
    pred = est.predict(X_new)
    assert pred.shape == (n_new,) + y.shape[1:]
    if isinstance(est, BackpropRegressor):
        assert pred.dtype == dtype
        assert np.isfinite(pred).all()
        return
    assert pred.dtype == y.dtype, f"labels {pred.dtype}, y {y.dtype}"
    assert np.isin(pred, est.classes_ if y.ndim == 1 else [0, 1]).all()
    proba = est.predict_proba(X_new)
    n_columns = y.shape[1] if y.ndim == 2 else len(est.classes_)
    assert proba.shape == (n_new, n_columns)
    assert proba.dtype == dtype
    assert np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()


# Phrases that make a small-data error actionable; train_test_split's own
# parameter names mean the message leaked from inside the estimator.
CLEAR = ("sample", "class", "validation")
LEAKED = ("test_size", "train_size", "n_splits", "groups")


@FAST
@given(
    target=st.sampled_from(TARGETS),
    n=st.integers(1, 3),
    hidden=hidden_layers,
    solver=st.sampled_from(SOLVERS),
    early_stopping=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
@example(
    target="regression",
    n=1,
    hidden=(2,),
    solver="adam",
    early_stopping=True,
    dtype=np.float64,
    seed=0,
).via("early stopping on one sample")
@example(
    target="binary",
    n=3,
    hidden=(2,),
    solver="sgd",
    early_stopping=True,
    dtype=np.float64,
    seed=0,
).via("stratified validation split with a one-member class")
@example(
    target="multiclass",
    n=1,
    hidden=(),
    solver="lbfgs",
    early_stopping=False,
    dtype=np.float32,
    seed=0,
).via("a single sample is a single class")
def test_fits_on_one_to_three_samples_work_or_explain(
    target, n, hidden, solver, early_stopping, dtype, seed
):
    """Fits on 1-3 samples either work or raise a ValueError that explains why."""
    X, y = _data(target, n, 2, seed, dtype)
    est = _estimator(
        target,
        hidden_layer_sizes=hidden,
        solver=solver,
        early_stopping=early_stopping,
        max_iter=3,
        random_state=seed,
    )
    try:
        _fit_quietly(est, X, y)
    except ValueError as err:
        message = str(err)
        assert any(word in message.lower() for word in CLEAR), message
        assert not any(word in message for word in LEAKED), (
            f"the message speaks of parameters the estimator does not have: {message}"
        )
        return
    pred = est.predict(X)
    assert pred.shape == y.shape
    if pred.dtype.kind == "f":
        assert np.isfinite(pred).all()
