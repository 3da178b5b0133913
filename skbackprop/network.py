"""The backprop core: the lecture's forward pass, δ recursion and ``G = δ oᵀ``, batched.

Notation (lecture → code), one row per sample:

* ``o^(0) = x``                      → ``O[0] = X``
* ``s^(l) = W^(l) o^(l-1)``          → ``S[l] = O[l-1] @ coefs[l-1] + intercepts[l-1]``
* ``o^(l) = θ(s^(l))``               → ``O[l] = activations[l-1].forward(S[l])``
* ``δ^(L) = ∂ℓ/∂s^(L)``              → ``D = loss.output_delta(Y, O[L]) · w / Σw``
* ``δ^(l) = W^(l+1)ᵀ δ^(l+1) ⊙ θ'``  → ``D = (D @ coefs[l].T) * θ'(S[l], O[l])``
* ``G^(l) = δ^(l) o^(l-1)ᵀ``         → ``grad coefs[l-1] = O[l-1].T @ D``,
  ``grad intercepts[l-1] = D.sum(0)``

The lecture's ``W^(l)`` of shape ``[d^(l), d^(l-1)+1]`` with the bias in column 0 is
``coefs[l-1] = W^(l)[:, 1:].T`` and ``intercepts[l-1] = W^(l)[:, 0]``.

All trainable parameters live in one flat vector :attr:`Network.params` (coefficients
of every layer first, then intercepts, then activation parameters such as PReLU
slopes); ``coefs``, ``intercepts`` and ``activation_params`` are views into it, and
:attr:`Network.grad` has the same layout. An optimizer therefore updates everything
in a few vectorized operations.

Arrays of any array-API namespace (PyTorch, CuPy, array-api-strict) run through
the same code: the namespace ``xp`` comes from :mod:`skbackprop._xp`, and the few
numpy-only speedups (reused buffers, ``out=`` writes, in-place built-in
activations) sit behind the small helpers below, used only when ``xp`` is numpy.

This module imports numpy and scipy only (other namespaces come with their arrays).
"""

import math

import numpy as np

from . import _config, _xp
from ._limits import clip_extreme, signal_bound, signal_limit
from .activations import FAST_ACTIVATIONS, ParametricActivation
from .losses import BinaryLogLoss, PoissonLoss, SoftmaxLogLoss, SquaredError

# clip_extreme, signal_bound and signal_limit live in _limits; imported here too.
__all__ = ["Network", "clip_extreme", "forward", "signal_bound", "signal_limit"]


# Built-in losses whose δ^(L) is P - Y (their output_delta is _CanonicalLoss's).
_CANONICAL = frozenset({SquaredError, PoissonLoss, BinaryLogLoss, SoftmaxLogLoss})


#: OpenBLAS splits ``dot`` between its threads above this many entries.
_BLAS_DOT_THREADED_ABOVE = 10_000


def _sum_squares(x):
    """``x @ x`` of a numpy vector, on the calling thread.

    Above 10,000 entries OpenBLAS splits a float64 ``dot`` between its threads:
    on a busy machine each call then waits for a descheduled thread (7.85 ms
    instead of 54 µs for W1's 93,000 weights), and its last bits depend on the
    thread count. numpy's ``einsum`` sums on the calling thread, with SIMD. Below
    that size BLAS's ``dot`` (one thread) is kept: the value other namespaces
    backed by numpy get, bit for bit.
    """
    if x.shape[0] <= _BLAS_DOT_THREADED_ABOVE:
        return x @ x
    return np.einsum("i,i->", x, x)


def _plain(dtype, *arrays):
    """Whether the arrays (None skipped) are C-contiguous numpy arrays of ``dtype``.

    The compiled passes take only those; a strided or other-dtype target (e.g.
    L-BFGS's column view of the targets) keeps the numpy path.
    """
    return all(
        a is None
        or (type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous)
        for a in arrays
    )


def _apply(activation, s, theta):
    """Forward of a hidden activation, with its parameters if it has any.

    A user's activation may compute in another float dtype (``np.where(..., 1.0,
    0.5)`` on float32 gives float64); its output is cast to the signal's dtype.
    """
    o = activation.forward(s) if theta is None else activation.forward(s, theta)
    if o.dtype == s.dtype:
        return o
    return o.astype(s.dtype) if isinstance(o, np.ndarray) else _xp_astype(o, s)


def _xp_astype(o, s):
    return _xp.namespace(s).astype(o, s.dtype)


def forward(
    X,
    coefs,
    intercepts,
    activations,
    activation_params,
    loss,
    link=True,
    strict=False,
    hidden=None,
):
    """Propagate ``X`` through the network and return the output layer.

    This is the prediction path: it keeps no intermediate layers, and clips inputs
    and signals at ``sqrt(finfo.max)`` (``signal_limit``) so that outputs stay
    finite for any finite input.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Input rows.
    coefs, intercepts : list of ndarray
        Weights of each layer, as in the estimators' ``coefs_`` and ``intercepts_``.
    activations : list of Activation
        Hidden activations, one per hidden layer.
    activation_params : list of (ndarray or None)
        Parameters of parametric activations, one entry per hidden layer.
    loss : Loss
        Provides the output activation (``loss.link``).
    link : bool, default=True
        Apply the output activation; False returns the output signal ``s^(L)``.
    strict : bool, default=False
        Raise FloatingPointError if any layer's signal is inf or NaN before it is
        clipped (the weights overflow on these rows), instead of clipping it.
    hidden : int, default=None
        Return the output ``o^(hidden+1)`` of hidden layer ``hidden`` (0-based,
        as in ``activations``) instead of the output layer's; the layers after
        it are not computed.

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs) or (n_samples, n_units)
        Output of the last layer (of hidden layer ``hidden``).
    """
    xp = _xp.namespace(coefs[0])
    limit = signal_limit(coefs[0].dtype, xp)
    o = clip_extreme(X, limit)
    last = len(coefs) - 1
    stop = len(coefs) if hidden is None else hidden + 1
    for i, (W, b) in enumerate(zip(coefs[:stop], intercepts[:stop], strict=True)):
        s = _xp.dot(o, W)
        s += b
        if strict and not bool(xp.all(xp.isfinite(s))):
            raise FloatingPointError(f"layer {i + 1}'s signal is not finite")
        if xp is np:  # np.clip's wrapper costs more than the two ufuncs
            np.maximum(np.minimum(s, limit, out=s), -limit, out=s)
        else:
            s = xp.clip(s, -limit, limit)
        if i == last:
            o = loss.link(s) if link else s
        elif xp is np and type(activations[i]) in FAST_ACTIVATIONS:
            # The signal is not needed afterwards: overwrite it with the output,
            # so a layer costs one array, not two.
            o = activations[i]._forward_into(s, s)
        else:
            o = _apply(activations[i], s, activation_params[i])
    return o


class _Workspace:
    """Buffers for one batch size: signals ``S``, outputs ``O``, deltas, scratch.

    Built-in activations (exactly their classes, so a user's subclass that
    overrides ``forward`` is honoured) run in place through these buffers; when
    their derivative needs only the output, ``O[l]`` is ``S[l]`` itself.
    """

    def __init__(self, net, n):
        units, dt = net.layer_units, net.dtype
        self.S = [None] + [np.empty((n, d), dt) for d in units[1:]]
        self.O = [None] * len(units)
        self.O_buf = [None] * len(units)
        self.G = [None] * len(units)
        self.T = [None] * len(units)
        self.fast = [type(a) in FAST_ACTIVATIONS for a in net.activations]
        # Compiled passes for the built-ins (bias + activation, θ' products),
        # when the kernels are on: the same arithmetic, fewer passes.
        self.fused = _config.kernel_module("_kernels_fused")
        if self.fused is not None:
            self.codes = [self.fused.FUSED_CODES.get(type(a)) for a in net.activations]
        # The output layer's compiled passes (exactly these losses' classes).
        self.softmax = self.fused is not None and type(net.loss) is SoftmaxLogLoss
        self.canonical = self.fused is not None and type(net.loss) in _CANONICAL
        for i, act in enumerate(net.activations):
            d = units[i + 1]
            self.G[i + 1] = np.empty((n, d), dt)
            if self.fast[i]:
                in_place = not act._needs_signal()
                self.O_buf[i + 1] = self.S[i + 1] if in_place else np.empty((n, d), dt)
                self.T[i + 1] = np.empty((n, d), dt)
        self.D = np.empty((n, units[-1]), dt)


class Network:
    """A fully connected network trained by backpropagation.

    Parameters
    ----------
    layer_units : list of int
        ``[d^(0), d^(1), ..., d^(L)]``: inputs, hidden units, outputs.
    activations : list of Activation
        One per hidden layer (``len(layer_units) - 2`` of them).
    loss : Loss
        Loss fused with the output activation.
    dtype : dtype
        Floating dtype of parameters and computations (a numpy dtype, or the
        namespace's dtype object such as ``torch.float32``).
    xp : module, default=None
        Array namespace of the parameters and the data; None for numpy.
    device : object, default=None
        Device of the parameters (e.g. ``"cuda"``), for namespaces with devices.

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        All trainable parameters, flat.
    grad : ndarray of shape (n_params,)
        Gradient of the last :meth:`loss_gradient` call, same layout.
    coefs, intercepts : list of ndarray
        Views of ``params`` per layer.
    activation_params : list of (ndarray or None)
        Views of ``params`` for parametric activations, ``None`` elsewhere.
    grad_coefs, grad_intercepts, grad_activation_params : list
        The same views into ``grad``.
    n_coef : int
        Number of coefficients; ``params[:n_coef]`` are exactly the L2-penalised
        weights.
    """

    def __init__(self, layer_units, activations, loss, dtype, xp=None, device=None):
        self.layer_units = list(layer_units)
        self.activations = list(activations)
        self.loss = loss
        self.xp = np if _xp.is_numpy(xp) else xp
        self.device = device
        self.dtype = np.dtype(dtype) if self.xp is np else dtype
        if len(self.activations) != len(self.layer_units) - 2:
            raise ValueError(
                f"Got {len(self.activations)} activations for "
                f"{len(self.layer_units) - 2} hidden layers."
            )
        pairs = list(zip(self.layer_units[:-1], self.layer_units[1:], strict=True))
        shapes = [(n_in, n_out) for n_in, n_out in pairs]
        shapes += [(n_out,) for _, n_out in pairs]
        n_act = []
        for act, units in zip(self.activations, self.layer_units[1:-1], strict=True):
            if isinstance(act, ParametricActivation):
                shapes.append((act.n_parameters, units))
                n_act.append(True)
            else:
                n_act.append(False)
        sizes = [math.prod(s) for s in shapes]
        self.n_coef = sum(sizes[: len(pairs)])
        if self.xp is np:
            self.params = np.zeros(sum(sizes), dtype=self.dtype)
            self.grad = np.zeros_like(self.params)
        else:
            self.params = self.xp.zeros(sum(sizes), dtype=self.dtype, device=device)
            self.grad = self.xp.zeros(sum(sizes), dtype=self.dtype, device=device)
        self._shapes = shapes
        self._offsets = [0, *np.cumsum(sizes).tolist()]
        self._parametric = n_act
        self.coefs, self.intercepts, self.activation_params = self._views(self.params)
        self._workspaces = {}
        (
            self.grad_coefs,
            self.grad_intercepts,
            self.grad_activation_params,
        ) = self._views(self.grad)
        self._grad_coef_flat = [self.xp.reshape(g, (-1,)) for g in self.grad_coefs]
        self._coef_tmp = (
            np.empty(self.n_coef, dtype=self.dtype) if self.xp is np else None
        )

    def _views(self, flat):
        # Slices of the flat vector reshaped: views in numpy, PyTorch, CuPy and
        # array-api-strict, so writing a layer writes the flat vector.
        views = [
            self.xp.reshape(flat[a:b], shape)
            for a, b, shape in zip(
                self._offsets[:-1], self._offsets[1:], self._shapes, strict=True
            )
        ]
        n_layers = len(self.layer_units) - 1
        coefs, intercepts = views[:n_layers], views[n_layers : 2 * n_layers]
        rest = iter(views[2 * n_layers :])
        act = [next(rest) if p else None for p in self._parametric]
        return coefs, intercepts, act

    def set_parameters(self, coefs, intercepts, activation_params=None):
        """Copy per-layer arrays into the flat parameter vector.

        Parameters
        ----------
        coefs, intercepts : list of array-like
            Weights per layer; shapes must match the network's.
        activation_params : list of (array-like or None), default=None
            Parameters of parametric activations; ``None`` keeps the current ones.

        Raises
        ------
        ValueError
            If the number of layers or a shape does not match.
        """
        groups = [
            ("coefs_", coefs, self.coefs),
            ("intercepts_", intercepts, self.intercepts),
        ]
        if activation_params is not None:
            groups.append(
                ("activation_params_", activation_params, self.activation_params)
            )
        for name, given, views in groups:
            if len(given) != len(views):
                raise ValueError(
                    f"{name} has {len(given)} entries but the network has "
                    f"{len(views)} layers; assign a list with one array per layer."
                )
            for i, (src, dst) in enumerate(zip(given, views, strict=True)):
                if dst is None:
                    continue
                if self.xp is np:
                    src = np.asarray(src)
                else:
                    src = self.xp.asarray(src, dtype=self.dtype, device=self.device)
                if tuple(src.shape) != tuple(dst.shape):
                    raise ValueError(
                        f"{name}[{i}] has shape {tuple(src.shape)}, expected "
                        f"{tuple(dst.shape)}."
                    )
                if src is not dst:
                    dst[...] = src

    def asarray(self, a):
        """Host array ``a`` in the network's namespace, device and dtype (None: None).

        Parameters
        ----------
        a : ndarray or None
            Targets or weights prepared on the host.

        Returns
        -------
        a : array or None
            ``a`` itself for a numpy network of the same dtype.
        """
        return _xp.to_device(a, self.xp, self.device, self.dtype)

    def _workspace(self, n):
        """Buffers for a batch of ``n`` rows, allocated once and reused."""
        ws = self._workspaces.get(n)
        if ws is None:
            if len(self._workspaces) >= 4:  # a full batch and a last, smaller one
                self._workspaces.clear()
            ws = self._workspaces[n] = _Workspace(self, n)
        return ws

    def forward(self, X):
        """Forward pass keeping every layer's signal and output.

        Parameters
        ----------
        X : {array, sparse matrix} of shape (n_samples, n_features)
            Input rows (sparse: numpy only).

        Returns
        -------
        S, O : list of arrays
            ``S[l]`` and ``O[l]`` for ``l = 0..L`` (``S[0]`` is None, ``O[0]`` is X;
            for activations computed in place ``O[l]`` is ``S[l]``). With numpy
            they live in reused buffers: copy them to keep them past the next call.
        """
        ws = self._workspace(X.shape[0]) if self.xp is np else None
        S = ws.S if ws is not None else [None] * len(self.layer_units)
        O = ws.O if ws is not None else [None] * len(self.layer_units)
        acts, act_params = self.activations, self.activation_params
        O[0] = o = X
        last = len(self.coefs) - 1
        for i, (W, b) in enumerate(zip(self.coefs, self.intercepts, strict=True)):
            s = _xp.matmul(o, W, None if ws is None else S[i + 1])
            if i < last and ws is not None and ws.fast[i] and ws.fused:
                # s += b, then the activation, in one compiled pass.
                o = ws.fused.bias_forward(s, b, ws.codes[i], ws.O_buf[i + 1])
                S[i + 1], O[i + 1] = s, o
                continue
            if i == last and ws is not None and ws.softmax:
                S[i + 1] = O[i + 1] = o = ws.fused.softmax_forward(s, b)
                continue
            s += b
            if i == last:
                o = self.loss.link(s)
            elif ws is not None and ws.fast[i]:
                o = acts[i]._forward_into(s, ws.O_buf[i + 1])
            else:
                o = _apply(acts[i], s, act_params[i])
            S[i + 1], O[i + 1] = s, o
        return S, O

    def loss_gradient(self, X, Y, sample_weight=None, alpha=0.0, l2_gradient=True):
        """Loss at the current parameters and its gradient (into :attr:`grad`).

        The objective is scikit-learn's: the weighted mean loss plus
        ``alpha / (2 Σw) · Σ‖coefs‖²``.

        Parameters
        ----------
        X : {array, sparse matrix} of shape (n_samples, n_features)
            Input rows of one batch.
        Y : array of shape (n_samples, n_outputs)
            Encoded targets, in the network's dtype.
        sample_weight : array of shape (n_samples,), default=None
            Weights of the rows.
        alpha : float, default=0.0
            L2 penalty.
        l2_gradient : bool, default=True
            Add the penalty's gradient ``alpha / Σw · coefs`` to :attr:`grad`;
            False leaves it to the compiled optimizer step, which adds it in
            its own pass (:meth:`~skbackprop.optimizers.Optimizer.folds`). The
            returned loss includes the penalty either way.

        Returns
        -------
        loss : float or 0-d array
            The objective on this batch (a 0-d array on the device for namespaces
            other than numpy, see :meth:`Loss.value`); :attr:`grad` holds its
            gradient.
        """
        S, O = self.forward(X)
        xp = self.xp
        n = X.shape[0]
        ws = self._workspaces[n] if xp is np else None
        if sample_weight is None:
            sw_sum = n
        elif xp is np:
            sw_sum = float(sample_weight.sum())
        else:
            # Other namespaces do not promote mixed dtypes: cast once. Sums stay
            # 0-d arrays on the device (no synchronisation per batch).
            sample_weight = xp.astype(sample_weight, self.dtype, copy=False)
            sw_sum = xp.sum(sample_weight)
        coef_flat = self.params[: self.n_coef]
        P = O[-1]
        coefs, grad_coefs, grad_intercepts = (
            self.coefs,
            self.grad_coefs,
            self.grad_intercepts,
        )
        fused = ws is not None and ws.fused is not None
        loss = self.loss.value(Y, P, sample_weight)
        if alpha:
            # In float64, as float() gives numpy (float32 fits agree everywhere).
            if xp is np:
                penalty = float(_sum_squares(coef_flat))
            else:
                penalty = xp.astype(coef_flat @ coef_flat, xp.float64)
            loss += 0.5 * alpha * penalty / sw_sum

        # Whether D's column sums (the intercept gradient) are already written.
        summed = fused and ws.canonical and _plain(P.dtype, Y, sample_weight)
        if summed:
            # δ^(L) (weighted, averaged) and its column sums in one compiled pass.
            D = ws.D
            args = (Y, P, sample_weight, sw_sum, D, grad_intercepts[-1])
            ws.fused.canonical_delta(*args)
        else:
            # Base case δ^(L): weighted, averaged over the batch.
            D = self.loss.output_delta(Y, P, out=None if ws is None else ws.D)
            if sample_weight is not None:
                if xp is np:
                    D *= sample_weight[:, np.newaxis]
                else:
                    D *= xp.reshape(sample_weight, (-1, 1))
            if xp is not np or sw_sum != 1:  # per-example SGD divides by 1: skip
                D /= sw_sum
        for layer in range(len(coefs) - 1, -1, -1):
            # G^(l) = δ^(l) o^(l-1)ᵀ, in our row layout O[l-1]ᵀ D.
            _xp.matmul_into(O[layer].T, D, grad_coefs[layer], xp)
            if not summed:
                _xp.sum_rows_into(D, grad_intercepts[layer], xp)
            summed = False
            if layer == 0:
                break
            # δ^(l) = (W^(l+1)ᵀ δ^(l+1)) ⊙ θ'(s^(l)).
            grad_o = _xp.matmul(D, coefs[layer].T, None if ws is None else ws.G[layer])
            act = self.activations[layer - 1]
            if fused and ws.fast[layer - 1]:
                # θ' and the next intercept gradient (grad_o's column sums) at once.
                dst = grad_intercepts[layer - 1]
                ws.fused.mul_derivative_sums(grad_o, O[layer], ws.codes[layer - 1], dst)
                summed = True
            elif ws is not None and ws.fast[layer - 1]:
                act._mul_derivative(grad_o, S[layer], O[layer], ws.T[layer])
            else:
                theta = self.activation_params[layer - 1]
                s, o = S[layer], O[layer]
                if theta is None:
                    grad_o *= act.derivative(s, o)
                else:
                    self.grad_activation_params[layer - 1][...] = (
                        act.parameter_gradient(s, o, theta, grad_o)
                    )
                    grad_o *= act.derivative(s, o, theta)
            D = grad_o
        if alpha and l2_gradient:
            if xp is np:
                np.multiply(coef_flat, alpha / sw_sum, out=self._coef_tmp)
                self.grad[: self.n_coef] += self._coef_tmp
            else:
                scale = alpha / sw_sum
                if not isinstance(scale, float):  # a weight sum on the device
                    # α/Σw in float64, then in the weights' dtype: as numpy does.
                    scale = alpha / xp.astype(sw_sum, xp.float64)
                    scale = xp.astype(scale, self.dtype)
                self.grad[: self.n_coef] += coef_flat * scale
        return loss

    def coef_grad_sq_norms(self, out=None):
        """Squared L2 norm of each layer's coefficient gradient in :attr:`grad`.

        Parameters
        ----------
        out : ndarray of shape (n_layers,), default=None
            Where to write them (a numpy array, also for other namespaces).

        Returns
        -------
        out : array of shape (n_layers,)
            ``out``; without it a new array in the network's namespace, on its
            device (no synchronisation with a GPU).
        """
        # One read-only dot per layer: no temporary, unlike g*g then a sum.
        if out is None:
            if self.xp is not np:
                return self.xp.stack([g @ g for g in self._grad_coef_flat])
            out = np.empty(len(self.coefs), dtype=self.dtype)
        for i, g in enumerate(self._grad_coef_flat):
            out[i] = np.dot(g, g) if self.xp is np else float(g @ g)
        return out

    def coef_grad_norms(self):
        """L2 norm of each layer's coefficient gradient in :attr:`grad`.

        Returns
        -------
        norms : ndarray of shape (n_layers,)
        """
        out = np.empty(len(self.coefs), np.float64 if self.xp is not np else self.dtype)
        return np.sqrt(self.coef_grad_sq_norms(out))
