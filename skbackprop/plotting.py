"""Displays of what training did: loss curves and per-layer gradient norms.

They follow scikit-learn's Display conventions: ``__init__`` takes the data,
``from_estimator`` reads it from a fitted estimator (or a
:class:`~sklearn.pipeline.Pipeline` ending in one, a
:class:`~sklearn.compose.TransformedTargetRegressor` around one, or a fitted
search such as :class:`~sklearn.model_selection.GridSearchCV`, whose
``best_estimator_`` is plotted) and plots it, and ``plot``
draws on a given or new matplotlib axes, stores ``figure_``, ``ax_`` and the line
artists, and returns the display.

matplotlib is an optional dependency: ``pip install matplotlib`` (the ``plot``
extra). It is imported only when something is drawn.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._core import xp as _xp

__all__ = ["GradientNormDisplay", "LossCurveDisplay"]


def _check_matplotlib(caller):
    """Import matplotlib, or raise an ImportError that says how to install it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, an optional dependency of skbackprop. "
            'Install it with: pip install matplotlib (the plot extra)'
        ) from exc


def _get_axes(ax, caller):
    """Return ``ax``, or the axes of a new figure when ``ax`` is None."""
    _check_matplotlib(caller)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _is_search(estimator):
    """Whether ``estimator`` is a hyperparameter search (GridSearchCV and kin).

    Duck-typed on the parameters every scikit-learn search has (``estimator``,
    ``cv``, ``refit`` and a ``param_grid`` or ``param_distributions``), so that
    the Halving searches and third-party subclasses of ``BaseSearchCV`` are
    recognised without private imports, and other meta-estimators with a ``cv``
    and a ``refit`` (``TunedThresholdClassifierCV``) are not.
    """
    grid = hasattr(estimator, "param_grid") or hasattr(estimator, "param_distributions")
    return grid and all(hasattr(estimator, a) for a in ("estimator", "cv", "refit"))


def _fitted_network(estimator, caller):
    """Return the fitted network inside ``estimator``.

    Unwraps, as often as they are nested: a fitted search (its
    ``best_estimator_``), a pipeline (its last step) and a
    ``TransformedTargetRegressor`` (its fitted ``regressor_``).
    """
    while True:
        if _is_search(estimator):
            check_is_fitted(estimator)
            best = getattr(estimator, "best_estimator_", None)
            if best is None:
                raise ValueError(
                    f"{caller} plots one fitted network, but this "
                    f"{type(estimator).__name__} was fitted with "
                    f"refit={estimator.refit!r}, so it kept no best_estimator_. "
                    "Fit the search with refit=True (refit='<metric name>' with "
                    "several metrics), or fit an estimator with the search's "
                    "best_params_ and pass that."
                )
            estimator = best
        elif isinstance(estimator, Pipeline):
            estimator = estimator[-1]
        elif isinstance(estimator, TransformedTargetRegressor):
            check_is_fitted(estimator)
            estimator = estimator.regressor_
        else:
            check_is_fitted(estimator)
            return estimator


def _name(estimator, name):
    return type(estimator).__name__ if name is None else name


class LossCurveDisplay:
    """Training loss per epoch, with the validation loss and score when available.

    Create it with :meth:`from_estimator`; use the constructor to plot curves
    you already have. The validation score goes on a secondary y-axis on the
    right, the losses on the left.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss per epoch (the estimator's ``loss_curve_``).
    validation_loss_curve : array-like of shape (n_epochs,), default=None
        Validation loss per epoch (``validation_loss_curve_``, early stopping).
    validation_scores : array-like of shape (n_epochs,), default=None
        Validation score per epoch (``validation_scores_``, early stopping).
    score_name : str, default=None
        Name of the validation score on its axis, e.g. "accuracy"; None shows
        "validation score".
    estimator_name : str, default=None
        Name shown in the title.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        The training loss.
    validation_loss_line_ : matplotlib.lines.Line2D or None
        The validation loss, None without one.
    validation_score_line_ : matplotlib.lines.Line2D or None
        The validation score, None without one.
    ax_ : matplotlib.axes.Axes
        Axes of the losses.
    score_ax_ : matplotlib.axes.Axes or None
        Secondary axes of the validation score, None without one.
    figure_ : matplotlib.figure.Figure
        Figure holding the axes.

    See Also
    --------
    GradientNormDisplay : Per-layer gradient norms per epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.plotting import LossCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = BackpropClassifier(early_stopping=True, max_iter=30, random_state=0)
    >>> clf = clf.fit(X / 16, y)
    >>> display = LossCurveDisplay.from_estimator(clf)
    >>> display.ax_.get_ylabel()
    'Loss'
    """

    def __init__(
        self,
        *,
        loss_curve,
        validation_loss_curve=None,
        validation_scores=None,
        score_name=None,
        estimator_name=None,
    ):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.score_name = score_name
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the loss curves of a fitted estimator.

        Parameters
        ----------
        estimator : estimator, Pipeline or search
            A fitted estimator with ``loss_curve_`` (a skbackprop or scikit-learn
            MLP trained with ``solver="adam"`` or ``"sgd"``), a pipeline ending
            in one, a ``TransformedTargetRegressor`` around one, or a fitted
            search (``GridSearchCV``, ``RandomizedSearchCV``, the Halving
            searches) whose ``best_estimator_`` is one of these.
        ax : matplotlib.axes.Axes, default=None
            Axes to plot on; None creates a new figure.
        name : str, default=None
            Name in the title; None uses the estimator's class name.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
            The display, with the curves drawn.

        Raises
        ------
        NotFittedError
            If the estimator (or search) is not fitted.
        ValueError
            If the estimator has no loss curve (``solver="lbfgs"``), or a search
            was fitted with ``refit=False`` (no ``best_estimator_``).
        """
        net = _fitted_network(estimator, "LossCurveDisplay")
        loss_curve = getattr(net, "loss_curve_", None)
        if loss_curve is None:
            solver = getattr(net, "solver", None)
            if solver is None:
                raise ValueError(
                    "LossCurveDisplay needs a training loss per epoch "
                    f"(loss_curve_), which {type(net).__name__} does not record: "
                    "pass a skbackprop or scikit-learn MLP fitted with "
                    "solver='adam' or 'sgd' (or a pipeline or search ending in "
                    "one)."
                )
            raise ValueError(
                f"LossCurveDisplay needs a training loss per epoch (loss_curve_), "
                f"which only the stochastic solvers 'adam' and 'sgd' record; this "
                f"{type(net).__name__} was fitted with solver={solver!r}. Refit "
                "with solver='adam' or 'sgd', or use GradientNormDisplay, which "
                "works with 'lbfgs' too."
            )
        display = cls(
            loss_curve=loss_curve,
            validation_loss_curve=getattr(net, "validation_loss_curve_", None),
            validation_scores=getattr(net, "validation_scores_", None),
            score_name="accuracy" if is_classifier(net) else "R²",
            estimator_name=_name(net, name),
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to plot on; None creates a new figure.
        name : str, default=None
            Name in the title; None uses ``estimator_name``.
        **kwargs : dict
            matplotlib line properties (e.g. ``linewidth``) for every line.

        Returns
        -------
        self : LossCurveDisplay
            The display, with ``figure_``, ``ax_`` and the line attributes set.
        """
        ax = _get_axes(ax, "LossCurveDisplay.plot")
        name = self.estimator_name if name is None else name
        loss = np.asarray(self.loss_curve, dtype=float)
        epochs = np.arange(1, loss.size + 1)
        lines = []
        (self.line_,) = ax.plot(
            epochs, loss, **{"color": "C0", "label": "training loss", **kwargs}
        )
        lines.append(self.line_)
        self.validation_loss_line_ = None
        if self.validation_loss_curve is not None:
            val_loss = np.asarray(self.validation_loss_curve, dtype=float)
            (self.validation_loss_line_,) = ax.plot(
                np.arange(1, val_loss.size + 1),
                val_loss,
                **{"color": "C1", "label": "validation loss", **kwargs},
            )
            lines.append(self.validation_loss_line_)
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Loss")
        self.score_ax_ = self.validation_score_line_ = None
        if self.validation_scores is not None:
            score = np.asarray(self.validation_scores, dtype=float)
            score_name = self.score_name or "validation score"
            label = "validation score"
            if self.score_name is not None:
                label += f" ({score_name})"
            self.score_ax_ = ax.twinx()
            (self.validation_score_line_,) = self.score_ax_.plot(
                np.arange(1, score.size + 1),
                score,
                **{"color": "C2", "linestyle": "--", "label": label, **kwargs},
            )
            self.score_ax_.set_ylabel(label[0].upper() + label[1:])
            lines.append(self.validation_score_line_)
        # "best" placement would ignore the score axis's line, which runs along
        # the top while the losses fall towards the bottom.
        loc = "best" if self.score_ax_ is None else "center right"
        ax.legend(lines, [line.get_label() for line in lines], loc=loc)
        title = "Loss per epoch"
        ax.set_title(title if not name else f"{name}: {title.lower()}")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class GradientNormDisplay:
    """Each layer's gradient norm per epoch, on a log scale.

    The lecture's aside on vanishing gradients made visible: backpropagation
    multiplies each layer's δ by ``θ'(s)``, so with saturating activations
    (logistic, tanh) in a deep network the norms of the first layers' gradients
    fall orders of magnitude below the last layers'. Each line is one weight
    matrix ``W^(l)``; its value per epoch is the mean over the epoch's batches of
    the L2 norm of the gradient of the training loss with respect to
    ``coefs_[l-1]`` (the estimator's ``gradient_norms_``).

    Parameters
    ----------
    gradient_norms : array-like of shape (n_epochs, n_layers)
        Gradient norm per epoch (row) and layer (column).
    x_label : str, default="Epoch"
        Label of the x-axis; "Iteration" for lbfgs.
    estimator_name : str, default=None
        Name shown in the title.

    Attributes
    ----------
    lines_ : list of matplotlib.lines.Line2D
        One line per layer, ``lines_[l-1]`` for ``W^(l)``.
    ax_ : matplotlib.axes.Axes
        Axes of the plot.
    figure_ : matplotlib.figure.Figure
        Figure holding the axes.

    See Also
    --------
    LossCurveDisplay : Training and validation loss per epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.plotting import GradientNormDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(32, 32), activation="logistic",
    ...                          max_iter=20, random_state=0).fit(X / 16, y)
    >>> display = GradientNormDisplay.from_estimator(clf)
    >>> [line.get_label() for line in display.lines_]
    ['layer 1 (W^(1))', 'layer 2 (W^(2))', 'layer 3 (W^(3))']
    """

    def __init__(self, *, gradient_norms, x_label="Epoch", estimator_name=None):
        self.gradient_norms = gradient_norms
        self.x_label = x_label
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the per-layer gradient norms of a fitted skbackprop estimator.

        Parameters
        ----------
        estimator : estimator, Pipeline or search
            A fitted :class:`~skbackprop.BackpropClassifier` or
            :class:`~skbackprop.BackpropRegressor` (any solver; per iteration
            for lbfgs), a pipeline ending in one, a
            ``TransformedTargetRegressor`` around one, or a fitted search
            (``GridSearchCV``, ``RandomizedSearchCV``, the Halving searches)
            whose ``best_estimator_`` is one of these.
        ax : matplotlib.axes.Axes, default=None
            Axes to plot on; None creates a new figure.
        name : str, default=None
            Name in the title; None uses the estimator's class name.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : GradientNormDisplay
            The display, with the lines drawn.

        Raises
        ------
        NotFittedError
            If the estimator (or search) is not fitted.
        ValueError
            If the estimator records no gradient norms, or a search was fitted
            with ``refit=False`` (no ``best_estimator_``).
        """
        net = _fitted_network(estimator, "GradientNormDisplay")
        norms = getattr(net, "gradient_norms_", None)
        if norms is not None:  # a model fitted on a GPU: plot from the host
            norms = _xp.to_numpy(norms)
        if norms is None:
            raise ValueError(
                f"GradientNormDisplay needs gradient_norms_, which "
                f"{type(net).__name__} does not record; fit a skbackprop "
                "BackpropClassifier or BackpropRegressor instead."
            )
        if len(norms) == 0:
            raise ValueError(
                "GradientNormDisplay: the estimator recorded no gradient norms "
                "(gradient_norms_ is empty): it trained for 0 epochs."
            )
        lbfgs = getattr(net, "solver", None) == "lbfgs"
        display = cls(
            gradient_norms=norms,
            x_label="Iteration (L-BFGS)" if lbfgs else "Epoch",
            estimator_name=_name(net, name),
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw one line per layer on a log y-scale.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to plot on; None creates a new figure.
        name : str, default=None
            Name in the title; None uses ``estimator_name``.
        **kwargs : dict
            matplotlib line properties (e.g. ``linewidth``) for every line.

        Returns
        -------
        self : GradientNormDisplay
            The display, with ``figure_``, ``ax_`` and ``lines_`` set.
        """
        ax = _get_axes(ax, "GradientNormDisplay.plot")
        name = self.estimator_name if name is None else name
        norms = np.asarray(self.gradient_norms, dtype=float)
        if norms.ndim != 2:
            raise ValueError(
                "gradient_norms must be 2-D, of shape (n_epochs, n_layers); got "
                f"shape {norms.shape}."
            )
        epochs = np.arange(1, norms.shape[0] + 1)
        self.lines_ = []
        for layer in range(1, norms.shape[1] + 1):
            (line,) = ax.plot(
                epochs,
                norms[:, layer - 1],
                **{"label": f"layer {layer} (W^({layer}))", **kwargs},
            )
            self.lines_.append(line)
        ax.set_yscale("log")
        ax.set_xlabel(self.x_label)
        ax.set_ylabel("Gradient norm ‖∂ℓ/∂W^(l)‖ (log scale)")
        title = "Gradient norm per layer"
        ax.set_title(title if not name else f"{name}: {title.lower()}")
        ax.legend(loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
