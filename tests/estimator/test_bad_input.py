"""Bad input: each message says what was wrong and how to fix it.

Messages are checked for two parts: what was wrong and how to fix it (a hint such
as an imputer, an encoder, a valid range). Every bad-input case is one test id so
that a failure names the case. (From tests/test_reliability.py, issue 4, and
tests/test_reliability_round2.py, issue 9.)
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skbackprop import BackpropClassifier, BackpropRegressor, check_gradient
from tests._small_fits import (
    SMALL,
    Y_BIN,
    Y_MULTI,
    Y_REG,
    X,
    _estimator,
    _fitted,
    _target,
)

# ------------------------------------------------------------------- helpers


def _assert_helpful(message, what, fix):
    """``message`` names the problem (one of ``what``) and a fix (one of ``fix``)."""
    low = message.lower()
    assert any(w.lower() in low for w in what), (
        f"the message does not say what is wrong (expected one of {what}): {message!r}"
    )
    assert any(f.lower() in low for f in fix), (
        f"the message does not say how to fix it (expected one of {fix}): {message!r}"
    )


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


def test_partial_fit_with_a_single_class_in_classes():
    """partial_fit's classes must name at least two classes, and the error says so."""
    X = np.random.RandomState(0).rand(10, 3)
    with pytest.raises(ValueError, match="at least 2 classes") as exc:
        BackpropClassifier().partial_fit(X, np.zeros(10), classes=[0])
    assert "classes=np.unique(y_all)" in str(exc.value)


@pytest.mark.parametrize("sizes", [(np.nan,), (np.inf,), ((3, 4),), ("5",), (True,)])
def test_bad_hidden_layer_sizes_are_a_parameter_error(sizes):
    with pytest.raises(InvalidParameterError, match="positive integers"):
        BackpropRegressor(hidden_layer_sizes=sizes).fit(X, Y_REG)


@pytest.mark.parametrize("epsilon", [0.0, -1e-6, np.nan, np.inf])
def test_check_gradient_refuses_a_useless_epsilon(epsilon):
    with pytest.raises(ValueError, match="epsilon"):
        check_gradient(BackpropRegressor(**SMALL), X, Y_REG, epsilon=epsilon)


def test_negative_sample_weights_are_refused_clearly():
    sw = np.ones(len(X))
    sw[:3] = -1.0
    for early_stopping in (False, True):
        est = BackpropRegressor(**SMALL, early_stopping=early_stopping)
        with pytest.raises(ValueError, match="non-negative"):
            est.fit(X, Y_REG, sample_weight=sw)
