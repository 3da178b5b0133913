"""Dropout, a layer kind of the seam, and the estimators' ``dropout`` parameter.

Inverted dropout multiplies a hidden layer's outputs by ``M = m / (1 - p)``
(``m ~ Bernoulli(1 - p)``, a new mask per batch) and the backward signal by the
same mask, while training only. Checked here: the masks' statistics and scale;
rate 0 is today's network bit for bit; the gradient under a fixed mask equals
central finite differences (the network and ``check_gradient``); every
evaluation path (predict, scores, early stopping's validation, HiddenFeatures,
ONNX) runs without dropout; seeded fits are reproducible; the compiled kernels
step aside; array-api-strict draws the same masks; bad values fail clearly and
leave the estimator as it was.
"""

import math
import warnings

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.utils.estimator_checks import check_estimator

from skbackprop import (
    BackpropClassifier,
    BackpropRegressor,
    HiddenFeatures,
    check_gradient,
    config_context,
)
from skbackprop._core import dropout as _dropout
from skbackprop._core import xp as _xp
from skbackprop._core.dropout import Dropout, MaskSource, dropout_rates
from skbackprop._core.layers import Dense
from skbackprop._core.xp import dispatch_supported
from skbackprop._kernels import epoch as _epoch
from skbackprop.activations import GELU, Logistic, PReLU, ReLU, Softplus, Tanh
from skbackprop.losses import BinaryLogLoss, HuberLoss, SoftmaxLogLoss, SquaredError
from skbackprop.network import Network, forward
from tests._marks import needs_dispatch

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_CLS, Y_CLS = make_classification(
    n_samples=100, n_features=6, n_informative=4, n_classes=3, random_state=0
)
X_REG, Y_REG = make_regression(n_samples=80, n_features=5, random_state=0)
Y_REG = Y_REG / Y_REG.std()
# As tests/estimator/test_common.py's small configurations.
SMALL_CHECKS = dict(learning_rate_init=0.01, max_iter=100, random_state=0)


def _targets(loss, n, d, rng):
    if isinstance(loss, SoftmaxLogLoss):
        return np.eye(d)[rng.integers(0, d, n)]
    if isinstance(loss, BinaryLogLoss):
        return rng.integers(0, 2, (n, d)).astype(float)
    return rng.normal(size=(n, d))


def _network(units, acts, loss, rates, seed=0, **kwargs):
    net = Network(
        units, acts, loss, np.float64, dropout=rates, random_state=7, **kwargs
    )
    net.params[...] = np.random.default_rng(seed).normal(
        scale=0.5, size=net.params.size
    )
    return net


# ----------------------------------------------------------------- the masks


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_masks_keep_1_minus_p_of_the_units_scaled_by_its_inverse(rate, dtype):
    M = MaskSource(0).draw(rate, (400, 250), np.dtype(dtype))
    assert M.dtype == dtype
    scale = dtype(1 / (1 - rate))
    assert set(np.unique(M)) <= {0, scale}
    kept = np.mean(M != 0)
    n = M.size
    assert abs(kept - (1 - rate)) < 5 * math.sqrt(rate * (1 - rate) / n)
    # Inverted dropout: E[M] = 1, so the expected output is the output.
    assert abs(M.mean(dtype=np.float64) - 1) < 5 * math.sqrt(rate / (1 - rate) / n)
    # Each unit is dropped independently: every column and row sees both.
    assert (M == 0).any(axis=0).all() and (M != 0).any(axis=0).all()


def test_the_same_seed_draws_the_same_masks_and_each_batch_a_new_one():
    a, b = MaskSource(3), MaskSource(3)
    first = a.draw(0.5, (20, 10), np.dtype(np.float64)).copy()
    assert_array_equal(first, b.draw(0.5, (20, 10), np.dtype(np.float64)))
    assert not np.array_equal(first, a.draw(0.5, (20, 10), np.dtype(np.float64)))
    a.reseed(3)
    assert_array_equal(first, a.draw(0.5, (20, 10), np.dtype(np.float64)))


def test_the_layer_masks_the_outputs_and_the_backward_signal_alike():
    rng = np.random.default_rng(0)
    units = [4, 30, 20, 3]
    net = _network(units, [Tanh(), Logistic()], SquaredError(), [0.4, 0.25])
    assert [type(layer) for layer in net.layers] == [Dense, Dropout] * 2 + [Dense]
    X = rng.normal(size=(50, 4))
    _, O = net.forward(X)
    for i, (rate, d) in enumerate([(0.4, 30), (0.25, 20)]):
        o, dropped = O[2 * i + 1], O[2 * i + 2]
        M = net._workspace(50).layers[2 * i + 1].M
        assert_array_equal(dropped, o * M)
        assert set(np.unique(M)) == {0, 1 / (1 - rate)}
        e = rng.normal(size=(50, d))
        assert_array_equal(
            net._workspace(50).layers[2 * i + 1].backward(e.copy()), e * M
        )
    # The dense layer below keeps its own output for θ' (the mask wrote a copy).
    assert not np.shares_memory(O[1], O[2])


def test_no_parameters_and_the_dense_layout_unchanged():
    units = [5, 8, 6, 2]
    plain = Network(units, [Tanh(), PReLU()], SquaredError(), np.float64)
    dropped = Network(units, [Tanh(), PReLU()], SquaredError(), np.float64, dropout=0.5)
    assert dropped.params.size == plain.params.size
    assert dropped._offsets == plain._offsets and dropped.n_coef == plain.n_coef
    assert dropped.dropout == [0.5, 0.5]
    assert plain.dropout == [0.0, 0.0] and plain.masks is None


# ----------------------------------------------------- rate 0 is today's network


@pytest.mark.parametrize("rates", [None, 0.0, [0.0, 0.0]])
def test_rate_zero_adds_no_layer_and_changes_no_bit(rates):
    rng = np.random.default_rng(1)
    units = [4, 7, 5, 3]
    X, Y = rng.normal(size=(16, 4)), np.eye(3)[rng.integers(0, 3, 16)]
    plain = _network(units, [ReLU(), Tanh()], SoftmaxLogLoss(), None)
    net = _network(units, [ReLU(), Tanh()], SoftmaxLogLoss(), rates)
    assert net.plain_dense_stack and net.masks is None
    assert all(type(layer) is Dense for layer in net.layers)
    assert net.loss_gradient(X, Y, None, 0.1) == plain.loss_gradient(X, Y, None, 0.1)
    assert_array_equal(net.grad, plain.grad)


@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
@pytest.mark.parametrize("dropout", [0.0, [0.0, 0.0]])
def test_estimators_at_rate_zero_train_exactly_as_without(Estimator, dropout):
    X, y = (X_CLS, Y_CLS) if Estimator is BackpropClassifier else (X_REG, Y_REG)
    params = dict(hidden_layer_sizes=(9, 6), max_iter=6, random_state=0,
                  early_stopping=True, learning_rate_init=0.01)  # fmt: skip
    ref = Estimator(**params).fit(X, y)
    est = Estimator(**params, dropout=dropout).fit(X, y)
    for a, b in zip(
        est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_, strict=True
    ):
        assert_array_equal(a, b)
    assert est.loss_curve_ == ref.loss_curve_
    assert est.validation_scores_ == ref.validation_scores_


def test_evaluation_mode_is_the_plain_network_bit_for_bit():
    rng = np.random.default_rng(2)
    units = [4, 7, 5, 2]
    X, Y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    plain = _network(units, [Tanh(), Tanh()], SquaredError(), None)
    net = _network(units, [Tanh(), Tanh()], SquaredError(), 0.5)
    assert net.training
    dropped = net.loss_gradient(X, Y, None, 0.0)
    net.training = False
    value = net.loss_gradient(X, Y, None, 0.0)
    assert value == plain.loss_gradient(X, Y, None, 0.0) != dropped
    assert_array_equal(net.grad, plain.grad)
    net.training = True
    assert net.loss_gradient(X, Y, None, 0.0) != value


# ---------------------------------------------------- gradients, fixed masks


def _finite_differences(net, X, Y, sw, alpha, eps=1e-6):
    params = net.params.copy()

    def loss(p):
        net.params[...] = p
        net.reseed(11)
        return net.loss_gradient(X, Y, sw, alpha)

    loss(params)
    analytic = net.grad.copy()
    numeric = np.empty_like(params)
    for i in range(params.size):
        step = np.zeros_like(params)
        step[i] = eps
        numeric[i] = (loss(params + step) - loss(params - step)) / (2 * eps)
    net.params[...] = params
    return analytic, numeric


@pytest.mark.parametrize(
    "loss", [SquaredError(), SoftmaxLogLoss(), BinaryLogLoss(), HuberLoss(delta=0.7)]
)
@pytest.mark.parametrize(
    "acts", [(Tanh(), Tanh(), Tanh()), (PReLU(), Softplus(), Logistic()),
             (GELU(), Tanh(), PReLU())],
)  # fmt: skip
@pytest.mark.parametrize("rates", [0.3, [0.5, 0.0, 0.2]])
def test_gradient_under_a_fixed_mask_matches_finite_differences(loss, acts, rates):
    rng = np.random.default_rng(3)
    units = [4, 9, 7, 6, 3]
    X = rng.normal(size=(14, 4))
    Y = _targets(loss, 14, 3, rng)
    sw = rng.uniform(0.5, 2.0, 14)
    net = _network(units, [type(a)() for a in acts], loss, rates)
    analytic, numeric = _finite_differences(net, X, Y, sw, 0.2)
    assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    # The masks act: the gradient is not the plain network's.
    net.training = False
    net.loss_gradient(X, Y, sw, 0.2)
    assert np.abs(net.grad - analytic).max() > 1e-3


@pytest.mark.parametrize(
    "Estimator, X, y",
    [(BackpropClassifier, X_CLS, Y_CLS), (BackpropClassifier, X_CLS, Y_CLS > 0),
     (BackpropRegressor, X_REG, Y_REG)],
)  # fmt: skip
@pytest.mark.parametrize("dropout", [0.4, [0.5, 0.1]])
def test_check_gradient_covers_dropout(Estimator, X, y, dropout):
    est = Estimator(hidden_layer_sizes=(6, 5), activation="tanh", dropout=dropout,
                    random_state=0, alpha=0.01)  # fmt: skip
    assert check_gradient(est, X[:25], y[:25]) < 1e-6
    fitted = est.set_params(max_iter=3).fit(X, y)
    assert check_gradient(fitted, X[:25], y[:25]) < 1e-6


def test_check_gradient_catches_a_backward_pass_without_the_mask(monkeypatch):
    est = BackpropRegressor(hidden_layer_sizes=(6,), activation="tanh", dropout=0.5,
                            random_state=0)  # fmt: skip
    assert check_gradient(est, X_REG[:25], Y_REG[:25]) < 1e-6

    def unmasked(self, e):
        self.M = self.s = self.o = None
        return e

    monkeypatch.setattr(Dropout, "backward", unmasked)
    assert check_gradient(est, X_REG[:25], Y_REG[:25]) > 0.1


# --------------------------------------------------------- evaluation paths


def test_every_evaluation_runs_without_dropout(monkeypatch):
    calls = []
    original = Dropout.forward

    def counted(self, o):
        calls.append(self.masks.training)
        return original(self, o)

    monkeypatch.setattr(Dropout, "forward", counted)
    est = BackpropClassifier(
        hidden_layer_sizes=(10, 8), dropout=[0.3, 0.2], batch_size=16, max_iter=4,
        early_stopping=True, validation_fraction=0.2, random_state=0,
        learning_rate_init=0.01,
    ).fit(X_CLS, Y_CLS)  # fmt: skip
    # Dropout ran on the training batches only: not on the validation rows that
    # scored each epoch for early stopping.
    n_train = est.t_ // est.n_iter_
    assert n_train < len(X_CLS)
    assert len(calls) == est.n_iter_ * math.ceil(n_train / 16) * 2
    assert all(calls)
    calls.clear()
    proba = est.predict_proba(X_CLS)
    est.predict(X_CLS), est.score(X_CLS, Y_CLS)
    hidden = HiddenFeatures(FrozenEstimator(est), layer=0).fit(X_CLS).transform(X_CLS)
    assert calls == []
    # The weights as they are: the lecture's forward pass, no 1/(1-p) anywhere.
    manual = forward(X_CLS, est.coefs_, est.intercepts_, est.activations_,
                     est.activation_params_, est._loss)  # fmt: skip
    assert_array_equal(proba, manual)
    assert_allclose(hidden, np.maximum(X_CLS @ est.coefs_[0] + est.intercepts_[0], 0))
    assert_array_equal(est.predict_proba(X_CLS), proba)  # deterministic


def test_onnx_export_has_no_dropout():
    ort = pytest.importorskip("onnxruntime")
    skonnx = pytest.importorskip("skbackprop.onnx")
    est = BackpropClassifier(hidden_layer_sizes=(8,), dropout=0.5, max_iter=5,
                             random_state=0).fit(X_CLS, Y_CLS)  # fmt: skip
    onx = skonnx.to_onnx(est, dtype=np.float64, options={"zipmap": False})
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels, proba = session.run(None, {session.get_inputs()[0].name: X_CLS})
    assert_array_equal(labels, est.predict(X_CLS))
    assert_allclose(proba, est.predict_proba(X_CLS), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------- reproducible


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_the_same_random_state_gives_the_same_model(solver):
    params = dict(hidden_layer_sizes=(12,), dropout=0.3, max_iter=5, solver=solver,
                  learning_rate_init=0.01)  # fmt: skip
    a = BackpropRegressor(**params, random_state=0).fit(X_REG, Y_REG)
    b = BackpropRegressor(**params, random_state=0).fit(X_REG, Y_REG)
    c = BackpropRegressor(**params, random_state=1).fit(X_REG, Y_REG)
    plain = BackpropRegressor(**{**params, "dropout": 0.0}, random_state=0)
    plain.fit(X_REG, Y_REG)
    assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.coefs_[1], c.coefs_[1])
    # Dropout acts: the same start, another trajectory.
    assert not np.array_equal(a.coefs_[1], plain.coefs_[1])


def test_partial_fit_calls_draw_new_masks(monkeypatch):
    seeds = []
    original = MaskSource.reseed

    def recorded(self, random_state):
        seeds.append(random_state)
        return original(self, random_state)

    monkeypatch.setattr(MaskSource, "reseed", recorded)
    est = BackpropRegressor(hidden_layer_sizes=(6,), dropout=0.2, random_state=0)
    est.partial_fit(X_REG, Y_REG)
    est.partial_fit(X_REG, Y_REG)
    assert len(seeds) == 2 and seeds[0] != seeds[1]


def test_dropout_trains_a_useful_model():
    # Dropout regularises: it learns, more slowly. Its training loss is noisy
    # (each epoch other masks), so the stopping rule on it would fire early:
    # n_iter_no_change=inf trains all epochs.
    est = BackpropClassifier(hidden_layer_sizes=(32,), dropout=0.2, max_iter=300,
                             n_iter_no_change=np.inf, learning_rate_init=0.01,
                             random_state=0).fit(X_CLS, Y_CLS)  # fmt: skip
    assert est.n_iter_ == 300
    assert est.score(X_CLS, Y_CLS) > 0.85
    assert np.mean(est.loss_curve_[-10:]) < 0.6 * est.loss_curve_[0]


# ------------------------------------------------------------------- kernels


def test_the_compiled_kernels_step_aside_and_training_is_unchanged():
    params = dict(hidden_layer_sizes=(8, 6), dropout=[0.2, 0.3], solver="sgd",
                  batch_size=1, max_iter=2, random_state=0)  # fmt: skip
    fits = []
    for kernels in (True, False):
        with config_context(kernels=kernels):
            fits.append(BackpropRegressor(**params).fit(X_REG, Y_REG))
    on, off = fits
    for a, b in zip(
        on.coefs_ + on.intercepts_, off.coefs_ + off.intercepts_, strict=True
    ):
        assert_array_equal(a, b)
    assert on.loss_curve_ == off.loss_curve_
    net = Network([5, 8, 6, 1], [ReLU(), ReLU()], SquaredError(), np.float64,
                  dropout=0.2)  # fmt: skip
    assert not net.plain_dense_stack
    assert _epoch.network_codes(net) is None  # no epoch kernel
    with config_context(kernels=True):
        net.loss_gradient(X_REG, Y_REG[:, None], None, 0.0)
        assert net._workspace(len(X_REG)).fused is None  # no fused layer passes


# ---------------------------------------------------------------- array API


def test_array_api_strict_network_draws_numpys_masks():
    xp = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(4)
    units = [4, 8, 6, 3]
    X, Y = rng.normal(size=(12, 4)), np.eye(3)[rng.integers(0, 3, 12)]
    sw = rng.uniform(0.5, 2, 12)
    host = _network(units, [Tanh(), PReLU()], SoftmaxLogLoss(), [0.5, 0.3])
    net = Network(units, [Tanh(), PReLU()], SoftmaxLogLoss(), xp.float64, xp=xp,
                  dropout=[0.5, 0.3], random_state=7)  # fmt: skip
    net.params[...] = xp.asarray(host.params)
    for _ in range(2):  # a new mask each time, the same on both
        expected = host.loss_gradient(X, Y, sw, 0.1)
        value = net.loss_gradient(xp.asarray(X), xp.asarray(Y), xp.asarray(sw), 0.1)
        assert_allclose(float(value), expected, rtol=1e-12)
        assert_allclose(np.asarray(net.grad), host.grad, rtol=1e-10, atol=1e-14)


@pytest.mark.skipif(not dispatch_supported(), reason="scikit-learn refuses dispatch")
@pytest.mark.parametrize(
    "namespace", ["array_api_strict", pytest.param("torch", marks=pytest.mark.slow)]
)
@needs_dispatch
def test_fit_in_another_namespace_equals_numpys(namespace):
    # The masks are drawn on the host: the same masks, the same trajectory.
    xp = pytest.importorskip(namespace)
    params = dict(hidden_layer_sizes=(8, 5), dropout=[0.3, 0.1], max_iter=4,
                  random_state=0, learning_rate_init=0.01)  # fmt: skip
    ref = BackpropClassifier(**params).fit(X_CLS, Y_CLS)
    with sklearn.config_context(array_api_dispatch=True):
        est = BackpropClassifier(**params).fit(xp.asarray(X_CLS), xp.asarray(Y_CLS))
        proba = est.predict_proba(xp.asarray(X_CLS))
    for a, b in zip(est.coefs_, ref.coefs_, strict=True):
        assert_allclose(_xp.to_numpy(a), b, rtol=1e-10, atol=1e-13)
    assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-10)
    assert_allclose(_xp.to_numpy(proba), ref.predict_proba(X_CLS), rtol=1e-10)


# ---------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    "dropout, match",
    [(1.0, "dropout"), (-0.1, "dropout"), (float("nan"), "dropout"),
     ("0.1", "dropout"), ([0.1, 0.2, 0.3], "3 rates .* 2 hidden layers"),
     ([[0.1, 0.2]], "one rate per hidden layer"), ([0.1, 1.0], r"in \[0, 1\)"),
     ([0.1, "a"], r"in \[0, 1\)"), ([True, 0.1], r"in \[0, 1\)"),
     ([0.1, float("nan")], r"in \[0, 1\)")],
)  # fmt: skip
def test_bad_rates_fail_clearly_and_change_nothing(dropout, match):
    est = BackpropRegressor(hidden_layer_sizes=(5, 4), max_iter=3, random_state=0)
    est.fit(X_REG, Y_REG)
    before = {k: v.copy() if isinstance(v, np.ndarray) else v
              for k, v in vars(est).items()}  # fmt: skip
    coefs = [c.copy() for c in est.coefs_]
    est.set_params(dropout=dropout, warm_start=True)
    with pytest.raises(ValueError, match=match):
        est.fit(X_REG, Y_REG)
    assert vars(est).keys() == before.keys()
    for a, b in zip(est.coefs_, coefs, strict=True):
        assert_array_equal(a, b)
    assert est.loss_curve_ == before["loss_curve_"]
    unfitted = BackpropRegressor(hidden_layer_sizes=(5, 4), dropout=dropout)
    with pytest.raises(ValueError, match=match):
        unfitted.fit(X_REG, Y_REG)
    assert not hasattr(unfitted, "coefs_")


def test_lbfgs_refuses_dropout_and_says_what_to_do():
    est = BackpropClassifier(solver="lbfgs", dropout=0.2)
    with pytest.raises(ValueError, match="stochastic solver.*solver='adam'"):
        est.fit(X_CLS, Y_CLS)
    assert not hasattr(est, "coefs_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(dropout=[0.0]).fit(X_CLS, Y_CLS)  # rate 0: fine
    assert est.n_iter_ > 0


def test_dropout_rates_spells_out_one_rate_per_layer():
    assert dropout_rates(0.25, 3) == [0.25] * 3
    assert dropout_rates(np.array([0.1, 0.0]), 2) == [0.1, 0.0]
    assert dropout_rates(None, 2) == [0.0, 0.0]
    assert dropout_rates((np.float32(0.5),), 1) == [0.5]
    assert _dropout.dropout_rates(0, 0) == []


# ------------------------------------------------- sample weights, estimator checks


def test_integer_weights_act_as_repeated_rows_in_expectation():
    # A row of weight k gets one mask, its k copies k masks: the gradients agree
    # in expectation over the masks, not draw by draw (scikit-learn's
    # check_sample_weight_equivalence compares single fits, so it cannot pass
    # with dropout, as with any estimator that randomises per row).
    rng = np.random.default_rng(5)
    units = [3, 6, 2]
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    w = np.array([0, 1, 2, 3, 1, 2])
    X_rep, Y_rep = X.repeat(w, axis=0), Y.repeat(w, axis=0)

    def draws(X, Y, sw, n=3000):
        net = _network(units, [Tanh()], SquaredError(), 0.5, seed=6)
        out = np.empty((n, net.params.size))
        for i in range(n):
            net.loss_gradient(X, Y, sw, 0.0)
            out[i] = net.grad
        return out.mean(axis=0), out.std(axis=0) / math.sqrt(n)

    (weighted, se_w), (repeated, se_r) = draws(X, Y, w), draws(X_rep, Y_rep, None)
    bound = 5 * np.sqrt(se_w**2 + se_r**2)
    assert (np.abs(weighted - repeated) < bound).all()
    unweighted, se_u = draws(X, Y, None)  # the test can tell weights apart
    assert (np.abs(unweighted - repeated) > 5 * np.sqrt(se_u**2 + se_r**2)).any()


_SAMPLE_WEIGHT_EQUIVALENCE = {
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    "estimator",
    [BackpropClassifier(hidden_layer_sizes=(32,), dropout=0.2, **SMALL_CHECKS),
     BackpropRegressor(hidden_layer_sizes=(16, 8), dropout=[0.2, 0.1],
                       **SMALL_CHECKS)],
    ids=["classifier", "regressor"],
)  # fmt: skip
def test_scikit_learns_checks_pass_with_dropout(estimator):
    """Every check passes, the single-fit sample-weight equivalence excepted.

    That one fits once with integer weights and once with repeated rows and
    compares the predictions to 1e-7: with dropout, k copies of a row draw k
    masks where the weighted row draws one, so the two fits follow different
    (equally likely) trajectories; the weights are right in expectation
    (:func:`test_integer_weights_act_as_repeated_rows_in_expectation`).
    """
    results = check_estimator(estimator, on_fail=None, on_skip=None)
    failed = {
        r["check_name"]: r["exception"] for r in results if r["status"] == "failed"
    }
    assert set(failed) == _SAMPLE_WEIGHT_EQUIVALENCE, failed
    for exception in failed.values():
        assert "sample_weight" in str(exception)
    skipped = [r for r in results if r["status"] == "skipped"]
    assert all("array_api" in r["check_name"] for r in skipped), skipped
    assert sum(r["status"] == "passed" for r in results) > 50
