"""The training loops: stochastic epochs (SGD, Adam) and L-BFGS.

:class:`TrainingMixin` drives an optimizer over :class:`~skbackprop.network.Network`
in small pieces: :meth:`~TrainingMixin._run_epoch` (batching),
:meth:`~TrainingMixin._end_epoch` (scoring an epoch for the stopping rule, whose
bookkeeping is :class:`~skbackprop._training.early_stopping.EarlyStoppingState`),
:meth:`~TrainingMixin._diverged` (falling back after a blow-up), callbacks via
:func:`~skbackprop._training.hooks._notify`. L-BFGS lives in
:mod:`skbackprop._training.lbfgs`. The
estimator classes supply the data handling.
"""

import time

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning

from .._core import xp as _xp
from .._estimator.messages import _non_finite_error, _warn
from .._kernels import config as _config
from .._kernels import dispatch as _dispatch
from ..network import signal_bound, signal_limit
from ..optimizers import SGD, Adam, _kernel_covers
from .batches import iter_batches
from .checkpoint import _Checkpoint, _Snapshots
from .early_stopping import EarlyStoppingState
from .fit_data import TrainingSet, ValidationSet, _combine, _take_rows
from .hooks import _notify
from .split import _train_validation_split
from .validation_set import score_with, warn_if_few_rows_dominate

# A training loss this many times its first epoch's (or 1, if larger) marks
# weights beyond recovery: no later learning rate brings them back in practice.
_BEYOND_RECOVERY = 1e10


def compiled_epoch_wins(batch_size, net, solver, estimator=None):
    """Return whether an epoch runs in one compiled call (the dispatch rule).

    Where the kernels are on, and the network is one the epoch kernel trains;
    otherwise the epoch runs batch by batch in numpy (with the fused kernels).
    The kernel takes one rate per epoch and neither decays nor clips: a
    ``per="batch"`` schedule, ``weight_decay`` or ``max_grad_norm`` keep the
    fit on the numpy path.
    The start of each fit reads this too, to know which kernels to load
    (:func:`skbackprop._kernels.loading.plan_for_fit`).

    Parameters
    ----------
    batch_size : int
        Rows per batch.
    net : Network
        The numpy network to train (its ``layer_units``, ``dtype``, activations).
    solver : {"sgd", "adam"}
        The update rule.
    estimator : BaseBackprop, default=None
        Where given, its training settings must be ones the kernel covers.

    Returns
    -------
    wins : bool
    """
    if net.xp is not np:  # the kernels train numpy networks only
        return False
    if estimator is not None and not _kernel_covers(*_extras(estimator)):
        return False
    return _dispatch.use_epoch_kernel(batch_size, net.layer_units, net.dtype)


def _extras(estimator):
    """Return the settings beyond scikit-learn's: schedule object, decay, clip."""
    schedule = estimator.learning_rate
    return (
        "constant" if isinstance(schedule, str) else schedule,
        getattr(estimator, "weight_decay", 0.0),
        getattr(estimator, "max_grad_norm", None),
    )


class TrainingMixin:
    """Training loops shared by the estimators (see :class:`BaseBackprop`)."""

    def _optimizer_settings(self):
        """Return the optimizer class and its hyperparameters, from the estimator's."""
        schedule, weight_decay, max_grad_norm = _extras(self)
        extras = dict(weight_decay=weight_decay, max_grad_norm=max_grad_norm)
        if self.solver == "sgd":
            return SGD, dict(
                learning_rate_init=self.learning_rate_init,
                lr_schedule=self.learning_rate,
                momentum=self.momentum,
                nesterov=self.nesterovs_momentum,
                power_t=self.power_t,
                **extras,
            )
        # Adam ignores scikit-learn's string schedules (as scikit-learn does).
        return Adam, dict(
            learning_rate_init=self.learning_rate_init,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            lr_schedule=schedule,
            **extras,
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

    def _early_stopping_split(self, data):
        """Return the :class:`TrainingSet` and :class:`ValidationSet` of ``data``.

        The validation set is None without early stopping, and the user's
        (``fit(X_val=..., y_val=...)``) where given: then all rows train. The
        class weights are multiplied in after the split (they were computed on
        all rows, as without early stopping).
        """
        net, X, Y = data.net, data.X, data.Y
        sample_weight, class_factor = data.sample_weight, data.class_factor
        if not self.early_stopping or data.validation is not None:
            weights = _combine(sample_weight, class_factor)
            train = TrainingSet(X, net.asarray(Y), net.asarray(weights), weights)
            if data.validation is None:
                return train, None
            self._check_validation_weights(train, data.validation, "X_val")
            EarlyStoppingState.of(self).begin_validation(net.params, net.xp)
            return train, data.validation
        stratify = None
        if is_classifier(self) and self.n_outputs_ == 1:
            # Binary targets are stratified, by the 0/1 column, as scikit-learn's
            # MLP does (it does not stratify multiclass or multilabel targets).
            stratify = Y > 0.5
        try:
            parts = _train_validation_split(
                X,
                Y,
                sample_weight,
                stratify,
                self.validation_fraction,
                self._random_state,
            )
        except ValueError as err:
            if "least populated" not in str(err):
                raise
            raise ValueError(
                f"{err} early_stopping=True stratifies its validation split by class, "
                "so every class needs at least 2 samples: drop or merge the rarest "
                "classes, or set early_stopping=False."
            ) from err
        # The training part moves to X's device (as the network's arrays); the
        # validation targets and weights stay on the host, where it is scored.
        (X_train, Y_train, w_train), (X_val, Y_val, w_val) = (
            (
                _take_rows(X, rows),
                Y[rows],
                _combine(w, None if class_factor is None else class_factor[rows]),
            )
            for rows, w in parts
        )
        train = TrainingSet(
            X_train, net.asarray(Y_train), net.asarray(w_train), w_train
        )
        val = ValidationSet(X_val, Y_val, w_val, parts[1][0])
        self._check_validation_weights(train, val, "split")
        EarlyStoppingState.of(self).begin_validation(net.params, net.xp)
        return train, val

    def _check_validation_weights(self, train, val, source):
        """Refuse a training or validation part whose weights are all zero."""
        for part, w in (
            ("training", train.host_weight),
            ("validation", val.sample_weight),
        ):
            if w is None or w.sum() > 0:
                continue
            if source == "split":
                raise ValueError(
                    f"early_stopping=True: the {part} part of the validation split "
                    "has only samples of zero weight (sample_weight, times "
                    "class_weight), so it cannot be used. Give more samples a "
                    "positive weight, change validation_fraction or random_state, "
                    "or set early_stopping=False."
                )
            what = "sample_weight" if part == "training" else "sample_weight_val"
            raise ValueError(
                f"early_stopping=True with X_val: the {part} set has only samples "
                f"of zero weight ({what}, times class_weight), so it cannot be "
                "used. Give some of its samples a positive weight."
            )

    def _fit_stochastic(self, data, incremental):
        """Train ``data`` (a :class:`FitData`) with SGD or Adam, epoch by epoch."""
        net, first_pass = data.net, data.first_pass
        train, val = self._early_stopping_split(data)
        if val is not None:
            # A scorer's predict/predict_proba skip validation on this X (gone
            # when the call ends; a call that raises is undone by _atomic).
            self._fit_validation_X = val.X
            self._validation_scorer = data.scorer
        optimizer = self._current_optimizer(net, incremental)
        callbacks = self._fit_callbacks()
        _notify(callbacks, "on_fit_begin", self, {"n_samples": train.n_samples})
        self.n_iter_ = 0
        # The start and the weights after the last finite epochs (what divergence
        # falls back to), with the optimizer's state and the estimator's records
        # of the last completed epoch (what Ctrl-C goes back to).
        checkpoint = _Checkpoint(self, net.params, optimizer, _Snapshots(net.params))
        diverged = False
        try:
            diverged = self._run_epochs(
                net,
                optimizer,
                train,
                val,
                checkpoint,
                callbacks,
                incremental,
                first_pass,
            )
        except KeyboardInterrupt:
            checkpoint.restore()
            if self.early_stopping:
                kept, more = "the best epoch's", "warm_start=True"
            else:
                kept, more = "the last completed", "partial_fit or warm_start=True"
            _warn(
                f"Training interrupted by user after {self.n_iter_} epoch(s); "
                f"{kept} weights were kept. The model can predict, and training can "
                f"go on with {more}.",
            )
        if not diverged:
            if self.early_stopping:
                EarlyStoppingState.of(self).restore_best(net.params)
                warn_if_few_rows_dominate(self, val)
            # Weights can be finite yet overflow in the forward pass (an epoch's
            # loss is computed before its last step): a call must end with
            # weights that predict finitely on the rows it trained on.
            if not self._ends_finite(train.X):
                self._diverged(
                    net, checkpoint.history, train.X, first_pass, self.n_iter_
                )
            else:
                self._warn_if_beyond_recovery()
        vars(self).pop("_fit_validation_X", None)
        vars(self).pop("_validation_scorer", None)
        _notify(callbacks, "on_fit_end", self, {"n_iter": self.n_iter_})

    def _current_optimizer(self, net, incremental):
        """Return the optimizer for this call: ``partial_fit`` continues the last one.

        A continued optimizer takes the estimator's current hyperparameters
        (``set_params`` between calls is honoured, e.g. a lower
        ``learning_rate_init``); a change of solver, or of the number of
        parameters, starts a new one.
        """
        cls, settings = self._optimizer_settings()
        optimizer = self._optimizer if incremental else None
        n_params = net.params.shape[0]
        if type(optimizer) is cls and optimizer.n_params == n_params:
            optimizer.set_hyperparameters(**settings)
        else:
            optimizer = cls(
                n_params,
                net.dtype,
                n_decayed=net.n_coef,  # weight decay: the coefficients only
                xp=net.xp,
                device=net.device,
                **settings,
            )
        self._optimizer = optimizer
        return optimizer

    def _run_epochs(
        self, net, optimizer, train, val, checkpoint, callbacks, incremental, first_pass
    ):
        """Train up to ``max_iter`` epochs (one for partial_fit); True if diverged.

        ``checkpoint`` records each epoch once its records are complete (before
        the callbacks see it) and again after the stall check.
        """
        n_samples = train.n_samples
        batch_size = self._batch_size(n_samples)
        sw = train.host_weight
        positive = None if sw is None else sw[sw > 0]
        if batch_size == 1 and positive is not None and np.ptp(positive) > 0:
            _warn(
                "With batch_size=1 each step's loss is its one row's weighted mean "
                "(as in scikit-learn's MLP), so the row's weight cancels out: "
                "sample_weight and class_weight only act through zero weights. Use "
                "a larger batch_size for the weights to shape training.",
                UserWarning,
            )
        # A schedule object plans max_iter epochs (of this many batches).
        optimizer.start_schedule(-(-n_samples // batch_size), self.max_iter)
        order = np.arange(n_samples)
        start = time.perf_counter()
        for _ in range(self.max_iter):
            if self.shuffle:
                # sklearn.utils.shuffle's permutation (the same draws from the
                # RandomState), without its input checks: 1 ms less per epoch.
                perm = np.arange(n_samples)
                self._random_state.shuffle(perm)
                order = order[perm]
            _notify(callbacks, "on_epoch_begin", self, {"epoch": self.n_iter_ + 1})
            loss, norms = self._run_epoch(net, optimizer, train, order, batch_size)
            # A non-finite optimizer state is divergence too, even where its
            # arithmetic keeps the weights finite (Adam's step m/√v is 0 once v
            # overflows, freezing the weights).
            if not (
                np.isfinite(loss)
                and _xp.all_finite(net.params)
                and optimizer.is_finite()
            ):
                self._diverged(
                    net, checkpoint.history, train.X, first_pass, self.n_iter_ + 1
                )
                return True
            self.n_iter_ += 1
            self.loss_ = loss
            self.t_ += n_samples
            self.loss_curve_.append(loss)
            self.gradient_norms_ = np.vstack([self.gradient_norms_, norms])
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
            self._end_epoch(net, val)
            optimizer.iteration_ends(self.t_)
            checkpoint.save(self.n_iter_)
            logs = self._epoch_logs(loss, norms, optimizer, start)
            if _notify(callbacks, "on_epoch_end", self, logs):
                return False
            stop = self._stalled(optimizer) or incremental
            checkpoint.save(self.n_iter_, arrays=False)
            if stop:
                return False
        _warn(
            f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
            "the optimization hasn't converged yet.",
            ConvergenceWarning,
        )
        return False

    def _stalled(self, optimizer):
        """Whether training stopped improving and the optimizer says stop."""
        stopping = EarlyStoppingState.of(self)
        if not stopping.stalled():
            return False
        if optimizer.trigger_stopping(stopping.message(), self.verbose):
            return True
        stopping.carry_on()
        return False

    def _diverged(self, net, history, X, first_pass, epoch):
        """Fall back to the latest weights that predict finitely after a blow-up.

        With early stopping the best epoch's weights come first. Otherwise the
        weights after the last finite epoch were never evaluated; if even they
        overflow on the training rows, step back to earlier epochs' weights, and
        at worst to the weights the call started from. A call that started from
        freshly initialised weights has no trained weights to fall back to: it
        raises (and the estimator is left as it was). The optimizer's state
        (momentum, moment estimates) diverged with the weights: it is reset.
        """
        self._check_loss_fault(net, f"epoch {epoch}")
        candidates = list(history.latest_first())
        best = EarlyStoppingState.of(self).trained_best()
        if best is not None:
            candidates.insert(0, ("best", best))
        kept_epoch = 0
        for epoch_of_params, params in candidates:
            net.params[...] = params
            kept_epoch = epoch_of_params
            if self._predicts_finitely(X):
                break
        if kept_epoch == 0 and first_pass:
            raise _non_finite_error(self)
        # The next call builds a fresh optimizer (with the current parameters,
        # e.g. a lowered learning_rate_init).
        self._optimizer = None
        if kept_epoch == "best":
            kept = "the best epoch's weights are restored"
        elif kept_epoch == 0:
            kept = "the weights from before this call are kept"
        else:
            kept = f"the weights after epoch {kept_epoch} are kept"
        advice = (
            f"Use a smaller learning_rate_init (now {self.learning_rate_init}) or "
            "scale the input, e.g. with sklearn.preprocessing.StandardScaler."
        )
        if (beyond := self._beyond_recovery()) is not None:
            advice = f"{beyond} {self._refit_advice()}"
        _warn(
            f"Training diverged in epoch {epoch}: the loss, the weights, the "
            "optimizer's state or the predictions became non-finite (inf or NaN); "
            f"{kept}, and the optimizer's state (momentum, moment estimates) is "
            f"reset. {advice}",
            ConvergenceWarning,
        )

    def _beyond_recovery(self, curve=None):
        """Say why the model is beyond recovery, or return None if it is not.

        The criterion: the latest training loss exceeds ``_BEYOND_RECOVERY``
        (1e10) times the first epoch's (or 1, whichever is larger). Such a loss
        comes from weights so large that no later learning rate brings them
        back in any useful number of epochs. With early stopping the best
        epoch's weights are kept, so the training loss says nothing of them.
        """
        curve = self.loss_curve_ if curve is None else curve
        if self.early_stopping or not curve:
            return None
        first, last = curve[0], curve[-1]
        if not last > _BEYOND_RECOVERY * max(first, 1.0):
            return None
        return (
            f"The training loss is {last:.3g}, more than {_BEYOND_RECOVERY:.0e} "
            f"times its first epoch's ({first:.3g}): the weights are beyond "
            "recovery, and training them further (partial_fit, warm_start) will "
            "not bring them back."
        )

    def _warn_if_beyond_recovery(self):
        """Warn once: when this call took the model beyond recovery."""
        curve = self.loss_curve_
        before = curve[: len(curve) - self.n_iter_]
        if not self.n_iter_ or self._beyond_recovery(before) is not None:
            return
        if (beyond := self._beyond_recovery()) is not None:
            _warn(f"{beyond} {self._refit_advice()}", ConvergenceWarning)

    def _refit_advice(self):
        return (
            "Refit the model from fresh weights (fit with warm_start=False), "
            f"with a smaller learning_rate_init (now {self.learning_rate_init}) "
            "or scaled inputs, e.g. with sklearn.preprocessing.StandardScaler."
        )

    def _check_loss_fault(self, net, when):
        """Raise if a user's loss gave NaN or inf for finite outputs in this call.

        Then the blow-up is the loss's doing (its value or delta is undefined
        where the outputs went), not the optimizer's: the error names the loss
        and the method, and the call leaves the estimator as it was.
        """
        fault = getattr(net.loss, "fault", None)
        method = None if fault is None else fault()
        if method is None:
            return
        name = type(self._loss).__name__
        raise ValueError(
            f"Loss {name}.{method} returned NaN or inf for finite network outputs "
            f"(in {when}): the outputs went outside the loss's domain (a log of "
            "a negative prediction, say), so this is the loss's failure, not a "
            "divergence of the training. Give the loss a link that maps into its "
            "domain (e.g. exp for positive outputs), or make link, value and "
            "output_delta finite for every finite input (e.g. clip p). The "
            "estimator was left as it was before this call."
        )

    def _ends_finite(self, X):
        """Whether the current weights predict finitely on ``X`` (cheaply).

        A bound on the signals (one pass over ``X`` and the weights) proves it in
        ordinary cases; only when the bound is inconclusive does a forward pass
        over ``X`` decide.
        """
        bound = signal_bound(
            X, self.coefs_, self.intercepts_, self.activations_, self.activation_params_
        )
        return bound <= signal_limit(self.coefs_[0].dtype) or self._predicts_finitely(X)

    def _predicts_finitely(self, X):
        """Whether the current weights give finite signals and outputs on ``X``.

        Every layer's signal must be finite before the prediction path clips it;
        an activation that overflows internally to a finite result (a user's
        ``s / (1 + exp(-s))`` for very negative s) is fine.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                return _xp.all_finite(self._forward(X, strict=True))
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
        """One pass over the training rows in mini-batches; mean loss and norms.

        Batches are gathered in the network's namespace; the loss and gradient
        norms of each batch stay there (on a GPU: no synchronisation per batch)
        until the epoch ends.
        """
        compiled = self._compiled_epoch(net, optimizer, train, order, batch_size)
        if compiled is not None:
            return compiled
        xp, n = net.xp, train.n_samples
        total, alpha = 0.0, float(self.alpha)
        n_batches = -(-n // batch_size)
        sq_norms = np.zeros((n_batches, len(net.coefs)), _xp.numpy_dtype(net.dtype))
        device_norms = []
        # With the compiled kernels, the optimizer's pass also adds the L2 term to
        # the gradient and takes its norms: two passes over the weights fewer.
        fold = xp is np and optimizer.folds()
        bounds = np.asarray(net._offsets[: len(net.coefs) + 1], dtype=np.int64)
        batches = iter_batches(train, order, batch_size, self.shuffle, xp, net.device)
        for b, m, Xb, Yb, swb in batches:
            total += net.loss_gradient(Xb, Yb, swb, alpha, l2_gradient=not fold) * m
            if fold:
                # α/Σw as loss_gradient would have scaled the coefficients.
                sw_sum = m if swb is None else float(swb.sum())
                l2 = dict(l2_scale=alpha / sw_sum if alpha else None)
                norms = dict(coef_bounds=bounds, sq_norms=sq_norms[b])
                optimizer.update(net.params, net.grad, fold=l2 | norms)
                continue
            if xp is np:
                net.coef_grad_sq_norms(sq_norms[b])
            else:
                device_norms.append((b, net.coef_grad_sq_norms()))
            optimizer.update(net.params, net.grad)
        if device_norms:
            rows, norms = zip(*device_norms, strict=True)
            sq_norms[list(rows)] = _xp.to_numpy(xp.stack(norms))
        return float(total) / n, np.sqrt(sq_norms).mean(axis=0)

    def _compiled_epoch(self, net, optimizer, train, order, batch_size):
        """Run the epoch compiled (numba); None where that does not apply.

        Numpy networks with built-in activations and losses, with the kernels on
        (:mod:`skbackprop._kernels.config`), where :func:`compiled_epoch_wins` finds a
        batch's work small enough: per-example SGD then costs a compiled call per
        chunk of batches (Ctrl-C is taken between chunks), not some thirty numpy
        calls per sample. Larger work is BLAS-bound and stays with the generic
        path (with its fused passes).
        """
        if type(train.X) is not np.ndarray or not compiled_epoch_wins(
            batch_size, net, self.solver
        ):
            return None
        kernels = _config.epoch_kernels()
        codes = None if kernels is None else kernels.network_codes(net)
        # Exactly SGD or Adam: a subclass may have its own update rule.
        if codes is None or type(optimizer) not in (SGD, Adam):
            return None
        args = optimizer._epoch_kernel_args()  # None: settings it does not cover
        if args is None:
            return None
        rule, state, settings = args
        loss, sq_norms = kernels.run_epoch(
            train.X, train.Y, train.sample_weight, order, batch_size, net.params,
            net._offsets, net.layer_units, *codes, float(self.alpha), rule, state,
            settings, sw_host=train.host_weight, grad=net.grad,
        )  # fmt: skip
        optimizer._epoch_kernel_done(state)
        return loss, np.sqrt(sq_norms).mean(axis=0)

    def _end_epoch(self, net, val):
        """Judge the epoch for the stopping rule: its training loss, or scores.

        With a :class:`ValidationSet` ``val`` (early stopping), the epoch's
        weights are scored on it; without, the last training loss is judged.
        """
        stopping = EarlyStoppingState.of(self)
        if val is None:
            stopping.record_loss(self.loss_curve_[-1])
            return
        out = _xp.to_numpy(self._forward(val.X))
        if np.isfinite(out).all():
            y_true = self._targets_for_score(val.Y)
            scorer = getattr(self, "_validation_scorer", None)
            if scorer is not None:  # scoring=: the scorer's value
                score = score_with(scorer, self, val.X, y_true, val.sample_weight)
            else:
                score = self._score_predictions(
                    y_true, self._predict_from_output(out), val.sample_weight
                )
            val_loss = self._loss.value(val.Y, out, val.sample_weight)
        else:
            score = val_loss = np.nan
        stopping.record_validation(score, val_loss, net.params, net.xp)
        if self.verbose:
            print(f"Validation score: {score:f}")
