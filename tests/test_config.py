"""skbackprop's settings: the compiled kernels on or off, the same models either way."""

import numpy as np
import pytest
from sklearn.datasets import make_classification

import skbackprop
from skbackprop import (
    BackpropClassifier,
    _config,
    config_context,
    get_config,
    set_config,
)

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
    monkeypatch.setenv("SKBACKPROP_KERNELS", "0")
    assert _config._from_environment() is False
    monkeypatch.setenv("SKBACKPROP_KERNELS", "1")
    assert _config._from_environment() is True
    monkeypatch.setenv("SKBACKPROP_KERNELS", "maybe")
    with pytest.raises(ValueError, match="auto, 1 or 0"):
        _config._from_environment()


def test_kernels_true_needs_numba(monkeypatch):
    monkeypatch.setattr(_config, "numba_installed", lambda: False)
    with pytest.raises(ImportError, match="skbackprop\\[fast\\]"):
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
