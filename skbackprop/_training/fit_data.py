"""The data of one fit, as it travels from validation to the training loops.

:class:`FitData` is what the estimator's ``_prepare`` returns; the stochastic
solvers split it into a :class:`TrainingSet` and, with early stopping, a
:class:`ValidationSet`. :func:`_combine` multiplies class weights into sample
weights; :func:`_take_rows` gathers rows of any namespace or sparse format.
"""

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from .._core import xp as _xp


class FitData(NamedTuple):
    """A validated fit's network and data (see ``BaseBackprop._prepare``)."""

    #: The core, holding a copy of the current (or fresh) weights.
    net: Any
    #: Inputs in the network's namespace, device and dtype (dense or sparse).
    X: Any
    #: Encoded 2-D targets on the host, in the network's dtype.
    Y: np.ndarray
    #: The validated ``sample_weight`` on the host, or None.
    sample_weight: Any
    #: Per-row class weights to multiply into ``sample_weight`` (host), or None.
    class_factor: Any
    #: Whether the weights were freshly initialised.
    first_pass: bool
    #: The user's validation set (``fit(X_val=..., y_val=...)``) as a
    #: :class:`ValidationSet`, or None: early stopping then splits one off.
    validation: Any = None
    #: The scorer early stopping judges epochs by (``scoring``), or None for
    #: the built-in score or the loss.
    scorer: Any = None


class TrainingSet(NamedTuple):
    """The rows the stochastic solvers train on.

    ``Y`` and ``sample_weight`` live in the network's namespace and device (as
    ``X``); ``host_weight`` is the same weights on the host, which decide there
    which batches have weight (None without weights).
    """

    X: Any
    Y: Any
    sample_weight: Any
    host_weight: Any

    @property
    def n_samples(self):
        """Number of training rows."""
        return self.X.shape[0]


class ValidationSet(NamedTuple):
    """The rows early stopping scores each epoch on.

    ``X`` lives on the network's device; the targets and weights stay on the
    host, where the score is computed. ``rows`` are the positions of the rows
    in the ``X`` passed to ``fit`` when they were split off from it (None for
    a validation set of the user's), to name rows in messages.
    """

    X: Any
    Y: np.ndarray
    sample_weight: Any
    rows: Any = None


def _combine(sample_weight, class_factor):
    """Sample weights times per-row class weights (either may be None)."""
    if class_factor is None:
        return sample_weight
    return class_factor if sample_weight is None else sample_weight * class_factor


def _take_rows(X, idx):
    """Rows ``idx`` (a host index array) of a dense or sparse matrix, any namespace."""
    if sp.issparse(X):
        return X[idx]
    if isinstance(X, np.ndarray):
        return np.take(X, idx, axis=0)
    xp = _xp.namespace(X)
    return xp.take(X, xp.asarray(idx, device=_xp.device(X)), axis=0)
