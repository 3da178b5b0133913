"""Optimizers over the network's flat parameter vector.

:class:`SGD` and :class:`Adam` update every trainable parameter (weights, intercepts,
activation parameters) in a few vectorized operations per step, with the same
arithmetic as scikit-learn's MLP so that equal gradients give equal weights.
:func:`minimize_lbfgs` drives scipy's L-BFGS-B.

This module imports numpy and scipy only.
"""

import math

import numpy as np
import scipy.optimize

__all__ = ["SGD", "Adam", "Optimizer", "minimize_lbfgs"]


class Optimizer:
    """Base class: a first-order update rule with a learning rate.

    Parameters
    ----------
    learning_rate_init : float
        Initial step size.
    """

    def __init__(self, learning_rate_init):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)

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
        for name, value in settings.items():
            setattr(self, name, value)

    def update(self, params, grad):
        """Update ``params`` in place from ``grad``.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            Flat parameters, modified in place.
        grad : ndarray of shape (n_params,)
            Their gradient.
        """
        raise NotImplementedError

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
    lr_schedule : {"constant", "invscaling", "adaptive"}, default="constant"
        ``invscaling``: ``η_t = η_0 / (t + 1)^power_t`` with ``t`` samples seen;
        ``adaptive``: divide ``η`` by 5 each time training stalls.
    momentum : float, default=0.9
        Momentum factor.
    nesterov : bool, default=True
        Use Nesterov's momentum.
    power_t : float, default=0.5
        Exponent of ``invscaling``.
    """

    def __init__(
        self,
        n_params,
        dtype,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
    ):
        super().__init__(learning_rate_init)
        self.n_params = n_params
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocity = np.zeros(n_params, dtype=dtype)
        self._tmp = np.empty(n_params, dtype=dtype)
        self._step = np.empty(n_params, dtype=dtype)

    def update(self, params, grad):  # noqa: D102
        v, tmp, step = self.velocity, self._tmp, self._step
        mu, lr = float(self.momentum), float(self.learning_rate)
        # v ← μ v - η g ;  the step is v, or μ v - η g once more for Nesterov.
        np.multiply(grad, lr, out=tmp)
        v *= mu
        v -= tmp
        if self.nesterov:
            np.multiply(v, mu, out=step)
            step -= tmp
            params += step
        else:
            params += v

    def is_finite(self):  # noqa: D102
        return bool(np.isfinite(self.velocity).all())

    def iteration_ends(self, time_step):  # noqa: D102
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
    """

    def __init__(
        self,
        n_params,
        dtype,
        learning_rate_init=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
    ):
        super().__init__(learning_rate_init)
        self.n_params = n_params
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.m = np.zeros(n_params, dtype=dtype)
        self.v = np.zeros(n_params, dtype=dtype)
        self._tmp = np.empty(n_params, dtype=dtype)
        self._step = np.empty(n_params, dtype=dtype)

    def update(self, params, grad):  # noqa: D102
        self.t += 1
        b1, b2 = float(self.beta_1), float(self.beta_2)
        m, v, tmp, step = self.m, self.v, self._tmp, self._step
        # m ← β1 m + (1 - β1) g ;  v ← β2 v + (1 - β2) g²
        m *= b1
        np.multiply(grad, 1 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - b2
        v += tmp
        self.learning_rate = float(
            self.learning_rate_init * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        )
        # params ← params + (-η_t m) / (√v + ε), in scikit-learn's order of operations.
        np.multiply(m, -self.learning_rate, out=step)
        np.sqrt(v, out=tmp)
        tmp += float(self.epsilon)
        step /= tmp
        params += step

    def is_finite(self):  # noqa: D102
        return bool(np.isfinite(self.m).all() and np.isfinite(self.v).all())


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
