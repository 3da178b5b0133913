"""Learning-rate schedules as pluggable objects.

A schedule gives, for step ``t`` of ``T`` planned steps, a **factor** that
multiplies ``learning_rate_init``: the rate of step ``t`` is
``learning_rate_init · factor(t, T)``. ``learning_rate_init`` is therefore the
base (peak) rate, and every built-in's factors lie in ``[0, 1]``. Pass a
schedule as the estimators' ``learning_rate`` (with ``solver="sgd"`` or
``"adam"``; Adam's bias correction multiplies in as usual)::

    BackpropRegressor(solver="adam", learning_rate=Cosine(), learning_rate_init=1e-2)

A schedule steps once per epoch (``per="epoch"``, ``T = max_iter``) or once per
mini-batch (``per="batch"``, ``T = max_iter ·`` batches per epoch); ``t`` counts
from 0. Schedules are stateless: the step count lives with the fitted optimizer,
so

- ``fit`` (also with ``warm_start=True``, which starts a new optimizer as in
  scikit-learn) starts the schedule at step 0;
- ``partial_fit`` continues it: each call is one epoch of the ``max_iter`` the
  schedule plans for (past ``T``, each built-in stays at its last value);
- early stopping may end training before ``T`` (the schedule is planned over
  ``max_iter`` all the same) and restores the best epoch's weights; a schedule
  never divides the rate on a stall as ``learning_rate="adaptive"`` does (that
  string keeps scikit-learn's meaning, for "sgd" only).

Schedules are parameters of an estimator, so they follow scikit-learn's
conventions: ``clone``, ``get_params`` and grid searches over
``learning_rate__period`` and the like work.

**Your own.** Subclass :class:`Schedule` and implement :meth:`Schedule.factor`,
a pure function of ``(step, n_steps)`` returning a finite, non-negative float
(a bad value stops the fit with an error naming your schedule). Store the
constructor's arguments unchanged (scikit-learn's rule), ``per`` among them::

    class Halving(Schedule):
        def __init__(self, every=10, per="epoch"):
            self.every = every
            self.per = per

        def factor(self, step, n_steps):
            return 0.5 ** (step // self.every)

Kernels: a ``per="epoch"`` schedule keeps the compiled epoch kernel (the rate is
constant within an epoch); ``per="batch"`` makes a fit fall back to the numpy
path with the fused optimizer passes.
"""

import math
from numbers import Integral, Real

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

__all__ = ["Constant", "Cosine", "OneCycle", "Schedule", "Step", "Warmup"]


class Schedule(BaseEstimator):
    """Base class of a learning-rate schedule: a factor of ``learning_rate_init``.

    Subclasses implement :meth:`factor`. See the module's notes for the steps,
    ``warm_start``, ``partial_fit`` and early stopping.

    Parameters
    ----------
    per : {"epoch", "batch"}, default="epoch"
        The unit of a step: one epoch, or one mini-batch.

    Examples
    --------
    >>> from skbackprop.schedules import Schedule
    >>> class Halving(Schedule):
    ...     def __init__(self, every=10, per="epoch"):
    ...         self.every = every
    ...         self.per = per
    ...     def factor(self, step, n_steps):
    ...         return 0.5 ** (step // self.every)
    >>> Halving(every=2).factor(5, 100)
    0.25
    """

    # Documented and imported as skbackprop.schedules.Schedule (also in the
    # messages of scikit-learn's parameter validation).
    __module__ = "skbackprop.schedules"

    _parameter_constraints: dict = {"per": [StrOptions({"epoch", "batch"})]}

    #: The default unit, for a subclass whose constructor takes no ``per``.
    per = "epoch"

    def __init__(self, per="epoch"):
        self.per = per

    def factor(self, step, n_steps):
        """Return the factor of ``learning_rate_init`` at ``step``.

        Parameters
        ----------
        step : int
            The step, from 0 (epochs or batches, as ``per`` says).
        n_steps : int
            The steps planned: ``max_iter``, times the batches per epoch for
            ``per="batch"``. ``step`` may exceed it (``partial_fit``).

        Returns
        -------
        factor : float
            Finite and non-negative.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement factor(self, step, n_steps), "
            "the factor of learning_rate_init at step `step` of `n_steps`."
        )

    def validate(self):
        """Check the parameters; raise ``InvalidParameterError`` if one is bad.

        The estimators call this at the start of ``fit`` and ``partial_fit``.
        """
        self._validate_params()


def _constraints(**more):
    return {**Schedule._parameter_constraints, **more}


class Constant(Schedule):
    """A constant factor: the rate is ``value · learning_rate_init`` throughout.

    ``Constant()`` trains exactly as ``learning_rate="constant"`` does.

    Parameters
    ----------
    value : float, default=1.0
        The factor.
    per : {"epoch", "batch"}, default="epoch"
        The unit of a step (no effect on a constant).
    """

    _parameter_constraints = _constraints(
        value=[Interval(Real, 0, None, closed="left")]
    )

    def __init__(self, value=1.0, per="epoch"):
        self.value = value
        self.per = per

    def factor(self, step, n_steps):  # noqa: D102
        return float(self.value)


class Warmup(Schedule):
    """Linear warmup from ``start_factor`` to 1 over ``steps`` steps, then a schedule.

    ``factor(t) = start_factor + (1 - start_factor) · t / steps`` for
    ``t < steps`` (PyTorch's ``LinearLR``), then 1, or ``schedule`` evaluated at
    ``(t - steps, T - steps)``: the wrapped schedule starts when warmup ends.

    Parameters
    ----------
    steps : int, default=5
        Steps of warmup.
    start_factor : float, default=0.1
        Factor of the first step, in [0, 1].
    schedule : Schedule, default=None
        What follows warmup; None is a constant 1. Its ``per`` must equal this
        schedule's.
    per : {"epoch", "batch"}, default="epoch"
        The unit of a step.

    Examples
    --------
    >>> from skbackprop.schedules import Cosine, Warmup
    >>> w = Warmup(steps=4, start_factor=0.2)
    >>> [round(w.factor(t, 10), 2) for t in range(6)]
    [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    >>> Warmup(steps=2, schedule=Cosine()).factor(2, 10)
    1.0
    """

    _parameter_constraints = _constraints(
        steps=[Interval(Integral, 1, None, closed="left")],
        start_factor=[Interval(Real, 0, 1, closed="both")],
        schedule=[Schedule, None],
    )

    def __init__(self, steps=5, start_factor=0.1, schedule=None, per="epoch"):
        self.steps = steps
        self.start_factor = start_factor
        self.schedule = schedule
        self.per = per

    def validate(self):  # noqa: D102
        super().validate()
        if self.schedule is not None:
            self.schedule.validate()
            if self.schedule.per != self.per:
                raise ValueError(
                    f"Warmup(per={self.per!r}) wraps a schedule with "
                    f"per={self.schedule.per!r}; both must step in the same unit. "
                    f"Give the wrapped {type(self.schedule).__name__} "
                    f"per={self.per!r}, or the Warmup per="
                    f"{self.schedule.per!r}."
                )

    def factor(self, step, n_steps):  # noqa: D102
        steps = int(self.steps)
        if step < steps:
            start = float(self.start_factor)
            return start + (1.0 - start) * step / steps
        if self.schedule is None:
            return 1.0
        return float(self.schedule.factor(step - steps, max(n_steps - steps, 1)))


class Cosine(Schedule):
    """Cosine annealing from 1 to ``min_factor``, with optional warm restarts.

    Without ``period`` one half-cosine spans the ``T`` planned steps:
    ``factor(t) = min_factor + (1 - min_factor) · (1 + cos(π t / T)) / 2``,
    staying at ``min_factor`` past ``T``. With ``period`` the cosine restarts
    (SGDR, Loshchilov & Hutter 2017): cycle ``i`` lasts ``period · mult^i``
    steps and starts again at 1.

    Parameters
    ----------
    period : int, default=None
        Steps of the first cycle; None: one cycle over all planned steps.
    mult : float, default=1.0
        Growth of each cycle's length over the previous one (>= 1).
    min_factor : float, default=0.0
        The factor at the end of a cycle.
    per : {"epoch", "batch"}, default="epoch"
        The unit of a step.

    Examples
    --------
    >>> from skbackprop.schedules import Cosine
    >>> [Cosine().factor(t, 4) for t in (0, 2, 4)]
    [1.0, 0.5, 0.0]
    >>> Cosine(period=2).factor(2, 100)  # a restart
    1.0
    """

    _parameter_constraints = _constraints(
        period=[Interval(Integral, 1, None, closed="left"), None],
        mult=[Interval(Real, 1, None, closed="left")],
        min_factor=[Interval(Real, 0, 1, closed="both")],
    )

    def __init__(self, period=None, mult=1.0, min_factor=0.0, per="epoch"):
        self.period = period
        self.mult = mult
        self.min_factor = min_factor
        self.per = per

    def factor(self, step, n_steps):  # noqa: D102
        low = float(self.min_factor)
        if self.period is None:
            length, t = max(int(n_steps), 1), min(step, max(int(n_steps), 1))
        else:
            length, t, mult = int(self.period), step, float(self.mult)
            if mult == 1.0:
                t %= length
            else:  # cycles grow geometrically: few iterations
                while t >= length:
                    t -= length
                    length = max(1, round(length * mult))
        return low + (1.0 - low) * (1.0 + math.cos(math.pi * t / length)) / 2.0


class OneCycle(Schedule):
    """The one-cycle policy (Smith 2018), as PyTorch's ``OneCycleLR``.

    The factor rises from ``1 / div_factor`` to 1 over the first
    ``pct_start`` of the ``T`` planned steps, then falls to
    ``1 / (div_factor · final_div_factor)`` at step ``T - 1``, both along a
    cosine (or linearly); it stays there past ``T``. ``learning_rate_init`` is
    the peak rate (PyTorch's ``max_lr``).

    Parameters
    ----------
    pct_start : float, default=0.3
        Share of the steps spent rising, in (0, 1).
    div_factor : float, default=25.0
        The first step's rate is ``learning_rate_init / div_factor``.
    final_div_factor : float, default=1e4
        The last step's rate is the first's divided by this.
    anneal : {"cos", "linear"}, default="cos"
        Shape of both phases.
    per : {"epoch", "batch"}, default="epoch"
        The unit of a step (PyTorch steps it per batch).

    Examples
    --------
    >>> from skbackprop.schedules import OneCycle
    >>> s = OneCycle(pct_start=0.5, div_factor=10, final_div_factor=10)
    >>> [round(s.factor(t, 5), 3) for t in (0, 1, 2, 4)]
    [0.1, 0.775, 0.905, 0.01]
    """

    _parameter_constraints = _constraints(
        pct_start=[Interval(Real, 0, 1, closed="neither")],
        div_factor=[Interval(Real, 0, None, closed="neither")],
        final_div_factor=[Interval(Real, 0, None, closed="neither")],
        anneal=[StrOptions({"cos", "linear"})],
    )

    def __init__(
        self,
        pct_start=0.3,
        div_factor=25.0,
        final_div_factor=1e4,
        anneal="cos",
        per="epoch",
    ):
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.anneal = anneal
        self.per = per

    def _anneal(self, start, end, pct):
        if self.anneal == "linear":
            return start + (end - start) * pct
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)

    def factor(self, step, n_steps):  # noqa: D102
        last = max(int(n_steps), 1) - 1
        t = min(step, last)
        initial = 1.0 / float(self.div_factor)
        final = initial / float(self.final_div_factor)
        peak = float(self.pct_start) * (last + 1) - 1.0  # PyTorch's end of phase 1
        if peak > 0 and t <= peak:
            return self._anneal(initial, 1.0, t / peak)
        start = max(peak, 0.0)
        if last <= start:  # a single step: no phase to anneal along
            return initial
        return self._anneal(1.0, final, (t - start) / (last - start))


class Step(Schedule):
    """Step decay: the factor is ``gamma^(t // step_size)``.

    Parameters
    ----------
    step_size : int, default=10
        Steps between two decays.
    gamma : float, default=0.1
        Factor of each decay.
    per : {"epoch", "batch"}, default="epoch"
        The unit of a step.

    Examples
    --------
    >>> from skbackprop.schedules import Step
    >>> [Step(step_size=2, gamma=0.5).factor(t, 10) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    _parameter_constraints = _constraints(
        step_size=[Interval(Integral, 1, None, closed="left")],
        gamma=[Interval(Real, 0, None, closed="left")],
    )

    def __init__(self, step_size=10, gamma=0.1, per="epoch"):
        self.step_size = step_size
        self.gamma = gamma
        self.per = per

    def factor(self, step, n_steps):  # noqa: D102
        return float(self.gamma) ** (step // int(self.step_size))
