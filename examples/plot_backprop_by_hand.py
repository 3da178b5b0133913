"""
======================================
The lecture's backpropagation, by hand
======================================

The lecture's algorithm, written out in numpy in its own notation: one example
at a time as a column vector :math:`o^{(0)} = [1; x]`, weights :math:`W^{(l)}`
with the bias in column 0, forward propagation, :math:`\\delta^{(L)} = 2(o - y)`,
the recursion :math:`\\delta^{(l)} = W^{(l+1)\\top} \\delta^{(l+1)} \\odot
(1 - o^{(l)} \\odot o^{(l)})` for tanh, :math:`G^{(l)} = \\delta^{(l)}
o^{(l-1)\\top}` and the SGD step :math:`W^{(l)} \\leftarrow W^{(l)} - \\eta
G^{(l)}`.

:class:`~skbackprop.BackpropRegressor` with ``solver="sgd"``, ``batch_size=1``,
``momentum=0`` and ``alpha=0`` runs the same algorithm, batched and in place. Our
squared error is scikit-learn's :math:`\\tfrac12 (o - y)^2`, half the lecture's, so
its gradient is half the lecture's too, and the lecture's step :math:`\\eta` is
``learning_rate_init = 2 * eta``. Started from the same weights, the two agree to
rounding error, epoch after epoch. See the :ref:`user_guide` for the mapping of
every symbol.
"""

# %%
# The lecture, in numpy
# ---------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropRegressor

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, size=(200, 2))
y = np.sin(X[:, 0]) * np.cos(X[:, 1])

d = [2, 8, 8, 1]  # d^(0), ..., d^(L): two tanh hidden layers, one linear output
L = len(d) - 1
# W[l] is the lecture's W^(l), shape d^(l) x (d^(l-1) + 1); W[0] is unused.
W = [None] + [
    rng.uniform(-0.5, 0.5, size=(d[l], d[l - 1] + 1)) for l in range(1, L + 1)
]


def backprop(W, x, y):
    """The lecture's box: the gradients G^(1), ..., G^(L) of (o - y)^2."""
    o = [np.r_[1.0, x]]  # o^(0), with the leading 1
    for l in range(1, L + 1):
        s = W[l] @ o[l - 1]
        o.append(s if l == L else np.r_[1.0, np.tanh(s)])  # θ(z) = z at the output
    loss = (o[L][0] - y) ** 2
    delta = 2 * (o[L] - y)  # δ^(L) for squared error and an identity output
    G = [None] * (L + 1)
    for l in range(L, 0, -1):
        G[l] = np.outer(delta, o[l - 1])  # G^(l) = δ^(l) o^(l-1)ᵀ
        if l > 1:  # δ^(l-1), dropping the entry of the constant o_0 = 1
            delta = (W[l].T @ delta)[1:] * (1 - o[l - 1][1:] ** 2)
    return G, loss


eta = 0.01


def sgd_epoch(W):
    """One epoch of the lecture's SGD, in the data's order (no shuffling)."""
    losses = []
    for x_i, y_i in zip(X, y, strict=True):
        G, loss = backprop(W, x_i, y_i)
        for l in range(1, L + 1):
            W[l] -= eta * G[l]
        losses.append(loss)
    return np.mean(losses)


# %%
# The estimator, from the same weights
# ------------------------------------
# A first one-epoch fit sets the estimator up; then its weights are replaced by
# the lecture's :math:`W^{(l)}` (``coefs_[l-1] = W^(l)[:, 1:].T``,
# ``intercepts_[l-1] = W^(l)[:, 0]``) and each ``fit`` with ``warm_start=True``
# and ``max_iter=1`` runs one more epoch from where it stands.
reg = BackpropRegressor(
    hidden_layer_sizes=d[1:-1],
    activation="tanh",
    solver="sgd",
    batch_size=1,
    learning_rate_init=2 * eta,
    momentum=0.0,
    alpha=0.0,
    shuffle=False,
    max_iter=1,
    warm_start=True,
    random_state=0,
)


def estimator_epoch(reg):
    """One more epoch of the estimator, from its current weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 on purpose
        reg.fit(X, y)


estimator_epoch(reg)
reg.coefs_ = [W[l][:, 1:].T.copy() for l in range(1, L + 1)]
reg.intercepts_ = [W[l][:, 0].copy() for l in range(1, L + 1)]

# %%
# Train both for 20 epochs
# ------------------------
# After each epoch, compare the weights, and the mean training loss: the
# estimator reports scikit-learn's half squared error, half the lecture's.
hand_loss, est_loss, max_diff = [], [], []
for _ in range(20):
    hand_loss.append(sgd_epoch(W))
    estimator_epoch(reg)
    est_loss.append(reg.loss_)
    max_diff.append(
        max(
            max(
                np.abs(W[l][:, 1:].T - reg.coefs_[l - 1]).max() for l in range(1, L + 1)
            ),
            max(
                np.abs(W[l][:, 0] - reg.intercepts_[l - 1]).max()
                for l in range(1, L + 1)
            ),
        )
    )
print(f"largest weight difference after 20 epochs: {max_diff[-1]:.1e}")
print(f"lecture's loss / estimator's loss: {hand_loss[-1] / est_loss[-1]:.6f}")

epochs = np.arange(1, 21)
fig, (ax_loss, ax_diff) = plt.subplots(1, 2, figsize=(11, 4))
ax_loss.plot(epochs, hand_loss, "o", label="by hand: mean (o - y)²")
ax_loss.plot(epochs, 2 * np.array(est_loss), "-", label="estimator: 2 × loss_")
ax_loss.set_xlabel("Epoch")
ax_loss.set_ylabel("Mean training loss during the epoch")
ax_loss.legend()
ax_loss.set_title("The same training, two implementations")
ax_diff.semilogy(epochs, max_diff, "o-")
ax_diff.set_ylim(1e-18, 1e-10)
ax_diff.set_xlabel("Epoch")
ax_diff.set_ylabel("Largest |weight by hand - weight of the estimator|")
ax_diff.set_title("They agree to rounding error")
fig.tight_layout()
plt.show()
