"""
=============================================
Prediction intervals and robust regression
=============================================

The loss decides what a regression network predicts. Squared error gives the
conditional mean, and its output delta :math:`\\delta^{(L)} = o - y` lets every
example pull on the weights in proportion to its residual. Two other losses of
:mod:`skbackprop.losses` change that pull:

* :class:`~skbackprop.losses.QuantileLoss` (the pinball loss) pulls with
  :math:`1 - q` from above and :math:`-q` from below, whatever the distance: the
  network learns the conditional :math:`q`-quantile, and two of them bound a
  prediction interval;
* :class:`~skbackprop.losses.HuberLoss` pulls like squared error for residuals up
  to ``delta`` and with a constant force beyond: a few gross outliers no longer
  drag the fit.
"""

# %%
# Prediction intervals from two quantile networks
# -----------------------------------------------
# The noise grows with :math:`x`, so a good 90% interval must widen. One network
# per quantile: 0.05 for the lower bound, 0.95 for the upper, 0.5 for the median.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropRegressor, check_gradient
from skbackprop.losses import HuberLoss, QuantileLoss

warnings.simplefilter("ignore", ConvergenceWarning)  # short budgets, kept fast


def noisy_sine(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 3, (n, 1))
    y = np.sin(2 * X[:, 0]) + (0.1 + 0.3 * X[:, 0]) * rng.standard_normal(n)
    return X, y


X_train, y_train = noisy_sine(1000, 0)
X_test, y_test = noisy_sine(4000, 1)
grid = np.linspace(0, 3, 200).reshape(-1, 1)

quantile_nets = {
    q: BackpropRegressor(
        loss=QuantileLoss(quantile=q),
        hidden_layer_sizes=(8,),
        activation="tanh",
        learning_rate_init=0.01,
        batch_size=50,
        max_iter=150,
        random_state=0,
    ).fit(X_train, y_train)
    for q in (0.05, 0.5, 0.95)
}
for q, net in quantile_nets.items():
    below = np.mean(y_test < net.predict(X_test))
    print(f"quantile {q:.2f}: {below:.1%} of held-out targets lie below")
lower, upper = (quantile_nets[q].predict(X_test) for q in (0.05, 0.95))
coverage = np.mean((lower <= y_test) & (y_test <= upper))
print(f"90% interval covers {coverage:.1%} of held-out targets")

fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(X_test[:600, 0], y_test[:600], s=4, color="grey", alpha=0.5, label="data")
ax.fill_between(
    grid[:, 0],
    quantile_nets[0.05].predict(grid),
    quantile_nets[0.95].predict(grid),
    alpha=0.3,
    label="0.05 to 0.95 quantile",
)
ax.plot(grid[:, 0], quantile_nets[0.5].predict(grid), label="median (q = 0.5)")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title(f"Quantile networks: held-out coverage {coverage:.1%} (nominal 90%)")
ax.legend(loc="lower left")
fig.tight_layout()
plt.show()

# %%
# Huber against squared error, with outliers
# ------------------------------------------
# 15% of the targets get a gross error of +8. Squared error follows the mean of
# the data, outliers included; Huber with ``delta=0.3`` (about three times the
# ordinary noise) follows the clean curve.
rng = np.random.default_rng(2)
X_out = rng.uniform(-2, 2, (300, 1))
y_out = np.sin(2 * X_out[:, 0]) + 0.1 * rng.standard_normal(300)
outlier = rng.random(300) < 0.15
y_out[outlier] += 8.0
truth = np.sin(2 * np.linspace(-2, 2, 200))
line = np.linspace(-2, 2, 200).reshape(-1, 1)

fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(X_out[:, 0], y_out, s=6, color="grey", alpha=0.6, label="data")
ax.plot(line[:, 0], truth, "k--", label="truth")
for loss in ["squared_error", HuberLoss(delta=0.3)]:
    net = BackpropRegressor(
        loss=loss,
        hidden_layer_sizes=(16,),
        activation="tanh",
        learning_rate_init=0.01,
        batch_size=30,
        max_iter=80,
        random_state=0,
    ).fit(X_out, y_out)
    error = np.abs(net.predict(line) - truth).mean()
    print(f"{loss}: mean absolute error to the clean curve {error:.3f}")
    ax.plot(line[:, 0], net.predict(line), label=f"{loss} (error {error:.2f})")
ax.set_ylim(-3.5, 9.5)
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(loc="lower center", ncol=2, fontsize="small")
ax.set_title("Huber's capped pull ignores the outliers")
fig.tight_layout()
plt.show()

# %%
# The gradients are exact
# -----------------------
# :func:`~skbackprop.check_gradient` compares backpropagation's gradient, which
# starts from each loss's ``output_delta``, with finite differences of the loss.
X_small, y_small = X_out[:40], y_out[:40]
for loss in [HuberLoss(delta=0.3), QuantileLoss(quantile=0.9)]:
    net = BackpropRegressor(loss=loss, hidden_layer_sizes=(6,), activation="tanh")
    error = check_gradient(net.set_params(random_state=0), X_small, y_small)
    print(f"{loss}: relative gradient error {error:.1e}")
