"""Layers of the backprop core: the lecture's dense layer, written once, and its seam.

A layer is a small object with its parameters in the network's flat vector, a
forward pass and a backward pass. :class:`Dense` is the lecture's layer::

    forward:   s = o_in W + b,   o = θ(s)
    backward:  δ = e ⊙ θ'(s),   G = o_inᵀ δ,   intercept gradient = Σ_rows δ,
               returns δ Wᵀ (the ``e`` of the layer below)

where ``e = ∂ℓ/∂o`` reaches the layer from above: ``W^(l+1)ᵀ δ^(l+1)`` in the
lecture. The output layer's θ is the loss's link, and the loss hands it
``δ^(L) = ∂ℓ/∂s^(L)`` itself (:meth:`_Output.delta`, the recursion's base case).

**The seam.** Any layer kind (dropout, a per-feature input scaling, an embedding
of numeric inputs) is one class with the same five members:

* ``parameter_shapes()``: ``[(group, shape), ...]`` of its parameter arrays. The
  network lays its flat vector out group by group (:data:`GROUPS`): every layer's
  ``"coef"`` arrays, then ``"intercept"``, ``"activation"``, ``"extra"``. A dense
  stack's layout (coefficients, intercepts, activation parameters) is thereby the
  one saved models and optimizers know; ``"coef"`` and ``"intercept"`` are the
  dense layers' (``coef`` is what L2 penalises), a new kind's arrays go in
  ``"extra"``, at the end of the vector.
* ``set_views(params, grads)``: its views of ``Network.params`` and
  ``Network.grad``, in the order of ``parameter_shapes()``.
* ``bind(ops, n, below)``: the layer ready for batches of ``n`` rows: its
  buffers and strategies are chosen here, once per batch size (a bound copy, or
  the layer itself when it needs neither). ``below`` is the layer under it,
  already bound, or None at the bottom: then no layer needs the gradient of its
  input.
* ``forward(o)``: its output; keeps what ``backward`` needs, and sets ``s`` (its
  signal) and ``o`` (its output) for :meth:`Network.forward`.
* ``backward(e)``: from ``e = ∂ℓ/∂o``, writes its parameters' gradients into its
  ``grads`` views and returns ``∂ℓ/∂o_in`` (None at the bottom).

How arrays are computed sits behind two small strategies chosen once per batch
size, never as branches in the algorithm:

* an **ops** object for the array namespace: :class:`NumpyOps` (products written
  into reused buffers with ``out=``, scipy sparse inputs) or :class:`ArrayAPIOps`
  (the standard's operators; torch and CuPy's ``out=`` where they have it);
* each layer's **activation step**, picked by the ops object: a compiled fused pass
  (:class:`_FusedStep`), a built-in's in-place numpy forms (:class:`_InPlaceStep`),
  the activation's own ``forward``/``derivative`` (:class:`_GenericStep`), or with
  its trainable parameters (:class:`_ParametricStep`); for the output layer the
  loss's link (:class:`_Output`, :class:`_FusedOutput`,
  :class:`_FusedSoftmaxOutput`).

The compiled fused passes (:mod:`skbackprop._kernels.fused`) cover the plain dense
stack only (:attr:`Network.plain_dense_stack`: numpy, float32 or float64, nothing
but :class:`Dense` layers) with built-in activations (``FUSED_CODES``) and losses
(exactly their classes), on C-contiguous arrays of the network's dtype. Anything
else runs the steps above on numpy or the array namespace, the same arithmetic.
"""

import copy
import functools
import operator

import numpy as np

from ..activations import FAST_ACTIVATIONS, ParametricActivation
from ..losses import BUILTIN_LOSSES, SoftmaxLogLoss
from . import xp as _xp
from .loss_base import _CanonicalLoss

#: Parameter groups in the order of the flat vector.
GROUPS = ("coef", "intercept", "activation", "extra")

# Built-in losses whose δ^(L) is P - Y (their output_delta is _CanonicalLoss's):
# the fused canonical_delta pass computes exactly that.
_CANONICAL = frozenset(c for c in BUILTIN_LOSSES if issubclass(c, _CanonicalLoss))

#: OpenBLAS splits ``dot`` between its threads above this many entries.
_BLAS_DOT_THREADED_ABOVE = 10_000


class Dense:
    """The lecture's dense layer: ``s = o_in W + b``, ``o = θ(s)``.

    Parameters
    ----------
    n_in, n_out : int
        Units below (``d^(l-1)``) and in this layer (``d^(l)``).
    activation : Activation, default=None
        θ of a hidden layer.
    loss : Loss, default=None
        For the output layer instead: θ is its link, and it gives ``δ^(L)``.

    Attributes
    ----------
    coef, intercept : array
        ``W`` of shape ``(n_in, n_out)`` (the lecture's ``W^(l)[:, 1:].T``) and
        ``b`` (``W^(l)[:, 0]``), views of the flat parameter vector.
    theta : array or None
        Parameters of a parametric activation (a view), else None.
    grad_coef, grad_intercept, grad_theta : array or None
        The same views of the flat gradient.
    """

    s = o = None

    def __init__(self, n_in, n_out, activation=None, loss=None):
        self.n_in, self.n_out = n_in, n_out
        self.activation, self.loss = activation, loss

    def parameter_shapes(self):
        """``(group, shape)`` of ``W``, ``b`` and the activation's parameters."""
        shapes = [("coef", (self.n_in, self.n_out)), ("intercept", (self.n_out,))]
        if isinstance(self.activation, ParametricActivation):
            shapes.append(("activation", (self.activation.n_parameters, self.n_out)))
        return shapes

    def set_views(self, params, grads):
        """Take this layer's views of the flat parameters and gradient."""
        self.coef, self.intercept, *theta = params
        self.grad_coef, self.grad_intercept, *grad_theta = grads
        self.theta = theta[0] if theta else None
        self.grad_theta = grad_theta[0] if grad_theta else None

    def bind(self, ops, n, below):
        """Return a copy of this layer with buffers and strategies for ``n`` rows.

        ``below`` is the layer under it, already bound (None at the bottom).
        """
        run = copy.copy(self)
        run.propagate = below is not None
        run.s_buf = ops.buffer(n, self.n_out)
        if self.loss is not None:
            run.step = ops.output_step(run, n)
        else:
            run.step = ops.activation_step(run, n)
        # A dense layer below with a built-in step hands over its own numpy
        # buffer: these products can skip the check for a scipy sparse input.
        own = isinstance(below, Dense) and below.step.buffered
        run.signal = ops.product(run.s_buf, own)  # o_in @ W
        run.coef_grad = ops.product(self.grad_coef, own)  # o_inᵀ @ δ
        run.intercept_grad = ops.row_sums(self.grad_intercept)  # Σ_rows δ
        if run.propagate:
            run.input_grad = ops.product(ops.buffer(n, self.n_in), False)  # δ @ Wᵀ
            run.coef_T = self.coef.T
        return run

    def forward(self, o):
        """``o^(l) = θ(o^(l-1) W + b)``, one row per sample."""
        self.o_in = o
        self.s = s = self.signal(o, self.coef)  # s = o W
        self.o = o = self.step.forward(s, self.intercept)  # s += b, then θ(s)
        return o

    def backward(self, e):
        """From ``e = ∂ℓ/∂o``: ``δ = e ⊙ θ'(s)``, ``G = o_inᵀ δ``; returns ``δ Wᵀ``."""
        step = self.step
        # δ^(l) = e ⊙ θ'(s^(l)), in place. The output layer is handed δ^(L)
        # itself: the loss's base case holds its link's θ'.
        delta = e if self.loss is not None else step.backward(e, self.s, self.o)
        # G^(l) = δ^(l) o^(l-1)ᵀ, in our row layout o_inᵀ δ; the intercepts' is
        # δ summed over the rows (unless a fused pass already wrote it).
        self.coef_grad(self.o_in.T, delta)
        if not step.summed:
            self.intercept_grad(delta)
        # Let go of this batch's arrays (another namespace's are not in reused
        # buffers: on a GPU, keeping them would double the next pass's memory).
        self.o_in = self.s = self.o = None
        if self.propagate:
            return self.input_grad(delta, self.coef_T)  # W^(l)ᵀ δ^(l)
        return None


# Activation steps: how a layer adds its intercept, applies θ and multiplies by
# θ'. ``summed``: ``backward`` also wrote the intercept gradient; ``buffered``:
# ``forward`` returns one of the layer's own numpy buffers.


def _apply(activation, s, theta):
    """Forward of a hidden activation, with its parameters if it has any.

    A user's activation may compute in another float dtype (``np.where(..., 1.0,
    0.5)`` on float32 gives float64); its output is cast to the signal's dtype.
    """
    o = activation.forward(s) if theta is None else activation.forward(s, theta)
    if o.dtype == s.dtype:
        return o
    if isinstance(o, np.ndarray):
        return o.astype(s.dtype)
    return _xp.namespace(s).astype(o, s.dtype)


class _GenericStep:
    """θ and θ' by the activation's own ``forward`` and ``derivative``."""

    summed = buffered = False

    def __init__(self, activation):
        self.activation = activation

    def forward(self, s, b):
        s += b
        return _apply(self.activation, s, None)

    def backward(self, e, s, o):
        e *= self.activation.derivative(s, o)
        return e


class _ParametricStep:
    """θ with trainable parameters: their gradient is written first."""

    summed = buffered = False

    def __init__(self, activation, theta, grad_theta):
        self.activation, self.theta, self.grad_theta = activation, theta, grad_theta

    def forward(self, s, b):
        s += b
        return _apply(self.activation, s, self.theta)

    def backward(self, e, s, o):
        act, theta = self.activation, self.theta
        self.grad_theta[...] = act.parameter_gradient(s, o, theta, e)
        e *= act.derivative(s, o, theta)
        return e


class _InPlaceStep:
    """A numpy built-in's in-place forms (exactly its class).

    A user's subclass that overrides ``forward`` takes :class:`_GenericStep`.
    θ is written into ``out``: the signal's own buffer when θ' needs only the
    output, so that ``o`` is ``s``; ``tmp`` is scratch for θ'.
    """

    summed, buffered = False, True

    def __init__(self, activation, out, tmp):
        self.activation, self.out, self.tmp = activation, out, tmp

    def forward(self, s, b):
        s += b
        return self.activation._forward_into(s, self.out)

    def backward(self, e, s, o):
        self.activation._mul_derivative(e, s, o, self.tmp)
        return e


class _FusedStep:
    """Compiled passes: ``s += b`` with θ in one, θ' with the intercept sums in one."""

    summed = buffered = True

    def __init__(self, fused, code, out, grad_intercept):
        self.fused, self.code, self.out = fused, code, out
        self.grad_intercept = grad_intercept

    def forward(self, s, b):
        return self.fused.bias_forward(s, b, self.code, self.out)

    def backward(self, e, s, o):
        self.fused.mul_derivative_sums(e, o, self.code, self.grad_intercept)
        return e


class _Output:
    """The output layer's θ, the loss's link; :meth:`delta` is the base case."""

    summed = buffered = False

    def __init__(self, loss, ops, D):
        self.loss, self.ops, self.D = loss, ops, D

    def forward(self, s, b):
        s += b
        return self.loss.link(s)

    def delta(self, Y, P, sample_weight, sw_sum):
        """``δ^(L) = ∂ℓ/∂s^(L)``, weighted and averaged over the batch."""
        D = self.loss.output_delta(Y, P, out=self.D)
        if sample_weight is None and sw_sum == 1:
            return D  # per-example SGD: nothing to weigh, and D / 1 is D
        return self.ops.weigh_rows(D, sample_weight, sw_sum)


class _FusedOutput(_Output):
    """A canonical loss (``δ^(L) = P - Y``): δ^(L) and its column sums compiled."""

    def __init__(self, loss, ops, D, fused, grad_intercept):
        super().__init__(loss, ops, D)
        self.fused, self.grad_intercept = fused, grad_intercept

    def delta(self, Y, P, sample_weight, sw_sum):
        # The compiled pass takes C-contiguous arrays of one dtype only; a
        # strided target (L-BFGS's column view) keeps the numpy path.
        self.summed = _plain(P.dtype, Y, sample_weight)
        if not self.summed:
            return super().delta(Y, P, sample_weight, sw_sum)
        self.fused.canonical_delta(
            Y, P, sample_weight, sw_sum, self.D, self.grad_intercept
        )
        return self.D


class _FusedSoftmaxOutput(_FusedOutput):
    """Softmax with log loss: ``s += b`` and the softmax in one compiled pass too."""

    def forward(self, s, b):
        return self.fused.softmax_forward(s, b)  # in place: o is s


def _plain(dtype, *arrays):
    """Whether the arrays (None skipped) are C-contiguous numpy arrays of ``dtype``."""
    return all(
        a is None
        or (type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous)
        for a in arrays
    )


def _matmul(a, b, out):
    """Return ``a @ b`` written into ``out``; ``a`` may be scipy sparse."""
    if type(a) is np.ndarray:  # the hot path first: no sparse type check
        return np.dot(a, b, out=out)
    out[...] = a @ b
    return out


def _sum_squares(x):
    """``x @ x`` of a numpy vector as a Python float, on the calling thread.

    Above 10,000 entries OpenBLAS splits a float64 ``dot`` between its threads:
    on a busy machine each call then waits for a descheduled thread (7.85 ms
    instead of 54 µs for W1's 93,000 weights), and its last bits depend on the
    thread count. numpy's ``einsum`` sums on the calling thread, with SIMD. Below
    that size BLAS's ``dot`` (one thread) is kept: the value other namespaces
    backed by numpy get, bit for bit.
    """
    if x.shape[0] <= _BLAS_DOT_THREADED_ABOVE:
        return float(x @ x)
    return float(np.einsum("i,i->", x, x))


class NumpyOps:
    """numpy: products into reused buffers, in-place built-ins, fused passes.

    Parameters
    ----------
    dtype : numpy dtype
        The network's.
    fused : module or None
        :mod:`skbackprop._kernels.fused` where its passes are to be used.
    coef_tmp : ndarray of shape (n_coef,)
        Scratch for the L2 gradient.
    """

    def __init__(self, dtype, fused, coef_tmp):
        self.dtype, self.fused, self.coef_tmp = dtype, fused, coef_tmp

    def buffer(self, n, d):
        """Return an ``(n, d)`` buffer, reused by every batch of ``n`` rows."""
        return np.empty((n, d), self.dtype)

    def activation_step(self, layer, n):
        """Return the fastest step for this hidden layer's activation."""
        act = layer.activation
        if type(act) not in FAST_ACTIVATIONS:
            if layer.theta is not None:
                return _ParametricStep(act, layer.theta, layer.grad_theta)
            return _GenericStep(act)
        # When θ' needs only the output, θ overwrites the signal (one array).
        out = self.buffer(n, layer.n_out) if act._needs_signal() else layer.s_buf
        code = None if self.fused is None else self.fused.FUSED_CODES.get(type(act))
        if code is not None:
            return _FusedStep(self.fused, code, out, layer.grad_intercept)
        return _InPlaceStep(act, out, self.buffer(n, layer.n_out))

    def output_step(self, layer, n):
        """Return the output layer's step: link and δ^(L) (compiled where it can)."""
        loss, D = layer.loss, self.buffer(n, layer.n_out)
        if self.fused is None or type(loss) not in _CANONICAL:
            return _Output(loss, self, D)
        kind = _FusedSoftmaxOutput if type(loss) is SoftmaxLogLoss else _FusedOutput
        return kind(loss, self, D, self.fused, layer.grad_intercept)

    def product(self, out, own):
        """Return ``f(a, b)``: ``a @ b`` written into ``out``, and returned.

        ``own``: ``a`` is certainly a numpy array (one of the layers' buffers);
        otherwise it may be a scipy sparse matrix or a numpy subclass.
        """
        if own:
            return functools.partial(np.dot, out=out)
        return functools.partial(_matmul, out=out)

    def row_sums(self, dst):
        """Return ``f(D)``: writes ``D``'s column sums into ``dst``."""
        return functools.partial(np.add.reduce, axis=0, out=dst)

    @staticmethod
    def weights(sample_weight):
        """Return ``(sample_weight, Σw)``, Σw as a Python float."""
        return sample_weight, float(sample_weight.sum())

    @staticmethod
    def weigh_rows(D, sample_weight, sw_sum):
        """``D · w / Σw`` in place, row by row."""
        if sample_weight is not None:
            D *= sample_weight[:, np.newaxis]
        if sw_sum != 1:  # D / 1 is D: skip the pass
            D /= sw_sum
        return D

    sum_squares = staticmethod(_sum_squares)

    def add_l2(self, grad_coef, coef, alpha, sw_sum):
        """``grad_coef += alpha / Σw · coef``."""
        np.multiply(coef, alpha / sw_sum, out=self.coef_tmp)
        grad_coef += self.coef_tmp


class ArrayAPIOps:
    """Any other array namespace: the standard's operators, no reused buffers.

    Weight sums and the penalty stay 0-d arrays on the device: no
    synchronisation per batch.

    Parameters
    ----------
    xp : module
        The namespace.
    dtype : dtype
        The network's, in that namespace.
    """

    def __init__(self, xp, dtype):
        self.xp, self.dtype = xp, dtype

    def buffer(self, n, d):
        return None

    def activation_step(self, layer, n):
        if layer.theta is not None:
            return _ParametricStep(layer.activation, layer.theta, layer.grad_theta)
        return _GenericStep(layer.activation)

    def output_step(self, layer, n):
        return _Output(layer.loss, self, None)

    def product(self, out, own):
        if out is None:
            return operator.matmul  # a new array
        return functools.partial(self._matmul_into, dst=out)

    def row_sums(self, dst):
        return functools.partial(self._sum_rows_into, dst=dst)

    @staticmethod
    def _matmul_into(a, b, dst):
        if (native := _xp.native_with_out(a)) is not None:
            native.matmul(a, b, out=dst)  # no temporary and copy (a GPU kernel less)
        else:
            dst[...] = a @ b

    def _sum_rows_into(self, D, dst):
        if (native := _xp.native_with_out(D)) is None:
            dst[...] = self.xp.sum(D, axis=0)
        elif native is _xp.torch_module():
            native.sum(D, dim=0, out=dst)
        else:
            native.sum(D, axis=0, out=dst)

    def weights(self, sample_weight):
        # Other namespaces do not promote mixed dtypes: cast once.
        sample_weight = self.xp.astype(sample_weight, self.dtype, copy=False)
        return sample_weight, self.xp.sum(sample_weight)

    def weigh_rows(self, D, sample_weight, sw_sum):
        if sample_weight is not None:
            D *= self.xp.reshape(sample_weight, (-1, 1))
        D /= sw_sum
        return D

    def sum_squares(self, x):
        # In float64, as float() gives numpy (float32 fits agree everywhere).
        return self.xp.astype(x @ x, self.xp.float64)

    def add_l2(self, grad_coef, coef, alpha, sw_sum):
        xp, scale = self.xp, alpha / sw_sum
        if not isinstance(scale, float):  # a weight sum on the device
            # α/Σw in float64, then in the weights' dtype: as numpy does.
            scale = xp.astype(alpha / xp.astype(sw_sum, xp.float64), self.dtype)
        grad_coef += coef * scale
