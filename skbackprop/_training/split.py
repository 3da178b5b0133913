"""The early-stopping split: order-invariant, with integer weights as copies."""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split

from .._core import xp as _xp

# Above this many weight units, integer weights are not expanded for the split.
_MAX_SPLIT_UNITS = 10_000_000
# Rows of a float32 X converted to float64 at a time for the ordering key.
_BLOCK_ROWS = 4096


def _canonical_order(X, Y):
    """Return an order of the rows that depends on their values, not positions.

    Rows are sorted by a fixed random projection of ``[X, Y]``: identical rows get
    identical keys (and are interchangeable), distinct rows almost surely distinct
    ones. Works for dense and sparse ``X`` in one pass, in float64 (a float32 ``X``
    is converted block by block, never copied whole).
    """
    rng = np.random.RandomState(0)
    v = rng.uniform(1, 2, X.shape[1])
    if not (sp.issparse(X) or isinstance(X, np.ndarray)):
        # Another namespace: project on X's device in float64, a block of rows at
        # a time, and bring the n keys to the host.
        xp = _xp.namespace(X)
        v_x = xp.asarray(v, dtype=xp.float64, device=_xp.device(X))
        key = np.empty(X.shape[0])
        n, step = X.shape[0], 16 * _BLOCK_ROWS
        for start in range(0, n, step):
            stop = min(start + step, n)  # strict arrays refuse slices past the end
            block = xp.astype(X[start:stop, ...], xp.float64, copy=False)
            key[start:stop] = _xp.to_numpy(block @ v_x)
    elif sp.issparse(X) or X.dtype == np.float64:
        key = np.asarray(X @ v).ravel()
    else:
        # float32 keys collide for distinct rows; a float64 copy of all of X
        # would double its memory: project in float64 a block of rows at a time.
        key = np.empty(X.shape[0])
        for start in range(0, X.shape[0], _BLOCK_ROWS):
            block = X[start : start + _BLOCK_ROWS]
            key[start : start + len(block)] = block.astype(np.float64) @ v
    key += np.pi * (Y.astype(np.float64, copy=False) @ rng.uniform(1, 2, Y.shape[1]))
    return np.argsort(key, kind="stable")


def _validation_size(n_units, fraction, stratify, weighted=False):
    """Count the validation units: the fraction, at least 2 and one per class.

    Returns ``n_val``. Raises ValueError when the rest cannot be a training set
    (at least one unit, and one per class when stratified).
    """
    if stratify is None:
        n_classes = 1
    else:  # a label per row, or (as scikit-learn stratifies) a 0/1 row per sample
        n_classes = len(np.unique(stratify, axis=0 if stratify.ndim == 2 else None))
    by_fraction = math.ceil(fraction * n_units)  # train_test_split's rounding
    n_val = max(by_fraction, 2, n_classes)
    if n_units - n_val < n_classes:
        first = (
            "The validation set is too small. Increase 'validation_fraction' or the "
            "size of your dataset."
            if by_fraction < max(2, n_classes)
            else "The training set is too small."
        )
        classes = (
            "" if stratify is None else f" and one of each of the {n_classes} classes"
        )
        raise ValueError(
            f"{first} early_stopping=True needs at least 2 validation samples"
            f"{classes}, and at least {n_classes} training sample(s); "
            f"validation_fraction={fraction} of the {n_units} samples"
            f"{' (integer sample_weight counted as repeats)' if weighted else ''} "
            "leaves "
            f"{max(n_units - n_val, 0)} for training. Use more data, change "
            "validation_fraction, or set early_stopping=False."
        )
    return n_val


def _train_validation_split(X, Y, sample_weight, stratify, fraction, random_state):
    """Split off the early-stopping validation set.

    The split depends on the rows' values, not on their order: rows are put in a
    canonical order before the random split. Integer weights are frequency weights:
    a weight ``k`` stands for ``k`` copies of the row and the copies are split as
    if they were separate rows. So shuffling the data, or replacing repeated rows
    by integer weights, gives the same split (and the same model). Other weights
    travel with their rows.

    The validation set holds ``ceil(fraction · n)`` samples as scikit-learn's MLP
    holds out, but at least 2 and, when stratified, one of each class, so that
    small data sets can still stop early.

    Returns
    -------
    train, validation : tuple of (rows, sample_weight)
        Row indices into ``X`` and the weights of those rows (None without
        weights; for integer weights, the number of copies on that side).
    """
    n = X.shape[0]
    order = _canonical_order(X, Y)
    sw = sample_weight
    if sw is None:
        copies = np.ones(n, dtype=np.int64)
    elif np.all(sw == np.round(sw)) and 0 < sw.sum() <= _MAX_SPLIT_UNITS:
        copies = sw.astype(np.int64)
    else:
        copies = None
    if copies is not None:
        units = np.repeat(order, copies[order])
        strat = None if stratify is None else stratify[units]
        n_val = _validation_size(len(units), fraction, strat, sw is not None)
        tr_units, val_units = train_test_split(
            units, random_state=random_state, test_size=n_val, stratify=strat
        )
        parts = []
        for chosen in (tr_units, val_units):
            # Each row once, in the order the split drew it: without weights this
            # is exactly train_test_split's order.
            rows, first = np.unique(chosen, return_index=True)
            rows = rows[np.argsort(first)]
            w = None if sw is None else np.bincount(chosen, minlength=n)[rows]
            parts.append((rows, None if w is None else w.astype(sw.dtype)))
        return parts[0], parts[1]
    strat = None if stratify is None else stratify[order]
    n_val = _validation_size(n, fraction, strat)
    tr, val = train_test_split(
        order, random_state=random_state, test_size=n_val, stratify=strat
    )
    return (tr, sw[tr]), (val, sw[val])
