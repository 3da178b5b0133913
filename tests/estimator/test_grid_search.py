"""Model selection with activation objects: GridSearchCV, nested params, CV scores."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import (
    ELU,
    BackpropClassifier,
    BackpropRegressor,
    LeakyReLU,
    PReLU,
    ReLU,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CV = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def _pipeline(**clf_params):
    params = {
        "hidden_layer_sizes": (16,),
        "max_iter": 50,
        "learning_rate_init": 0.01,
        "random_state": 0,
        **clf_params,
    }
    return Pipeline(
        [("scale", StandardScaler()), ("clf", BackpropClassifier(**params))]
    )


def _digits_subset():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def _assert_candidate_scores_reproduce(search, X, y):
    """Each candidate's fold scores equal a direct cross_val_score of its settings."""
    for i, params in enumerate(search.cv_results_["params"]):
        direct = cross_val_score(
            clone(search.estimator).set_params(**clone(params, safe=False)), X, y, cv=CV
        )
        folds = [search.cv_results_[f"split{k}_test_score"][i] for k in range(3)]
        np.testing.assert_allclose(folds, direct, rtol=0, atol=1e-12)


def test_grid_search_over_activation_objects():
    """GridSearchCV chooses among activation objects and refits with the chosen one."""
    X, y = load_iris(return_X_y=True)
    relu, leaky = ReLU(), LeakyReLU(alpha=0.1)
    grid = {"clf__activation": [relu, leaky], "clf__alpha": [1e-4, 1e-1]}
    search = GridSearchCV(_pipeline(), grid, cv=CV).fit(X, y)

    assert len(search.cv_results_["params"]) == 4
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ in search.cv_results_["params"]
    assert any(search.best_params_["clf__activation"] is a for a in (relu, leaky))
    assert search.best_params_["clf__alpha"] in (1e-4, 1e-1)
    assert search.best_score_ == np.max(search.cv_results_["mean_test_score"])

    chosen = search.best_params_["clf__activation"]
    fitted = search.best_estimator_[-1].activations_
    assert len(fitted) == 1
    assert type(fitted[0]) is type(chosen)
    assert fitted[0] is not chosen
    assert fitted[0].get_params() == chosen.get_params()
    assert search.best_estimator_[-1].alpha == search.best_params_["clf__alpha"]
    # The grid's objects are cloned for every fit, never changed.
    assert leaky.alpha == 0.1
    assert search.score(X, y) > 0.8
    _assert_candidate_scores_reproduce(search, X, y)


@pytest.mark.slow
@pytest.mark.parametrize(
    "activation, param, values",
    [
        (LeakyReLU(), "alpha", [0.01, 0.3]),
        (ELU(), "alpha", [0.5, 2.0]),
        (PReLU(), "init", [0.05, 0.5]),
    ],
    ids=["leaky_relu", "elu", "prelu"],
)
def test_grid_search_over_nested_activation_parameter(activation, param, values):
    """``clf__activation__<param>`` in a grid reaches the fitted activations_."""
    X, y = _digits_subset()
    grid = {"clf__activation": [activation], f"clf__activation__{param}": values}
    search = GridSearchCV(_pipeline(), grid, cv=CV).fit(X, y)

    assert len(search.cv_results_["params"]) == len(values)
    key = f"clf__activation__{param}"
    assert [p[key] for p in search.cv_results_["params"]] == values
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ in search.cv_results_["params"]
    best_value = search.best_params_[key]
    assert best_value in values

    fitted = search.best_estimator_[-1].activations_[0]
    assert type(fitted) is type(activation)
    assert getattr(fitted, param) == best_value
    assert search.best_estimator_[-1].activation is not activation
    # The object in the grid keeps its default: each candidate set a clone.
    assert getattr(activation, param) == type(activation)().get_params()[param]
    _assert_candidate_scores_reproduce(search, X, y)


def test_nested_parameter_values_give_different_models():
    """Two grid values of ``activation__alpha`` train two different networks."""
    X, y = _digits_subset()
    grid = {"clf__activation": [LeakyReLU()], "clf__activation__alpha": [0.01, 0.9]}
    search = GridSearchCV(_pipeline(), grid, cv=CV, refit=False).fit(X, y)
    low, high = (
        clone(search.estimator).set_params(**clone(p, safe=False)).fit(X, y)
        for p in search.cv_results_["params"]
    )
    assert low[-1].activations_[0].alpha == 0.01
    assert high[-1].activations_[0].alpha == 0.9
    assert not np.allclose(low.predict_proba(X), high.predict_proba(X))


def test_best_estimator_with_prelu_pickles():
    """A searched pipeline with learned PReLU slopes survives pickling unchanged."""
    X, y = load_iris(return_X_y=True)
    grid = {"clf__activation": [PReLU(), ["prelu"]], "clf__learning_rate_init": [0.01]}
    search = GridSearchCV(_pipeline(), grid, cv=CV).fit(X, y)
    best = search.best_estimator_
    slopes = best[-1].activation_params_[0]
    assert slopes.shape == (1, 16)
    assert not np.any(np.isclose(slopes, 0.25, rtol=0, atol=1e-4))
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored[-1].activation_params_[0], slopes)
    np.testing.assert_array_equal(restored.predict_proba(X), best.predict_proba(X))


@pytest.mark.parametrize(
    "activation", ["relu", LeakyReLU(alpha=0.1), "prelu", "gelu"], ids=repr
)
def test_cross_val_score_regressor_on_diabetes(activation):
    """A scaled BackpropRegressor pipeline scores finite R² above 0.2 on every fold."""
    X, y = load_diabetes(return_X_y=True)
    model = TransformedTargetRegressor(
        regressor=Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "reg",
                    BackpropRegressor(
                        hidden_layer_sizes=(16,),
                        activation=activation,
                        max_iter=50,
                        learning_rate_init=0.01,
                        random_state=0,
                    ),
                ),
            ]
        ),
        transformer=StandardScaler(),
    )
    scores = cross_val_score(model, X, y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,)
    assert np.isfinite(scores).all()
    assert np.all(scores > 0.2)
    mse = cross_val_score(
        model,
        X,
        y,
        cv=KFold(3, shuffle=True, random_state=0),
        scoring="neg_mean_squared_error",
    )
    assert np.isfinite(mse).all()
    # Predicting the mean has MSE = var(y) ≈ 5930; the network must beat it.
    assert np.all(-mse < np.var(y))
