"""The backprop core: the lecture's forward pass, δ recursion and ``G = δ oᵀ``, batched.

Notation (lecture → code), one row per sample; layer ``l`` is the
:class:`~skbackprop._core.layers.Dense` ``net.layers[l-1]``:

* ``o^(0) = x``                      → ``O[0] = X``
* ``s^(l) = W^(l) o^(l-1)``          → ``Dense.forward``:
  ``s = o_in @ coef + intercept``
  (``coef = coefs[l-1]``, ``intercept = intercepts[l-1]``)
* ``o^(l) = θ(s^(l))``               → ``Dense.forward``: ``o = step.forward(s, b)``,
  ``θ = activations[l-1]`` (the output layer's: ``loss.link``)
* ``δ^(L) = ∂ℓ/∂s^(L)``              → ``_Output.delta``:
  ``loss.output_delta(Y, O[L]) · w / Σw``, the base case in
  :meth:`Network.loss_gradient`
* ``δ^(l) = W^(l+1)ᵀ δ^(l+1) ⊙ θ'``  → ``Dense.backward`` of layer ``l+1`` returns
  ``e = δ @ coef.T``; layer ``l``'s ``Dense.backward`` takes ``δ = e ⊙ θ'(s, o)``
* ``G^(l) = δ^(l) o^(l-1)ᵀ``         → ``Dense.backward``: ``grad_coef = o_in.T @ δ``,
  ``grad_intercept = δ.sum(0)``

:meth:`Network.forward` and :meth:`Network.loss_gradient` are loops over the
layers, bottom to top and back.

The lecture's ``W^(l)`` of shape ``[d^(l), d^(l-1)+1]`` with the bias in column 0 is
``coefs[l-1] = W^(l)[:, 1:].T`` and ``intercepts[l-1] = W^(l)[:, 0]``.

All trainable parameters live in one flat vector :attr:`Network.params` (coefficients
of every layer first, then intercepts, then activation parameters such as PReLU
slopes, then any other layer kind's parameters); ``coefs``, ``intercepts`` and
``activation_params`` are views into it, and :attr:`Network.grad` has the same
layout. An optimizer therefore updates everything in a few vectorized operations.

Arrays of any array-API namespace (PyTorch, CuPy, array-api-strict) run through
the same layer code. What differs sits in two strategies chosen once per batch
size (:class:`_Workspace`), never in the algorithm: the namespace's ops
(:class:`~skbackprop._core.layers.NumpyOps`: reused buffers, ``out=`` writes, sparse
inputs; :class:`~skbackprop._core.layers.ArrayAPIOps`) and each layer's activation
step (compiled fused passes, a built-in's in-place numpy forms, the activation's
own ``forward``/``derivative``, or with trainable parameters). The compiled
kernels cover the plain dense stack (:attr:`Network.plain_dense_stack`) of
built-ins on C-contiguous numpy arrays of the network's dtype; see
:mod:`skbackprop._core.layers` for the seam other layer kinds plug into.

This module imports numpy and scipy only (other namespaces come with their arrays).
"""

import math

import numpy as np

from ._core import dropout as _dropout
from ._core import layers as _layers
from ._core import xp as _xp
from ._core.layers import _apply
from ._core.limits import clip_extreme, signal_bound, signal_limit
from ._kernels import config as _config
from .activations import FAST_ACTIVATIONS

# clip_extreme, signal_bound and signal_limit live in _limits; imported here too.
__all__ = ["Network", "clip_extreme", "forward", "signal_bound", "signal_limit"]


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
    """One batch size's layers, bound to their buffers and strategies.

    Made once per batch size (:meth:`Network._workspace`): here, and only here,
    the namespace's ops (:class:`~skbackprop._core.layers.NumpyOps` or
    :class:`~skbackprop._core.layers.ArrayAPIOps`) and, through them, each layer's
    activation step are chosen, with the compiled fused passes for a plain dense
    stack when the kernels are on.

    Attributes
    ----------
    layers : list
        The network's layers bound for this batch size, bottom to top.
    output : object
        The output layer's step; its ``delta`` gives ``δ^(L)``.
    fused : module or None
        :mod:`skbackprop._kernels.fused` where its passes are used.
    canonical : bool
        Whether ``δ^(L)`` and its sums take the compiled pass.
    """

    def __init__(self, net, n):
        # The compiled passes: the same arithmetic, fewer passes over the arrays.
        self.fused = (
            _config.fused_kernels() if net.plain_dense_stack else None
        )
        if net.xp is np:
            self.ops = _layers.NumpyOps(net.dtype, self.fused, net._coef_tmp)
        else:
            self.ops = _layers.ArrayAPIOps(net.xp, net.dtype)
        self.layers, below = [], None
        for layer in net.layers:  # bottom to top: each sees the one below, bound
            below = layer.bind(self.ops, n, below)
            self.layers.append(below)
        self.top_down = self.layers[::-1]
        self.output = self.layers[-1].step
        self.canonical = isinstance(self.output, _layers._FusedOutput)


class Network:
    """A fully connected network trained by backpropagation.

    The network is a stack of layers (:attr:`layers`, bottom to top): one
    :class:`~skbackprop._core.layers.Dense` per hidden layer and one for the outputs,
    the lecture's layer written once. :meth:`forward` and :meth:`loss_gradient`
    loop over them; see :mod:`skbackprop._core.layers` for the seam that other layer
    kinds plug into (:meth:`_make_layers`).

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
    dropout : float or sequence of float, default=None
        Inverted dropout above the hidden layers' activations while training
        (:class:`~skbackprop._core.dropout.Dropout`): a rate (the probability of
        dropping a unit) for every hidden layer, or one per hidden layer; None or
        0 adds no layer. Only :meth:`loss_gradient` and :meth:`forward` see it;
        the prediction path :func:`forward` uses the weights alone.
    random_state : None, int, sequence of int, SeedSequence or Generator, \
            default=None
        Seed of the dropout masks (:func:`numpy.random.default_rng`).
    input_layer : object, default=None
        A layer of the seam below the first dense layer, e.g. a
        :class:`~skbackprop._core.embeddings.PeriodicEmbedding` of the
        ``layer_units[0]`` inputs; the first dense layer then takes its
        ``n_out`` outputs. Its parameters follow the dense stack's in the flat
        vector; the prediction function :func:`forward` does not know it.

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
    layers : list
        The layers, bottom to top, each holding its views of ``params``.
    dropout : list of float
        The dropout rate above each hidden layer (0: none).
    masks : MaskSource or None
        The dropout layers' source of masks (None without dropout).
    """

    def __init__(
        self,
        layer_units,
        activations,
        loss,
        dtype,
        xp=None,
        device=None,
        dropout=None,
        random_state=None,
        input_layer=None,
    ):
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
        self.dropout = _dropout.dropout_rates(dropout, len(self.activations))
        self.input_layer = input_layer
        self.masks = None
        if any(self.dropout):
            self.masks = _dropout.MaskSource(random_state)
        self.layers = self._make_layers()
        # The flat layout, group by group (_layers.GROUPS): every layer's
        # coefficients, then intercepts, then activation parameters, then other
        # layer kinds' parameters.
        entries = [
            (_layers.GROUPS.index(group), i, k, shape)
            for i, layer in enumerate(self.layers)
            for k, (group, shape) in enumerate(layer.parameter_shapes())
        ]
        entries.sort(key=lambda e: e[:3])
        self._shapes = [shape for *_, shape in entries]
        sizes = [math.prod(s) for s in self._shapes]
        self._offsets = [0, *np.cumsum(sizes, dtype=np.int64).tolist()]
        self.n_coef = sum(
            size for e, size in zip(entries, sizes, strict=True) if e[0] == 0
        )
        if self.xp is np:
            self.params = np.zeros(sum(sizes), dtype=self.dtype)
            self.grad = np.zeros_like(self.params)
        else:
            self.params = self.xp.zeros(sum(sizes), dtype=self.dtype, device=device)
            self.grad = self.xp.zeros(sum(sizes), dtype=self.dtype, device=device)
        # Hand each layer its views, in the order of its parameter_shapes().
        owned = [[] for _ in self.layers]
        for (_, i, _, _), view, grad in zip(
            entries, self._views(self.params), self._views(self.grad), strict=True
        ):
            owned[i].append((view, grad))
        for layer, pairs in zip(self.layers, owned, strict=True):
            layer.set_views([p for p, _ in pairs], [g for _, g in pairs])
        dense = [layer for layer in self.layers if isinstance(layer, _layers.Dense)]
        self.coefs = [layer.coef for layer in dense]
        self.intercepts = [layer.intercept for layer in dense]
        self.activation_params = [layer.theta for layer in dense[:-1]]
        self.grad_coefs = [layer.grad_coef for layer in dense]
        self.grad_intercepts = [layer.grad_intercept for layer in dense]
        self.grad_activation_params = [layer.grad_theta for layer in dense[:-1]]
        self._grad_coef_flat = [self.xp.reshape(g, (-1,)) for g in self.grad_coefs]
        self._coef_flat = self.params[: self.n_coef]
        self._grad_coef_all = self.grad[: self.n_coef]
        self._coef_tmp = (
            np.empty(self.n_coef, dtype=self.dtype) if self.xp is np else None
        )
        self._workspaces = {}

    def _make_layers(self):
        """Return the layers, bottom to top: the lecture's dense stack.

        With :attr:`dropout`, a :class:`~skbackprop._core.dropout.Dropout` above
        each hidden layer with a positive rate; an ``input_layer`` at the bottom.

        The seam for other layer kinds (:mod:`skbackprop._core.layers`): a subclass
        may return more layers, e.g. a per-feature scaling of the inputs below
        the first dense layer. Their parameters follow the dense stack's in the
        flat vector; the compiled kernels then step aside
        (:attr:`plain_dense_stack` is False).
        """
        units, acts = self.layer_units, self.activations
        pairs = list(zip(units[:-1], units[1:], strict=True))
        layers = []
        if self.input_layer is not None:
            layers.append(self.input_layer)
            pairs[0] = (self.input_layer.n_out, pairs[0][1])
        for (n_in, n_out), act, rate in zip(pairs, acts, self.dropout, strict=False):
            layers.append(_layers.Dense(n_in, n_out, activation=act))
            if rate:
                layers.append(_dropout.Dropout(n_out, rate, self.masks))
        return [*layers, _layers.Dense(*pairs[-1], loss=self.loss)]

    @property
    def training(self):
        """Whether the dropout layers drop units (True: the training mode).

        False turns them into the identity in :meth:`loss_gradient` and
        :meth:`forward` (the evaluation mode); without dropout it stays True
        and changes nothing.
        """
        return self.masks is None or self.masks.training

    @training.setter
    def training(self, value):
        if self.masks is not None:
            self.masks.training = bool(value)

    def reseed(self, random_state):
        """Restart the dropout masks from ``random_state`` (no dropout: no-op).

        The passes after two reseeds with the same seed draw the same masks: the
        gradient check reseeds before each evaluation, to differentiate one
        fixed objective.

        Parameters
        ----------
        random_state : None, int, sequence of int, SeedSequence or Generator
            As :func:`numpy.random.default_rng` takes it.
        """
        if self.masks is not None:
            self.masks.reseed(random_state)

    @property
    def plain_dense_stack(self):
        """Whether the compiled kernels may run this network.

        True for the plain dense stack: numpy arrays of float32 or float64 and
        nothing but the dense layers :meth:`Network._make_layers` builds (no
        dropout: with it, the fused passes and the epoch kernel step aside). Each kernel
        further needs built-in activations and losses it has codes for (exactly
        their classes) and C-contiguous arrays of the network's dtype, which it
        checks itself.
        """
        return (
            self.xp is np
            and self.dtype in (np.float32, np.float64)
            and len(self.layers) == len(self.layer_units) - 1
            and all(type(layer) is _layers.Dense for layer in self.layers)
        )

    def _views(self, flat):
        # Slices of the flat vector reshaped: views in numpy, PyTorch, CuPy and
        # array-api-strict, so writing a layer writes the flat vector.
        return [
            self.xp.reshape(flat[a:b], shape)
            for a, b, shape in zip(
                self._offsets[:-1], self._offsets[1:], self._shapes, strict=True
            )
        ]

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
        """Return the layers bound for batches of ``n`` rows, made once and reused."""
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
            ``S[l]`` and ``O[l]`` for ``l = 0..L``, the signal and output of
            ``layers[l-1]`` (``S[0]`` is None, ``O[0]`` is X; for activations
            computed in place ``O[l]`` is ``S[l]``). With numpy they live in
            reused buffers: copy them to keep them past the next call.
        """
        ws = self._workspace(X.shape[0])
        o = X
        for layer in ws.layers:  # o^(l) = θ(W^(l) o^(l-1)), bottom to top
            o = layer.forward(o)
        return [None] + [lay.s for lay in ws.layers], [X] + [lay.o for lay in ws.layers]

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
        n = X.shape[0]
        ws = self._workspaces.get(n) or self._workspace(n)  # a call less per batch
        ops = ws.ops
        P = X
        for layer in ws.layers:  # forward: o^(l) = θ(W^(l) o^(l-1)), bottom to top
            P = layer.forward(P)
        if sample_weight is None:
            sw_sum = n
        else:
            sample_weight, sw_sum = ops.weights(sample_weight)
        loss = self.loss.value(Y, P, sample_weight)
        if alpha:
            loss += 0.5 * alpha * ops.sum_squares(self._coef_flat) / sw_sum
        # Base case δ^(L) = ∂ℓ/∂s^(L): weighted, averaged over the batch.
        delta = ws.output.delta(Y, P, sample_weight, sw_sum)
        for layer in ws.top_down:
            # Each layer writes G^(l) = δ^(l) o^(l-1)ᵀ and returns W^(l)ᵀ δ^(l),
            # which the layer below turns into δ^(l-1) with its θ'.
            delta = layer.backward(delta)
        if alpha and l2_gradient:
            ops.add_l2(self._grad_coef_all, self._coef_flat, alpha, sw_sum)
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
