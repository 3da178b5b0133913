"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9).

``set_callbacks`` registers scikit-learn callbacks (``ProgressBar``,
``ScoringMonitor``, any ``FitCallback``) on an estimator; meta-estimators
(``Pipeline``, ``GridSearchCV``) propagate theirs to it. Each ``fit`` then reports
a tree of tasks to them: the root task ``"fit"`` (``"partial_fit"``) with one
subtask per epoch (``"epoch"``, stochastic solvers) or per L-BFGS iteration
(``"iteration"``). A subtask's ``fitted_estimator`` predicts with the weights of
that epoch, and a callback returning True from ``on_fit_task_end`` stops training
after it, as skbackprop's own ``on_epoch_end`` does.

Everything that depends on ``sklearn.callback`` lives here. With an older
scikit-learn, ``set_callbacks`` does not exist (``hasattr`` is False) and asking
for it says why; ``callbacks=`` works with every supported version.
"""

import sklearn

from .._core import xp as _xp
from .._training.hooks import _callbacks
from .available import _available_if

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9
    CallbackSupportMixin = None

# Whether this scikit-learn has the callback API (a name tests can switch off).
SUPPORTED = CallbackSupportMixin is not None

# The hooks of skbackprop's own protocol (skbackprop.callbacks).
_OWN_HOOKS = ("on_fit_begin", "on_epoch_begin", "on_epoch_end", "on_fit_end")


def _check_supported(estimator):
    if not SUPPORTED:
        raise AttributeError(
            f"{type(estimator).__name__}.set_callbacks needs scikit-learn >= 1.9 "
            f"(its sklearn.callback module); this is scikit-learn "
            f"{sklearn.__version__}. Upgrade scikit-learn, or pass skbackprop's "
            "callbacks as callbacks=[...] (for example "
            "skbackprop.callbacks.ProgressBar()), which work with every supported "
            "scikit-learn."
        )
    return True


class SklearnCallbackMixin(CallbackSupportMixin or object):
    """``set_callbacks`` and the reporting of each fit to scikit-learn's callbacks."""

    @_available_if(_check_supported)
    def set_callbacks(self, *callbacks):
        """Register scikit-learn callbacks (``sklearn.callback``, scikit-learn >= 1.9).

        Each fit reports its root task (``"fit"`` or ``"partial_fit"``) and one
        subtask per epoch (``"epoch"``) or, with ``solver="lbfgs"``, per iteration
        (``"iteration"``). A callback returning True from ``on_fit_task_end``
        stops training after that epoch. Callbacks set on a meta-estimator
        (``Pipeline``, ``GridSearchCV``) reach this estimator as scikit-learn
        propagates them. skbackprop's own callbacks (:mod:`skbackprop.callbacks`)
        may be registered here too: they receive their usual hooks.

        Available only with scikit-learn >= 1.9; with an older version use the
        ``callbacks`` parameter.

        Parameters
        ----------
        *callbacks : callback instances
            Objects following scikit-learn's ``FitCallback`` protocol, such as
            ``sklearn.callback.ProgressBar()`` or
            ``sklearn.callback.ScoringMonitor(scoring=...)``. No argument removes
            the registered callbacks.

        Returns
        -------
        self : object
            The estimator.
        """
        return super().set_callbacks(*callbacks)

    def _fit_callbacks(self):
        """Return the objects the training loops notify with skbackprop's hooks.

        The ``callbacks`` parameter's, those registered with ``set_callbacks``
        that have skbackprop's hooks, and the reporter of this fit's tasks to
        scikit-learn's callbacks (when any are registered).
        """
        own = _callbacks(self.callbacks)
        registered = [
            cb
            for cb in getattr(self, "_skl_callbacks", ())
            if any(callable(getattr(cb, hook, None)) for hook in _OWN_HOOKS)
            and not any(cb is other for other in own)
        ]
        tasks = getattr(self, "_fit_tasks", None)
        return own + registered + ([] if tasks is None else [tasks])

    def _check_callbacks_param(self):
        """Refuse scikit-learn callbacks in ``callbacks=`` (they would do nothing)."""
        given = self.callbacks
        if given is None:
            return
        # Before _callbacks' generic "no hook methods" error: this one says
        # where a scikit-learn callback goes.
        for cb in given if isinstance(given, list | tuple) else [given]:
            ours = any(callable(getattr(cb, hook, None)) for hook in _OWN_HOOKS)
            if not ours and callable(getattr(cb, "on_fit_task_end", None)):
                name = type(cb).__name__
                raise TypeError(
                    f"callbacks=[{name}(...)]: {name} is a scikit-learn callback "
                    "(sklearn.callback protocol), which the callbacks parameter does "
                    f"not call. Register it with "
                    f"{type(self).__name__}(...).set_callbacks({name}(...)), or use "
                    "skbackprop's own (skbackprop.callbacks) in callbacks=[...]."
                )

    def _start_fit_tasks(self, X, y, sample_weight, incremental):
        """Open the root task of this fit; None when no callback is registered.

        ``X``, ``y`` and ``sample_weight`` are what the user passed: what the
        callbacks score on (``ScoringMonitor``).
        """
        if not SUPPORTED or not getattr(self, "_skl_callbacks", None):
            return None
        self._fit_tasks = _FitTasks(self, X, y, sample_weight, incremental)
        return self._fit_tasks

    def _end_fit_tasks(self):
        """Close the root task of this fit, once its fitted state is complete."""
        tasks = self.__dict__.pop("_fit_tasks", None)
        if tasks is not None:
            tasks.end()


class _FitTasks:
    """Reports one fit to scikit-learn's callbacks as a root task and subtasks.

    It is notified by the training loops with skbackprop's hooks
    (``on_epoch_begin``, ``on_epoch_end``, ``on_fit_end``) and turns them into
    ``on_fit_task_begin`` and ``on_fit_task_end`` calls on the task contexts.
    """

    def __init__(self, estimator, X, y, sample_weight, incremental):
        self._estimator = estimator
        stochastic = estimator.solver in ("sgd", "adam")
        self._task_name = "epoch" if stochastic else "iteration"
        self._max_subtasks = 1 if incremental else estimator.max_iter
        self._n_subtasks = 0
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self._data = dict(X=X, y=y, metadata=metadata)
        self._current = None
        self._root = estimator._init_callback_context(
            task_name="partial_fit" if incremental else "fit",
            max_subtasks=self._max_subtasks,
        )
        self._root.call_on_fit_task_begin(estimator=estimator, **self._data)

    def _snapshot(self, n_iter, loss=None):
        """Fitted attributes as if the fit had stopped now (copies, taken lazily)."""
        est = self._estimator
        xp = _xp.namespace(est.coefs_[0])
        attrs = {
            "coefs_": [_xp.copy(c, xp) for c in est.coefs_],
            "intercepts_": [_xp.copy(b, xp) for b in est.intercepts_],
            "activation_params_": [
                None if p is None else _xp.copy(p, xp) for p in est.activation_params_
            ],
            "n_iter_": n_iter,
        }
        if loss is not None:
            attrs["loss_"] = loss
        for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
            value = getattr(est, name, None)
            if isinstance(value, list):
                attrs[name] = list(value)
        return attrs

    def on_epoch_begin(self, estimator, logs):
        """Open the epoch's (iteration's) subtask."""
        self._close_current()
        if self._n_subtasks >= self._max_subtasks:
            return
        self._n_subtasks += 1
        epoch = logs["epoch"]
        self._current = self._root.subcontext(task_name=self._task_name)
        self._current.call_on_fit_task_begin(
            estimator=estimator,
            reconstruction_attributes=lambda: self._snapshot(epoch - 1),
            **self._data,
        )

    def on_epoch_end(self, estimator, logs):
        """Close the epoch's subtask; True if a callback asked to stop."""
        ctx, self._current = self._current, None
        if ctx is None:
            return False
        epoch, loss = logs["epoch"], logs["loss"]
        return ctx.call_on_fit_task_end(
            estimator=estimator,
            reconstruction_attributes=lambda: self._snapshot(epoch, loss),
            **self._data,
        )

    def on_fit_end(self, estimator, logs):
        """End a subtask that never finished (divergence, ``max_fun``), empty."""
        self._close_current()

    def _close_current(self):
        ctx, self._current = self._current, None
        if ctx is not None:
            ctx.call_on_fit_task_end(estimator=self._estimator)

    def end(self):
        """End the root task: the estimator is fitted."""
        self._close_current()
        self._root.call_on_fit_task_end(
            estimator=self._estimator, reconstruction_attributes={}, **self._data
        )


class MetaCallbackMixin(CallbackSupportMixin or object):
    """``set_callbacks`` for a meta-estimator that fits one network.

    :class:`~skbackprop.HiddenFeatures`: its fit is a root task with one
    subtask, the fit of the network, to which scikit-learn propagates the
    auto-propagated callbacks (``ProgressBar``), as ``Pipeline`` does for its
    steps.
    """

    @_available_if(_check_supported)
    def set_callbacks(self, *callbacks):
        """Register scikit-learn callbacks (``sklearn.callback``, scikit-learn >= 1.9).

        ``fit`` reports its root task ``"fit"`` and one subtask, the fit of the
        network (``"fit-network"``), to which auto-propagated callbacks such as
        ``sklearn.callback.ProgressBar`` are propagated: the network then reports
        its epochs. Available only with scikit-learn >= 1.9.

        Parameters
        ----------
        *callbacks : callback instances
            Objects following scikit-learn's ``FitCallback`` protocol. No
            argument removes the registered callbacks.

        Returns
        -------
        self : object
            The estimator.
        """
        return super().set_callbacks(*callbacks)

    def _fit_network(self, estimator, X, y, **fit_params):
        """Fit ``estimator`` as this fit's one subtask, propagating callbacks."""
        if not SUPPORTED or not getattr(self, "_skl_callbacks", None):
            return estimator.fit(X, y, **fit_params)
        root = self._init_callback_context(max_subtasks=1)
        root.call_on_fit_task_begin(estimator=self, X=X, y=y)
        subtask = root.subcontext(task_name="fit-network")
        with subtask.propagate_callback_context(estimator):
            subtask.call_on_fit_task_begin(estimator=self, X=X, y=y)
            estimator.fit(X, y, **fit_params)
            subtask.call_on_fit_task_end(estimator=self, X=X, y=y)
        root.call_on_fit_task_end(estimator=self, X=X, y=y)
        return estimator
