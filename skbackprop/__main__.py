"""Demo: skbackprop beside scikit-learn's MLP on a small built-in data set.

Run ``python -m skbackprop`` (digits, classification) or
``python -m skbackprop --dataset diabetes`` (regression). Both estimators get the
same preprocessing, architecture, solver settings and seed; the demo prints the
test score, the fit time and the number of epochs of each.
"""

import argparse
import sys
import time
import warnings

from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor

HIDDEN_LAYER_SIZES = (64,)
MAX_ITER = 200


def parse_args(argv=None):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    args : argparse.Namespace
        With attributes ``dataset`` and ``seed``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m skbackprop",
        description=(
            "Fit skbackprop's estimator and scikit-learn's MLP side by side on a "
            "small built-in data set and print test score and fit time."
        ),
    )
    parser.add_argument(
        "--dataset",
        choices=["digits", "diabetes"],
        default="digits",
        help=(
            "digits: classification, BackpropClassifier vs MLPClassifier "
            "(accuracy); diabetes: regression, BackpropRegressor vs "
            "MLPRegressor (R²). Default: digits."
        ),
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="Seed for the train/test split and the weight initialisation "
        "(default: 0).",
    )
    return parser.parse_args(argv)


def fit_and_score(estimator, X_train, y_train, X_test, y_test):
    """Fit an estimator, time the fit and score it on the test set.

    Parameters
    ----------
    estimator : estimator
        An unfitted scikit-learn estimator or pipeline.
    X_train, y_train : array-like
        Training data.
    X_test, y_test : array-like
        Test data.

    Returns
    -------
    score : float
        ``estimator.score(X_test, y_test)``: accuracy for a classifier, R² for a
        regressor.
    seconds : float
        Wall-clock time of ``fit``.
    converged : bool
        False if the fit warned that it stopped at ``max_iter`` before converging.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    converged = True
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            converged = False
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return estimator.score(X_test, y_test), seconds, converged


def _network(estimator):
    """Return the network at the end of a pipeline or target transformer."""
    if isinstance(estimator, TransformedTargetRegressor):
        estimator = estimator.regressor_
    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    return estimator


def _make_classifiers(seed):
    params = dict(
        hidden_layer_sizes=HIDDEN_LAYER_SIZES, max_iter=MAX_ITER, random_state=seed
    )
    return {
        "skbackprop.BackpropClassifier": BackpropClassifier(**params),
        "sklearn MLPClassifier": MLPClassifier(**params),
    }


def _make_regressors(seed):
    # Early stopping: 331 training samples overfit a 64-unit network quickly.
    params = dict(
        hidden_layer_sizes=HIDDEN_LAYER_SIZES,
        max_iter=MAX_ITER,
        early_stopping=True,
        random_state=seed,
    )
    return {
        "skbackprop.BackpropRegressor": BackpropRegressor(**params),
        "sklearn MLPRegressor": MLPRegressor(**params),
    }


def run(dataset="digits", seed=0, file=None):
    """Run the comparison on one data set and print a small table.

    Parameters
    ----------
    dataset : {"digits", "diabetes"}, default="digits"
        ``"digits"`` compares the classifiers on ``load_digits`` (accuracy);
        ``"diabetes"`` compares the regressors on ``load_diabetes`` (R²), with
        ``X`` and ``y`` standardised.
    seed : int, default=0
        Seed of the train/test split and of both estimators.
    file : file-like, default=None
        Where to print; ``None`` means ``sys.stdout``.

    Returns
    -------
    results : dict
        Maps each estimator's label to ``(score, seconds, n_iter)``.
    """
    file = sys.stdout if file is None else file
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        estimators = _make_classifiers(seed)
        metric = "accuracy"
        summary = f"{X.shape[0]} samples, {X.shape[1]} features, 10 classes"
    elif dataset == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        estimators = _make_regressors(seed)
        metric = "R²"
        summary = f"{X.shape[0]} samples, {X.shape[1]} features, regression"
    else:
        raise ValueError(f"dataset must be 'digits' or 'diabetes', got {dataset!r}.")

    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    print(
        f"{dataset}: {summary}; train {len(y_train)}, test {len(y_test)}; "
        f"hidden_layer_sizes={HIDDEN_LAYER_SIZES}, max_iter={MAX_ITER}, "
        f"seed={seed}",
        file=file,
    )
    header = f"{'estimator':<32}{metric:>10}{'fit (s)':>10}{'epochs':>8}"
    print(header, file=file)
    print("-" * len(header), file=file)

    results = {}
    for label, net in estimators.items():
        model = Pipeline([("scale", StandardScaler()), ("net", net)])
        if dataset == "diabetes":
            # The target ranges over 25..346; scale it like X so the network's
            # output layer starts in the right range.
            model = TransformedTargetRegressor(
                regressor=model, transformer=StandardScaler()
            )
        score, seconds, converged = fit_and_score(
            model, X_train, y_train, X_test, y_test
        )
        n_iter = getattr(_network(model), "n_iter_", None)
        note = "" if converged else "  (stopped at max_iter)"
        print(
            f"{label:<32}{score:>10.4f}{seconds:>10.2f}{n_iter!s:>8}{note}",
            file=file,
        )
        results[label] = (score, seconds, n_iter)
    return results


def main(argv=None):
    """Entry point of ``python -m skbackprop``.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments without the program name.

    Returns
    -------
    status : int
        Exit status, 0 on success.
    """
    args = parse_args(argv)
    run(dataset=args.dataset, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
