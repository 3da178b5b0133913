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
# expected here. No other warning is filtered.
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # About 900 checks: about a minute on two cores (-m "not slow" leaves them out).
    pytest.mark.slow,
]

# Small networks and few epochs keep the checks fast.
SMALL = dict(
    hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=100, random_state=0
)

# One configuration per code path that scikit-learn's checks reach; a setting
# that changes only numbers (another built-in activation, another solver on the
# other estimator) is checked where the numbers are, not here. On the checks'
# tiny data sets the fits stay on the numpy path (kernels="auto"; the compiled
# kernels are checked against it in tests/kernels), and the training loops,
# optimizers and validation split are shared by both estimators: what differs
# between the classifier and the regressor is their targets, outputs and scores,
# which their default configurations cover. Left out, as duplicates of a kept
# one under the checks: the regressor with sgd or lbfgs (the classifier's cover
# those loops), with "gelu" or ["elu", "softplus"] (the same numpy path as the
# default and the classifier's per-layer list), with early stopping at
# validation_fraction=0.3 (the regressor's split at its default fraction and the
# classifier's at 0.3 cover it), and the classifier with early stopping and
# class_weight together (its one interaction, a tie of the weighted score, is
# tests/training/test_early_stopping.py's
# test_class_weight_ties_of_the_score_are_decided_by_the_weighted_loss).
ESTIMATORS = [
    # The classifier at its defaults: Adam, the stochastic loop, partial_fit,
    # label encoding, predict_proba.
    BackpropClassifier(**SMALL),
    # SGD: the other stochastic optimizer (velocity, learning-rate schedule).
    BackpropClassifier(**{**SMALL, "solver": "sgd", "learning_rate_init": 0.05}),
    # L-BFGS: scipy's loop over the flat parameter vector; no partial_fit.
    BackpropClassifier(**{**SMALL, "solver": "lbfgs"}),
    # An activation object: its own parameters are nested estimator parameters
    # (get_params, set_params, clone see activation__alpha).
    BackpropClassifier(**{**SMALL, "activation": LeakyReLU(alpha=0.1)}),
    # Two hidden layers, a per-layer list, and a parametric activation whose
    # slopes are trained in the flat vector (activation_params_).
    BackpropClassifier(
        hidden_layer_sizes=(16, 8),
        activation=["tanh", PReLU()],
        max_iter=100,
        random_state=0,
    ),
    # Class weights: per-row weights from the labels in every fit and score.
    BackpropClassifier(**SMALL, class_weight="balanced"),
    # Early stopping at its defaults (validation_fraction=0.1, validation_metric=
    # "score"): on the checks' 10-row data sets the stratified validation set
    # grows to its minimum (2 rows, one per class); no partial_fit.
    BackpropClassifier(**SMALL, early_stopping=True),
    # ... and with a larger validation set watching the loss: the other
    # stopping criterion (best_loss_ on the validation set).
    BackpropClassifier(
        **SMALL, early_stopping=True, validation_fraction=0.3, validation_metric="loss"
    ),
    # The regressor at its defaults: squared error, continuous and multi-output
    # targets, R² score, the target-scale hint.
    BackpropRegressor(**SMALL),
    # A loss outside the canonical four (delta^(L) = P - Y): the loss's own
    # output delta in the backward pass.
    BackpropRegressor(**SMALL, loss="huber"),
    # Early stopping on the regressor: the unstratified split, grown to its
    # minimum on 10 rows, scored by R².
    BackpropRegressor(**SMALL, early_stopping=True),
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
