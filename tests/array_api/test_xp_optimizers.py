"""SGD and Adam on array-api-strict arrays: the same updates as numpy, in place.

The network keeps per-layer views into its flat parameter vector, so the optimizers
must modify ``params`` in place in every namespace; their state (velocity, moment
estimates) stays in the parameters' namespace and dtype, and its values follow
numpy's to rounding.
"""

import array_api_strict as xps
import numpy as np
import pytest

from skbackprop.optimizers import SGD, Adam

N_PARAMS = 23
N_STEPS = 20
DTYPES = {
    "float64": (np.float64, xps.float64, 1e-12),
    "float32": (np.float32, xps.float32, 1e-5),
}
# array-api-strict's array class (not exported under a public name).
STRICT_ARRAY = type(xps.asarray(0.0))

SGD_SETTINGS = {
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "momentum": {"momentum": 0.9, "nesterov": False},
    "no_momentum": {"momentum": 0.0, "nesterov": False},
}
SCHEDULES = ["constant", "invscaling", "adaptive"]


def _np(a):
    return np.from_dlpack(a)


def _data(np_dtype, seed=0):
    rng = np.random.default_rng(seed)
    params = rng.standard_normal(N_PARAMS).astype(np_dtype)
    grads = [rng.standard_normal(N_PARAMS).astype(np_dtype) for _ in range(N_STEPS)]
    return params, grads


def _make(cls, namespace, dtype_name, **settings):
    np_dtype, xp_dtype, _ = DTYPES[dtype_name]
    if namespace == "numpy":
        return cls(N_PARAMS, np.dtype(np_dtype), **settings)
    return cls(N_PARAMS, xp_dtype, xp=xps, device=xps.Device("CPU_DEVICE"), **settings)


def _run(cls, dtype_name, settings, schedule_steps=False):
    """Run the same updates on numpy and strict; return both optimizers and params."""
    np_dtype, xp_dtype, _ = DTYPES[dtype_name]
    params_np, grads = _data(np_dtype)
    params_xp = xps.asarray(params_np.copy())
    opt_np = _make(cls, "numpy", dtype_name, **settings)
    opt_xp = _make(cls, "strict", dtype_name, **settings)
    params_xp_id = id(params_xp)
    view = params_xp[2:5]
    for step, grad in enumerate(grads):
        opt_np.update(params_np, grad)
        opt_xp.update(params_xp, xps.asarray(grad))
        if schedule_steps:
            opt_np.iteration_ends((step + 1) * 10)
            opt_xp.iteration_ends((step + 1) * 10)
            if step % 7 == 6:
                assert opt_np.trigger_stopping("stalled.", False) == (
                    opt_xp.trigger_stopping("stalled.", False)
                )
        assert opt_xp.learning_rate == opt_np.learning_rate
    assert id(params_xp) == params_xp_id
    # The view made before the updates sees the new values: updated in place.
    np.testing.assert_array_equal(_np(view), _np(params_xp)[2:5])
    assert params_xp.dtype == xp_dtype
    return opt_np, opt_xp, params_np, params_xp


def _assert_close(actual_xp, expected_np, dtype_name):
    np_dtype, xp_dtype, rtol = DTYPES[dtype_name]
    assert isinstance(actual_xp, STRICT_ARRAY)
    assert actual_xp.dtype == xp_dtype
    assert expected_np.dtype == np_dtype
    np.testing.assert_allclose(_np(actual_xp), expected_np, rtol=rtol, atol=0)


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("variant", list(SGD_SETTINGS))
def test_sgd_matches_numpy(dtype_name, schedule, variant):
    settings = dict(SGD_SETTINGS[variant], learning_rate_init=0.05)
    settings["lr_schedule"] = schedule
    opt_np, opt_xp, params_np, params_xp = _run(
        SGD, dtype_name, settings, schedule_steps=True
    )
    _assert_close(params_xp, params_np, dtype_name)
    _assert_close(opt_xp.velocity, opt_np.velocity, dtype_name)
    if schedule != "constant":
        assert opt_xp.learning_rate != 0.05
    # Parameters moved from where they started.
    start, _ = _data(DTYPES[dtype_name][0])
    assert not np.allclose(_np(params_xp), start)


@pytest.mark.parametrize("dtype_name", list(DTYPES))
def test_adam_matches_numpy(dtype_name):
    settings = {"learning_rate_init": 0.01}
    opt_np, opt_xp, params_np, params_xp = _run(Adam, dtype_name, settings)
    assert opt_xp.t == opt_np.t == N_STEPS
    _assert_close(params_xp, params_np, dtype_name)
    _assert_close(opt_xp.m, opt_np.m, dtype_name)
    _assert_close(opt_xp.v, opt_np.v, dtype_name)


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("cls", [SGD, Adam])
def test_state_in_namespace(cls, dtype_name):
    _, xp_dtype, _ = DTYPES[dtype_name]
    opt = _make(cls, "strict", dtype_name)
    assert opt.n_params == N_PARAMS
    state = [opt.velocity] if cls is SGD else [opt.m, opt.v]
    for array in state:
        assert isinstance(array, STRICT_ARRAY)
        assert array.dtype == xp_dtype
        assert array.shape == (N_PARAMS,)
        assert not np.any(_np(array))
    assert opt.is_finite()


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("cls", [SGD, Adam])
def test_is_finite_after_inf_gradient(cls, dtype_name):
    np_dtype, _, _ = DTYPES[dtype_name]
    params_np, grads = _data(np_dtype)
    params_xp = xps.asarray(params_np.copy())
    opt_np = _make(cls, "numpy", dtype_name)
    opt_xp = _make(cls, "strict", dtype_name)
    opt_np.update(params_np, grads[0])
    opt_xp.update(params_xp, xps.asarray(grads[0]))
    assert opt_np.is_finite() is True
    assert opt_xp.is_finite() is True
    bad = grads[1].copy()
    bad[3] = np.inf
    with np.errstate(invalid="ignore"):
        opt_np.update(params_np, bad)
        opt_xp.update(params_xp, xps.asarray(bad))
    assert opt_np.is_finite() is False
    assert opt_xp.is_finite() is False


def test_sgd_set_hyperparameters_strict():
    opt = _make(SGD, "strict", "float64", learning_rate_init=0.1, momentum=0.9)
    params_np, grads = _data(np.float64)
    params = xps.asarray(params_np.copy())
    opt.update(params, xps.asarray(grads[0]))
    velocity = _np(opt.velocity).copy()
    opt.set_hyperparameters(learning_rate_init=0.2, momentum=0.5, nesterov=False)
    assert opt.learning_rate == pytest.approx(0.2)
    assert opt.momentum == 0.5
    assert opt.nesterov is False
    # The state is kept, in its namespace.
    assert isinstance(opt.velocity, STRICT_ARRAY)
    np.testing.assert_array_equal(_np(opt.velocity), velocity)
    before = _np(params).copy()
    opt.update(params, xps.asarray(grads[1]))
    expected_v = 0.5 * velocity - 0.2 * grads[1]
    np.testing.assert_allclose(_np(opt.velocity), expected_v, rtol=1e-12)
    np.testing.assert_allclose(_np(params), before + expected_v, rtol=1e-12)


def test_adam_set_hyperparameters_strict():
    opt = _make(Adam, "strict", "float32", learning_rate_init=0.01)
    params_np, grads = _data(np.float32)
    params = xps.asarray(params_np.copy())
    opt.update(params, xps.asarray(grads[0]))
    m = _np(opt.m).copy()
    opt.set_hyperparameters(learning_rate_init=0.02, beta_1=0.5)
    assert opt.beta_1 == 0.5
    assert opt.learning_rate_init == 0.02
    assert opt.t == 1
    np.testing.assert_array_equal(_np(opt.m), m)
    opt.update(params, xps.asarray(grads[1]))
    assert opt.t == 2
    np.testing.assert_allclose(_np(opt.m), 0.5 * m + 0.5 * grads[1], rtol=1e-5)
    assert isinstance(params, STRICT_ARRAY)
    assert params.dtype == xps.float32
