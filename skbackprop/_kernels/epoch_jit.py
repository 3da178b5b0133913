"""The compiled loops of :mod:`skbackprop._kernels.epoch` (numba ``njit``).

Kept in one module: numba's cache tracks the source file of each compiled
function, not of the functions it calls, so compiled code that calls across
modules could go stale when the callee's module changes. The Python side (which
networks qualify, argument preparation, the public :func:`run_epoch`) is in
:mod:`skbackprop._kernels.epoch`.
"""

import math

import numpy as np

from .. import activations as _act
from .. import losses as _losses
from .runtime import AVAILABLE as AVAILABLE  # re-exported: numba can compile
from .runtime import njit as _jit

# The branches below, named by the code each built-in class holds (its
# ``kernel_code``; the numbers are defined there, once). numba freezes these
# globals into the compiled code and its cache tracks this file only, so a code,
# once given, is never changed (tests/core/test_registry.py runs every
# branch).
# Hidden activations θ.
IDENTITY = _act.Identity.kernel_code
LOGISTIC = _act.Logistic.kernel_code
TANH = _act.Tanh.kernel_code
RELU = _act.ReLU.kernel_code
LEAKY_RELU = _act.LeakyReLU.kernel_code
ELU = _act.ELU.kernel_code
SOFTPLUS = _act.Softplus.kernel_code
GELU = _act.GELU.kernel_code
# Losses with their output activation (link).
SQUARED_ERROR = _losses.SquaredError.kernel_code
BINARY_LOG_LOSS = _losses.BinaryLogLoss.kernel_code
SOFTMAX_LOG_LOSS = _losses.SoftmaxLogLoss.kernel_code
POISSON = _losses.PoissonLoss.kernel_code

# GELU's constants, exactly the float64 values activations.py casts to the dtype.
_SQRT_HALF = float(_act._SQRT_HALF)
_INV_SQRT_2PI = float(_act._INV_SQRT_2PI)
_LN2 = float(np.log(2.0))  # numpy's NPY_LOGE2 in logaddexp(0, s)


def _njit(func=None, inline="never"):
    # error_model="numpy": x / 0 gives inf or NaN as in numpy, with no check for
    # ZeroDivisionError (which would also keep loops from vectorizing).
    if func is None:
        return lambda f: _njit(f, inline)
    # cache=True where numba can cache (skbackprop._kernels.runtime compiles in
    # memory if not)
    return _jit(func, cache=True, fastmath=False, error_model="numpy", inline=inline)


# ----------------------------------------------------------- elementwise pieces
# ``dt`` is the arrays' scalar type: ``dt(c)`` casts a constant as numpy does.
@_njit
def _expit(s, dt):
    # scipy.special.expit's formula; e^{-s} = inf for very negative s gives 0.
    return dt(1) / (dt(1) + math.exp(-s))


@_njit
def _gelu_cdf(s, dt):
    # Φ(s) = ½(1 + erf(s/√2)); scipy's erf computes float32 in float64.
    return dt(0.5) * (dt(1) + dt(math.erf(float(s * dt(_SQRT_HALF)))))


# tanh without branches or library calls, so that a loop over a row vectorizes
# (W3 spends half its time here): computed in float64, rounded to the dtype.
# |x| < 0.625: Cephes' rational x + x·z·P(z)/Q(z), z = x²; above: 1 - 2/(e^{2|x|} + 1)
# with e^y as fdlibm's exp: y = k·ln2 + r, |r| <= ln2/2, a rational in r, then
# times 2^k built from k's bits by selects (exact). |x| is capped at 20, where tanh
# is 1 in both dtypes; NaN passes through every step, the sign comes back last
# (tanh(-0.0) = -0.0). tests/kernels/test_kernels_epoch.py checks it within 2 ulp of
# numpy's tanh.
_TANH_P = (-9.64399179425052238628e-1, -9.92877231001918586564e1,
           -1.61468768441708447952e3)  # fmt: skip
_TANH_Q = (1.12811678491632931402e2, 2.23548839060100448583e3,
           4.84406305325125486048e3)  # fmt: skip
_LOG2E = 1.44269504088896338700e00
_LN2_HI = 6.93147180369123816490e-01  # low bits zero: k·_LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_P = (1.66666666666666019037e-01, -2.77777777770155933842e-03,
          6.61375632143793436117e-05, -1.65339022054652515390e-06,
          4.13813679705723846039e-08)  # fmt: skip
_ROUND = 6755399441055744.0  # 1.5·2^52: (v + _ROUND) - _ROUND rounds v to an integer


@_njit(inline="always")
def _exp_small(y):
    """``e^y`` for ``0 <= y <= 40`` (or NaN), branch-free (fdlibm's exp core)."""
    k = (y * _LOG2E + _ROUND) - _ROUND  # 0 <= k <= 58
    hi = y - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    p1, p2, p3, p4, p5 = _EXP_P
    c = r - t * (p1 + t * (p2 + t * (p3 + t * (p4 + t * p5))))
    e = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    # 2^k from the bits of k, largest first.
    e = e * (4294967296.0 if k >= 32.0 else 1.0)
    k = k - (32.0 if k >= 32.0 else 0.0)
    e = e * (65536.0 if k >= 16.0 else 1.0)
    k = k - (16.0 if k >= 16.0 else 0.0)
    e = e * (256.0 if k >= 8.0 else 1.0)
    k = k - (8.0 if k >= 8.0 else 0.0)
    e = e * (16.0 if k >= 4.0 else 1.0)
    k = k - (4.0 if k >= 4.0 else 0.0)
    e = e * (4.0 if k >= 2.0 else 1.0)
    k = k - (2.0 if k >= 2.0 else 0.0)
    return e * (2.0 if k >= 1.0 else 1.0)


@_njit(inline="always")
def _tanh(s, dt):
    x = float(s)
    a = abs(x)
    z = a * a
    p0, p1, p2 = _TANH_P
    q0, q1, q2 = _TANH_Q
    num = (p0 * z + p1) * z + p2
    den = ((z + q0) * z + q1) * z + q2
    small = a + a * (z * num / den)
    e = _exp_small(2.0 * (20.0 if a > 20.0 else a))
    large = 1.0 - 2.0 / (e + 1.0)
    return dt(math.copysign(small if a < 0.625 else large, x))


@_njit(inline="always")
def _forward(code, alpha, s, dt):
    """``o = θ(s)`` for one entry."""
    if code == LOGISTIC:
        return _expit(s, dt)
    if code == TANH:
        return _tanh(s, dt)
    if code == RELU:
        return dt(0) if s < 0 else s  # np.maximum: NaN stays NaN
    if code == LEAKY_RELU:
        return s if s >= 0 else s * dt(alpha)
    if code == ELU:
        return s if s > 0 else math.expm1(s) * dt(alpha)
    if code == SOFTPLUS:
        # numpy's logaddexp(0, s).
        if s == 0:
            return dt(_LN2)
        if -s > 0:
            return math.log1p(math.exp(s))
        if -s <= 0:
            return s + math.log1p(math.exp(-s))
        return -s  # NaN
    if code == GELU:
        return s * _gelu_cdf(s, dt)
    return s  # IDENTITY


@_njit
def _backward(code, alpha, g, s, o, dt):
    """``g ⊙ θ'(s)`` for one entry, ``g`` being ``(W δ)`` of the layer above."""
    if code == LOGISTIC:
        return g * o * (dt(1) - o)
    if code == TANH:
        return g * (dt(1) - o * o)
    if code == RELU:
        # np.sign(o) with o >= 0 (or NaN).
        return g * (dt(1) if o > 0 else (dt(0) if o == 0 else o))
    if code == LEAKY_RELU:
        return g * (dt(1) if s >= 0 else dt(alpha))
    if code == ELU:
        return g * (dt(1) if s > 0 else o + dt(alpha))
    if code == SOFTPLUS:
        return g * _expit(s, dt)
    if code == GELU:
        sc = s  # np.clip(s, -40, 40), NaN kept
        if sc < -40:
            sc = dt(-40)
        elif sc > 40:
            sc = dt(40)
        pdf = math.exp(dt(-0.5) * sc * sc) * dt(_INV_SQRT_2PI)
        return g * (_gelu_cdf(s, dt) + sc * pdf)
    return g  # IDENTITY


@_njit
def _clip_eps(p, eps, dt):
    # np.minimum(np.maximum(p, eps), 1 - eps), NaN kept.
    one_m = dt(1) - eps
    q = eps if p < eps else p
    return one_m if q > one_m else q


@_njit
def _xlogy(x, y, dt):
    # scipy's xlogy (float32 computed in float64).
    if x == 0 and not np.isnan(y):
        return dt(0)
    return dt(float(x) * math.log(float(y)))


# ------------------------------------------------------------------ one batch
@_njit(inline="always")
def _add_products(acc, a, B, count, width):
    """``acc[:width] += Σ_t a[t] · B[t, :width]`` over ``t < count``, in order of t.

    Four terms per pass over ``acc`` (one load and store of it per four products,
    23% off W3's epoch); the sums still run t = 0, 1, 2, ... as the plain loop's,
    so the results are bitwise the same.
    """
    t = 0
    while t + 4 <= count:
        a0, a1, a2, a3 = a[t], a[t + 1], a[t + 2], a[t + 3]
        b0, b1, b2, b3 = B[t], B[t + 1], B[t + 2], B[t + 3]
        for j in range(width):
            acc[j] = acc[j] + a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j]
        t += 4
    while t < count:
        at, bt = a[t], B[t]
        for j in range(width):
            acc[j] += at * bt[j]
        t += 1


# Batches of at least this many rows copy Wᵀ for the δ recursion (see below).
_TRANSPOSE_MIN_ROWS = 4


@_njit(inline="always")
def _row_dots(out, W, d, n_rows, width):
    """``out[i] = Σ_j d[j] · W[i, j]`` for ``i < n_rows``, summed from 0 in order of j.

    Four rows of ``W`` at a time (four independent sums); the same operations,
    in the same order, as ``_add_products`` over ``Wᵀ`` starting from zeros.
    """
    i = 0
    while i + 4 <= n_rows:
        w0, w1, w2, w3 = W[i], W[i + 1], W[i + 2], W[i + 3]
        s0 = s1 = s2 = s3 = out.dtype.type(0)
        for j in range(width):
            dj = d[j]
            s0 += dj * w0[j]
            s1 += dj * w1[j]
            s2 += dj * w2[j]
            s3 += dj * w3[j]
        out[i], out[i + 1], out[i + 2], out[i + 3] = s0, s1, s2, s3
        i += 4
    while i < n_rows:
        wi = W[i]
        si = out.dtype.type(0)
        for j in range(width):
            si += d[j] * wi[j]
        out[i] = si
        i += 1


@_njit
def _products_by_blocks(S, inputs, coef, m, n_in, n_out):
    """``S[:m] = inputs[:m] @ coef``, each sum over t = 0, 1, 2, ... as in one pass.

    A wide input's ``coef`` does not fit in cache: rather than stream all of it
    once per row, take it a block of rows (about 64 KB) at a time for every
    batch row. Each entry still adds its products in the order of t, so the
    results are bitwise those of one pass per row.
    """
    block = max(4, 8192 // max(n_out, 1) // 4 * 4)
    for r in range(m):
        for j in range(n_out):
            S[r, j] = 0
    for lo in range(0, n_in, block):
        count = min(block, n_in - lo)
        rows = coef[lo : lo + count]
        for r in range(m):
            _add_products(S[r], inputs[r, lo : lo + count], rows, count, n_out)


@_njit
def _link(code, S, P, m, k, exp_cap, dt):
    """Output activation: ``P = link(S)`` for the ``m`` rows of the batch."""
    for r in range(m):
        if code == SOFTMAX_LOG_LOSS:
            top = S[r, 0]
            for j in range(1, k):
                if S[r, j] > top or np.isnan(S[r, j]):  # np.maximum: NaN wins
                    top = S[r, j]
            total = dt(0)
            for j in range(k):
                P[r, j] = math.exp(S[r, j] - top)
                total += P[r, j]
            for j in range(k):
                P[r, j] /= total
        else:
            for j in range(k):
                s = S[r, j]
                if code == BINARY_LOG_LOSS:
                    P[r, j] = _expit(s, dt)
                elif code == POISSON:
                    P[r, j] = math.exp(dt(exp_cap) if s > exp_cap else s)
                else:
                    P[r, j] = s


@_njit
def _loss_value(code, Y, P, w, has_w, m, k, w_sum, dt):
    """Return the batch loss (no L2) as ``Loss.value`` computes it, in float64."""
    eps = dt(np.finfo(P.dtype).eps)
    if code == POISSON:
        # Weighted mean per output in the dtype, summed over outputs, then float.
        total = dt(0)
        for j in range(k):
            col = dt(0)
            for r in range(m):
                p, y = P[r, j], Y[r, j]
                dev = _xlogy(y, y / p, dt) - y + p
                col += w[r] * dev if has_w else dev
            total += col / (dt(w_sum) if has_w else dt(m))
        return float(total)
    total = dt(0)
    for j in range(k):
        col = dt(0)  # sample_weight @ values: one column at a time
        for r in range(m):
            p, y = P[r, j], Y[r, j]
            if code == SQUARED_ERROR:
                e = (y - p) * (y - p)
            elif code == BINARY_LOG_LOSS:
                e = math.log(_clip_eps(p if y > 0.5 else dt(1) - p, eps, dt))
            elif y == 0 and not np.isnan(p):  # log(p)·0: no log needed
                e = dt(0)
            else:  # SOFTMAX_LOG_LOSS
                e = math.log(_clip_eps(p, eps, dt)) * y
            col += w[r] * e if has_w else e
        total += col
    value = float(total) / (w_sum if has_w else m)
    return 0.5 * value if code == SQUARED_ERROR else -value


@_njit
def _sum_squares(a, lo, hi):
    """``Σ a[lo:hi]²`` in the dtype, with four partial sums (as BLAS dot kernels).

    Independent partial sums run at vector speed without ``fastmath``; the order
    differs from numpy's dot only by rounding.
    """
    dt = a.dtype.type
    s0, s1, s2, s3 = dt(0), dt(0), dt(0), dt(0)
    end = lo + (hi - lo) // 4 * 4
    for i in range(lo, end, 4):
        s0 += a[i] * a[i]
        s1 += a[i + 1] * a[i + 1]
        s2 += a[i + 2] * a[i + 2]
        s3 += a[i + 3] * a[i + 3]
    for i in range(end, hi):
        s0 += a[i] * a[i]
    return (s0 + s1) + (s2 + s3)


@_njit
def _loss_gradient(bufs, m, has_w, net, loss, exp_cap, alpha_l2):
    """``Network.loss_gradient`` on the batch in ``Xb``; ``grad`` gets G."""
    Xb, S, O, D, T, Yb, wb = bufs
    params, grad, offsets, units, codes, alphas = net
    dt = params.dtype.type
    L = units.shape[0] - 1
    # Forward: s^(l) = W^(l) o^(l-1), in rows S[l] = O[l-1] @ coefs + intercepts
    # (the products summed first, then the intercept, as numpy).
    for l in range(1, L + 1):
        n_in, n_out = units[l - 1], units[l]
        coef = params[offsets[l - 1] : offsets[l]].reshape((n_in, n_out))
        intercept = params[offsets[L + l - 1] : offsets[L + l]]
        inputs = Xb if l == 1 else O[l - 1]  # o^(0) = x: the batch's own buffer
        _products_by_blocks(S[l], inputs, coef, m, n_in, n_out)
        for r in range(m):
            s_row = S[l, r]
            for j in range(n_out):
                s_row[j] += intercept[j]
            if l < L and codes[l - 1] == TANH:  # a loop of its own: it vectorizes
                for j in range(n_out):
                    O[l, r, j] = _tanh(s_row[j], dt)
            elif l < L:
                for j in range(n_out):
                    O[l, r, j] = _forward(codes[l - 1], alphas[l - 1], s_row[j], dt)
    k = units[L]
    _link(loss, S[L], O[L], m, k, exp_cap, dt)
    acc = dt(0)
    for r in range(m if has_w else 0):
        acc += wb[r]
    w_sum = float(acc) if has_w else float(m)
    value = _loss_value(loss, Yb, O[L], wb, has_w, m, k, w_sum, dt)
    n_coef = offsets[L]
    if alpha_l2 != 0:
        value += 0.5 * alpha_l2 * float(_sum_squares(params, 0, n_coef)) / w_sum

    # Base case δ^(L) = (p - y) · w / Σw.
    for r in range(m):
        for j in range(k):
            d = O[L, r, j] - Yb[r, j]
            if has_w:
                d *= wb[r]
            D[L, r, j] = d / dt(w_sum)
    for l in range(L, 0, -1):
        n_in, n_out = units[l - 1], units[l]
        G = grad[offsets[l - 1] : offsets[l]].reshape((n_in, n_out))
        g_intercept = grad[offsets[L + l - 1] : offsets[L + l]]
        # G^(l) = δ^(l) o^(l-1)ᵀ: in rows, O[l-1]ᵀ D; intercepts: D summed over rows.
        for i in range(n_in):
            for j in range(n_out):
                G[i, j] = 0
        for j in range(n_out):
            g_intercept[j] = D[l, 0, j]
        inputs = Xb if l == 1 else O[l - 1]
        for i in range(n_in):
            _add_products(G[i], inputs[:m, i], D[l], m, n_out)
        for r in range(1, m):
            for j in range(n_out):
                g_intercept[j] += D[l, r, j]
        if l == 1:
            break
        # δ^(l-1) = (W^(l)ᵀ δ^(l)) ⊙ θ'(s^(l-1)): in rows (D @ coefs.T) * θ'. Each
        # sum runs over j in order; Wᵀ copied to T makes the inner loop contiguous,
        # a copy that pays off from a few rows on (below, dot products by rows of
        # W, the same sums in the same order: bitwise the same δ).
        coef = params[offsets[l - 1] : offsets[l]].reshape((n_in, n_out))
        transposed = m >= _TRANSPOSE_MIN_ROWS
        if transposed:
            for i in range(n_in):
                for j in range(n_out):
                    T[j, i] = coef[i, j]
        code, alpha = codes[l - 2], alphas[l - 2]
        for r in range(m):
            d_row, g_row = D[l, r], D[l - 1, r]
            if transposed:
                for i in range(n_in):
                    g_row[i] = 0
                _add_products(g_row, d_row, T, n_out, n_in)
            else:
                _row_dots(g_row, coef, d_row, n_in, n_out)
            s_row, o_row = S[l - 1, r], O[l - 1, r]
            for i in range(n_in):
                g_row[i] = _backward(code, alpha, g_row[i], s_row[i], o_row[i], dt)
    if alpha_l2 != 0:
        scale = dt(alpha_l2 / w_sum)
        for i in range(n_coef):
            grad[i] += params[i] * scale
    return value


# --------------------------------------------------------------- the optimizers
@_njit
def _sgd_step(params, grad, velocity, settings):
    """``SGD.update``: ``v ← μ v - η g``; the step is v, or ``μ v - η g`` (Nesterov)."""
    dt = params.dtype.type
    rate, mu, nesterov = dt(settings[0]), dt(settings[1]), settings[2] != 0
    for i in range(params.shape[0]):
        step = grad[i] * rate
        velocity[i] = velocity[i] * mu - step
        params[i] += velocity[i] * mu - step if nesterov else velocity[i]


@_njit
def _adam_step(params, grad, m, v, t, settings):
    """``Adam.update`` at step ``t``: moments, then ``params += -η_t m / (√v + ε)``."""
    dt = params.dtype.type
    lr_init, b1, b2, eps = settings[0], settings[1], settings[2], settings[3]
    # η_t = lr_init * sqrt(1 - b2**t) / (1 - b1**t) in float64, as in Python.
    lr_t = lr_init * math.sqrt(1.0 - math.pow(b2, float(t)))
    lr_t /= 1.0 - math.pow(b1, float(t))
    db1, c1, db2, c2 = dt(b1), dt(1.0 - b1), dt(b2), dt(1.0 - b2)
    neg_lr, deps = dt(-lr_t), dt(eps)
    for i in range(params.shape[0]):
        m[i] = m[i] * db1 + grad[i] * c1
        v[i] = v[i] * db2 + grad[i] * grad[i] * c2
    for i in range(params.shape[0]):  # a loop of its own: it vectorizes
        params[i] += m[i] * neg_lr / (math.sqrt(v[i]) + deps)


# ------------------------------------------------------------------- the epoch
@_njit
def _epoch(data, order, batch_size, net, loss_spec, opt, sq_norms, bufs, run):
    """Batches ``first`` to ``stop - 1`` of one epoch; return (total, Adam's t).

    ``run`` is ``(first, stop, total, t)``: ``total`` (Σ batch loss · rows) and
    ``t`` (Adam's step count) carry on from the batches before, so that an epoch
    trained in several calls sums and counts exactly as in one. ``bufs`` is the
    scratch for one batch (see ``_kernels_epoch._scratch``), reused by every
    batch.
    """
    X, Y, w, nonzero, has_w = data
    params, grad, offsets, units = net[0], net[1], net[2], net[3]
    loss, exp_cap, alpha_l2 = loss_spec
    adam, settings, state1, state2 = opt
    first, stop, total, t = run
    Xb, Yb, wb = bufs[0], bufs[5], bufs[6]
    n, L = X.shape[0], units.shape[0] - 1
    for batch in range(first, stop):
        start = batch * batch_size
        m = min(batch_size, n - start)
        # All weights zero: no loss, no step, norms 0 (never a division by Σw = 0).
        active = not has_w
        for r in range(m if has_w else 0):
            active = active or nonzero[order[start + r]]
        if not active:
            continue
        for r in range(m):
            row = order[start + r]
            for i in range(units[0]):
                Xb[r, i] = X[row, i]
            for j in range(units[L]):
                Yb[r, j] = Y[row, j]
            if has_w:
                wb[r] = w[row]
        value = _loss_gradient(bufs, m, has_w, net, loss, exp_cap, alpha_l2)
        total += value * m
        for l in range(L):
            sq_norms[batch, l] = _sum_squares(grad, offsets[l], offsets[l + 1])
        if adam:
            t += 1
            _adam_step(params, grad, state1, state2, t, settings)
        else:
            _sgd_step(params, grad, state1, settings)
    return total, t
