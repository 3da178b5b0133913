"""Undo: all-or-nothing fitting calls, and going back to an epoch on Ctrl-C.

:func:`_atomic` puts a failed call's estimator back as it was; :class:`_Snapshots`
keeps the weights divergence falls back on; :class:`_Checkpoint` records the last
completed epoch (weights, optimizer state, the estimator's records) for Ctrl-C.
"""

import copy
import functools

from .._core import xp as _xp


def _atomic(method):
    """Make a fitting method all-or-nothing: if it raises, undo every change.

    The estimator's attributes are recorded before the call; if anything raises
    (invalid input, a divergence that left no trained weights, an error in a
    callback), they are put back exactly, so a failed call leaves the estimator as
    it was, and a failed first fit leaves it unfitted. Fitting rebinds weights to
    a new network rather than writing into the old arrays; the objects it changes
    in place (lists such as ``loss_curve_``, the optimizer's state) are copied.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(vars(self))
        lists = {k: list(v) for k, v in saved.items() if type(v) is list}
        optimizer = copy.deepcopy(saved.get("_optimizer"))
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(saved)
            for key, items in lists.items():
                saved[key][:] = items
            if optimizer is not None:
                self._optimizer = optimizer
            raise

    return wrapper


class _Snapshots:
    """The starting weights and those after the last two finite epochs."""

    def __init__(self, params):
        self._xp = _xp.namespace(params)
        self._items = [(0, _xp.copy(params, self._xp))]

    def append(self, epoch, params):
        """Record the weights after ``epoch`` (reusing the oldest buffer)."""
        if len(self._items) < 3:
            self._items.append((epoch, _xp.copy(params, self._xp)))
            return
        _, buf = self._items.pop(1)
        buf[...] = params
        self._items.append((epoch, buf))

    def latest(self):
        """Return the most recent weights."""
        return self._items[-1][1]

    def latest_first(self):
        """``(epoch, params)`` pairs, newest first, the starting weights last."""
        return reversed(self._items)


class _Checkpoint:
    """Everything the last completed epoch left, to go back to on Ctrl-C.

    The weights (recorded in ``history``, the :class:`_Snapshots` that divergence
    falls back on), the optimizer's state (momentum, moment estimates, step count,
    the learning rate its schedule reached) and the estimator's attributes
    (``n_iter_``, ``t_``, ``loss_curve_``, the early-stopping records...), all of
    one moment, so that training continues from an interrupted fit exactly as
    from one that stopped there.

    Ctrl-C can arrive between any two Python steps, also during a save. A save is
    made when an epoch has just completed, so while one is under way the live
    state *is* that completed epoch: :meth:`restore` then keeps it.
    """

    def __init__(self, estimator, params, optimizer, history):
        self._estimator, self._params = estimator, params
        self._optimizer, self.history = optimizer, history
        self._saving = False
        self._optimizer_state = optimizer.snapshot()
        self._attributes = self._record()

    def _record(self):
        """Return the estimator's attributes and the lengths of its lists."""
        attributes = dict(vars(self._estimator))
        lengths = {k: len(v) for k, v in attributes.items() if type(v) is list}
        return attributes, lengths

    def save(self, epoch, arrays=True):
        """Record the state after ``epoch``, which has just completed.

        ``arrays=False`` records only what changes without the weights and
        optimizer arrays changing (the learning rate and counters after a stall
        check).
        """
        self._saving = True
        if arrays:
            self.history.append(epoch, self._params)
        self._optimizer_state = self._optimizer.snapshot(
            into=self._optimizer_state, arrays=arrays
        )
        self._attributes = self._record()
        self._saving = False

    def restore(self):
        """Go back to the last record (unless interrupted during a save)."""
        if self._saving:
            return
        self._params[...] = self.history.latest()
        self._optimizer.restore(self._optimizer_state)
        attributes, lengths = self._attributes
        state = vars(self._estimator)
        state.clear()
        state.update(attributes)
        for key, length in lengths.items():
            del attributes[key][length:]
