"""TabularMLPClassifier and TabularMLPRegressor: raw tables, the recipe, the checks."""

import inspect
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbackprop import (
    BackpropClassifier,
    BackpropRegressor,
    TabularMLPClassifier,
    TabularMLPRegressor,
)
from skbackprop._tabular import recipe
from skbackprop._tabular.preprocess import (
    MISSING_CATEGORY,
    RobustScaleSmoothClip,
    weighted_quantile,
)
from skbackprop.losses import PoissonLoss
from tests._marks import needs_dispatch

# Small networks and few epochs keep the tests fast ("Maximum iterations
# reached" is expected and filtered; no other warning is).
SMALL = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _table(n=120, seed=0):
    """A raw table: numbers in odd units with gaps, categories of four kinds."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        {
            "area": rng.lognormal(4, 0.5, size=n),  # m², skewed
            "rooms": rng.randint(1, 6, size=n),  # int64
            "city": pd.Categorical(rng.choice(["north", "south", "east"], size=n)),
            "kind": rng.choice(["flat", "house", None], size=n).astype(object),
            "label": pd.array(rng.choice(["a", "b"], size=n), dtype="string"),
        }
    )
    X.loc[::9, "area"] = np.nan
    y = (
        3000.0 * X["area"].fillna(60)
        + 20000.0 * (X["city"] == "south")
        + 5000.0 * rng.standard_normal(n)
        + 100_000.0
    ).to_numpy()
    return X, y


# ------------------------------------------------------------ sklearn's checks

# One configuration per code path scikit-learn's checks reach: each estimator at
# small sizes (the defaults' sizes pass too, in about 100 s, which is why they
# are not repeated here), without early stopping (the last epoch, the
# training-loss criterion), with an explicit categorical column on arrays (the
# categories-as-strings and one-hot steps on numbers), unclipped and without
# missing indicators, with another loss and with class weights.
# check_classifiers_train asks for 83 % accuracy: more epochs than SMALL's.
CHECK = dict(SMALL, hidden_layer_sizes=(32,), max_iter=100)
CHECKED = [
    TabularMLPClassifier(**CHECK),
    TabularMLPRegressor(**CHECK),
    TabularMLPClassifier(**CHECK, early_stopping=False, class_weight="balanced"),
    TabularMLPRegressor(
        **CHECK,
        loss="huber",
        categorical_features=[0],
        smooth_clip=None,
        missing_indicator=False,
        validation_metric="score",
    ),
]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(CHECKED)
def test_sklearn_compatible(estimator, check):
    """Every scikit-learn estimator check passes, none marked as expected to fail."""
    check(estimator)


# ------------------------------------------------------------------ raw tables


def test_raw_dataframe_fit_predict_and_what_it_reports():
    X, y = _table()
    reg = TabularMLPRegressor(**SMALL).fit(X, y)
    assert reg.n_features_in_ == 5
    assert_array_equal(reg.feature_names_in_, X.columns)
    assert_array_equal(reg.categorical_features_, [False, False, True, True, True])
    names = list(reg.preprocessor_.get_feature_names_out())
    assert names[:3] == ["num__area", "num__rooms", "num__missingindicator_area"]
    assert f"cat__kind_{MISSING_CATEGORY}" in names
    assert {"cat__city_east", "cat__label_a"} <= set(names)
    assert reg.model_.n_features_in_ == len(names)
    assert reg.n_iter_ == len(reg.loss_curve_) == len(reg.validation_loss_curve_)
    # The kept epoch is the one with the lowest validation loss.
    assert reg.best_epoch_ == 1 + int(np.nanargmin(reg.validation_loss_curve_))
    pred = reg.predict(X)
    assert pred.shape == (len(X),) and np.isfinite(pred).all()


def test_unseen_categories_and_missing_values_at_predict_are_ignored():
    X, y = _table()
    reg = TabularMLPRegressor(**SMALL).fit(X, y)
    clf = TabularMLPClassifier(**SMALL).fit(X, y > np.median(y))
    new = X.head(4).copy()
    new["city"] = pd.Categorical(["west", None, "north", "nowhere"])
    new["kind"] = ["castle", np.nan, None, "flat"]
    new["rooms"] = [np.nan, 2.0, 3.0, np.nan]  # no missing rooms in fit
    new.loc[2, "area"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(reg.predict(new)).all()
        proba = clf.predict_proba(new)
    assert_allclose(proba.sum(axis=1), 1.0)
    # An unseen category is encoded as all zeros: the row predicts as if the
    # column had none of the known categories, whatever the unseen name.
    other = new.copy()
    other["city"] = pd.Categorical(["elsewhere", None, "north", "atlantis"])
    assert_allclose(reg.predict(other), reg.predict(new))


def test_numeric_array_and_categorical_features_forms():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.standard_normal(80), rng.randint(0, 4, 80)])
    y = X[:, 0] + (X[:, 1] == 2)
    plain = TabularMLPRegressor(**SMALL).fit(X, y)
    assert not plain.categorical_features_.any()
    assert plain.model_.n_features_in_ == 2
    for given in ([1], [False, True], np.array([-1])):
        reg = TabularMLPRegressor(**SMALL, categorical_features=given).fit(X, y)
        assert_array_equal(reg.categorical_features_, [False, True])
        assert reg.model_.n_features_in_ == 1 + 4  # one-hot of 4 codes
    df = pd.DataFrame(X, columns=["x", "code"])
    reg = TabularMLPRegressor(**SMALL, categorical_features=["code"]).fit(df, y)
    assert_array_equal(reg.categorical_features_, [False, True])
    none = TabularMLPRegressor(**SMALL, categorical_features=None)
    df["code"] = df["code"].astype("category")
    assert not none.fit(df, y).categorical_features_.any()


@pytest.mark.parametrize(
    "given, match",
    [
        (["nope"], r"does not have: \['nope'\]"),
        ([5], "out of range"),
        ([True], "boolean mask of length 1"),
        ([1.5], "column indices"),
    ],
)
def test_bad_categorical_features_say_what_is_wrong(given, match):
    X, y = _table()
    with pytest.raises(ValueError, match=match):
        TabularMLPRegressor(**SMALL, categorical_features=given).fit(X, y)


def test_names_need_a_dataframe():
    X = np.zeros((10, 2))
    with pytest.raises(ValueError, match="X has no column names"):
        TabularMLPRegressor(**SMALL, categorical_features=["a"]).fit(X, np.ones(10))


def test_strings_in_a_numeric_array_column_point_to_categorical_features():
    X = np.array([["a", 1.0], ["b", 2.0]] * 10, dtype=object)
    with pytest.raises(ValueError, match="categorical_features"):
        TabularMLPClassifier(**SMALL).fit(X, [0, 1] * 10)
    clf = TabularMLPClassifier(**SMALL, categorical_features=[0]).fit(X, [0, 1] * 10)
    assert clf.score(X, [0, 1] * 10) == 1.0


def test_many_categories_share_one_column_beyond_max_categories():
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"id": rng.choice([f"c{i}" for i in range(50)], size=300)})
    y = rng.standard_normal(300)
    reg = TabularMLPRegressor(**SMALL, max_categories=5).fit(X, y)
    assert reg.model_.n_features_in_ == 5
    names = TabularMLPRegressor(**SMALL, max_categories=None).fit(X, y)
    assert names.model_.n_features_in_ == 50


def test_missing_indicator_can_be_left_out():
    X, y = _table()
    reg = TabularMLPRegressor(**SMALL, missing_indicator=False).fit(X, y)
    names = reg.preprocessor_.get_feature_names_out()
    assert not any("missingindicator" in name for name in names)


# --------------------------------------------------------------------- targets


def test_unscaled_target_is_standardized_and_predicted_in_its_units():
    X, y = _table(n=400)
    reg = TabularMLPRegressor(random_state=0, hidden_layer_sizes=(64, 64)).fit(X, y)
    assert_allclose(reg.target_mean_, [y.mean()])
    assert_allclose(reg.target_scale_, [y.std()])
    assert reg.score(X, y) > 0.8
    # The same target in other units (times 1e-3, shifted) trains the same
    # network on the same standardized target: the predictions are the same,
    # in the new units.
    other = TabularMLPRegressor(random_state=0, hidden_layer_sizes=(64, 64))
    other.fit(X, y * 1e-3 - 7.0)
    assert_allclose(other.predict(X), reg.predict(X) * 1e-3 - 7.0, rtol=1e-6)


def test_multi_output_targets_are_standardized_per_output():
    X, y = _table()
    Y = np.column_stack([y, y * 1e-5])
    reg = TabularMLPRegressor(**SMALL).fit(X, Y)
    assert_allclose(reg.target_mean_, Y.mean(axis=0))
    assert reg.predict(X).shape == Y.shape


def test_the_poisson_loss_is_refused_with_a_way_out():
    X, y = _table()
    with pytest.raises(ValueError, match="BackpropRegressor\\(loss='poisson'\\)"):
        TabularMLPRegressor(**SMALL, loss=PoissonLoss()).fit(X, y)
    with pytest.raises(InvalidParameterError):
        TabularMLPRegressor(**SMALL, loss="poisson").fit(X, y)


def test_classifier_labels_and_probabilities():
    X, y = _table()
    labels = np.where(y > np.median(y), "high", "low")
    clf = TabularMLPClassifier(**SMALL).fit(X, labels)
    assert_array_equal(clf.classes_, ["high", "low"])
    assert set(clf.predict(X)) <= {"high", "low"}
    assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))


# ----------------------------------------------------------------- the recipe


def test_best_epoch_without_early_stopping_is_the_last():
    X, y = _table()
    reg = TabularMLPRegressor(**SMALL, early_stopping=False).fit(X, y)
    assert reg.best_epoch_ == reg.n_iter_
    assert reg.validation_scores_ is None


def test_the_inner_model_gets_the_recipe_and_the_users_knobs():
    X, y = _table()
    reg = TabularMLPRegressor(
        **SMALL, alpha=0.01, learning_rate_init=0.003, validation_fraction=0.25
    ).fit(X, y)
    inner = reg.model_.get_params()
    assert inner["alpha"] == 0.01 and inner["learning_rate_init"] == 0.003
    assert inner["validation_fraction"] == 0.25
    assert inner["early_stopping"] and inner["validation_metric"] == "loss"
    assert inner["solver"] == "adam"
    # 120 rows, 30 held out: "auto" batches of 32 (at least 16 steps would need
    # fewer; 32 is the floor).
    assert inner["batch_size"] == 32


def test_auto_batch_size():
    assert recipe.auto_batch_size(10) == 10
    assert recipe.auto_batch_size(300) == 32
    assert recipe.auto_batch_size(1600) == 100
    assert recipe.auto_batch_size(100_000) == 256


def test_the_recipe_reaches_the_inner_network():
    from skbackprop.schedules import Cosine

    tab = TabularMLPRegressor(alpha=0.5, dropout=0.1)
    params = recipe.inner_params(tab, BackpropRegressor, "regressor", 1000)
    assert params["alpha"] == 0.5 and params["batch_size"] == 62
    assert params["weight_decay"] == recipe.DEFAULTS["weight_decay"]
    assert params["dropout"] == 0.1
    assert isinstance(params["learning_rate"], Cosine)
    # A fresh schedule object per fit: fitted models share no parameter objects.
    again = recipe.inner_params(tab, BackpropRegressor, "regressor", 1000)
    assert again["learning_rate"] is not params["learning_rate"]
    X, y = _table()
    reg = TabularMLPRegressor(**SMALL).fit(X, y)
    assert reg.model_.weight_decay == recipe.DEFAULTS["weight_decay"]
    assert isinstance(reg.model_.learning_rate, Cosine)


def test_a_validation_set_of_ones_own():
    """X_val and y_val reach the inner estimator where its fit takes them."""
    X, y = _table()
    reg = TabularMLPRegressor(**SMALL)
    if "X_val" in inspect.signature(BackpropRegressor.fit).parameters:
        reg.fit(X[:90], y[:90], X_val=X[90:], y_val=y[90:])
        assert reg.best_epoch_ >= 1
    else:  # until the Backprop estimators take a validation set (issue 20)
        with pytest.raises(ValueError, match="takes no X_val"):
            reg.fit(X, y, X_val=X, y_val=y)
        assert not hasattr(reg, "model_")


def test_validation_set_arguments_go_together():
    X, y = _table()
    for kwargs in (dict(X_val=X), dict(y_val=y), dict(sample_weight_val=y)):
        with pytest.raises(ValueError, match="X_val|validation set"):
            TabularMLPRegressor(**SMALL).fit(X, y, **kwargs)


# ------------------------------------------------- weights, dtypes, state, API


def test_integer_weights_act_as_repeated_rows_in_the_preprocessing():
    X, y = _table()
    w = np.random.RandomState(1).randint(0, 4, size=len(X))
    weighted = TabularMLPRegressor(**SMALL).fit(X, y, sample_weight=w)
    repeated = TabularMLPRegressor(**SMALL).fit(X.loc[X.index.repeat(w)], y.repeat(w))
    for a, b in [(weighted, repeated)]:
        sa = a.preprocessor_.named_transformers_["num"].named_steps["scale"]
        sb = b.preprocessor_.named_transformers_["num"].named_steps["scale"]
        assert_allclose(sa.center_, sb.center_)
        assert_allclose(sa.scale_, sb.scale_)
        assert_allclose(a.target_mean_, b.target_mean_)
        assert_allclose(a.target_scale_, b.target_scale_)


def test_weighted_quantile_matches_repetition():
    rng = np.random.RandomState(0)
    x = rng.standard_normal(30)
    x[3] = np.nan
    w = rng.randint(0, 5, size=30)
    q = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0]
    keep = ~np.isnan(x)
    expected = np.quantile(x[keep].repeat(w[keep]), q)
    assert_allclose(weighted_quantile(x, q, w), expected)
    assert_allclose(weighted_quantile(x, q), np.quantile(x[keep], q))
    assert np.isnan(weighted_quantile(np.full(3, np.nan), [0.5])).all()


def test_robust_scale_smooth_clip():
    X = np.column_stack(
        [
            np.r_[np.arange(20.0), 1e6],  # an outlier
            np.r_[np.zeros(19), 1.0, 2.0],  # IQR 0: half the range
            np.full(21, 7.0),  # constant
            np.r_[np.full(20, np.nan), 1.0],  # one observed value
        ]
    )
    X[5, 0] = np.nan
    scaler = RobustScaleSmoothClip().fit(X)
    Z = scaler.transform(X)
    assert np.isnan(Z[5, 0]) and np.isnan(Z[0, 3])
    assert np.nanmax(np.abs(Z)) < 3.0
    assert Z[-1, 0] == pytest.approx(3.0)  # the outlier lands at the bound
    assert_allclose(scaler.scale_[1:], [1.0, 1.0, 1.0])  # (2 - 0) / 2; 1; 1
    assert_allclose(Z[:, 2], 0.0)
    # Near the median the clipping is close to the identity.
    unclipped = RobustScaleSmoothClip(clip=None).fit(X).transform(X)
    assert_allclose(Z[10, 0], unclipped[10, 0], rtol=1e-2)
    assert RobustScaleSmoothClip().fit_transform(X.astype(np.float32)).dtype == (
        np.float32
    )


def test_float32_stays_float32():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 3)).astype(np.float32)
    y = X[:, 0] * 100
    reg = TabularMLPRegressor(**SMALL).fit(X, y)
    assert reg.model_.coefs_[0].dtype == np.float32
    assert reg.predict(X).dtype == np.float32
    df = pd.DataFrame(X, columns=list("abc")).assign(c=["u", "v"] * 30)
    clf = TabularMLPClassifier(**SMALL).fit(df, y > 0)
    assert clf.model_.coefs_[0].dtype == np.float32
    mixed = df.assign(b=df["b"].astype(np.float64))
    assert TabularMLPClassifier(**SMALL).fit(mixed, y > 0).model_.coefs_[0].dtype == (
        np.float64
    )


def test_a_failed_fit_leaves_the_estimator_as_it_was():
    X, y = _table()
    reg = TabularMLPRegressor(**SMALL).fit(X, y)
    pred = reg.predict(X)
    reg.set_params(categorical_features=["missing"])
    before = dict(vars(reg))
    with pytest.raises(ValueError):
        reg.fit(X.iloc[:, :2], y)
    assert vars(reg).keys() == before.keys()
    assert all(vars(reg)[k] is before[k] for k in before)
    assert_allclose(reg.predict(X), pred)
    fresh = TabularMLPRegressor(**SMALL)
    with pytest.raises(ValueError):
        fresh.fit(X, y, sample_weight=-np.ones(len(y)))
    assert not hasattr(fresh, "n_features_in_")


def test_invalid_parameters_are_refused():
    X, y = _table()
    for params in (dict(max_categories=1), dict(smooth_clip=0), dict(alpha=-1)):
        with pytest.raises(InvalidParameterError):
            TabularMLPRegressor(**params).fit(X, y)


def test_pipeline_search_and_cross_validation_on_a_dataframe():
    X, y = _table()
    labels = y > np.median(y)
    scores = cross_val_score(TabularMLPClassifier(**SMALL), X, labels, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()
    search = GridSearchCV(
        TabularMLPRegressor(**SMALL), {"smooth_clip": [None, 3.0]}, cv=2
    ).fit(X, y)
    assert search.best_params_["smooth_clip"] in (None, 3.0)
    pipe = make_pipeline(TabularMLPRegressor(**SMALL)).fit(X, y)
    assert pipe.predict(X).shape == (len(X),)


def test_pickle_round_trip():
    X, y = _table()
    reg = TabularMLPRegressor(**SMALL).fit(X, y)
    again = pickle.loads(pickle.dumps(reg))
    assert_array_equal(again.predict(X), reg.predict(X))
    assert_array_equal(clone(reg).get_params()["hidden_layer_sizes"], (16,))


def test_defaults_are_the_recipes():
    for cls in (TabularMLPClassifier, TabularMLPRegressor):
        params = cls().get_params()
        for key, value in recipe.DEFAULTS.items():
            assert params[key] == value


def test_the_network_exports_to_onnx_behind_the_preprocessing():
    import onnxruntime as ort

    import skbackprop.onnx as skonnx

    X, y = _table()
    reg = TabularMLPRegressor(**SMALL).fit(X, y)
    Xt = reg.preprocessor_.transform(X)
    onx = skonnx.to_onnx(reg.model_, dtype=np.float64)
    sess = ort.InferenceSession(onx.SerializeToString())
    (out,) = sess.run(None, {"X": Xt})
    pred = out.ravel() * reg.target_scale_[0] + reg.target_mean_[0]
    assert_allclose(pred, reg.predict(X), rtol=1e-8)
    clf = TabularMLPClassifier(**SMALL).fit(X, y > np.median(y))
    assert isinstance(clf.model_, BackpropClassifier)
    # The estimator as a whole: a clear error saying what to export instead.
    with pytest.raises(NotImplementedError, match=r"target_scale_"):
        skonnx.to_onnx(reg)
    with pytest.raises(NotImplementedError, match=r"to_onnx\(est.model_\)"):
        skonnx.to_onnx(clf, X)


def test_a_category_only_in_rows_of_weight_zero_is_none():
    X = pd.DataFrame({"c": ["a", "b", "z"] * 10})
    y = np.arange(30.0)
    w = np.where(X["c"] == "z", 0, 1)
    reg = TabularMLPRegressor(**SMALL).fit(X, y, sample_weight=w)
    assert list(reg.preprocessor_.get_feature_names_out()) == ["cat__c_a", "cat__c_b"]


def test_a_container_in_a_categorical_cell_is_refused():
    X = pd.DataFrame({"c": ["a", ["b"], "a", "b"] * 5})
    with pytest.raises(TypeError, match="column 0 holds a list in row 1"):
        TabularMLPClassifier(**SMALL).fit(X, [0, 1] * 10)


def test_docstring_examples_run():
    import doctest

    import skbackprop.tabular as tabular

    failed, attempted = doctest.testmod(tabular)
    assert failed == 0 and attempted >= 8


@needs_dispatch
def test_array_api_dispatch_takes_host_tables_and_refuses_other_arrays():
    """The preprocessing is numpy/pandas: other namespaces get a clear error."""
    import array_api_strict as xps
    import sklearn

    X, y = _table()
    with sklearn.config_context(array_api_dispatch=True):
        reg = TabularMLPRegressor(**SMALL).fit(X, y)
        assert isinstance(reg.predict(X), np.ndarray)
        with pytest.raises(TypeError, match="numpy array or a DataFrame"):
            TabularMLPRegressor(**SMALL).fit(xps.asarray(np.ones((10, 2))), y[:10])
