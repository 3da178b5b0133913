"""Hidden-layer features: a fitted network's hidden activations as a transformer."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from ._core import xp as _xp
from ._estimator.base import BaseBackprop
from ._estimator.compat import _check_feature_names_in, _fit_context
from ._estimator.sklearn_callbacks import MetaCallbackMixin

__all__ = ["HiddenFeatures"]


def _network(estimator):
    """Split ``estimator`` into the steps before the network and the network.

    Returns ``(preprocess, network)``: ``preprocess`` lists the fitted
    transformers to apply before the network, in order (the steps of a pipeline
    ending in it, nested pipelines included), ``network`` is the
    :class:`BackpropClassifier` or :class:`BackpropRegressor` itself. A
    ``FrozenEstimator`` is looked through.
    """
    inner = estimator
    while isinstance(inner, FrozenEstimator):
        inner = inner.estimator
    if isinstance(inner, BaseBackprop):
        return [], inner
    steps = getattr(inner, "steps", None)
    if isinstance(steps, list) and steps:
        before = [inner[:-1]] if len(steps) > 1 else []
        try:
            preprocess, network = _network(inner[-1])
        except TypeError:
            pass
        else:
            return before + preprocess, network
    raise TypeError(
        "HiddenFeatures needs a skbackprop network: a BackpropClassifier or a "
        "BackpropRegressor, a Pipeline ending in one, or either wrapped in "
        f"sklearn.frozen.FrozenEstimator; got {type(estimator).__name__}. Pass the "
        "network (or the pipeline that ends in it) as estimator."
    )


class HiddenFeatures(
    TransformerMixin, MetaEstimatorMixin, MetaCallbackMixin, BaseEstimator
):
    """The activations of a network's hidden layer, as features for other models.

    ``transform`` propagates ``X`` through the fitted network up to hidden layer
    ``layer`` and returns that layer's outputs ``o^(l)`` (after its activation),
    one column per unit: learned features for another model, a plot or a
    nearest-neighbour search. It is the network's own forward pass, with the
    same validation and clipping of extreme inputs as ``predict``, in the input's
    array namespace and on its device (under ``array_api_dispatch``).

    ``fit`` fits a clone of ``estimator``. To take the features of a model that is
    already fitted, without refitting it, wrap it in
    :class:`sklearn.frozen.FrozenEstimator`: ``fit`` then leaves it as it is
    (and needs no ``y``). With scikit-learn >= 1.9, callbacks set on it (or on a
    pipeline holding it) reach the network's fit (:meth:`set_callbacks`).

    Parameters
    ----------
    estimator : estimator
        A :class:`~skbackprop.BackpropClassifier` or
        :class:`~skbackprop.BackpropRegressor`, a :class:`~sklearn.pipeline.Pipeline`
        ending in one (its other steps transform ``X`` first), or either wrapped
        in :class:`~sklearn.frozen.FrozenEstimator`.
    layer : int or list of int, default=-1
        The hidden layer whose activations are returned: 0 is the first hidden
        layer, -1 the last. A list concatenates the layers' activations in its
        order. Read at ``transform``: it can be changed with ``set_params``
        without refitting.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator`` (the ``FrozenEstimator`` itself).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    BackpropClassifier.predict_proba : The output layer of the same pass.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbackprop import BackpropClassifier, HiddenFeatures
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(8, 3), solver="lbfgs",
    ...                          random_state=0)
    >>> features = HiddenFeatures(clf, layer=-1).fit(X, y)
    >>> features.transform(X[:2]).shape
    (2, 3)
    >>> features.get_feature_names_out()
    array(['hidden1_0', 'hidden1_1', 'hidden1_2'], dtype=object)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "layer": [Integral, list, tuple],
    }

    def __init__(self, estimator, *, layer=-1):
        self.estimator = estimator
        self.layer = layer

    def _layers(self, network, fitted):
        """Return the requested hidden layers as indices from 0, validated."""
        if fitted:
            n_hidden = network.n_layers_ - 2
        else:
            n_hidden = len(network._hidden_layer_sizes())
        many = isinstance(self.layer, (list, tuple))
        layers = list(self.layer) if many else [self.layer]
        bad = [
            layer
            for layer in layers
            if isinstance(layer, bool)
            or not isinstance(layer, Integral)
            or not -n_hidden <= layer < n_hidden
        ]
        if bad or not layers:
            raise ValueError(
                f"layer={self.layer!r} does not name hidden layers of this network: "
                f"it has {n_hidden} hidden layer(s), numbered 0 to {n_hidden - 1} "
                f"(or -{n_hidden} to -1 from the last). Pass one of these numbers, "
                "or a non-empty list of them."
            )
        return [int(layer) % n_hidden for layer in layers]

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Fit a clone of the network (a ``FrozenEstimator`` is left as it is).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets of the network (not needed for a ``FrozenEstimator``).
        **fit_params : dict
            Passed to the estimator's ``fit`` (e.g. ``sample_weight``).

        Returns
        -------
        self : object
            The fitted transformer.
        """
        estimator = clone(self.estimator)
        _, network = _network(estimator)
        # The layer is checked against the network before the (long) fit.
        frozen = isinstance(estimator, FrozenEstimator)
        self._layers(network, fitted=frozen)
        if frozen:
            estimator.fit(X, y, **fit_params)
        else:
            self._fit_network(estimator, X, y, **fit_params)
        self.estimator_ = estimator
        self.n_features_in_ = estimator.n_features_in_
        names = getattr(estimator, "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        else:
            self.__dict__.pop("feature_names_in_", None)
        return self

    def transform(self, X):
        """Return the hidden layer's activations for ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        features : array of shape (n_samples, n_units)
            The outputs of the hidden layer (the listed layers side by side), in
            the namespace and on the device of ``X`` under ``array_api_dispatch``.
        """
        check_is_fitted(self)
        preprocess, network = _network(self.estimator_)
        layers = self._layers(network, fitted=True)
        # Inputs of another namespace than the weights are refused in this
        # transformer's name (the same check as the network's predict).
        xp = _xp.dispatch_namespace(X)
        network._check_namespace(X, xp, "transform", owner=type(self).__name__)
        for step in preprocess:
            X = step.transform(X)
        outs = [
            network._validated_output(X, method="transform", hidden=layer)
            for layer in layers
        ]
        if len(outs) == 1:
            return outs[0]
        xp = _xp.namespace(outs[0])
        return np.hstack(outs) if xp is np else xp.concat(outs, axis=1)

    def get_feature_names_out(self, input_features=None):
        """Names of the features out: ``hidden{layer}_{unit}``.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Only checked against the features seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``hidden{l}_{j}`` for unit ``j`` of hidden layer ``l`` (counted from
            0, first layer first).
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        _, network = _network(self.estimator_)
        names = [
            f"hidden{layer}_{unit}"
            for layer in self._layers(network, fitted=True)
            for unit in range(network.coefs_[layer].shape[1])
        ]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.target_tags.required = inner.target_tags.required
        tags.array_api_support = inner.array_api_support
        return tags
