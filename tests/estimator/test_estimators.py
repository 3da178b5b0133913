"""API details and behaviour of the estimators beyond scikit-learn's MLP."""

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import recall_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._training.split import _canonical_order

SMALL = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)


def _classification(n=120, n_classes=2, seed=0):
    return make_classification(
        n, 5, n_informative=3, n_redundant=0, n_classes=n_classes, random_state=seed
    )


def _regression(n=120, n_targets=1, seed=0):
    X, y = make_regression(
        n, 5, n_informative=3, n_targets=n_targets, random_state=seed
    )
    return X, (y - y.mean(0)) / y.std(0)


def _quiet(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


def _params(est):
    return list(est.coefs_) + list(est.intercepts_)


def _assert_same_params(a, b, rtol=1e-12):
    for pa, pb in zip(_params(a), _params(b), strict=True):
        np.testing.assert_allclose(pa, pb, rtol=rtol, atol=0)


# --------------------------------------------------------------------- signatures
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(BackpropClassifier, MLPClassifier), (BackpropRegressor, MLPRegressor)],
)
def test_constructor_signature_extends_sklearn(ours, theirs):
    """sklearn's parameters are a prefix of ours (same order, kind, default)."""
    ours_params = list(inspect.signature(ours).parameters.values())
    theirs_params = list(inspect.signature(theirs).parameters.values())
    if ours is BackpropRegressor:
        # loss= comes first as in scikit-learn >= 1.7; 1.6 (also supported) has none.
        assert ours_params[0].name == "loss"
        assert ours_params[0].default == "squared_error"
        assert ours_params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        if theirs_params[0].name != "loss":
            ours_params = ours_params[1:]
    prefix = ours_params[: len(theirs_params)]
    assert [p.name for p in prefix] == [p.name for p in theirs_params]
    assert [p.kind for p in prefix] == [p.kind for p in theirs_params]
    assert [p.default for p in prefix] == [p.default for p in theirs_params]
    # Our additions come after and are keyword-only, so positional calls that work
    # with scikit-learn work the same here.
    added = {p.name: p for p in ours_params[len(theirs_params) :]}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in added.values())
    if ours is BackpropClassifier:
        assert added["class_weight"].default is None
    else:
        assert "class_weight" not in added


# ------------------------------------------------------------- fitted attributes
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_fitted_attributes(kind, early_stopping):
    """Every fitted attribute of sklearn's MLP exists, with DataFrame feature names."""
    if kind == "classifier":
        X, y = _classification()
        est = BackpropClassifier(**SMALL, early_stopping=early_stopping)
    else:
        X, y = _regression()
        est = BackpropRegressor(**SMALL, early_stopping=early_stopping)
    est.set_params(n_iter_no_change=1000)  # run all max_iter=20 epochs
    columns = [f"feature_{i}" for i in range(X.shape[1])]
    _quiet(est.fit, pd.DataFrame(X, columns=columns), y)
    assert est.n_layers_ == 3
    assert est.n_outputs_ == 1
    assert [W.shape for W in est.coefs_] == [(5, 8), (8, 1)]
    assert [b.shape for b in est.intercepts_] == [(8,), (1,)]
    assert est.out_activation_ == ("logistic" if kind == "classifier" else "identity")
    assert est.n_iter_ == 20
    assert est.t_ == est.n_iter_ * (len(y) - (12 if early_stopping else 0))
    assert len(est.loss_curve_) == est.n_iter_
    assert est.loss_ == est.loss_curve_[-1]
    assert est.n_features_in_ == 5
    np.testing.assert_array_equal(est.feature_names_in_, columns)
    if kind == "classifier":
        np.testing.assert_array_equal(est.classes_, [0, 1])
    if early_stopping:
        assert est.best_loss_ is None
        assert len(est.validation_scores_) == est.n_iter_
        assert est.best_validation_score_ == max(est.validation_scores_)
    else:
        assert est.best_loss_ == min(est.loss_curve_)
        assert est.validation_scores_ is None
        assert est.best_validation_score_ is None


def test_lbfgs_fitted_attributes():
    """L-BFGS sets loss_, n_iter_ and the weights; no stochastic curves."""
    X, y = _classification()
    est = _quiet(BackpropClassifier(**{**SMALL, "solver": "lbfgs"}).fit, X, y)
    assert np.isfinite(est.loss_)
    assert 1 <= est.n_iter_ <= 20
    assert est.t_ == 0
    assert est.gradient_norms_.shape == (est.n_iter_, 2)
    # As in scikit-learn, the per-epoch attributes of the stochastic solvers are absent.
    for name in ("loss_curve_", "best_loss_", "validation_scores_"):
        assert not hasattr(est, name)


# ------------------------------------------------------------- live coefs_
def test_assigned_coefs_are_used_by_predict():
    """Assigning new coefs_/intercepts_ (or editing them in place) changes predict."""
    X, y = _classification()
    clf = _quiet(BackpropClassifier(**SMALL).fit, X, y)
    clf.coefs_ = [np.zeros_like(W) for W in clf.coefs_]
    clf.intercepts_ = [np.zeros_like(b) for b in clf.intercepts_]
    np.testing.assert_array_equal(clf.predict_proba(X), np.full((len(y), 2), 0.5))
    clf.intercepts_[-1][0] = 3.0  # in place
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-3.0)))
    np.testing.assert_array_equal(clf.predict(X), np.ones(len(y), dtype=int))

    X, y = _regression()
    reg = _quiet(BackpropRegressor(**SMALL).fit, X, y)
    reg.coefs_[1][...] = 0.0  # in place: the output ignores the hidden layer
    reg.intercepts_[1][...] = 1.5
    np.testing.assert_array_equal(reg.predict(X), np.full(len(y), 1.5))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_continues_from_assigned_coefs(kind):
    """partial_fit starts from assigned weights: one step equals sklearn's from them."""
    if kind == "classifier":
        X, y = _classification()
        extra = {"classes": [0, 1]}
        pair = BackpropClassifier, MLPClassifier
    else:
        X, y = _regression()
        extra = {}
        pair = BackpropRegressor, MLPRegressor
    params = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        batch_size=len(y),
        shuffle=False,
        activation="tanh",
        random_state=0,
    )
    ours, theirs = (cls(**params) for cls in pair)
    ours.partial_fit(X, y, **extra)
    theirs.partial_fit(X, y, **extra)
    rng = np.random.RandomState(1)
    new = [rng.normal(0, 0.5, p.shape) for p in _params(ours)]
    for est in (ours, theirs):
        est.coefs_ = [p.copy() for p in new[:2]]
        est.intercepts_ = [p.copy() for p in new[2:]]
        est.partial_fit(X, y)
    # Both continue from the assigned weights (and sklearn keeps its momentum too).
    _assert_same_params(ours, theirs, rtol=1e-10)
    for p, start in zip(_params(ours), new, strict=True):
        assert 0 < np.max(np.abs(p - start)) < 0.5


# ------------------------------------------------------- validation loss curve
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_validation_loss_curve(kind):
    """validation_loss_curve_ has one finite loss per epoch, None without early stop."""
    X, y = _classification() if kind == "classifier" else _regression()
    cls = BackpropClassifier if kind == "classifier" else BackpropRegressor
    est = _quiet(cls(**SMALL, early_stopping=True).fit, X, y)
    curve = np.asarray(est.validation_loss_curve_)
    assert len(curve) == len(est.validation_scores_) == est.n_iter_
    assert np.all(np.isfinite(curve)) and np.all(curve > 0)
    est = _quiet(cls(**SMALL).fit, X, y)
    assert est.validation_loss_curve_ is None


# ------------------------------------------------------------ gradient norms
def _tanh_gradients(W0, b0, W1, b1, X, y, alpha):
    """Hand-written backprop: one tanh layer, identity output, ½·mean squared error."""
    n = X.shape[0]
    H = np.tanh(X @ W0 + b0)
    delta_out = (H @ W1 + b1 - y[:, None]) / n
    delta_hidden = (delta_out @ W1.T) * (1 - H**2)
    return [
        X.T @ delta_hidden + alpha * W0 / n,
        H.T @ delta_out + alpha * W1 / n,
        delta_hidden.sum(0),
        delta_out.sum(0),
    ]


def _initial_weights(**params):
    """The initial weights for these parameters (a step of 1e-300 moves nothing)."""
    X, y = _regression(n=20)
    est = BackpropRegressor(**{**params, "learning_rate_init": 1e-300, "max_iter": 1})
    return [p.copy() for p in _params(_quiet(est.fit, X, y))]


def test_gradient_norms_shape_and_values():
    """gradient_norms_ is (n_iter_, n_layers_ - 1), finite, positive, the coef grads."""
    X, y = _regression()
    est = _quiet(BackpropRegressor(**SMALL, solver="sgd").fit, X, y)
    assert est.gradient_norms_.shape == (est.n_iter_, est.n_layers_ - 1)
    assert np.all(np.isfinite(est.gradient_norms_)) and np.all(est.gradient_norms_ > 0)

    # Full batch, one epoch: the norms of the coefficient gradients at the start.
    params = dict(
        hidden_layer_sizes=(6,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        alpha=0.01,
        batch_size=20,
        shuffle=False,
        random_state=4,
    )
    X, y = _regression(n=20)
    W0, W1, b0, b1 = _initial_weights(**params)
    est = _quiet(BackpropRegressor(**params, max_iter=1).fit, X, y)
    g = _tanh_gradients(W0, b0, W1, b1, X, y, alpha=0.01)
    np.testing.assert_allclose(
        est.gradient_norms_[0], [np.linalg.norm(g[0]), np.linalg.norm(g[1])], rtol=1e-10
    )


def test_gradient_norms_show_vanishing_gradients_in_deep_sigmoid_net():
    """In 6 logistic layers the first layer's gradient vanishes next to the last's."""
    X, y = _classification(n=200)
    ratios = {}
    for activation in ("logistic", "relu"):
        est = _quiet(
            BackpropClassifier(
                hidden_layer_sizes=(20,) * 6,
                activation=activation,
                solver="sgd",
                max_iter=3,
                random_state=0,
            ).fit,
            X,
            y,
        )
        norms = est.gradient_norms_[0]
        ratios[activation] = norms[0] / norms[-1]
    assert ratios["logistic"] < 1e-2
    assert ratios["relu"] > 0.1
    assert ratios["logistic"] < ratios["relu"] / 100


# -------------------------------------------------------------- class weights
def test_class_weight_balanced_raises_minority_recall():
    """class_weight='balanced' on imbalanced data recalls more of the minority class."""
    X, y = make_classification(
        400, 5, n_informative=3, weights=[0.9, 0.1], class_sep=0.5, random_state=0
    )
    params = dict(
        hidden_layer_sizes=(8,), max_iter=200, learning_rate_init=0.01, random_state=0
    )
    plain = _quiet(BackpropClassifier(**params).fit, X, y)
    balanced = _quiet(BackpropClassifier(**params, class_weight="balanced").fit, X, y)
    assert (
        recall_score(y, balanced.predict(X)) > recall_score(y, plain.predict(X)) + 0.2
    )
    # "balanced" is scikit-learn's balanced sample weighting.
    weighted = _quiet(
        BackpropClassifier(**params).fit,
        X,
        y,
        sample_weight=compute_sample_weight("balanced", y),
    )
    _assert_same_params(balanced, weighted, rtol=1e-12)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_class_weight_dict_multiplies_sample_weight(solver):
    """class_weight={0: 2} equals doubling class-0 sample weights, and composes."""
    X, y = _classification(n_classes=3)
    params = dict(
        hidden_layer_sizes=(8,),
        solver=solver,
        shuffle=False,
        max_iter=30,
        random_state=0,
    )
    by_class = _quiet(BackpropClassifier(**params, class_weight={0: 2}).fit, X, y)
    by_sample = _quiet(
        BackpropClassifier(**params).fit, X, y, sample_weight=np.where(y == 0, 2.0, 1.0)
    )
    plain = _quiet(BackpropClassifier(**params).fit, X, y)
    _assert_same_params(by_class, by_sample, rtol=1e-12)
    assert not np.allclose(by_class.coefs_[0], plain.coefs_[0])

    sw = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    both = _quiet(
        BackpropClassifier(**params, class_weight={0: 2, 2: 0.5}).fit,
        X,
        y,
        sample_weight=sw,
    )
    product = _quiet(
        BackpropClassifier(**params).fit,
        X,
        y,
        sample_weight=sw * np.select([y == 0, y == 2], [2.0, 0.5], 1.0),
    )
    _assert_same_params(both, product, rtol=1e-12)


# ------------------------------------------------------------------ batching
def test_full_batch_gradient_descent_is_the_lecture_rule():
    """batch_size=n, momentum=0: each epoch is one step W <- W - eta * G."""
    params = dict(
        hidden_layer_sizes=(6,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        alpha=0.01,
        batch_size=20,
        shuffle=False,
        random_state=4,
        learning_rate_init=0.1,
    )
    X, y = _regression(n=20)
    start = _initial_weights(**params)
    est = _quiet(BackpropRegressor(**params, max_iter=1).fit, X, y)
    g = _tanh_gradients(start[0], start[2], start[1], start[3], X, y, alpha=0.01)
    expected = [
        start[0] - 0.1 * g[0],
        start[1] - 0.1 * g[1],
        start[2] - 0.1 * g[2],
        start[3] - 0.1 * g[3],
    ]
    for p, e in zip(_params(est), expected, strict=True):
        np.testing.assert_allclose(p, e, rtol=1e-10)
    assert est.t_ == 20


def test_per_example_sgd_is_the_lecture_rule():
    """batch_size=1, momentum=0: one step per example, in order, for each row."""
    params = dict(
        hidden_layer_sizes=(6,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        alpha=0.01,
        batch_size=1,
        shuffle=False,
        random_state=4,
        learning_rate_init=0.05,
    )
    X, y = _regression(n=20)
    W0, W1, b0, b1 = _initial_weights(**params)
    est = _quiet(BackpropRegressor(**params, max_iter=2).fit, X, y)
    norms = []
    for _ in range(2):
        epoch_norms = []
        for i in range(len(y)):
            g = _tanh_gradients(W0, b0, W1, b1, X[i : i + 1], y[i : i + 1], alpha=0.01)
            epoch_norms.append([np.linalg.norm(g[0]), np.linalg.norm(g[1])])
            W0, W1, b0, b1 = (
                W0 - 0.05 * g[0],
                W1 - 0.05 * g[1],
                b0 - 0.05 * g[2],
                b1 - 0.05 * g[3],
            )
        norms.append(np.mean(epoch_norms, axis=0))
    for p, e in zip(_params(est), [W0, W1, b0, b1], strict=True):
        np.testing.assert_allclose(p, e, rtol=1e-10)
    np.testing.assert_allclose(est.gradient_norms_, norms, rtol=1e-10)


def test_batch_size_larger_than_data_is_clipped_with_warning():
    """A batch_size above n_samples warns and trains on full batches."""
    X, y = _regression(n=30)
    params = dict(SMALL, solver="sgd", shuffle=False, max_iter=3)
    with pytest.warns(UserWarning, match="batch_size"):
        big = _quiet(BackpropRegressor(**params, batch_size=1000).fit, X, y)
    full = _quiet(BackpropRegressor(**params, batch_size=30).fit, X, y)
    _assert_same_params(big, full, rtol=0)


# ------------------------------------------------- warm start and partial_fit
def test_warm_start_continues_training():
    """warm_start=True continues from the fitted weights and extends loss_curve_."""
    X, y = _classification()
    est = _quiet(BackpropClassifier(**{**SMALL, "max_iter": 5}).fit, X, y)
    first_curve = list(est.loss_curve_)
    est.set_params(warm_start=True)
    _quiet(est.fit, X, y)
    assert len(est.loss_curve_) == 10
    assert est.loss_curve_[:5] == first_curve
    assert est.n_iter_ == 5
    assert est.t_ == 10 * len(y)
    assert est.loss_curve_[5] < first_curve[0]
    # Without warm_start a new fit starts over.
    est.set_params(warm_start=False)
    _quiet(est.fit, X, y)
    assert est.loss_curve_ == first_curve


def test_partial_fit_classifier_needs_classes_on_first_call():
    """The first partial_fit without classes is a ValueError naming classes."""
    X, y = _classification(n_classes=3)
    with pytest.raises(ValueError, match="classes"):
        BackpropClassifier(**SMALL).partial_fit(X, y)


def test_partial_fit_continues():
    """Each partial_fit call is one more epoch; later calls may see fewer classes."""
    X, y = _classification(n_classes=3)
    est = BackpropClassifier(**SMALL)
    est.partial_fit(X, y, classes=[0, 1, 2])
    est.partial_fit(X[y != 2], y[y != 2])
    est.partial_fit(X, y)
    assert len(est.loss_curve_) == 3
    assert est.t_ == 2 * len(y) + np.sum(y != 2)
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    assert est.predict_proba(X).shape == (len(y), 3)
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, np.where(y == 2, 5, y))


def test_partial_fit_unavailable_for_lbfgs():
    """partial_fit does not exist for solver='lbfgs', as in sklearn."""
    est = BackpropRegressor(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        est.partial_fit(*_regression())


# ------------------------------------------------------------ classification
def test_multilabel_predict_and_proba():
    """Multilabel targets: logistic outputs, (n, n_labels) predictions and probas."""
    X, Y = make_multilabel_classification(100, 5, n_classes=3, random_state=0)
    est = _quiet(BackpropClassifier(**SMALL).fit, X, Y)
    assert est.out_activation_ == "logistic"
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    pred = est.predict(X)
    assert pred.shape == Y.shape
    assert set(np.unique(pred)) <= {0, 1}
    proba = est.predict_proba(X)
    assert proba.shape == Y.shape
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_predict_proba_sums_to_one_and_log_proba(n_classes):
    """predict_proba rows sum to 1; predict_log_proba is its log; predict is argmax."""
    X, y = _classification(n_classes=n_classes)
    est = _quiet(BackpropClassifier(**SMALL).fit, X, y)
    proba = est.predict_proba(X)
    assert proba.shape == (len(y), n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba), rtol=1e-12)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "emu"]),
        np.array([-7, -1, 3]),
        np.array([-3.0, 0.0, 2.0]),
    ],
    ids=["strings", "negative-ints", "floats"],
)
def test_any_label_type(labels):
    """String, negative-int and float labels fit like 0..k-1 and are predicted."""
    X, y = _classification(n_classes=3)
    params = {**SMALL, "learning_rate_init": 0.01, "max_iter": 50}
    reference = _quiet(BackpropClassifier(**params).fit, X, y)
    est = _quiet(BackpropClassifier(**params).fit, X, labels[y])
    np.testing.assert_array_equal(est.classes_, labels)
    np.testing.assert_array_equal(est.predict_proba(X), reference.predict_proba(X))
    np.testing.assert_array_equal(est.predict(X), labels[reference.predict(X)])
    assert est.predict(X).dtype == labels.dtype
    est.partial_fit(X, labels[y])  # later calls accept the same labels
    assert est.score(X, labels[y]) > 0.8


def test_continuous_labels_are_refused():
    """Non-integral float targets are not class labels: ValueError, as in sklearn."""
    X, y = _classification()
    with pytest.raises(ValueError, match="label type"):
        BackpropClassifier(**SMALL).fit(X, y + 0.5 * np.arange(len(y)) / len(y))


# ---------------------------------------------------------------- regression
def test_multi_output_regression():
    """A 2-column target gives 2 outputs and (n, 2) predictions that fit well."""
    X, Y = _regression(n=150, n_targets=2)
    est = _quiet(
        BackpropRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit,
        X,
        Y,
    )
    assert est.n_outputs_ == 2
    assert est.predict(X).shape == (150, 2)
    assert est.score(X, Y) > 0.9


def test_poisson_regression():
    """loss='poisson': exp output, positive predictions, mean matched, y < 0 refused."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1])).astype(float)
    est = _quiet(
        BackpropRegressor(
            loss="poisson",
            hidden_layer_sizes=(8,),
            solver="lbfgs",
            alpha=0.0,
            max_iter=500,
            tol=1e-8,
            random_state=0,
        ).fit,
        X,
        y,
    )
    assert est.out_activation_ == "exp"
    pred = est.predict(X)
    assert np.all(pred > 0)
    # With a log link and a free intercept the fitted mean equals the observed mean.
    assert pred.mean() == pytest.approx(y.mean(), rel=1e-3)
    with pytest.raises(ValueError, match="poisson"):
        BackpropRegressor(loss="poisson").fit(X, y - 1)


# ------------------------------------------------------------ sparse, dtypes
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_sparse_input_matches_dense(kind):
    """CSR input trains to the same weights and predicts the same as dense input."""
    X, y = _classification() if kind == "classifier" else _regression()
    X[np.abs(X) < 0.7] = 0.0
    cls = BackpropClassifier if kind == "classifier" else BackpropRegressor
    params = dict(SMALL, solver="sgd", shuffle=True, batch_size=16)
    dense = _quiet(cls(**params).fit, X, y)
    sparse = _quiet(cls(**params).fit, sp.csr_matrix(X), y)
    _assert_same_params(dense, sparse, rtol=1e-10)
    out = "predict_proba" if kind == "classifier" else "predict"
    np.testing.assert_allclose(
        getattr(dense, out)(sp.csr_matrix(X)), getattr(dense, out)(X), rtol=1e-12
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_dtype_is_preserved(dtype, solver):
    """float32 trains and predicts in float32, float64 in float64."""
    X, y = _classification()
    clf = _quiet(BackpropClassifier(**SMALL, solver=solver).fit, X.astype(dtype), y)
    assert all(p.dtype == dtype for p in _params(clf))
    assert clf.predict_proba(X.astype(dtype)).dtype == dtype
    X, y = _regression()
    reg = _quiet(BackpropRegressor(**SMALL, solver=solver).fit, X.astype(dtype), y)
    assert all(p.dtype == dtype for p in _params(reg))
    assert reg.predict(X.astype(dtype)).dtype == dtype


# ------------------------------------------------------- warnings and output
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_convergence_warning_at_max_iter(solver):
    """Stopping at max_iter before convergence warns with ConvergenceWarning."""
    X, y = _classification()
    with pytest.warns(ConvergenceWarning):
        BackpropClassifier(**{**SMALL, "max_iter": 2, "solver": solver}).fit(X, y)


def test_verbose_prints_iterations(capsys):
    """verbose=True prints 'Iteration k, loss = ...' per epoch and validation scores."""
    X, y = _classification()
    est = _quiet(
        BackpropClassifier(
            **{**SMALL, "max_iter": 4}, verbose=True, early_stopping=True
        ).fit,
        X,
        y,
    )
    lines = capsys.readouterr().out.splitlines()
    iterations = [line for line in lines if line.startswith("Iteration")]
    assert iterations == [
        f"Iteration {k}, loss = {loss:.8f}"
        for k, loss in enumerate(est.loss_curve_, start=1)
    ]
    assert sum(line.startswith("Validation score: ") for line in lines) == 4


# ------------------------------------------------------------- early stopping
EARLY_STOPPING = dict(
    hidden_layer_sizes=(32,),
    solver="adam",
    learning_rate_init=0.05,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=8,
    max_iter=100,
    random_state=5,
)


def _early_stopping_data():
    X, y = _classification(n=300, seed=3)
    # Noisy features: the validation score peaks and then falls back.
    return X + np.random.RandomState(0).normal(scale=2.0, size=X.shape), y


def test_early_stopping_restores_best_weights():
    """After early stopping the model is the best-validation epoch's model."""
    X, y = _early_stopping_data()
    est = _quiet(BackpropClassifier(**EARLY_STOPPING).fit, X, y)
    scores = est.validation_scores_
    best = int(np.argmax(scores)) + 1  # first best epoch
    assert est.best_validation_score_ == max(scores)
    assert best < est.n_iter_, "the test needs epochs after the best one"
    # Training stops at the best epoch: the same weights, so the later epochs'
    # weights were replaced by the best ones.
    params = {**EARLY_STOPPING, "max_iter": best}
    upto_best = _quiet(BackpropClassifier(**params).fit, X, y)
    assert upto_best.validation_scores_ == scores[:best]
    _assert_same_params(est, upto_best, rtol=0)


def test_early_stopping_scores_sklearns_held_out_split():
    """The restored model scores best_validation_score_ on sklearn's held-out split.

    The split depends on row values, not order: with the rows in the canonical
    order it starts from, it is scikit-learn's positional split.
    """
    X, y = _early_stopping_data()
    order = _canonical_order(X, LabelBinarizer().fit_transform(y).astype(float))
    X, y = X[order], y[order]
    est = _quiet(BackpropClassifier(**EARLY_STOPPING).fit, X, y)
    # The held-out part, derived as scikit-learn's MLP derives it: the random
    # state first draws the initial weights, then splits (stratified for binary).
    rng = np.random.RandomState(EARLY_STOPPING["random_state"])
    for fan_in, fan_out in [(5, 32), (32, 1)]:
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        rng.uniform(-bound, bound, (fan_in, fan_out))
        rng.uniform(-bound, bound, fan_out)
    _, X_val, _, y_val = train_test_split(
        X, y, random_state=rng, test_size=0.2, stratify=y
    )
    assert est.score(X_val, y_val) == est.best_validation_score_


def test_early_stopping_split_ignores_row_order():
    """Permuted rows give the same validation set, so the same full-batch model."""
    X, y = _early_stopping_data()
    perm = np.random.RandomState(1).permutation(len(y))
    params = {**EARLY_STOPPING, "batch_size": 240, "max_iter": 20}  # all 240 rows
    a = _quiet(BackpropClassifier(**params).fit, X, y)
    b = _quiet(BackpropClassifier(**params).fit, X[perm], y[perm])
    np.testing.assert_allclose(a.validation_scores_, b.validation_scores_, rtol=1e-12)
    _assert_same_params(a, b, rtol=1e-9)


# ---------------------------------------------------------------- sample weight
@pytest.mark.parametrize(
    ("solver", "early_stopping"), [("adam", False), ("adam", True), ("lbfgs", False)]
)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_integer_sample_weight_equals_repeated_rows(kind, solver, early_stopping):
    """Integer sample weights give the model fitted on correspondingly repeated rows."""
    X, y = _classification(n_classes=3) if kind == "classifier" else _regression()
    cls = BackpropClassifier if kind == "classifier" else BackpropRegressor
    sw = np.random.RandomState(0).randint(0, 4, len(y))
    params = dict(
        hidden_layer_sizes=(8,),
        solver=solver,
        batch_size=2000,
        shuffle=False,
        early_stopping=early_stopping,
        max_iter=15,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # batch_size clipped
        weighted = _quiet(cls(**params).fit, X, y, sample_weight=sw)
        repeated = _quiet(cls(**params).fit, X.repeat(sw, axis=0), y.repeat(sw))
    _assert_same_params(weighted, repeated, rtol=1e-9)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9)


def _scale_hints(fit, X, y, **params):
    """The target-scale hints that ``fit`` of a small regressor gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(BackpropRegressor(**SMALL, **params), fit)(X, y)
    return [str(w.message) for w in caught if "unit scale" in str(w.message)]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "shift, scale, says",
    [
        (2e5, 8e4, "fits it very slowly"),  # house prices
        (1e3, 1.0, "fits it very slowly"),  # a large offset alone
        (0.0, 1e-3, "stops before fitting it"),
    ],
)
def test_regressor_hints_at_scaling_a_target_far_from_unit_scale(shift, scale, says):
    X, y = _regression(n=60)
    target = shift + scale * y
    reg = BackpropRegressor(**SMALL)
    with pytest.warns(UserWarning, match="far from unit scale") as record:
        reg.fit(X, target)
    message = next(str(w.message) for w in record if "unit scale" in str(w.message))
    assert says in message
    assert f"standard deviation {np.std(target):.3g}" in message
    assert (
        "TransformedTargetRegressor(regressor=..., "
        "transformer=sklearn.preprocessing.StandardScaler())" in message
    )
    # Once per training run: a later partial_fit continues without the hint.
    inc = BackpropRegressor(**SMALL)
    with pytest.warns(UserWarning, match="far from unit scale"):
        inc.partial_fit(X, target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inc.partial_fit(X, target)
    assert not [w for w in caught if "unit scale" in str(w.message)]


def test_regressor_target_scale_hint_only_where_it_helps():
    X, y = _regression(n=60)
    # Unit-scale targets, a constant target, and losses other than the squared
    # error (Poisson's log link, Huber's and the quantile's own scale) get none.
    assert _scale_hints("fit", X, 50 * y) == []
    assert _scale_hints("fit", X, 0.02 * y) == []
    assert _scale_hints("fit", X, 0 * y) == []
    assert _scale_hints("partial_fit", X, 50 * y) == []
    counts = 1e3 * np.round(np.exp(3 + y))
    assert _scale_hints("fit", X, counts, loss="poisson") == []
    assert _scale_hints("fit", X, 1e4 * y, loss="huber") == []
    # The fix it suggests silences it: the regressor sees a standardised target.
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    wrapped = TransformedTargetRegressor(
        regressor=BackpropRegressor(**SMALL), transformer=StandardScaler()
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrapped.fit(X, 2e5 + 8e4 * y)
    assert not [w for w in caught if "unit scale" in str(w.message)]
