"""BackpropClassifier: a drop-in superset of scikit-learn's MLPClassifier."""

import math
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_array, column_or_1d

from ._core import xp as _xp
from ._core.loss_math import _clipped, _namespace, _weighted_total
from ._estimator import docs as _docs
from ._estimator.available import _available_if
from ._estimator.base import BaseBackprop
from ._estimator.class_weight import ClassWeightMixin
from ._estimator.compat import _fit_context
from ._estimator.validation import _validate_with_hints
from ._training.checkpoint import _atomic
from .losses import BinaryLogLoss, SoftmaxLogLoss


class _SmoothedBinaryLogLoss(BinaryLogLoss):
    """Binary cross-entropy for soft targets (``label_smoothing > 0``).

    ``-(y log p + (1 - y) log(1 - p))`` for any ``y`` in [0, 1];
    :class:`BinaryLogLoss` picks one log for 0/1 targets. The gradient
    ``δ^(L) = P - Y`` is the same. Not a built-in class, so the compiled epoch
    kernel (whose binary loss takes 0/1 targets) steps aside.
    """

    __module__ = "skbackprop.classifier"

    def value(self, y, p, sample_weight=None):  # noqa: D102
        xp = _namespace(p)
        ll = xp.log(_clipped(p)) * y + xp.log(_clipped(1 - p)) * (1 - y)
        return -_weighted_total(ll, sample_weight)


class BackpropClassifier(ClassWeightMixin, ClassifierMixin, BaseBackprop):  # noqa: D101
    __doc__ = f"""Neural network classifier trained by backpropagation.

    Same parameters, defaults, attributes and behaviour as scikit-learn's
    :class:`~sklearn.neural_network.MLPClassifier`, plus pluggable activations,
    ``class_weight``, ``validation_loss_curve_`` and ``gradient_norms_``. Binary
    and multilabel targets use a logistic output, multiclass a softmax; the loss is
    the cross-entropy.

    Parameters
    ----------
    {_docs.HIDDEN_PARAMS}

    {_docs.COMMON_PARAMS}

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``. "balanced" uses
        ``Σw / (n_classes · Σ_{{class}} w)``. For multilabel targets, "balanced"
        applies per label column, and a dict form is a list of dicts (one per
        column) as in :func:`sklearn.utils.class_weight.compute_sample_weight`.
        A validation set passed to ``fit`` (``X_val``) is weighted by the
        same class weights as the training rows.

    {_docs.TRAINING_EXTRAS}

    label_smoothing : float, default=0.0
        Label smoothing ``ε`` in [0, 1): the network trains on the targets
        ``y (1 - ε) + ε / K``, with ``K`` the number of classes for a softmax
        (multiclass) output and ``K = 2`` for each logistic output (binary,
        multilabel). The training loss (``loss_curve_``) and the validation loss
        of early stopping are cross-entropies against these targets (so they do
        not reach 0); predictions, probabilities, scores and ``class_weight``
        (read off the labels) are unchanged in form. With a binary or
        multilabel target and ``ε > 0`` a fit skips the compiled epoch kernel.

    {_docs.DROPOUT_PARAM}

    {_docs.EARLY_STOPPING_PARAMS}

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Class labels (for multilabel, the label columns).

    {_docs.COMMON_ATTRIBUTES}

    See Also
    --------
    BackpropRegressor : The regressor on the same core.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbackprop import BackpropClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(16,), activation="tanh",
    ...                          solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    """

    _parameter_constraints: dict = {
        **BaseBackprop._parameter_constraints,
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        validation_metric="score",
        callbacks=None,
        class_weight=None,
        weight_decay=0.0,
        max_grad_norm=None,
        label_smoothing=0.0,
        dropout=0.0,
        scoring=None,
        tol_mode="absolute",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.validation_metric = validation_metric
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.label_smoothing = label_smoothing
        self.dropout = dropout
        self.scoring = scoring
        self.tol_mode = tol_mode

    # ------------------------------------------------------------ targets
    def _validate_input(self, X, y, incremental, reset, xp):
        X, y = _validate_with_hints(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=_xp.float_dtypes(xp),
            order="C",
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y.toarray() if sp.issparse(y) else y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            binarizer = LabelBinarizer().fit(y)
            if (
                binarizer.y_type_ != "multilabel-indicator"
                and len(binarizer.classes_) < 2
            ):
                raise ValueError(
                    "The classifier needs samples of at least 2 classes in y; got "
                    f"only one class: {binarizer.classes_.tolist()[0]!r}. Check your "
                    "labels, "
                    "or use partial_fit with classes=... if other classes come later."
                )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
            self._y_dtype = y.dtype.str  # a str pickles anywhere
        else:
            self._check_same_target_type(y)
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes "
                        f"as in the previous call to fit. Previously got "
                        f"{self.classes_}, `y` has {classes}. Set warm_start=False "
                        "to start a new model."
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}. Pass every class in "
                    "`classes=` on the first call to partial_fit."
                )
        dtype = X.dtype if reset else self.coefs_[0].dtype
        return X, self._encode(y, _xp.numpy_dtype(dtype))

    def _encode_validation_targets(self, y, dtype):
        y = check_array(
            y, ensure_2d=False, dtype=None, accept_sparse=["csr"], input_name="y_val"
        )
        multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        if y.ndim == 2 and y.shape[1] == 1 and not multilabel:
            y = column_or_1d(y.toarray() if sp.issparse(y) else y, warn=True)
        try:
            self._check_same_target_type(y)
        except ValueError as err:
            raise ValueError(f"y_val does not match y: {err}") from err
        if not multilabel:
            unseen = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unseen):
                raise ValueError(
                    f"y_val has label(s) {unseen.tolist()} that are not in y "
                    f"(the classes fitted are {self.classes_.tolist()}): the model "
                    "cannot predict them, so early stopping cannot score them. Drop "
                    "those rows from the validation set, or add samples of those "
                    "classes to the training data."
                )
        return self._encode(y, dtype)

    def _validation_class_factors(self, Y):
        """Class weights of the validation rows: the training rows' per class."""
        cw = self.class_weight
        if cw is None:
            return None
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            index = Y.astype(np.intp)
        else:
            col = Y[:, 0] if Y.shape[1] == 1 else Y.argmax(axis=1)
            index = col.astype(np.intp)[:, np.newaxis]
        if not isinstance(cw, str):
            return self._dict_class_weights(cw, index)
        # "balanced": the per-class weights of the counts this fit trained on.
        counts = _xp.host(self._class_counts)
        seen = (counts > 0).sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            class_w = np.where(
                counts > 0, counts.sum(axis=1, keepdims=True) / (seen * counts), 0.0
            )
        return np.prod(class_w[np.arange(index.shape[1]), index], axis=1)

    def _check_same_target_type(self, y):
        """Refuse a ``y`` whose kind (multilabel or not, columns) differs from fit's."""
        fitted_multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        kind = type_of_target(y)
        multilabel = kind == "multilabel-indicator"
        refit = "refit with warm_start=False (a new model) to change the kind of target"
        if multilabel and not fitted_multilabel:
            raise ValueError(
                "The object was not fitted with multilabel input. This model was "
                f"fitted on class labels ({self._label_binarizer.y_type_}, classes "
                f"{self.classes_.tolist()}), but y is a multilabel indicator matrix "
                f"with {y.shape[1]} columns. Pass one label per sample, or {refit}."
            )
        if fitted_multilabel and not multilabel:
            raise ValueError(
                "The object was fitted with multilabel input: y must be a 0/1 "
                f"indicator matrix with {len(self.classes_)} columns, one per label, "
                f"but it is {kind} of shape {y.shape}. Pass the "
                f"indicator matrix, or {refit}."
            )
        if multilabel and y.shape[1] != len(self.classes_):
            raise ValueError(
                f"y has {y.shape[1]} label columns, but the model was fitted with "
                f"{len(self.classes_)}. Pass the same label columns, or {refit}."
            )

    def _encode(self, y, dtype):
        """Targets as the network's 0/1 output matrix, built directly in ``dtype``.

        The same as ``LabelBinarizer.transform`` (binary: one column for
        ``classes_[1]``; multiclass: one-hot), without its int64 intermediate.
        """
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return y.toarray().astype(dtype) if sp.issparse(y) else y.astype(dtype)
        index = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return (index == 1).astype(dtype).reshape(-1, 1)
        Y = np.zeros((len(index), len(self.classes_)), dtype=dtype)
        Y[np.arange(len(index)), index] = 1
        return Y

    def _make_loss(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return SoftmaxLogLoss()  # its value takes soft targets as they are
        if getattr(self, "label_smoothing", 0.0):
            return _SmoothedBinaryLogLoss()
        return BinaryLogLoss()

    def _smooth_targets(self, Y):
        """``Y (1 - ε) + ε / K``: K classes for softmax, 2 per logistic output."""
        eps = float(getattr(self, "label_smoothing", 0.0))
        if not eps:
            return Y
        k = Y.shape[1] if self._label_binarizer.y_type_ == "multiclass" else 2
        return Y * (1.0 - eps) + eps / k

    def _predict_from_output(self, out):
        if not isinstance(out, np.ndarray):
            return self._predict_in_namespace(out)
        if self.n_outputs_ == 1:
            out = out.ravel()
        # LabelBinarizer.inverse_transform's rules, without its overhead (it
        # dominated one-row predictions): threshold 0.5, else the argmax.
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            labels = (out > 0.5).astype(self._y_dtype)
            # Fitted on a sparse indicator matrix: sparse predictions, as
            # LabelBinarizer gives.
            if self._label_binarizer.sparse_input_:
                return sp.csr_matrix(labels)
            return labels
        if out.ndim == 1:
            return self.classes_.take((out > 0.5).astype(np.intp))
        return self.classes_.take(out.argmax(axis=1))

    def _predict_in_namespace(self, out):
        """Return the labels of outputs ``out`` of another namespace, in it.

        Numeric and boolean labels come back on ``out``'s device; labels no array
        namespace holds (strings, objects) come back as a numpy array. A model
        fitted on a sparse indicator matrix predicts a dense one here.
        """
        xp, device = _xp.namespace(out), _xp.device(out)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return xp.astype(out > 0.5, _xp.namespace_dtype(self._y_dtype, xp))
        if self.n_outputs_ == 1:
            index = xp.astype(out[:, 0] > 0.5, xp.int64)
        else:
            index = xp.argmax(out, axis=1)
        if self.classes_.dtype.kind not in "biuf":
            return self.classes_[_xp.to_numpy(index)]
        return xp.take(xp.asarray(self.classes_, device=device), index)

    def _targets_for_score(self, Y):
        return self._predict_from_output(Y)

    def _score_predictions(self, y_true, y_pred, sample_weight):
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    # ------------------------------------------------------------ public API
    @_available_if(lambda est: est._check_partial_fit_allowed())
    @_atomic
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with one pass over ``X``, ``y``.

        Takes no validation set (``X_val``): ``partial_fit`` does not stop
        early, so ``fit`` alone takes one.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.
        classes : array-like of shape (n_classes,), default=None
            All classes across calls; required on the first call (not for
            multilabel targets), ignored after.

        Returns
        -------
        self : object
            The updated estimator.
        """
        first_call = not hasattr(self, "classes_")
        y, classes = _xp.host(y), _xp.host(classes)  # labels live on the host
        if first_call:
            multilabel = type_of_target(y).startswith("multilabel")
            if classes is None and not multilabel:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit, e.g. "
                    "classes=np.unique(y_all)."
                )
            binarizer = LabelBinarizer()
            if multilabel:
                binarizer.fit(y)
            else:
                binarizer.fit(classes)
                if len(binarizer.classes_) < 2:
                    raise ValueError(
                        "partial_fit needs at least 2 classes in `classes`; got "
                        f"{binarizer.classes_.tolist()}. Pass every class the data "
                        "can have, e.g. classes=np.unique(y_all)."
                    )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
            self._y_dtype = (y if sp.issparse(y) else np.asarray(y)).dtype.str
        elif classes is not None and not np.array_equal(
            np.sort(np.asarray(classes)), np.sort(np.asarray(self.classes_))
        ):
            raise ValueError(
                f"`classes={classes}` is not the same as on the first call to "
                f"partial_fit ({self.classes_})."
            )
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted classes.
        """
        return self._predict_from_output(self._validated_output(X))

    def decision_function(self, X):
        """Output-layer signal ``s^(L)`` (the logits), before the output activation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For binary targets one column, raveled: positive favours
            ``classes_[1]``. Otherwise one column per class or label.
        """
        out = self._validated_output(X, link=False, method="decision_function")
        if out.shape[1] > 1:
            return out
        return out.ravel() if isinstance(out, np.ndarray) else _xp.ravel(out)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``. Never
            exactly 0: probabilities below the smallest normal float are raised
            to it, so that ``log(predict_proba(X))`` equals
            :meth:`predict_log_proba` and stays finite.
        """
        out = self._validated_output(X, method="predict_proba")
        if not isinstance(out, np.ndarray):
            xp = _xp.namespace(out)
            if self.n_outputs_ == 1:
                out = xp.concat([1 - out, out], axis=1)
            return xp.clip(out, min=float(xp.finfo(out.dtype).smallest_normal))
        if self.n_outputs_ == 1:
            p = out.ravel()
            out = np.vstack([1 - p, p]).T
        return np.maximum(out, np.finfo(out.dtype).tiny, out=out)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        # From the logits, so that tiny probabilities give finite logs; floored
        # where predict_proba floors its probabilities.
        s = self._validated_output(X, link=False, method="predict_log_proba")
        if not isinstance(s, np.ndarray):
            return self._log_proba_in_namespace(s)
        if self.out_activation_ == "softmax":
            # Shift by the row maximum first, as the softmax does: with huge tied
            # logits, s - logsumexp(s) would round to 0 (probability 1) for each.
            s -= np.max(s, axis=1, keepdims=True)
            log_p = s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))
        elif self.n_outputs_ == 1:
            # log(1 - σ(s)), log σ(s)
            log_p = np.hstack([-np.logaddexp(0, s), -np.logaddexp(0, -s)])
        else:
            log_p = -np.logaddexp(0, -s)  # log σ(s) per label
        return np.maximum(log_p, np.log(np.finfo(log_p.dtype).tiny), out=log_p)

    def _log_proba_in_namespace(self, s):
        """:meth:`predict_log_proba` from logits ``s`` of another namespace."""
        xp = _xp.namespace(s)
        if self.out_activation_ == "softmax":
            s = s - xp.max(s, axis=1, keepdims=True)
            log_p = s - xp.log(xp.sum(xp.exp(s), axis=1, keepdims=True))
        else:
            zero = xp.zeros_like(s)
            log_p = -xp.logaddexp(zero, -s)  # log σ(s)
            if self.n_outputs_ == 1:
                log_p = xp.concat([-xp.logaddexp(zero, s), log_p], axis=1)
        floor = math.log(float(xp.finfo(log_p.dtype).smallest_normal))
        return xp.clip(log_p, min=floor)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
