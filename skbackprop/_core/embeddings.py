"""Periodic embeddings of numeric features: a layer kind of the seam.

Gorishniy, Rubachev and Babenko (2022), "On Embeddings for Numerical Features
in Tabular Deep Learning", embed each numeric feature on its own before the
MLP; their "PLR" (periodic, linear, ReLU) embedding took an MLP from 0.854 to
0.870 accuracy on Adult. For feature ``j`` of a row, ``x_j``, with ``k``
trainable frequencies ``c_j`` and a per-feature linear map ``W_j, b_j`` to
``d_e`` units, in the lecture's notation (one row; the code takes a batch)::

    forward:   a_j = 2π c_j x_j                          (k angles)
               v_j = [sin(a_j), cos(a_j)]                 (2k features)
               s_j = W_jᵀ v_j + b_j,   o_j = ReLU(s_j)    (d_e units)
               o   = [o_1, ..., o_m]                      (m·d_e, the dense
                                                           stack's o^(0))
    backward:  from e = ∂ℓ/∂o (the first dense layer's W^(1)ᵀ δ^(1)):
               δ_j = e_j ⊙ 1[s_j > 0]
               G_W_j = v_j δ_jᵀ,   G_b_j = δ_j
               ∂ℓ/∂v_j = W_j δ_j = [g_sin, g_cos]
               ∂ℓ/∂a_j = g_sin ⊙ cos(a_j) − g_cos ⊙ sin(a_j)
               G_c_j = 2π x_j ∂ℓ/∂a_j
               (∂ℓ/∂x_j = 2π c_jᵀ ∂ℓ/∂a_j, not needed at the bottom)

summed over the rows of a batch. The frequencies start from ``N(0, σ²)``
(``σ``, ``frequency_scale``, is the embedding's one sensitive setting: the
paper tunes it in [0.01, 100]; larger σ, higher frequencies, finer detail),
``W_j`` and ``b_j`` from ``U(±1/√(2k))``. All are parameters of the network's
flat vector, in the ``"extra"`` group (after the dense stack's): optimizers and
the gradient check see them as any other.

Written once against the array namespace (batched ``matmul``, no buffers), for
dense inputs. The network then is no plain dense stack: the compiled kernels
step aside, and the prediction function :func:`skbackprop.network.forward`
(which knows the dense weights only) does not apply it: evaluate through
:meth:`skbackprop.network.Network.forward` (``training = False``).
"""

import copy
import math

import numpy as np
import scipy.sparse

from . import xp as _xp


def _namespace(x):
    """Return the array API namespace of ``x`` (array_api_compat's for numpy).

    numpy < 2 lacks the standard's names (``permute_dims``, ``concat``) that
    this layer is written in; the wrapper has them, returning numpy arrays.
    """
    if isinstance(x, np.ndarray):
        return _xp._compat().array_namespace(x)
    return _xp.namespace(x)


class PeriodicEmbedding:
    """PLR embedding of ``n_features`` numeric inputs, ``d_embedding`` units each.

    A layer of the seam (:mod:`skbackprop._core.layers`), placed below the
    dense stack: ``Network(..., input_layer=PeriodicEmbedding(m))`` (its
    :attr:`n_out` inputs feed the first dense layer).

    Parameters
    ----------
    n_features : int
        ``m``, the numeric inputs (the columns of ``X``).
    n_frequencies : int, default=16
        ``k``, trainable frequencies per feature.
    d_embedding : int, default=16
        ``d_e``, the units each feature is embedded in.
    frequency_scale : float, default=0.1
        ``σ`` of the frequencies' initial normal distribution.

    Attributes
    ----------
    n_out : int
        ``m · d_e``, the embedding's outputs.
    frequencies, coef, intercept : array
        ``c`` of shape ``(m, k)``, ``W`` of shape ``(m, 2k, d_e)`` and ``b`` of
        shape ``(m, d_e)``: views of the network's flat parameters.
    grad_frequencies, grad_coef, grad_intercept : array
        The same views of its flat gradient.
    """

    s = o = None

    def __init__(
        self, n_features, n_frequencies=16, d_embedding=16, frequency_scale=0.1
    ):
        for name, value in (
            ("n_features", n_features),
            ("n_frequencies", n_frequencies),
            ("d_embedding", d_embedding),
        ):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        if not (math.isfinite(frequency_scale) and frequency_scale > 0):
            raise ValueError(
                "frequency_scale must be a positive, finite standard deviation; "
                f"got {frequency_scale!r}. The paper tunes it in [0.01, 100]."
            )
        self.n_features, self.n_frequencies = int(n_features), int(n_frequencies)
        self.d_embedding = int(d_embedding)
        self.frequency_scale = float(frequency_scale)
        self.n_out = self.n_features * self.d_embedding

    def parameter_shapes(self):
        """``c``, ``W`` and ``b``, all in the ``"extra"`` group."""
        m, k, d = self.n_features, self.n_frequencies, self.d_embedding
        return [("extra", (m, k)), ("extra", (m, 2 * k, d)), ("extra", (m, d))]

    def set_views(self, params, grads):
        """Take its views of the flat parameters and gradient."""
        self.frequencies, self.coef, self.intercept = params
        self.grad_frequencies, self.grad_coef, self.grad_intercept = grads

    def initialize(self, random_state=None):
        """Draw the starting parameters into the views (after the network is built).

        Parameters
        ----------
        random_state : None, int or numpy Generator
            As :func:`numpy.random.default_rng` takes it.
        """
        rng = np.random.default_rng(random_state)
        m, k, d = self.n_features, self.n_frequencies, self.d_embedding
        bound = 1 / math.sqrt(2 * k)
        drawn = (
            rng.normal(0.0, self.frequency_scale, (m, k)),
            rng.uniform(-bound, bound, (m, 2 * k, d)),
            rng.uniform(-bound, bound, (m, d)),
        )
        for view, value in zip(
            (self.frequencies, self.coef, self.intercept), drawn, strict=True
        ):
            if isinstance(view, np.ndarray):
                view[...] = value
            else:
                xp = _xp.namespace(view)
                view[...] = xp.asarray(value, dtype=view.dtype, device=_xp.device(view))

    def bind(self, ops, n, below):
        """Return a copy for batches of ``n`` rows (it keeps no buffers)."""
        run = copy.copy(self)
        run.propagate = below is not None
        return run

    def forward(self, x):
        """``o = [ReLU(W_jᵀ [sin 2πc_j x_j, cos 2πc_j x_j] + b_j)]_j`` per row."""
        if scipy.sparse.issparse(x):
            raise TypeError(
                "PeriodicEmbedding takes dense arrays; convert a sparse X with "
                "X.toarray() (numeric features are few and dense)."
            )
        xp = _namespace(x)
        n = x.shape[0]
        k = self.n_frequencies
        # Features first: (m, n, ·) batches of per-feature products.
        self.x_t = xt = xp.permute_dims(x, (1, 0))[:, :, None]  # (m, n, 1)
        self.a = a = (2 * math.pi) * xt * self.frequencies[:, None, :]  # (m, n, k)
        self.v = v = xp.concat([xp.sin(a), xp.cos(a)], axis=2)  # (m, n, 2k)
        s = xp.matmul(v, self.coef) + self.intercept[:, None, :]  # (m, n, d_e)
        self.positive = s > 0
        o = xp.where(self.positive, s, xp.zeros_like(s))
        self.k = k
        self.o = self.s = xp.reshape(xp.permute_dims(o, (1, 0, 2)), (n, self.n_out))
        return self.o

    def backward(self, e):
        """Write ``G_c``, ``G_W``, ``G_b``; return ``∂ℓ/∂x`` (None at the bottom)."""
        xp = _namespace(e)
        n, m, k = e.shape[0], self.n_features, self.k
        e = xp.permute_dims(xp.reshape(e, (n, m, self.d_embedding)), (1, 0, 2))
        delta = xp.where(self.positive, e, xp.zeros_like(e))  # (m, n, d_e)
        self.grad_coef[...] = xp.matmul(xp.permute_dims(self.v, (0, 2, 1)), delta)
        self.grad_intercept[...] = xp.sum(delta, axis=1)
        g = xp.matmul(delta, xp.permute_dims(self.coef, (0, 2, 1)))  # (m, n, 2k)
        g_a = g[:, :, :k] * xp.cos(self.a) - g[:, :, k:] * xp.sin(self.a)
        self.grad_frequencies[...] = xp.sum(g_a * ((2 * math.pi) * self.x_t), axis=1)
        dx = None
        if self.propagate:
            dx = xp.sum(g_a * ((2 * math.pi) * self.frequencies[:, None, :]), axis=2)
            dx = xp.permute_dims(dx, (1, 0))
        self.x_t = self.a = self.v = self.positive = self.s = self.o = None
        return dx
