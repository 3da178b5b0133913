"""One whole epoch of mini-batch SGD or Adam in one compiled call (numba).

The numpy path (``TrainingMixin._run_epoch`` → ``Network.loss_gradient`` →
``SGD.update`` / ``Adam.update``) makes some thirty small numpy calls per batch,
which caps the lecture's per-example SGD (``batch_size=1``). :func:`run_epoch` runs
the same loop as plain compiled loops, batch by batch, with the numpy path's
arithmetic:

* forward, ``s^(l) = W^(l) o^(l-1)``, ``o^(l) = θ(s^(l))``: one row per sample,
  ``S[l] = O[l-1] @ coefs + intercepts`` (the sum first, then the intercept);
* base case ``δ^(L) = (p - y) · w / Σw``, then ``G^(l) = δ^(l) o^(l-1)ᵀ``
  (``O[l-1]ᵀ D``), intercept gradients ``D.sum(0)``, and the recursion
  ``δ^(l-1) = (W^(l)ᵀ δ^(l)) ⊙ θ'(s^(l-1))``;
* the L2 term ``alpha / Σw · coefs`` added last, the squared norm of each layer's
  coefficient gradient, then the optimizer's step, in the order numpy does them.

Everything is computed in the arrays' dtype; Python float settings (learning rates,
``alpha / Σw``, Adam's betas) are cast to it first, as numpy casts Python scalars
("weak scalars"), so float32 arithmetic stays float32. Loss values are summed in the
dtype and divided in float64, as ``float()`` of numpy sums is. Only the order of
summation inside products and sums differs from BLAS and numpy's pairwise sums:
results agree to rounding.

The epoch runs in chunks of consecutive batches, one compiled call each, sized
to take about :data:`CHUNK_SECONDS`: Python acts on a Ctrl-C only between
compiled calls, so it is taken within a chunk, not at the end of the epoch. The
chunks change nothing in the arithmetic: the running loss sum and Adam's step
count carry over from one call to the next. The scratch of one batch (signals,
outputs, deltas, a transposed weight matrix) is sized by the layers that use it,
so a wide input costs one batch of its rows, as on the numpy path.

Built-in activations and losses with a ``kernel_code`` only (see
:func:`activation_code` and :func:`loss_code`; the codes are the classes' own,
listed once in ``activations.BUILTIN_ACTIVATIONS`` and ``losses.BUILTIN_LOSSES``);
PReLU, Huber, quantile, user activations and user losses keep the numpy path.
numba is optional: without it :data:`AVAILABLE` is False and :func:`run_epoch`
raises ImportError.
"""

import time

import numpy as np

from .. import activations as _act
from .. import losses as _losses
from . import runtime as _numba
from .epoch_jit import (
    AVAILABLE,
    BINARY_LOG_LOSS,
    ELU,
    GELU,
    IDENTITY,
    LEAKY_RELU,
    LOGISTIC,
    POISSON,
    RELU,
    SOFTMAX_LOG_LOSS,
    SOFTPLUS,
    SQUARED_ERROR,
    TANH,
    _epoch,
)

__all__ = [
    "AVAILABLE",
    "BINARY_LOG_LOSS",
    "CHUNK_SECONDS",
    "ELU",
    "GELU",
    "IDENTITY",
    "LEAKY_RELU",
    "LOGISTIC",
    "POISSON",
    "RELU",
    "SOFTMAX_LOG_LOSS",
    "SOFTPLUS",
    "SQUARED_ERROR",
    "TANH",
    "activation_code",
    "loss_code",
    "network_codes",
    "run_epoch",
]


#: Target duration of one compiled call (a chunk of an epoch's batches), in
#: seconds: well under the half second within which Ctrl-C should take effect.
CHUNK_SECONDS = 0.05
# At most this many (rows x parameters) per chunk, whatever the measured pace:
# about 0.1 s at 2e9 multiply-adds per second, so that a chunk of cheap batches
# (all-zero weights are skipped) cannot make the next chunk long. The first chunk,
# of unknown pace, does a quarter of that: a small epoch (the lecture's 3000-row
# SGD) stays one call.
_MAX_CHUNK_WORK = 2e7


def activation_code(act):
    """Kernel code of a built-in activation.

    Parameters
    ----------
    act : Activation
        A hidden activation.

    Returns
    -------
    code : tuple of (int, float) or None
        ``(code, alpha)`` (``alpha`` is LeakyReLU's or ELU's, 0.0 otherwise); None
        for PReLU, a user's activation or a subclass of a built-in (its methods
        may differ), which the kernel does not support.
    """
    # The built-in classes' own codes (activations.BUILTIN_ACTIVATIONS), for
    # exactly those classes: a subclass may override forward.
    if not _act.is_builtin(act) or act.kernel_code is None:
        return None
    return act.kernel_code, act._kernel_alpha()


def loss_code(loss):
    """Kernel code of a built-in loss, or None (a user's loss or a subclass).

    Parameters
    ----------
    loss : Loss
        The network's loss.

    Returns
    -------
    code : int or None
    """
    return loss.kernel_code if _losses.is_builtin(loss) else None


def network_codes(net):
    """Activation and loss codes of a numpy :class:`~skbackprop.network.Network`.

    Parameters
    ----------
    net : Network
        The network to train.

    Returns
    -------
    codes : tuple or None
        ``(activation_codes, activation_alphas, loss_code)`` ready for
        :func:`run_epoch`; None when the kernel cannot train this network (not a
        plain dense stack of numpy arrays, or an activation or loss without a
        code).
    """
    if not net.plain_dense_stack:  # the kernel knows the dense layer only
        return None
    acts = [activation_code(a) for a in net.activations]
    code = loss_code(net.loss)
    if code is None or any(a is None for a in acts):
        return None
    codes = np.array([a[0] for a in acts], dtype=np.int64)
    alphas = np.array([a[1] for a in acts], dtype=np.float64)
    return codes, alphas, code


def _readonly(a, dtype):
    """Return ``a`` C-contiguous and read-only (a view, or a copy if needed).

    Inputs are always passed read-only, so that writable and read-only data (a
    joblib memmap) share one compiled kernel per dtype.
    """
    a = np.ascontiguousarray(a, dtype=dtype).view()
    a.flags.writeable = False
    return a


def run_epoch(
    X,
    Y,
    sw,
    order,
    batch_size,
    params,
    offsets,
    layer_units,
    activation_codes,
    activation_alphas,
    loss_code,
    alpha_l2,
    optimizer,
    state,
    settings,
    sw_host=None,
    grad=None,
    chunk_seconds=None,
):
    """Train one epoch of mini-batches in compiled calls of a chunk of batches each.

    Same batches, steps, loss and norms as ``TrainingMixin._run_epoch`` with
    ``Network.loss_gradient`` and ``SGD.update`` / ``Adam.update`` (to rounding).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense training rows, float32 or float64 (as ``params``).
    Y : ndarray of shape (n_samples, n_outputs)
        Encoded targets, same dtype.
    sw : ndarray of shape (n_samples,) or None
        Sample weights in the same dtype (class weights multiplied in), or None.
    order : ndarray of shape (n_samples,)
        Row order of the epoch (shuffled, or ``arange``); batches are
        ``gen_batches(n_samples, batch_size)`` over it.
    batch_size : int
        Rows per batch (the last batch may be smaller).
    params : ndarray of shape (n_params,)
        The network's flat parameter vector, updated in place.
    offsets : sequence of int
        ``Network._offsets``: layout boundaries (no activation parameters).
    layer_units : sequence of int
        ``[d^(0), ..., d^(L)]``.
    activation_codes : ndarray of int64, activation_alphas : ndarray of float64
        Per hidden layer, from :func:`activation_code` (or :func:`network_codes`).
    loss_code : int
        From :func:`loss_code`.
    alpha_l2 : float
        L2 penalty.
    optimizer : {"sgd", "adam"}
        Update rule.
    state : ndarray or tuple
        For ``"sgd"`` the velocity; for ``"adam"`` ``(m, v, t)`` with ``t`` a
        1-element int64 array holding the step count. Updated in place, ``t``
        after every compiled call (the caller copies ``t`` back to ``Adam.t``
        and, after any step, sets ``Adam.learning_rate`` from it as
        ``Adam.update`` does).
    settings : tuple of float
        ``"sgd"``: ``(learning_rate, momentum, nesterov)`` (the rate is constant
        within an epoch); ``"adam"``: ``(learning_rate_init, beta_1, beta_2,
        epsilon)``.
    sw_host : ndarray of shape (n_samples,), default=None
        The weights that decide which batches are skipped (all zero), as
        ``_run_epoch``'s host weights; None uses ``sw``.
    grad : ndarray of shape (n_params,), default=None
        Where gradients are computed (``Network.grad``: it ends holding the last
        step's gradient); None for a scratch array.
    chunk_seconds : float, default=None
        Target duration of one compiled call: Ctrl-C takes effect between calls.
        None uses :data:`CHUNK_SECONDS`; 0 makes one call per batch. The results
        do not depend on it.

    Returns
    -------
    loss : float
        ``Σ batch loss · batch rows / n_samples``.
    sq_norms : ndarray of shape (n_batches, n_layers)
        Squared norms of each batch's coefficient gradients (0 for skipped batches),
        in the dtype; ``np.sqrt(sq_norms).mean(axis=0)`` gives the epoch's norms.

    Raises
    ------
    ImportError
        If numba is not installed.
    """
    if not AVAILABLE:
        reason = _numba.REASON or "numba is not available"
        raise ImportError(
            f"The compiled training epoch cannot run ({reason}). Install numba (pip "
            "install numba, the fast extra); without it skbackprop trains with numpy."
        )
    args, t, t_box = _epoch_arguments(
        X, Y, sw, order, batch_size, params, offsets, layer_units,
        activation_codes, activation_alphas, loss_code, alpha_l2, optimizer,
        state, settings, sw_host, grad,
    )  # fmt: skip
    n, sq_norms = args[0][0].shape[0], args[6]
    rows, n_batches = min(int(batch_size), n), sq_norms.shape[0]
    target = CHUNK_SECONDS if chunk_seconds is None else float(chunk_seconds)
    cap = max(1, int(_MAX_CHUNK_WORK // (rows * params.shape[0])))
    total, batch, size = 0.0, 0, max(1, cap // 4) if target > 0 else 1
    while batch < n_batches:
        stop = min(n_batches, batch + size)
        began = time.perf_counter()
        total, t = _epoch(*args, (batch, stop, total, t))
        if t_box is not None:
            t_box[0] = t  # m, v and t stay consistent between calls
        size = _next_chunk(size, time.perf_counter() - began, target, cap)
        batch = stop
    return float(total) / n, sq_norms


def _epoch_arguments(
    X, Y, sw, order, batch_size, params, offsets, layer_units, activation_codes,
    activation_alphas, loss_code, alpha_l2, optimizer, state, settings, sw_host,
    grad,
):  # fmt: skip
    """Check :func:`run_epoch`'s arguments.

    Returns ``_epoch``'s arguments but the chunk, Adam's step count and its box
    (None for SGD).
    """
    dtype = params.dtype
    if dtype not in (np.float32, np.float64):
        raise ValueError("params must be float32 or float64.")
    units = _readonly(layer_units, np.int64)
    offsets = _readonly(offsets, np.int64)
    n_layers = units.shape[0] - 1
    if offsets.shape[0] != 2 * n_layers + 1 or offsets[-1] != params.shape[0]:
        raise ValueError("offsets do not describe coefficients and intercepts only.")
    X = _readonly(X, dtype)
    Y = _readonly(Y, dtype).reshape(X.shape[0], -1)
    n = X.shape[0]
    has_w = sw is not None
    w = _readonly(sw if has_w else (), dtype)
    nonzero = _readonly((w if sw_host is None else np.asarray(sw_host)) != 0, bool)
    grad = np.zeros_like(params) if grad is None else grad
    if optimizer == "adam":
        first, second, t_box = state
        adam, t = True, int(t_box[0])
    elif optimizer == "sgd":
        # SGD has one state array; the second is never read (no memory for it).
        first, second, t_box = state, np.zeros(0, dtype), None
        adam, t = False, 0
    else:
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}.")
    for a in (params, grad, first, second if adam else params):
        if not (a.dtype == dtype and a.shape == params.shape and a.flags.writeable):
            raise ValueError("params, grad and state must be writable, of one shape.")
        if not a.flags.c_contiguous:
            raise ValueError("params, grad and state must be contiguous.")
    batch_size = int(batch_size)
    n_batches = -(-n // batch_size)
    sq_norms = np.zeros((n_batches, n_layers), dtype)
    exp_cap = float(_losses._exp_cap(dtype)) if loss_code == POISSON else 0.0
    codes = _readonly(activation_codes, np.int64)
    net = (params, grad, offsets, units, codes, _readonly(activation_alphas, float))
    loss_spec = (int(loss_code), exp_cap, float(alpha_l2))
    opt = (adam, _readonly(settings, np.float64), first, second)
    data = (X, Y, w, nonzero, has_w)
    order = _readonly(order, np.int64)
    bufs = _scratch(units, min(batch_size, n), dtype)
    return (data, order, batch_size, net, loss_spec, opt, sq_norms, bufs), t, t_box


def _scratch(units, rows, dtype):
    """Return the scratch of one batch, sized by the layers that use each array.

    ``Xb`` holds the batch's input rows; ``S``, ``O``, ``D`` the signals,
    outputs and deltas of layers 1 to L (index 0 unused), as wide as the widest
    of those layers; ``T`` the transpose of ``W^(l)`` for l >= 2 (the recursion
    never needs the input layer's); ``Yb`` and ``wb`` the targets and weights.
    Only ``Xb`` grows with the input's width: by one batch of rows, as the
    numpy path's batch.
    """
    width = int(units[1:].max())
    L = units.shape[0] - 1
    inner = units[1:L]  # the hidden layers: inputs of the layers l >= 2
    t_shape = (int(units[2:].max()), int(inner.max())) if L >= 2 else (0, 0)
    return (
        np.zeros((rows, int(units[0])), dtype),
        np.zeros((L + 1, rows, width), dtype),
        np.zeros((L + 1, rows, width), dtype),
        np.zeros((L + 1, rows, width), dtype),
        np.zeros(t_shape, dtype),
        np.zeros((rows, int(units[L])), dtype),
        np.zeros(rows, dtype),
    )


def _next_chunk(size, elapsed, target, cap):
    """Return the number of batches of the next compiled call.

    About ``target`` seconds at the pace of the call just made (``size`` batches
    in ``elapsed`` seconds), growing at most fourfold per call (a call that
    loaded or compiled the kernel is slow) and never beyond ``cap`` batches; at
    least one.
    """
    grow = 4.0 if elapsed <= 0 else min(4.0, target / elapsed)
    return max(1, min(int(size * grow), cap))


def _warm_up_calls(dtype):
    """Return the compiled calls a fit in ``dtype`` makes, on a tiny problem.

    Calling each ``dispatcher(*args)`` compiles (or loads from numba's cache) what
    a fit needs, and :func:`skbackprop._kernels.runtime.cache_holds` asks the cache
    about
    them; the arguments come from :func:`_epoch_arguments`, as a fit's do.

    Parameters
    ----------
    dtype : numpy dtype
        float32 or float64.

    Returns
    -------
    calls : list of (dispatcher, tuple)
    """
    dtype = np.dtype(dtype)
    X = np.zeros((2, 1), dtype)
    params = np.zeros(4, dtype)
    state = (np.zeros(4, dtype), np.zeros(4, dtype), np.zeros(1, np.int64))
    args, t, _ = _epoch_arguments(
        X, X, None, np.arange(2), 1, params, [0, 1, 2, 3, 4], [1, 1, 1],
        [RELU], [0.0], SQUARED_ERROR, 0.0, "adam", state, (1e-3, 0.9, 0.999, 1e-8),
        None, None,
    )  # fmt: skip
    return [(_epoch, (*args, (0, args[6].shape[0], 0.0, t)))]
