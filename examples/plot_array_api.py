"""
=====================
GPU and the array API
=====================

With scikit-learn's ``array_api_dispatch`` turned on, a
:class:`~skbackprop.BackpropClassifier` trains and predicts in the array library
(the *namespace*) and on the device of its input ``X``: PyTorch tensors on a
GPU, CuPy arrays, or any other library that implements the Python array API
standard. The same code runs; only the arrays change.

This example runs on CPUs, so that it runs anywhere: it uses
`array-api-strict <https://data-apis.org/array-api-strict/>`_, the standard's
reference implementation, and PyTorch on the CPU if PyTorch is installed. It
checks that the model equals the one trained on numpy, and moves it to numpy
with :func:`~skbackprop.move_to` to pickle it. See :doc:`/array_api` for what
runs where.
"""

# %%
# Turn it on
# ----------
# scikit-learn's array API support needs SciPy >= 1.14 and the environment
# variable ``SCIPY_ARRAY_API=1``, set before scipy or scikit-learn is first
# imported (in a script, at its very top, as here; or in the shell).
import os

os.environ["SCIPY_ARRAY_API"] = "1"

import pickle

import array_api_strict
import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, move_to

try:
    import torch
except ImportError:  # PyTorch is optional here
    torch = None

# %%
# The digits, standardised on the host with numpy as usual; the model is small
# enough that the example runs in seconds.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
params = dict(hidden_layer_sizes=(64,), learning_rate_init=0.01, random_state=0)


def library(a):
    """Name the library an array belongs to ("numpy", "torch"...)."""
    return type(a).__module__.split(".")[0]


# %%
# The reference: a numpy fit
# --------------------------
# Without dispatch (the default) everything is numpy, whatever the input.
reference = BackpropClassifier(**params).fit(X_train, y_train)
proba_numpy = reference.predict_proba(X_test)
print(f"numpy: test accuracy {reference.score(X_test, y_test):.3f}")

# %%
# The same fit in another namespace
# ---------------------------------
# Convert ``X`` (and here ``y``) to the namespace, and fit inside
# ``sklearn.config_context(array_api_dispatch=True)`` (or call
# ``sklearn.set_config(array_api_dispatch=True)`` once). The weights are drawn
# with numpy from ``random_state`` and moved to the device, so in float64 the
# model equals the numpy one to rounding error.
namespaces = {"array_api_strict": array_api_strict}
if torch is not None:
    namespaces["torch (CPU)"] = torch

models, probas = {}, {}
for name, xp in namespaces.items():
    X_train_xp, y_train_xp = xp.asarray(X_train), xp.asarray(y_train)
    X_test_xp = xp.asarray(X_test)
    with sklearn.config_context(array_api_dispatch=True):
        clf = BackpropClassifier(**params).fit(X_train_xp, y_train_xp)
        proba = clf.predict_proba(X_test_xp)
        accuracy = clf.score(X_test_xp, xp.asarray(y_test))
    models[name] = clf
    probas[name] = np.from_dlpack(proba)  # a copy on the host, to compare
    diff = np.abs(probas[name] - proba_numpy).max()
    print(f"{name}:")
    print(f"  coefs_[0]: {library(clf.coefs_[0])}, classes_: {library(clf.classes_)}")
    print(f"  predict_proba returns {library(proba)} arrays")
    print(f"  test accuracy {accuracy:.3f}")
    print(f"  max |predict_proba - numpy's| = {diff:.1e}")

# %%
# On a GPU
# --------
# Nothing else changes on a GPU: create the tensors there, for example
# ``torch.asarray(X_train, device="cuda")`` (add ``dtype=torch.float32`` for
# float32, usually much faster on GPUs), and ``fit``, ``partial_fit``,
# ``predict``, ``predict_proba`` and ``score`` run on the GPU, with the fitted
# ``coefs_`` and ``intercepts_`` there too. Labels, class weights and the
# early-stopping split stay on the host, where they are bookkeeping. Pass the
# same namespace and device to ``predict`` as to ``fit``: a model fitted on
# tensors refuses numpy input, and says how to move it.

# %%
# Move the model to numpy to save it
# ----------------------------------
# :func:`~skbackprop.move_to` returns a copy of a fitted model whose arrays are
# numpy arrays: it pickles, exports and serves on CPUs without array-API
# dispatch, and predicts what it predicted before the move.
# ``move_to(model, "torch", "cuda")`` goes the other way.
clf = models["array_api_strict"]
on_host = move_to(clf)
restored = pickle.loads(pickle.dumps(on_host))
print(f"after move_to and pickle: coefs_[0] is a {library(restored.coefs_[0])} array")
diff = np.abs(restored.predict_proba(X_test) - probas["array_api_strict"]).max()
print(f"max |predict_proba after the round trip - before| = {diff:.1e}")

# %%
# The probabilities of the test digit the numpy model is least sure of, from the
# numpy model and from the models trained in the other namespaces: the bars
# coincide.
row = int(np.argmin(proba_numpy.max(axis=1)))
classes = np.arange(10)
width = 0.8 / (1 + len(probas))
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.bar(classes, proba_numpy[row], width, label="numpy")
for i, (name, proba) in enumerate(probas.items(), start=1):
    ax.bar(classes + i * width, proba[row], width, label=name)
ax.set_xticks(classes + width * len(probas) / 2, classes)
ax.set_xlabel("class")
ax.set_ylabel("predicted probability")
ax.set_title(f"predict_proba of test digit {row} (class {y_test[row]})")
ax.legend()
fig.tight_layout()
plt.show()
