"""The validation side of early stopping: fit(X_val=...), scoring, tol_mode, warnings.

``fit(X, y, sample_weight, *, X_val, y_val, sample_weight_val)`` as scikit-learn's
HistGradientBoosting takes them, ``scoring`` (a scorer name or callable, or
"loss"), the relative tolerance, the warning when a few rows dominate the
validation loss, and metadata routing under cross-validation.
"""

import importlib
import pickle
import warnings

import array_api_strict as xps
import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, make_scorer, mean_absolute_error
from sklearn.model_selection import cross_validate
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbackprop import BackpropClassifier, BackpropRegressor, HiddenFeatures
from skbackprop._core import xp as _xp
from skbackprop._training import loop as _loop
from skbackprop._training.early_stopping import EarlyStoppingState
from skbackprop.losses import SquaredError
from tests._marks import needs_dispatch
from tests.estimator.test_common import _runnable_here

X_REG, y_reg = make_regression(n_samples=200, n_features=5, noise=5.0, random_state=0)
X_REG /= X_REG.std(axis=0)
Y_REG = y_reg / y_reg.std()
X_CLF, Y_CLF = make_classification(
    n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0
)
SMALL = dict(hidden_layer_sizes=(8,), random_state=0, learning_rate_init=0.01)
ES = dict(SMALL, early_stopping=True, max_iter=30, n_iter_no_change=5)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _same_weights(a, b):
    for key in ("coefs_", "intercepts_"):
        for u, v in zip(getattr(a, key), getattr(b, key), strict=True):
            np.testing.assert_array_equal(_xp.to_numpy(u), _xp.to_numpy(v))


# ------------------------------------------------------------- X_val itself
@pytest.mark.parametrize("cls", [BackpropRegressor, BackpropClassifier])
def test_x_val_is_the_split_passed_by_hand(cls, monkeypatch):
    """Passing the rows the split would carve off gives the same model.

    Without shuffling, the split's random draws come after the weights' and
    none follow, so the two fits train on the same rows in the same order.
    """
    X, y = (X_REG, Y_REG) if cls is BackpropRegressor else (X_CLF, Y_CLF)
    parts = []
    split = _loop._train_validation_split

    def recording(*args, **kwargs):
        parts.append(split(*args, **kwargs))
        return parts[-1]

    monkeypatch.setattr(_loop, "_train_validation_split", recording)
    params = dict(ES, shuffle=False)
    carved = cls(**params).fit(X, y)
    (train_rows, _), (val_rows, _) = parts[0]
    given = cls(**params).fit(
        X[train_rows], y[train_rows], X_val=X[val_rows], y_val=y[val_rows]
    )
    assert len(parts) == 1  # the second fit splits nothing off
    assert given.n_iter_ == carved.n_iter_
    _same_weights(given, carved)
    assert given.validation_scores_ == carved.validation_scores_
    assert given.validation_loss_curve_ == carved.validation_loss_curve_


def test_x_val_trains_on_all_rows_and_ignores_validation_fraction():
    a = BackpropRegressor(**ES, validation_fraction=0.5).fit(
        X_REG, Y_REG, X_val=X_REG[:20], y_val=Y_REG[:20]
    )
    b = BackpropRegressor(**ES, validation_fraction=0.1).fit(
        X_REG, Y_REG, X_val=X_REG[:20], y_val=Y_REG[:20]
    )
    _same_weights(a, b)
    assert a.t_ == a.n_iter_ * len(X_REG)


def test_best_epoch_is_restored_with_x_val():
    X_val, y_val = X_REG[150:], Y_REG[150:]
    reg = BackpropRegressor(**dict(ES, max_iter=60, n_iter_no_change=60)).fit(
        X_REG[:150], Y_REG[:150], X_val=X_val, y_val=y_val
    )
    best = int(np.argmax(reg.validation_scores_))
    assert reg.best_validation_score_ == reg.validation_scores_[best]
    assert reg.score(X_val, y_val) == pytest.approx(reg.best_validation_score_, 1e-12)


def test_sample_weight_val_counts_as_repeated_validation_rows():
    X_val, y_val = X_REG[150:], Y_REG[150:]
    w = np.random.RandomState(0).randint(1, 4, len(y_val)).astype(float)
    rep = np.repeat(np.arange(len(y_val)), w.astype(int))
    weighted = BackpropRegressor(**ES).fit(
        X_REG[:150], Y_REG[:150], X_val=X_val, y_val=y_val, sample_weight_val=w
    )
    repeated = BackpropRegressor(**ES).fit(
        X_REG[:150], Y_REG[:150], X_val=X_val[rep], y_val=y_val[rep]
    )
    np.testing.assert_allclose(
        weighted.validation_scores_, repeated.validation_scores_, rtol=1e-10
    )
    np.testing.assert_allclose(
        weighted.validation_loss_curve_, repeated.validation_loss_curve_, rtol=1e-10
    )
    # Without them the validation figures differ.
    plain = BackpropRegressor(**ES).fit(
        X_REG[:150], Y_REG[:150], X_val=X_val, y_val=y_val
    )
    assert plain.validation_loss_curve_[0] != weighted.validation_loss_curve_[0]


def test_class_weight_applies_to_the_validation_set():
    """The validation rows are weighted by class as the training rows are."""
    X_val, y_val = X_CLF[150:], Y_CLF[150:]
    clf = BackpropClassifier(**ES, class_weight={0: 5.0}).fit(
        X_CLF[:150], Y_CLF[:150], X_val=X_val, y_val=y_val
    )
    weights = np.where(y_val == 0, 5.0, 1.0)
    accuracy = get_scorer("accuracy")
    assert clf.best_validation_score_ == pytest.approx(
        accuracy(clf, X_val, y_val, sample_weight=weights)
    )
    balanced = BackpropClassifier(**ES, class_weight="balanced").fit(
        X_CLF[:150], Y_CLF[:150], X_val=X_val, y_val=y_val
    )
    counts = np.bincount(Y_CLF[:150])
    weights = (150 / (3 * counts))[y_val]
    assert balanced.best_validation_score_ == pytest.approx(
        accuracy(balanced, X_val, y_val, sample_weight=weights)
    )


def test_string_labels_and_a_subset_of_classes_in_y_val():
    labels = np.array(["a", "b", "c"])[Y_CLF]
    X_val, y_val = X_CLF[150:], labels[150:]
    keep = y_val != "c"
    clf = BackpropClassifier(**ES).fit(
        X_CLF[:150], labels[:150], X_val=X_val[keep], y_val=y_val[keep]
    )
    assert clf.score(X_val[keep], y_val[keep]) == pytest.approx(
        clf.best_validation_score_
    )


def test_x_val_with_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X_REG, columns=[f"f{i}" for i in range(X_REG.shape[1])])
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*feature names")
        reg = BackpropRegressor(**ES, scoring="r2").fit(
            df[:150], Y_REG[:150], X_val=df[150:], y_val=Y_REG[150:]
        )
    assert reg.best_validation_score_ == pytest.approx(
        reg.score(df[150:], Y_REG[150:]), 1e-12
    )
    with pytest.raises(ValueError, match="feature names"):
        BackpropRegressor(**ES).fit(
            df[:150], Y_REG[:150], X_val=df[150:].iloc[:, ::-1], y_val=Y_REG[150:]
        )


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(X_val=X_REG[:10]), "y_val is not"),
        (dict(y_val=Y_REG[:10]), "X_val is not"),
        (dict(sample_weight_val=np.ones(10)), "sample_weight_val is passed"),
        (dict(X_val=X_REG[:10, :3], y_val=Y_REG[:10]), "features"),
        (dict(X_val=X_REG[:10], y_val=Y_REG[:9]), "inconsistent"),
        (
            dict(X_val=X_REG[:10], y_val=Y_REG[:10], sample_weight_val=-np.ones(10)),
            "negative",
        ),
        (
            dict(X_val=X_REG[:10], y_val=Y_REG[:10], sample_weight_val=np.zeros(10)),
            "sample_weight_val is not valid",
        ),
        (dict(X_val=X_REG[:10], y_val=np.array(["a"] * 10)), "numeric"),
        (dict(X_val=X_REG[:10], y_val=np.c_[Y_REG[:10], Y_REG[:10]]), "column"),
    ],
)
def test_bad_validation_sets_are_refused_and_leave_the_model(kwargs, match):
    reg = BackpropRegressor(**ES).fit(X_REG, Y_REG)
    before = pickle.dumps(reg)
    with pytest.raises(ValueError, match=match):
        reg.fit(X_REG, Y_REG, **kwargs)
    assert pickle.dumps(reg) == before


def test_x_val_needs_early_stopping_and_a_stochastic_solver():
    with pytest.raises(ValueError, match="early_stopping=False"):
        BackpropRegressor(**SMALL).fit(X_REG, Y_REG, X_val=X_REG, y_val=Y_REG)
    with pytest.raises(ValueError, match="solver='lbfgs'"):
        BackpropRegressor(**dict(ES, solver="lbfgs")).fit(
            X_REG, Y_REG, X_val=X_REG, y_val=Y_REG
        )
    reg = BackpropRegressor(**dict(SMALL, max_iter=2))
    with pytest.raises(TypeError):
        reg.partial_fit(X_REG, Y_REG, X_val=X_REG, y_val=Y_REG)
    assert not hasattr(reg, "coefs_")


def test_unseen_label_in_y_val_is_refused():
    clf = BackpropClassifier(**ES)
    y_val = Y_CLF[150:].copy()
    y_val[0] = 7
    with pytest.raises(ValueError, match=r"label\(s\) \[7\] that are not in y"):
        clf.fit(X_CLF[:150], Y_CLF[:150], X_val=X_CLF[150:], y_val=y_val)
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "classes_")


def test_multilabel_y_val_must_match_y():
    Y = np.stack([Y_CLF == 0, Y_CLF == 1], axis=1).astype(int)
    clf = BackpropClassifier(**ES)
    with pytest.raises(ValueError, match="y_val does not match y"):
        clf.fit(X_CLF[:150], Y[:150], X_val=X_CLF[150:], y_val=Y_CLF[150:])
    clf.fit(X_CLF[:150], Y[:150], X_val=X_CLF[150:], y_val=Y[150:])
    assert clf.validation_scores_


# ---------------------------------------------------------------- scoring
def test_scoring_r2_equals_the_default_score():
    a = BackpropRegressor(**ES).fit(X_REG, Y_REG)
    b = BackpropRegressor(**ES, scoring="r2").fit(X_REG, Y_REG)
    _same_weights(a, b)
    np.testing.assert_allclose(b.validation_scores_, a.validation_scores_, 1e-12)


@pytest.mark.parametrize("cls", [BackpropRegressor, BackpropClassifier])
def test_scoring_loss_is_validation_metric_loss(cls):
    X, y = (X_REG, Y_REG) if cls is BackpropRegressor else (X_CLF, Y_CLF)
    a = cls(**ES, validation_metric="loss").fit(X, y)
    b = cls(**ES, scoring="loss").fit(X, y)
    c = cls(**ES, scoring="loss", validation_metric="loss").fit(X, y)
    _same_weights(a, b)
    _same_weights(a, c)
    assert a.best_validation_score_ == b.best_validation_score_


def test_scoring_by_name_holds_the_scorers_values():
    X_val, y_val = X_CLF[150:], Y_CLF[150:]
    clf = BackpropClassifier(**ES, scoring="neg_log_loss").fit(
        X_CLF[:150], Y_CLF[:150], X_val=X_val, y_val=y_val
    )
    scorer = get_scorer("neg_log_loss")
    assert all(s <= 0 for s in clf.validation_scores_)  # greater is better
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_validation_score_ == pytest.approx(scorer(clf, X_val, y_val))
    # The validation loss is still recorded: the log loss, the scorer's negative.
    best = int(np.argmax(clf.validation_scores_))
    assert clf.validation_loss_curve_[best] == pytest.approx(
        -clf.validation_scores_[best], rel=1e-6
    )


def test_scoring_roc_auc_on_binary_targets():
    y = (Y_CLF > 0).astype(int)
    clf = BackpropClassifier(**ES, scoring="roc_auc").fit(X_CLF, y)
    assert 0.5 < clf.best_validation_score_ <= 1.0


def test_callable_scoring_and_weights():
    def neg_mae(est, X, y, sample_weight=None):
        return -mean_absolute_error(y, est.predict(X), sample_weight=sample_weight)

    X_val, y_val = X_REG[150:], Y_REG[150:]
    w = np.linspace(1, 2, len(y_val))
    reg = BackpropRegressor(**ES, scoring=neg_mae).fit(
        X_REG[:150], Y_REG[:150], X_val=X_val, y_val=y_val, sample_weight_val=w
    )
    assert reg.best_validation_score_ == pytest.approx(
        neg_mae(reg, X_val, y_val, sample_weight=w)
    )
    made = make_scorer(mean_absolute_error, greater_is_better=False)
    other = BackpropRegressor(**ES, scoring=made).fit(
        X_REG[:150], Y_REG[:150], X_val=X_val, y_val=y_val, sample_weight_val=w
    )
    np.testing.assert_allclose(other.validation_scores_, reg.validation_scores_)
    # Nothing of the scorer stays on the fitted model.
    assert "_validation_scorer" not in vars(reg)
    assert "_fit_validation_X" not in vars(reg)


def test_a_failing_scorer_says_why_and_leaves_the_model():
    keep = Y_CLF[150:] != 2
    clf = BackpropClassifier(**ES, scoring="neg_log_loss")
    with pytest.raises(ValueError, match="scoring='loss'"):
        clf.fit(
            X_CLF[:150], Y_CLF[:150], X_val=X_CLF[150:][keep], y_val=Y_CLF[150:][keep]
        )
    assert not hasattr(clf, "coefs_")
    clf.set_params(scoring="loss").fit(
        X_CLF[:150], Y_CLF[:150], X_val=X_CLF[150:][keep], y_val=Y_CLF[150:][keep]
    )


def test_contradicting_or_unknown_scoring_is_refused():
    reg = BackpropRegressor(**ES, scoring="r2", validation_metric="loss")
    with pytest.raises(ValueError, match="contradict"):
        reg.fit(X_REG, Y_REG)
    assert not hasattr(reg, "coefs_")
    with pytest.raises(ValueError, match="is not a scorer"):
        BackpropRegressor(**ES, scoring="no_such_scorer").fit(X_REG, Y_REG)
    with pytest.raises(ValueError, match="scoring"):
        BackpropRegressor(**ES, scoring=3).fit(X_REG, Y_REG)


# ---------------------------------------------------------------- tol_mode
def test_relative_tol_is_scale_free():
    """The same relative improvements judge the same, at any scale."""
    losses = [1.0, 0.9, 0.8995, 0.85, 0.8496, 0.8495]
    counts = {}
    for scale in (1.0, 1e6):
        state = EarlyStoppingState(tol=1e-3, relative=True)
        state.start()
        seen = []
        for loss in losses:
            state.record_loss(loss * scale)
            seen.append(state.no_improvement_count)
        counts[scale] = seen
    assert counts[1.0] == counts[1e6] == [0, 0, 1, 0, 1, 2]
    absolute = EarlyStoppingState(tol=1e-3)
    absolute.start()
    for loss in losses:
        absolute.record_loss(loss * 1e6)
    assert absolute.no_improvement_count == 0  # every step beats 1e-3 dollars²


def test_relative_tol_on_validation_losses():
    state = EarlyStoppingState(tol=0.01, validation=True, metric="loss", relative=True)
    state.start()
    params = np.zeros(3)
    for loss in (1000.0, 995.0, 980.0):
        state.record_validation(0.0, loss, params)
    # 995 is 0.5 % better (no improvement), 980 is 2 % better than 1000.
    assert state.validation_losses == [1000.0, 995.0, 980.0]
    assert state.no_improvement_count == 0
    assert state.best_validation_loss == 980.0


def test_relative_tol_stops_an_unscaled_regressor():
    y = Y_REG * 1e4 + 5e4  # prices in dollars
    params = dict(SMALL, max_iter=60, learning_rate_init=0.05, n_iter_no_change=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the target-scale hint
        absolute = BackpropRegressor(**params).fit(X_REG, y)
        relative = BackpropRegressor(**params, tol_mode="relative", tol=0.05).fit(
            X_REG, y
        )
    assert absolute.n_iter_ == 60
    assert relative.n_iter_ < 60


def test_tol_mode_is_validated():
    with pytest.raises(ValueError, match="tol_mode"):
        BackpropRegressor(tol_mode="percent").fit(X_REG, Y_REG)


# ------------------------------------------------ a few rows dominating the loss
def test_warns_when_one_row_dominates_the_validation_loss():
    X_val, y_val = X_REG[100:], Y_REG[100:].copy()
    y_val[7] = 300.0  # a corrupt target
    with pytest.warns(
        UserWarning, match=r"1 of the 100 validation rows carries"
    ) as rec:
        BackpropRegressor(**ES, scoring="loss").fit(
            X_REG[:100], Y_REG[:100], X_val=X_val, y_val=y_val
        )
    message = str([w for w in rec if "validation rows" in str(w.message)][0].message)
    assert "row 7 of X_val" in message and "huber" in message


def test_warning_names_the_row_of_x_in_the_split(monkeypatch):
    parts = []
    split = _loop._train_validation_split

    def recording(*args, **kwargs):
        parts.append(split(*args, **kwargs))
        return parts[-1]

    monkeypatch.setattr(_loop, "_train_validation_split", recording)
    params = dict(ES, validation_fraction=0.5, validation_metric="loss")
    BackpropRegressor(**params).fit(X_REG, Y_REG)
    row = int(parts[0][1][0][3])  # a row of X the split puts in validation
    y = Y_REG.copy()
    y[row] = 500.0
    with pytest.warns(UserWarning, match=rf"row {row} of X, in the split-off"):
        BackpropRegressor(**params).fit(X_REG, y)


@pytest.mark.parametrize("cls", [BackpropRegressor, BackpropClassifier])
def test_no_warning_on_clean_data_or_without_the_loss(cls):
    X, y = (X_REG, Y_REG) if cls is BackpropRegressor else (X_CLF, Y_CLF)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*validation rows")
        cls(**ES, validation_metric="loss").fit(X, y)
    y_bad = Y_REG.copy()
    y_bad[150] = 300.0
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*validation rows")
        # Stopping on R², not on the loss: no warning.
        BackpropRegressor(**ES).fit(
            X_REG[:100], Y_REG[:100], X_val=X_REG[100:], y_val=y_bad[100:]
        )


def test_dominant_rows_large_sets_use_the_deltas():
    from skbackprop._training.validation_set import dominant_rows

    rng = np.random.RandomState(0)
    Y = rng.randn(5000, 1)
    out = Y + 0.1 * rng.randn(5000, 1)
    out[[3, 4000]] += 50.0
    rows, shares = dominant_rows(SquaredError(), Y, out)
    assert len(rows) == 50
    assert set(rows[:2]) == {3, 4000}
    assert shares[:2].sum() > 0.9


# ------------------------------------------------- routing, cross-validation
def test_metadata_routing_in_cross_validate():
    w = np.random.RandomState(0).randint(1, 3, len(Y_REG)).astype(float)
    X_val, y_val = X_REG[:30] + 0.01, Y_REG[:30]
    with sklearn.config_context(enable_metadata_routing=True):
        est = (
            BackpropRegressor(**ES)
            .set_fit_request(sample_weight=True, X_val=True, y_val=True)
            .set_score_request(sample_weight=False)
        )
        result = cross_validate(
            est,
            X_REG,
            Y_REG,
            cv=3,
            params={"sample_weight": w, "X_val": X_val, "y_val": y_val},
            return_estimator=True,
        )
        for fitted in result["estimator"]:
            assert fitted.best_validation_score_ == pytest.approx(
                fitted.score(X_val, y_val), 1e-12
            )
        plain = BackpropRegressor(**ES).set_score_request(sample_weight=False)
        with pytest.raises(Exception, match="sample_weight"):
            cross_validate(plain, X_REG, Y_REG, cv=3, params={"sample_weight": w})
    assert BackpropClassifier().get_metadata_routing().fit.requests.keys() >= {
        "sample_weight",
        "X_val",
        "y_val",
        "sample_weight_val",
    }


def test_cross_validate_with_scoring_and_pickle():
    est = BackpropClassifier(**ES, scoring="neg_log_loss")
    result = cross_validate(est, X_CLF, Y_CLF, cv=3, return_estimator=True)
    for fitted in result["estimator"]:
        assert pickle.loads(pickle.dumps(fitted)).scoring == "neg_log_loss"
    assert est.get_params()["scoring"] == "neg_log_loss"
    assert not hasattr(est, "coefs_")


# scikit-learn's checks with a scorer and the relative tolerance (the other
# configurations are tests/estimator/test_common.py's).
_CHECKS = parametrize_with_checks(
    [
        BackpropClassifier(
            hidden_layer_sizes=(16,),
            max_iter=100,
            random_state=0,
            learning_rate_init=0.01,
            early_stopping=True,
            validation_fraction=0.3,
            scoring="accuracy",
            tol_mode="relative",
        ),
        BackpropRegressor(
            hidden_layer_sizes=(16,),
            max_iter=100,
            random_state=0,
            learning_rate_init=0.01,
            early_stopping=True,
            scoring="neg_mean_absolute_error",
            tol_mode="relative",
        ),
    ]
).mark


@pytest.mark.slow
@pytest.mark.parametrize(
    "estimator, check",
    [(e, c) for e, c in _CHECKS.args[1] if _runnable_here(c)],
    **_CHECKS.kwargs,
)
def test_sklearn_checks_with_scoring_and_relative_tol(estimator, check):
    check(estimator)


def test_hidden_features_forwards_the_validation_set():
    features = HiddenFeatures(BackpropRegressor(**ES)).fit(
        X_REG[:150], Y_REG[:150], X_val=X_REG[150:], y_val=Y_REG[150:]
    )
    reg = features.estimator_
    assert reg.score(X_REG[150:], Y_REG[150:]) == pytest.approx(
        reg.best_validation_score_, 1e-12
    )


def test_warm_start_with_x_val_continues():
    reg = BackpropRegressor(**ES, warm_start=True)
    reg.fit(X_REG[:150], Y_REG[:150], X_val=X_REG[150:], y_val=Y_REG[150:])
    first = reg.best_validation_score_
    reg.fit(X_REG[:150], Y_REG[:150], X_val=X_REG[150:], y_val=Y_REG[150:])
    assert reg.best_validation_score_ >= first


# ------------------------------------------------------------- array API
# torch is optional and slow to import: its case is marked slow, as in
# tests/array_api; array-api-strict always runs.
NAMESPACES = ["array_api_strict"] + (
    [pytest.param("torch", marks=pytest.mark.slow)]
    if importlib.util.find_spec("torch") is not None
    else []
)


def _module(name):
    return xps if name == "array_api_strict" else importlib.import_module("torch")


@needs_dispatch
@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("scoring", [None, "loss", "r2"])
def test_array_api_x_val_equals_numpys(scoring, namespace):
    xp = _module(namespace)
    params = dict(ES, scoring=scoring)
    args = (X_REG[:150], Y_REG[:150])
    val = dict(X_val=X_REG[150:], y_val=Y_REG[150:], sample_weight_val=np.ones(50))
    ref = BackpropRegressor(**params).fit(*args, **val)
    with sklearn.config_context(array_api_dispatch=True):
        xp_val = {k: xp.asarray(v) for k, v in val.items()}
        est = BackpropRegressor(**params).fit(*(xp.asarray(a) for a in args), **xp_val)
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(est.validation_scores_, ref.validation_scores_, 1e-10)
    for a, b in zip(est.coefs_, ref.coefs_, strict=True):
        np.testing.assert_allclose(_xp.to_numpy(a), b, rtol=1e-10, atol=1e-13)


@needs_dispatch
def test_array_api_warning_and_classifier_scorer():
    y_val = Y_REG[100:].copy()
    y_val[7] = 300.0
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.warns(UserWarning, match="row 7 of X_val"):
            BackpropRegressor(**ES, scoring="loss").fit(
                xps.asarray(X_REG[:100]),
                xps.asarray(Y_REG[:100]),
                X_val=xps.asarray(X_REG[100:]),
                y_val=xps.asarray(y_val),
            )
        clf = BackpropClassifier(**ES, scoring="neg_log_loss").fit(
            xps.asarray(X_CLF[:150]),
            xps.asarray(Y_CLF[:150]),
            X_val=xps.asarray(X_CLF[150:]),
            y_val=xps.asarray(Y_CLF[150:]),
        )
    ref = BackpropClassifier(**ES, scoring="neg_log_loss").fit(
        X_CLF[:150], Y_CLF[:150], X_val=X_CLF[150:], y_val=Y_CLF[150:]
    )
    np.testing.assert_allclose(clf.validation_scores_, ref.validation_scores_, 1e-10)


@needs_dispatch
def test_array_api_strict_refuses_a_numpy_x_val():
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match="namespace"):
            BackpropRegressor(**ES).fit(
                xps.asarray(X_REG), xps.asarray(Y_REG), X_val=X_REG, y_val=Y_REG
            )
