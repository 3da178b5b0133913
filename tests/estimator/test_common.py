"""scikit-learn's estimator checks over both estimators in several configurations."""

from unittest import SkipTest

import pytest
import sklearn
from sklearn.utils._testing import _array_api_for_tests
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbackprop import (
    BackpropClassifier,
    BackpropRegressor,
    HiddenFeatures,
    LeakyReLU,
    PReLU,
)

# The checks fit on purpose with max_iter=100 (to stay fast) on data sets that
# need more: "Maximum iterations reached" and lbfgs's "failed to converge" are
# expected here (about 590 of them). No other warning is filtered.
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # About 1,100 checks: minutes on two cores (-m "not slow" leaves them out).
    pytest.mark.slow,
]

# Small networks and few epochs keep the checks fast; each solver, non-default and
# per-layer activations, class weights and early stopping are covered.
SMALL = dict(
    hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=100, random_state=0
)

ESTIMATORS = [
    BackpropClassifier(**SMALL),
    BackpropClassifier(**{**SMALL, "solver": "sgd", "learning_rate_init": 0.05}),
    BackpropClassifier(**{**SMALL, "solver": "lbfgs"}),
    BackpropClassifier(**{**SMALL, "activation": LeakyReLU(alpha=0.1)}),
    BackpropClassifier(
        hidden_layer_sizes=(16, 8),
        activation=["tanh", PReLU()],
        max_iter=100,
        random_state=0,
    ),
    BackpropClassifier(**{**SMALL, "class_weight": "balanced"}),
    # Early stopping at its defaults (validation_fraction=0.1, validation_metric=
    # "score"): on the checks' 10-row data sets the validation set grows to its
    # minimum (2 rows, one per class); with class_weight, a tie of the weighted
    # score is decided by the weighted validation loss.
    BackpropClassifier(**SMALL, early_stopping=True),
    BackpropClassifier(**SMALL, early_stopping=True, class_weight="balanced"),
    # ... and with a larger validation set watching the loss.
    BackpropClassifier(
        **SMALL, early_stopping=True, validation_fraction=0.3, validation_metric="loss"
    ),
    BackpropRegressor(**SMALL),
    BackpropRegressor(**{**SMALL, "solver": "sgd", "learning_rate_init": 0.01}),
    BackpropRegressor(**{**SMALL, "solver": "lbfgs"}),
    BackpropRegressor(**{**SMALL, "activation": "gelu"}),
    BackpropRegressor(
        hidden_layer_sizes=(16, 8),
        activation=["elu", "softplus"],
        max_iter=100,
        random_state=0,
    ),
    BackpropRegressor(**SMALL, early_stopping=True),
    BackpropRegressor(**{**SMALL, "early_stopping": True, "validation_fraction": 0.3}),
    # The hidden-feature transformer around each estimator: one layer of a
    # one-layer regressor, two layers of a classifier side by side.
    HiddenFeatures(BackpropRegressor(**SMALL)),
    HiddenFeatures(
        BackpropClassifier(
            hidden_layer_sizes=(16, 8), activation="tanh", max_iter=100, random_state=0
        ),
        layer=[0, -1],
    ),
]


def _runnable_here(check):
    """Whether this machine has what an array-API check needs.

    scikit-learn yields its array-API checks for every namespace and device it
    knows (CuPy, CUDA, MPS, XPU, dpnp); those this machine lacks would only be
    reported as skipped, so they are left out. What it has (array-api-strict on
    both its devices, PyTorch on the CPU when installed) runs. Array-API
    dispatch itself needs SciPy >= 1.14: with older SciPy no array-API check
    runs (tests/array_api/test_xp_estimators.py checks that refusal).
    """
    kw = getattr(check, "keywords", {})
    targets = []
    if "array_namespace" in kw:
        targets.append((kw["array_namespace"], kw.get("device_name", kw.get("device"))))
    for key in ("X_ns_and_device", "other_ns_and_device"):
        if key in kw:
            targets.append((kw[key].xp, kw[key].device))
    if not targets:
        return True
    try:
        with sklearn.config_context(array_api_dispatch=True):
            for namespace, device in targets:
                _array_api_for_tests(namespace, device)
    except (SkipTest, ImportError):
        return False
    return True


_CHECKS = parametrize_with_checks(ESTIMATORS).mark
_RUNNABLE = [(est, check) for est, check in _CHECKS.args[1] if _runnable_here(check)]


@pytest.mark.parametrize("estimator, check", _RUNNABLE, **_CHECKS.kwargs)
def test_sklearn_compatible(estimator, check):
    """Every scikit-learn estimator check passes, none marked as expected to fail."""
    check(estimator)
