"""Dropout: a layer kind of the seam (:mod:`skbackprop._core.layers`).

Inverted dropout (Srivastava et al. 2014, in the form every framework uses)
sits above a hidden layer's activation. In the lecture's notation, with a rate
``p`` (the probability of dropping a unit) and a fresh random mask per batch::

    forward:   m_j ~ Bernoulli(1 - p),   M = m / (1 - p),   õ^(l) = o^(l) ⊙ M
    backward:  e ⊙ M,  the ``e = ∂ℓ/∂o^(l)`` handed to the dense layer below

so the layer above computes ``s^(l+1) = W^(l+1) õ^(l)`` and
``G^(l+1) = δ^(l+1) õ^(l)ᵀ`` from the dropped-out outputs, and the δ recursion
carries the same mask down: ``δ^(l) = (W^(l+1)ᵀ δ^(l+1) ⊙ M) ⊙ θ'(s^(l))``. A
dropped unit gets no gradient in that batch; a kept one is scaled by
``1 / (1 - p)`` so that the expected ``õ^(l)`` is ``o^(l)``, and prediction uses
the weights as they are: dropout is a training-time layer only. It has no
parameters in the flat vector.

The masks come from one numpy ``Generator`` per network, a :class:`MaskSource`
shared by its dropout layers: a seeded network draws the same masks on every
run. They are drawn on the host in the network's float dtype and moved to the
network's namespace and device as they are: the array API standard has no
random numbers, and one source for every namespace makes a fit on
array-api-strict or PyTorch draw exactly the masks numpy does (the same
training trajectory, to rounding). On a GPU this is one host-to-device copy of
an ``(n, d)`` mask per dropout layer and batch.
"""

import copy
from numbers import Real

import numpy as np

from . import xp as _xp


class MaskSource:
    """The random masks of a network's dropout layers: one generator, shared.

    Parameters
    ----------
    random_state : None, int, sequence of int, SeedSequence or Generator
        Seed of the masks, as :func:`numpy.random.default_rng` takes it.

    Attributes
    ----------
    training : bool
        Whether the dropout layers drop units (True, the default); False makes
        them the identity, forward and backward (the evaluation mode).
    """

    def __init__(self, random_state=None):
        self.training = True
        self.reseed(random_state)

    def reseed(self, random_state):
        """Restart the masks from ``random_state``.

        After two reseeds with the same seed, the same sequence of passes draws
        the same masks: a fixed objective, which the gradient check needs.
        """
        self.rng = np.random.default_rng(random_state)

    def draw(self, rate, shape, dtype, out=None, keep=None):
        """Return ``M = m / (1 - p)`` with ``m ~ Bernoulli(1 - p)``, on the host.

        Parameters
        ----------
        rate : float
            ``p`` in [0, 1).
        shape : tuple of int
            ``(n, d)``.
        dtype : numpy dtype
            float32 or float64.
        out, keep : ndarray, default=None
            Buffers of ``shape``: ``dtype`` for the mask, bool for the draw.
        """
        u = self.rng.random(shape, dtype=dtype, out=out)
        keep = np.greater_equal(u, rate, out=keep)
        return np.multiply(keep, dtype.type(1.0 / (1.0 - rate)), out=u)


class Dropout:
    """Inverted dropout of the ``n_units`` outputs of the layer below.

    A layer of the seam (:mod:`skbackprop._core.layers`): no parameters, the
    identity outside training (``masks.training`` False).

    Parameters
    ----------
    n_units : int
        Units of the layer below (``d^(l)``).
    rate : float
        ``p``, the probability of dropping a unit, in (0, 1).
    masks : MaskSource
        The network's source of masks.
    """

    s = o = None

    def __init__(self, n_units, rate, masks):
        self.n_units, self.rate, self.masks = n_units, float(rate), masks
        self.M = None

    def parameter_shapes(self):
        """None: dropout has no trainable parameters."""
        return []

    def set_views(self, params, grads):
        """Nothing to take (no parameters)."""

    def bind(self, ops, n, below):
        """Return a copy with its buffers for ``n`` rows (numpy: reused)."""
        run = copy.copy(self)
        run.propagate = below is not None
        run.out = ops.buffer(n, self.n_units)
        run.mask = ops.buffer(n, self.n_units)
        run.keep = None if run.mask is None else np.empty((n, self.n_units), bool)
        return run

    def forward(self, o):
        """``õ = o ⊙ M``, with a new mask ``M`` (training); else ``o`` itself."""
        if not self.masks.training:
            self.M = None
            self.s = self.o = o
            return o
        if isinstance(o, np.ndarray):
            M = self.masks.draw(self.rate, o.shape, o.dtype, self.mask, self.keep)
            # A new array, never o's: the layer below keeps o for its θ'.
            out = np.multiply(o, M, out=self.out)
        else:
            dtype = _xp.numpy_dtype(o.dtype)
            M = self.masks.draw(self.rate, tuple(o.shape), dtype)
            M = _xp.namespace(o).asarray(M, dtype=o.dtype, device=_xp.device(o))
            out = o * M
        self.M = M
        self.s = self.o = out
        return out

    def backward(self, e):
        """``e ⊙ M``: the same mask on the way down (in place)."""
        M, self.M = self.M, None
        self.s = self.o = None
        if not self.propagate:
            return None
        if M is not None:
            e *= M
        return e


def dropout_rates(dropout, n_hidden, name="dropout"):
    """Return one dropout rate per hidden layer, validated.

    Parameters
    ----------
    dropout : None, float or sequence of float
        A rate for every hidden layer, or one per hidden layer; None is 0.
    n_hidden : int
        Hidden layers.
    name : str, default="dropout"
        The parameter's name, for the messages.

    Returns
    -------
    rates : list of float
        ``n_hidden`` rates in [0, 1).

    Raises
    ------
    ValueError
        If a rate is not a real number in [0, 1) or the sequence does not have
        one rate per hidden layer.
    """
    if dropout is None:
        return [0.0] * n_hidden
    if isinstance(dropout, str) or not hasattr(dropout, "__iter__"):
        rates, single = [dropout], True
    else:
        rates, single = list(np.asarray(dropout, dtype=object).ravel()), False
        if np.ndim(dropout) != 1 or len(rates) != n_hidden:
            raise ValueError(
                f"{name} has {len(rates)} rates (shape {np.shape(dropout)}) but "
                f"there are {n_hidden} hidden layers; give one rate per hidden "
                "layer, or a single float for all."
            )
    bad = [
        r
        for r in rates
        if isinstance(r, bool)
        or not isinstance(r, Real)
        or not (0.0 <= float(r) < 1.0)  # NaN fails too
    ]
    if bad:
        raise ValueError(
            f"{name} must be a rate in [0, 1) (the probability of dropping a "
            f"unit) or a sequence of such rates, one per hidden layer; got "
            f"{dropout!r}. Use e.g. 0.1, or 0.0 for no dropout."
        )
    rates = [float(r) for r in rates]
    return rates * n_hidden if single else rates
