"""Losses with their output activation, giving the lecture's base case δ^(L).

A loss ``ℓ(y, p)`` compares the network's outputs ``p = link(s)`` with the targets
``y``; its output delta ``∂ℓ_i/∂s^(L)`` per sample starts the δ recursion. Pass a
name or an object as ``BackpropRegressor(loss=...)``:

=================== ============== ========== ===================================
name                class          output     δ^(L) per sample and output
=================== ============== ========== ===================================
``"squared_error"`` SquaredError   identity   ``p - y``
``"poisson"``       PoissonLoss    exp        ``p - y``
``"huber"``         HuberLoss      identity   ``clip(p - y, -delta, delta)``
``"quantile"``      QuantileLoss   identity   ``1 - q`` if ``p > y``, ``-q`` if
                                              ``p < y``, ``½ - q`` if ``p = y``
(classifier)        BinaryLogLoss  logistic   ``p - y``
(classifier)        SoftmaxLogLoss softmax    ``p - y`` (``y`` one-hot)
=================== ============== ========== ===================================

The canonical pairs (identity with squared error, exp with Poisson, logistic and
softmax with the log losses) make the delta simply ``P - Y``; the lecture's
``δ^(L) = 2(o - y)`` for squared error is twice ours because scikit-learn's squared
error is ``½·mean((o - y)²)``.

**Conventions.** :meth:`Loss.value` is the weighted mean over samples, summed over
outputs, as the lecture sums ``ℓ = Σ_k (o_k - y_k)²`` over its output vector
(:func:`reduce_loss` does this reduction); :meth:`Loss.output_delta` is the
per-sample ``∂ℓ_i/∂s^(L)``, before the network multiplies in the sample weights and
divides by their sum, so that each delta is the exact gradient of the reported
value. The gradients equal scikit-learn's MLP's for any number of outputs. Its
reported multi-output squared error averages over the outputs (its issue #8349),
so ours is ``n_outputs`` times its value there; with one output the two agree.

**Your own loss**: subclass :class:`Loss` and implement ``value`` and
``output_delta`` (and ``link``, with :attr:`Loss.out_activation`, for an output
activation other than the identity; ``check_targets`` to refuse targets outside
the loss's domain). Store constructor arguments unchanged, so that ``clone`` and
grid keys such as ``loss__delta`` work, and check the delta with
:func:`skbackprop.check_gradient`. Written with the array API's functions
(``xp = array_namespace(p)``) instead of numpy's, it also trains on a GPU.
"""

import numpy as np
from scipy.special import expit

from ._core import xp as _xp
from ._core.loss_base import Loss, _CanonicalLoss, _check_number, reduce_loss
from ._core.loss_math import (
    _clipped,
    _exp_cap,
    _float64,
    _namespace,
    _weighted_mean,
    _weighted_total,
    _xlogy,
    _xp_exp_cap,
)

__all__ = [
    "LOSSES",
    "BinaryLogLoss",
    "HuberLoss",
    "Loss",
    "PoissonLoss",
    "QuantileLoss",
    "SoftmaxLogLoss",
    "SquaredError",
    "get_loss",
    "reduce_loss",
]


class SquaredError(_CanonicalLoss):
    """Half squared error with identity output.

    ``½ · Σ_outputs mean_samples((p - y)²)``: half the lecture's ``(o - y)²`` summed
    over the output vector, whose gradient is ``δ^(L) = p - y`` per output.
    """

    name = "squared_error"
    out_activation = "identity"
    kernel_code = 0

    def link(self, s):  # noqa: D102
        return s

    def _onnx(self, g, s):
        return s

    def value(self, y, p, sample_weight=None):  # noqa: D102
        diff = y - p
        if _namespace(diff) is np:
            diff *= diff
        else:
            diff = diff * diff
        return 0.5 * _weighted_total(diff, sample_weight)


class PoissonLoss(_CanonicalLoss):
    """Half Poisson deviance with log link (exponential output); needs ``y >= 0``."""

    name = "poisson"
    out_activation = "exp"
    kernel_code = 3

    def link(self, s):  # noqa: D102
        # exp overflows past log(max): cap the signal there (the output stays finite).
        xp = _namespace(s)
        if xp is not np:
            return xp.exp(xp.clip(s, max=_xp_exp_cap(s.dtype, xp)))
        np.minimum(s, _exp_cap(s.dtype), out=s)
        return np.exp(s, out=s)

    def _onnx(self, g, s):
        # predict caps at its own dtype's log(max): the narrower dtype's cap.
        cap = min(_exp_cap(g.dtype), _exp_cap(g.model_dtype))
        return g.op("Exp", g.op("Min", s, float(cap)))

    def value(self, y, p, sample_weight=None):  # noqa: D102
        xp = _namespace(p)
        dev = _xlogy(y, y / p, xp) - y + p
        total = _weighted_mean(dev, sample_weight)
        return float(total.sum()) if xp is np else _float64(xp.sum(total), xp)

    def check_targets(self, y):  # noqa: D102
        if np.any(y < 0):
            raise ValueError(
                "loss='poisson' (PoissonLoss) requires non-negative targets y "
                f"(counts or rates); got a minimum of {np.min(y)}. Use "
                "loss='squared_error' or loss='huber' instead."
            )


class HuberLoss(Loss):
    """Huber loss with identity output: squared near 0, absolute beyond ``delta``.

    Per sample and output, with ``r = p - y``: ``½ r²`` where ``|r| ≤ delta``, else
    ``delta · (|r| - ½ delta)``. Residuals beyond ``delta`` pull on the fit with a
    constant force, so a few gross outliers do not drag it as they drag
    :class:`SquaredError` (which Huber equals for ``delta → ∞``).
    ``δ^(L) = clip(p - y, -delta, delta)``.

    Parameters
    ----------
    delta : float, default=1.0
        Residual size where the loss turns from quadratic to linear, in units
        of the targets; about the size of the ordinary noise (for standardised
        targets, 1.0).

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.losses import HuberLoss
    >>> y = np.zeros((1, 3))
    >>> HuberLoss(delta=1.0).output_delta(y, np.array([[-3.0, 0.5, 4.0]]))
    array([[-1. ,  0.5,  1. ]])
    """

    name = "huber"

    def __init__(self, delta=1.0):
        self.delta = delta

    def value(self, y, p, sample_weight=None):  # noqa: D102
        # m·(|r| - ½m) with m = min(|r|, delta): ½r² inside, delta(|r| - ½delta) out.
        xp = _namespace(p)
        delta = float(self.delta)
        if xp is np:
            a = np.subtract(p, y)
            np.abs(a, out=a)
            m = np.minimum(a, delta)
            a -= 0.5 * m
            a *= m
            return _weighted_total(a, sample_weight)
        a = xp.abs(p - y)
        m = xp.clip(a, max=delta)
        return _weighted_total(m * (a - 0.5 * m), sample_weight)

    def output_delta(self, y, p, out=None):  # noqa: D102
        delta = float(self.delta)
        if _namespace(p) is not np:
            return _namespace(p).clip(p - y, -delta, delta)
        out = np.subtract(p, y, out=out)
        return np.clip(out, -delta, delta, out=out)

    def _check_params(self):
        _check_number(
            self,
            "delta",
            0,
            np.inf,
            "It is the residual size where the loss turns from quadratic to "
            "linear, e.g. HuberLoss(delta=1.0) for standardised targets.",
        )


class QuantileLoss(Loss):
    """Pinball loss with identity output: the network predicts a quantile.

    Per sample and output, with ``r = y - p``: ``q · r`` when ``y ≥ p`` and
    ``(q - 1) · r`` when ``y < p`` (``q · max(y - p, 0) + (1 - q) · max(p - y, 0)``).
    Its minimiser over constant predictions is the ``q``-quantile of the
    targets, so on held-out data about a fraction ``q`` of the targets lie
    below the predictions (``q = 0.5``: the median, half the absolute error).

    ``δ^(L)`` is ``1 - q`` where ``p > y`` and ``-q`` where ``p < y``. The loss has
    a kink at ``p = y``, where any value in ``[-q, 1 - q]`` is a subgradient; there
    it is ``½ - q``, the mean of the two slopes, which a central finite
    difference also gives (``0`` for the median).

    Parameters
    ----------
    quantile : float, default=0.5
        The quantile ``q`` to predict, strictly between 0 and 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.losses import QuantileLoss
    >>> y = np.zeros((1, 3))
    >>> QuantileLoss(quantile=0.9).output_delta(y, np.array([[-1.0, 0.0, 2.0]]))
    array([[-0.9, -0.4,  0.1]])
    """

    name = "quantile"

    def __init__(self, quantile=0.5):
        self.quantile = quantile

    def value(self, y, p, sample_weight=None):  # noqa: D102
        q = float(self.quantile)
        xp = _namespace(p)
        r = y - p
        if xp is np:
            below = r * (q - 1)
            np.multiply(r, q, out=r)
            return _weighted_total(np.maximum(r, below, out=r), sample_weight)
        return _weighted_total(xp.maximum(q * r, (q - 1) * r), sample_weight)

    def output_delta(self, y, p, out=None):  # noqa: D102
        # ½·sign(p - y) + (½ - q): 1 - q above, -q below, ½ - q on the kink.
        shift = 0.5 - float(self.quantile)
        xp = _namespace(p)
        if xp is not np:
            return 0.5 * xp.sign(p - y) + shift
        out = np.subtract(p, y, out=out)
        np.sign(out, out=out)
        out *= 0.5
        out += shift
        return out

    def _check_params(self):
        _check_number(
            self,
            "quantile",
            0,
            1,
            "It is the fraction of targets to lie below the predictions, e.g. "
            "0.05 and 0.95 for the bounds of a 90% prediction interval.",
        )


class BinaryLogLoss(_CanonicalLoss):
    """Binary cross-entropy per output with logistic output (binary, multilabel)."""

    out_activation = "logistic"
    _for_classifier = True
    kernel_code = 1

    def link(self, s):  # noqa: D102
        xp = _namespace(s)
        if xp is not np:
            return _xp.expit(s, xp)
        return expit(s, out=s)

    def _onnx(self, g, s):
        from ._export.onnx_ops import sigmoid

        return sigmoid(g, s)

    def value(self, y, p, sample_weight=None):  # noqa: D102
        # y·log p + (1 - y)·log(1 - p) for y in {0, 1}: the log of the
        # probability given to the observed label.
        xp = _namespace(p)
        ll = xp.log(_clipped(xp.where(y > 0.5, p, 1 - p)))
        return -_weighted_total(ll, sample_weight)


class SoftmaxLogLoss(_CanonicalLoss):
    """Categorical cross-entropy with softmax output (multiclass)."""

    out_activation = "softmax"
    _for_classifier = True
    kernel_code = 2

    def link(self, s):  # noqa: D102
        xp = _namespace(s)
        if xp is not np:
            e = xp.exp(s - xp.max(s, axis=1, keepdims=True))
            return e / xp.sum(e, axis=1, keepdims=True)
        s -= np.maximum.reduce(s, axis=1, keepdims=True)
        np.exp(s, out=s)
        s /= np.add.reduce(s, axis=1, keepdims=True)
        return s

    def _onnx(self, g, s):
        return g.op("Softmax", s, axis=1)

    def value(self, y, p, sample_weight=None):  # noqa: D102
        xp = _namespace(p)
        if xp is not np:
            ll = xp.log(_clipped(p)) * y
            return -_weighted_total(ll, sample_weight)
        ll = np.log(_clipped(p), out=None)
        ll *= y  # one-hot y: the log-probability of each row's class
        return -_weighted_total(ll, sample_weight)


#: The registry: every built-in loss class, once. Names (:data:`LOSSES`), the
#: kernels' codes, ONNX export and the trust given to built-ins (no probe, no
#: checking wrapper) are read from it. A new built-in is a class above plus its
#: entry here (see the developer page of the documentation).
BUILTIN_LOSSES = (
    SquaredError,
    PoissonLoss,
    HuberLoss,
    QuantileLoss,
    BinaryLogLoss,
    SoftmaxLogLoss,
)

#: The regressor's losses by name (the classifier picks its log loss itself).
LOSSES = {cls.name: cls for cls in BUILTIN_LOSSES if not cls._for_classifier}


def is_builtin(loss):
    """Whether ``loss`` is an instance of a built-in class itself (not a subclass).

    Only the built-ins are trusted: their kernel forms and ONNX nodes describe
    exactly their methods; a user's subclass may override them.
    """
    return type(loss) in BUILTIN_LOSSES


def get_loss(loss):
    """Return a :class:`Loss` for a name or a loss object.

    Parameters
    ----------
    loss : str or Loss
        A name from :data:`LOSSES` or a :class:`Loss` instance.

    Returns
    -------
    loss : Loss
        A fresh object with default parameters for a name; the object itself
        otherwise.

    Raises
    ------
    ValueError
        If the name is unknown.
    TypeError
        If ``loss`` is neither a string nor a :class:`Loss`.
    """
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        try:
            return LOSSES[loss]()
        except KeyError:
            raise ValueError(
                f"Unknown loss {loss!r}. Use one of {sorted(LOSSES)}, or an "
                "instance of a subclass of skbackprop.losses.Loss."
            ) from None
    hint = (
        f" Pass an instance, e.g. {loss.__name__}()."
        if isinstance(loss, type) and issubclass(loss, Loss)
        else ""
    )
    raise TypeError(
        "loss must be a name such as 'squared_error' or an instance of "
        f"skbackprop.losses.Loss, got {loss!r} of type {type(loss).__name__}.{hint}"
    )
