"""HiddenFeatures: a network's hidden activations as a transformer.

Every hidden layer's features equal a forward pass computed by hand with numpy
from ``coefs_``, ``intercepts_`` and the activations (to 1e-12), fitted here or
frozen, alone, after a pipeline's scaler, inside a pipeline, as pandas output, and
on array-api-strict and torch under array_api_dispatch. scikit-learn's estimator
checks run over it in tests/estimator/test_common.py.
"""

import warnings

import numpy as np
import pytest
import sklearn
from scipy.special import expit
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor, HiddenFeatures
from skbackprop._core import xp as _xp
from skbackprop.network import clip_extreme, signal_limit

ATOL = 1e-12
# Three hidden layers, each with another activation.
NET = dict(
    hidden_layer_sizes=(6, 5, 4),
    activation=["relu", "tanh", "logistic"],
    max_iter=30,
    learning_rate_init=0.01,
    random_state=0,
)
HAND = {
    "relu": lambda s: np.maximum(s, 0),
    "tanh": np.tanh,
    "logistic": expit,
}


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(60, 5, n_informative=3, n_classes=3, random_state=0)
    return X, y


def _fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


def hand_forward(model, X, layer):
    """Hidden layer ``layer``'s outputs, from the fitted weights, in plain numpy."""
    o = np.asarray(X, dtype=np.float64)
    for i in range(layer + 1):
        s = o @ _xp.to_numpy(model.coefs_[i]) + _xp.to_numpy(model.intercepts_[i])
        o = HAND[NET["activation"][i]](s)
    return o


@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_every_hidden_layer_matches_a_hand_computed_forward_pass(
    data, Estimator, solver
):
    X, y = data
    model = _fit(Estimator(**NET, solver=solver), X, y)
    for layer in range(3):
        features = HiddenFeatures(FrozenEstimator(model), layer=layer).fit(X)
        out = features.transform(X)
        assert out.shape == (X.shape[0], NET["hidden_layer_sizes"][layer])
        np.testing.assert_allclose(
            out, hand_forward(model, X, layer), rtol=0, atol=ATOL
        )
        # Negative layers count from the last hidden layer.
        negative = HiddenFeatures(FrozenEstimator(model), layer=layer - 3).fit(X)
        np.testing.assert_array_equal(negative.transform(X), out)


def test_fit_fits_a_clone_and_transform_uses_it(data):
    X, y = data
    clf = BackpropClassifier(**NET)
    features = _fit(HiddenFeatures(clf), X, y)
    assert not hasattr(clf, "coefs_")  # the given estimator is not fitted
    reference = _fit(BackpropClassifier(**NET), X, y)
    np.testing.assert_array_equal(features.estimator_.coefs_[2], reference.coefs_[2])
    np.testing.assert_allclose(
        features.transform(X), hand_forward(reference, X, 2), rtol=0, atol=ATOL
    )
    assert features.n_features_in_ == X.shape[1]
    # fit_transform is fit then transform.
    np.testing.assert_array_equal(
        _fit(HiddenFeatures(BackpropClassifier(**NET)), X, y).transform(X),
        features.transform(X),
    )


def test_a_list_of_layers_is_concatenated_and_named(data):
    X, y = data
    model = _fit(BackpropRegressor(**NET), X, y.astype(float))
    features = HiddenFeatures(FrozenEstimator(model), layer=[2, 0]).fit(X)
    expected = np.hstack([hand_forward(model, X, 2), hand_forward(model, X, 0)])
    np.testing.assert_allclose(features.transform(X), expected, rtol=0, atol=ATOL)
    names = features.get_feature_names_out()
    assert names.dtype == object
    assert list(names) == [f"hidden2_{j}" for j in range(4)] + [
        f"hidden0_{j}" for j in range(6)
    ]
    # The layer is read at transform: changing it needs no refit.
    features.set_params(layer=-2)
    np.testing.assert_allclose(
        features.transform(X), hand_forward(model, X, 1), rtol=0, atol=ATOL
    )
    assert list(features.get_feature_names_out()) == [f"hidden1_{j}" for j in range(5)]


def test_pipeline_ending_in_the_network_transforms_first(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), BackpropClassifier(**NET))
    features = _fit(HiddenFeatures(pipe, layer=1), X, y)
    scaled = features.estimator_[0].transform(X)
    expected = hand_forward(features.estimator_[-1], scaled, 1)
    np.testing.assert_allclose(features.transform(X), expected, rtol=0, atol=ATOL)
    # A nested pipeline: every step before the network, in order.
    nested = make_pipeline(
        StandardScaler(), make_pipeline(MinMaxScaler(), BackpropClassifier(**NET))
    )
    features = _fit(HiddenFeatures(nested, layer=0), X, y)
    inner = features.estimator_[-1]
    scaled = inner[0].transform(features.estimator_[0].transform(X))
    expected = hand_forward(inner[-1], scaled, 0)
    np.testing.assert_allclose(features.transform(X), expected, rtol=0, atol=ATOL)


def test_as_a_pipeline_step_feeding_another_model(data):
    X, y = data
    pipe = make_pipeline(
        StandardScaler(),
        HiddenFeatures(BackpropClassifier(**NET), layer=0),
        LogisticRegression(),
    )
    _fit(pipe, X, y)
    network = pipe[1].estimator_
    scaled = pipe[0].transform(X)
    np.testing.assert_allclose(
        pipe[1].transform(scaled), hand_forward(network, scaled, 0), rtol=0, atol=ATOL
    )
    assert pipe.predict(X).shape == y.shape
    assert list(pipe[:-1].get_feature_names_out()) == [f"hidden0_{j}" for j in range(6)]


def test_set_output_pandas(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)], index=range(10, 70))
    features = _fit(HiddenFeatures(BackpropClassifier(**NET), layer=-1), frame, y)
    features.set_output(transform="pandas")
    out = features.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["hidden2_0", "hidden2_1", "hidden2_2", "hidden2_3"]
    assert list(out.index) == list(frame.index)
    np.testing.assert_allclose(
        out.to_numpy(), hand_forward(features.estimator_, X, 2), rtol=0, atol=ATOL
    )
    np.testing.assert_array_equal(features.feature_names_in_, frame.columns)
    # Input feature names are checked as scikit-learn's transformers check them.
    with pytest.raises(ValueError, match="input_features is not equal"):
        features.get_feature_names_out(["a", "b", "c", "d", "e"])


def test_extreme_inputs_are_clipped_as_predict_clips_them(data):
    X, y = data
    model = _fit(BackpropRegressor(**NET), X.astype(np.float32), y.astype(np.float32))
    features = HiddenFeatures(FrozenEstimator(model), layer=0).fit(X)
    # Beyond float32's range: clipped before the cast to the model's float32.
    extreme = X * 1e300
    out = features.transform(extreme)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    limit = signal_limit(np.float32)
    clipped = clip_extreme(extreme, limit).astype(np.float32)
    np.testing.assert_array_equal(out, features.transform(clipped))
    assert np.isfinite(model.predict(extreme)).all()


def test_errors_say_what_to_do(data):
    X, y = data
    bad = HiddenFeatures(BackpropClassifier(**NET), layer=3)
    with pytest.raises(ValueError, match=r"has 3 hidden layer\(s\), numbered 0 to 2"):
        _fit(bad, X, y)
    assert not hasattr(bad, "estimator_")  # checked before fitting, nothing kept
    with pytest.raises(ValueError, match="layer=\\[\\] does not name"):
        _fit(HiddenFeatures(BackpropClassifier(**NET), layer=[]), X, y)
    with pytest.raises(TypeError, match="needs a skbackprop network.*LogisticRegr"):
        HiddenFeatures(LogisticRegression()).fit(X, y)
    with pytest.raises(NotFittedError):
        HiddenFeatures(BackpropClassifier(**NET)).transform(X)
    fitted = _fit(HiddenFeatures(BackpropClassifier(**NET)), X, y)
    with pytest.raises(ValueError, match="X has 4 features"):
        fitted.transform(X[:, :4])
    with pytest.raises(ValueError, match="layer=5 does not name"):
        fitted.set_params(layer=5).transform(X)


# ------------------------------------------------------------- array API

NAMESPACES = ["array_api_strict", "torch"]


@pytest.mark.skipif(
    not _xp.dispatch_supported(),
    reason="array-API dispatch needs SciPy >= 1.14 (and SCIPY_ARRAY_API=1)",
)
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_features_in_the_input_namespace(data, namespace):
    xp = pytest.importorskip(namespace)
    X, y = data
    X_xp, y_xp = xp.asarray(X), xp.asarray(y)
    with sklearn.config_context(array_api_dispatch=True):
        features = _fit(
            HiddenFeatures(BackpropClassifier(**NET), layer=[0, 2]), X_xp, y_xp
        )
        out = features.transform(X_xp)
    assert _xp.namespace_name(_xp.namespace(out)) == _xp.namespace_name(
        _xp.namespace(X_xp)
    )
    model = features.estimator_
    expected = np.hstack([hand_forward(model, X, 0), hand_forward(model, X, 2)])
    np.testing.assert_allclose(_xp.to_numpy(out), expected, rtol=0, atol=ATOL)
    # Another namespace than the weights' is refused in the transformer's name.
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match=r"HiddenFeatures\.transform\(\) must"):
            features.transform(X)
