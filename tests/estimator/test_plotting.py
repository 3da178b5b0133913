"""LossCurveDisplay and GradientNormDisplay."""

import sys
import warnings

import matplotlib
import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    RandomizedSearchCV,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.plotting import GradientNormDisplay, LossCurveDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SMALL = dict(hidden_layer_sizes=(8, 4), max_iter=15, random_state=0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    return make_classification(120, 5, n_informative=3, n_redundant=0, random_state=0)


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached
        return estimator.fit(X, y)


@pytest.fixture(scope="module")
def adam(data):
    return _fit(BackpropClassifier(**SMALL), *data)


@pytest.fixture(scope="module")
def early(data):
    return _fit(BackpropClassifier(early_stopping=True, **SMALL), *data)


@pytest.fixture(scope="module")
def lbfgs(data):
    return _fit(BackpropClassifier(solver="lbfgs", **SMALL), *data)


def test_loss_curve_without_validation(adam):
    display = LossCurveDisplay.from_estimator(adam)
    assert isinstance(display.figure_, matplotlib.figure.Figure)
    assert isinstance(display.ax_, matplotlib.axes.Axes)
    assert display.figure_ is display.ax_.figure
    np.testing.assert_allclose(display.line_.get_ydata(), adam.loss_curve_)
    np.testing.assert_array_equal(
        display.line_.get_xdata(), np.arange(1, adam.n_iter_ + 1)
    )
    assert display.ax_.get_xlabel() == "Epoch"
    assert display.ax_.get_ylabel() == "Loss"
    assert display.ax_.get_title() == "BackpropClassifier: loss per epoch"
    # Only the training loss: no validation lines, no secondary axis.
    assert display.validation_loss_line_ is None
    assert display.validation_score_line_ is None
    assert display.score_ax_ is None
    assert len(display.ax_.lines) == 1 and len(display.figure_.axes) == 1
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["training loss"]


def test_loss_curve_with_early_stopping(early):
    display = LossCurveDisplay.from_estimator(early, name="net")
    ax, score_ax = display.ax_, display.score_ax_
    np.testing.assert_allclose(
        display.validation_loss_line_.get_ydata(), early.validation_loss_curve_
    )
    np.testing.assert_allclose(
        display.validation_score_line_.get_ydata(), early.validation_scores_
    )
    # Losses on the left axis, the score on a secondary axis sharing x.
    assert list(ax.lines) == [display.line_, display.validation_loss_line_]
    assert list(score_ax.lines) == [display.validation_score_line_]
    assert score_ax in display.figure_.axes and len(display.figure_.axes) == 2
    assert score_ax.get_ylabel() == "Validation score (accuracy)"
    assert ax.get_title() == "net: loss per epoch"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "training loss",
        "validation loss",
        "validation score (accuracy)",
    ]


def test_loss_curve_regressor_in_a_pipeline_scores_r2():
    X, y = make_regression(100, 4, random_state=0)
    pipe = make_pipeline(
        StandardScaler(), BackpropRegressor(early_stopping=True, **SMALL)
    )
    display = LossCurveDisplay.from_estimator(_fit(pipe, X, y / y.std()))
    assert display.score_ax_.get_ylabel() == "Validation score (R²)"
    assert display.ax_.get_title() == "BackpropRegressor: loss per epoch"


def test_loss_curve_of_scikit_learn_mlp(data):
    mlp = _fit(MLPClassifier(early_stopping=True, **SMALL), *data)
    display = LossCurveDisplay.from_estimator(mlp)
    np.testing.assert_allclose(display.line_.get_ydata(), mlp.loss_curve_)
    # scikit-learn keeps no validation loss, only the score.
    assert display.validation_loss_line_ is None
    np.testing.assert_allclose(
        display.validation_score_line_.get_ydata(), mlp.validation_scores_
    )


def test_loss_curve_lbfgs_raises_a_clear_error(lbfgs):
    with pytest.raises(ValueError, match="solver='lbfgs'.*GradientNormDisplay"):
        LossCurveDisplay.from_estimator(lbfgs)


@pytest.mark.parametrize("Display", [LossCurveDisplay, GradientNormDisplay])
@pytest.mark.parametrize("wrap", [False, True])
def test_unfitted_estimator_raises_not_fitted(Display, wrap):
    est = BackpropClassifier()
    if wrap:
        est = make_pipeline(StandardScaler(), est)
    with pytest.raises(NotFittedError):
        Display.from_estimator(est)


def test_gradient_norms_one_line_per_layer_on_a_log_scale(adam):
    display = GradientNormDisplay.from_estimator(adam)
    assert isinstance(display.figure_, matplotlib.figure.Figure)
    assert display.ax_.get_yscale() == "log"
    assert len(display.lines_) == adam.n_layers_ - 1 == 3
    assert list(display.ax_.lines) == display.lines_
    assert [line.get_label() for line in display.lines_] == [
        "layer 1 (W^(1))",
        "layer 2 (W^(2))",
        "layer 3 (W^(3))",
    ]
    for layer, line in enumerate(display.lines_):
        np.testing.assert_allclose(line.get_ydata(), adam.gradient_norms_[:, layer])
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, adam.n_iter_ + 1))
    assert display.ax_.get_xlabel() == "Epoch"
    assert "Gradient norm" in display.ax_.get_ylabel()
    assert display.ax_.get_title() == "BackpropClassifier: gradient norm per layer"
    assert len(display.ax_.get_legend().get_texts()) == 3


def test_gradient_norms_of_lbfgs_per_iteration(lbfgs):
    display = GradientNormDisplay.from_estimator(lbfgs)
    assert display.ax_.get_xlabel() == "Iteration (L-BFGS)"
    assert len(display.lines_) == 3
    np.testing.assert_allclose(
        display.lines_[0].get_ydata(), lbfgs.gradient_norms_[:, 0]
    )
    assert len(display.lines_[0].get_xdata()) == lbfgs.n_iter_


def test_gradient_norms_of_scikit_learn_mlp_raise(data):
    mlp = _fit(MLPClassifier(**SMALL), *data)
    with pytest.raises(ValueError, match="does not record"):
        GradientNormDisplay.from_estimator(mlp)


def test_plot_on_given_axes_returns_self(adam, early):
    fig, (ax1, ax2) = plt.subplots(1, 2)
    loss = LossCurveDisplay(
        loss_curve=early.loss_curve_,
        validation_loss_curve=early.validation_loss_curve_,
        validation_scores=early.validation_scores_,
    )
    assert loss.plot(ax=ax1, linewidth=3) is loss
    assert loss.ax_ is ax1 and loss.figure_ is fig
    assert loss.line_.get_linewidth() == 3
    assert loss.score_ax_.get_ylabel() == "Validation score"
    assert ax1.get_title() == "Loss per epoch"
    grad = GradientNormDisplay(gradient_norms=adam.gradient_norms_)
    assert grad.plot(ax=ax2, name="mine") is grad
    assert grad.ax_ is ax2 and grad.figure_ is fig
    assert ax2.get_title() == "mine: gradient norm per layer"
    # from_estimator passes ax through too.
    fig2, ax3 = plt.subplots()
    display = GradientNormDisplay.from_estimator(adam, ax=ax3)
    assert display.ax_ is ax3 and display.figure_ is fig2


def test_gradient_norms_must_be_2d():
    with pytest.raises(ValueError, match="must be 2-D"):
        GradientNormDisplay(gradient_norms=np.ones(3)).plot()


@pytest.mark.parametrize("Display", [LossCurveDisplay, GradientNormDisplay])
def test_missing_matplotlib_says_what_to_install(adam, monkeypatch, Display):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib \(the plot extra"):
        Display.from_estimator(adam)
    # The displays can be built without matplotlib; only drawing needs it.
    display = GradientNormDisplay(gradient_norms=adam.gradient_norms_)
    with pytest.raises(ImportError, match="requires matplotlib"):
        display.plot()


# A fitted search plots its best_estimator_, unwrapping pipelines inside it.
SEARCHES = {
    "grid": lambda est, grid: GridSearchCV(est, grid, cv=2),
    "randomized": lambda est, grid: RandomizedSearchCV(
        est, grid, n_iter=2, cv=2, random_state=0
    ),
    "halving": lambda est, grid: HalvingGridSearchCV(
        est, grid, cv=2, min_resources=40, random_state=0
    ),
}


@pytest.mark.parametrize("kind", list(SEARCHES))
def test_displays_of_a_fitted_search_use_its_best_estimator(data, kind):
    pipe = make_pipeline(
        StandardScaler(), BackpropClassifier(early_stopping=True, **SMALL)
    )
    grid = {"backpropclassifier__activation": ["relu", "tanh"]}
    search = _fit(SEARCHES[kind](pipe, grid), *data)
    net = search.best_estimator_[-1]
    loss = LossCurveDisplay.from_estimator(search)
    np.testing.assert_allclose(loss.line_.get_ydata(), net.loss_curve_)
    np.testing.assert_allclose(
        loss.validation_score_line_.get_ydata(), net.validation_scores_
    )
    assert loss.ax_.get_title() == "BackpropClassifier: loss per epoch"
    norms = GradientNormDisplay.from_estimator(search)
    np.testing.assert_allclose(norms.lines_[0].get_ydata(), net.gradient_norms_[:, 0])


def test_displays_unwrap_a_target_transformer_in_a_search():
    X, y = make_regression(100, 4, random_state=0)
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), BackpropRegressor(**SMALL)),
        transformer=StandardScaler(),
    )
    search = _fit(
        GridSearchCV(model, {"regressor__backpropregressor__alpha": [1e-4]}, cv=2),
        X,
        y,
    )
    net = search.best_estimator_.regressor_[-1]
    display = LossCurveDisplay.from_estimator(search)
    np.testing.assert_allclose(display.line_.get_ydata(), net.loss_curve_)
    assert display.ax_.get_title() == "BackpropRegressor: loss per epoch"


@pytest.mark.parametrize("Display", [LossCurveDisplay, GradientNormDisplay])
def test_search_fitted_without_refit_raises_a_clear_error(data, Display):
    search = _fit(
        GridSearchCV(BackpropClassifier(**SMALL), {"alpha": [1e-4]}, cv=2, refit=False),
        *data,
    )
    with pytest.raises(
        ValueError,
        match=(
            rf"{Display.__name__} plots one fitted network, but this GridSearchCV "
            r"was fitted with refit=False, so it kept no best_estimator_\. Fit the "
            r"search with refit=True"
        ),
    ):
        Display.from_estimator(search)


@pytest.mark.parametrize("Display", [LossCurveDisplay, GradientNormDisplay])
def test_unfitted_search_raises_not_fitted(Display):
    search = GridSearchCV(BackpropClassifier(), {"alpha": [1e-4]})
    with pytest.raises(NotFittedError, match="GridSearchCV"):
        Display.from_estimator(search)


def test_loss_curve_of_an_estimator_without_one_names_it(data):
    dummy = DummyClassifier().fit(*data)
    with pytest.raises(ValueError, match="DummyClassifier does not record"):
        LossCurveDisplay.from_estimator(GridSearchCV(dummy, {}, cv=2).fit(*data))
