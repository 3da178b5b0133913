"""Signal limits: clipping extreme inputs, and proving that outputs stay finite.

The prediction path clips inputs and signals at :func:`signal_limit`, so any finite
input gives a finite output; :func:`signal_bound` proves from the weights alone
(no forward pass) that the network computes finite outputs for given rows, which
is how every fit ends cheaply with weights that predict finitely.
"""

import math

import numpy as np
import scipy.sparse as sp

from . import _xp
from .activations import BUILTIN_ACTIVATIONS

__all__ = ["clip_extreme", "signal_bound", "signal_limit"]


def signal_limit(dtype, xp=np):
    """Largest magnitude a signal may take: ``sqrt(finfo(dtype).max)``.

    Clipping inputs and signals there (about 1.3e154 in float64, 1.8e19 in
    float32) keeps every product with moderate weights finite, so an absurdly large
    input gives a saturated, finite output instead of inf or NaN. Ordinary data never
    comes near it.
    """
    return float(math.sqrt(float(np.finfo(_xp.numpy_dtype(dtype)).max)))


def clip_extreme(X, limit):
    """``X`` with entries beyond ``±limit`` clipped (a copy only if any are).

    Parameters
    ----------
    X : {ndarray, sparse matrix}
        Input rows.
    limit : float
        Largest magnitude kept.

    Returns
    -------
    X : {ndarray, sparse matrix}
        ``X`` itself when nothing exceeds the limit.
    """
    if not (sp.issparse(X) or isinstance(X, np.ndarray)):
        xp = _xp.namespace(X)
        if not bool(xp.any(xp.abs(X) > limit)):
            return X
        return xp.clip(X, -limit, limit)
    data = X.data if sp.issparse(X) else X
    if data.dtype.kind == "f":
        # A float64 model's limit is beyond float32's range (cast to it, it would
        # overflow): there, finfo.max bounds every entry already.
        limit = min(limit, float(np.finfo(data.dtype).max))
    if data.size == 0 or (data.max() <= limit and data.min() >= -limit):
        return X
    X = X.copy()
    data = X.data if sp.issparse(X) else X
    np.clip(data, -limit, limit, out=data)
    return X


def signal_bound(X, coefs, intercepts, activations, activation_params):
    """Bound the magnitude of every layer's signal for the rows of ``X``.

    With ``m`` a bound on a layer's inputs, each signal obeys
    ``|s_j| <= m · Σ_i |W_ij| + |b_j|``; each activation bounds its output from
    that. A bound below :func:`signal_limit` proves, without a forward pass, that
    the network computes finite outputs for these rows (nothing can overflow, so
    nothing can become inf or NaN). Costs one pass over ``X`` and the weights.

    Returns
    -------
    bound : float
        The largest signal bound over the layers; ``inf`` when it cannot be
        established (it overflows, or an activation gives no bound).
    """
    if sp.issparse(X) or isinstance(X, np.ndarray):
        xp, data = np, X.data if sp.issparse(X) else X
        # max(max, -min): two passes over X, no temporary copy (as abs() makes).
        m = float(max(data.max(), -data.min())) if data.size else 0.0
    else:  # another namespace: the reductions run on X's device
        xp = _xp.namespace(X)
        m = max(float(xp.max(X)), -float(xp.min(X))) if X.shape[0] * X.shape[1] else 0.0
    worst = 0.0
    last = len(coefs) - 1
    with np.errstate(over="ignore", invalid="ignore"):
        for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
            if xp is np:
                s_max = float(np.max(m * np.abs(W).sum(axis=0) + np.abs(b), initial=0))
            else:
                s_max = float(xp.max(m * xp.sum(xp.abs(W), axis=0) + xp.abs(b)))
            if not np.isfinite(s_max):
                return np.inf
            worst = max(worst, s_max)
            if i < last:
                # Only the built-ins themselves are trusted: a user's subclass
                # may override forward and no longer obey the inherited bound.
                act = activations[i]
                if type(act) not in BUILTIN_ACTIVATIONS:
                    return np.inf
                theta = activation_params[i]
                m = act._output_bound(s_max, None if theta is None else _xp.host(theta))
                if m is None or not np.isfinite(m):
                    return np.inf
                m = float(m)  # a numpy scalar would not multiply other arrays
    return worst
