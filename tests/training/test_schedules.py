"""Learning-rate schedules (skbackprop.schedules) and their use by the estimators.

Each built-in's factors at known steps (by hand, and against PyTorch's schedulers
where one exists); clone and grid search; a schedule stepping per batch or per
epoch equals single steps taken at the hand-computed rates; ``Constant()``
reproduces ``learning_rate="constant"`` bitwise with sgd and adam; partial_fit
continues the steps and warm_start restarts them; bad schedules fail cleanly;
the compiled epoch kernel covers per-epoch schedules and steps aside for
per-batch ones; array-api-strict trains the same model as numpy.
"""

import copy
import math
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from skbackprop import BackpropClassifier, BackpropRegressor, config_context, schedules
from skbackprop._core import xp as _xp
from skbackprop._training.loop import compiled_epoch_wins
from skbackprop.network import Network
from skbackprop.optimizers import SGD, Adam
from skbackprop.schedules import Constant, Cosine, OneCycle, Schedule, Step, Warmup
from tests._marks import needs_dispatch

X, y = make_regression(n_samples=60, n_features=4, noise=0.1, random_state=0)
X /= X.std(axis=0)
y /= y.std()
Xc, yc = make_classification(
    n_samples=60, n_features=5, n_informative=3, n_classes=3, random_state=0
)

SGD_PLAIN = dict(solver="sgd", momentum=0.0, nesterovs_momentum=False)
BASE = dict(
    hidden_layer_sizes=(5,), batch_size=20, shuffle=False, random_state=0, tol=0.0
)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


def _params(est):
    return [*est.coefs_, *est.intercepts_]


def _assert_same(a, b, rtol=0.0):
    for pa, pb in zip(_params(a), _params(b), strict=True):
        if rtol:
            np.testing.assert_allclose(_xp.to_numpy(pa), pb, rtol=rtol, atol=1e-13)
        else:
            np.testing.assert_array_equal(pa, pb)


class Recorder(Schedule):
    """A user's schedule that records the (step, n_steps) it is asked for."""

    def __init__(self, per="epoch", calls=None):
        self.per = per
        self.calls = calls

    def factor(self, step, n_steps):
        self.calls.append((step, n_steps))
        return 1.0


# ------------------------------------------------------------ the factors
def test_constant_factor():
    assert Constant().factor(0, 10) == 1.0
    assert Constant(value=0.25).factor(7, 10) == 0.25


def test_warmup_factors():
    w = Warmup(steps=4, start_factor=0.2)
    np.testing.assert_allclose(
        [w.factor(t, 10) for t in range(7)], [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0]
    )
    # Wrapping: the wrapped schedule starts at its step 0 when warmup ends, and
    # plans for the remaining steps.
    w = Warmup(steps=2, start_factor=0.0, schedule=Cosine())
    assert w.factor(0, 10) == 0.0
    assert w.factor(1, 10) == 0.5
    assert w.factor(2, 10) == 1.0
    assert w.factor(6, 10) == pytest.approx(0.5)  # half of the 8 cosine steps
    assert w.factor(10, 10) == pytest.approx(0.0)


def test_cosine_factors():
    c = Cosine(min_factor=0.1)
    n = 8
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * t / n)) / 2 for t in range(n + 1)]
    np.testing.assert_allclose([c.factor(t, n) for t in range(n + 1)], expected)
    assert c.factor(50, n) == pytest.approx(0.1)  # past T: the end value


def test_cosine_restarts():
    # Cycles of 2, 4, 8 steps (mult 2): restarts at steps 2 and 6.
    c = Cosine(period=2, mult=2)
    got = [c.factor(t, 100) for t in range(8)]
    cycle2 = [(1 + math.cos(math.pi * t / 2)) / 2 for t in range(2)]
    cycle4 = [(1 + math.cos(math.pi * t / 4)) / 2 for t in range(4)]
    np.testing.assert_allclose(got, cycle2 + cycle4 + [1.0, got[7]])
    assert got[7] == pytest.approx((1 + math.cos(math.pi / 8)) / 2)
    # mult 1: every `period` steps.
    c = Cosine(period=3)
    np.testing.assert_allclose(
        [c.factor(t, 100) for t in range(6)], [c.factor(t, 100) for t in range(3)] * 2
    )


def test_onecycle_factors():
    s = OneCycle(pct_start=0.5, div_factor=10, final_div_factor=10)
    n = 5  # rises over steps 0..1.5 (PyTorch's pct_start * T - 1), falls to 4
    assert s.factor(0, n) == pytest.approx(0.1)
    up = 0.1 + (1 - 0.1) * (1 - math.cos(math.pi * 1 / 1.5)) / 2
    assert s.factor(1, n) == pytest.approx(up)
    down = 0.01 + (1 - 0.01) * (1 + math.cos(math.pi * 0.5 / 2.5)) / 2
    assert s.factor(2, n) == pytest.approx(down)
    assert s.factor(4, n) == pytest.approx(0.01)
    assert s.factor(40, n) == pytest.approx(0.01)  # past T: stays
    lin = OneCycle(pct_start=0.5, div_factor=10, final_div_factor=10, anneal="linear")
    assert lin.factor(1, n) == pytest.approx(0.1 + 0.9 / 1.5)
    assert OneCycle().factor(0, 1) == pytest.approx(1 / 25)  # one step


def test_step_factors():
    s = Step(step_size=3, gamma=0.5)
    assert [s.factor(t, 100) for t in range(7)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


@pytest.mark.slow  # imports torch (seconds)
def test_factors_match_pytorch():
    """Warmup, Cosine (with restarts), OneCycle and Step against torch's schedulers."""
    torch = pytest.importorskip("torch")

    sch = torch.optim.lr_scheduler

    def torch_factors(make, n):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        scheduler = make(opt)
        out = []
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
        return out

    n = 20
    cases = [
        (Warmup(steps=5, start_factor=0.1), lambda o: sch.LinearLR(o, 0.1, 1.0, 5)),
        (Cosine(), lambda o: sch.CosineAnnealingLR(o, T_max=n)),
        (
            Cosine(period=3, mult=2, min_factor=0.05),
            lambda o: sch.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.05),
        ),
        (
            OneCycle(pct_start=0.3, div_factor=25, final_div_factor=1e4),
            lambda o: sch.OneCycleLR(o, max_lr=1.0, total_steps=n, pct_start=0.3),
        ),
        (Step(step_size=4, gamma=0.3), lambda o: sch.StepLR(o, 4, 0.3)),
    ]
    for ours, make in cases:
        np.testing.assert_allclose(
            [ours.factor(t, n) for t in range(n)],
            torch_factors(make, n),
            rtol=1e-9,
            atol=1e-12,
            err_msg=type(ours).__name__,
        )


# ------------------------------------------------- scikit-learn conventions
def test_clone_get_params_and_grid_search():
    est = BackpropRegressor(learning_rate=Warmup(steps=3, schedule=Cosine()))
    params = est.get_params()
    assert params["learning_rate__steps"] == 3
    assert params["learning_rate__schedule__min_factor"] == 0.0
    twin = clone(est)
    assert twin.learning_rate is not est.learning_rate
    assert repr(twin.learning_rate) == repr(est.learning_rate)
    search = GridSearchCV(
        BackpropRegressor(**BASE, max_iter=3, learning_rate=Warmup()),
        {"learning_rate__steps": [1, 2], "learning_rate__start_factor": [0.5]},
        cv=2,
    )
    _quiet(search.fit, X, y)
    assert search.best_params_["learning_rate__steps"] in (1, 2)
    assert isinstance(search.best_estimator_.learning_rate, Warmup)


def test_public_module():
    assert set(schedules.__all__) == {
        "Schedule",
        "Constant",
        "Warmup",
        "Cosine",
        "OneCycle",
        "Step",
    }
    assert Schedule.__module__ == "skbackprop.schedules"


# ----------------------------------------------------- training with them
@pytest.mark.parametrize("per", ["epoch", "batch"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_constant_schedule_is_bitwise_constant(solver, per):
    """Constant() trains exactly as learning_rate="constant" (sgd and adam).

    On one code path: with kernels loaded in the process, a per-batch schedule
    leaves the compiled epoch (which agrees with numpy to rounding, tested in
    tests/kernels) for numpy.
    """
    settings = dict(BASE, solver=solver, max_iter=4, learning_rate_init=0.05)
    with config_context(kernels=False):
        ref = _quiet(BackpropRegressor(**settings).fit, X, y)
        est = _quiet(
            BackpropRegressor(**settings, learning_rate=Constant(per=per)).fit, X, y
        )
    _assert_same(est, ref)
    assert est.loss_curve_ == ref.loss_curve_


def test_constant_schedule_is_bitwise_constant_with_early_stopping():
    settings = dict(BASE, max_iter=6, early_stopping=True, learning_rate_init=0.05)
    with config_context(kernels=False):
        ref = _quiet(BackpropClassifier(**settings).fit, Xc, yc)
        est = _quiet(
            BackpropClassifier(**settings, learning_rate=Constant()).fit, Xc, yc
        )
    _assert_same(est, ref)
    assert est.validation_scores_ == ref.validation_scores_


def _single_steps(rates, batches):
    """Fit step by step: one warm-started single-batch fit per (rate, rows).

    With plain SGD (no momentum) a fresh optimizer each call changes nothing, so
    these are the steps a schedule should take.
    """
    est = None
    for rate, rows in zip(rates, batches, strict=True):
        params = dict(BASE, **SGD_PLAIN, max_iter=1, learning_rate_init=rate)
        if est is None:
            est = BackpropRegressor(**params, warm_start=True)
        else:
            est.set_params(**params)
        _quiet(est.fit, X[rows], y[rows])
    return est


def test_per_batch_schedule_takes_its_rate_each_batch():
    lr, gamma = 0.1, 0.5
    est = BackpropRegressor(
        **BASE,
        **SGD_PLAIN,
        max_iter=2,
        learning_rate_init=lr,
        learning_rate=Step(step_size=1, gamma=gamma, per="batch"),
    )
    batches = [slice(0, 20), slice(20, 40), slice(40, 60)] * 2
    rates = [lr * gamma**k for k in range(6)]
    with config_context(kernels=False):  # one code path for both (bitwise)
        _quiet(est.fit, X, y)
        _assert_same(est, _single_steps(rates, batches))
    assert est._optimizer._schedule_t == 6


def test_per_epoch_schedule_takes_its_rate_each_epoch():
    lr, gamma = 0.1, 0.5
    est = BackpropRegressor(
        **BASE,
        **SGD_PLAIN,
        max_iter=2,
        learning_rate_init=lr,
        learning_rate=Step(step_size=1, gamma=gamma),
    )
    batches = [slice(0, 20), slice(20, 40), slice(40, 60)] * 2
    rates = [lr] * 3 + [lr * gamma] * 3
    with config_context(kernels=False):  # one code path for both (bitwise)
        _quiet(est.fit, X, y)
        _assert_same(est, _single_steps(rates, batches))


@pytest.mark.parametrize("per", ["epoch", "batch"])
def test_steps_planned_and_taken(per):
    """T is max_iter epochs (times batches per epoch for per="batch")."""
    calls = []
    est = BackpropRegressor(**BASE, max_iter=2, learning_rate=Recorder(per, calls))
    _quiet(est.fit, X, y)
    if per == "epoch":
        assert calls == [(0, 2), (1, 2), (2, 2)]  # the start, then after each epoch
    else:
        assert calls == [(0, 6)] + [(t, 6) for t in range(6)]


def test_adam_rate_is_scaled_by_the_factor():
    lr = 0.02
    est = BackpropRegressor(
        **BASE, max_iter=3, learning_rate_init=lr, learning_rate=Step(1, 0.5)
    )
    _quiet(est.fit, X, y)
    opt = est._optimizer
    assert opt.t == 9
    # After the third epoch the factor moved on to 0.25; the last step used 0.25.
    b1, b2 = 0.9, 0.999
    bias = math.sqrt(1 - b2**9) / (1 - b1**9)
    assert opt.learning_rate == pytest.approx(lr * 0.25 * bias, rel=1e-14)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize(
    "schedule",
    [
        Warmup(steps=2),
        Cosine(per="batch"),
        Cosine(period=2, mult=2),
        OneCycle(per="batch"),
        Step(step_size=2),
        Warmup(steps=3, schedule=Cosine(per="batch"), per="batch"),
    ],
    ids=lambda s: repr(s),
)
def test_every_schedule_trains(solver, schedule):
    settings = dict(BASE, solver=solver, max_iter=4, learning_rate_init=0.05)
    ref = _quiet(BackpropClassifier(**settings).fit, Xc, yc)
    est = _quiet(BackpropClassifier(**settings, learning_rate=schedule).fit, Xc, yc)
    assert np.isfinite(est.loss_curve_).all()
    assert len(est.loss_curve_) == 4
    assert not np.array_equal(est.coefs_[0], ref.coefs_[0])
    assert est.score(Xc, yc) >= 0


def test_partial_fit_continues_and_warm_start_restarts():
    calls = []
    est = BackpropRegressor(**BASE, max_iter=5, learning_rate=Recorder("epoch", calls))
    est.partial_fit(X, y)
    est.partial_fit(X, y)
    assert est._optimizer._schedule_t == 2
    assert calls[-1] == (2, 5)
    # set_params between calls: a new schedule object continues from step 2.
    est.set_params(learning_rate=Step(step_size=1, gamma=0.5))
    est.partial_fit(X, y)
    assert est._optimizer._schedule_t == 3
    # back to a string: it starts from learning_rate_init again.
    est.set_params(learning_rate="constant", solver="sgd")
    est.partial_fit(X, y)
    assert est._optimizer.learning_rate == est.learning_rate_init
    # warm_start fit: a fresh optimizer, the schedule from step 0.
    calls.clear()
    est.set_params(warm_start=True, learning_rate=Recorder("epoch", calls), max_iter=2)
    _quiet(est.fit, X, y)
    assert calls[0] == (0, 2)


def test_adaptive_string_unchanged_and_schedules_stop_on_stall():
    """A schedule object does not divide the rate on a stall: it stops."""
    settings = dict(BASE, **SGD_PLAIN, max_iter=50, n_iter_no_change=2, tol=10.0)
    adaptive = _quiet(BackpropRegressor(**settings, learning_rate="adaptive").fit, X, y)
    constant = _quiet(BackpropRegressor(**settings).fit, X, y)
    est = _quiet(BackpropRegressor(**settings, learning_rate=Constant()).fit, X, y)
    assert est.n_iter_ == constant.n_iter_
    # "adaptive" divides the rate by 5 on each stall until it is below 1e-6.
    assert adaptive.n_iter_ > constant.n_iter_ + 5


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("schedule", "match"),
    [
        (Cosine(period=0), "period"),
        (Cosine(mult=0.5), "mult"),
        (Step(gamma=-1), "gamma"),
        (OneCycle(pct_start=1.5), "pct_start"),
        (Warmup(per="sample"), "per"),
        (Warmup(schedule=Cosine(per="batch")), "same unit"),
        (Warmup(schedule=Cosine(period=-1)), "period"),
    ],
)
def test_bad_schedule_leaves_the_estimator_unchanged(schedule, match):
    est = _quiet(BackpropRegressor(**BASE, max_iter=2).fit, X, y)
    before = copy.deepcopy(vars(est))
    est.set_params(learning_rate=schedule, warm_start=True)
    with pytest.raises((ValueError, InvalidParameterError), match=match):
        est.fit(X, y)
    for key in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(est, key), before[key], strict=True):
            np.testing.assert_array_equal(a, b)
    assert est.loss_curve_ == before["loss_curve_"]


class _Broken(Schedule):
    def factor(self, step, n_steps):
        return math.nan if step == 1 else 1.0


def test_bad_factor_names_the_schedule_and_changes_nothing():
    est = BackpropRegressor(**BASE, max_iter=3, learning_rate=_Broken())
    with pytest.raises(ValueError, match=r"_Broken.*factor nan at step 1"):
        _quiet(est.fit, X, y)
    assert not hasattr(est, "coefs_")


def test_learning_rate_rejects_other_objects():
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        BackpropRegressor(learning_rate=object()).fit(X, y)


# -------------------------------------------------------------- the kernels
def _network():
    from skbackprop.activations import ReLU
    from skbackprop.losses import SquaredError

    return Network([4, 5, 1], [ReLU()], SquaredError(), np.float64)


def test_dispatch_rule_refuses_per_batch_schedules():
    net = _network()
    est = BackpropRegressor(learning_rate=Cosine())
    assert compiled_epoch_wins(1, net, "sgd")
    assert compiled_epoch_wins(1, net, "sgd", BackpropRegressor())
    assert compiled_epoch_wins(1, net, "sgd", est)
    est.set_params(learning_rate=Cosine(per="batch"))
    assert not compiled_epoch_wins(1, net, "sgd", est)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_per_epoch_schedule_in_the_epoch_kernel(solver):
    """The compiled epoch takes the scheduled rate: the numpy path's model."""
    settings = dict(
        hidden_layer_sizes=(5,),
        solver=solver,
        batch_size=1,
        max_iter=4,
        random_state=0,
        learning_rate_init=0.01,
        learning_rate=Cosine(min_factor=0.1),
    )
    with config_context(kernels=False):
        ref = _quiet(BackpropRegressor(**settings).fit, X, y)
    with config_context(kernels=True):
        est = _quiet(BackpropRegressor(**settings).fit, X, y)
        assert est._optimizer._epoch_kernel_args() is not None
    _assert_same(est, ref, rtol=1e-10)
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-10)


def test_per_batch_schedule_falls_back_from_the_epoch_kernel():
    settings = dict(
        hidden_layer_sizes=(5,),
        batch_size=1,
        max_iter=2,
        random_state=0,
        learning_rate=Cosine(per="batch"),
    )
    with config_context(kernels=False):
        ref = _quiet(BackpropRegressor(**settings).fit, X, y)
    with config_context(kernels=True):
        est = _quiet(BackpropRegressor(**settings).fit, X, y)
        assert est._optimizer._epoch_kernel_args() is None
    _assert_same(est, ref, rtol=1e-12)


def test_optimizers_take_schedules_directly():
    """The core's optimizers: lr_schedule accepts a schedule object."""
    for cls in (SGD, Adam):
        opt = cls(3, np.float64, learning_rate_init=0.1, lr_schedule=Step(1, 0.5))
        opt.start_schedule(batches_per_epoch=1, max_epochs=4)
        opt.iteration_ends(1)
        assert opt._factor == 0.5
        if cls is SGD:
            assert opt.learning_rate == 0.05


# ------------------------------------------------------------ array API
@needs_dispatch
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_array_api_strict_schedule(solver):
    import array_api_strict as xps
    import sklearn

    settings = dict(
        BASE,
        solver=solver,
        max_iter=3,
        learning_rate_init=0.05,
        learning_rate=Warmup(steps=2, schedule=Cosine(per="batch"), per="batch"),
    )
    ref = _quiet(BackpropRegressor(**settings).fit, X, y)
    with sklearn.config_context(array_api_dispatch=True):
        est = _quiet(BackpropRegressor(**settings).fit, xps.asarray(X), xps.asarray(y))
    _assert_same(est, ref, rtol=1e-10)
