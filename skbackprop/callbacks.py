"""Callbacks: extend training without subclassing the estimators.

Pass objects with any of the three hooks below as ``callbacks=[...]`` to
:class:`~skbackprop.BackpropClassifier` or :class:`~skbackprop.BackpropRegressor`.
The estimator calls them on the objects you passed (it does not clone them):

``on_fit_begin(estimator, logs)``
    Before the first epoch of ``fit`` or ``partial_fit``; ``logs`` has
    ``n_samples`` (training rows, after the early-stopping split).
``on_epoch_begin(estimator, logs)``
    Before each epoch (for ``solver="lbfgs"``: at the first evaluation of each
    iteration); ``logs`` has ``epoch``, the number of the epoch about to run. An
    epoch that does not finish (divergence, ``max_fun`` reached in the middle of
    an L-BFGS iteration) has no ``on_epoch_end``.
``on_epoch_end(estimator, logs)``
    After each epoch (each iteration for ``solver="lbfgs"``). ``logs`` has
    ``epoch``, ``loss`` (training objective, L2 term included),
    ``gradient_norms`` (ndarray, one entry per layer), ``learning_rate`` (None for
    lbfgs), ``elapsed`` (seconds since the fit began) and, with early stopping,
    ``validation_score`` and ``validation_loss``. Returning True (or a numpy
    boolean) stops training after this epoch; returning an array of several
    values is an error: ``n_iter_`` is this epoch and the model can predict (with
    ``solver="lbfgs"`` too, on every supported scipy).
``on_fit_end(estimator, logs)``
    After training; ``logs`` has ``n_iter``.

Any object with at least one of these methods works (one with none of them is
refused as the fit starts); :class:`Callback` is a convenient base with
no-op hooks and scikit-learn style parameters (so ``clone`` and ``get_params``
work). Built-ins: :class:`ProgressBar` and :class:`StopOnLoss`. There is no
``History`` callback: the fitted estimator already keeps ``loss_curve_``,
``validation_scores_``, ``validation_loss_curve_`` and ``gradient_norms_``.

With scikit-learn >= 1.9 the estimators also take scikit-learn's callbacks
(``sklearn.callback``) through ``set_callbacks``. A :class:`Callback` (the
built-ins included) follows that protocol too, so it may be registered either
way: ``set_callbacks(StopOnLoss(0.1))`` gives it the same hooks and figures as
``callbacks=[StopOnLoss(0.1)]``. The difference: a ``callbacks=`` entry is a
parameter (cloned with the estimator, so each fit of a search gets a fresh one,
and shown in ``get_params``), while ``set_callbacks`` shares one instance among
clones, as scikit-learn's callbacks expect.
"""

import sys
import threading
import time
import warnings
import weakref
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator

from ._estimator.messages import _warn

__all__ = ["Callback", "ProgressBar", "StopOnLoss"]


class Callback(BaseEstimator):
    """Base class of training callbacks, with hooks that do nothing.

    Override the hooks you need. Store constructor arguments unchanged, as for a
    scikit-learn estimator, so that ``clone`` of an estimator holding the
    callback builds a fresh one with the same parameters.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.callbacks import Callback
    >>> class StopAfter(Callback):
    ...     def __init__(self, n_epochs=3):
    ...         self.n_epochs = n_epochs
    ...     def on_epoch_end(self, estimator, logs):
    ...         return logs["epoch"] >= self.n_epochs
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(callbacks=[StopAfter(3)], random_state=0).fit(X, y)
    >>> clf.n_iter_
    3
    """

    def on_fit_begin(self, estimator, logs):
        """Call before the first epoch.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        logs : dict
            ``n_samples``: the number of training rows.
        """

    def on_epoch_begin(self, estimator, logs):
        """Call before each epoch (each iteration for lbfgs).

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        logs : dict
            ``epoch``: the number of the epoch about to run.
        """

    def on_epoch_end(self, estimator, logs):
        """Call after each epoch (each iteration for lbfgs).

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        logs : dict
            The epoch's figures: ``epoch``, ``loss``, ``gradient_norms``,
            ``learning_rate``, ``elapsed`` and, with early stopping,
            ``validation_score`` and ``validation_loss``.

        Returns
        -------
        stop : bool or None
            True stops training after this epoch.
        """

    def on_fit_end(self, estimator, logs):
        """Call after training.

        Parameters
        ----------
        estimator : estimator
            The fitted estimator.
        logs : dict
            ``n_iter``: the number of epochs (iterations) trained.
        """

    # scikit-learn's callback protocol (sklearn.callback.FitCallback), so that
    # ``estimator.set_callbacks(callback)`` accepts this object. A skbackprop
    # estimator calls the hooks above on the callbacks so registered; these four
    # only check where the callback was registered.
    def setup(self, estimator, context):
        """Check that ``estimator`` is one this callback acts on.

        Part of scikit-learn's callback protocol (``set_callbacks``).

        Parameters
        ----------
        estimator : estimator
            The estimator the callback was registered on.
        context : sklearn.callback.CallbackContext
            The fit's root task.
        """
        if not callable(getattr(estimator, "_fit_callbacks", None)):
            _warn(
                f"{type(self).__name__} was registered with set_callbacks on "
                f"{type(estimator).__name__}, but it acts only on skbackprop's "
                "estimators and will do nothing there. Register it on the "
                "BackpropClassifier or BackpropRegressor itself (inside a pipeline: "
                "pipeline[-1].set_callbacks(...)), or pass it as callbacks=[...]."
            )

    def on_fit_task_begin(self, estimator, context):
        """Do nothing: the estimator calls :meth:`on_epoch_begin` instead.

        Part of scikit-learn's callback protocol (``set_callbacks``).

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        context : sklearn.callback.CallbackContext
            The task that begins.
        """

    def on_fit_task_end(self, estimator, context):
        """Do nothing: the estimator calls :meth:`on_epoch_end` instead.

        Part of scikit-learn's callback protocol (``set_callbacks``).

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        context : sklearn.callback.CallbackContext
            The task that ended.
        """

    def teardown(self, estimator, context):
        """Do nothing: the estimator calls :meth:`on_fit_end` instead.

        Part of scikit-learn's callback protocol (``set_callbacks``).

        Parameters
        ----------
        estimator : estimator
            The estimator that was fitted.
        context : sklearn.callback.CallbackContext
            The fit's root task.
        """


def _tqdm():
    """Return the ``tqdm`` class, or None when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


class ProgressBar(Callback):
    """Show training progress: epoch out of ``max_iter``, loss, validation score.

    Uses tqdm when it is installed (``pip install tqdm``, the ``progress`` extra);
    otherwise a plain single line on standard error, rewritten in place after a
    carriage return. The bar is closed when the fit ends. When early stopping or
    a callback ends training before ``max_iter``, the bar stops short of its total.
    Each ``partial_fit`` call is a fit of one epoch and shows a bar of its own.

    A warning shown while the bar is open (such as the ``ConvergenceWarning``
    at ``max_iter``) is written on lines of its own above the bar: the bar is
    cleared, the warning printed, and the bar drawn again below it. For this
    the bar wraps :func:`warnings.showwarning` during the fit and restores it
    when the fit ends (after a fit that raised: at the next warning shown).

    The bar exists only during ``fit``: cloning or pickling the estimator (or the
    callback) never carries it along.

    Parameters
    ----------
    desc : str, default=None
        Text in front of the bar; None uses the estimator's class name.
    mininterval : float, default=0.1
        Minimum seconds between two refreshes of the display; 0 refreshes after
        every epoch. The last epoch is always shown.

    See Also
    --------
    StopOnLoss : Stop training when the loss reaches a target.

    Examples
    --------
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.callbacks import ProgressBar
    >>> clf = BackpropClassifier(callbacks=[ProgressBar()])
    """

    def __init__(self, *, desc=None, mininterval=0.1):
        self.desc = desc
        self.mininterval = mininterval

    # Attributes that live only during a fit; never cloned, pickled or hashed.
    _RUNTIME = ("_bar", "_line_state", "_showwarning")

    def __getstate__(self):
        """Return the picklable state: the parameters, without a live bar.

        Returns
        -------
        state : dict
            The instance's state without the attributes used during a fit.
        """
        state = super().__getstate__()
        return {k: v for k, v in state.items() if k not in self._RUNTIME}

    def on_fit_begin(self, estimator, logs):
        """Open the bar.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted; its ``max_iter`` is the bar's total.
        logs : dict
            Unused.

        Raises
        ------
        TypeError or ValueError
            If ``desc`` is not a str or None, or ``mininterval`` is not a
            non-negative number: raised as the fit begins, before any epoch.
        """
        _check_progress_params(self)
        self._close()  # a bar left open by a fit that raised
        total = getattr(estimator, "max_iter", None)
        desc = type(estimator).__name__ if self.desc is None else self.desc
        unit = "iter" if getattr(estimator, "solver", None) == "lbfgs" else "epoch"
        tqdm = _tqdm()
        if tqdm is not None:
            self._bar = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                file=sys.stderr,
                mininterval=self.mininterval,
                dynamic_ncols=True,
            )
        else:
            self._line_state = {
                "desc": desc,
                "unit": unit,
                "total": total,
                "text": None,
                "width": 0,
                "written": -np.inf,
            }
        self._showwarning = _install_showwarning(self, estimator)

    def on_epoch_end(self, estimator, logs):
        """Advance the bar by one epoch and show the loss (and validation score).

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        logs : dict
            The epoch's figures; ``epoch``, ``loss`` and, when present,
            ``validation_score`` are shown.

        Returns
        -------
        stop : bool
            Always False: a progress bar never stops training.
        """
        loss = f"{logs['loss']:.4g}"
        score = logs.get("validation_score")
        score = None if score is None else f"{score:.4f}"
        bar = getattr(self, "_bar", None)
        if bar is not None:
            postfix = {"loss": loss}
            if score is not None:
                postfix["val_score"] = score
            bar.set_postfix(postfix, refresh=False)
            bar.update(logs["epoch"] - bar.n)
            return False
        state = getattr(self, "_line_state", None)
        if state is None:  # called without on_fit_begin
            return False
        total = "" if state["total"] is None else f"/{state['total']}"
        text = f"{state['desc']}: {state['unit']} {logs['epoch']}{total}, loss {loss}"
        if score is not None:
            text += f", validation score {score}"
        state["text"] = text
        if time.perf_counter() - state["written"] >= self.mininterval:
            self._write_line(state)
        return False

    def on_fit_end(self, estimator, logs):
        """Show the last epoch and close the bar.

        Parameters
        ----------
        estimator : estimator
            The fitted estimator.
        logs : dict
            Unused.
        """
        self._close()

    def _write_line(self, state):
        """Rewrite the fallback line in place."""
        text = state["text"]
        # Pad with spaces to wipe a longer previous line.
        sys.stderr.write("\r" + text.ljust(state["width"]))
        sys.stderr.flush()
        state["width"] = len(text)
        state["written"] = time.perf_counter()
        state["shown"] = text

    def _clear(self):
        """Wipe the bar off its line, so that a warning can be printed there."""
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.clear()
            return
        state = getattr(self, "_line_state", None)
        if state is not None and state.get("shown") is not None:
            sys.stderr.write("\r" + " " * state["width"] + "\r")
            sys.stderr.flush()

    def _redraw(self):
        """Draw the bar again, below what was printed since :meth:`_clear`."""
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.refresh()
            return
        state = getattr(self, "_line_state", None)
        if state is not None and state.get("shown") is not None:
            self._write_line(state)

    def _close(self):
        """Close and forget the bar of the current fit, if any."""
        _uninstall_showwarning(self.__dict__.pop("_showwarning", None))
        bar = self.__dict__.pop("_bar", None)
        if bar is not None:
            bar.close()
        state = self.__dict__.pop("_line_state", None)
        if state is not None and state["text"] is not None:
            if state.get("shown") != state["text"]:
                self._write_line(state)
            sys.stderr.write("\n")
            sys.stderr.flush()


def _check_progress_params(bar):
    """Refuse :class:`ProgressBar` parameters that would fail mid-fit."""
    desc, interval = bar.desc, bar.mininterval
    if desc is not None and not isinstance(desc, str):
        raise TypeError(
            f"ProgressBar: desc must be a str or None (the estimator's class "
            f"name), got {desc!r} of type {type(desc).__name__}."
        )
    if (
        isinstance(interval, bool)
        or not isinstance(interval, Real)
        or not (np.isfinite(interval) and interval >= 0)
    ):
        raise (ValueError if isinstance(interval, Real) else TypeError)(
            "ProgressBar: mininterval must be a non-negative number of seconds "
            f"(0 refreshes after every epoch), got {interval!r}."
        )


def _install_showwarning(progress, estimator):
    """Route warnings shown on standard error around ``progress``'s open bar.

    Returns the wrapper now installed as :func:`warnings.showwarning`. For a
    warning shown while ``estimator`` is fitting (a call of one of its methods
    is on the stack), it clears the bar, lets the previous ``showwarning``
    print (or record) the warning, and draws the bar again; warnings meant for
    another file or shown by another thread pass straight through. A fit that
    raised never closed its bar: the first warning its thread shows after it
    finds no fit on the stack, passes straight through and removes the wrapper.
    """
    previous = warnings.showwarning
    thread = threading.get_ident()
    try:
        fitting = weakref.ref(estimator)
    except TypeError:  # None, or an object without weak references

        def fitting():
            return estimator

    def showwarning(message, category, filename, lineno, file=None, line=None):
        around = (
            showwarning.active
            and file in (None, sys.stderr)
            and threading.get_ident() == thread
        )
        if around and not _on_stack(fitting()):
            _uninstall_showwarning(showwarning)
            around = False
        if around:
            progress._clear()
        try:
            previous(message, category, filename, lineno, file, line)
        finally:
            if around:
                progress._redraw()

    showwarning.active = True
    showwarning.previous = previous
    warnings.showwarning = showwarning
    return showwarning


def _on_stack(estimator):
    """Whether a method of ``estimator`` is running in this thread."""
    frame = sys._getframe(1)
    while estimator is not None and frame is not None:
        if frame.f_locals.get("self") is estimator:
            return True
        frame = frame.f_back
    return False


def _uninstall_showwarning(wrapper):
    """Undo :func:`_install_showwarning`, even when bars closed out of order.

    If another wrapper (a second bar, ``warnings.catch_warnings``) was
    installed after ours and is still in place, ours is only deactivated: it
    then passes every warning straight to the function it wrapped.
    """
    if wrapper is None:
        return
    wrapper.active = False
    if warnings.showwarning is wrapper:
        previous = wrapper.previous
        while getattr(previous, "active", None) is False:  # closed bars' wrappers
            previous = previous.previous
        warnings.showwarning = previous


class StopOnLoss(Callback):
    """Stop training as soon as a loss reaches a target value.

    ``early_stopping``, ``tol`` and ``n_iter_no_change`` stop when the loss stops
    *improving*; none of them can stop when it is *good enough*, and ``lbfgs``
    has no early stopping at all. This callback stops after the first epoch
    whose monitored loss is at or below ``threshold``, with any solver: a
    training budget stated as a target ("train until the training loss is below
    0.05") rather than as a number of epochs.

    Parameters
    ----------
    threshold : float
        Training stops after the first epoch with ``loss <= threshold``.
    monitor : {"loss", "validation_loss"}, default="loss"
        "loss" is the training objective (L2 term included), with any solver;
        "validation_loss" is the loss on the early-stopping validation set
        (without the L2 term) and needs ``early_stopping=True`` and a stochastic
        solver.

    See Also
    --------
    ProgressBar : Show training progress.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.callbacks import StopOnLoss
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(
    ...     learning_rate_init=0.01, callbacks=[StopOnLoss(0.2)], random_state=0
    ... ).fit(X, y)
    >>> bool(clf.loss_curve_[-1] <= 0.2 < clf.loss_curve_[-2])
    True
    """

    def __init__(self, threshold, *, monitor="loss"):
        self.threshold = threshold
        self.monitor = monitor

    def on_fit_begin(self, estimator, logs):
        """Check that the monitored loss will be available.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        logs : dict
            Unused.

        Raises
        ------
        ValueError
            If ``monitor`` or ``threshold`` is invalid, or ``monitor`` is
            "validation_loss" without early stopping.
        """
        if self.monitor not in ("loss", "validation_loss"):
            raise ValueError(
                "StopOnLoss: monitor must be 'loss' or 'validation_loss', got "
                f"{self.monitor!r}."
            )
        if not isinstance(self.threshold, Real) or not np.isfinite(self.threshold):
            raise ValueError(
                f"StopOnLoss: threshold must be a finite number, got "
                f"{self.threshold!r}."
            )
        if self.monitor == "validation_loss" and not (
            getattr(estimator, "early_stopping", False)
            and getattr(estimator, "solver", None) != "lbfgs"
        ):
            raise ValueError(
                "StopOnLoss(monitor='validation_loss') needs a validation set: fit "
                "with early_stopping=True and solver='adam' or 'sgd', or monitor "
                "the training 'loss'."
            )

    def on_epoch_end(self, estimator, logs):
        """Return True once the monitored loss is at or below the threshold.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        logs : dict
            The epoch's figures.

        Returns
        -------
        stop : bool
            Whether to stop training after this epoch.
        """
        value = logs.get(self.monitor)
        return value is not None and bool(value <= self.threshold)
