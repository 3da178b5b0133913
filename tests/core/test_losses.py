"""Pluggable losses of the regressor: Huber, quantile (pinball) and a user's own.

The built-ins' values and deltas against their formulas and finite differences;
the whole network's gradient for every loss (check_gradient); what the losses are
for (Huber is robust to outliers, quantile nets cover their nominal fraction of
held-out targets); scikit-learn's parameter conventions (clone, grid search,
``loss__delta``); clear errors that leave the estimator as it was; warm starts
that change the loss. A user's own loss: test_losses_user.py.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils import estimator_checks

from skbackprop import BackpropRegressor, check_gradient
from skbackprop._kernels.epoch import loss_code
from skbackprop.losses import (
    LOSSES,
    BinaryLogLoss,
    HuberLoss,
    PoissonLoss,
    QuantileLoss,
    SoftmaxLogLoss,
    SquaredError,
    get_loss,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((30, 3))
Y1 = X[:, 0] - 2 * X[:, 1] + 0.3 * RNG.standard_normal(30)
Y2 = np.column_stack([Y1, np.abs(X[:, 2]) + 0.5 * RNG.standard_normal(30)])
SW = RNG.uniform(0.5, 2.0, 30)
SMALL = dict(hidden_layer_sizes=(6,), activation="tanh", random_state=0)


def _fd_delta(loss, y, s, h=1e-6):
    """Per-sample ``∂ℓ_i/∂s`` by central differences of ``n · value``."""
    n = y.shape[0]
    grad = np.empty_like(s)
    for idx in np.ndindex(*s.shape):
        up, down = s.copy(), s.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (
            loss.value(y, loss.link(up.copy())) - loss.value(y, loss.link(down.copy()))
        ) * (n / (2 * h))
    return grad


# ------------------------------------------------------------ the formulas
def test_huber_value_and_delta_formulas():
    y = np.array([[0.0, 1.0], [2.0, -1.0], [0.5, 0.0]])
    p = np.array([[0.5, 4.0], [1.0, -1.2], [-3.0, 0.0]])
    r = p - y
    delta = 1.5
    per = np.where(np.abs(r) <= delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))
    loss = HuberLoss(delta=delta)
    assert loss.value(y, p) == pytest.approx(per.sum() / 3, rel=1e-15)
    w = np.array([1.0, 2.0, 3.0])
    assert loss.value(y, p, w) == pytest.approx((w @ per).sum() / 6, rel=1e-15)
    np.testing.assert_array_equal(loss.output_delta(y, p), np.clip(r, -1.5, 1.5))
    out = np.empty_like(p)
    assert loss.output_delta(y, p, out=out) is out
    # A large delta is squared error; inputs untouched.
    assert HuberLoss(delta=1e9).value(y, p) == pytest.approx(SquaredError().value(y, p))
    np.testing.assert_array_equal(p, [[0.5, 4.0], [1.0, -1.2], [-3.0, 0.0]])


def test_quantile_value_and_delta_formulas():
    y = np.array([[0.0], [1.0], [2.0], [3.0]])
    p = np.array([[1.0], [1.0], [0.0], [5.0]])
    q = 0.8
    per = q * np.maximum(y - p, 0) + (1 - q) * np.maximum(p - y, 0)
    loss = QuantileLoss(quantile=q)
    assert loss.value(y, p) == pytest.approx(per.mean(), rel=1e-15)
    # Above: 1 - q; below: -q; on the kink: ½ - q (the mean of the two slopes).
    np.testing.assert_allclose(
        loss.output_delta(y, p), [[1 - q], [0.5 - q], [-q], [1 - q]], rtol=1e-15
    )
    # The median is half the absolute error.
    assert QuantileLoss().value(y, p) == pytest.approx(0.5 * np.abs(y - p).mean())


@pytest.mark.parametrize(
    "loss",
    [SquaredError(), PoissonLoss(), HuberLoss(0.7), QuantileLoss(0.2)],
    ids=repr,
)
def test_output_delta_is_the_derivative_of_value(loss):
    """Away from kinks, δ^(L) is n · ∂value/∂s through the link, for every output."""
    rng = np.random.default_rng(1)
    s = rng.uniform(-1.5, 1.5, (6, 2))
    y = rng.uniform(0.1, 2.0, (6, 2))
    y[np.abs(s - y) < 0.05] += 0.2  # no residual within reach of a kink
    p = loss.link(s.copy())
    np.testing.assert_allclose(
        loss.output_delta(y, p), _fd_delta(loss, y, s), rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize("loss", [HuberLoss(0.5), QuantileLoss(0.9)], ids=repr)
def test_float32_stays_float32(loss):
    y = np.linspace(-2, 2, 12, dtype=np.float32).reshape(6, 2)
    p = np.linspace(2, -2, 12, dtype=np.float32).reshape(6, 2)
    assert loss.output_delta(y, p).dtype == np.float32
    assert loss.link(p) is p
    assert np.isfinite(loss.value(y, p))
    X32 = X.astype(np.float32)
    est = BackpropRegressor(loss=loss, max_iter=5, **SMALL).fit(X32, Y1)
    assert est.coefs_[0].dtype == np.float32
    assert est.predict(X32).dtype == np.float32
    assert np.isfinite(est.loss_)


# ------------------------------------------------------------ gradient checks
GRADIENT_LOSSES = {
    "squared_error": "squared_error",
    "poisson": "poisson",
    "huber": "huber",
    "huber_small": HuberLoss(delta=0.3),  # most residuals on the linear part
    "quantile": "quantile",
    "quantile_0.1": QuantileLoss(quantile=0.1),
    "quantile_0.95": QuantileLoss(quantile=0.95),
}


@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("name", GRADIENT_LOSSES)
def test_check_gradient_for_every_loss(name, outputs):
    loss = GRADIENT_LOSSES[name]
    y = Y1 if outputs == 1 else Y2
    if name == "poisson":
        y = np.abs(y) + 0.1
    est = BackpropRegressor(
        loss=loss, hidden_layer_sizes=(5, 4), activation="tanh", alpha=0.01
    )
    est.set_params(random_state=0)
    assert check_gradient(est, X, y, sample_weight=SW) < 1e-6
    # ... and at fitted weights, where residuals are small (Huber's quadratic part).
    est.set_params(max_iter=30).fit(X, y)
    assert check_gradient(est, X, y) < 1e-6


# ------------------------------------------------------------ what they are for
def test_huber_is_robust_to_outliers():
    rng = np.random.default_rng(0)
    X_fit = rng.uniform(-2, 2, (300, 1))
    y = np.sin(2 * X_fit[:, 0]) + 0.1 * rng.standard_normal(300)
    y[rng.random(300) < 0.15] += 8.0  # one-sided gross outliers
    grid = np.linspace(-2, 2, 101).reshape(-1, 1)
    truth = np.sin(2 * grid[:, 0])
    errors = {}
    for loss in ["squared_error", HuberLoss(delta=0.3)]:
        est = BackpropRegressor(
            loss=loss,
            hidden_layer_sizes=(16,),
            activation="tanh",
            learning_rate_init=0.01,
            batch_size=30,
            max_iter=80,
            random_state=0,
        ).fit(X_fit, y)
        errors[str(loss)] = np.abs(est.predict(grid) - truth).mean()
    huber, squared = errors["HuberLoss(delta=0.3)"], errors["squared_error"]
    # Squared error follows the mean, lifted by about 0.15 · 8; Huber stays close.
    assert squared > 0.8
    assert huber < 0.2
    assert huber < squared / 5


def _heteroscedastic(n, seed):
    rng = np.random.default_rng(seed)
    X_ = rng.uniform(0, 3, (n, 1))
    y = np.sin(2 * X_[:, 0]) + (0.1 + 0.3 * X_[:, 0]) * rng.standard_normal(n)
    return X_, y


def test_quantile_nets_cover_their_nominal_fraction():
    X_fit, y_fit = _heteroscedastic(1000, 0)
    X_test, y_test = _heteroscedastic(4000, 99)
    pred = {}
    for q in (0.05, 0.95):
        est = BackpropRegressor(
            loss=QuantileLoss(quantile=q),
            hidden_layer_sizes=(8,),
            activation="tanh",
            learning_rate_init=0.01,
            batch_size=50,
            max_iter=150,
            random_state=0,
        ).fit(X_fit, y_fit)
        pred[q] = est.predict(X_test)
        assert abs(np.mean(y_test < pred[q]) - q) < 0.03
    coverage = np.mean((pred[0.05] <= y_test) & (y_test <= pred[0.95]))
    assert 0.85 <= coverage <= 0.95
    # The interval widens with the noise, as the data's does.
    width = pred[0.95] - pred[0.05]
    low, high = X_test[:, 0] < 1, X_test[:, 0] > 2
    assert width[high].mean() > 2 * width[low].mean()


# ---------------------------------------------------- names, objects, params
@pytest.mark.parametrize(
    "name, obj", [("huber", HuberLoss()), ("quantile", QuantileLoss())]
)
def test_name_and_object_give_the_same_model(name, obj):
    a = BackpropRegressor(loss=name, max_iter=5, **SMALL).fit(X, Y1)
    b = BackpropRegressor(loss=obj, max_iter=5, **SMALL).fit(X, Y1)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.out_activation_ == b.out_activation_ == "identity"
    assert type(get_loss(name)) is type(obj)
    assert get_loss(name).get_params() == obj.get_params()
    assert get_loss(obj) is obj
    assert sorted(LOSSES) == ["huber", "poisson", "quantile", "squared_error"]


def test_clone_params_and_nested_set_params():
    loss = HuberLoss(delta=0.5)
    est = BackpropRegressor(loss=loss, max_iter=5, **SMALL)
    assert est.get_params()["loss__delta"] == 0.5
    copy = clone(est)
    assert copy.loss is not loss and copy.loss.get_params() == {"delta": 0.5}
    est.set_params(loss__delta=2.0)
    assert loss.delta == 2.0  # set_params reaches the object, as for activations
    est.fit(X, Y1)
    # The fitted loss is a private copy: changing the user's object later does
    # not change the fitted model.
    assert est._loss is not loss and est._loss.delta == 2.0
    loss.delta = 0.1
    assert est._loss.delta == 2.0
    assert repr(QuantileLoss(quantile=0.9)) == "QuantileLoss(quantile=0.9)"


def test_grid_search_over_loss_objects_and_nested_params():
    base = BackpropRegressor(loss=HuberLoss(), max_iter=5, **SMALL)
    search = GridSearchCV(
        base, {"loss": [HuberLoss(delta=0.5), HuberLoss(delta=2.0)]}, cv=2
    ).fit(X, Y1)
    assert [p.delta for p in search.cv_results_["param_loss"]] == [0.5, 2.0]
    assert isinstance(search.best_estimator_.loss, HuberLoss)
    search = GridSearchCV(
        BackpropRegressor(loss=QuantileLoss(), max_iter=5, **SMALL),
        {"loss__quantile": [0.2, 0.8]},
        cv=2,
    ).fit(X, Y1)
    assert list(search.cv_results_["param_loss__quantile"]) == [0.2, 0.8]
    assert base.loss.delta == 1.0  # the grid's clones, never the base's loss


# scikit-learn's checks that exercise parameters, cloning, refits, pickling,
# dtypes and sample weights, with loss objects as nested parameters (the whole
# check_estimator suite, in tests/estimator/test_common.py, takes far longer).
SKLEARN_CHECKS = [
    "check_estimator_cloneable",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_dont_overwrite_parameters",
    "check_estimators_overwrite_params",
    "check_fit_idempotent",
    "check_estimators_pickle",
    "check_estimators_dtypes",
    "check_regressors_train",
    "check_regressors_int",
    "check_sample_weight_equivalence_on_dense_data",
    "check_fit2d_1sample",
    "check_estimators_partial_fit_n_features",
]


@pytest.mark.parametrize("check", SKLEARN_CHECKS)
@pytest.mark.parametrize(
    "loss", [HuberLoss(delta=0.5), QuantileLoss(quantile=0.3)], ids=repr
)
def test_scikit_learns_checks_pass_with_loss_objects(loss, check):
    est = BackpropRegressor(
        loss=loss,
        hidden_layer_sizes=(16,),
        learning_rate_init=0.01,
        max_iter=50,
        random_state=0,
    )
    getattr(estimator_checks, check)("BackpropRegressor", est)


def test_pickle_round_trip():
    est = BackpropRegressor(loss=QuantileLoss(0.3), max_iter=5, **SMALL).fit(X, Y1)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    assert type(again._loss) is QuantileLoss and again._loss.quantile == 0.3


def test_built_in_kernels_still_dispatch_by_exact_type():
    """New and user losses take the numpy path; the built-ins keep their kernels."""
    assert loss_code(SquaredError()) is not None
    assert loss_code(PoissonLoss()) is not None

    class MySquaredError(SquaredError):
        pass

    for loss in [HuberLoss(), QuantileLoss(), MySquaredError()]:
        assert loss_code(loss) is None


# ------------------------------------------------------------------ errors
def _fitted():
    return BackpropRegressor(loss=HuberLoss(), max_iter=3, **SMALL).fit(X, Y1)


def _state(est):
    return (
        [c.copy() for c in est.coefs_],
        est.n_iter_,
        list(est.loss_curve_),
        est.get_params(deep=False)["warm_start"],
        est._loss,
    )


def _assert_same_state(before, est):
    after = _state(est)
    for a, b in zip(before[0], after[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert before[1:4] == after[1:4]
    assert before[4] is after[4]


BAD_LOSSES = [
    (HuberLoss(delta=0), ValueError, "HuberLoss's delta must be a real number > 0"),
    (HuberLoss(delta=-1.0), ValueError, "got -1.0"),
    (HuberLoss(delta=np.inf), ValueError, "quadratic to linear"),
    (HuberLoss(delta=np.nan), ValueError, "delta"),
    (HuberLoss(delta="1"), ValueError, "got '1'"),
    (QuantileLoss(quantile=0), ValueError, r"quantile must be a real number in \(0"),
    (QuantileLoss(quantile=1.0), ValueError, "90% prediction interval"),
    (QuantileLoss(quantile=1.5), ValueError, "got 1.5"),
    (QuantileLoss(quantile=True), ValueError, "got True"),
    (BinaryLogLoss(), ValueError, "BinaryLogLoss is a classification loss"),
    (SoftmaxLogLoss(), ValueError, "Use BackpropClassifier for labels"),
    # partial_fit on a fitted model skips scikit-learn's parameter validation
    # (as scikit-learn's own partial_fit does); get_loss says the same.
    ("absolute_error", ValueError, "(parameter of BackpropRegressor|Unknown loss)"),
    (HuberLoss, TypeError, "instance of '?skbackprop.losses.Loss"),
    (object(), TypeError, "instance of '?skbackprop.losses.Loss"),
]


@pytest.mark.parametrize("method", ["fit", "warm_start", "partial_fit"])
@pytest.mark.parametrize("loss, error, match", BAD_LOSSES)
def test_bad_loss_raises_and_leaves_the_estimator_as_it_was(loss, error, match, method):
    if method == "fit":
        est = BackpropRegressor(loss=loss, **SMALL)
        with pytest.raises(error, match=match):
            est.fit(X, Y1)
        assert not hasattr(est, "coefs_") and not hasattr(est, "_loss")
        return
    est = _fitted()
    before = _state(est)
    est.set_params(loss=loss, warm_start=method == "warm_start")
    with pytest.raises(error, match=match):
        est.fit(X, Y1) if method == "warm_start" else est.partial_fit(X, Y1)
    est.set_params(warm_start=False)
    _assert_same_state(before, est)


@pytest.mark.parametrize("loss", ["poisson", PoissonLoss()], ids=str)
def test_poisson_refuses_negative_targets_by_name_or_object(loss):
    est = _fitted()
    before = _state(est)
    est.set_params(loss=loss, warm_start=True)
    with pytest.raises(ValueError, match="loss='poisson'.*non-negative targets"):
        est.fit(X, Y1)
    with pytest.raises(ValueError, match="non-negative targets"):
        est.partial_fit(X, Y1)
    est.set_params(warm_start=False)
    _assert_same_state(before, est)
    with pytest.raises(ValueError, match="got a minimum of"):
        BackpropRegressor(loss=loss).fit(X, Y1)
    BackpropRegressor(loss=loss, max_iter=2, **SMALL).fit(X, np.abs(Y1))


# ------------------------------------------------------------ warm starts
def test_warm_start_with_changed_loss_parameters_resets_references():
    """Another delta is another objective: the best-loss references start afresh."""
    est = BackpropRegressor(
        loss=HuberLoss(delta=0.05), max_iter=10, learning_rate_init=0.01, **SMALL
    ).fit(X, Y1)
    # Unchanged parameters (a new but equal object): the references carry on.
    est.best_loss_ = -1.0  # a sentinel below any loss
    est.set_params(warm_start=True, max_iter=2, loss=HuberLoss(delta=0.05))
    est.fit(X, Y1)
    assert est.best_loss_ == -1.0
    # Huber(1.0)'s values are far above Huber(0.05)'s: kept, the old best would
    # count every new epoch as no improvement.
    est.set_params(loss__delta=1.0, max_iter=3).fit(X, Y1)
    assert est.best_loss_ == min(est.loss_curve_[-3:]) > max(est.loss_curve_[:-3])

    es = BackpropRegressor(
        loss=HuberLoss(delta=0.05),
        early_stopping=True,
        validation_metric="loss",
        max_iter=8,
        **SMALL,
    ).fit(X, Y1)
    es.set_params(warm_start=True, loss__delta=1.0, max_iter=2).fit(X, Y1)
    # The best epoch is one of this call's, scored with the new delta.
    assert es._best_val_loss in es.validation_loss_curve_[-2:]
    assert es.best_validation_score_ in es.validation_scores_[-2:]


def test_warm_start_from_squared_error_to_huber_keeps_the_weights():
    est = BackpropRegressor(max_iter=20, learning_rate_init=0.01, **SMALL).fit(X, Y1)
    before = est.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(warm_start=True, loss="huber", max_iter=1).fit(X, Y1)
    fresh = BackpropRegressor(loss="huber", max_iter=1, **SMALL).fit(X, Y1)
    # One small step from the fitted weights, not a fresh start.
    assert (
        np.abs(est.predict(X) - before).max() < np.abs(fresh.predict(X) - before).max()
    )
    assert isinstance(est._loss, HuberLoss) and est.out_activation_ == "identity"
