"""Fused elementwise kernels: one compiled pass where numpy makes several.

A mini-batch step makes many memory-bound numpy passes: Adam's update alone is a
dozen (``m *= β1``, ``tmp = g·(1-β1)``, ``m += tmp``, ...), each reading and writing
whole arrays. The kernels here, compiled with numba, do the same arithmetic element
by element in a single pass:

* :func:`adam_update`, :func:`sgd_update`: the optimizers' numpy ``update``, with
  optionally the L2 term ``grad[:n_coef] += coef·scale`` and each layer's squared
  coefficient-gradient norm in the same pass;
* :func:`bias_forward`: ``s += b`` then the activation's ``_forward_into``
  (for tanh, numpy's ``tanh`` follows the kernel);
* :func:`mul_derivative`: the activation's ``_mul_derivative``, optionally with
  the column sums of the result (the layer's intercept gradient) in the same pass;
* :func:`softmax_forward`: ``s += b`` and the softmax in three passes (numpy's
  ``exp`` in the middle) instead of six numpy calls;
* :func:`canonical_delta`: ``δ^(L) = (P - Y)·w / Σw`` of the canonical losses
  with its column sums (the output intercepts' gradient) in one pass.

They follow numpy's order of operations with the scalars cast to the arrays' dtype
(as numpy casts Python floats), compiled without fast-math (no FMA contraction),
so they are bitwise equal to the numpy path: the updates, the L2 term, every
derivative, identity, ReLU and tanh. Logistic calls the C library's ``exp`` as
scipy's ``expit`` does (bitwise equal where both use the same ``libm``). Tanh adds
the intercepts in the kernel, then applies numpy's own ``tanh``: the C library's,
which numba would call, differs from it by a few ulps and is slower in float32.
Squared norms are summed in float64, vectorized, in another order than BLAS's
``dot``: they agree to rounding.

Arrays are float32 or float64, all of one dtype, C-contiguous, updated in place.
numba is optional: without it :data:`AVAILABLE` is False and the functions raise
ImportError.
"""

import math

import numpy as np

from ..activations import FAST_ACTIVATIONS, Identity, Logistic, ReLU, Tanh
from .runtime import AVAILABLE, njit

__all__ = [
    "AVAILABLE",
    "FUSED_CODES",
    "adam_update",
    "bias_forward",
    "canonical_delta",
    "mul_derivative",
    "mul_derivative_sums",
    "sgd_update",
    "softmax_forward",
]

# The kernels' branches, named by the code each class holds (its kernel_code,
# defined there once; never changed once given: numba's cache tracks this file).
IDENTITY = Identity.kernel_code
LOGISTIC = Logistic.kernel_code
TANH = Tanh.kernel_code
RELU = ReLU.kernel_code

#: Activation code of each built-in activation class the kernels fuse: the
#: built-ins with in-place forms (``activations.FAST_ACTIVATIONS``), whose
#: ``_forward_into`` and ``_mul_derivative`` the kernels reproduce.
FUSED_CODES = {cls: cls.kernel_code for cls in FAST_ACTIVATIONS}
_BRANCHES = {IDENTITY, LOGISTIC, TANH, RELU}
if not set(FUSED_CODES.values()) <= _BRANCHES:  # pragma: no cover
    # A built-in given in-place forms needs its branches here too (or the
    # kernels below would run another activation's).
    raise ImportError(
        "skbackprop._kernels.fused has branches for identity, logistic, tanh "
        f"and ReLU only, not {sorted(c.__name__ for c in FAST_ACTIVATIONS)}"
    )

_NO_LAYERS = np.zeros(1, dtype=np.int64)  # coefficient bounds without layers
_NO_NORMS = np.empty(0)  # their (empty) norms


def _check(*arrays):
    """Raise unless the arrays share a float dtype and are C-contiguous."""
    if not AVAILABLE:
        raise ImportError(
            "skbackprop's fused kernels need numba: pip install numba, or keep the "
            "numpy code path."
        )
    dtype = arrays[0].dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"fused kernels take float32 or float64 arrays, got {dtype}")
    for a in arrays:
        if a.dtype != dtype or not a.flags.c_contiguous:
            raise ValueError("fused kernels need C-contiguous arrays of one dtype")


def _l2_args(params, l2_scale, coef_bounds, sq_norms):
    """Return the kernels' (l2, scale, bounds, sq_norms) arguments."""
    bounds = _NO_LAYERS if coef_bounds is None else coef_bounds
    if len(bounds) < 2 and (l2_scale is not None or sq_norms is not None):
        raise ValueError("l2_scale and sq_norms need coef_bounds")
    bounds = np.asarray(bounds, dtype=np.int64)
    if sq_norms is None:
        # Without layers (the optimizers' per-batch call) nothing is written:
        # a shared empty array, no allocation per batch.
        sq_norms = _NO_NORMS if len(bounds) == 1 else np.empty(len(bounds) - 1)
    elif len(sq_norms) != len(bounds) - 1:
        raise ValueError("sq_norms needs one entry per coefficient layer")
    scale = params.dtype.type(0.0 if l2_scale is None else l2_scale)
    return l2_scale is not None, scale, bounds, sq_norms


# No fast-math (no FMA contraction, no reordering); numpy's division semantics
# (x/0 is inf or NaN, not ZeroDivisionError), which also lets LLVM vectorize.
_JIT = {"cache": True, "error_model": "numpy"}
_BLOCK = 1024  # elements per block: the L2 term, norm and update meet in cache
_PAIRWISE_BLOCK = 128  # numpy's pairwise sums split rows longer than this

# The block functions take slices and index them from 0, which LLVM can prove
# non-negative: numba's wraparound of negative indices then vanishes and the loops
# vectorize (they would not with range(lo, hi)).


@njit(**_JIT)
def _coef_block(grad, params, l2, scale):
    """Add the L2 term ``params·scale`` to ``grad`` (if ``l2``); return ‖grad‖²."""
    if l2:
        for i in range(grad.size):
            grad[i] += params[i] * scale
    return _sum_sq(grad)


@njit(**_JIT, fastmath={"reassoc"})
def _sum_sq(x):
    # Reassociation (for this sum only) lets LLVM vectorize it: like BLAS's dot,
    # its order is not the index order.
    acc = 0.0
    for i in range(x.size):
        acc += float(x[i]) * float(x[i])
    return acc


@njit(**_JIT)
def _adam_block(params, grad, m, v, b1, c1, b2, c2, neg_lr, eps):
    # Adam.update: m ← m·β1 + g·(1-β1); v ← v·β2 + (g·g)·(1-β2);
    # params += (m·(-η_t)) / (√v + ε).
    for i in range(params.size):
        g = grad[i]
        mi = m[i] * b1 + g * c1
        vi = v[i] * b2 + g * g * c2
        m[i] = mi
        v[i] = vi
        params[i] += mi * neg_lr / (math.sqrt(vi) + eps)


@njit(**_JIT)
def _adam_kernel(
    params, grad, m, v, b1, c1, b2, c2, neg_lr, eps, l2, scale, bounds, sq_norms
):
    n_layers = bounds.size - 1
    for k in range(n_layers + 1):  # the coefficient layers, then the rest
        stop = bounds[k + 1] if k < n_layers else params.size
        if k < n_layers:
            sq_norms[k] = 0.0
        for lo in range(bounds[k], stop, _BLOCK):
            hi = min(lo + _BLOCK, stop)
            p, g = params[lo:hi], grad[lo:hi]
            if k < n_layers:
                sq_norms[k] += _coef_block(g, p, l2, scale)
            _adam_block(p, g, m[lo:hi], v[lo:hi], b1, c1, b2, c2, neg_lr, eps)


@njit(**_JIT)
def _sgd_block(params, grad, velocity, lr, mu, nesterov):
    # SGD.update: tmp = g·η; v ← v·μ - tmp; step v, or v·μ - tmp (Nesterov).
    for i in range(params.size):
        tmp = grad[i] * lr
        vi = velocity[i] * mu - tmp
        velocity[i] = vi
        params[i] += (vi * mu - tmp) if nesterov else vi


@njit(**_JIT)
def _sgd_kernel(params, grad, velocity, lr, mu, nesterov, l2, scale, bounds, sq_norms):
    n_layers = bounds.size - 1
    for k in range(n_layers + 1):
        stop = bounds[k + 1] if k < n_layers else params.size
        if k < n_layers:
            sq_norms[k] = 0.0
        for lo in range(bounds[k], stop, _BLOCK):
            hi = min(lo + _BLOCK, stop)
            p, g = params[lo:hi], grad[lo:hi]
            if k < n_layers:
                sq_norms[k] += _coef_block(g, p, l2, scale)
            _sgd_block(p, g, velocity[lo:hi], lr, mu, nesterov)


@njit(**_JIT)
def _bias_forward_kernel(s, b, code):
    # s ← θ(s + b) in place, one loop per activation so that each one vectorizes.
    zero, one = s.dtype.type(0), s.dtype.type(1)
    for i in range(s.shape[0]):
        si = s[i]
        if code == RELU:  # np.maximum(x, 0): NaN stays NaN, -0.0 gives +0.0
            for j in range(si.size):
                x = si[j] + b[j]
                si[j] = zero if x <= zero else x
        elif code == LOGISTIC:  # scipy's expit: 1 / (1 + exp(-x))
            for j in range(si.size):
                si[j] = one / (one + math.exp(-(si[j] + b[j])))
        else:  # identity; tanh's wrapper applies numpy's tanh afterwards
            for j in range(si.size):
                si[j] += b[j]


@njit(**_JIT)
def _mul_derivative_kernel(g, o, code):
    zero, one = g.dtype.type(0), g.dtype.type(1)
    g, o = g.reshape(g.size), o.reshape(o.size)
    if code == RELU:  # g *= np.sign(o)
        for i in range(g.size):
            x = o[i]
            if x > zero:
                sign = one
            elif x < zero:
                sign = -one
            elif x == zero:
                sign = zero
            else:
                sign = x  # NaN
            g[i] *= sign
    elif code == TANH:  # g *= 1 - o·o
        for i in range(g.size):
            g[i] *= one - o[i] * o[i]
    elif code == LOGISTIC:  # g *= o; g *= 1 - o
        for i in range(g.size):
            g[i] = g[i] * o[i] * (one - o[i])


@njit(**_JIT)
def _mul_derivative_sums_kernel(g, o, code, sums):
    # g *= θ' row by row, and sums = g.sum(0) as numpy's add.reduce(g, axis=0)
    # with two columns or more: 0 + g[0] + g[1] + ..., in row order.
    zero, one = g.dtype.type(0), g.dtype.type(1)
    for j in range(sums.size):
        sums[j] = zero
    for r in range(g.shape[0]):
        gr, orow = g[r], o[r]
        if code == RELU:
            for j in range(gr.size):  # g *= np.sign(o)
                x = orow[j]
                if x > zero:
                    sign = one
                elif x < zero:
                    sign = -one
                elif x == zero:
                    sign = zero
                else:
                    sign = x  # NaN
                gr[j] *= sign
                sums[j] += gr[j]
        elif code == TANH:
            for j in range(gr.size):
                gr[j] *= one - orow[j] * orow[j]
                sums[j] += gr[j]
        elif code == LOGISTIC:
            for j in range(gr.size):
                gr[j] = gr[j] * orow[j] * (one - orow[j])
                sums[j] += gr[j]
        else:  # identity: θ' = 1
            for j in range(gr.size):
                sums[j] += gr[j]


@njit(**_JIT)
def _bias_shift_kernel(s, b):
    # s += b, then each row minus its maximum (np.maximum.reduce: NaN wins).
    for r in range(s.shape[0]):
        sr = s[r]
        for j in range(sr.size):
            sr[j] += b[j]
        top = sr[0]
        for j in range(1, sr.size):
            if sr[j] > top or np.isnan(sr[j]):
                top = sr[j]
        for j in range(sr.size):
            sr[j] -= top


@njit(**_JIT)
def _pairwise_sum(a):
    # numpy's pairwise summation of a (its add.reduce along a contiguous axis) for
    # up to 128 entries, one block: eight running sums, then the rest in order.
    # (Longer rows split in halves recursively; numba's cache cannot hold a
    # recursive function, so softmax_forward leaves those to numpy.)
    n = a.size
    if n < 8:
        res = a.dtype.type(0)
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    i = 8
    while i < n - n % 8:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


@njit(**_JIT)
def _normalize_kernel(e):
    # e /= e.sum(1, keepdims=True), the sum as numpy's (0 + the pairwise sum).
    for r in range(e.shape[0]):
        er = e[r]
        total = e.dtype.type(0) + _pairwise_sum(er)
        for j in range(er.size):
            er[j] /= total


@njit(**_JIT)
def _delta_sums_kernel(P, Y, w, has_w, sw_sum, D, sums):
    # δ = (p - y)·w / Σw, and sums = δ.sum(0) as numpy's add.reduce over rows.
    for j in range(sums.size):
        sums[j] = P.dtype.type(0)
    for r in range(P.shape[0]):
        pr, yr, dr = P[r], Y[r], D[r]
        for j in range(pr.size):
            d = pr[j] - yr[j]
            if has_w:
                d = d * w[r]
            d = d / sw_sum  # x / 1 is x: numpy's skip of that division changes nothing
            dr[j] = d
            sums[j] += d


def adam_update(
    params,
    grad,
    m,
    v,
    beta_1,
    beta_2,
    learning_rate,
    epsilon,
    *,
    l2_scale=None,
    coef_bounds=None,
    sq_norms=None,
):
    """Adam's step in one pass, bitwise equal to :meth:`Adam.update`'s numpy path.

    Parameters
    ----------
    params, grad, m, v : ndarray of shape (n_params,)
        Parameters, gradient and moment estimates; ``params``, ``m`` and ``v`` are
        updated in place (``grad`` too with ``l2_scale``).
    beta_1, beta_2, epsilon : float
        Adam's hyperparameters.
    learning_rate : float
        The bias-corrected step size ``η_t`` of this step (``Adam.learning_rate``
        after ``t`` was incremented).
    l2_scale : float, default=None
        First add ``params[i]·l2_scale`` to ``grad[i]`` for the coefficients
        (``alpha / Σw``); None adds nothing.
    coef_bounds : array-like of int, default=None
        Offsets ``[0, ..., n_coef]`` of the coefficient layers in ``params``;
        needed by ``l2_scale`` and ``sq_norms``.
    sq_norms : ndarray of shape (n_layers,), default=None
        Receives each layer's squared coefficient-gradient norm (after L2).
    """
    _check(params, grad, m, v)
    t = params.dtype.type
    l2_args = _l2_args(params, l2_scale, coef_bounds, sq_norms)
    b1, b2 = float(beta_1), float(beta_2)
    # The Python floats numpy would cast to the arrays' dtype, cast the same way.
    lr = -float(learning_rate)
    scalars = [t(x) for x in (b1, 1 - b1, b2, 1 - b2, lr, float(epsilon))]
    _adam_kernel(params, grad, m, v, *scalars, *l2_args)


def sgd_update(
    params,
    grad,
    velocity,
    learning_rate,
    momentum,
    nesterov,
    *,
    l2_scale=None,
    coef_bounds=None,
    sq_norms=None,
):
    """SGD's step in one pass, bitwise equal to :meth:`SGD.update`'s numpy path.

    Parameters
    ----------
    params, grad, velocity : ndarray of shape (n_params,)
        Parameters, gradient and momentum; ``params`` and ``velocity`` are updated
        in place (``grad`` too with ``l2_scale``).
    learning_rate, momentum : float
        Step size ``η`` and momentum ``μ``.
    nesterov : bool
        Use Nesterov's momentum.
    l2_scale, coef_bounds, sq_norms
        As in :func:`adam_update`.
    """
    _check(params, grad, velocity)
    t = params.dtype.type
    l2_args = _l2_args(params, l2_scale, coef_bounds, sq_norms)
    lr, mu = t(float(learning_rate)), t(float(momentum))
    _sgd_kernel(params, grad, velocity, lr, mu, bool(nesterov), *l2_args)


def bias_forward(s, b, code, out):
    """``s += b`` then the activation into ``out``, in one pass.

    Equal to ``s += b; act._forward_into(s, out)``: bitwise for identity, ReLU and
    tanh (numpy's ``tanh`` runs after the kernel); logistic uses the C library's
    ``exp`` like scipy's ``expit``.

    Parameters
    ----------
    s : ndarray of shape (n_samples, n_units)
        Signals without their intercepts; ``s + b`` is written back.
    b : ndarray of shape (n_units,)
        Intercepts.
    code : int
        The activation, a value of :data:`FUSED_CODES`.
    out : ndarray of shape (n_samples, n_units)
        Receives the outputs: ``s`` itself (one pass), or an array that does not
        overlap it.

    Returns
    -------
    out : ndarray of shape (n_samples, n_units)
    """
    _check(s, b, out)
    if s.ndim != 2 or b.shape != s.shape[1:] or out.shape != s.shape:
        raise ValueError("bias_forward needs s and out of shape (n, d), b of (d,)")
    if out is not s:  # not the network's case: out ← θ(s + b), then s += b
        out[...] = s
    _bias_forward_kernel(out, b, code)
    if code == TANH:
        np.tanh(out, out=out)
    if out is not s:
        s += b
    return out


def mul_derivative(g, s, o, code):
    """``g *= θ'`` in one pass, bitwise equal to ``act._mul_derivative``.

    Parameters
    ----------
    g : ndarray
        Gradient with respect to the outputs, multiplied in place.
    s : ndarray or None
        Signals (unused: the fused activations' derivatives need the outputs).
    o : ndarray
        Outputs, same shape as ``g``.
    code : int
        The activation, a value of :data:`FUSED_CODES`.
    """
    _check(g, o)
    if code == IDENTITY:
        return
    if o.shape != g.shape:
        raise ValueError("mul_derivative needs g and o of the same shape")
    _mul_derivative_kernel(g, o, code)


def mul_derivative_sums(g, o, code, sums):
    """``g *= θ'`` and ``sums = g.sum(0)`` in one pass, both bitwise as numpy's.

    ``sums`` is the intercept gradient of the layer, which the numpy path computes
    with ``np.add.reduce(g, axis=0)`` after the derivative: another pass over ``g``.

    Parameters
    ----------
    g : ndarray of shape (n_samples, n_units)
        Gradient with respect to the outputs, multiplied in place.
    o : ndarray of shape (n_samples, n_units)
        Outputs.
    code : int
        The activation, a value of :data:`FUSED_CODES`.
    sums : ndarray of shape (n_units,)
        Receives the column sums of the multiplied ``g``.
    """
    _check(g, o, sums)
    if g.ndim != 2 or o.shape != g.shape or sums.shape != g.shape[1:]:
        raise ValueError("mul_derivative_sums needs g, o of shape (n, d), sums (d,)")
    _mul_derivative_sums_kernel(g, o, code, sums)
    if g.shape[1] == 1:  # one column: numpy sums it pairwise, as a vector
        np.add.reduce(g, axis=0, out=sums)


def softmax_forward(s, b):
    """``s += b`` then the softmax of each row, in place; bitwise as numpy's.

    ``SoftmaxLogLoss.link`` after the intercepts: the shift by the row maximum in
    one pass with the intercepts, numpy's ``exp``, then one pass dividing by the
    row sums (summed in numpy's pairwise order).

    Parameters
    ----------
    s : ndarray of shape (n_samples, n_outputs)
        Output signals without their intercepts; overwritten with the
        probabilities.
    b : ndarray of shape (n_outputs,)
        Intercepts.

    Returns
    -------
    s : ndarray of shape (n_samples, n_outputs)
    """
    _check(s, b)
    if s.ndim != 2 or b.shape != s.shape[1:] or s.shape[1] == 0:
        raise ValueError("softmax_forward needs s of shape (n, k), k > 0, b of (k,)")
    _bias_shift_kernel(s, b)
    np.exp(s, out=s)
    if s.shape[1] <= _PAIRWISE_BLOCK:
        _normalize_kernel(s)
    else:  # numpy's pairwise sum splits longer rows: let numpy sum them
        s /= np.add.reduce(s, axis=1, keepdims=True)
    return s


def canonical_delta(Y, P, sample_weight, sw_sum, D, sums):
    """``δ^(L)`` of a canonical loss and its column sums in one pass, bitwise.

    The numpy path's ``P - Y`` (``output_delta`` of the canonical losses), times
    the weights, divided by their sum, then ``add.reduce`` over the rows (the
    output intercepts' gradient): four passes in one.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_outputs)
        Encoded targets.
    P : ndarray of shape (n_samples, n_outputs)
        Outputs ``link(s)``.
    sample_weight : ndarray of shape (n_samples,) or None
        Weights of the rows.
    sw_sum : float
        Their sum (the number of rows without weights).
    D : ndarray of shape (n_samples, n_outputs)
        Receives ``δ^(L)``.
    sums : ndarray of shape (n_outputs,)
        Receives ``δ^(L)`` summed over the rows.
    """
    has_w = sample_weight is not None
    w = sample_weight if has_w else np.empty(0, P.dtype)  # unused without weights
    _check(Y, P, D, sums, w)
    if Y.shape != P.shape or D.shape != P.shape or sums.shape != P.shape[1:]:
        raise ValueError("canonical_delta needs Y, P, D of one shape, sums of (k,)")
    _delta_sums_kernel(P, Y, w, has_w, P.dtype.type(sw_sum), D, sums)
    if P.shape[1] == 1:  # one column: numpy sums it pairwise, as a vector
        np.add.reduce(D, axis=0, out=sums)


def _warm_up_calls(dtype):
    """Return the compiled calls a fit in ``dtype`` makes, on tiny arrays.

    Calling each ``dispatcher(*args)`` compiles (or loads from numba's cache) what
    a fit needs, and :func:`skbackprop._kernels.runtime.cache_holds` asks the cache
    about
    them. The arguments are built as the public functions above build theirs (a
    fit's updates fold the L2 term and the norms in).

    Parameters
    ----------
    dtype : numpy dtype
        float32 or float64.

    Returns
    -------
    calls : list of (dispatcher, tuple)
    """
    t = np.dtype(dtype).type
    params, grad, m, v = (np.zeros(3, t) for _ in range(4))
    l2 = _l2_args(params, 0.5, np.array([0, 2]), np.zeros(1, t))
    adam = (t(0.9), t(0.1), t(0.999), t(0.001), t(-0.001), t(1e-8))
    s, g = np.zeros((1, 2), t), np.zeros((1, 2), t)
    return [
        (_adam_kernel, (params, grad, m, v, *adam, *l2)),
        (_sgd_kernel, (params, grad, m, t(0.1), t(0.9), True, *l2)),
        (_bias_forward_kernel, (s, params[:2], RELU)),
        (_mul_derivative_kernel, (g, s, RELU)),
        (_mul_derivative_sums_kernel, (g, s, RELU, np.zeros(2, t))),
        (_bias_shift_kernel, (s, params[:2])),
        (_normalize_kernel, (s,)),
        (_delta_sums_kernel, (s, g, np.empty(0, t), False, t(1), s, np.zeros(2, t))),
    ]
