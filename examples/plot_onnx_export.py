"""
=====================
Exporting to ONNX
=====================

`ONNX <https://onnx.ai>`_ is a portable format for trained models: an ONNX file
runs in `onnxruntime <https://onnxruntime.ai>`_ (from Python, C++, C#, Java,
JavaScript, on phones and in browsers) without Python, scikit-learn or
skbackprop. Importing :mod:`skbackprop.onnx` teaches `skl2onnx
<https://onnx.ai/sklearn-onnx/>`_ to convert :class:`~skbackprop.BackpropClassifier`
and :class:`~skbackprop.BackpropRegressor`, alone or inside pipelines.

Here: a pipeline with PReLU and GELU layers exported to a float32 graph, a
float64 regressor that onnxruntime reproduces to the last digits, and a user's
own activation that says how to write itself in ONNX. It needs the ``onnx``
extra and onnxruntime: ``pip install ".[onnx]" onnxruntime``. See
:doc:`/onnx` for the details.
"""

# %%
# A pipeline with learned PReLU slopes
# ------------------------------------
# The first hidden layer is a :class:`~skbackprop.PReLU`, whose negative slopes
# are learned per unit (``activation_params_``); the export copies them into the
# graph as it copies the weights.
import warnings
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from scipy.special import expit
from skl2onnx import to_onnx
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skbackprop.onnx  # registers the converters with skl2onnx
from skbackprop import BackpropClassifier, BackpropRegressor, PReLU
from skbackprop.activations import Activation

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = make_pipeline(
    StandardScaler(),
    BackpropClassifier(
        hidden_layer_sizes=(32, 16),
        activation=[PReLU(), "gelu"],
        max_iter=30,
        random_state=0,
    ),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a short fit
    pipe.fit(X_train, y_train)
slopes = pipe[-1].activation_params_[0]
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")
print(f"learned PReLU slopes: {slopes.min():.3f} to {slopes.max():.3f}")

# %%
# Convert and run
# ---------------
# skl2onnx's own ``to_onnx`` converts the whole pipeline (the scaler too). The
# sample row fixes the input's type: float32 here. ``zipmap=False`` gives the
# probabilities as one tensor rather than one dictionary per row; options of a
# pipeline step are prefixed with the step's name.
onx = to_onnx(pipe, X_train[:1], options={"backpropclassifier__zipmap": False})
print(Counter(node.op_type for node in onx.graph.node).most_common(6))

session = ort.InferenceSession(
    onx.SerializeToString(), providers=["CPUExecutionProvider"]
)
labels, proba = session.run(None, {"X": X_test})

# %%
# The ONNX model and the pipeline agree: the same labels, and probabilities
# equal to float32 rounding.
print("same labels:", np.array_equal(labels, pipe.predict(X_test)))
diff32 = np.abs(proba - pipe.predict_proba(X_test))
print(f"largest probability difference (float32): {diff32.max():.1e}")

# %%
# A float64 graph
# ---------------
# A float64 model can be exported to a float64 graph: give a float64 sample,
# or ``dtype=np.float64`` to :func:`skbackprop.onnx.to_onnx`, which needs no
# sample. Every activation is written with operators that onnxruntime runs in
# double precision, so the graph reproduces ``predict`` to a few units in the
# last place. Here a Poisson regressor with an exponential output.
Xr, yr = make_regression(n_samples=300, n_features=6, noise=5.0, random_state=0)
reg = BackpropRegressor(
    loss="poisson",
    hidden_layer_sizes=(16,),
    activation="softplus",
    solver="lbfgs",
    max_iter=40,
    random_state=0,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    reg.fit(Xr, np.exp(yr / yr.std()))
onx64 = skbackprop.onnx.to_onnx(reg, dtype=np.float64)
session64 = ort.InferenceSession(
    onx64.SerializeToString(), providers=["CPUExecutionProvider"]
)
(pred64,) = session64.run(None, {"X": Xr})  # shape (n_samples, 1)
rel64 = np.abs(pred64.ravel() - reg.predict(Xr)) / np.abs(reg.predict(Xr))
print(f"largest relative difference (float64): {rel64.max():.1e}")


# %%
# Your own activation
# -------------------
# An activation skbackprop does not know exports once it has a method
# ``onnx_nodes(self, g, s)``: it builds ``θ(s)`` with ``g.op(...)`` (``g`` is a
# :class:`skbackprop.onnx.GraphBuilder`; numbers become constants) and returns
# the name of the result. Without it, the export stops with an error that says
# so. Swish, ``θ(s) = s·σ(βs) = s / (1 + e^{-βs})``:
class Swish(Activation):
    """Swish, ``θ(s) = s·σ(βs)``."""

    def __init__(self, beta=1.0):
        self.beta = beta

    def forward(self, s):
        return s * expit(self.beta * s)

    def derivative(self, s, o):
        sig = expit(self.beta * s)
        return sig + self.beta * o * (1 - sig)

    def onnx_nodes(self, g, s):
        e = g.op("Exp", g.op("Neg", g.op("Mul", s, self.beta)))
        return g.op("Div", s, g.op("Add", e, 1.0))


swish = make_pipeline(
    StandardScaler(),
    BackpropClassifier(
        hidden_layer_sizes=(16,),
        activation=Swish(beta=1.5),
        max_iter=30,
        random_state=0,
    ),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    swish.fit(X_train, y_train)
onx_swish = skbackprop.onnx.to_onnx(
    swish, X_train, options={"backpropclassifier__zipmap": False}
)
session_swish = ort.InferenceSession(
    onx_swish.SerializeToString(), providers=["CPUExecutionProvider"]
)
labels_swish, proba_swish = session_swish.run(None, {"X": X_test})
print("same labels:", np.array_equal(labels_swish, swish.predict(X_test)))
diff_swish = np.abs(proba_swish - swish.predict_proba(X_test))
print(f"largest probability difference (Swish, float32): {diff_swish.max():.1e}")

# %%
# How close?
# ----------
# The differences between onnxruntime and skbackprop, per value: float32 graphs
# agree to float32 rounding (about 1e-7), the float64 graph to float64 rounding
# (about 1e-16).
fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.logspace(-18, -5, 40)
floor = 1e-18  # exact agreement drawn at the left edge
ax.hist(np.maximum(diff32.ravel(), floor), bins, alpha=0.6, label="float32, PReLU+GELU")
ax.hist(np.maximum(diff_swish.ravel(), floor), bins, alpha=0.6, label="float32, Swish")
ax.hist(np.maximum(rel64, floor), bins, alpha=0.6, label="float64 (relative)")
ax.set_xscale("log")
ax.set_xlabel("|ONNX - skbackprop|")
ax.set_ylabel("values")
ax.legend()
fig.tight_layout()
plt.show()
