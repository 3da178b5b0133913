"""The classic demo: grid search over activations, skbackprop beside scikit-learn.

``python -m skbackprop --classic`` runs a
:class:`~sklearn.model_selection.GridSearchCV` over activations and layer sizes
of ``Pipeline(StandardScaler, BackpropClassifier)`` on ``load_digits`` (one
progress line per configuration, or a tqdm bar on a terminal), prints a table
of the results, scores the best model on a held-out test set, runs the same
grid (the activations it supports) with scikit-learn's ``MLPClassifier``,
compares both with a linear model on the same folds, and times the two
libraries in back-to-back pairs of fits, beside the machine's load and BLAS
threads. ``--dataset diabetes`` does the same for regression, ``--plot
FILE.png`` draws the best model's loss curves and gradient norms. Run ``python
-m skbackprop --classic --help`` for every option. Plain ``python -m
skbackprop`` runs the tour (:mod:`skbackprop._demo.tour`).
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
from threadpoolctl import threadpool_limits

from skbackprop import BackpropClassifier, BackpropRegressor, config_context
from skbackprop._demo.common import (
    Progress,
    SearchWithProgress,
    activation_name,
    baseline_lines,
    blas_pools,
    kernels_line,
    linear_baseline,
    machine_line,
    network,
    print_table,
    result_rows,
    speed_line,
    time_pairs,
)
from skbackprop.activations import LeakyReLU

# Settings shared by both libraries. Early stopping (10% of each training fold held
# out) ends most fits well before max_iter; learning_rate_init=0.003 converges in
# about 30-60 epochs on digits, without the accuracy cost of a larger step.
NET_PARAMS = dict(
    solver="adam",
    learning_rate_init=0.003,
    max_iter=150,
    early_stopping=True,
    n_iter_no_change=15,
)
QUICK_MAX_ITER = 30
CV = 3
# The speed comparison: back-to-back pairs of fits of a few epochs per shared
# configuration, timed apart from the searches.
TIMING_PAIRS = 5
TIMING_EPOCHS = 10


def _grids(quick):
    """Activations and layer sizes searched: ours, and scikit-learn's subset."""
    if quick:
        ours = ["relu", LeakyReLU(alpha=0.1)]
        sizes = [(32,)]
    else:
        ours = ["relu", "tanh", LeakyReLU(alpha=0.1), "gelu"]
        sizes = [(32,), (64,)]
    theirs = [a for a in ours if a in ("identity", "logistic", "tanh", "relu")]
    return (ours, sizes), (theirs, sizes)


def parse_args(argv=None):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    args : argparse.Namespace
        With attributes ``dataset``, ``plot``, ``n_jobs``, ``seed``, ``quick``
        and ``blas_threads``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m skbackprop --classic",
        description=(
            "Grid-search activations and hidden layer sizes of a "
            "Pipeline(StandardScaler, skbackprop network) with GridSearchCV "
            f"(cv={CV}) on a data set that ships with scikit-learn, print the "
            "results table and the test score of the best model, then run the "
            "same grid with scikit-learn's MLP (the activations it supports), "
            "score a linear model on the same folds, and time both libraries in "
            "back-to-back pairs of fits, beside the machine's load and BLAS "
            "threads. Both use solver='adam', "
            f"learning_rate_init={NET_PARAMS['learning_rate_init']}, "
            f"early_stopping=True, n_iter_no_change="
            f"{NET_PARAMS['n_iter_no_change']} and max_iter="
            f"{NET_PARAMS['max_iter']}."
        ),
        epilog=(
            "Benchmark: 'python -m skbackprop bench [ARGS]' runs "
            "benchmarks/bench_vs_sklearn.py of a source checkout with ARGS "
            "(see 'python -m skbackprop bench --help')."
        ),
    )
    parser.add_argument(
        "--dataset",
        choices=["digits", "diabetes"],
        default="digits",
        help=(
            "digits: 10-class classification (load_digits, 1797 images of 8x8 "
            "pixels), BackpropClassifier vs MLPClassifier, scored by accuracy; "
            "diabetes: regression (load_diabetes, 442 patients, target "
            "standardised too), BackpropRegressor vs MLPRegressor, scored by R². "
            "Default: digits."
        ),
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help=(
            "Also draw the best skbackprop model's LossCurveDisplay (training and "
            "validation loss, validation score) and GradientNormDisplay (each "
            "layer's gradient norm per epoch, log scale) side by side and save "
            "them to FILE.png. Needs matplotlib: pip install matplotlib (the plot "
            "extra)."
        ),
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help=(
            "Parallel jobs of GridSearchCV (one fit per job); -1 uses all cores. "
            "Default: 1, which also gives the steadiest fit times."
        ),
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        metavar="N",
        help=(
            "Threads of the BLAS (matrix products) for the whole demo, set with "
            "threadpoolctl; 0 leaves the BLAS's own setting. Default: 1: the "
            "demo's networks are too small to gain from more, and on a busy "
            "machine a BLAS with more threads than idle cores slows both "
            "libraries several-fold."
        ),
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help=(
            "Seed of the train/test split, the weight initialisation, the "
            "shuffling and the early-stopping split (default: 0)."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=(
            "A seconds-long smoke run: two activations (relu, LeakyReLU(0.1)), one "
            f"layer size (32,) and max_iter={QUICK_MAX_ITER}; the scores are not "
            "meaningful."
        ),
    )
    args = parser.parse_args(argv)
    if args.blas_threads < 0:
        parser.error(
            f"--blas-threads must be 0 (the BLAS's own setting) or a positive "
            f"number of threads, got {args.blas_threads}."
        )
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error(
                "--plot needs matplotlib: pip install matplotlib (the plot extra)."
            )
    return args


def _epochs(estimator, X, y):
    """Scorer that reports the number of epochs a fit trained (``n_iter_``)."""
    return network(estimator).n_iter_


def _search(net, activations, sizes, regression, n_jobs):
    """GridSearchCV over a pipeline ending in ``net``."""
    model = Pipeline([("scale", StandardScaler()), ("net", net)])
    prefix = "net__"
    if regression:
        # The target ranges over 25..346: scale it like X so the output layer
        # starts in the right range.
        model = TransformedTargetRegressor(
            regressor=model, transformer=StandardScaler()
        )
        prefix = "regressor__net__"
    return SearchWithProgress(
        model,
        {f"{prefix}activation": activations, f"{prefix}hidden_layer_sizes": sizes},
        cv=CV,
        scoring={"score": None, "epochs": _epochs},
        refit="score",
        n_jobs=n_jobs,
    )


def _load(dataset):
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        return X, y, "accuracy", f"{X.shape[0]} samples, {X.shape[1]} features, 10 "
    if dataset == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        return X, y, "R²", f"{X.shape[0]} samples, {X.shape[1]} features, "
    raise ValueError(f"dataset must be 'digits' or 'diabetes', got {dataset!r}.")


def run(
    dataset="digits",
    *,
    quick=False,
    n_jobs=None,
    seed=0,
    plot=None,
    file=None,
    blas_threads=1,
):
    """Run the searches, the baseline and the timing; print them; maybe plot.

    Parameters
    ----------
    dataset : {"digits", "diabetes"}, default="digits"
        Classification on ``load_digits`` (accuracy) or regression on
        ``load_diabetes`` (R², target standardised).
    quick : bool, default=False
        Search a smaller grid with fewer epochs.
    n_jobs : int, default=None
        Parallel jobs of the grid searches.
    seed : int, default=0
        Seed of the train/test split and of the estimators.
    plot : str, default=None
        Path of a PNG to draw the best skbackprop model's curves into.
    file : file-like, default=None
        Where to print; ``None`` means ``sys.stdout``.
    blas_threads : int, default=1
        Threads of the BLAS during the demo (threadpoolctl); 0 leaves them as
        they are.

    Returns
    -------
    results : dict
        ``"skbackprop"`` and ``"sklearn"`` map to dicts with ``rows`` (one dict
        per configuration, best first), ``best_params``, ``test_score`` and
        ``search`` (the fitted GridSearchCV); ``"baseline"`` is the linear
        model's ``name``, ``cv``, ``std`` and ``test`` scores; ``"timing"`` the
        paired timing (``ours_ms``, ``theirs_ms``, ``ratio``, ``low``, ``high``,
        ``pairs``) and ``"time_ratio"`` its ``ratio``, scikit-learn's time per
        epoch over ours (median over the pairs).
    """
    file = sys.stdout if file is None else file
    before = blas_pools()
    limited = None
    if blas_threads and any(n != blas_threads for _, _, n in before):
        limited = before
    limits = threadpool_limits(blas_threads, user_api="blas") if blas_threads else None
    try:
        # The demo sets BLAS's threads for both libraries alike (--blas-threads),
        # so skbackprop's own limit for small fits is off here.
        with config_context(blas_threads=None):
            results = _run(dataset, quick, n_jobs, seed, file, limited)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    if plot is not None:
        _plot(results["skbackprop"]["search"], dataset, plot)
        print(f"Wrote {plot}", file=file)
    return results


def _run(dataset, quick, n_jobs, seed, file, limited):
    """Do the work of :func:`run`, with the BLAS threads already set."""
    regression = dataset == "diabetes"
    X, y, metric, summary = _load(dataset)
    summary += "regression" if regression else "classes"
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    params = dict(NET_PARAMS, random_state=seed)
    if quick:
        params["max_iter"] = QUICK_MAX_ITER
    (ours, sizes), (theirs, sizes_theirs) = _grids(quick)
    ours_cls, theirs_cls = (
        (BackpropRegressor, MLPRegressor)
        if regression
        else (BackpropClassifier, MLPClassifier)
    )
    print(
        f"{dataset}: {summary}; train {len(y_train)}, test {len(y_test)}. "
        f"GridSearchCV(cv={CV}) of Pipeline(StandardScaler, network)"
        f"{' with a standardised target' if regression else ''}; "
        f"solver=adam, learning_rate_init={params['learning_rate_init']}, "
        f"early_stopping=True, max_iter={params['max_iter']}, seed={seed}.",
        file=file,
    )
    print(machine_line(limited), file=file)
    print(kernels_line(), file=file)
    results = {}
    start = time.perf_counter()
    for key, cls, grid in (
        ("skbackprop", ours_cls, (ours, sizes)),
        ("sklearn", theirs_cls, (theirs, sizes_theirs)),
    ):
        search = _search(cls(**params), *grid, regression, n_jobs)
        lib = "skbackprop" if key == "skbackprop" else "scikit-learn"
        n = len(grid[0]) * len(grid[1])
        print(file=file)
        search.on_results = Progress(
            f"{lib} {cls.__name__}",
            n,
            metric,
            file,
            header=(
                f"Searching {lib} {cls.__name__}: {n} configuration"
                f"{'s' * (n > 1)} x {CV} CV folds, then the best refitted"
            ),
        )
        try:
            with warnings.catch_warnings():
                # Short runs (--quick) stop at max_iter; the epochs column shows it.
                warnings.simplefilter("ignore", ConvergenceWarning)
                search.fit(X_train, y_train)
        finally:
            search.on_results.close()
            del search.on_results
        rows = result_rows(search)
        extra = "" if key == "skbackprop" else ": the activations it supports"
        title = f"{lib} {cls.__name__} ({n} configuration{'s' * (n > 1)}{extra})"
        print_table(title, rows, metric, params["max_iter"], file)
        test_score = search.score(X_test, y_test)
        best = rows[0]
        print(
            f"best: activation={best['activation']}, layers={best['layers']}; "
            f"test {metric} {test_score:.4f}",
            file=file,
        )
        results[key] = {
            "rows": rows,
            "best_params": search.best_params_,
            "test_score": test_score,
            "search": search,
        }
    print(
        "Early stopping holds out a different 10% of each fold in each library, "
        "so their epochs and scores differ a little.",
        file=file,
    )

    print(file=file)
    baseline = linear_baseline(regression, X_train, y_train, X_test, y_test, CV)
    results["baseline"] = baseline
    best_key = max(
        ("skbackprop", "sklearn"), key=lambda k: results[k]["rows"][0]["score"]
    )
    best_row = results[best_key]["rows"][0]
    best = {
        "label": f"{'skbackprop' if best_key == 'skbackprop' else 'scikit-learn'} "
        f"{best_row['activation']} {best_row['layers']}",
        "cv": best_row["score"],
        "std": best_row["std"],
        "test": results[best_key]["test_score"],
    }
    print(baseline_lines(dataset, metric, baseline, best, X_train.shape), file=file)

    shared = [(r["activation"], r["layers"]) for r in results["sklearn"]["rows"]]
    X_std = StandardScaler().fit_transform(X_train)
    y_fit = y_train
    if regression:
        y_fit = (y_train - y_train.mean()) / y_train.std()
    timing = time_pairs(
        ours_cls(**params),
        theirs_cls(**params),
        shared,
        X_std,
        y_fit,
        pairs=TIMING_PAIRS,
        epochs=TIMING_EPOCHS,
    )
    results["timing"] = timing
    results["time_ratio"] = timing["ratio"]
    print(file=file)
    print(speed_line(timing, TIMING_PAIRS, TIMING_EPOCHS, len(shared)), file=file)
    print(machine_line(limited), file=file)
    print(f"Total time: {time.perf_counter() - start:.1f} s", file=file)
    return results


def _plot(search, dataset, path):
    """Save the best model's LossCurveDisplay and GradientNormDisplay to ``path``."""
    # A Figure without pyplot: no GUI backend, no global state.
    from matplotlib.figure import Figure

    from skbackprop.plotting import GradientNormDisplay, LossCurveDisplay

    net = network(search.best_estimator_)
    best = ", ".join(
        f"{k.rsplit('__', 1)[-1]}={activation_name(v)}"
        for k, v in search.best_params_.items()
    )
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    ax_loss, ax_grad = fig.subplots(1, 2)
    LossCurveDisplay.from_estimator(net, ax=ax_loss)
    GradientNormDisplay.from_estimator(net, ax=ax_grad)
    fig.suptitle(f"Best skbackprop model on {dataset}: {best}")
    fig.savefig(path, dpi=110)


def main(argv=None):
    """Entry point of ``python -m skbackprop --classic``.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments without the program name and ``--classic``;
        ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        Exit status, 0 on success.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    run(
        args.dataset,
        quick=args.quick,
        n_jobs=args.n_jobs,
        seed=args.seed,
        plot=args.plot,
        blas_threads=args.blas_threads,
    )
    return 0
