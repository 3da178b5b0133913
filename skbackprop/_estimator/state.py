"""The fitted state: the network's structure, its initialisation and continuation.

:class:`StateMixin` turns the estimator's parameters into the structure of the
network (layer sizes, activations, the loss), draws the initial weights as
scikit-learn's MLP does, and, when a fit continues (``warm_start`` or
``partial_fit``), reconciles the fitted state with parameters changed since:
what still fits the weights is honoured, the rest is refused with a clear error.
The early-stopping bookkeeping is :mod:`skbackprop._training.early_stopping`'s; the
checks of a user's activation or loss are :mod:`skbackprop._estimator.checks`'.
"""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from .._core.dropout import dropout_rates
from .._training.early_stopping import EarlyStoppingState
from ..activations import Activation, Logistic, ParametricActivation, get_activation
from .checks import _check_activation_contract, _check_loss_contract

_STOCHASTIC_SOLVERS = ("sgd", "adam")
_REFIT = "refit with warm_start=False (or a new estimator) to change it"


class StateMixin:
    """Structure and fitted-state bookkeeping shared by the estimators."""

    # ------------------------------------------------------------ structure
    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, str) or not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        bad = [
            s
            for s in sizes
            if isinstance(s, bool)
            or not isinstance(s, numbers.Real)
            or not np.isfinite(s)
            or int(s) != s
            or s <= 0
        ]
        if bad:
            raise InvalidParameterError(
                f"hidden_layer_sizes must contain positive integers, got "
                f"{self.hidden_layer_sizes!r}. Give one size per hidden layer, e.g. "
                "(100,) or (64, 32)."
            )
        return [int(s) for s in sizes]

    def _resolve_activations(self, n_hidden, check=True):
        spec = self.activation
        if isinstance(spec, (list, tuple)):
            if len(spec) != n_hidden:
                raise ValueError(
                    f"activation is a list of {len(spec)} entries but there are "
                    f"{n_hidden} hidden layers (hidden_layer_sizes="
                    f"{self.hidden_layer_sizes!r}); give one activation per hidden "
                    "layer, or a single one for all."
                )
            acts = [get_activation(a) for a in spec]
        else:
            acts = [get_activation(spec)] * n_hidden
        # Clone so that fitting never shares state with the user's objects.
        acts = [clone(a) for a in acts]
        if check:
            for act in acts:
                _check_activation_contract(act)
        return acts

    def _dropout_rates(self, n_hidden):
        """Return the ``dropout`` rate above each hidden layer, validated.

        Dropout draws a new mask for every evaluation of the loss: L-BFGS, whose
        line search compares evaluations of one objective, cannot train with it.
        """
        rates = dropout_rates(self.dropout, n_hidden)
        if any(rates) and self.solver not in _STOCHASTIC_SOLVERS:
            raise ValueError(
                f"dropout={self.dropout!r} needs a stochastic solver: it draws a "
                "new random mask for every batch, and L-BFGS's line search needs "
                "one fixed objective. Use solver='adam' or solver='sgd', or "
                "dropout=0.0 with solver='lbfgs'."
            )
        return rates

    def _dropout_seed(self, rates):
        """Return the seed of this call's dropout masks (None without dropout).

        Drawn only with dropout, so that without it the random draws are
        scikit-learn's. The samples seen so far (``t_``) are mixed in: calls of
        ``partial_fit`` with an integer ``random_state`` (which restart its
        generator) still draw new masks.
        """
        if not any(rates or ()):
            return None
        return [int(self._random_state.randint(np.iinfo(np.int32).max)), int(self.t_)]

    def _init_bound_factor(self, layer):
        # Glorot uniform as in scikit-learn: factor 2 for logistic units, 6 otherwise.
        # Layer i's weights use the activation they feed; the output layer uses the
        # last hidden one (scikit-learn uses its single activation everywhere).
        acts = self.activations_
        if acts:
            act = acts[min(layer, len(acts) - 1)]
        elif isinstance(self.activation, (str, Activation)):
            act = get_activation(self.activation)
        else:
            act = None
        return 2.0 if isinstance(act, Logistic) else 6.0

    # ------------------------------------------------------- initialisation
    def _initialize(self, Y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self._loss = self._make_loss()
        _check_loss_contract(self._loss)
        self.out_activation_ = self._loss.out_activation
        self.activations_ = self._resolve_activations(len(layer_units) - 2)
        rng = self._random_state
        self.coefs_, self.intercepts_ = [], []
        for i, (fan_in, fan_out) in enumerate(
            zip(layer_units[:-1], layer_units[1:], strict=True)
        ):
            bound = np.sqrt(self._init_bound_factor(i) / (fan_in + fan_out))
            coef = rng.uniform(-bound, bound, (fan_in, fan_out))
            intercept = rng.uniform(-bound, bound, fan_out)
            self.coefs_.append(coef.astype(dtype, copy=False))
            self.intercepts_.append(intercept.astype(dtype, copy=False))
        self.activation_params_ = [
            act.init_parameters(units, dtype)
            if isinstance(act, ParametricActivation)
            else None
            for act, units in zip(self.activations_, layer_units[1:-1], strict=True)
        ]
        self._optimizer = None
        self.gradient_norms_ = np.empty((0, self.n_layers_ - 1))
        EarlyStoppingState.of(self).start(self.solver in _STOCHASTIC_SOLVERS)

    # ---------------------------------------------------------- continuation
    def _continue(self, layer_units, dtype):
        """Reconcile the fitted state with the current parameters (warm/partial).

        Layer sizes must still match the weights (the number of features and
        outputs are checked on the data). Activations, the loss, the solver and
        ``early_stopping`` may change: the weights are kept, a parametric
        activation keeps its learned parameters if its class is unchanged and
        starts from its initial ones otherwise.
        """
        fitted = [self.coefs_[0].shape[0], *(c.shape[1] for c in self.coefs_)]
        if list(layer_units) != fitted:
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} gives layers of "
                f"{layer_units[1:-1]} units, but the fitted weights have hidden "
                f"layers of {fitted[1:-1]}, so training cannot continue from them "
                f"(warm_start or partial_fit). Restore hidden_layer_sizes, or {_REFIT}."
            )
        old_acts = self.activations_
        old_params = list(self.activation_params_)
        self.activations_ = self._resolve_activations(len(layer_units) - 2, False)
        changed_acts = [
            not _same_params(new, old)
            for new, old in zip(self.activations_, old_acts, strict=True)
        ]
        for act, changed in zip(self.activations_, changed_acts, strict=True):
            if changed:  # the others were checked when the fit began
                _check_activation_contract(act)
        self.activation_params_ = [
            old_theta
            if type(act) is type(old) and old_theta is not None
            else (
                act.init_parameters(units, dtype)
                if isinstance(act, ParametricActivation)
                else None
            )
            for act, old, old_theta, units in zip(
                self.activations_, old_acts, old_params, layer_units[1:-1], strict=True
            )
        ]
        old_loss = self._loss
        self._loss = self._make_loss()
        # A loss of another class, or with other parameters (HuberLoss's delta,
        # QuantileLoss's quantile), is another objective.
        changed_loss = not _same_params(self._loss, old_loss)
        if changed_loss:
            _check_loss_contract(self._loss)
        self.out_activation_ = self._loss.out_activation
        EarlyStoppingState.of(self).resume(
            self.solver in _STOCHASTIC_SOLVERS,
            network_changed=changed_loss or any(changed_acts),
            loss_changed=changed_loss,
        )


def _same_params(new, old):
    """Whether two activations (or losses) are one class with equal parameters."""
    if type(new) is not type(old):
        return False
    try:
        return bool(new.get_params(deep=False) == old.get_params(deep=False))
    except ValueError:  # array-valued parameters: count them as changed
        return False
