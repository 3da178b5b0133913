"""
=============================================
Decision boundaries of each activation
=============================================

The same network, two hidden layers of 16 units trained by L-BFGS on the
two-moons data, with each activation of :mod:`skbackprop.activations` in turn.
The colour is the predicted probability of the red class; circles are training
points, triangles test points.

The identity activation makes the whole network a linear model: its boundary is
a straight line, however many layers it has. Piecewise-linear activations
(ReLU, leaky ReLU, PReLU) give boundaries made of straight segments; smooth ones
(logistic, tanh, softplus, ELU, GELU) give smooth curves.
"""

# %%
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.model_selection import train_test_split

from skbackprop import BackpropClassifier

X, y = make_moons(n_samples=300, noise=0.25, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

activations = [
    "identity",
    "logistic",
    "tanh",
    "relu",
    "leaky_relu",
    "prelu",
    "elu",
    "gelu",
    "softplus",
]

fig, axes = plt.subplots(3, 3, figsize=(10, 10), sharex=True, sharey=True)
for activation, ax in zip(activations, axes.ravel(), strict=True):
    clf = BackpropClassifier(
        hidden_layer_sizes=(16, 16),
        activation=activation,
        solver="lbfgs",
        alpha=0.05,
        max_iter=300,
        random_state=0,
    )
    with warnings.catch_warnings():
        # Some activations use the whole iteration budget; that is fine here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    DecisionBoundaryDisplay.from_estimator(
        clf,
        X,
        response_method="predict_proba",
        cmap="RdBu_r",
        alpha=0.5,
        vmin=0,
        vmax=1,
        ax=ax,
    )
    ax.scatter(*X_train.T, c=y_train, cmap="RdBu_r", edgecolors="k", s=15)
    ax.scatter(*X_test.T, c=y_test, cmap="RdBu_r", edgecolors="k", marker="^", s=25)
    ax.set_title(f"{activation}: test accuracy {clf.score(X_test, y_test):.2f}")
    ax.set_xlabel("")
    ax.set_ylabel("")

fig.suptitle("Two hidden layers of 16 units, one activation per panel")
fig.tight_layout()
plt.show()
