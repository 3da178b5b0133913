"""skbackprop: scikit-learn neural networks trained by backpropagation.

``BackpropClassifier`` and ``BackpropRegressor`` are drop-in supersets of
scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` built on one small backprop
core (:mod:`skbackprop.network`) with pluggable activations
(:mod:`skbackprop.activations`) and learning-rate schedules
(:mod:`skbackprop.schedules`).
"""

from . import activations, exceptions, schedules
from ._estimator.convert import move_to
from ._kernels.config import config_context, get_config, set_config
from ._kernels.loading import compile_kernels
from .activations import (
    ELU,
    GELU,
    Activation,
    Identity,
    LeakyReLU,
    Logistic,
    ParametricActivation,
    PReLU,
    ReLU,
    Softplus,
    Tanh,
)
from .classifier import BackpropClassifier
from .features import HiddenFeatures
from .gradcheck import check_gradient
from .regressor import BackpropRegressor
from .tabular import TabularMLPClassifier, TabularMLPRegressor

__version__ = "0.1.0"

__all__ = [
    "ELU",
    "GELU",
    "Activation",
    "BackpropClassifier",
    "BackpropRegressor",
    "HiddenFeatures",
    "Identity",
    "LeakyReLU",
    "Logistic",
    "PReLU",
    "ParametricActivation",
    "ReLU",
    "Softplus",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "Tanh",
    "__version__",
    "activations",
    "check_gradient",
    "compile_kernels",
    "config_context",
    "exceptions",
    "get_config",
    "move_to",
    "schedules",
    "set_config",
]
