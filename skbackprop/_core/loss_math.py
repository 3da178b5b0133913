"""Numerical helpers of the losses, for numpy and any array-API namespace.

Kept apart from :mod:`skbackprop.losses` so that the module users read holds the
loss classes only. numpy arrays take numpy's fast paths (in-place writes, scipy
functions); arrays of other namespaces go through ``xp``, the array API.
"""

import functools

import numpy as np
from scipy.special import xlogy

from . import xp as _xp


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
