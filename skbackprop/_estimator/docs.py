"""Parameter and attribute documentation shared by both estimators' docstrings."""

import textwrap

from ..activations import BUILTIN_ACTIVATIONS

# The built-ins' names, from the registry: ("identity", "logistic" or "sigmoid", ...).
_NAMES = ", ".join(
    " or ".join(f'"{name}"' for name in (cls.name, *cls._aliases))
    for cls in BUILTIN_ACTIVATIONS
)
_ACTIVATION = textwrap.fill(
    f"Hidden-layer activation θ: a name ({_NAMES}), an instance of a subclass of "
    ":class:`skbackprop.activations.Activation` (your own included), or a list "
    "with one of those per hidden layer.",
    width=80,
    initial_indent=" " * 8,
    subsequent_indent=" " * 8,
)

HIDDEN_PARAMS = f"""\
hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer.

    activation : str, Activation or list of them, default="relu"
{_ACTIVATION}"""

COMMON_PARAMS = """\
solver : {"lbfgs", "sgd", "adam"}, default="adam"
        "sgd" is the lecture's (mini-batch) stochastic gradient descent, with
        momentum; "adam" is Adam; "lbfgs" is scipy's L-BFGS-B on the full batch.

    alpha : float, default=0.0001
        L2 penalty: the objective adds ``alpha / (2 Σw) · Σ‖coefs‖²``.

    batch_size : int or "auto", default="auto"
        Rows per stochastic step; "auto" is ``min(200, n_samples)``. 1 is the
        lecture's per-example SGD, ``n_samples`` full-batch gradient descent.

    learning_rate : {"constant", "invscaling", "adaptive"} or Schedule, \
            default="constant"
        Step-size schedule. The strings are scikit-learn's schedules of "sgd"
        ("adam" ignores them): "constant"; "invscaling",
        ``learning_rate_init / (t + 1)^power_t`` with ``t`` samples seen;
        "adaptive", divide the rate by 5 each time training stalls (instead of
        stopping). A :class:`~skbackprop.schedules.Schedule` (``Warmup``,
        ``Cosine``, ``OneCycle``, ``Step``, ``Constant`` or your own), for "sgd"
        and "adam": the rate is ``learning_rate_init`` times its factor, stepped
        per epoch or per batch over the ``max_iter`` epochs planned; ``fit``
        starts it at step 0, ``partial_fit`` continues it, early stopping may end
        it early. Its parameters are grid-searchable (``learning_rate__period``).

    learning_rate_init : float, default=0.001
        Initial step size of "sgd" and "adam".

    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.

    max_iter : int, default=200
        Maximum epochs (stochastic solvers) or iterations (lbfgs).

    shuffle : bool, default=True
        Shuffle the rows every epoch (stochastic solvers).

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the early-stopping split and
        the ``dropout`` masks.

    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement. Absolute by
        default, as in scikit-learn: a loss in the target's units squared (a
        regressor's training or validation loss on prices in dollars) improves
        by far more than 1e-4 every epoch and never stops; one near 0 stops at
        once. Standardise the target, or set ``tol_mode="relative"``.

    verbose : bool, default=False
        Print progress per epoch.

    warm_start : bool, default=False
        Start ``fit`` from the current weights instead of new ones.

    momentum : float, default=0.9
        Momentum of "sgd".

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with "sgd".

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (or score the validation
        set passed as ``fit(X, y, X_val=..., y_val=...)``), stop when its score
        stops improving, and restore the best epoch's weights.

    validation_fraction : float, default=0.1
        Fraction held out for early stopping, in (0, 1). On small data the
        held-out set grows to its minimum: 2 samples, and one of each class for
        binary targets (stratified, as in scikit-learn). Ignored when ``fit``
        is given ``X_val`` and ``y_val``.

    beta_1 : float, default=0.9
        Adam's first-moment decay.

    beta_2 : float, default=0.999
        Adam's second-moment decay.

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.

    max_fun : int, default=15000
        Maximum loss evaluations of "lbfgs".

    validation_metric : {"score", "loss"}, default="score"
        What early stopping watches on the validation set: the score (accuracy or
        R², higher is better; scikit-learn's behaviour) or the loss (lower is
        better). The loss keeps improving after a coarse score such as accuracy
        saturates, so "loss" trains until the model stops getting more confident,
        while "score" restores the first epoch that reached the best score. With
        ``class_weight`` the score is the class-weighted accuracy, and an epoch
        whose score ties the best (within ``tol``) counts as better when its
        class-weighted validation loss is lower. ``scoring``, when set, takes
        over (``scoring="loss"`` is ``validation_metric="loss"``; a scorer
        with ``validation_metric="loss"`` is a contradiction, and an error).

    callbacks : object or list of objects, default=None
        Objects with any of ``on_fit_begin(estimator, logs)``,
        ``on_epoch_begin(estimator, logs)``, ``on_epoch_end(estimator, logs)`` and
        ``on_fit_end(estimator, logs)``. ``on_epoch_end`` receives the epoch's
        figures (``epoch``, ``loss``, ``gradient_norms``, ``learning_rate``,
        ``elapsed`` seconds, and with early stopping ``validation_score`` and
        ``validation_loss``); returning True stops training after that epoch.
        See :mod:`skbackprop.callbacks`. scikit-learn's own callbacks
        (``sklearn.callback``, scikit-learn >= 1.9) are registered with
        ``set_callbacks`` instead."""

DROPOUT_PARAM = """\
dropout : float or array-like of shape (n_layers - 2,), default=0.0
        Inverted dropout while training, in [0, 1): the probability of dropping
        each hidden unit's output, one rate for every hidden layer or one per
        hidden layer. Each batch draws a new mask ``m`` (seeded by
        ``random_state``), the layer above sees ``o ⊙ m / (1 - p)`` and the
        backward pass multiplies the same mask into δ. Prediction,
        ``predict_proba``, ``score``, the early-stopping validation scores and
        losses, :class:`~skbackprop.HiddenFeatures` and ONNX export use the
        weights without dropout; ``loss_curve_`` is the training loss with it,
        noisier than without (other masks each epoch), so the stopping rule on
        it (``tol``, ``n_iter_no_change``) fires sooner: prefer
        ``early_stopping=True``, or a larger ``n_iter_no_change``.
        Needs a stochastic solver ("sgd" or "adam"). With dropout the compiled
        epoch kernel and the fused layer passes step aside (the numpy path
        trains the layers; the compiled optimizer step still applies).
        0.0 adds nothing: today's training, bit for bit."""


TRAINING_EXTRAS = """\
weight_decay : float, default=0.0
        Decoupled weight decay (AdamW, Loshchilov & Hutter 2019) of "sgd" and
        "adam": each step first shrinks the coefficients, ``w ← w - η λ w``, then
        takes the gradient step (PyTorch's ``AdamW`` order). ``η`` is the step's
        rate before Adam's bias correction (``learning_rate_init`` times the
        schedule's factor; for "sgd" its current rate). Intercepts and
        activation parameters do not decay. Unlike ``alpha`` it is not part of
        the loss, and with Adam it is not rescaled by the moment estimates.
        Setting it with solver="lbfgs" raises a ValueError (use ``alpha``).
        A fit with it skips the compiled epoch kernel (the numpy path trains the
        same model, slower on small batches).

    max_grad_norm : float, default=None
        Clip the global L2 norm of each step's whole gradient (L2 term included;
        all parameters) to this, as ``torch.nn.utils.clip_grad_norm_``: the
        gradient is scaled by ``max_grad_norm / (norm + 1e-6)`` when that is
        below 1. ``gradient_norms_`` still reports the unclipped norms. None: no
        clipping. Setting it with solver="lbfgs" raises a ValueError. A fit
        with it skips the compiled epoch kernel, as with ``weight_decay``."""


EARLY_STOPPING_PARAMS = """\
scoring : str, callable or None, default=None
        What early stopping judges epochs by on the validation set: a
        scikit-learn scorer name (``"roc_auc"``, ``"neg_log_loss"``, ``"r2"``,
        ... see :func:`sklearn.metrics.get_scorer_names`), a callable scorer
        ``scorer(estimator, X, y)`` (e.g. from
        :func:`sklearn.metrics.make_scorer`), or ``"loss"`` (the validation
        loss, as ``validation_metric="loss"``). None defers to
        ``validation_metric`` (by default the accuracy or R², scikit-learn's
        behaviour). Scores are greater-is-better (a scorer's convention:
        ``"neg_log_loss"`` is minus the log loss); ``validation_scores_`` and
        ``best_validation_score_`` hold them. Used only with
        ``early_stopping=True``; the scorer predicts on the validation set with
        the epoch's weights (one more forward pass per epoch). With
        ``class_weight``, an epoch that ties the best score (within ``tol``)
        counts as better when its class-weighted validation loss is lower,
        as with the built-in score.

    tol_mode : {"absolute", "relative"}, default="absolute"
        How ``tol`` is read. "absolute" (scikit-learn's rule): an epoch improves
        when it beats the best value so far by ``tol``. "relative": by ``tol``
        times the magnitude of the best value, so that ``tol=1e-3`` means "0.1 %
        better" whatever the target's scale. Relative suits losses (the
        training loss, ``validation_metric="loss"``) on unscaled targets; for
        scores near 0 (an R² about 0) it demands almost nothing. Stochastic
        solvers only: "lbfgs" hands ``tol`` to scipy as it is."""

COMMON_ATTRIBUTES = """\
loss_ : float
        Objective at the end of training.

    best_loss_ : float or None
        Lowest training loss seen (None with early stopping).

    loss_curve_ : list of float
        Training loss per epoch (stochastic solvers).

    validation_scores_ : list of float or None
        Validation score per epoch with early stopping (the scorer's value with
        ``scoring``, greater is better).

    validation_loss_curve_ : list of float or None
        Validation loss (without the L2 term) per epoch with early stopping.

    best_validation_score_ : float or None
        Validation score of the best epoch with early stopping: the epoch whose
        weights are restored at the end of ``fit``.

    gradient_norms_ : ndarray of shape (n_epochs, `n_layers_` - 1)
        Per epoch (per iteration for lbfgs), the mean over batches of each layer's
        coefficient-gradient L2 norm; one row per entry of ``loss_curve_``.

    t_ : int
        Training samples seen by the stochastic solver.

    coefs_ : list of ndarray
        ``coefs_[i]`` has shape (units of layer i, units of layer i + 1): the
        lecture's ``W^(i+1)[:, 1:].T``. Assigning or editing them changes the model.

    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias of layer i + 1: the lecture's
        ``W^(i+1)[:, 0]``.

    activations_ : list of Activation
        The hidden activations used, one per hidden layer.

    activation_params_ : list of (ndarray or None)
        Learned parameters of parametric activations (PReLU slopes), one entry per
        hidden layer.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names seen during fit, when ``X`` has string column names.

    n_iter_ : int
        Epochs (or lbfgs iterations) run by the last call to fit.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Output activation: "identity", "exp", "logistic" or "softmax"."""
