"""skbackprop's settings: the compiled kernels on or off, the same models either way."""

import threading

import numpy as np
import pytest
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_info, threadpool_limits

import skbackprop
from skbackprop import BackpropClassifier, config_context, get_config, set_config
from skbackprop._kernels import config as _config
from skbackprop.callbacks import Callback
from skbackprop.network import Network

X, y = make_classification(n_samples=120, n_features=8, n_classes=3,
                           n_informative=5, random_state=0)  # fmt: skip


def test_settings_round_trip_and_validation():
    before = get_config()
    with config_context(kernels=False):
        assert get_config()["kernels"] is False
        assert not _config.kernels_enabled()
        with config_context(kernels="auto"):
            assert _config.kernels_enabled() is _config.numba_installed()
        assert get_config()["kernels"] is False
    assert get_config() == before
    with pytest.raises(ValueError, match="'auto', True or False"):
        set_config(kernels="yes")
    assert get_config() == before


def test_environment_variable_sets_the_default(monkeypatch):
    for raw, value in [("0", False), (" Off", False), ("1", True), ("yes", True),
                       ("on", True), ("auto", "auto"), ("", "auto")]:  # fmt: skip
        monkeypatch.setenv("SKBACKPROP_KERNELS", raw)
        assert _config._from_environment() == value and (
            type(_config._from_environment()) is type(value)
        )
    monkeypatch.setenv("SKBACKPROP_KERNELS", "maybe")
    with pytest.warns(UserWarning, match="'maybe' is not understood.*auto, 1 or 0"):
        assert _config._from_environment() == "auto"


def test_kernels_true_needs_numba(monkeypatch):
    monkeypatch.setattr(_config, "numba_installed", lambda: False)
    with pytest.raises(ImportError, match="pip install numba"):
        set_config(kernels=True)


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", batch_size=40),
        dict(solver="sgd", momentum=0.9, batch_size=40),
        dict(solver="sgd", momentum=0.0, batch_size=1, activation="tanh"),
        dict(solver="sgd", momentum=0.0, batch_size=16, activation="logistic"),
    ],
)
def test_kernels_on_and_off_give_the_same_model(params):
    """Few non-chaotic epochs: kernels and numpy agree to rounding."""
    est = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0, **params)
    with config_context(kernels=True), pytest.warns(Warning):
        on = BackpropClassifier(**est).fit(X, y)
    with config_context(kernels=False), pytest.warns(Warning):
        off = BackpropClassifier(**est).fit(X, y)
    for a, b in zip(on.coefs_ + on.intercepts_, off.coefs_ + off.intercepts_,
                    strict=True):  # fmt: skip
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(on.loss_curve_, off.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(on.gradient_norms_, off.gradient_norms_, rtol=1e-9)


def test_public_names():
    assert {"set_config", "get_config", "config_context"} <= set(skbackprop.__all__)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("weighted", [False, True])
def test_large_batches_fold_l2_and_norms_into_the_update(solver, weighted, monkeypatch):
    """Batches over 64: the compiled update adds the L2 term and takes the norms.

    The fused passes repeat numpy's arithmetic (the norms' sums only in another
    order), so the weights are bitwise those of the numpy path.
    """
    est = dict(hidden_layer_sizes=(16, 8), activation="relu", solver=solver,
               alpha=0.3, batch_size=100, max_iter=4, random_state=0,
               nesterovs_momentum=True)  # fmt: skip
    sw = np.random.default_rng(0).uniform(0.0, 2.0, len(y)) if weighted else None
    calls = []
    norms = Network.coef_grad_sq_norms
    monkeypatch.setattr(Network, "coef_grad_sq_norms",
                        lambda self, out=None: calls.append(1) or norms(self, out))
    with config_context(kernels=True), pytest.warns(Warning):
        on = BackpropClassifier(**est).fit(X, y, sample_weight=sw)
    assert not calls  # the norms came from the compiled update
    with config_context(kernels=False), pytest.warns(Warning):
        off = BackpropClassifier(**est).fit(X, y, sample_weight=sw)
    assert len(calls) == 4 * 2
    for a, b in zip(on.coefs_ + on.intercepts_, off.coefs_ + off.intercepts_,
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(on.loss_curve_, off.loss_curve_)
    np.testing.assert_allclose(on.gradient_norms_, off.gradient_norms_, rtol=1e-13)
    assert on.gradient_norms_.shape == (4, 3) and np.all(on.gradient_norms_ > 0)


def _blas_threads():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


class _BlasThreads(Callback):
    """Record BLAS's thread counts at each epoch's end (inside fit)."""

    def on_epoch_end(self, estimator, logs):
        self.seen_ = getattr(self, "seen_", set()) | _blas_threads()
        return False


def _threads_during_fit(**params):
    rec = _BlasThreads()
    est = BackpropClassifier(max_iter=2, random_state=0, callbacks=[rec], **params)
    with pytest.warns(Warning):  # few epochs: ConvergenceWarning
        est.fit(X, y)
    return rec.seen_


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_blas_threads_auto_small_products_train_on_one_thread(solver):
    with threadpool_limits(2, user_api="blas"):  # as on a 2-core machine
        outside = _blas_threads()
        small = _threads_during_fit(hidden_layer_sizes=(16,), solver=solver)
        # 120 rows x 256 x 256 units: 7.9M multiply-adds, a product that keeps
        # its threads (SMALL_PRODUCT is 4.2M)
        large = _threads_during_fit(hidden_layer_sizes=(256, 256), solver=solver)
        with config_context(blas_threads=None):
            untouched = _threads_during_fit(hidden_layer_sizes=(16,), solver=solver)
        with config_context(blas_threads=1):
            forced = _threads_during_fit(hidden_layer_sizes=(256, 256), solver=solver)
        after = _blas_threads()
    assert outside == {2} and after == {2}  # restored after each fit
    assert small == {1} and forced == {1}
    assert large == {2} and untouched == {2}


def test_blas_threads_setting_is_validated():
    before = get_config()
    for bad in (0, -1, 1.5, True, "one"):
        with pytest.raises(ValueError, match="blas_threads must be"):
            set_config(blas_threads=bad)
    assert get_config() == before
    with config_context(blas_threads=3):
        assert get_config()["blas_threads"] == 3
        with config_context(kernels=False):  # other settings leave it alone
            assert get_config()["blas_threads"] == 3
    assert get_config() == before


def test_fits_outside_the_main_thread_leave_blas_alone():
    """A threaded backend's fits: no limit that a worker could fail to restore."""
    seen = []
    with threadpool_limits(2, user_api="blas"):
        worker = threading.Thread(
            target=lambda: seen.append(_threads_during_fit(hidden_layer_sizes=(16,)))
        )
        worker.start()
        worker.join(timeout=60)
        after = _blas_threads()
    assert seen == [{2}] and after == {2}
