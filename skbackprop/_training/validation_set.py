"""The validation side of early stopping: the user's set, the scorer, a warning.

- :func:`check_validation_args` and :func:`prepare_validation` take
  ``fit(..., X_val=..., y_val=..., sample_weight_val=...)`` as scikit-learn's
  ``HistGradientBoosting*.fit`` does: both or neither of ``X_val`` and
  ``y_val``; early stopping must be on; ``X_val`` goes through the validation
  of ``X`` (features, names, dtype, namespace) and ``y_val`` through the
  fitted target encoding (a class the model was not fitted on is an error).
- :func:`resolve_scorer` turns ``scoring`` into a scorer (or None, for the
  built-in score or the loss), checked before anything changes.
- :func:`warn_if_few_rows_dominate` warns when a handful of validation rows
  carry most of the validation loss that early stopping watches.
"""

import math

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.utils.validation import check_consistent_length

from .._core import xp as _xp
from .._estimator.compat import _check_sample_weight
from .._estimator.messages import _warn
from .._estimator.validation import _validate_with_hints
from ..network import clip_extreme, signal_limit
from .early_stopping import criterion_metric
from .fit_data import ValidationSet, _combine

# The dominance check: warn when the top TOP_FRACTION of the validation rows
# (at least one) carry more than SHARE of its loss, on sets of MIN_ROWS or more
# (in smaller ones a single row weighs a lot by construction).
TOP_FRACTION, SHARE, MIN_ROWS = 0.01, 0.5, 20
# Up to this many rows the per-row losses are all computed; beyond, only those
# of the rows with the largest output deltas (the candidates for the top).
_EXACT_ROWS = 2000


def check_validation_args(estimator, X_val, y_val, sample_weight_val):
    """Refuse an inconsistent use of ``X_val``, ``y_val``, ``sample_weight_val``.

    Returns
    -------
    given : bool
        Whether a validation set was passed.
    """
    if X_val is None and y_val is None:
        if sample_weight_val is not None:
            raise ValueError(
                "sample_weight_val is passed to fit, but X_val and y_val are not: "
                "sample_weight_val weighs the rows of a validation set passed as "
                "X_val and y_val. Pass X_val and y_val too, or drop "
                "sample_weight_val (to weigh the split-off validation rows, pass "
                "sample_weight)."
            )
        return False
    if y_val is None:
        raise ValueError(
            "X_val is passed to fit, but y_val is not. Pass both X_val and y_val "
            "(the validation set early stopping scores), or neither."
        )
    if X_val is None:
        raise ValueError(
            "y_val is passed to fit, but X_val is not. Pass both X_val and y_val "
            "(the validation set early stopping scores), or neither."
        )
    if not estimator.early_stopping:
        raise ValueError(
            "X_val and y_val are passed to fit while early_stopping=False: the "
            "validation set is only used by early stopping. Set "
            "early_stopping=True to stop on it, or do not pass X_val and y_val."
        )
    if estimator.solver == "lbfgs":
        raise ValueError(
            "X_val and y_val are passed to fit with solver='lbfgs', which has no "
            "early stopping and would ignore them. Use solver='adam' or 'sgd' "
            "with early_stopping=True, or do not pass X_val and y_val."
        )
    return True


def prepare_validation(estimator, X_val, y_val, sample_weight_val, X, dtype, Y):
    """Validate and encode the user's validation set as the training data was.

    Parameters
    ----------
    estimator : BaseBackprop
        Its training data already validated (``n_features_in_``, classes).
    X_val, y_val, sample_weight_val
        What was passed to ``fit``.
    X : array
        The validated training data: ``X_val`` must be of its namespace and
        on its device.
    dtype : dtype
        The model's dtype (in ``xp``).
    Y : ndarray of shape (n_samples, n_outputs)
        The encoded training targets (for their number of columns).

    Returns
    -------
    val : ValidationSet
        ``X`` in the model's namespace and dtype, targets and weights (the class
        weights multiplied in) on the host.
    """
    xp = _xp.dispatch_namespace(X)
    X_val = _xp.plain_input(X_val)
    xp_val = _xp.dispatch_namespace(X_val)
    if _xp.namespace_name(xp_val) != _xp.namespace_name(xp):
        raise ValueError(
            f"X_val is {_xp.namespace_name(xp_val)} data but X is "
            f"{_xp.namespace_name(xp)} data: pass the validation set in the "
            "namespace (and on the device) of the training data."
        )
    X_val = _validate_with_hints(
        estimator,
        X_val,
        accept_sparse=["csr", "csc"],
        dtype=_xp.float_dtypes(xp),
        order="C",
        reset=False,
    )
    if xp is not np and str(_xp.device(X_val)) != str(_xp.device(X)):
        raise ValueError(
            f"X_val is on device {_xp.device(X_val)!r} but X on "
            f"{_xp.device(X)!r}: pass X_val on X's device."
        )
    X_val = clip_extreme(X_val, signal_limit(dtype, xp))
    if xp is np:
        X_val = X_val.astype(dtype, copy=False)
    else:
        X_val = xp.astype(X_val, dtype, copy=False)
    host_dtype = _xp.numpy_dtype(dtype)
    Y_val = estimator._encode_validation_targets(_xp.host(y_val), host_dtype)
    Y_val = np.asarray(Y_val, dtype=host_dtype)
    if Y_val.ndim == 1:
        Y_val = Y_val.reshape(-1, 1)
    if Y_val.shape[1] != Y.shape[1]:
        raise ValueError(
            f"y_val has {Y_val.shape[1]} output column(s) but y has {Y.shape[1]}. "
            "Pass validation targets with the columns of the training targets."
        )
    n_val = X_val.shape[0]
    check_consistent_length(np.empty((n_val, 0)), Y_val)
    weights = None
    if sample_weight_val is not None:
        try:
            weights = _check_sample_weight(
                _xp.host(sample_weight_val), np.empty((n_val, 0)), dtype=host_dtype
            )
        except ValueError as err:
            raise ValueError(
                f"sample_weight_val is not valid for the {n_val} rows of X_val: "
                f"{err} Pass one non-negative weight per validation row, some "
                "of them positive."
            ) from err
        if (weights < 0).any():
            raise ValueError(
                "sample_weight_val has negative values (the smallest is "
                f"{weights.min()}); weights must be non-negative. Use 0 to ignore "
                "a validation sample."
            )
        if not weights.any():  # scikit-learn < 1.7's check lets this through
            raise ValueError(
                f"sample_weight_val is not valid for the {n_val} rows of X_val: "
                "all its weights are 0. Give some validation rows a positive "
                "weight."
            )
    factor = estimator._validation_class_factors(Y_val)
    weights = _combine(weights, None if factor is None else factor.astype(host_dtype))
    # The validation loss compares with the targets the network trains on
    # (label_smoothing), as with the split carved from the training rows.
    return ValidationSet(X_val, estimator._smooth_targets(Y_val), weights)


def resolve_scorer(estimator):
    """Return the scorer ``scoring`` names, or None (built-in score or the loss).

    Raises ValueError for a combination that contradicts itself or a name that
    is no scorer; called before the fit changes anything.
    """
    scoring = getattr(estimator, "scoring", None)
    if scoring is None or scoring == "loss":
        return None
    if estimator.validation_metric == "loss":
        raise ValueError(
            f"scoring={scoring!r} and validation_metric='loss' contradict each "
            "other: both say what early stopping watches, and scoring takes over "
            "validation_metric when it is set. Use scoring='loss' (or leave "
            "scoring=None) to stop on the validation loss, or leave "
            "validation_metric='score' to stop on the scorer."
        )
    try:
        return check_scoring(estimator, scoring)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"scoring={scoring!r} is not a scorer: {err} Pass a scorer name "
            "(sklearn.metrics.get_scorer_names(), e.g. 'roc_auc', 'neg_log_loss', "
            "'r2'), a callable scorer(estimator, X, y), 'loss' or None."
        ) from err


def score_with(scorer, estimator, X, y, sample_weight):
    """Return a scorer's value (greater is better) on the validation set."""
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    try:
        return float(scorer(estimator, X, y, **kwargs))
    except ValueError as err:
        raise ValueError(
            f"scoring={estimator.scoring!r} failed on the validation set "
            f"({X.shape[0]} rows): {err} A validation set that lacks some classes "
            "defeats scorers such as 'neg_log_loss' and 'roc_auc': use "
            "scoring='loss' (the model's own loss, over all its classes), a "
            "scorer given the labels (sklearn.metrics.make_scorer(..., "
            "labels=...)), or a larger validation set. The estimator was left "
            "as it was before this call."
        ) from err


def _row_losses(loss, Y, out, rows):
    """Per-row losses ``ℓ_i`` (summed over outputs) of ``rows``, from ``value``."""
    return np.array([float(loss.value(Y[i : i + 1], out[i : i + 1])) for i in rows])


def dominant_rows(loss, Y, out, sample_weight=None):
    """Return the rows carrying the largest shares of a loss, and their shares.

    Each row's share is ``w_i ℓ_i / Σ_j w_j ℓ_j``. Per-row losses come from the
    loss's own ``value`` on one row at a time: all rows of a small set, and on a
    large one the rows with the largest weighted output deltas ``w_i‖δ_i‖²``
    (``output_delta``), the candidates for the top.

    Parameters
    ----------
    loss : Loss
    Y, out : ndarray of shape (n_samples, n_outputs)
        Encoded targets and network outputs (numpy).
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    rows : ndarray of int
        The top ``max(1, ceil(TOP_FRACTION · n))`` rows, largest share first.
    shares : ndarray of float
        Their shares of the loss (NaN-free; empty where the loss is 0 or not
        finite).
    """
    n = Y.shape[0]
    m = max(1, math.ceil(TOP_FRACTION * n))
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    with np.errstate(all="ignore"):
        total = float(loss.value(Y, out, sample_weight)) * float(w.sum())
    if not (np.isfinite(total) and total > 0):
        return np.empty(0, dtype=np.intp), np.empty(0)
    if n <= _EXACT_ROWS:
        candidates = np.arange(n)
    else:
        delta = np.asarray(loss.output_delta(Y, out.copy()), dtype=float)
        size = w * np.einsum("ij,ij->i", delta, delta)
        candidates = np.argpartition(-size, 4 * m)[: 4 * m]
    contrib = w[candidates] * _row_losses(loss, Y, out, candidates)
    top = np.argsort(-contrib, kind="stable")[:m]
    return candidates[top], contrib[top] / total


def warn_if_few_rows_dominate(estimator, val):
    """Warn once when a few rows carry most of the validation loss.

    Only where early stopping judges epochs by that loss; on the weights the
    fit ends with (the best epoch's), one forward pass over ``val.X``.
    """
    if criterion_metric(estimator) != "loss" or val.Y.shape[0] < MIN_ROWS:
        return
    out = _xp.to_numpy(estimator._forward(val.X))
    if not np.isfinite(out).all():
        return
    rows, shares = dominant_rows(estimator._loss, val.Y, out, val.sample_weight)
    if not len(shares) or shares.sum() <= SHARE:
        return
    n = val.Y.shape[0]
    if val.rows is None:
        where, names = "of X_val", rows
    else:
        # Positions in the X passed to fit, where the split drew them from.
        where = "of X, in the split-off validation_fraction"
        names = np.asarray(val.rows)[rows]
    listed = ", ".join(str(int(i)) for i in names[:5])
    listed = f"{'row' if len(names) == 1 else 'rows'} {listed}"
    listed += "" if len(names) <= 5 else ", ..."
    robust = "" if is_classifier(estimator) else "use a robust loss (loss='huber'), "
    _warn(
        f"{len(rows)} of the {n} validation rows "
        f"{'carries' if len(rows) == 1 else 'carry'} {shares.sum():.0%} of the "
        f"validation loss that early stopping watches (the largest alone "
        f"{shares[0]:.0%}; {listed} {where}). The stopping epoch is then chosen "
        "by these rows rather than by the data, which stops training early if "
        "they are outliers or errors. Inspect them and remove them if they are "
        "wrong; or stop on a score (validation_metric='score' or scoring=...), "
        f"{robust}or pass a clean validation set: fit(X, y, X_val=..., y_val=...).",
        UserWarning,
    )
