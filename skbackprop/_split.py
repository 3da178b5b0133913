"""The early-stopping split: order-invariant, with integer weights as copies."""

import numpy as np
from sklearn.model_selection import train_test_split

from ._utils import _take_rows

# Above this many weight units, integer weights are not expanded for the split.
_MAX_SPLIT_UNITS = 10_000_000


def _canonical_order(X, Y):
    """Return an order of the rows that depends on their values, not positions.

    Rows are sorted by a fixed random projection of ``[X, Y]``: identical rows get
    identical keys (and are interchangeable), distinct rows almost surely distinct
    ones. Works for dense and sparse ``X`` in one pass.
    """
    rng = np.random.RandomState(0)
    key = np.asarray(X @ rng.uniform(1, 2, X.shape[1])).ravel()
    key = key + np.pi * (Y @ rng.uniform(1, 2, Y.shape[1]))
    return np.argsort(key, kind="stable")


def _train_validation_split(X, Y, sample_weight, stratify, fraction, random_state):
    """Split off the early-stopping validation set.

    The split depends on the rows' values, not on their order: rows are put in a
    canonical order before the random split. Integer weights are frequency weights:
    a weight ``k`` stands for ``k`` copies of the row and the copies are split as
    if they were separate rows. So shuffling the data, or replacing repeated rows
    by integer weights, gives the same split (and the same model). Other weights
    travel with their rows.

    Returns
    -------
    train, validation : tuple of (X, Y, sample_weight)
    """
    n = X.shape[0]
    order = _canonical_order(X, Y)
    sw = sample_weight
    if sw is None:
        copies = np.ones(n, dtype=np.int64)
    elif np.all(sw == np.round(sw)) and sw.sum() <= _MAX_SPLIT_UNITS:
        copies = sw.astype(np.int64)
    else:
        copies = None
    if copies is not None:
        units = np.repeat(order, copies[order])
        strat = None if stratify is None else stratify[units]
        tr_units, val_units = train_test_split(
            units, random_state=random_state, test_size=fraction, stratify=strat
        )
        parts = []
        for chosen in (tr_units, val_units):
            # Each row once, in the order the split drew it: without weights this
            # is exactly train_test_split's order.
            rows, first = np.unique(chosen, return_index=True)
            rows = rows[np.argsort(first)]
            w = None if sw is None else np.bincount(chosen, minlength=n)[rows]
            w = None if w is None else w.astype(sw.dtype)
            parts.append((_take_rows(X, rows), Y[rows], w))
        return parts[0], parts[1]
    strat = None if stratify is None else stratify[order]
    tr, val = train_test_split(
        order, random_state=random_state, test_size=fraction, stratify=strat
    )
    return (
        (_take_rows(X, tr), Y[tr], sw[tr]),
        (_take_rows(X, val), Y[val], sw[val]),
    )
