"""The training loops: stochastic epochs (SGD, Adam) and L-BFGS.

:class:`TrainingMixin` drives an optimizer over :class:`~skbackprop.network.Network`
in small pieces: :meth:`~TrainingMixin._run_epoch` (batching),
:meth:`~TrainingMixin._end_epoch` (stopping and best-weights bookkeeping),
:meth:`~TrainingMixin._diverged` (falling back after a blow-up), callbacks via
:func:`~skbackprop._utils._notify`. The estimator classes supply the data handling.
"""

import time

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import gen_batches, shuffle

from ._split import _train_validation_split
from ._utils import (
    _callbacks,
    _notify,
    _Snapshots,
    _StopTraining,
    _warn,
)
from .optimizers import SGD, Adam, minimize_lbfgs


class TrainingMixin:
    """Training loops shared by the estimators (see :class:`BaseBackprop`)."""

    def _make_optimizer(self, net):
        if self.solver == "sgd":
            return SGD(
                net.params.size,
                net.dtype,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return Adam(
            net.params.size,
            net.dtype,
            self.learning_rate_init,
            self.beta_1,
            self.beta_2,
            self.epsilon,
        )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            _warn(
                f"batch_size={self.batch_size} is larger than the {n_samples} "
                "training samples; it is clipped to the number of samples.",
                UserWarning,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _early_stopping_split(self, net, X, Y, sample_weight):
        """Training and validation sets (validation None without early stopping)."""
        if not self.early_stopping:
            return (X, Y, sample_weight), None
        stratify = None
        if is_classifier(self) and self.n_outputs_ == 1:
            stratify = self._targets_for_score(Y)
        too_small = (
            f"early_stopping=True holds out validation_fraction="
            f"{self.validation_fraction} of the n_samples={X.shape[0]} training "
            "samples, which "
            "leaves too few for a validation set (it needs at least 2 samples{}). "
            "Increase validation_fraction, use more data, or set "
            "early_stopping=False."
        )
        try:
            train, val = _train_validation_split(
                X,
                Y,
                sample_weight,
                stratify,
                self.validation_fraction,
                self._random_state,
            )
        except ValueError as err:  # train_test_split's own wording
            extra = "" if stratify is None else " and, stratified, one per class"
            raise ValueError(too_small.format(extra)) from err
        if val[0].shape[0] < 2:
            raise ValueError(too_small.format(f"; it got {val[0].shape[0]}"))
        if self._best_params is None or self._best_params.shape != net.params.shape:
            # Nothing better seen yet: the starting weights are the best.
            self._best_params = net.params.copy()
        return train, val

    def _fit_stochastic(self, net, X, Y, sample_weight, incremental):
        if incremental and self._optimizer is not None:
            optimizer = self._optimizer
        else:
            optimizer = self._optimizer = self._make_optimizer(net)
        train, val = self._early_stopping_split(net, X, Y, sample_weight)
        n_samples = train[0].shape[0]
        batch_size = self._batch_size(n_samples)
        order = np.arange(n_samples)
        callbacks = _callbacks(self.callbacks)
        _notify(callbacks, "on_fit_begin", self, {"n_samples": n_samples})
        # The weights after the last completed, finite epoch: what divergence and
        # Ctrl-C fall back to.
        last_good = net.params.copy()
        history = _Snapshots(net.params)
        start = time.perf_counter()
        self.n_iter_ = 0
        try:
            for _ in range(self.max_iter):
                if self.shuffle:
                    order = shuffle(order, random_state=self._random_state)
                loss, norms = self._run_epoch(net, optimizer, train, order, batch_size)
                if not (np.isfinite(loss) and np.isfinite(net.params).all()):
                    self._diverged(net, history, train[0])
                    break
                last_good[...] = net.params
                history.append(self.n_iter_ + 1, net.params)
                self.n_iter_ += 1
                self.loss_ = loss
                self.t_ += n_samples
                self.loss_curve_.append(loss)
                self.gradient_norms_ = np.vstack([self.gradient_norms_, norms])
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
                self._end_epoch(net, val)
                optimizer.iteration_ends(self.t_)
                logs = self._epoch_logs(loss, norms, optimizer, start)
                if _notify(callbacks, "on_epoch_end", self, logs):
                    break
                if self._no_improvement_count > self.n_iter_no_change:
                    what = (
                        "Validation score" if self.early_stopping else "Training loss"
                    )
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for "
                        f"{self.n_iter_no_change} consecutive epochs."
                    )
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    _warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                        "reached and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            net.params[...] = last_good
            if self.early_stopping:
                kept, more = "the best epoch's", "warm_start=True"
            else:
                kept, more = "the last completed", "partial_fit or warm_start=True"
            _warn(
                f"Training interrupted by user after {self.n_iter_} epoch(s); "
                f"{kept} weights were kept. The model can predict, and training can "
                f"go on with {more}.",
            )
        if self.early_stopping:
            net.params[...] = self._best_params
        _notify(callbacks, "on_fit_end", self, {"n_iter": self.n_iter_})

    def _diverged(self, net, history, X):
        """Fall back to the latest weights that predict finitely after a blow-up.

        The weights after the last finite epoch were never evaluated; if even they
        overflow on the training rows, step back to earlier epochs' weights, and
        at worst to the starting weights.
        """
        epoch = self.n_iter_ + 1
        kept_epoch = 0
        for snapshot_epoch, params in history.latest_first():
            net.params[...] = params
            kept_epoch = snapshot_epoch
            if self._predicts_finitely(X):
                break
        if self.early_stopping:
            kept = "the best epoch's weights are restored"
        elif kept_epoch == 0:
            kept = "the starting weights are kept"
        else:
            kept = f"the weights after epoch {kept_epoch} are kept"
        _warn(
            f"Training diverged in epoch {epoch}: the loss or the weights became "
            f"non-finite (inf or NaN); {kept}. Use a smaller learning_rate_init "
            f"(now {self.learning_rate_init}) or scale the input, e.g. with "
            "sklearn.preprocessing.StandardScaler.",
            ConvergenceWarning,
        )

    def _predicts_finitely(self, X):
        """Whether the current weights give finite outputs on ``X``, no overflow."""
        with np.errstate(over="raise", invalid="raise"):
            try:
                return bool(np.isfinite(self._forward(X)).all())
            except FloatingPointError:
                return False

    def _epoch_logs(self, loss, norms, optimizer, start):
        """Return the figures of the epoch just finished, for callbacks."""
        logs = {
            "epoch": self.n_iter_,
            "loss": loss,
            "gradient_norms": norms,
            "learning_rate": optimizer.learning_rate,
            "elapsed": time.perf_counter() - start,
        }
        if self.early_stopping:
            logs["validation_score"] = self.validation_scores_[-1]
            logs["validation_loss"] = self.validation_loss_curve_[-1]
        return logs

    def _run_epoch(self, net, optimizer, train, order, batch_size):
        """One pass over the training rows in mini-batches; mean loss and norms."""
        X, Y, sw = train
        n = X.shape[0]
        dense = not sp.issparse(X)
        total = 0.0
        alpha = float(self.alpha)
        batches = list(gen_batches(n, batch_size))
        sq_norms = np.empty((len(batches), len(net.coefs)), dtype=net.dtype)
        # Shuffled batches are gathered into reused buffers (sliced for the last,
        # smaller batch); unshuffled ones are views.
        if self.shuffle and dense:
            xbuf = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
            ybuf = np.empty((batch_size, Y.shape[1]), dtype=Y.dtype)
            wbuf = None if sw is None else np.empty(batch_size, dtype=sw.dtype)
        for b, batch in enumerate(batches):
            m = batch.stop - batch.start
            if not self.shuffle:
                Xb, Yb = X[batch], Y[batch]
                swb = None if sw is None else sw[batch]
            elif dense:
                idx = order[batch]
                Xb = X.take(idx, axis=0, out=xbuf[:m])
                Yb = Y.take(idx, axis=0, out=ybuf[:m])
                swb = None if sw is None else sw.take(idx, out=wbuf[:m])
            else:
                idx = order[batch]
                Xb, Yb = X[idx], Y[idx]
                swb = None if sw is None else sw[idx]
            total += net.loss_gradient(Xb, Yb, swb, alpha) * m
            net.coef_grad_sq_norms(sq_norms[b])
            optimizer.update(net.params, net.grad)
        return total / n, np.sqrt(sq_norms).mean(axis=0)

    def _end_epoch(self, net, val):
        """Early-stopping or training-loss bookkeeping after an epoch."""
        if val is None:
            last = self.loss_curve_[-1]
            if last > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last < self.best_loss_:
                self.best_loss_ = last
            return
        X_val, Y_val, sw_val = val
        out = self._forward(X_val)
        if np.isfinite(out).all():
            score = self._score_predictions(
                self._targets_for_score(Y_val), self._predict_from_output(out), sw_val
            )
            val_loss = self._loss.value(Y_val, out, sw_val)
        else:
            score = val_loss = np.nan
        self.validation_scores_.append(score)
        self.validation_loss_curve_.append(val_loss)
        if self.verbose:
            print(f"Validation score: {score:f}")
        # Higher is better for the criterion: the score, or minus the loss.
        criterion = score if self.validation_metric == "score" else -val_loss
        if criterion < self._best_criterion + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if criterion > self._best_criterion:
            self._best_criterion = criterion
            self.best_validation_score_ = score
            self._best_params = net.params.copy()

    def _fit_lbfgs(self, net, X, Y, sample_weight):
        alpha = float(self.alpha)
        rows, last_loss = [], [np.nan]
        last_good = net.params.copy()
        callbacks = _callbacks(self.callbacks)
        _notify(callbacks, "on_fit_begin", self, {"n_samples": X.shape[0]})
        start = time.perf_counter()

        def fun(x):
            net.params[...] = x
            last_loss[0] = net.loss_gradient(X, Y, sample_weight, alpha)
            return last_loss[0], net.grad.astype(np.float64)

        # L-BFGS-B's line search ends by evaluating the accepted point, so at each
        # callback the network's last loss and gradient are the iterate's.
        def callback(xk):
            norms = net.coef_grad_norms()
            rows.append(norms)
            if np.isfinite(xk).all():
                last_good[...] = xk
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
                net.params.astype(np.float64),
                max_iter=self.max_iter,
                max_fun=self.max_fun,
                tol=self.tol,
                callback=callback,
            )
        except _StopTraining:  # a callback asked to stop; xk was finite or kept
            net.params[...] = last_good
            self.n_iter_ = len(rows)
            self.loss_ = float(last_loss[0])
        except KeyboardInterrupt:
            net.params[...] = last_good
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
                net.params[...] = res.x
                self.loss_ = float(res.fun)
            else:
                net.params[...] = last_good
                self.loss_ = float(net.loss_gradient(X, Y, sample_weight, alpha))
                _warn(
                    "lbfgs diverged: the loss or the weights became non-finite; the "
                    "last finite iterate was kept. Scale the input, e.g. with "
                    "sklearn.preprocessing.StandardScaler.",
                    ConvergenceWarning,
                )
        if rows:
            self.gradient_norms_ = np.vstack([self.gradient_norms_, rows])
        _notify(callbacks, "on_fit_end", self, {"n_iter": self.n_iter_})
