"""One full-batch SGD step, computed per example exactly as the lecture writes it.

An independent implementation of the lecture's algorithm, one example at a time:
``o^(0) = [1, x]`` with the bias folded into ``W^(l)`` (column 0), ``s^(l) = W^(l)
o^(l-1)``, the base case ``δ^(L) = 2(o - y)`` summed over the output vector (scaled
by scikit-learn's ½), the recursion ``δ^(l) = W^(l+1)ᵀ δ^(l+1) ⊙ θ'(s^(l))`` (bias row
dropped), ``G^(l) = δ^(l) o^(l-1)ᵀ``, averaged over the batch, and ``W ← W - η G``.
``partial_fit`` with ``solver="sgd"``, no momentum, no L2 and one batch of all rows
must take the same step.
"""

import numpy as np
import pytest
from scipy.special import expit, softmax

from skbackprop import BackpropClassifier, BackpropRegressor

ETA = 0.1

# θ and θ' per hidden activation, written out independently of skbackprop.
THETA = {
    "tanh": (np.tanh, lambda s: 1 - np.tanh(s) ** 2),
    "logistic": (expit, lambda s: expit(s) * (1 - expit(s))),
    "relu": (lambda s: np.maximum(s, 0), lambda s: (s > 0).astype(float)),
}


def _lecture_matrices(est):
    """``W^(l)`` of shape ``[d^(l), d^(l-1) + 1]`` with the bias in column 0."""
    return [
        np.column_stack([b, W.T])
        for W, b in zip(est.coefs_, est.intercepts_, strict=True)
    ]


def _lecture_step(Ws, X, Y, activation, output):
    """Average the per-example gradients ``G^(l)`` and take one step of size ETA."""
    theta, dtheta = THETA[activation]
    L = len(Ws)
    G = [np.zeros_like(W) for W in Ws]
    for x, y in zip(X, Y, strict=True):
        o = [np.concatenate([[1.0], x])]  # o^(0) with the leading 1
        s = [None]
        for layer in range(1, L + 1):
            s.append(Ws[layer - 1] @ o[layer - 1])
            if layer < L:
                o.append(np.concatenate([[1.0], theta(s[layer])]))
            elif output == "identity":
                o.append(s[layer])
            elif output == "logistic":
                o.append(expit(s[layer]))
            else:
                o.append(softmax(s[layer]))
        # Base case: the lecture's δ^(L) = 2(o - y) per output for squared error,
        # times scikit-learn's ½; the log losses with their canonical link give the
        # same o - y.
        delta = [None] * (L + 1)
        delta[L] = 0.5 * 2 * (o[L] - y)
        for layer in range(L - 1, 0, -1):
            back = Ws[layer].T @ delta[layer + 1]  # row 0 belongs to the bias
            delta[layer] = back[1:] * dtheta(s[layer])
        for layer in range(1, L + 1):
            G[layer - 1] += np.outer(delta[layer], o[layer - 1])
    return [W - ETA * g / len(X) for W, g in zip(Ws, G, strict=True)]


CASES = [
    ("regressor", 1, "tanh"),
    ("regressor", 2, "tanh"),
    ("regressor", 3, "logistic"),
    ("regressor", 3, "relu"),
    ("binary", 1, "tanh"),
    ("multiclass", 3, "logistic"),
    ("multilabel", 3, "tanh"),
]


@pytest.mark.parametrize(("task", "n_outputs", "activation"), CASES)
def test_one_full_batch_step_equals_the_lecture(task, n_outputs, activation):
    rng = np.random.RandomState(0)
    n = 40
    X = rng.normal(size=(n, 4))
    params = dict(
        hidden_layer_sizes=(6, 5),
        activation=activation,
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        learning_rate_init=ETA,
        batch_size=n,
        shuffle=False,
        random_state=0,
    )
    if task == "regressor":
        y = rng.normal(size=(n, n_outputs)) if n_outputs > 1 else rng.normal(size=n)
        est, output, Y = BackpropRegressor(**params), "identity", y.reshape(n, -1)
        extra = {}
    elif task == "binary":
        y = rng.randint(0, 2, n)
        est, output, Y = BackpropClassifier(**params), "logistic", y.reshape(n, 1)
        extra = {"classes": [0, 1]}
    elif task == "multiclass":
        y = rng.randint(0, 3, n)
        est, output, Y = BackpropClassifier(**params), "softmax", np.eye(3)[y]
        extra = {"classes": [0, 1, 2]}
    else:
        y = rng.randint(0, 2, (n, 3))
        est, output, Y = BackpropClassifier(**params), "logistic", y
        extra = {}
    est.partial_fit(X, y, **extra)  # initialises (and takes a first step)
    assert est.n_outputs_ == n_outputs
    before = _lecture_matrices(est)
    est.partial_fit(X, y)
    expected = _lecture_step(before, X, Y.astype(float), activation, output)
    for got, want in zip(_lecture_matrices(est), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    # The step moved every layer (the comparison is not of unchanged weights).
    for got, old in zip(_lecture_matrices(est), before, strict=True):
        assert np.abs(got - old).max() > 1e-6
