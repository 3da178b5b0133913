"""Losses paired with their output activation, giving the lecture's base case δ^(L).

Each loss is fused with its canonical output activation (its *link*), so the output
delta is simply ``P - Y`` (the lecture's ``δ^(L) = 2(o - y)`` for squared error is
twice ours because scikit-learn's squared error is ``½·mean((o - y)²)``):

============== =================== ==============================
loss           output activation   δ^(L) per sample and output
============== =================== ==============================
squared_error  identity            ``p - y``
poisson        exp                 ``p - y``
binary log     logistic            ``p - y``
softmax log    softmax             ``p - y``
============== =================== ==============================

Values are weighted means over samples, summed over outputs, as the lecture sums
``ℓ = Σ_k (o_k - y_k)²`` over its output vector: so each delta is the exact gradient of
the reported value. The gradients equal scikit-learn's MLP's for any number of
outputs. Its reported multi-output squared error averages over the outputs (its
issue #8349), so ours is ``n_outputs`` times its value there; with one output the
two agree.
"""

import functools

import numpy as np
from scipy.special import expit, xlogy

from . import _xp

__all__ = ["BinaryLogLoss", "Loss", "PoissonLoss", "SoftmaxLogLoss", "SquaredError"]


def _namespace(a):
    # numpy first: its hot path pays an isinstance check, not a namespace lookup.
    return np if isinstance(a, np.ndarray) else _xp.namespace(a)


def _weighted_mean(values, sample_weight):
    """Weighted mean over rows (axis 0), one value per output column."""
    xp = _namespace(values)
    if xp is np:
        if sample_weight is None:
            return np.add.reduce(values, axis=0) / values.shape[0]
        return sample_weight @ values / sample_weight.sum()
    if sample_weight is None:
        return xp.sum(values, axis=0) / values.shape[0]
    return sample_weight @ values / xp.sum(sample_weight)


def _weighted_total(values, sample_weight):
    """Sum over outputs of the weighted mean over rows.

    A float for numpy; a 0-d array for other namespaces, so that a GPU is not
    made to wait for the value every batch (``float()`` it when needed).
    """
    xp = _namespace(values)
    if xp is np:
        if sample_weight is None:
            return float(np.add.reduce(values, axis=None)) / values.shape[0]
        return float(np.add.reduce(sample_weight @ values)) / float(sample_weight.sum())
    # The sums in the arrays' dtype, the division in float64: numpy's arithmetic
    # (float() of the sums), so float32 fits agree in every namespace.
    if sample_weight is None:
        return _float64(xp.sum(values), xp) / values.shape[0]
    return _float64(xp.sum(sample_weight @ values), xp) / _float64(
        xp.sum(sample_weight), xp
    )


def _float64(a, xp):
    """0-d ``a`` as float64 (where numpy would take ``float(a)``)."""
    return xp.astype(a, xp.float64)


@functools.lru_cache
def _exp_cap(dtype):
    """Largest ``c`` of ``dtype`` with a finite ``exp(c)``.

    ``log(finfo.max)`` rounded to float32 is just above the true value, and its
    exp overflows; step down to the next representable numbers until it does not.
    """
    cap = np.log(np.finfo(dtype).max).astype(dtype)
    with np.errstate(over="ignore"):
        while not np.isfinite(np.exp(cap)):
            cap = np.nextafter(cap, dtype.type(0))
    return cap


def _xp_exp_cap(dtype, xp):
    """:func:`_exp_cap` for a dtype of namespace ``xp``, as a Python float.

    Taken from the numpy dtype of the same format; a format numpy lacks
    (bfloat16) is searched in ``xp`` itself.
    """
    fmax = float(xp.finfo(dtype).max)
    for np_dtype in (np.float64, np.float32, np.float16):
        if float(np.finfo(np_dtype).max) == fmax:
            return float(_exp_cap(np.dtype(np_dtype)))
    cap = xp.log(xp.asarray(fmax, dtype=dtype))
    zero = xp.zeros_like(cap)
    while not bool(xp.isfinite(xp.exp(cap))):
        cap = xp.nextafter(cap, zero)
    return float(cap)


def _clipped(p):
    """``p`` clipped to ``[eps, 1 - eps]`` (a new array), as scikit-learn clips."""
    xp = _namespace(p)
    if xp is not np:
        eps = float(xp.finfo(p.dtype).eps)
        return xp.clip(p, eps, 1 - eps)
    eps = np.finfo(p.dtype).eps
    out = np.maximum(p, eps)
    return np.minimum(out, 1 - eps, out=out)


def _xlogy(x, y, xp):
    """``x·log(y)``, 0 where ``x == 0`` (unless ``y`` is NaN), as scipy's xlogy."""
    if xp is np:
        return xlogy(x, y)
    zero = x == 0
    # The log of a safe value where x == 0: no -inf·0 NaN, no log(0) warning.
    terms = x * xp.log(xp.where(zero, xp.ones_like(y), y))
    return xp.where(zero & ~xp.isnan(y), xp.zeros_like(terms), terms)


class Loss:
    """A loss ``ℓ(y, p)`` with its output activation ``p = link(s)``.

    Subclasses set :attr:`out_activation` and implement :meth:`link`, :meth:`value`
    and :meth:`output_delta`.
    """

    #: Name of the output activation, as in scikit-learn's ``out_activation_``.
    out_activation = None

    def link(self, s):
        """Apply the output activation to the last layer's signal.

        Parameters
        ----------
        s : array of shape (n_samples, n_outputs)
            Signal of the output layer; a numpy array is overwritten, arrays of
            other namespaces are left as they are.

        Returns
        -------
        p : array
            The outputs: ``s`` itself for numpy, a new array otherwise.
        """
        raise NotImplementedError

    def value(self, y, p, sample_weight=None):
        """Loss of outputs ``p`` against targets ``y`` (without the L2 term).

        Parameters
        ----------
        y : array of shape (n_samples, n_outputs)
            Targets (encoded as floats).
        p : array of shape (n_samples, n_outputs)
            Network outputs.
        sample_weight : array of shape (n_samples,), default=None
            Weights of the samples, in the namespace of ``p``.

        Returns
        -------
        loss : float or 0-d array
            A float for numpy arrays; for other namespaces a 0-d array on the
            arrays' device (no synchronisation with a GPU; ``float(loss)`` reads
            it).
        """
        raise NotImplementedError

    def output_delta(self, y, p, out=None):
        """Return ``∂ℓ_i/∂s^(L)`` per sample, before weighting and averaging.

        Parameters
        ----------
        y, p : array of shape (n_samples, n_outputs)
            Targets and outputs, of one namespace.
        out : ndarray of shape (n_samples, n_outputs), default=None
            Where to write the result (numpy only); a new array if None.

        Returns
        -------
        delta : array of shape (n_samples, n_outputs)
        """
        if _namespace(p) is not np:
            return p - y
        return np.subtract(p, y, out=out)


class SquaredError(Loss):
    """Half squared error with identity output.

    ``½ · Σ_outputs mean_samples((p - y)²)``: half the lecture's ``(o - y)²`` summed
    over the output vector, whose gradient is ``δ^(L) = p - y`` per output.
    """

    out_activation = "identity"

    def link(self, s):  # noqa: D102
        return s

    def value(self, y, p, sample_weight=None):  # noqa: D102
        diff = y - p
        if _namespace(diff) is np:
            diff *= diff
        else:
            diff = diff * diff
        return 0.5 * _weighted_total(diff, sample_weight)


class PoissonLoss(Loss):
    """Half Poisson deviance with log link (exponential output)."""

    out_activation = "exp"

    def link(self, s):  # noqa: D102
        # exp overflows past log(max): cap the signal there (the output stays finite).
        xp = _namespace(s)
        if xp is not np:
            return xp.exp(xp.clip(s, max=_xp_exp_cap(s.dtype, xp)))
        np.minimum(s, _exp_cap(s.dtype), out=s)
        return np.exp(s, out=s)

    def value(self, y, p, sample_weight=None):  # noqa: D102
        xp = _namespace(p)
        dev = _xlogy(y, y / p, xp) - y + p
        total = _weighted_mean(dev, sample_weight)
        return float(total.sum()) if xp is np else _float64(xp.sum(total), xp)


class BinaryLogLoss(Loss):
    """Binary cross-entropy per output with logistic output (binary, multilabel)."""

    out_activation = "logistic"

    def link(self, s):  # noqa: D102
        xp = _namespace(s)
        if xp is not np:
            return _xp.expit(s, xp)
        return expit(s, out=s)

    def value(self, y, p, sample_weight=None):  # noqa: D102
        # y·log p + (1 - y)·log(1 - p) for y in {0, 1}: the log of the
        # probability given to the observed label.
        xp = _namespace(p)
        ll = xp.log(_clipped(xp.where(y > 0.5, p, 1 - p)))
        return -_weighted_total(ll, sample_weight)


class SoftmaxLogLoss(Loss):
    """Categorical cross-entropy with softmax output (multiclass)."""

    out_activation = "softmax"

    def link(self, s):  # noqa: D102
        xp = _namespace(s)
        if xp is not np:
            e = xp.exp(s - xp.max(s, axis=1, keepdims=True))
            return e / xp.sum(e, axis=1, keepdims=True)
        s -= np.maximum.reduce(s, axis=1, keepdims=True)
        np.exp(s, out=s)
        s /= np.add.reduce(s, axis=1, keepdims=True)
        return s

    def value(self, y, p, sample_weight=None):  # noqa: D102
        xp = _namespace(p)
        if xp is not np:
            ll = xp.log(_clipped(p)) * y
            return -_weighted_total(ll, sample_weight)
        ll = np.log(_clipped(p), out=None)
        ll *= y  # one-hot y: the log-probability of each row's class
        return -_weighted_total(ll, sample_weight)
