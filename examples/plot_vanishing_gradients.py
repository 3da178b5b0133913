"""
===================
Vanishing gradients
===================

The lecture's aside: backpropagation computes each layer's sensitivity from the
next one,

.. math::

    \\delta^{(l)} = \\left(W^{(l+1)\\top} \\delta^{(l+1)}\\right)
    \\odot \\theta'\\left(s^{(l)}\\right),

so every layer the error travels back through multiplies it by one more
derivative of the activation. The logistic sigmoid's derivative
:math:`\\sigma'(s) = \\sigma(s)(1 - \\sigma(s))` is at most 1/4, so in a deep
sigmoid network the gradients :math:`G^{(l)} = \\delta^{(l)} o^{(l-1)\\top}` of
the first layers are orders of magnitude smaller than those of the last ones:
the first layers barely learn. ReLU's derivative is exactly 1 wherever a unit
is active, and GELU's is close to it for positive signals, so their gradients
reach the first layers intact.

:class:`~skbackprop.plotting.GradientNormDisplay` plots the estimator's
``gradient_norms_``: for each epoch and each weight matrix :math:`W^{(l)}`, the
mean over the epoch's mini-batches of the norm of its gradient.
"""

# %%
# Three deep networks
# -------------------
# Eight hidden layers of 32 units, trained with plain mini-batch SGD (the
# lecture's algorithm, with momentum) for the same number of epochs.
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier
from skbackprop.plotting import GradientNormDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

networks = {}
for activation in ["logistic", "relu", "gelu"]:
    clf = BackpropClassifier(
        hidden_layer_sizes=(32,) * 8,
        activation=activation,
        solver="sgd",
        learning_rate_init=0.02,
        batch_size=64,
        max_iter=30,
        n_iter_no_change=30,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        networks[activation] = clf.fit(X_train, y_train)

# %%
# Gradient norms per layer
# ------------------------
# One line per weight matrix, :math:`W^{(1)}` (next to the input) to
# :math:`W^{(9)}` (the output layer), on a shared log scale.
fig, axes = plt.subplots(1, 3, figsize=(15, 5), sharey=True)
for (activation, clf), ax in zip(networks.items(), axes, strict=True):
    GradientNormDisplay.from_estimator(clf, ax=ax, name=activation)
    ax.get_legend().remove()
axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
fig.tight_layout()
plt.show()

# %%
# How much smaller is the first layer's gradient than the last one's in the
# first epoch, and what did each network learn in 30 epochs? The sigmoid
# network's first layers hardly move, and it stays at chance level (one digit
# in ten); the same network with ReLU or GELU units learns the digits.
for activation, clf in networks.items():
    first, last = clf.gradient_norms_[0, 0], clf.gradient_norms_[0, -1]
    print(
        f"{activation:>8}: |G^(1)| / |G^(9)| = {first / last:.1e} in epoch 1, "
        f"test accuracy {clf.score(X_test, y_test):.3f}"
    )
