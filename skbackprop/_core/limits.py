"""Signal limits: clipping extreme inputs, and proving that outputs stay finite.

**The rule for extreme inputs**, one for ``predict`` (``network.forward``) and the
exported ONNX graph (``skbackprop.onnx``): the input and every layer's signal (the
output layer's too, before its link) are clipped to ``[-L, L]``, a minimum then a
maximum, with ``L`` = :func:`signal_limit` of the model's dtype (the graph uses
:func:`graph_signal_limit`, the same ``L`` where its dtype holds it). NaN is not
clipped: it stays NaN in its row (``predict`` refuses NaN inputs before that, in
scikit-learn's validation; the graph cannot refuse, so a NaN row gives NaN).
So any finite input gives a finite output. :func:`signal_bound` proves from the
weights alone (no forward pass) that the network computes finite outputs for
given rows, which is how every fit ends cheaply with weights that predict
finitely.
"""

import math

import numpy as np
import scipy.sparse as sp

from .. import activations as _activations
from . import xp as _xp

__all__ = ["clip_extreme", "graph_signal_limit", "signal_bound", "signal_limit"]


def signal_limit(dtype, xp=np):
    """Largest magnitude a signal may take: ``sqrt(finfo(dtype).max)``.

    Clipping inputs and signals there (about 1.3e154 in float64, 1.8e19 in
    float32) keeps every product with moderate weights finite, so an absurdly large
    input gives a saturated, finite output instead of inf or NaN. Ordinary data never
    comes near it.
    """
    return float(math.sqrt(float(np.finfo(_xp.numpy_dtype(dtype)).max)))


def graph_signal_limit(model_dtype, graph_dtype):
    """Where an exported graph clips: the model's :func:`signal_limit`, as predict.

    The smaller of the model dtype's and the graph dtype's limits: a float32 model
    in a float64 graph clips where ``predict`` does (about 1.8e19); a float64
    model in a float32 graph at float32's limit, since its products beyond it
    would overflow float32 (there the graph cannot follow ``predict``).

    Parameters
    ----------
    model_dtype, graph_dtype : dtype
        The fitted weights' dtype and the graph's float dtype.

    Returns
    -------
    limit : float
    """
    return min(signal_limit(model_dtype), signal_limit(graph_dtype))


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
                # Only the built-ins themselves are trusted (the registry): a
                # user's subclass may override forward and no longer obey the
                # inherited bound.
                act = activations[i]
                if not _activations.is_builtin(act):
                    return np.inf
                theta = activation_params[i]
                m = act._output_bound(s_max, None if theta is None else _xp.host(theta))
                if m is None or not np.isfinite(m):
                    return np.inf
                m = float(m)  # a numpy scalar would not multiply other arrays
    return worst
