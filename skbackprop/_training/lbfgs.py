"""The L-BFGS training loop: scipy's L-BFGS-B over the network's flat parameters."""

import time

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._core import xp as _xp
from .._estimator.messages import _non_finite_error, _warn
from ..optimizers import minimize_lbfgs
from .hooks import _notify, _StopTraining


class LbfgsMixin:
    """``solver="lbfgs"``: one scipy minimisation per fit, with callbacks."""

    def _fit_lbfgs(self, net, X, Y, sample_weight, first_pass):
        # scipy's L-BFGS-B runs on the host in float64; for another namespace
        # each evaluation moves the parameters to the device and the gradient
        # back (one transfer of n_params floats each way), and the loss and
        # gradient are computed where the data lives.
        alpha = float(self.alpha)
        rows, last_loss = [], [np.nan]
        last_good = _xp.to_numpy(net.params).astype(np.float64)
        start_params = _xp.copy(net.params, net.xp)
        finite_iterates = [0]
        callbacks = self._fit_callbacks()
        _notify(callbacks, "on_fit_begin", self, {"n_samples": X.shape[0]})
        start = time.perf_counter()
        # An iteration begins with its first evaluation (none follows the last).
        in_iteration = [False]

        def fun(x):
            if not in_iteration[0]:
                in_iteration[0] = True
                _notify(callbacks, "on_epoch_begin", self, {"epoch": len(rows) + 1})
            net.params[...] = net.asarray(x)
            last_loss[0] = float(net.loss_gradient(X, Y, sample_weight, alpha))
            return last_loss[0], _xp.to_numpy(net.grad).astype(np.float64)

        # L-BFGS-B's line search ends by evaluating the accepted point, so at each
        # callback the network's last loss and gradient are the iterate's.
        def callback(xk):
            in_iteration[0] = False
            norms = net.coef_grad_norms()
            rows.append(norms)
            if np.isfinite(xk).all():
                last_good[...] = xk
                finite_iterates[0] += 1
            if self.verbose:
                print(f"Iteration {len(rows)}, loss = {last_loss[0]:.8f}")
            logs = {
                "epoch": len(rows),
                "loss": last_loss[0],
                "gradient_norms": norms,
                "learning_rate": None,
                "elapsed": time.perf_counter() - start,
            }
            if _notify(callbacks, "on_epoch_end", self, logs):
                raise _StopTraining

        try:
            res = minimize_lbfgs(
                fun,
                last_good.copy(),
                max_iter=self.max_iter,
                max_fun=self.max_fun,
                tol=self.tol,
                callback=callback,
            )
        except _StopTraining:  # a callback asked to stop; xk was finite or kept
            net.params[...] = net.asarray(last_good)
            self.n_iter_ = len(rows)
            self.loss_ = float(last_loss[0])
        except KeyboardInterrupt:
            net.params[...] = net.asarray(last_good)
            self.n_iter_ = len(rows)
            self.loss_ = float(last_loss[0])
            _warn(
                f"Training interrupted by user after {len(rows)} iteration(s); the "
                "last iterate's weights were kept. The model can predict, and "
                "training can go on with warm_start=True.",
            )
        else:
            self.n_iter_ = min(res.nit, self.max_iter)
            if res.status not in (0, 99) and np.isfinite(res.x).all():
                _warn(
                    f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                    f"(status={res.status}): {res.message}. Increase max_iter or "
                    "max_fun, or scale the data (e.g. with StandardScaler).",
                    ConvergenceWarning,
                )
            if np.isfinite(res.x).all() and np.isfinite(res.fun):
                net.params[...] = net.asarray(res.x)
                self.loss_ = float(res.fun)
            else:
                self._check_loss_fault(net, "an L-BFGS iteration")
                if first_pass and not finite_iterates[0]:
                    # Not one finite iterate: no trained weights to keep.
                    raise _non_finite_error(self)
                net.params[...] = net.asarray(last_good)
                self.loss_ = float(net.loss_gradient(X, Y, sample_weight, alpha))
                _warn(
                    "lbfgs diverged: the loss or the weights became non-finite; the "
                    "last finite iterate was kept. Scale the input, e.g. with "
                    "sklearn.preprocessing.StandardScaler.",
                    ConvergenceWarning,
                )
        if rows:
            self.gradient_norms_ = np.vstack([self.gradient_norms_, rows])
        if not self._ends_finite(X):
            # Finite weights that overflow in the forward pass: as for the
            # stochastic solvers, no fresh model is returned that predicts NaN.
            if first_pass:
                raise _non_finite_error(self)
            net.params[...] = start_params
            _warn(
                "lbfgs diverged: its weights overflow when predicting the training "
                "data; the weights from before this call are kept. Scale the "
                "input, e.g. with sklearn.preprocessing.StandardScaler.",
                ConvergenceWarning,
            )
        _notify(callbacks, "on_fit_end", self, {"n_iter": self.n_iter_})
