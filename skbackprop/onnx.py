"""ONNX export of the estimators, through skl2onnx.

Importing this module registers :class:`~skbackprop.BackpropClassifier` and
:class:`~skbackprop.BackpropRegressor` with `skl2onnx
<https://onnx.ai/sklearn-onnx/>`_ (shape calculators, converters, and for the
classifier skl2onnx's classifier parser with its ``zipmap``, ``nocl`` and
``output_class_labels`` options). From then on ``skl2onnx.to_onnx`` converts them,
alone or inside pipelines::

    import skbackprop.onnx  # noqa: F401  (registers the converters)
    from skl2onnx import to_onnx

    onx = to_onnx(pipeline, X[:1].astype(np.float32))

:func:`to_onnx` here does the same from a ``dtype``, without a sample, and
registers subclasses of the estimators too.

The input's type decides the graph's: float64 for a double input, float32
otherwise. The classifier's outputs are those of skl2onnx's ``MLPClassifier``
converter: ``label`` (int64 or string; for multilabel targets an int64 0/1
matrix) and ``probabilities`` (``predict_proba``), a list of dicts unless
``options={"zipmap": False}`` (required for float64 graphs: ONNX's ZipMap takes
float32 only). The regressor's output has shape ``(n_samples, n_outputs)``.

An activation that skbackprop does not know exports when it has a method::

    def onnx_nodes(self, g, s):          # ParametricActivation: (self, g, s, theta)
        return g.op("Div", s, g.op("Add", g.op("Abs", s), 1.0))  # softsign

that builds ``θ(s)`` with ``g``, a :class:`GraphBuilder`, and returns the name
of the result. ``s`` is the name of the layer's signal, of shape ``(n_samples,
n_units)``; ``theta`` is the layer's parameter array (numpy, of shape
``(n_parameters, n_units)``). A user's :class:`~skbackprop.losses.Loss` with a
``link`` of its own exports the same way, with ``onnx_nodes(self, g, s)``
building ``link(s)``.

Requires skl2onnx and onnx: ``pip install skl2onnx onnx`` (the ``onnx`` extra).
"""

try:
    import skl2onnx
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
except ImportError as err:
    raise ImportError(
        "skbackprop.onnx needs skl2onnx and onnx, which are not installed "
        f"({err}). Install them with: pip install skl2onnx onnx (the onnx extra; and "
        "onnxruntime to run the exported graphs)."
    ) from err

import numpy as np
from onnx import TensorProto
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from . import activations as _activations
from . import losses as _losses
from ._core import xp as _xp
from ._core.limits import graph_signal_limit
from ._export.onnx_ops import GraphBuilder
from .activations import ParametricActivation
from .classifier import BackpropClassifier
from .regressor import BackpropRegressor
from .tabular import TabularMLPClassifier, TabularMLPRegressor

__all__ = ["GraphBuilder", "to_onnx"]

_HOOK = "onnx_nodes"
_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}


# ------------------------------------------------------------------ the graph
def _graph_dtype(variable):
    """float64 for a double input, float32 otherwise (skl2onnx's convention)."""
    return np.float64 if isinstance(variable.type, DoubleTensorType) else np.float32


def _tensor_type(dtype):
    return DoubleTensorType if np.dtype(dtype) == np.float64 else FloatTensorType


def _input(g, variable):
    """Return the input, cast to the graph's dtype where it has another type."""
    if isinstance(variable.type, _tensor_type(g.dtype)):
        return variable.full_name
    to = TensorProto.DOUBLE if g.dtype == np.float64 else TensorProto.FLOAT
    return g.op("Cast", variable.full_name, to=to)


def _activation_emitter(act):
    """Return the function that writes ``act``'s forward pass, or raise."""
    hook = getattr(act, _HOOK, None)
    if callable(hook):

        def emit(g, s, act, theta):
            return _checked(hook(g, s) if theta is None else hook(g, s, theta), act)

        return emit
    # A built-in class itself writes its own nodes; a subclass may override
    # forward, so it needs its own hook.
    if _activations.is_builtin(act):
        return lambda g, s, act, theta: act._onnx(g, s, theta)
    names = sorted(c.__name__ for c in _activations.BUILTIN_ACTIVATIONS)
    params = "g, s, theta" if isinstance(act, ParametricActivation) else "g, s"
    raise NotImplementedError(
        f"Cannot export the activation {type(act).__name__} to ONNX: "
        "skbackprop.onnx knows the ONNX form of the built-in activations "
        f"({', '.join(names)}) only. "
        f"Give {type(act).__name__} a method {_HOOK}(self, {params}) that builds "
        "θ(s) with the skbackprop.onnx.GraphBuilder g (e.g. return g.op('Div', "
        "s, g.op('Add', g.op('Abs', s), 1.0)) for softsign) and returns the "
        "name of its output; see the ONNX page of skbackprop's documentation."
    )


def _output_link(g, est, s):
    """Write the output activation: a loss's hook, else the built-in's own nodes.

    A user's loss without the hook is keyed on its ``out_activation`` only where
    it keeps the ``link`` of the skbackprop class it derives from (the identity
    of :class:`~skbackprop.losses.Loss`, say): a ``link`` of its own that the
    name may not describe is refused rather than exported wrongly.
    """
    loss = est._loss
    hook = getattr(loss, _HOOK, None)
    if callable(hook):
        return _checked(hook(g, s), loss)
    if _losses.is_builtin(loss):
        return loss._onnx(g, s)
    # A user's loss keeping the link of the skbackprop class it derives from
    # (Loss's identity, say) is written as that class writes it.
    base = next(c for c in type(loss).__mro__ if c.__module__.startswith("skbackprop."))
    if type(loss).link is base.link and loss.out_activation == base.out_activation:
        return base._onnx(loss, g, s)
    raise NotImplementedError(
        f"Cannot export the output activation of the loss {type(loss).__name__} "
        f"(out_activation={loss.out_activation!r}) to ONNX: it defines its own link. "
        f"Give {type(loss).__name__} a method {_HOOK}(self, g, s) that builds "
        "link(s) with the skbackprop.onnx.GraphBuilder g and returns the name of "
        "its output; see the ONNX page of skbackprop's documentation."
    )


def _checked(out, obj):
    if not isinstance(out, str):
        raise TypeError(
            f"{type(obj).__name__}.{_HOOK} returned {out!r} of type "
            f"{type(out).__name__}; it must return the name (a str) of its "
            "output tensor, as g.op(...) gives it."
        )
    return out


def _clip(g, a, limit):
    """Return ``a`` clipped to ``[-limit, limit]`` (``Min`` then ``Max``), as predict.

    ``limit`` is :func:`skbackprop._core.limits.graph_signal_limit`: predict's limit
    (the model dtype's), where the graph's dtype can hold it.
    """
    return g.op("Max", g.op("Min", a, limit), -limit)


def _output_signal(g, est, x):
    """Hidden layers, then the output layer's signal ``s^(L)`` (before its link).

    The input and each signal are clipped as in ``predict`` (:func:`_clip`).
    """
    limit = graph_signal_limit(g.model_dtype, g.dtype)
    coefs = [_xp.to_numpy(c) for c in est.coefs_]
    intercepts = [_xp.to_numpy(b) for b in est.intercepts_]
    params = [None if t is None else _xp.to_numpy(t) for t in est.activation_params_]
    emitters = [_activation_emitter(act) for act in est.activations_]
    o = _clip(g, x, limit)
    for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        s = _clip(g, g.op("Add", g.op("MatMul", o, W), b), limit)
        if i == len(coefs) - 1:
            return s
        theta = None if params[i] is None else params[i].astype(g.dtype)
        o = emitters[i](g, s, est.activations_[i], theta)


def _is_multilabel(est):
    return est._label_binarizer.y_type_ == "multilabel-indicator"


def _label_values(scope, est):
    """Return the class labels as int64 or str (the label output, ZipMap).

    scikit-learn's classifiers take numbers (floats with integer values: its
    ``type_of_target`` calls others continuous) or strings, never a mix.
    """
    classes = np.asarray(get_label_classes(scope, est))
    if classes.dtype.kind in "biuf":
        return classes.astype(np.int64)
    return classes.astype(str)


# --------------------------------------------------------- shape calculators
def _check_io(operator, n_outputs):
    # skl2onnx calls the shape calculator first: an unfitted model is refused
    # here with scikit-learn's NotFittedError, before anything reads its
    # fitted attributes.
    check_is_fitted(operator.raw_operator)
    check_input_and_output_numbers(
        operator, input_count_range=1, output_count_range=n_outputs
    )
    check_input_and_output_types(
        operator, good_input_types=[FloatTensorType, DoubleTensorType, Int64TensorType]
    )


def _classifier_shapes(operator):
    _check_io(operator, 2)
    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    n_columns = len(est.classes_)
    if _is_multilabel(est):
        label = Int64TensorType([n, n_columns])
    else:
        labels = _label_values(operator.scope_inst, est)
        kind = StringTensorType if labels.dtype.kind == "U" else Int64TensorType
        label = kind([n])
    operator.outputs[0].set_type(label)
    dtype = _graph_dtype(operator.inputs[0])
    zipmap = operator.scope_inst.get_options(est, dict(zipmap=True))["zipmap"]
    if dtype == np.float64 and zipmap is not False:
        raise ValueError(
            f"{type(est).__name__} is converted to a float64 graph (its input is "
            "double), but ONNX's ZipMap (skl2onnx's zipmap option, on by default) "
            "takes float32 probabilities only. Pass options={'zipmap': False} (in "
            "a pipeline {'<step name>__zipmap': False}) to get a plain float64 "
            "probability tensor, or convert with a float32 input."
        )
    operator.outputs[1].set_type(_tensor_type(dtype)([n, n_columns]))


def _regressor_shapes(operator):
    _check_io(operator, 1)
    n = operator.inputs[0].get_first_dimension()
    tensor = _tensor_type(_graph_dtype(operator.inputs[0]))
    operator.outputs[0].set_type(tensor([n, operator.raw_operator.n_outputs_]))


# ---------------------------------------------------------------- converters
def _graph_builder(scope, operator, container, est):
    graph_dtype = _graph_dtype(operator.inputs[0])
    model_dtype = _xp.to_numpy(est.coefs_[0]).dtype
    return GraphBuilder(scope, container, graph_dtype, model_dtype)


def _convert_regressor(scope, operator, container):
    est = operator.raw_operator
    g = _graph_builder(scope, operator, container, est)
    s = _output_signal(g, est, _input(g, operator.inputs[0]))
    out = _output_link(g, est, s)
    container.add_node("Identity", out, operator.outputs[0].full_name)


def _convert_classifier(scope, operator, container):
    est = operator.raw_operator
    g = _graph_builder(scope, operator, container, est)
    s = _output_signal(g, est, _input(g, operator.inputs[0]))
    p = _output_link(g, est, s)
    multilabel = _is_multilabel(est)
    proba = p
    if est.n_outputs_ == 1 and not multilabel:  # binary: [1 - p, p]
        proba = g.op("Concat", g.op("Sub", 1.0, p), p, axis=1)
    # predict_proba never returns exact zeros: floored at the smallest normal.
    proba = g.op("Max", proba, np.finfo(g.dtype).tiny)
    if multilabel:
        label = g.op("Cast", g.op("Greater", p, 0.5), to=TensorProto.INT64)
    else:
        index = g.op("ArgMax", proba, axis=1, keepdims=0)
        labels = _label_values(scope, est)
        labels = g.const(labels, None if labels.dtype.kind == "U" else np.int64)
        label = g.op("Gather", labels, index, axis=0)
    container.add_node("Identity", label, operator.outputs[0].full_name)
    container.add_node("Identity", proba, operator.outputs[1].full_name)


# -------------------------------------------------------------- registration
def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser, for a fitted classifier only.

    The parser runs before the shape calculator and reads ``classes_``: an
    unfitted model is refused here with scikit-learn's NotFittedError, not with
    skl2onnx's "No known ways to retrieve the number of classes".
    """
    from skl2onnx._parse import _parse_sklearn_classifier

    check_is_fitted(model)
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers)


def _register(cls):
    """Register an estimator class (ours or a subclass) with skl2onnx."""
    alias = f"Skbackprop_{cls.__module__}.{cls.__qualname__}"
    if issubclass(cls, BackpropClassifier):
        update_registered_converter(
            cls,
            alias,
            _classifier_shapes,
            _convert_classifier,
            parser=_parse_classifier,
            options=_CLASSIFIER_OPTIONS,
        )
    else:
        update_registered_converter(cls, alias, _regressor_shapes, _convert_regressor)
    _REGISTERED.add(cls)


_REGISTERED = set()
_register(BackpropClassifier)
_register(BackpropRegressor)


def _register_subclasses(estimator):
    """Register subclasses of our estimators found in ``estimator`` (a pipeline)."""
    found = [estimator]
    if hasattr(estimator, "get_params"):
        found += list(estimator.get_params(deep=True).values())
    for obj in found:
        cls = type(obj)
        if (
            isinstance(obj, (BackpropClassifier, BackpropRegressor))
            and cls not in _REGISTERED
        ):
            _register(cls)


def to_onnx(
    estimator, X=None, *, dtype=None, target_opset=None, options=None, **kwargs
):
    """Convert a fitted estimator or pipeline to an ONNX model.

    A thin layer over :func:`skl2onnx.to_onnx` that registers skbackprop's
    estimators (and subclasses of them) first, and builds the input type from
    ``dtype`` when no sample ``X`` is given.

    Parameters
    ----------
    estimator : estimator
        A fitted :class:`~skbackprop.BackpropClassifier`,
        :class:`~skbackprop.BackpropRegressor`, or a scikit-learn pipeline or
        meta-estimator containing them (anything skl2onnx converts).
    X : array-like, default=None
        A few sample rows: the input's type and width are taken from them (a
        DataFrame is taken as one array; for one input per column, as a
        ``ColumnTransformer`` may need, call :func:`skl2onnx.to_onnx` after
        importing this module). None: one input ``"X"`` of shape ``(None,
        n_features_in_)``.
    dtype : {np.float32, np.float64, "float32", "float64"}, default=None
        Float dtype of the graph's input, hence of its computation: float64
        graphs reproduce float64 models to rounding. None: ``X``'s dtype when
        ``X`` is given, else float32. A float64 classifier graph needs
        ``options={"zipmap": False}``: ONNX's ZipMap takes float32 only.
    target_opset : int or dict, default=None
        ONNX opset; None takes skl2onnx's latest.
    options : dict, default=None
        Converter options, e.g. ``{"zipmap": False}`` for a classifier (plain
        tensors instead of a list of dicts), ``{"clf__zipmap": False}`` for a
        pipeline step named "clf", or ``{"nocl": True}`` (class indices).
    **kwargs
        Passed to :func:`skl2onnx.to_onnx` (``name``, ``final_types``, ...).

    Returns
    -------
    onx : onnx.ModelProto
        The ONNX model; ``onx.SerializeToString()`` gives the bytes to save.

    Raises
    ------
    ValueError
        If ``dtype`` is not float32 or float64.
    sklearn.exceptions.NotFittedError
        If an estimator to convert is not fitted (also raised by
        :func:`skl2onnx.to_onnx` once this module is imported).
    NotImplementedError
        If an activation has no ONNX form (a user's activation without an
        ``onnx_nodes`` method), or for the tabular estimators, whose
        preprocessing has no ONNX form (export their ``model_``).
    """
    if isinstance(estimator, (TabularMLPClassifier, TabularMLPRegressor)):
        name = type(estimator).__name__
        raise NotImplementedError(
            f"{name} does not export to ONNX as a whole: its robust scaler and "
            "its one-hot step of any-typed categories have no ONNX converter. "
            "Export the network, to_onnx(est.model_), and feed it "
            "est.preprocessor_.transform(X)"
            + (
                "; its outputs are in standardized units: multiply by "
                "est.target_scale_ and add est.target_mean_."
                if isinstance(estimator, TabularMLPRegressor)
                else "."
            )
        )
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(
                f"dtype must be float32 or float64 (the graph's float type), got "
                f"{dtype}."
            )
    _register_subclasses(estimator)
    common = dict(target_opset=target_opset, options=options, **kwargs)
    if X is not None:
        X = np.asarray(X)
        if dtype is not None:
            X = X.astype(dtype)
        return skl2onnx.to_onnx(estimator, X[:1], **common)
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is None:
        raise NotFittedError(
            f"{type(estimator).__name__} is not fitted (it has no n_features_in_), "
            "so the input's width is unknown. Fit it first, or pass sample rows X."
        )
    dtype = np.dtype(np.float32) if dtype is None else dtype
    initial_types = [("X", _tensor_type(dtype)([None, int(n_features)]))]
    return skl2onnx.to_onnx(estimator, initial_types=initial_types, **common)
