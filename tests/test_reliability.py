"""Reliability (issue 4): bad input, divergence, extremes, Ctrl-C, determinism, threads.

Messages are checked for two parts: what was wrong and how to fix it (a hint such
as an imputer, an encoder, a valid range). Every bad-input case is one test id so
that a failure names the case.
"""

import pickle
import re
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

import skbackprop
from skbackprop import BackpropClassifier, BackpropRegressor, PReLU
from skbackprop.activations import ACTIVATIONS
from skbackprop.network import Network

RNG = np.random.RandomState(0)
X = RNG.standard_normal((60, 3))
Y_REG = X @ np.array([1.0, 2.0, -1.0]) + 0.1 * RNG.standard_normal(60)
Y_BIN = (Y_REG > 0).astype(np.int64)
Y_MULTI = np.digitize(Y_REG, [-1.0, 1.0])
Y_LABELS = np.column_stack([Y_REG > 0, X[:, 0] > 0]).astype(np.int64)
SMALL = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)


# ------------------------------------------------------------------- helpers
def _quiet(fit, *args, **kwargs):
    """Call ``fit`` with ConvergenceWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


def _estimator(kind, **params):
    if kind == "classifier":
        return BackpropClassifier(**{**SMALL, **params})
    return BackpropRegressor(**{**SMALL, **params})


def _target(kind):
    return Y_BIN if kind == "classifier" else Y_REG


def _fitted(kind, **params):
    return _quiet(_estimator(kind, **params).fit, X, _target(kind))


def _weights(est):
    """Copies of every trainable array: coefs, intercepts, activation parameters."""
    arrays = list(est.coefs_) + list(est.intercepts_)
    arrays += [p for p in est.activation_params_ if p is not None]
    return [np.array(a, copy=True) for a in arrays]


def _state(est):
    """Every attribute of ``est`` (fitted ones, optimizer state), as pickled bytes."""
    return {key: pickle.dumps(value) for key, value in vars(est).items()}


def _same(weights_a, weights_b):
    return len(weights_a) == len(weights_b) and all(
        a.dtype == b.dtype and np.array_equal(a, b)
        for a, b in zip(weights_a, weights_b, strict=True)
    )


def _assert_helpful(message, what, fix):
    """``message`` names the problem (one of ``what``) and a fix (one of ``fix``)."""
    low = message.lower()
    assert any(w.lower() in low for w in what), (
        f"the message does not say what is wrong (expected one of {what}): {message!r}"
    )
    assert any(f.lower() in low for f in fix), (
        f"the message does not say how to fix it (expected one of {fix}): {message!r}"
    )


def _fit_catching_interrupt(est, *args, **kwargs):
    """Fit; a KeyboardInterrupt escaping fit fails the test instead of the session."""
    try:
        return est.fit(*args, **kwargs)
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped fit: training was not ended cleanly")


class _Recorder:
    """Callback keeping the weights at the start and after every epoch."""

    def __init__(self):
        self.weights = []

    def on_fit_begin(self, est, logs):
        self.weights = [_weights(est)]

    def on_epoch_end(self, est, logs):
        self.weights.append(_weights(est))


class _InterruptAt:
    """Callback raising KeyboardInterrupt (Ctrl-C) at the end of one epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, est, logs):
        if logs["epoch"] == self.epoch:
            raise KeyboardInterrupt


# ================================================================ bad input
NAN_FIX = ("impute", "SimpleImputer", "drop", "remove")
INF_FIX = (
    "replace",
    "drop",
    "remove",
    "clip",
    "impute",
    "scale",
    "nan_to_num",
)


def _with(value, where=(0, 0)):
    bad = X.copy()
    bad[where] = value
    return bad


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("method", ["fit", "partial_fit", "predict"])
def test_nan_in_X_says_nan_and_how_to_handle_it(kind, method):
    """NaN in X: a ValueError naming NaN and suggesting an imputer or dropping rows."""
    est = _fitted(kind) if method == "predict" else _estimator(kind, solver="sgd")
    args = (_with(np.nan), _target(kind))
    kwargs = (
        {"classes": [0, 1]} if (kind, method) == ("classifier", "partial_fit") else {}
    )
    with pytest.raises(ValueError) as exc:
        if method == "predict":
            est.predict(args[0])
        else:
            getattr(est, method)(*args, **kwargs)
    _assert_helpful(str(exc.value), ("NaN",), NAN_FIX)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("method", ["fit", "predict"])
def test_inf_in_X_says_infinity_and_how_to_handle_it(kind, value, method):
    """inf in X is a ValueError naming infinity and a fix (replace, drop, clip)."""
    bad = _with(value)
    with pytest.raises(ValueError) as exc:
        if method == "predict":
            _fitted(kind).predict(bad)
        else:
            _estimator(kind).fit(bad, _target(kind))
    _assert_helpful(str(exc.value), ("inf",), INF_FIX)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf_in_y_says_what_and_how_to_handle_it(kind, value):
    """NaN/inf in y is a ValueError naming it and suggesting to drop or fix rows."""
    y = _target(kind).astype(np.float64)
    y[3] = value
    with pytest.raises(ValueError) as exc:
        _estimator(kind).fit(X, y)
    what = ("NaN",) if np.isnan(value) else ("inf",)
    fix = NAN_FIX if np.isnan(value) else INF_FIX
    _assert_helpful(str(exc.value), what, fix)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("method", ["fit", "predict"])
def test_empty_X_says_zero_samples_and_the_minimum(kind, method):
    """Empty X is a ValueError saying 0 samples were given and at least 1 is needed."""
    empty = np.empty((0, 3))
    with pytest.raises(ValueError) as exc:
        if method == "predict":
            _fitted(kind).predict(empty)
        else:
            _estimator(kind).fit(empty, np.empty(0))
    _assert_helpful(
        str(exc.value), ("0 sample",), ("minimum of 1", "at least 1", "at least one")
    )


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_X_and_y_of_different_lengths(kind):
    """X and y of different lengths: a ValueError giving both lengths and the rule."""
    with pytest.raises(ValueError) as exc:
        _estimator(kind).fit(X, _target(kind)[:-1])
    message = str(exc.value)
    assert "60" in message and "59" in message, message
    _assert_helpful(
        message,
        ("inconsistent numbers of samples", "different"),
        ("same number of", "same length", "one entry per sample", "sliced the same"),
    )


FEATURE_CASES = [
    ("classifier", "predict"),
    ("classifier", "partial_fit"),
    ("classifier", "predict_proba"),
    ("classifier", "decision_function"),
    ("regressor", "predict"),
    ("regressor", "partial_fit"),
]


@pytest.mark.parametrize(("kind", "method"), FEATURE_CASES)
def test_wrong_number_of_features(kind, method):
    """Too few features at predict/partial_fit: ValueError with both counts."""
    est = _fitted(kind, solver="sgd")
    narrow = X[:, :2]
    with pytest.raises(ValueError) as exc:
        if method == "partial_fit":
            est.partial_fit(narrow, _target(kind))
        else:
            getattr(est, method)(narrow)
    _assert_helpful(
        str(exc.value), ("has 2 features",), ("expecting 3 features", "same columns")
    )


def _string_tables():
    strings = np.array([["a", "b", "c"]] * len(X), dtype=object)
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2"])
    frame["f1"] = np.where(X[:, 1] > 0, "high", "low")
    return {"object-array": strings, "dataframe-with-text-column": frame}


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("table", ["object-array", "dataframe-with-text-column"])
def test_non_numeric_X_suggests_encoding(kind, table):
    """Strings in X: ValueError saying so and suggesting an encoder."""
    bad = _string_tables()[table]
    with pytest.raises(ValueError) as exc:
        _estimator(kind).fit(bad, _target(kind))
    _assert_helpful(
        str(exc.value),
        ("string", "non-numeric", "not numeric"),
        ("OneHotEncoder", "OrdinalEncoder", "encode"),
    )


def test_non_numeric_target_for_regressor_points_to_the_classifier():
    """String targets for the regressor: ValueError pointing to a classifier."""
    labels = np.where(Y_REG > 0, "up", "down")
    with pytest.raises(ValueError) as exc:
        BackpropRegressor(**SMALL).fit(X, labels)
    _assert_helpful(
        str(exc.value),
        ("string", "numeric", "dtype"),
        ("BackpropClassifier", "classifier", "encode", "convert y"),
    )


def test_single_class_for_classifier_fit():
    """One class in y: ValueError naming it and asking for at least 2 classes."""
    with pytest.raises(ValueError) as exc:
        BackpropClassifier(**SMALL).fit(X, np.full(len(X), 7))
    message = str(exc.value)
    assert "7" in message, message
    _assert_helpful(
        message,
        ("one class", "1 class", "single class"),
        ("at least 2", "at least two", "two classes"),
    )


def test_unseen_class_in_partial_fit():
    """An unseen class in partial_fit: ValueError naming it and the classes= fix."""
    est = BackpropClassifier(**SMALL).partial_fit(X, Y_BIN, classes=[0, 1])
    with pytest.raises(ValueError) as exc:
        est.partial_fit(X, np.where(Y_BIN == 1, 5, 0))
    message = str(exc.value)
    assert "5" in message, message
    _assert_helpful(
        message, ("not in", "unseen", "unknown", "new class"), ("classes=",)
    )


@pytest.mark.parametrize(
    "new_y",
    [np.where(Y_BIN == 1, 2, 0), Y_MULTI, np.ones_like(Y_BIN)],
    ids=["relabelled", "extra-class", "fewer-classes"],
)
def test_classes_changing_under_warm_start(new_y):
    """Different classes on a warm-start fit: ValueError and the warm_start fix."""
    est = _fitted("classifier", warm_start=True)
    with pytest.raises(ValueError) as exc:
        est.fit(X, new_y)
    _assert_helpful(
        str(exc.value),
        ("same classes", "classes changed", "different classes"),
        ("warm_start=False",),
    )


INVALID_PARAMETERS = [
    ("classifier", "hidden_layer_sizes", 0),
    ("classifier", "hidden_layer_sizes", -3),
    ("classifier", "hidden_layer_sizes", (0,)),
    ("regressor", "hidden_layer_sizes", (-1,)),
    ("regressor", "hidden_layer_sizes", (4, 0)),
    ("classifier", "hidden_layer_sizes", [4, -2]),
    ("classifier", "learning_rate_init", 0.0),
    ("regressor", "learning_rate_init", -0.1),
    ("classifier", "activation", "swish"),
    ("regressor", "activation", 3),
    ("classifier", "solver", "newton"),
    ("regressor", "loss", "absolute_error"),
    ("classifier", "validation_fraction", 0.0),
    ("regressor", "validation_fraction", 1.0),
    ("classifier", "validation_fraction", 1.5),
    ("regressor", "validation_fraction", -0.1),
    ("classifier", "class_weight", "balanced_subsample"),
    ("classifier", "class_weight", 3),
]


@pytest.mark.parametrize(
    ("kind", "name", "value"),
    INVALID_PARAMETERS,
    ids=[f"{k}-{n}={v!r}" for k, n, v in INVALID_PARAMETERS],
)
def test_invalid_hyperparameter_is_an_invalid_parameter_error(kind, name, value):
    """Invalid hyperparameters fail through sklearn's constraints, naming the rule."""
    est = _estimator(kind).set_params(**{name: value})
    with pytest.raises(InvalidParameterError) as exc:
        est.fit(X, _target(kind))
    message = str(exc.value)
    shown = {repr(value), str(value)}
    if isinstance(value, (tuple, list)):
        shown.add(str(list(value)))
    assert any(v in message for v in shown), f"{value!r} not shown: {message!r}"
    _assert_helpful(message, (name,), ("must be", "must contain", "give", "use "))


def test_unknown_activation_in_a_per_layer_list():
    """An unknown name in a per-layer activation list names it and the valid ones."""
    est = BackpropClassifier(hidden_layer_sizes=(3, 3), activation=["relu", "swish"])
    with pytest.raises(ValueError) as exc:
        est.fit(X, Y_BIN)
    _assert_helpful(str(exc.value), ("swish",), ("use one of", "relu"))


BAD_CLASS_WEIGHTS = {
    "unknown-label": ({5: 2.0}, ("5",), ("labels of y", "classes of y")),
    "negative": (
        {0: -1.0, 1: 2.0},
        ("-1", "negative"),
        ("non-negative", ">= 0", "positive"),
    ),
    "nan": (
        {0: np.nan, 1: 1.0},
        ("nan", "finite"),
        ("finite", "non-negative", "positive"),
    ),
    "inf": ({0: np.inf, 1: 1.0}, ("inf", "finite"), ("finite",)),
    "all-zero": ({0: 0.0, 1: 0.0}, ("zero", "0.0"), ("positive", "at least one")),
    "not-a-number": (
        {0: "heavy", 1: 1.0},
        ("heavy",),
        ("number", "numeric", "float"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_CLASS_WEIGHTS))
def test_bad_class_weight_values(case):
    """class_weight values that cannot weight a loss: ValueError about class_weight."""
    class_weight, what, fix = BAD_CLASS_WEIGHTS[case]
    est = BackpropClassifier(**SMALL, class_weight=class_weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a silent fit must fail below, not warn
        with pytest.raises(ValueError) as exc:
            est.fit(X, Y_BIN)
    message = str(exc.value)
    assert "class_weight" in message, message
    _assert_helpful(message, what, fix)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize(
    ("params", "what", "fix"),
    [
        ({"solver": "lbfgs"}, ("lbfgs",), ("sgd", "adam")),
        (
            {"early_stopping": True},
            ("early_stopping", "early stopping"),
            ("early_stopping=False", "disable", "warm_start"),
        ),
    ],
    ids=["lbfgs", "early_stopping"],
)
def test_partial_fit_unavailable_says_why(kind, params, what, fix):
    """partial_fit is hidden for lbfgs/early stopping; calling it explains why."""
    est = _estimator(kind, **params)
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError) as exc:
        est.partial_fit(X, _target(kind))
    # The message of the raised error itself (what a log line or a notebook's
    # last line shows), not only a chained __cause__.
    _assert_helpful(str(exc.value), what, fix)


# ================================================================ divergence
def _divergence_scenarios():
    big_targets = Y_REG * 1e200
    return {
        # ½·mean(y²) with |y| ~ 1e200 overflows on the first batch.
        "targets-1e200": (
            BackpropRegressor(solver="sgd", learning_rate_init=0.01),
            X,
            big_targets,
        ),
        # Loss 2.8e299 in epoch 1; the update makes the next forward pass overflow.
        "inputs-1e150": (
            BackpropRegressor(solver="sgd", learning_rate_init=0.1),
            X * 1e150,
            Y_REG,
        ),
        # Full-batch gradient descent with a step far above 2/λ_max: the loss
        # grows 6.3e5, 8.5e25, 2.1e86, 3.6e267; epoch 5's forward pass gives NaN.
        "learning-rate": (
            BackpropRegressor(
                activation="identity",
                solver="sgd",
                learning_rate_init=0.1,
                momentum=0.0,
                batch_size=60,
                shuffle=False,
            ),
            X * 1e3,
            Y_REG,
        ),
        # Log loss is clipped, so here the weights (not the loss) blow up.
        "classifier-inputs-1e150": (
            BackpropClassifier(solver="sgd", learning_rate_init=1e10),
            X * 1e150,
            Y_BIN,
        ),
    }


DIVERGENCE = list(_divergence_scenarios())
# These blow up before any epoch ends with weights that predict finitely.
NO_FINITE_EPOCH = ["targets-1e200", "inputs-1e150", "classifier-inputs-1e150"]
# The warn-and-restore cases: a fresh fit that diverges after finite epochs, and
# every scenario continued (warm_start) from a model fitted on ordinary data.
WARN_AND_RESTORE = ["learning-rate"] + [f"warm-{name}" for name in DIVERGENCE]


def _diverge(name, **params):
    warm = name.startswith("warm-")
    est, Xd, yd = _divergence_scenarios()[name.removeprefix("warm-")]
    recorder = _Recorder()
    est.set_params(
        hidden_layer_sizes=(4,), max_iter=30, random_state=0, callbacks=[recorder]
    )
    est.set_params(**params)
    if warm:
        # First an ordinary fit (small steps, scaled data), then the blow-up.
        rate = est.learning_rate_init
        target = Y_REG if isinstance(est, BackpropRegressor) else Y_BIN
        _quiet(est.set_params(learning_rate_init=1e-3).fit, X, target)
        est.set_params(warm_start=True, learning_rate_init=rate)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(Xd, yd)
    diverged = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ConvergenceWarning)
        and "Maximum iterations" not in str(w.message)
    ]
    return est, Xd, recorder, diverged


@pytest.mark.parametrize("name", NO_FINITE_EPOCH)
@pytest.mark.parametrize("refit", [False, True])
def test_fresh_fit_without_a_finite_epoch_raises_and_changes_nothing(name, refit):
    """No trained finite weights: scikit-learn's ValueError, the model untouched."""
    est, Xd, yd = _divergence_scenarios()[name]
    est.set_params(hidden_layer_sizes=(4,), max_iter=30, random_state=0)
    if refit:
        target = Y_REG if isinstance(est, BackpropRegressor) else Y_BIN
        rate = est.learning_rate_init
        _quiet(est.set_params(learning_rate_init=1e-3).fit, X, target)
        est.set_params(learning_rate_init=rate)
        before, state = _weights(est), _state(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as exc:
            est.fit(Xd, yd)
    message = str(exc.value)
    assert message.startswith(
        "Solver produced non-finite parameter weights. The input data may contain "
        "large values and need to be preprocessed."
    ), message
    assert "learning_rate_init" in message and "StandardScaler" in message
    if refit:
        assert _same(_weights(est), before)
        assert _state(est) == state
    else:
        with pytest.raises(NotFittedError):
            est.predict(Xd)


@pytest.mark.parametrize("name", WARN_AND_RESTORE)
def test_divergence_stops_restores_last_finite_weights_and_warns(name):
    """A diverging fit stops, keeps the latest usable weights and warns with a fix."""
    est, _, recorder, diverged = _diverge(name)
    assert len(diverged) == 1, f"expected one divergence warning, got {diverged}"
    message = diverged[0]
    epoch = re.search(r"epoch (\d+)", message)
    assert epoch, f"the warning does not name the epoch: {message!r}"
    assert est.n_iter_ < int(epoch.group(1)) <= est.max_iter, message
    assert "learning_rate_init" in message and "scal" in message.lower(), message
    assert "optimizer's state" in message and "reset" in message, message
    assert np.isfinite(est.loss_curve_).all()
    assert all(np.isfinite(w).all() for w in _weights(est))
    # The kept weights are exactly those of the epoch the warning names: the last
    # completed one, or an earlier one if that one's weights overflow on the
    # training rows (0: the weights the call started from).
    after = re.search(r"weights after epoch (\d+)", message)
    kept = int(after.group(1)) if after else 0
    assert after or "weights from before this call" in message, message
    assert kept <= est.n_iter_
    assert _same(_weights(est), recorder.weights[kept])


@pytest.mark.parametrize("name", WARN_AND_RESTORE)
def test_diverged_model_never_predicts_nan(name):
    """After divergence, predictions on the training data contain no NaN."""
    est, Xd, _, _ = _diverge(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # tested elsewhere
        outputs = [est.predict(Xd)]
        if hasattr(est, "predict_proba"):
            outputs.append(est.predict_proba(Xd))
    for out in outputs:
        n_nan = int(np.isnan(out).sum()) if out.dtype.kind == "f" else 0
        assert n_nan == 0, f"{n_nan} NaN outputs out of {out.size}"
    if hasattr(est, "predict_proba"):
        np.testing.assert_allclose(outputs[1].sum(axis=1), 1.0, atol=1e-12)


def test_divergence_under_early_stopping_restores_best_weights():
    """Divergence with early stopping keeps the best validation epoch's weights."""
    recorder = _Recorder()
    est = BackpropRegressor(
        hidden_layer_sizes=(8,),
        solver="sgd",
        learning_rate_init=0.02,
        early_stopping=True,
        max_iter=50,
        random_state=0,
        callbacks=[recorder],
    )
    with pytest.warns(ConvergenceWarning, match=r"epoch \d+") as record:
        est.fit(X * 10, Y_REG)
    message = next(str(w.message) for w in record if "diverged" in str(w.message))
    assert "learning_rate_init" in message and "scal" in message.lower(), message
    scores = np.array(est.validation_scores_, dtype=float)
    assert est.n_iter_ < 50 and np.isfinite(scores).any()
    best_epoch = int(np.nanargmax(scores)) + 1
    assert best_epoch < est.n_iter_, "scenario should diverge after the best epoch"
    assert _same(_weights(est), recorder.weights[best_epoch])
    assert est.best_validation_score_ == scores[best_epoch - 1]
    assert np.isfinite(est.predict(X * 10)).all()


@pytest.mark.parametrize(
    ("solver", "how"),
    [
        ("sgd", "warm_start"),
        ("sgd", "partial_fit"),
        ("adam", "warm_start"),
        ("adam", "partial_fit"),
        ("lbfgs", "warm_start"),  # lbfgs has no partial_fit
    ],
)
def test_fit_from_non_finite_weights_raises(solver, how):
    """Training from NaN weights (no finite weights ever) raises ValueError."""
    est = _fitted("regressor", solver=solver, warm_start=True)
    est.coefs_ = [np.full_like(c, np.nan) for c in est.coefs_]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as exc:
            if how == "warm_start":
                est.fit(X, Y_REG)
            else:
                est.partial_fit(X, Y_REG)
    assert "finite" in str(exc.value), str(exc.value)


# =========================================================== extreme inputs
MAGNITUDES = [1e5, 1e10, 1e50, 1e150, 1e300]
ACTIVATION_NAMES = sorted(ACTIVATIONS)
LOSSES = ["squared_error", "poisson", "binary", "multiclass", "multilabel"]


def _loss_estimator(loss, activation, **params):
    params = dict(
        hidden_layer_sizes=(5, 4), activation=activation, random_state=0, **params
    )
    if loss in ("squared_error", "poisson"):
        target = Y_REG if loss == "squared_error" else np.exp(Y_REG / 3)
        return BackpropRegressor(loss=loss, **params), target
    target = {"binary": Y_BIN, "multiclass": Y_MULTI, "multilabel": Y_LABELS}[loss]
    return BackpropClassifier(**params), target


def _extreme_rows(n_features=3):
    """Rows with |x| from 1e5 to 1e300: all-equal, mixed signs, one huge feature."""
    rng = np.random.RandomState(1)
    rows = []
    for m in MAGNITUDES:
        rows += [np.full(n_features, m), np.full(n_features, -m)]
        rows += [m * rng.choice([-1.0, 1.0], n_features) for _ in range(3)]
        one = rng.standard_normal(n_features)
        one[rng.randint(n_features)] = m
        rows += [one, -one]
    return np.array(rows)


ALL_OUTPUTS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def _output_problems(est, Xe, methods=ALL_OUTPUTS):
    """Describe every non-finite output or bad probability row for inputs ``Xe``."""
    problems = []
    for method in methods:
        if not hasattr(est, method):
            continue
        try:
            out = getattr(est, method)(Xe)
        except Warning as w:  # raised because warnings are errors here
            problems.append(f"{method}: {type(w).__name__}: {w}")
            continue
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            rows = np.unique(np.nonzero(~np.isfinite(out))[0])
            problems.append(f"{method}: non-finite for |x| ~ {np.abs(Xe[rows]).max()}")
        if method == "predict" and out.dtype.kind != "f":
            if not np.isin(out, est.classes_).all():
                problems.append("predict: labels outside classes_")
        if method == "predict_proba":
            if np.any((out < 0) | (out > 1)):
                problems.append("predict_proba: outside [0, 1]")
            if est.n_outputs_ == 1 or est.out_activation_ == "softmax":
                err = np.abs(out.sum(axis=1) - 1).max()
                if not err <= 1e-12:
                    problems.append(f"predict_proba: rows sum to 1 ± {err}")
    return problems


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_extreme_inputs_at_predict_time(activation, loss):
    """|X| up to 1e300 at predict: no warning, finite outputs, probas sum to 1."""
    est, target = _loss_estimator(loss, activation, max_iter=5)
    _quiet(est.fit, X, target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problems = _output_problems(est, _extreme_rows())
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_fitting_on_extreme_inputs_works_or_fails_clearly(activation, loss):
    """Fitting on |X| of 1e5, 1e150, 1e300 works or fails clearly, never with NaN."""
    # Asserted for each magnitude and solver: no RuntimeWarning escapes fit or
    # predict; fit either raises a ValueError that suggests scaling, or returns a
    # model with finite weights whose outputs on the training rows are finite
    # (probabilities summing to 1); a divergence ConvergenceWarning suggests scaling.
    problems = []
    for magnitude in (1e5, 1e150, 1e300):
        for solver in ("sgd", "adam", "lbfgs"):
            config = f"|X|~{magnitude:g} solver={solver}"
            est, target = _loss_estimator(loss, activation, solver=solver, max_iter=5)
            Xe = X * magnitude
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                warnings.simplefilter("error", RuntimeWarning)
                try:
                    est.fit(Xe, target)
                except RuntimeWarning as w:
                    problems.append(f"{config}: fit leaked RuntimeWarning: {w}")
                    continue
                except ValueError as e:
                    if "scal" not in str(e).lower():
                        problems.append(f"{config}: unclear ValueError: {e}")
                    continue
                outputs = _output_problems(est, Xe, ("predict", "predict_proba"))
                problems += [f"{config}: {p}" for p in outputs]
            if not all(np.isfinite(w).all() for w in _weights(est)):
                problems.append(f"{config}: non-finite weights")
            for w in caught:
                text = str(w.message)
                if "diverged" in text and "scal" not in text.lower():
                    problems.append(f"{config}: divergence warning without a fix")
    assert not problems, "\n".join(problems)


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


# =============================================================== determinism
DETERMINISM = [
    ("classifier", {"solver": "sgd"}),
    ("classifier", {"solver": "adam", "early_stopping": True}),
    ("classifier", {"solver": "lbfgs", "activation": PReLU()}),
    ("regressor", {"solver": "adam"}),
    ("regressor", {"solver": "sgd", "early_stopping": True, "loss": "poisson"}),
    ("regressor", {"solver": "lbfgs", "activation": "tanh"}),
]


def _determinism_target(kind, params):
    if params.get("loss") == "poisson":
        return np.exp(Y_REG / 3)
    return Y_MULTI if kind == "classifier" else Y_REG


@pytest.mark.parametrize(("kind", "params"), DETERMINISM)
def test_same_random_state_gives_bit_identical_weights(kind, params):
    """Two fits with the same random_state give bit-identical weights."""
    target = _determinism_target(kind, params)
    first = _quiet(_estimator(kind, random_state=42, **params).fit, X, target)
    second = _quiet(_estimator(kind, random_state=42, **params).fit, X, target)
    assert _same(_weights(first), _weights(second))
    assert first.n_iter_ == second.n_iter_
    np.testing.assert_array_equal(
        getattr(first, "loss_curve_", []), getattr(second, "loss_curve_", [])
    )


@pytest.mark.parametrize(("kind", "params"), DETERMINISM)
def test_clone_then_fit_equals_fresh_fit(kind, params):
    """clone of a fitted estimator, then fit, equals a fresh fit (and a refit)."""
    target = _determinism_target(kind, params)
    fitted = _quiet(_estimator(kind, random_state=7, **params).fit, X, target)
    cloned = _quiet(clone(fitted).fit, X, target)
    fresh = _quiet(_estimator(kind, random_state=7, **params).fit, X, target)
    assert _same(_weights(cloned), _weights(fresh))
    refit = _quiet(fitted.fit, X, target)
    assert _same(_weights(refit), _weights(fresh))


# =============================================================== concurrency
@pytest.mark.parametrize(
    "est",
    [
        BackpropClassifier(hidden_layer_sizes=(16, 8), max_iter=20, random_state=0),
        BackpropRegressor(
            hidden_layer_sizes=(16,), activation=PReLU(), max_iter=20, random_state=0
        ),
    ],
    ids=["classifier", "regressor-prelu"],
)
def test_concurrent_predict_equals_serial(est):
    """predict from 8 threads at once on one estimator equals the serial result."""
    kind = "classifier" if hasattr(est, "predict_proba") else "regressor"
    est = _quiet(clone(est).fit, X, Y_MULTI if kind == "classifier" else Y_REG)
    rng = np.random.RandomState(3)
    X_test = rng.standard_normal((400, 3))
    methods = ["predict", "predict_proba"] if kind == "classifier" else ["predict"]
    tasks = []
    for i in range(400):
        start = rng.randint(0, 300)
        stop = start + rng.randint(1, 100)
        tasks.append((methods[i % len(methods)], start, stop))
    serial = [getattr(est, m)(X_test[a:b]) for m, a, b in tasks]

    def run(task):
        method, a, b = task
        return getattr(est, method)(X_test[a:b])

    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(run, tasks))
    for task, expected, got in zip(tasks, serial, parallel, strict=True):
        assert got.dtype == expected.dtype, task
        np.testing.assert_array_equal(got, expected, err_msg=str(task))


def test_partial_fit_with_a_single_class_in_classes():
    """partial_fit's classes must name at least two classes, and the error says so."""
    X = np.random.RandomState(0).rand(10, 3)
    with pytest.raises(ValueError, match="at least 2 classes") as exc:
        BackpropClassifier().partial_fit(X, np.zeros(10), classes=[0])
    assert "classes=np.unique(y_all)" in str(exc.value)


# ------------------------------------------------ weights beyond recovery
def _messages(caught):
    return [str(w.message) for w in caught if issubclass(w.category, Warning)]


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_a_model_beyond_recovery_says_so_once_and_says_to_refit(kind):
    # partial_fit at learning_rate_init=1e3 drives the loss to 1e160 and more
    # while every call returns finite weights; later calls at a sane rate cannot
    # bring them back (they diverge, or crawl). The user is told once, when the
    # loss crosses the line, and every later divergence says to refit.
    cls, y = (
        (BackpropClassifier, Y_BIN)
        if kind == "classifier"
        else (BackpropRegressor, Y_REG)
    )
    est = cls(
        solver="sgd", learning_rate_init=1e3, hidden_layer_sizes=(10,), random_state=0
    )
    fit_params = {"classes": [0, 1]} if kind == "classifier" else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(30):
            est.partial_fit(X, y, **fit_params)
        est.set_params(learning_rate_init=1e-4)
        for _ in range(3):
            est.partial_fit(X, y)
    messages = _messages(caught)
    alone = [
        i
        for i, m in enumerate(messages)
        if "beyond recovery" in m and not m.startswith("Training diverged")
    ]
    assert len(alone) == 1, messages  # said once
    assert re.search(
        r"times its first epoch.*Refit the model from fresh weights.*"
        r"warm_start=False",
        messages[alone[0]],
    )
    # Every later call that diverges says why nothing helps, not "use a
    # smaller learning_rate_init" again.
    diverged = [m for m in messages[alone[0] + 1 :] if "Training diverged" in m]
    assert all("beyond recovery" in m and "Refit the model" in m for m in diverged), (
        diverged
    )
    if kind == "regressor":
        assert diverged  # its later calls at 1e-4 diverge every time


def test_an_ordinary_fit_or_a_rough_start_is_not_beyond_recovery():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        BackpropRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(
            X, Y_REG
        )
        est = BackpropRegressor(
            solver="sgd",
            learning_rate_init=0.3,
            hidden_layer_sizes=(8,),
            random_state=0,
        )
        for _ in range(5):
            est.partial_fit(X, Y_REG)
    assert not [m for m in _messages(caught) if "beyond recovery" in m]
