"""
==============================
Writing your own activation
==============================

Backpropagation needs two things from an activation θ: the forward map
:math:`o = \\theta(s)` and its derivative :math:`\\theta'(s)`, which the δ
recursion multiplies in. Subclass :class:`skbackprop.activations.Activation`,
implement ``forward(self, s)`` and ``derivative(self, s, o)``, and the network
trains with it, :func:`~sklearn.base.clone` and
:class:`~sklearn.model_selection.GridSearchCV` handle it, and
:func:`skbackprop.check_gradient` verifies that your derivative is right.

Here: Swish (also called SiLU), :math:`\\theta(s) = s \\, \\sigma(\\beta s)`, with
a parameter :math:`\\beta`. Its derivative is

.. math::

    \\theta'(s) = \\sigma(\\beta s) + \\beta s \\, \\sigma(\\beta s)
    \\left(1 - \\sigma(\\beta s)\\right)
    = \\sigma(\\beta s) + \\beta \\, o \\left(1 - \\sigma(\\beta s)\\right).
"""

# %%
# The activation
# --------------
# ``derivative`` receives the output ``o = forward(s)`` too, so it can reuse it.
# Both methods work elementwise on arrays of shape ``(n_samples, n_units)`` and
# must not modify their inputs. Store constructor arguments unchanged, as for
# any scikit-learn estimator: that is what makes ``clone`` and grid keys such as
# ``activation__beta`` work.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, check_gradient
from skbackprop.activations import Activation


class Swish(Activation):
    """Swish, ``θ(s) = s·σ(βs)``."""

    def __init__(self, beta=1.0):
        self.beta = beta

    def forward(self, s):
        return s * expit(self.beta * s)

    def derivative(self, s, o):
        sig = expit(self.beta * s)
        return sig + self.beta * o * (1 - sig)


# %%
# Plot it, and check the derivative against a finite difference of ``forward``.
s = np.linspace(-5, 5, 201).reshape(-1, 1)
fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(10, 4))
for beta in [0.5, 1.0, 4.0]:
    act = Swish(beta=beta)
    o = act.forward(s)
    (line,) = ax_f.plot(s, o, label=f"β = {beta}")
    ax_d.plot(s, act.derivative(s, o), color=line.get_color(), label=f"β = {beta}")
    h = 1e-5
    numeric = (act.forward(s + h) - act.forward(s - h)) / (2 * h)
    print(
        f"beta={beta}: max |derivative - finite difference| = "
        f"{np.abs(act.derivative(s, o) - numeric).max():.1e}"
    )
ax_f.set_title("Swish θ(s) = s·σ(βs)")
ax_d.set_title("its derivative θ'(s)")
for ax in (ax_f, ax_d):
    ax.set_xlabel("s")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.legend()
fig.tight_layout()
plt.show()

# %%
# Check the whole network's gradient
# ----------------------------------
# :func:`~skbackprop.check_gradient` compares the gradient that
# backpropagation computes for every weight, bias (and activation parameter)
# with central finite differences of the training loss, and returns the
# largest relative error. A correct derivative gives rounding-level errors.
X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_small, y_small = X[:50], y[:50]

clf = BackpropClassifier(hidden_layer_sizes=(8, 8), activation=Swish(), random_state=0)
print(f"Swish: relative gradient error {check_gradient(clf, X_small, y_small):.1e}")


# %%
# A derivative with a mistake, here a forgotten term, is caught at once:
class BrokenSwish(Swish):
    def derivative(self, s, o):
        return expit(self.beta * s)  # the second term is missing


broken = BackpropClassifier(
    hidden_layer_sizes=(8, 8), activation=BrokenSwish(), random_state=0
)
error = check_gradient(broken, X_small, y_small)
print(f"BrokenSwish: relative gradient error {error:.1e}")

# %%
# Train with it, and search over β
# --------------------------------
# The activation's own parameter is reachable as ``activation__beta``.
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
search = GridSearchCV(
    BackpropClassifier(
        hidden_layer_sizes=(32,),
        activation=Swish(),
        learning_rate_init=0.01,
        max_iter=40,
        random_state=0,
    ),
    {"activation__beta": [0.5, 1.0, 2.0]},
    cv=3,
)
with warnings.catch_warnings():
    # 40 epochs is a short budget, chosen to keep this example fast.
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)
for beta, score in zip(
    search.cv_results_["param_activation__beta"],
    search.cv_results_["mean_test_score"],
    strict=True,
):
    print(f"beta={beta}: mean CV accuracy {score:.3f}")
print(f"best: {search.best_estimator_.activation}")
print(f"test accuracy: {search.score(X_test, y_test):.3f}")
