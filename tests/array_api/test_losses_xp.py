"""The Huber and quantile losses, and a user's loss, on array-api-strict arrays.

Each returns arrays of the input's namespace and dtype with numpy's values to
rounding; the core trains with them in that namespace as on numpy; under
scikit-learn's ``array_api_dispatch`` the estimator fits the same model as on
numpy, and a user's loss written with numpy functions is refused with advice.
"""

import array_api_strict as xps
import numpy as np
import pytest
import sklearn
from array_api_compat import array_namespace
from sklearn.datasets import make_regression

from skbackprop import BackpropRegressor
from skbackprop._core import xp as _xp
from skbackprop.activations import Tanh
from skbackprop.losses import HuberLoss, Loss, QuantileLoss, reduce_loss
from skbackprop.network import Network

DTYPES = {
    "float64": (np.float64, xps.float64, 1e-12),
    "float32": (np.float32, xps.float32, 1e-5),
}
STRICT_ARRAY = type(xps.asarray(0.0))

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _np(a):
    return np.from_dlpack(a)


class XpLogCosh(Loss):
    """A user's loss written with the array API: ``log cosh(p - y)``."""

    def value(self, y, p, sample_weight=None):
        xp = array_namespace(p)
        r = p - y
        return reduce_loss(xp.logaddexp(r, -r) - float(np.log(2)), sample_weight)

    def output_delta(self, y, p, out=None):
        return array_namespace(p).tanh(p - y)


class NumpyLogCosh(XpLogCosh):
    """The same loss with numpy functions: fine on numpy, refused elsewhere."""

    def output_delta(self, y, p, out=None):
        return np.tanh(np.asarray(p) - np.asarray(y))


def _check(result, reference, xp_dtype, rtol):
    assert isinstance(result, STRICT_ARRAY)
    assert result.dtype == xp_dtype
    np.testing.assert_allclose(_np(result), reference, rtol=rtol, atol=rtol * 1e-3)


LOSSES = [HuberLoss(delta=0.7), QuantileLoss(quantile=0.2), XpLogCosh()]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_loss_strict_matches_numpy(loss, n_outputs, dtype):
    np_dtype, xp_dtype, rtol = DTYPES[dtype]
    rng = np.random.default_rng(n_outputs)
    s = (2 * rng.standard_normal((9, n_outputs))).astype(np_dtype)
    y = rng.standard_normal((9, n_outputs)).astype(np_dtype)
    y[0] = s[0]  # residuals of exactly 0: the quantile loss's kink
    w = rng.uniform(0.5, 2.0, 9).astype(np_dtype)
    p = loss.link(s.copy())
    s_x, y_x = xps.asarray(s), xps.asarray(y)
    p_x = loss.link(s_x)
    _check(p_x, p, xp_dtype, rtol)
    for weight in [None, w]:
        v = loss.value(y, p, weight)
        v_x = loss.value(y_x, p_x, None if weight is None else xps.asarray(weight))
        assert type(v_x) is STRICT_ARRAY and v_x.shape == ()
        np.testing.assert_allclose(float(v_x), v, rtol=rtol)
    delta = loss.output_delta(y, p)
    assert delta.dtype == np_dtype
    _check(loss.output_delta(y_x, p_x), delta, xp_dtype, rtol)
    np.testing.assert_array_equal(_np(s_x), s)  # inputs untouched
    np.testing.assert_array_equal(_np(y_x), y)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loss", LOSSES, ids=repr)
def test_network_loss_and_gradient_equal_numpys(loss, weighted):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((11, 4))
    Y = rng.standard_normal((11, 2))
    sw = rng.uniform(0.2, 2.0, 11) if weighted else None
    units = [4, 5, 2]
    nets = [
        Network(units, [Tanh()], loss, np.float64),
        Network(units, [Tanh()], loss, xps.float64, xp=xps),
    ]
    pairs = zip(units[:-1], units[1:], strict=True)
    coefs = [rng.uniform(-0.7, 0.7, shape) for shape in pairs]
    intercepts = [rng.uniform(-0.5, 0.5, b) for b in units[1:]]
    for net in nets:
        net.set_parameters(coefs, intercepts)
    value = nets[0].loss_gradient(X, Y, sw, alpha=1e-2)
    xp_value = nets[1].loss_gradient(
        xps.asarray(X), xps.asarray(Y), None if sw is None else xps.asarray(sw), 1e-2
    )
    assert float(xp_value) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(_np(nets[1].grad), nets[0].grad, rtol=1e-10, atol=1e-15)


def test_estimator_under_dispatch_fits_numpys_model():
    X, y = make_regression(n_samples=60, n_features=4, noise=5.0, random_state=0)
    X /= X.std(axis=0)
    y /= y.std()
    params = dict(hidden_layer_sizes=(7,), max_iter=5, random_state=0)
    if not _xp.dispatch_supported():
        # Older SciPy: scikit-learn refuses dispatch, and the tag says so.
        with pytest.raises((ImportError, RuntimeError)):
            with sklearn.config_context(array_api_dispatch=True):
                pass
        return
    X_x, y_x = xps.asarray(X), xps.asarray(y)
    for loss in LOSSES:
        ref = BackpropRegressor(loss=loss, **params).fit(X, y)
        with sklearn.config_context(array_api_dispatch=True):
            est = BackpropRegressor(loss=loss, **params).fit(X_x, y_x)
            pred = est.predict(X_x)
        assert type(pred) is STRICT_ARRAY
        np.testing.assert_allclose(_np(pred), ref.predict(X), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-10)
    # A user's loss written with numpy works on numpy, and is refused under
    # dispatch before training, with the fix in the message.
    BackpropRegressor(loss=NumpyLogCosh(), **params).fit(X, y)
    est = BackpropRegressor(loss=NumpyLogCosh(), **params)
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.raises(TypeError, match="Loss NumpyLogCosh .*array_namespace"):
            est.fit(X_x, y_x)
    assert not hasattr(est, "coefs_")
