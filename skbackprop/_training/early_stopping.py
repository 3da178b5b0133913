"""Early stopping: when training stopped improving, and the best weights so far.

:class:`EarlyStoppingState` is the one place that keeps and changes the
stopping bookkeeping of the stochastic solvers, for both criteria:

- without ``early_stopping``, the training loss: an epoch improves when its
  loss is below the best so far by more than ``tol``;
- with ``early_stopping``, the held-out validation set: an epoch improves when
  its criterion (the score, or minus the validation loss with
  ``validation_metric="loss"`` or ``scoring="loss"``; a scorer's value with
  another ``scoring``) is above the best so far by at least ``tol``, and the
  weights of the best epoch are kept, to be restored when training ends.

``tol`` is absolute by default (scikit-learn's rule); with
``tol_mode="relative"`` the margin is ``tol`` times the magnitude of the best
value so far, so that it means the same on any target scale.

After more than ``n_iter_no_change`` epochs in a row without improvement,
:meth:`EarlyStoppingState.stalled` says so; the optimizer decides whether that
stops training (SGD's ``adaptive`` schedule lowers its rate and goes on).

The state is stored in the attributes of a *record*: for an estimator, the
estimator itself, under the names scikit-learn's MLP gives them
(``best_loss_``, ``_no_improvement_count``, ``validation_scores_``,
``best_validation_score_``, ...). Saved models, ``warm_start`` and
``partial_fit`` continuation, the all-or-nothing undo of a failed call and the
Ctrl-C checkpoint all work on the estimator's attributes, so they need to know
nothing of this class; and it is the only code that writes them. Without a
record (the default) the state lives in a fresh namespace of its own, which is
how the tests use it, without any fit.
"""

import types

import numpy as np

from .._core import xp as _xp


def criterion_metric(estimator):
    """Return what the validation criterion is: "score", "loss" or "scorer".

    ``scoring`` (when set) decides; ``scoring=None`` defers to
    ``validation_metric`` (its default "score": accuracy or R²).
    """
    scoring = getattr(estimator, "scoring", None)
    if scoring is None or scoring == "loss":
        return "loss" if scoring == "loss" else estimator.validation_metric
    return "scorer"


class _Field:
    """A piece of the state: the record's attribute ``name``."""

    def __init__(self, name, doc):
        self.name = name
        self.__doc__ = doc

    def __get__(self, state, owner=None):
        if state is None:
            return self
        return getattr(state.record, self.name)

    def __set__(self, state, value):
        setattr(state.record, self.name, value)


class EarlyStoppingState:
    """The stopping rule of the stochastic solvers, and its state.

    Parameters
    ----------
    record : object, default=None
        Where the state is stored, as attributes under the estimator's names
        (the estimator; see the module's docstring). None stores it in a new
        namespace.
    tol : float, default=1e-4
        The improvement an epoch must make to count as one.
    n_iter_no_change : int or inf, default=10
        Epochs without improvement tolerated before :meth:`stalled` is True.
    validation : bool, default=False
        Judge epochs on a validation set (``early_stopping=True``) rather than
        on the training loss.
    metric : {"score", "loss", "scorer"}, default="score"
        The validation criterion: the score (the estimator's, or with "scorer"
        a ``scoring`` scorer's: the value passed to
        :meth:`record_validation` either way), or the validation loss.
    ties_by_loss : bool, default=False
        With a score (``metric="score"`` or a scorer), an epoch that ties the
        best score (within ``tol``) counts when its validation loss is lower
        (the estimators set it with ``class_weight``, whose weighted accuracy
        saturates).
    relative : bool, default=False
        Whether ``tol`` is relative: the margin an epoch must beat the best by
        is ``tol · |best|`` (``tol`` itself while the best is not finite).
    """

    loss_curve = _Field("loss_curve_", "Training loss of each epoch (list).")
    best_loss = _Field(
        "best_loss_", "Lowest training loss so far (None with validation)."
    )
    no_improvement_count = _Field(
        "_no_improvement_count", "Epochs in a row without improvement."
    )
    validation_scores = _Field(
        "validation_scores_", "Validation score of each epoch (list or None)."
    )
    validation_losses = _Field(
        "validation_loss_curve_", "Validation loss of each epoch (list or None)."
    )
    best_validation_score = _Field(
        "best_validation_score_", "The best epoch's validation score."
    )
    best_criterion = _Field(
        "_best_criterion",
        "The best epoch's criterion (higher is better: the score, or minus the "
        "validation loss); -inf before any epoch was scored.",
    )
    best_validation_loss = _Field(
        "_best_val_loss", "The best epoch's validation loss (inf before any)."
    )
    best_params = _Field(
        "_best_params", "A copy of the best epoch's flat parameters, or None."
    )

    def __init__(
        self,
        record=None,
        *,
        tol=1e-4,
        n_iter_no_change=10,
        validation=False,
        metric="score",
        ties_by_loss=False,
        relative=False,
    ):
        self.record = types.SimpleNamespace() if record is None else record
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.validation = validation
        self.metric = metric
        self.ties_by_loss = ties_by_loss
        self.relative = relative

    @classmethod
    def of(cls, estimator):
        """Return the state of ``estimator``, under its current parameters.

        Parameters
        ----------
        estimator : BaseBackprop
            The record, and the source of ``tol``, ``tol_mode``,
            ``n_iter_no_change``, ``early_stopping``, ``validation_metric``,
            ``scoring`` and ``class_weight`` (read afresh each time:
            ``set_params`` between calls is honoured).

        Returns
        -------
        state : EarlyStoppingState
        """
        metric = criterion_metric(estimator)
        return cls(
            estimator,
            tol=estimator.tol,
            n_iter_no_change=estimator.n_iter_no_change,
            validation=estimator.early_stopping,
            metric=metric,
            ties_by_loss=metric != "loss"
            and getattr(estimator, "class_weight", None) is not None,
            relative=getattr(estimator, "tol_mode", "absolute") == "relative",
        )

    def _margin(self, best):
        """Return the improvement over ``best`` an epoch must make (``tol``)."""
        if self.relative and np.isfinite(best):
            return self.tol * abs(best)
        return self.tol

    def _get(self, name, default=None):
        """Return field ``name``'s value, or ``default`` where the record has none."""
        return getattr(self.record, getattr(type(self), name).name, default)

    # ------------------------------------------------------- fits and calls
    def start(self, stochastic=True):
        """Start the bookkeeping of a fresh fit (new weights).

        Parameters
        ----------
        stochastic : bool, default=True
            Whether the solver is stochastic; L-BFGS keeps no stopping records.
        """
        self.best_params = None
        if stochastic:
            self.loss_curve = []
            self.no_improvement_count = 0
            self.best_loss = None
            self.validation_scores = None
            self.sync()

    def sync(self):
        """Make the bookkeeping match the criterion (``validation``).

        Done on a fresh fit and whenever a fit continues, so that switching
        ``early_stopping`` (or from L-BFGS to a stochastic solver) under
        ``warm_start`` starts its own bookkeeping instead of crashing on the
        other mode's records. The training-loss criterion takes the lowest loss
        of the curve so far as its best.
        """
        if self._get("loss_curve") is None:
            self.loss_curve = []
            self.no_improvement_count = 0
        if self.validation and self._get("validation_scores") is None:
            self.validation_scores = []
            self.validation_losses = []
            self.best_validation_score = -np.inf
            self.best_criterion = -np.inf
            self.best_validation_loss = np.inf
            self.best_params = None
            self.best_loss = None
            self.no_improvement_count = 0
        elif not self.validation and self._get("best_loss") is None:
            self.best_loss = min(self.loss_curve, default=np.inf)
            self.validation_scores = None
            self.validation_losses = None
            self.best_validation_score = None
            self.no_improvement_count = 0

    def resume(self, stochastic, network_changed, loss_changed):
        """Carry the bookkeeping over to a continued fit (warm_start, partial_fit).

        Parameters
        ----------
        stochastic : bool
            Whether this call's solver is stochastic.
        network_changed : bool
            Whether the activations or the loss changed since the last call:
            the best weights so far were scored with the old ones, so they are
            no reference for the new network and are forgotten.
        loss_changed : bool
            Whether the loss changed: training losses of another objective are
            no reference for the new one's, so the training-loss criterion
            starts afresh.
        """
        if network_changed and self._get("validation_scores") is not None:
            self.best_params = None
            self.best_criterion = -np.inf
            self.best_validation_loss = np.inf
            self.best_validation_score = -np.inf
        if stochastic:
            self.sync()
            if loss_changed and not self.validation:
                self.best_loss = np.inf
                self.no_improvement_count = 0

    def begin_validation(self, params, xp=None):
        """Take ``params`` as the best so far, unless trained best ones fit them.

        Called as a fit with a validation set begins: nothing better has been
        seen yet than the starting weights (a new fit, or a best of another
        shape).

        Parameters
        ----------
        params : array of shape (n_params,)
            The starting flat parameters (copied).
        xp : namespace, default=None
            Their namespace (found from ``params`` if None).
        """
        best = self.best_params
        if best is None or best.shape != params.shape:
            xp = _xp.namespace(params) if xp is None else xp
            self.best_params = _xp.copy(params, xp)

    # ------------------------------------------------------------- epochs
    def record_loss(self, loss):
        """Judge an epoch by its training loss (without ``validation``).

        Parameters
        ----------
        loss : float
            The epoch's training loss (already in :attr:`loss_curve`).
        """
        if loss > self.best_loss - self._margin(self.best_loss):
            self.no_improvement_count += 1
        else:
            self.no_improvement_count = 0
        if loss < self.best_loss:
            self.best_loss = loss

    def record_validation(self, score, loss, params, xp=None):
        """Record an epoch's validation figures and judge it by them.

        Parameters
        ----------
        score : float
            Validation score (NaN where the predictions were not finite).
        loss : float
            Validation loss (NaN likewise).
        params : array of shape (n_params,)
            The epoch's flat parameters, copied if it is the best so far.
        xp : namespace, default=None
            Their namespace (found from ``params`` if None).
        """
        self.validation_scores.append(score)
        self.validation_losses.append(loss)
        # Higher is better for the criterion: the score (a scorer's value), or
        # minus the loss.
        criterion = -loss if self.metric == "loss" else score
        best = self.best_criterion
        improved = criterion >= best + self._margin(best)
        better = criterion > best
        if self.ties_by_loss and abs(criterion - best) < max(self._margin(best), 1e-12):
            # With class weights the weighted accuracy saturates (extreme weights
            # make it 1 as soon as the heavy classes are right), so an epoch that
            # ties the best score (within tol) counts when its weighted validation
            # loss is lower: the class weights decide what the best epoch is.
            best_loss = self.best_validation_loss
            improved = loss <= best_loss - self._margin(best_loss)
            better = loss < self.best_validation_loss
        if improved:
            self.no_improvement_count = 0
        else:
            self.no_improvement_count += 1
        if better:
            # A tie decided by the loss may be slightly lower in score: keep the
            # top score as the reference, so the best cannot drift down.
            self.best_criterion = max(criterion, best)
            self.best_validation_loss = loss
            self.best_validation_score = score
            xp = _xp.namespace(params) if xp is None else xp
            self.best_params = _xp.copy(params, xp)

    # ------------------------------------------------------------ decisions
    def stalled(self):
        """Whether more than ``n_iter_no_change`` epochs in a row did not improve.

        Returns
        -------
        stalled : bool
        """
        return self.no_improvement_count > self.n_iter_no_change

    def message(self):
        """Say why training stalled (for the optimizer's decision and verbose).

        Returns
        -------
        message : str
        """
        what = "Validation score" if self.validation else "Training loss"
        how = " (relative to the best value)" if self.relative else ""
        return (
            f"{what} did not improve more than tol={self.tol:f}{how} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )

    def carry_on(self):
        """Count afresh: training goes on after a stall (a lowered learning rate)."""
        self.no_improvement_count = 0

    def trained_best(self):
        """Return the best epoch's weights, or None if no epoch was scored.

        Only once an epoch has been scored are the "best" weights trained ones
        (before, they are the starting weights): a divergence falls back on
        them first.

        Returns
        -------
        params : array or None
        """
        if self.validation and self.best_criterion > -np.inf:
            return self.best_params
        return None

    def restore_best(self, params):
        """Write the best epoch's weights into ``params`` (in place).

        Parameters
        ----------
        params : array of shape (n_params,)
            The network's flat parameters.
        """
        params[...] = self.best_params
