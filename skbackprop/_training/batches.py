"""Mini-batches of one epoch, gathered in the network's namespace.

The lecture's mini-batch SGD takes the training rows in a (shuffled) order, a
batch at a time. :func:`iter_batches` yields those batches; the epoch loop in
:mod:`skbackprop._training.loop` turns each into one gradient step.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import gen_batches

from .._core import xp as _xp


def iter_batches(train, order, batch_size, shuffle, xp, device):
    """Yield ``(index, rows, Xb, Yb, swb)`` for each batch that has weight.

    Parameters
    ----------
    train : TrainingSet
        Inputs, encoded targets and sample weights in the network's namespace,
        and the weights on the host (or None).
    order : ndarray of shape (n_samples,)
        The epoch's row order (used when ``shuffle``).
    batch_size : int
        Rows per batch; the last batch may be smaller.
    shuffle : bool
        Gather the rows in ``order``; otherwise batches are slices.
    xp : namespace
        The network's array namespace.
    device : device
        The network's device.

    Yields
    ------
    index : int
        Position of the batch in ``gen_batches`` (skipped batches keep theirs).
    rows : int
        Number of rows of the batch.
    Xb, Yb, swb : arrays
        The batch; ``swb`` is None without sample weights. Shuffled dense numpy
        batches live in buffers reused by the next batch.
    """
    X, Y, sw, sw_host = train.X, train.Y, train.sample_weight, train.host_weight
    dense = not sp.issparse(X)
    if shuffle and xp is not np:
        order_x = xp.asarray(order, device=device)
    elif shuffle and dense:
        xbuf = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        ybuf = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)
        wbuf = None if sw is None else np.empty(batch_size, dtype=sw.dtype)
    for b, batch in enumerate(gen_batches(X.shape[0], batch_size)):
        m = batch.stop - batch.start
        if sw_host is not None and not sw_host[order[batch]].any():
            # All weights zero: the batch has no loss and no gradient, as if its
            # rows were removed, so no step (and no division by Σw = 0).
            continue
        if not shuffle and xp is not np:
            Xb, Yb = X[batch, ...], Y[batch, ...]  # the standard's 2-D slicing
            swb = None if sw is None else sw[batch]
        elif not shuffle:
            Xb, Yb = X[batch], Y[batch]
            swb = None if sw is None else sw[batch]
        elif xp is not np:
            idx = order_x[batch]
            Xb, Yb = _xp.take_rows(X, idx, xp), _xp.take_rows(Y, idx, xp)
            swb = None if sw is None else _xp.take_rows(sw, idx, xp)
        elif dense:
            # mode="clip": the rows are a permutation, always in range, and
            # numpy's default mode ("raise") gathers into a temporary first.
            idx = order[batch]
            Xb = X.take(idx, axis=0, out=xbuf[:m], mode="clip")
            Yb = Y.take(idx, axis=0, out=ybuf[:m], mode="clip")
            swb = None if sw is None else sw.take(idx, out=wbuf[:m], mode="clip")
        else:
            idx = order[batch]
            Xb, Yb = X[idx], Y[idx]
            swb = None if sw is None else sw[idx]
        yield b, m, Xb, Yb, swb
