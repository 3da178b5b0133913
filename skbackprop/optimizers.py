"""Optimizers over the network's flat parameter vector.

:class:`SGD` and :class:`Adam` update every trainable parameter (weights, intercepts,
activation parameters) in a few vectorized operations per step, with the same
arithmetic as scikit-learn's MLP so that equal gradients give equal weights.
:func:`minimize_lbfgs` drives scipy's L-BFGS-B.

They update a flat parameter vector of any array API namespace (numpy, PyTorch,
CuPy, array-api-strict) in place. numpy keeps its preallocated ``out=`` buffers;
other namespaces use the standard's in-place operators, with the same order of
operations, so results agree to rounding.

Beyond scikit-learn's rules, both take a learning-rate schedule object
(:mod:`skbackprop.schedules`), decoupled weight decay (``weight_decay``) and
gradient-norm clipping (``max_grad_norm``); each step then runs, in this order:
the schedule's rate for a ``per="batch"`` schedule, clipping of the whole
gradient to ``max_grad_norm`` (PyTorch's ``clip_grad_norm_``), the decay
``w ← w - η · weight_decay · w`` of the coefficients, and the gradient step
(PyTorch's ``AdamW`` order: the decay reads the weights before the step).

This module imports numpy and scipy only.
"""

import copy
import math

import numpy as np
import scipy.optimize

from ._core.xp import copy as _copy
from ._core.xp import is_numpy, namespace
from ._kernels import config as _config

__all__ = ["SGD", "Adam", "Optimizer", "minimize_lbfgs"]


def _zeros(n_params, dtype, xp, device):
    """Return the zero state: numpy unless ``xp`` is another namespace."""
    if xp is None or is_numpy(xp):
        return np.zeros(n_params, dtype=dtype)
    return xp.zeros(n_params, dtype=dtype, device=device)


def _buffer(n_params, dtype, xp):
    """Return an ``out=`` buffer for numpy, None for other namespaces."""
    if xp is None or is_numpy(xp):
        return np.empty(n_params, dtype=dtype)
    return None


def _multiply(a, b, out):
    """Return ``a * b``, in the numpy buffer ``out`` or (None) a new array."""
    if out is None:
        return a * b
    return np.multiply(a, b, out=out)


def _sqrt(a, out):
    """Return ``√a``, in the numpy buffer ``out`` or (None) a new array."""
    if out is None:
        return namespace(a).sqrt(a)
    return np.sqrt(a, out=out)


def _fused(optimizer):
    """Return the fused kernels for a numpy optimizer with kernels on, else None."""
    if optimizer._tmp is None:  # another namespace: no numba
        return None
    return _config.fused_kernels()


def _kernel_covers(lr_schedule, weight_decay, max_grad_norm):
    """Whether the compiled epoch kernel trains with these settings.

    It takes one rate per epoch and no decay or clipping: a ``per="batch"``
    schedule, ``weight_decay`` or ``max_grad_norm`` keep a fit on the numpy path.
    """
    per_batch = not isinstance(lr_schedule, str) and lr_schedule.per == "batch"
    return not (per_batch or weight_decay or max_grad_norm is not None)


def _clip_norm(grad, max_norm):
    """Scale ``grad`` in place to an L2 norm of at most ``max_norm`` (PyTorch's rule).

    ``grad · max_norm / (‖grad‖ + 1e-6)`` where that factor is below 1, as
    ``torch.nn.utils.clip_grad_norm_``. Other namespaces compute the factor on
    the device (no synchronisation per batch).
    """
    if isinstance(grad, np.ndarray):
        coef = max_norm / (math.sqrt(float(np.dot(grad, grad))) + 1e-6)
        if coef < 1.0:
            grad *= coef
        return
    xp = namespace(grad)
    coef = max_norm / (xp.sqrt(xp.sum(grad * grad)) + 1e-6)
    grad *= xp.minimum(coef, xp.ones_like(coef))


def _all_finite(*arrays):
    """Return whether every element of ``arrays`` (one namespace) is finite."""
    if isinstance(arrays[0], np.ndarray):
        return bool(all(np.isfinite(a).all() for a in arrays))
    xp = namespace(*arrays)
    return all(bool(xp.all(xp.isfinite(a))) for a in arrays)


class Optimizer:
    """Base class: a first-order update rule with a learning rate.

    Parameters
    ----------
    learning_rate_init : float
        Initial step size.
    """

    # Defaults of the settings beyond scikit-learn's (also for optimizers
    # pickled before they existed).
    lr_schedule = "constant"
    weight_decay = 0.0
    max_grad_norm = None
    n_decayed = None
    _schedule_t = 0  # steps the schedule object has taken
    _schedule_n = 1  # steps it plans for
    _factor = None  # its current factor; None without a schedule object

    def __init__(self, learning_rate_init):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)

    def _set_extras(self, lr_schedule, weight_decay, max_grad_norm, n_decayed):
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.n_decayed = n_decayed

    def _schedule(self):
        """Return the schedule object, or None (a string: scikit-learn's)."""
        s = self.lr_schedule
        return None if isinstance(s, str) else s

    def start_schedule(self, batches_per_epoch, max_epochs):
        """Plan a schedule object's steps for this call and set its current rate.

        A continued optimizer (``partial_fit``) keeps its step count. No effect
        with scikit-learn's string schedules.

        Parameters
        ----------
        batches_per_epoch : int
            Mini-batches in an epoch.
        max_epochs : int
            Epochs planned (``max_iter``).
        """
        schedule = self._schedule()
        if schedule is None:
            return
        per_batch = schedule.per == "batch"
        self._schedule_n = int(max_epochs) * (
            int(batches_per_epoch) if per_batch else 1
        )
        self._apply_schedule()

    def _apply_schedule(self):
        """Take the schedule's factor at the current step."""
        schedule = self._schedule()
        factor = schedule.factor(self._schedule_t, self._schedule_n)
        try:
            factor = float(factor)
        except (TypeError, ValueError):
            factor = math.nan
        if not (math.isfinite(factor) and factor >= 0):
            raise ValueError(
                f"The learning-rate schedule {schedule!r} gave the factor "
                f"{factor!r} at step {self._schedule_t} of {self._schedule_n}; a "
                "factor must be a finite float >= 0. Fix its factor(step, "
                "n_steps) method."
            )
        self._factor = factor
        self._scheduled_rate()

    def _scheduled_rate(self):
        """Set :attr:`learning_rate` from the schedule's factor (SGD; Adam per step)."""

    def _base_rate(self):
        """Return ``learning_rate_init`` (times a schedule object's factor)."""
        if self._factor is None:
            return self.learning_rate_init
        return self.learning_rate_init * self._factor

    def _decay_rate(self):
        """Return the ``η`` of the weight decay ``w ← w - η λ w``."""
        return self.learning_rate

    def _has_extras(self):
        """Whether :meth:`_before_step` has anything to do."""
        schedule = self._schedule()
        return (
            (schedule is not None and schedule.per == "batch")
            or self.max_grad_norm is not None
            or bool(self.weight_decay)
        )

    def _before_step(self, params, grad):
        """Take a per-batch schedule's rate, clip the gradient, decay the weights."""
        schedule = self._schedule()
        if schedule is not None and schedule.per == "batch":
            self._apply_schedule()
            self._schedule_t += 1
        if self.max_grad_norm is not None:
            _clip_norm(grad, float(self.max_grad_norm))
        if self.weight_decay:
            # Decoupled (AdamW): the coefficients only, from the weights before
            # this step's gradient update.
            keep = 1.0 - float(self._decay_rate()) * float(self.weight_decay)
            if self.n_decayed is None:
                params *= keep
            else:
                params[: self.n_decayed] *= keep

    def set_hyperparameters(self, **settings):
        """Take new hyperparameters, keeping the state (momentum, moments).

        A new ``learning_rate_init`` scales the current step size by new/old, so
        a schedule (invscaling's decay, adaptive's divisions) keeps its progress.

        Parameters
        ----------
        **settings
            Constructor arguments other than ``n_params`` and ``dtype``.
        """
        new_rate = settings.get("learning_rate_init", self.learning_rate_init)
        if new_rate != self.learning_rate_init:
            self.learning_rate *= float(new_rate) / float(self.learning_rate_init)
        had_schedule = self._schedule() is not None
        for name, value in settings.items():
            setattr(self, name, value)
        if had_schedule and self._schedule() is None:
            # Back to a string schedule: it starts from learning_rate_init.
            self._factor, self._schedule_t = None, 0
            self.learning_rate = float(self.learning_rate_init)

    def update(self, params, grad, fold=None):
        """Update ``params`` in place from ``grad``.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            Flat parameters, modified in place.
        grad : ndarray of shape (n_params,)
            Their gradient.
        fold : dict, default=None
            Only where :meth:`folds` is True: the keyword arguments
            ``l2_scale``, ``coef_bounds`` and ``sq_norms`` of the compiled
            update (:func:`skbackprop._kernels.fused.sgd_update`), which then
            also adds the L2 term to ``grad`` and writes the squared gradient
            norms in the same pass.
        """
        raise NotImplementedError

    def folds(self):
        """Whether :meth:`update` can fold the L2 term and gradient norms in.

        True for numpy SGD and Adam with the compiled kernels on.

        Returns
        -------
        folds : bool
        """
        if self.max_grad_norm is not None or self.weight_decay:
            # Clipping needs the whole gradient (L2 term included) before the
            # step, and the decay must not change the weights the L2 term reads.
            return False
        return getattr(self, "_tmp", None) is not None and _fused(self) is not None

    #: Names of the state arrays (momentum, moment estimates).
    _state = ()

    def _epoch_kernel_args(self):
        """Return ``(rule, state, settings)`` for the compiled epoch.

        The arguments ``optimizer``, ``state`` and ``settings`` of
        :func:`skbackprop._kernels.epoch.run_epoch`, which updates ``state`` in
        place; after it, :meth:`_epoch_kernel_done` takes the rest back. None
        where the kernel has no such rule.
        """
        return None

    def _epoch_kernel_done(self, state):
        """Take back what the compiled epoch changed besides the state arrays.

        Parameters
        ----------
        state : object
            The ``state`` of :meth:`_epoch_kernel_args`, after the epoch.
        """

    def _moved(self, move, to_numpy):
        """Return a copy whose state arrays are ``move(array)`` (see ``move_to``).

        ``to_numpy`` says whether the copy runs on numpy (with ``out=`` buffers).
        """
        new = copy.copy(self)
        for name in self._state:
            setattr(new, name, move(getattr(self, name)))
        if hasattr(self, "_tmp"):
            first = getattr(new, self._state[0])
            new._tmp = np.empty_like(first) if to_numpy else None
            new._step = np.empty_like(first) if to_numpy else None
        return new

    def snapshot(self, into=None, arrays=True):
        """Return a copy of the state that training changes, for :meth:`restore`.

        Parameters
        ----------
        into : dict, default=None
            An earlier snapshot of this optimizer whose arrays are reused, so that
            a snapshot per epoch allocates nothing after the first.
        arrays : bool, default=True
            Copy the state arrays. False takes them from ``into`` as they are
            (they must be current, e.g. when only the learning rate changed since).

        Returns
        -------
        snapshot : dict
            ``"arrays"``: copies of the state arrays (momentum, moment
            estimates); ``"attributes"``: every other attribute (the step count,
            the learning rate its schedule reached, the hyperparameters).
        """
        old = {} if into is None else into["arrays"]
        copies = {}
        for name in self._state:
            value, buf = getattr(self, name), old.get(name)
            fits = (
                buf is not None
                and type(buf) is type(value)
                and buf.shape == value.shape
                and buf.dtype == value.dtype
            )
            if not fits:
                copies[name] = _copy(value, namespace(value))
            elif arrays:
                buf[...] = value
                copies[name] = buf
            else:
                copies[name] = buf
        scratch = set(self._state) | {"_tmp", "_step"}
        attributes = {k: v for k, v in vars(self).items() if k not in scratch}
        return {"arrays": copies, "attributes": attributes}

    def restore(self, snapshot):
        """Put back the state recorded by :meth:`snapshot` (arrays in place).

        Parameters
        ----------
        snapshot : dict
            A snapshot of this optimizer.
        """
        for name, saved in snapshot["arrays"].items():
            getattr(self, name)[...] = saved
        vars(self).update(snapshot["attributes"])

    def is_finite(self):
        """Whether the optimizer's state (momentum, moment estimates) is finite.

        Returns
        -------
        finite : bool
        """
        return True

    def iteration_ends(self, time_step):
        """Update the schedule at the end of an epoch.

        Parameters
        ----------
        time_step : int
            Number of samples seen so far.
        """
        schedule = self._schedule()
        if schedule is not None and schedule.per == "epoch":
            self._schedule_t += 1
            self._apply_schedule()

    def trigger_stopping(self, msg, verbose):
        """Decide whether to stop when training stopped improving.

        Parameters
        ----------
        msg : str
            Why training stalled.
        verbose : bool
            Print the decision.

        Returns
        -------
        stop : bool
            Whether to stop training.
        """
        if verbose:
            print(msg + " Stopping.")
        return True


class SGD(Optimizer):
    """Stochastic gradient descent with momentum (the lecture's update, plus momentum).

    With ``momentum=0`` each step is ``W ← W - η G``, the lecture's rule.

    Parameters
    ----------
    n_params : int
        Size of the flat parameter vector.
    dtype : dtype
        Its dtype.
    learning_rate_init : float, default=0.1
        Initial step size ``η``.
    lr_schedule : {"constant", "invscaling", "adaptive"} or Schedule, \
            default="constant"
        ``invscaling``: ``η_t = η_0 / (t + 1)^power_t`` with ``t`` samples seen;
        ``adaptive``: divide ``η`` by 5 each time training stalls; a
        :class:`~skbackprop.schedules.Schedule`: ``η_t = η_0 · factor(t, T)``
        (see :meth:`start_schedule`).
    momentum : float, default=0.9
        Momentum factor.
    nesterov : bool, default=True
        Use Nesterov's momentum.
    power_t : float, default=0.5
        Exponent of ``invscaling``.
    weight_decay : float, default=0.0
        Decoupled weight decay ``λ``: each step first does ``w ← w - η_t λ w`` on
        the first ``n_decayed`` parameters.
    max_grad_norm : float, default=None
        Clip the gradient's global L2 norm to this before each step.
    n_decayed : int, default=None
        How many leading parameters decay (the network's coefficients,
        ``Network.n_coef``); None: all.
    xp : module, default=None
        Array namespace of the parameters; None means numpy.
    device : device, default=None
        Device of the state arrays (namespaces other than numpy).
    """

    _state = ("velocity",)

    def __init__(
        self,
        n_params,
        dtype,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
        *,
        weight_decay=0.0,
        max_grad_norm=None,
        n_decayed=None,
        xp=None,
        device=None,
    ):
        super().__init__(learning_rate_init)
        self.n_params = n_params
        self._set_extras(lr_schedule, weight_decay, max_grad_norm, n_decayed)
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocity = _zeros(n_params, dtype, xp, device)
        # Preallocated out= buffers for numpy; None for other namespaces.
        self._tmp = _buffer(n_params, dtype, xp)
        self._step = _buffer(n_params, dtype, xp)

    def update(self, params, grad, fold=None):  # noqa: D102
        if self._has_extras():
            self._before_step(params, grad)
        v = self.velocity
        mu, lr = float(self.momentum), float(self.learning_rate)
        fused = _fused(self)
        if fused is not None:  # the same arithmetic, compiled, in one pass
            fused.sgd_update(params, grad, v, lr, mu, self.nesterov, **(fold or {}))
            return
        # v ← μ v - η g ;  the step is v, or μ v - η g once more for Nesterov.
        tmp = _multiply(grad, lr, self._tmp)
        v *= mu
        v -= tmp
        if self.nesterov:
            step = _multiply(v, mu, self._step)
            step -= tmp
            params += step
        else:
            params += v

    def is_finite(self):  # noqa: D102
        return _all_finite(self.velocity)

    def _epoch_kernel_args(self):
        if not _kernel_covers(self.lr_schedule, self.weight_decay, self.max_grad_norm):
            return None
        # The rate is constant within an epoch (the schedule moves between them).
        settings = (self.learning_rate, self.momentum, self.nesterov)
        return "sgd", self.velocity, settings

    def _scheduled_rate(self):
        self.learning_rate = float(self._base_rate())

    def iteration_ends(self, time_step):  # noqa: D102
        super().iteration_ends(time_step)
        if self.lr_schedule == "invscaling":
            try:
                decay = float(time_step + 1) ** self.power_t
            except OverflowError:  # a huge power_t: the rate underflows to 0
                decay = math.inf
            self.learning_rate = float(self.learning_rate_init) / decay

    def trigger_stopping(self, msg, verbose):  # noqa: D102
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2014) with scikit-learn's bias correction in the step.

    Parameters
    ----------
    n_params : int
        Size of the flat parameter vector.
    dtype : dtype
        Its dtype.
    learning_rate_init : float, default=0.001
        Step size.
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of the first and second moment estimates.
    epsilon : float, default=1e-8
        Added to the denominator for stability.
    lr_schedule : "constant" or Schedule, default="constant"
        A :class:`~skbackprop.schedules.Schedule` scales ``learning_rate_init``
        by its factor; the bias correction multiplies in as usual.
    weight_decay : float, default=0.0
        Decoupled weight decay ``λ`` (AdamW): each step first does
        ``w ← w - η λ w`` on the first ``n_decayed`` parameters, ``η`` being
        ``learning_rate_init`` times the schedule's factor, without the bias
        correction (PyTorch's ``AdamW``).
    max_grad_norm : float, default=None
        Clip the gradient's global L2 norm to this before each step.
    n_decayed : int, default=None
        How many leading parameters decay; None: all.
    xp : module, default=None
        Array namespace of the parameters; None means numpy.
    device : device, default=None
        Device of the state arrays (namespaces other than numpy).
    """

    _state = ("m", "v")

    def __init__(
        self,
        n_params,
        dtype,
        learning_rate_init=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        *,
        lr_schedule="constant",
        weight_decay=0.0,
        max_grad_norm=None,
        n_decayed=None,
        xp=None,
        device=None,
    ):
        super().__init__(learning_rate_init)
        self.n_params = n_params
        self._set_extras(lr_schedule, weight_decay, max_grad_norm, n_decayed)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.m = _zeros(n_params, dtype, xp, device)
        self.v = _zeros(n_params, dtype, xp, device)
        # Preallocated out= buffers for numpy; None for other namespaces.
        self._tmp = _buffer(n_params, dtype, xp)
        self._step = _buffer(n_params, dtype, xp)

    def update(self, params, grad, fold=None):  # noqa: D102
        if self._has_extras():
            self._before_step(params, grad)
        self.t += 1
        b1, b2 = float(self.beta_1), float(self.beta_2)
        m, v = self.m, self.v
        self.learning_rate = self.learning_rate_at(self.t)
        fused = _fused(self)
        if fused is not None:  # the same arithmetic, compiled, in one pass
            fused.adam_update(
                params,
                grad,
                m,
                v,
                b1,
                b2,
                self.learning_rate,
                float(self.epsilon),
                **(fold or {}),
            )
            return
        # m ← β1 m + (1 - β1) g ;  v ← β2 v + (1 - β2) g²
        m *= b1
        tmp = _multiply(grad, 1 - b1, self._tmp)
        m += tmp
        v *= b2
        tmp = _multiply(grad, grad, self._tmp)
        tmp *= 1 - b2
        v += tmp
        # params ← params + (-η_t m) / (√v + ε), in scikit-learn's order of operations.
        step = _multiply(m, -self.learning_rate, self._step)
        tmp = _sqrt(v, self._tmp)
        tmp += float(self.epsilon)
        step /= tmp
        params += step

    def learning_rate_at(self, t):
        """Return step ``t``'s step size, with scikit-learn's bias correction.

        ``η_t = η √(1 - β2^t) / (1 - β1^t)`` (``η`` times the factor of a
        schedule object), in float64: the one place Python
        computes it, for :meth:`update` (numpy, fused or not, and other
        namespaces) and for the rate a compiled epoch leaves. The compiled epoch
        kernel, which cannot call back into Python between its steps, computes
        the same expression for each step (``skbackprop._kernels.epoch_jit``);
        the equivalence tests hold the two to the same trajectory.

        Parameters
        ----------
        t : int
            The step count, from 1.

        Returns
        -------
        learning_rate : float
        """
        b1, b2 = float(self.beta_1), float(self.beta_2)
        return float(self._base_rate() * np.sqrt(1 - b2**t) / (1 - b1**t))

    def _decay_rate(self):
        return self._base_rate()

    def is_finite(self):  # noqa: D102
        return _all_finite(self.m, self.v)

    def _epoch_kernel_args(self):
        if not _kernel_covers(self.lr_schedule, self.weight_decay, self.max_grad_norm):
            return None
        # The kernel counts the steps in a 1-element array, updated in place; it
        # bias-corrects the epoch's rate (a schedule's factor moves between epochs).
        steps = np.array([self.t], dtype=np.int64)
        settings = (self._base_rate(), self.beta_1, self.beta_2, self.epsilon)
        return "adam", (self.m, self.v, steps), settings

    def _epoch_kernel_done(self, state):
        t = int(state[2][0])
        if t != self.t:  # after any step, the rate is the last step's
            self.t = t
            self.learning_rate = self.learning_rate_at(t)


def minimize_lbfgs(fun, x0, *, max_iter, max_fun, tol, callback=None):
    """Minimize ``fun`` with scipy's L-BFGS-B.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (loss, grad)``.
    x0 : ndarray of shape (n_params,)
        Starting point.
    max_iter : int
        Maximum number of iterations.
    max_fun : int
        Maximum number of loss evaluations.
    tol : float
        Stop when the projected gradient's largest component is below it.
    callback : callable, default=None
        Called after each iteration with the current parameters.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
    """
    return scipy.optimize.minimize(
        fun,
        x0,
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )
