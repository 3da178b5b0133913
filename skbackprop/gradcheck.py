"""Gradient check: backprop against central finite differences."""

import copy
from numbers import Real

import numpy as np
from sklearn.base import clone

from ._core import xp as _xp
from ._estimator.base import BaseBackprop
from ._training.fit_data import _combine

__all__ = ["check_gradient"]


def check_gradient(estimator, X, y, *, sample_weight=None, epsilon=1e-6):
    """Largest relative error between backprop and finite-difference gradients.

    The objective is the estimator's training loss on all of ``X`` (L2 term and
    sample weights included), at the estimator's current weights; an unfitted
    estimator is initialised first (a copy is used: ``estimator`` is not changed).
    Every trainable parameter is checked: coefficients, intercepts and activation
    parameters such as PReLU slopes, in float64.

    For each parameter array (one layer's coefficients, intercepts or activation
    parameters) the error is ``max|g_bp - g_fd| / max(max|g_bp|, max|g_fd|)``,
    the central difference being ``(ℓ(w + ε) - ℓ(w - ε)) / 2ε``; the result is the
    largest over the arrays. Scaling by each array's largest gradient keeps
    rounding noise in near-zero entries from dominating while still catching an
    array whose gradient is wrong. An array whose gradients are all below what
    finite differences resolve, ``64 · eps · |ℓ| / ε`` (about 1e-8 for a loss
    near 1), counts as exact: both are zero to that resolution.

    The check covers the whole chain, the loss's ``output_delta`` included, so it
    also verifies a user-written :class:`~skbackprop.losses.Loss` or
    :class:`~skbackprop.activations.Activation`. Where the objective has a kink
    (:class:`~skbackprop.losses.QuantileLoss` at ``p = y``, ReLU at 0) a sample
    within ``epsilon`` of it makes the finite difference an average of the two
    slopes: check such losses with smooth activations, on data whose residuals
    are not exactly 0.

    With ``dropout`` the objective is the training loss under one fixed set of
    dropout masks (the same masks in every evaluation, drawn from a fixed seed):
    the check covers the masks on the outputs and on δ.

    Parameters
    ----------
    estimator : BackpropClassifier or BackpropRegressor
        Fitted or not, with any activations and loss.
    X : array-like of shape (n_samples, n_features)
        Input rows.
    y : array-like
        Targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples.
    epsilon : float, default=1e-6
        Finite-difference step.

    Returns
    -------
    error : float
        The largest relative error (0 when both gradients are exactly zero).

    Raises
    ------
    TypeError
        If ``estimator`` is not a BackpropClassifier or BackpropRegressor (a
        pipeline: check its last step), or ``epsilon`` is not a real number.
    ValueError
        If ``epsilon`` is not positive and finite, or the estimator was fitted
        in float32.
    """
    # Everything is checked before anything is built or copied.
    if not isinstance(estimator, BaseBackprop):
        hint = (
            " For a pipeline, check its last step on the transformed rows: "
            "check_gradient(pipe[-1], pipe[:-1].fit_transform(X), y)."
            if hasattr(estimator, "steps")
            else " The Backprop estimators take the parameters of scikit-learn's "
            "MLPs: check e.g. BackpropRegressor(**mlp.get_params())."
            if type(estimator).__name__ in ("MLPClassifier", "MLPRegressor")
            else ""
        )
        raise TypeError(
            "check_gradient checks the backprop gradient of a BackpropClassifier "
            f"or BackpropRegressor; got a {type(estimator).__name__}, which has "
            f"no such gradient to check.{hint}"
        )
    if isinstance(epsilon, bool) or not isinstance(epsilon, Real):
        raise TypeError(
            f"epsilon must be a real number, the finite-difference step; got "
            f"{epsilon!r} of type {type(epsilon).__name__}. Pass a float such as "
            "the default 1e-6."
        )
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(
            f"epsilon must be a positive, finite step for the finite differences; "
            f"got {epsilon!r}. The default 1e-6 suits float64."
        )
    # Complex X is refused (not cast to real) and a torch X is detached from
    # any autograd graph, as the estimators do.
    X = _xp.plain_input(X)
    if getattr(getattr(X, "dtype", None), "kind", None) == "c":
        raise ValueError(
            "Complex data not supported: X is complex. The network computes with "
            "real numbers; pass the real part, the magnitude, or the real and "
            "imaginary parts as separate feature columns."
        )
    if hasattr(estimator, "coefs_"):
        # A private copy continues from the fitted state (warm start) untouched.
        est = copy.deepcopy(estimator).set_params(warm_start=True)
    else:
        est = clone(estimator)
    # float64 for the check; a DataFrame stays a DataFrame (feature names),
    # sparse stays sparse, an array of another namespace (under scikit-learn's
    # array_api_dispatch) stays in its namespace and on its device.
    if _xp.is_array_api_obj(X) and not _xp.is_numpy(_xp.dispatch_namespace(X)):
        X = _xp.namespace(X).astype(X, _xp.namespace(X).float64)
    elif hasattr(X, "astype") and (hasattr(X, "columns") or hasattr(X, "tocsr")):
        X = X.astype(np.float64)
    else:
        X = np.asarray(X, dtype=np.float64)
    data = est._prepare(X, y, sample_weight, incremental=False)
    net, X, Y, sw, class_factor = data[:5]
    Y, sw = net.asarray(Y), net.asarray(_combine(sw, class_factor))
    if _xp.numpy_dtype(net.dtype) != np.float64:
        raise ValueError(
            "check_gradient needs a float64 network; this estimator was fitted in "
            f"{net.dtype}. Fit it on float64 data, or pass an unfitted clone."
        )
    alpha = float(est.alpha)

    def loss(flat):
        net.params[...] = net.asarray(flat)
        net.reseed(0)  # dropout: the same masks in every evaluation
        return float(net.loss_gradient(X, Y, sw, alpha))

    params = _xp.to_numpy(net.params).copy()
    value = loss(params)
    analytic = _xp.to_numpy(net.grad).copy()
    numeric = np.empty_like(analytic)
    # One parameter at a time, on the host copy (moved whole to the network:
    # simple, and as exact in any namespace).
    for i in range(params.size):
        old = params[i]
        params[i] = old + epsilon
        up = loss(params)
        params[i] = old - epsilon
        down = loss(params)
        params[i] = old
        numeric[i] = (up - down) / (2 * epsilon)
    # What the finite differences can resolve: the rounding of the loss values
    # divided by the step. Below it, both gradients are zero as far as the
    # check can tell (an intercept at the exact optimum of a piecewise-linear
    # loss has a gradient of 1e-17 against finite differences of 1e-10).
    resolution = 64 * np.finfo(np.float64).eps * abs(value) / epsilon
    worst = 0.0
    bounds = net._offsets
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        ga, gn = analytic[a:b], numeric[a:b]
        scale = max(np.abs(ga).max(), np.abs(gn).max())
        if scale > resolution:
            worst = max(worst, float(np.abs(ga - gn).max() / scale))
    return worst
