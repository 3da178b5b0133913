"""
=============================================
Pipeline and grid search over the activations
=============================================

Activations are ordinary parameters of
:class:`~skbackprop.BackpropClassifier`: a name such as ``"gelu"``, or an
:class:`~skbackprop.activations.Activation` object with parameters of its own,
such as :class:`~skbackprop.activations.LeakyReLU` ``(alpha=0.1)``. So
:class:`~sklearn.model_selection.GridSearchCV` can search over them like over
any other hyper-parameter, including the activation's own parameters through
``<step>__activation__<parameter>`` keys.
"""

# %%
# The data and the pipeline
# -------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier
from skbackprop.activations import ELU, LeakyReLU

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "clf",
            BackpropClassifier(max_iter=15, learning_rate_init=0.01, random_state=0),
        ),
    ]
)

# %%
# The grid
# --------
# Names and objects mix freely. The second grid searches the slope of the
# leaky ReLU through ``clf__activation__alpha``: the grid search clones the
# activation and sets its parameter, as it would for a pipeline step.
param_grid = [
    {
        "clf__activation": ["logistic", "tanh", "relu", "gelu", ELU(alpha=0.5)],
        "clf__hidden_layer_sizes": [(32,), (64,)],
    },
    {
        "clf__activation": [LeakyReLU()],
        "clf__activation__alpha": [0.01, 0.3],
        "clf__hidden_layer_sizes": [(32,), (64,)],
    },
]
grid = GridSearchCV(pipe, param_grid, cv=3, n_jobs=1)

# A budget of 15 epochs, at ten times the default learning rate, keeps this
# example fast; the optimizer would go on a little longer and says so with a
# ConvergenceWarning per fit.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    grid.fit(X_train, y_train)

print("best parameters:", grid.best_params_)
print(f"best CV accuracy: {grid.best_score_:.3f}")
print(f"test accuracy:    {grid.score(X_test, y_test):.3f}")

# %%
# The results
# -----------
# One row per candidate, best first.


def activation_label(params):
    """The activation a candidate used, with the alpha the grid set on it."""
    act = params["clf__activation"]
    if "clf__activation__alpha" in params:
        act = clone(act).set_params(alpha=params["clf__activation__alpha"])
    return act if isinstance(act, str) else repr(act)


results = pd.DataFrame(grid.cv_results_)
results["activation"] = [activation_label(p) for p in results["params"]]
results["layers"] = results["param_clf__hidden_layer_sizes"].astype(str)
table = results[
    ["activation", "layers", "mean_test_score", "std_test_score", "mean_fit_time"]
].sort_values("mean_test_score", ascending=False)
print(table.to_string(index=False, float_format="{:.3f}".format))

# %%
# Mean cross-validated accuracy per activation, for each layer size.
pivot = table.pivot(index="activation", columns="layers", values="mean_test_score")
pivot = pivot.sort_values(pivot.columns[-1])
fig, ax = plt.subplots(figsize=(7, 4))
height = 0.4
positions = np.arange(len(pivot))
for i, layers in enumerate(pivot.columns):
    ax.barh(positions + i * height, pivot[layers], height, label=f"layers {layers}")
ax.set_yticks(positions + height / 2, pivot.index)
ax.set_xlim(pivot.min().min() - 0.02, 1.0)
ax.set_xlabel("Mean CV accuracy")
ax.set_title("Grid search over activations (digits)")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
