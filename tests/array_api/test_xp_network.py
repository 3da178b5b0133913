"""The core on another array namespace: array-api-strict against numpy (issue 10).

The same :class:`~skbackprop.network.Network` code computes the lecture's forward
pass, δ recursion and ``G = δ oᵀ`` on array-api-strict arrays (the strictest
array-API library, on the CPU) and must give numpy's loss and gradient to rounding,
for every built-in activation and loss, with sample weights and the L2 term; the
optimizers then take the same steps.
"""

import array_api_strict as xps
import numpy as np
import pytest

from skbackprop.activations import ACTIVATIONS, ParametricActivation
from skbackprop.losses import BinaryLogLoss, PoissonLoss, SoftmaxLogLoss, SquaredError
from skbackprop.network import Network, forward
from skbackprop.optimizers import SGD, Adam
from tests._builtins import ACTIVATION_PRIMARY_NAMES

RNG = np.random.RandomState(0)
N, D_IN = 11, 4
X = RNG.standard_normal((N, D_IN))
SW = RNG.uniform(0.2, 2.0, N)
TARGETS = {
    "squared_error": (SquaredError, RNG.standard_normal((N, 1))),
    "squared_error_3": (SquaredError, RNG.standard_normal((N, 3))),
    "poisson": (PoissonLoss, RNG.poisson(2.0, (N, 2)).astype(float)),
    "binary": (BinaryLogLoss, RNG.randint(0, 2, (N, 1)).astype(float)),
    "softmax": (SoftmaxLogLoss, np.eye(3)[RNG.randint(0, 3, N)]),
}
NAMES = ACTIVATION_PRIMARY_NAMES


def _np(a):
    return np.from_dlpack(a) if not isinstance(a, np.ndarray) else a


def _networks(activation, target, dtype=np.float64):
    loss_cls, Y = TARGETS[target]
    units = [D_IN, 5, 4, Y.shape[1]]
    acts = [ACTIVATIONS[activation]() for _ in units[1:-1]]
    nets = [
        Network(units, acts, loss_cls(), dtype),
        Network(units, acts, loss_cls(), getattr(xps, np.dtype(dtype).name), xp=xps),
    ]
    rng = np.random.RandomState(1)
    pairs = zip(units[:-1], units[1:], strict=True)
    coefs = [rng.uniform(-0.7, 0.7, (a, b)).astype(dtype) for a, b in pairs]
    intercepts = [rng.uniform(-0.5, 0.5, b).astype(dtype) for b in units[1:]]
    params = [
        np.full((act.n_parameters, u), 0.2, dtype)
        if isinstance(act, ParametricActivation)
        else None
        for act, u in zip(acts, units[1:-1], strict=True)
    ]
    for net in nets:
        net.set_parameters(coefs, intercepts, params)
    return nets, Y.astype(dtype)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("activation", NAMES)
def test_loss_and_gradient_equal_numpys(activation, target, weighted):
    (np_net, xp_net), Y = _networks(activation, target)
    sw = SW if weighted else None
    loss = np_net.loss_gradient(X, Y, sw, alpha=1e-2)
    xp_loss = xp_net.loss_gradient(
        xps.asarray(X), xps.asarray(Y), None if sw is None else xps.asarray(sw), 1e-2
    )
    assert isinstance(xp_net.grad, type(xps.asarray(0.0)))
    # The loss stays a 0-d array of the namespace (no device sync per batch).
    assert isinstance(xp_loss, type(xps.asarray(0.0))) and xp_loss.shape == ()
    assert float(xp_loss) == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(_np(xp_net.grad), np_net.grad, rtol=1e-11, atol=1e-15)
    # The per-layer views still point into the flat gradient.
    np.testing.assert_allclose(
        _np(xp_net.grad_coefs[0]), np_net.grad_coefs[0], rtol=1e-11, atol=1e-15
    )


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("activation", NAMES)
def test_prediction_path_equals_numpys(activation, target):
    (np_net, xp_net), _ = _networks(activation, target)
    big = np.vstack([X, 1e200 * X[:2]])  # clipped at the signal limit
    outs = [
        forward(
            data,
            net.coefs,
            net.intercepts,
            net.activations,
            net.activation_params,
            net.loss,
        )
        for net, data in ((np_net, big), (xp_net, xps.asarray(big)))
    ]
    np.testing.assert_allclose(_np(outs[1]), outs[0], rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(
    "make",
    [
        lambda n, dt, **kw: SGD(n, dt, 0.05, momentum=0.9, nesterov=True, **kw),
        lambda n, dt, **kw: Adam(n, dt, 0.01, **kw),
    ],
    ids=["sgd-nesterov", "adam"],
)
def test_training_steps_equal_numpys(make):
    (np_net, xp_net), Y = _networks("tanh", "softmax")
    np_opt = make(np_net.params.size, np_net.dtype)
    xp_opt = make(xp_net.params.size, xp_net.dtype, xp=xps)
    Xs, Ys = xps.asarray(X), xps.asarray(Y)
    for _ in range(10):
        np_net.loss_gradient(X, Y, None, 1e-3)
        np_opt.update(np_net.params, np_net.grad)
        xp_net.loss_gradient(Xs, Ys, None, 1e-3)
        xp_opt.update(xp_net.params, xp_net.grad)
    np.testing.assert_allclose(_np(xp_net.params), np_net.params, rtol=1e-10)
    # The optimizer wrote into the flat vector: the layer views see the steps.
    np.testing.assert_allclose(_np(xp_net.coefs[1]), np_net.coefs[1], rtol=1e-10)


def test_weights_and_parameters_of_another_dtype_are_cast_to_the_networks():
    """float64 or integer weights and parameters into a float32 strict network."""
    (np_net, xp_net), Y = _networks("relu", "squared_error", dtype=np.float32)
    xp_net.set_parameters(
        [W.astype(np.float64) for W in np_net.coefs],
        [b.astype(np.float64) for b in np_net.intercepts],
    )
    sw = np.arange(1, N + 1)  # integers
    loss = np_net.loss_gradient(X.astype(np.float32), Y, sw.astype(np.float32))
    xp_loss = xp_net.loss_gradient(
        xps.asarray(X.astype(np.float32)), xps.asarray(Y), xps.asarray(sw)
    )
    assert xp_net.params.dtype == xps.float32
    assert float(xp_loss) == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(_np(xp_net.grad), np_net.grad, rtol=1e-4, atol=1e-6)


def test_plain_python_values_still_go_through_numpy():
    from skbackprop.activations import ReLU, Tanh

    assert Tanh().forward(0.5) == pytest.approx(np.tanh(0.5))
    np.testing.assert_array_equal(ReLU().forward([1.0, -1.0]), [1.0, 0.0])


def test_array_api_dispatch_needs_scipy_1_14():
    """scikit-learn turns array-API dispatch on exactly when SciPy >= 1.14.

    The estimator tests under dispatch (test_xp_estimators.py) run where it is
    on; at the minimum versions (SciPy 1.10) they cannot, and this says why.
    """
    import scipy
    import sklearn

    new_scipy = tuple(int(p) for p in scipy.__version__.split(".")[:2]) >= (1, 14)
    if new_scipy:
        with sklearn.config_context(array_api_dispatch=True):
            assert sklearn.get_config()["array_api_dispatch"]
    else:
        with pytest.raises(ImportError, match="SciPy must be 1.14.0 or newer"):
            with sklearn.config_context(array_api_dispatch=True):
                pass


def test_array_api_tag_follows_what_scikit_learn_allows():
    """The estimators declare array-API support exactly where dispatch can run."""
    from sklearn.utils import get_tags

    from skbackprop import BackpropClassifier, BackpropRegressor
    from skbackprop._core.xp import dispatch_supported

    for cls in (BackpropClassifier, BackpropRegressor):
        assert get_tags(cls()).array_api_support is dispatch_supported()


@pytest.mark.slow
def test_without_scipy_array_api_fits_work_and_the_tag_is_off():
    """SCIPY_ARRAY_API unset: scikit-learn refuses dispatch (RuntimeError), so
    the tag is off, and an ordinary numpy fit is not affected."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from sklearn.utils import get_tags\n"
        "from skbackprop import BackpropRegressor\n"
        "X = np.linspace(-1, 1, 30).reshape(-1, 1)\n"
        "est = BackpropRegressor(hidden_layer_sizes=(3,), solver='lbfgs')\n"
        "est.fit(X, X.ravel())\n"
        "print(get_tags(est).array_api_support)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SCIPY_ARRAY_API"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_array_api_strict_alone_without_torch_imported():
    """The core's torch fast paths must not be taken when torch is not imported
    (a process that only ever sees array-api-strict arrays)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import array_api_strict as xps\n"
        "import numpy as np\n"
        "from skbackprop.activations import Tanh\n"
        "from skbackprop.losses import SquaredError\n"
        "from skbackprop.network import Network\n"
        "net = Network([3, 4, 1], [Tanh()], SquaredError(), xps.float64, xp=xps)\n"
        "X = xps.asarray(np.random.RandomState(0).rand(5, 3))\n"
        "net.loss_gradient(X, xps.ones((5, 1), dtype=xps.float64))\n"
        "assert 'torch' not in sys.modules\n"
        "print(float(xps.sum(net.grad * net.grad)) > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
