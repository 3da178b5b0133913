"""weight_decay, max_grad_norm and the classifier's label_smoothing.

One full-batch step from known weights against the update computed by hand
(AdamW's and SGD's decay, torch's clipping rule), the loss with smoothed targets
by hand, gradient checks with smoothed targets, the compiled kernels stepping
aside (same model), L-BFGS refusing what it cannot honour, bad values leaving the
estimator unchanged, and array-api-strict training the same model as numpy.
"""

import copy
import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from skbackprop import (
    BackpropClassifier,
    BackpropRegressor,
    check_gradient,
    config_context,
)
from skbackprop._core import xp as _xp
from skbackprop._training.loop import compiled_epoch_wins
from skbackprop.losses import BinaryLogLoss, SoftmaxLogLoss
from skbackprop.network import Network
from skbackprop.optimizers import SGD, Adam
from tests._marks import needs_dispatch

X, y = make_regression(n_samples=30, n_features=3, noise=0.1, random_state=0)
X /= X.std(axis=0)
y /= y.std()
Xc, yc = make_classification(
    n_samples=40, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
    random_state=1,
)  # fmt: skip
yb = (yc > 0).astype(int)
y_multilabel = np.stack([yc == 0, yc == 1, Xc[:, 0] > 0], axis=1).astype(int)

FULL_BATCH = dict(
    hidden_layer_sizes=(3,), activation="tanh", shuffle=False, random_state=0,
    max_iter=1, tol=0.0,
)  # fmt: skip


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


def _params(est):
    return [*est.coefs_, *est.intercepts_]


def _assert_same(a, b, rtol=1e-12):
    for pa, pb in zip(_params(a), _params(b), strict=True):
        np.testing.assert_allclose(_xp.to_numpy(pa), pb, rtol=rtol, atol=1e-14)


def _start(est, X, y):
    """Fit ``est`` once, then put known weights in; return them (a copy)."""
    _quiet(est.fit, X, y)
    rng = np.random.default_rng(3)
    est.coefs_ = [rng.normal(size=c.shape) for c in est.coefs_]
    est.intercepts_ = [rng.normal(size=b.shape) for b in est.intercepts_]
    est.set_params(warm_start=True)  # fit continues from them, fresh optimizer
    return [c.copy() for c in est.coefs_], [b.copy() for b in est.intercepts_]


def _gradient(est, coefs, intercepts, X, Y, alpha):
    """The full-batch gradient at the weights, from the core, per array."""
    net = Network(
        [X.shape[1], *est.hidden_layer_sizes, Y.shape[1]],
        est.activations_,
        est._loss,
        np.float64,
    )
    net.set_parameters(coefs, intercepts)
    net.loss_gradient(X, Y, None, alpha)
    return [g.copy() for g in net.grad_coefs], [g.copy() for g in net.grad_intercepts]


# ------------------------------------------------------------- weight decay
def test_adamw_step_by_hand():
    """One Adam step with weight decay: decay of the coefficients, then Adam."""
    lr, wd, alpha = 0.01, 0.3, 1e-3
    est = BackpropRegressor(
        **FULL_BATCH, solver="adam", batch_size=30, learning_rate_init=lr, alpha=alpha
    )
    W0, b0 = _start(est, X, y)
    est.set_params(weight_decay=wd)
    _quiet(est.fit, X, y)
    gW, gb = _gradient(est, W0, b0, X, y.reshape(-1, 1), alpha)
    b1, b2, eps = 0.9, 0.999, 1e-8
    lr_t = lr * math.sqrt(1 - b2) / (1 - b1)  # scikit-learn's bias correction

    def adam(p, g):
        m, v = (1 - b1) * g, (1 - b2) * g * g
        return p - lr_t * m / (np.sqrt(v) + eps)

    # PyTorch's AdamW order: p ← p - lr·λ·p, then the Adam step (decay: lr, not lr_t).
    for got, p, g in zip(est.coefs_, W0, gW, strict=True):
        np.testing.assert_allclose(got, adam(p - lr * wd * p, g), rtol=1e-12)
    for got, p, g in zip(est.intercepts_, b0, gb, strict=True):
        np.testing.assert_allclose(got, adam(p, g), rtol=1e-12)  # no decay


def test_sgd_decay_step_by_hand():
    lr, wd = 0.1, 0.5
    est = BackpropRegressor(
        **FULL_BATCH, solver="sgd", momentum=0.0, nesterovs_momentum=False,
        batch_size=30, learning_rate_init=lr, alpha=0.0,
    )  # fmt: skip
    W0, b0 = _start(est, X, y)
    est.set_params(weight_decay=wd)
    _quiet(est.fit, X, y)
    gW, gb = _gradient(est, W0, b0, X, y.reshape(-1, 1), 0.0)
    for got, p, g in zip(est.coefs_, W0, gW, strict=True):
        np.testing.assert_allclose(got, p - lr * wd * p - lr * g, rtol=1e-12)
    for got, p, g in zip(est.intercepts_, b0, gb, strict=True):
        np.testing.assert_allclose(got, p - lr * g, rtol=1e-12)


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_decay_shrinks_coefficients_not_the_rest(cls):
    """With a zero gradient only the decay moves: the first n_decayed entries."""
    params = np.arange(1.0, 7.0)
    opt = cls(6, np.float64, learning_rate_init=0.1, weight_decay=0.5, n_decayed=4)
    with config_context(kernels=False):
        opt.update(params, np.zeros(6))
    np.testing.assert_allclose(params, [0.95, 1.9, 2.85, 3.8, 5.0, 6.0])


def test_decay_leaves_prelu_slopes_alone():
    """One step from the same weights: only the coefficients differ."""
    from skbackprop import PReLU

    settings = dict(
        hidden_layer_sizes=(4,), activation=PReLU(), solver="sgd", momentum=0.0,
        learning_rate_init=1e-3, max_iter=1, random_state=0, batch_size=30,
        shuffle=False,
    )  # fmt: skip
    with config_context(kernels=False):  # one code path for both (bitwise)
        ref = _quiet(BackpropRegressor(**settings).fit, X, y)
        decayed = _quiet(BackpropRegressor(**settings, weight_decay=10.0).fit, X, y)
    np.testing.assert_array_equal(
        decayed.activation_params_[0], ref.activation_params_[0]
    )
    for a, b in zip(decayed.intercepts_, ref.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(decayed.coefs_, ref.coefs_, strict=True):
        assert not np.allclose(a, b, rtol=1e-4)


def test_decay_shrinks_the_weights_over_training():
    settings = dict(
        hidden_layer_sizes=(16,), max_iter=30, random_state=0, learning_rate_init=0.01
    )
    plain = _quiet(BackpropRegressor(**settings).fit, X, y)
    decayed = _quiet(BackpropRegressor(**settings, weight_decay=5.0).fit, X, y)
    norm = [sum(float((c**2).sum()) for c in e.coefs_) for e in (plain, decayed)]
    assert norm[1] < 0.8 * norm[0]


# ------------------------------------------------------------------ clipping
def test_clipping_step_by_hand():
    lr, max_norm, alpha = 0.1, 0.05, 1e-2
    est = BackpropRegressor(
        **FULL_BATCH, solver="sgd", momentum=0.0, nesterovs_momentum=False,
        batch_size=30, learning_rate_init=lr, alpha=alpha,
    )  # fmt: skip
    W0, b0 = _start(est, X, y)
    est.set_params(max_grad_norm=max_norm)
    _quiet(est.fit, X, y)
    gW, gb = _gradient(est, W0, b0, X, y.reshape(-1, 1), alpha)  # L2 included
    total = math.sqrt(sum(float((g**2).sum()) for g in gW + gb))
    assert total > max_norm  # it clips
    scale = max_norm / (total + 1e-6)  # torch.nn.utils.clip_grad_norm_'s factor
    for got, p, g in zip(_params(est), W0 + b0, gW + gb, strict=True):
        np.testing.assert_allclose(got, p - lr * scale * g, rtol=1e-12)
    # The step is bounded by lr · max_grad_norm.
    step = math.sqrt(
        sum(
            float(((a - b) ** 2).sum())
            for a, b in zip(_params(est), W0 + b0, strict=True)
        )
    )
    assert step <= lr * max_norm
    # gradient_norms_ reports the unclipped coefficient gradients.
    np.testing.assert_allclose(
        est.gradient_norms_[-1], [np.linalg.norm(g) for g in gW], rtol=1e-12
    )


def test_clipping_above_the_norm_changes_nothing():
    settings = dict(FULL_BATCH, max_iter=5, batch_size=10)
    with config_context(kernels=False):  # one code path for both (bitwise)
        ref = _quiet(BackpropRegressor(**settings).fit, X, y)
        est = _quiet(BackpropRegressor(**settings, max_grad_norm=1e6).fit, X, y)
    _assert_same(est, ref, rtol=0)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_fused_kernels_give_the_numpy_model(solver):
    """Clipping and decay turn off the fused L2 folding: the same model."""
    settings = dict(
        hidden_layer_sizes=(8,), solver=solver, batch_size=4, max_iter=3,
        random_state=0, alpha=0.1, weight_decay=0.05, max_grad_norm=0.5,
        learning_rate_init=0.01,
    )  # fmt: skip
    with config_context(kernels=False):
        ref = _quiet(BackpropRegressor(**settings).fit, X, y)
    with config_context(kernels=True):
        est = _quiet(BackpropRegressor(**settings).fit, X, y)
        assert not est._optimizer.folds()
        assert est._optimizer._epoch_kernel_args() is None
    _assert_same(est, ref)
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-12)


def test_dispatch_rule_refuses_decay_and_clipping():
    from skbackprop.activations import ReLU
    from skbackprop.losses import SquaredError

    net = Network([4, 5, 1], [ReLU()], SquaredError(), np.float64)
    assert compiled_epoch_wins(1, net, "adam", BackpropRegressor())
    assert not compiled_epoch_wins(1, net, "adam", BackpropRegressor(weight_decay=0.1))
    assert not compiled_epoch_wins(1, net, "adam", BackpropRegressor(max_grad_norm=1))


# ------------------------------------------------------------ label smoothing
def _smoothed_loss(est, X, Y, alpha):
    """The cross-entropy against smoothed targets, by hand, plus the L2 term."""
    P = est.predict_proba(X)
    if P.shape[1] == 2 and Y.shape[1] == 1:  # binary: one logistic output
        p = P[:, 1:]
        ll = Y * np.log(p) + (1 - Y) * np.log(1 - p)
    elif est.out_activation_ == "softmax":
        ll = Y * np.log(P)
    else:  # multilabel
        ll = Y * np.log(P) + (1 - Y) * np.log(1 - P)
    l2 = 0.5 * alpha * sum(float((c**2).sum()) for c in est.coefs_) / X.shape[0]
    return -ll.sum() / X.shape[0] + l2


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_label_smoothing_loss_by_hand(kind):
    eps, alpha = 0.2, 1e-3
    target = {"binary": yb, "multiclass": yc, "multilabel": y_multilabel}[kind]
    est = BackpropClassifier(**FULL_BATCH, batch_size=40, alpha=alpha)
    _start(est, Xc, target)
    before = copy.deepcopy(est)
    est.set_params(label_smoothing=eps)
    _quiet(est.fit, Xc, target)
    if kind == "binary":
        Y = target.reshape(-1, 1) * (1 - eps) + eps / 2
    elif kind == "multiclass":
        Y = np.eye(3)[target] * (1 - eps) + eps / 3
    else:
        Y = target * (1 - eps) + eps / 2
    # The epoch's loss is its one batch's, at the starting weights.
    expected = _smoothed_loss(before, Xc, Y, alpha)
    assert est.loss_curve_[-1] == pytest.approx(expected, rel=1e-12)
    unsmoothed = _smoothed_loss(before, Xc, Y if eps == 0 else np.round(Y), alpha)
    assert est.loss_curve_[-1] != pytest.approx(unsmoothed, rel=1e-6)
    # The prediction API is untouched.
    assert np.array_equal(est.classes_, before.classes_)
    assert est.predict(Xc).shape == np.asarray(target).shape
    proba = est.predict_proba(Xc)
    if kind != "multilabel":
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert 0 <= est.score(Xc, target) <= 1


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_gradient_check_with_label_smoothing(kind):
    target = {"binary": yb, "multiclass": yc, "multilabel": y_multilabel}[kind]
    est = BackpropClassifier(
        hidden_layer_sizes=(4,), activation="tanh", random_state=0,
        label_smoothing=0.3, alpha=1e-2,
    )  # fmt: skip
    assert check_gradient(est, Xc[:15], target[:15]) < 1e-6


def test_label_smoothing_keeps_class_weight():
    """class_weight is read off the labels, not the smoothed targets."""
    settings = dict(FULL_BATCH, batch_size=40, class_weight="balanced")
    plain = BackpropClassifier(**settings)
    smooth = BackpropClassifier(**settings, label_smoothing=0.1)
    for est in (plain, smooth):
        _quiet(est.fit, Xc, yb)
    np.testing.assert_array_equal(plain._class_counts, smooth._class_counts)


def test_label_smoothing_off_keeps_the_builtin_loss():
    est = _quiet(BackpropClassifier(**FULL_BATCH).fit, Xc, yb)
    assert type(est._loss) is BinaryLogLoss
    est = _quiet(BackpropClassifier(**FULL_BATCH, label_smoothing=0.1).fit, Xc, yc)
    assert type(est._loss) is SoftmaxLogLoss  # takes soft targets as it is


def test_label_smoothing_with_early_stopping_on_the_loss():
    est = BackpropClassifier(
        hidden_layer_sizes=(8,), max_iter=20, random_state=0, early_stopping=True,
        validation_metric="loss", label_smoothing=0.2, n_iter_no_change=50,
    )  # fmt: skip
    _quiet(est.fit, Xc, yc)
    # Against smoothed targets the loss is at least their entropy (> 0).
    k, eps = 3, 0.2
    floor = -((1 - eps + eps / k) * math.log(1 - eps + eps / k))
    floor -= (k - 1) * (eps / k) * math.log(eps / k)
    assert min(est.validation_loss_curve_) > floor
    assert min(est.loss_curve_) > floor


# ------------------------------------------------------- refusals and safety
@pytest.mark.parametrize(
    ("param", "value"), [("weight_decay", 0.1), ("max_grad_norm", 1.0)]
)
def test_lbfgs_refuses_decay_and_clipping(param, value):
    est = _quiet(BackpropRegressor(**FULL_BATCH, solver="lbfgs").fit, X, y)
    before = [p.copy() for p in _params(est)]
    est.set_params(**{param: value}, warm_start=True)
    with pytest.raises(ValueError, match=rf"{param}=.*solver='lbfgs'.*solver='adam'"):
        est.fit(X, y)
    for a, b in zip(_params(est), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("cls", "param", "value"),
    [
        (BackpropRegressor, "weight_decay", -0.1),
        (BackpropRegressor, "weight_decay", "big"),
        (BackpropRegressor, "max_grad_norm", 0.0),
        (BackpropRegressor, "max_grad_norm", -1.0),
        (BackpropClassifier, "label_smoothing", 1.0),
        (BackpropClassifier, "label_smoothing", -0.1),
        (BackpropClassifier, "max_grad_norm", "inf"),
    ],
)
def test_bad_values_leave_the_estimator_unchanged(cls, param, value):
    data = (X, y) if cls is BackpropRegressor else (Xc, yc)
    est = _quiet(cls(**FULL_BATCH).fit, *data)
    state = copy.deepcopy(vars(est))
    est.set_params(**{param: value})
    with pytest.raises(InvalidParameterError, match=param):
        est.fit(*data)
    with pytest.raises(InvalidParameterError, match=param):
        est.partial_fit(*data)
    saved = [*state["coefs_"], *state["intercepts_"]]
    for a, b in zip(_params(est), saved, strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.loss_curve_ == state["loss_curve_"]


def test_regressor_has_no_label_smoothing():
    assert "label_smoothing" not in BackpropRegressor().get_params()
    assert BackpropClassifier().get_params()["label_smoothing"] == 0.0


# ----------------------------------------------------------------- array API
@needs_dispatch
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_array_api_strict_decay_clipping_smoothing(solver):
    import array_api_strict as xps
    import sklearn

    settings = dict(
        hidden_layer_sizes=(6,), solver=solver, batch_size=10, max_iter=3,
        random_state=0, learning_rate_init=0.05, weight_decay=0.1,
        max_grad_norm=0.3, label_smoothing=0.1, shuffle=False,
    )  # fmt: skip
    for target in (yc, yb):
        ref = _quiet(BackpropClassifier(**settings).fit, Xc, target)
        with sklearn.config_context(array_api_dispatch=True):
            est = _quiet(
                BackpropClassifier(**settings).fit,
                xps.asarray(Xc),
                xps.asarray(target),
            )
        _assert_same(est, ref, rtol=1e-10)
        np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-10)
