"""Demo: grid search over activations, skbackprop beside scikit-learn's MLP.

``python -m skbackprop`` runs a :class:`~sklearn.model_selection.GridSearchCV`
over activations and layer sizes of ``Pipeline(StandardScaler, BackpropClassifier)``
on ``load_digits``, prints a table of the results, scores the best model on a
held-out test set, runs the same grid (the activations it supports) with
scikit-learn's ``MLPClassifier`` and compares the fit times. ``--dataset
diabetes`` does the same for regression, ``--plot FILE.png`` draws the best
model's loss curves and gradient norms, and ``python -m skbackprop bench`` runs
the benchmark (``benchmarks/bench_vs_sklearn.py`` of a source checkout).
Run ``python -m skbackprop --help`` for every option.
"""

import argparse
import os
import runpy
import sys
import time
import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
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

BENCHMARK = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "benchmarks",
    "bench_vs_sklearn.py",
)


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
        With attributes ``dataset``, ``plot``, ``n_jobs``, ``seed`` and ``quick``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m skbackprop",
        description=(
            "Grid-search activations and hidden layer sizes of a "
            "Pipeline(StandardScaler, skbackprop network) with GridSearchCV "
            f"(cv={CV}) on a data set that ships with scikit-learn, print the "
            "results table and the test score of the best model, then run the "
            "same grid with scikit-learn's MLP (the activations it supports) and "
            "compare fit times. Both use solver='adam', "
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
            'them to FILE.png. Needs matplotlib: pip install "skbackprop[plot]".'
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
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error(
                '--plot needs matplotlib: pip install "skbackprop[plot]" (or '
                "pip install matplotlib)."
            )
    return args


def _network(estimator):
    """Return the network at the end of a pipeline or target transformer."""
    if isinstance(estimator, TransformedTargetRegressor):
        estimator = getattr(estimator, "regressor_", estimator.regressor)
    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    return estimator


def _epochs(estimator, X, y):
    """Scorer that reports the number of epochs a fit trained (``n_iter_``)."""
    return _network(estimator).n_iter_


def _activation_name(activation):
    return activation if isinstance(activation, str) else repr(activation)


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
    return GridSearchCV(
        model,
        {f"{prefix}activation": activations, f"{prefix}hidden_layer_sizes": sizes},
        cv=CV,
        scoring={"score": None, "epochs": _epochs},
        refit="score",
        n_jobs=n_jobs,
    )


def _rows(search):
    """Return the search's results, one dict per configuration, best first."""
    res = search.cv_results_
    rows = []
    for i, params in enumerate(res["params"]):
        act = next(v for k, v in params.items() if k.endswith("activation"))
        sizes = next(v for k, v in params.items() if k.endswith("hidden_layer_sizes"))
        epochs = float(res["mean_test_epochs"][i])
        fit = float(res["mean_fit_time"][i])
        rows.append(
            {
                "activation": _activation_name(act),
                "layers": tuple(sizes),
                "score": float(res["mean_test_score"][i]),
                "std": float(res["std_test_score"][i]),
                "fit_time": fit,
                "epochs": epochs,
                "ms_per_epoch": 1000 * fit / epochs,
            }
        )
    rows.sort(key=lambda r: -r["score"])
    return rows


def _print_table(title, rows, metric, max_iter, file):
    print(title, file=file)
    header = (
        f"{'rank':>4}  {'activation':<22}{'layers':<9}{'CV ' + metric:>18}"
        f"{'fit (s)':>9}{'epochs':>9}{'ms/epoch':>10}"
    )
    print(header, file=file)
    print("-" * len(header), file=file)
    capped = False
    for rank, r in enumerate(rows, 1):
        score = f"{r['score']:.4f} ± {r['std']:.4f}"
        mark = "*" if r["epochs"] >= max_iter else " "
        capped = capped or mark == "*"
        print(
            f"{rank:>4}  {r['activation']:<22}{str(r['layers']):<9}{score:>18}"
            f"{r['fit_time']:>9.2f}{r['epochs']:>8.1f}{mark}{r['ms_per_epoch']:>10.2f}",
            file=file,
        )
    if capped:
        print(f"* every fold stopped at max_iter={max_iter}", file=file)


def _kernels_line():
    """Say whether the compiled kernels are on, and what their first use costs."""
    from ._config import kernels_enabled

    if kernels_enabled():
        return (
            "Compiled kernels: on (numba). The first fit after installing compiles "
            "them (about 10-30 s, once per dtype); later runs load them from numba's "
            "cache in under a second."
        )
    return (
        "Compiled kernels: off (numpy only; pip install 'skbackprop[fast]' adds "
        "them)."
    )


def _load(dataset):
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        return X, y, "accuracy", f"{X.shape[0]} samples, {X.shape[1]} features, 10 "
    if dataset == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        return X, y, "R²", f"{X.shape[0]} samples, {X.shape[1]} features, "
    raise ValueError(f"dataset must be 'digits' or 'diabetes', got {dataset!r}.")


def run(dataset="digits", *, quick=False, n_jobs=None, seed=0, plot=None, file=None):
    """Run the grid searches, print the tables and optionally save the plot.

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

    Returns
    -------
    results : dict
        ``"skbackprop"`` and ``"sklearn"`` map to dicts with ``rows`` (one dict
        per configuration, best first), ``best_params``, ``test_score`` and
        ``search`` (the fitted GridSearchCV); ``"time_ratio"`` is scikit-learn's
        mean fit time over ours on the shared configurations.
    """
    file = sys.stdout if file is None else file
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
    print(_kernels_line(), file=file)
    results = {}
    start = time.perf_counter()
    for key, cls, grid in (
        ("skbackprop", ours_cls, (ours, sizes)),
        ("sklearn", theirs_cls, (theirs, sizes_theirs)),
    ):
        search = _search(cls(**params), *grid, regression, n_jobs)
        with warnings.catch_warnings():
            # Short runs (--quick) stop at max_iter; the epochs column shows it.
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X_train, y_train)
        rows = _rows(search)
        lib = "skbackprop" if key == "skbackprop" else "scikit-learn"
        n = len(rows)
        extra = "" if key == "skbackprop" else ": the activations it supports"
        title = f"{lib} {cls.__name__} ({n} configuration{'s' * (n > 1)}{extra})"
        print(file=file)
        _print_table(title, rows, metric, params["max_iter"], file)
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

    shared = {(r["activation"], r["layers"]) for r in results["sklearn"]["rows"]}
    mean = {}
    for key in ("skbackprop", "sklearn"):
        rows = [
            r for r in results[key]["rows"] if (r["activation"], r["layers"]) in shared
        ]
        mean[key] = (
            np.mean([r["fit_time"] for r in rows]),
            np.mean([r["ms_per_epoch"] for r in rows]),
        )
    ratio = mean["sklearn"][0] / mean["skbackprop"][0]
    epoch_ratio = mean["sklearn"][1] / mean["skbackprop"][1]
    results["time_ratio"] = ratio
    print(file=file)
    n = len(shared)
    print(
        f"Mean fit time on the {n} shared configuration{'s' * (n > 1)}: "
        f"skbackprop {mean['skbackprop'][0]:.3f} s, scikit-learn "
        f"{mean['sklearn'][0]:.3f} s; fit-time ratio scikit-learn/skbackprop "
        f"{ratio:.2f} (per epoch: {mean['skbackprop'][1]:.2f} ms vs "
        f"{mean['sklearn'][1]:.2f} ms, ratio {epoch_ratio:.2f}).\n"
        "Early stopping holds out a different 10% of each fold in each library, "
        "so their epochs and scores differ a little.",
        file=file,
    )
    print(f"Total time of the searches: {time.perf_counter() - start:.1f} s", file=file)
    if plot is not None:
        _plot(results["skbackprop"]["search"], dataset, plot)
        print(f"Wrote {plot}", file=file)
    return results


def _plot(search, dataset, path):
    """Save the best model's LossCurveDisplay and GradientNormDisplay to ``path``."""
    # A Figure without pyplot: no GUI backend, no global state.
    from matplotlib.figure import Figure

    from skbackprop.plotting import GradientNormDisplay, LossCurveDisplay

    net = _network(search.best_estimator_)
    best = ", ".join(
        f"{k.rsplit('__', 1)[-1]}={_activation_name(v)}"
        for k, v in search.best_params_.items()
    )
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    ax_loss, ax_grad = fig.subplots(1, 2)
    LossCurveDisplay.from_estimator(net, ax=ax_loss)
    GradientNormDisplay.from_estimator(net, ax=ax_grad)
    fig.suptitle(f"Best skbackprop model on {dataset}: {best}")
    fig.savefig(path, dpi=110)


def _bench(argv):
    """Run the benchmark script of a source checkout, if there is one."""
    if not os.path.exists(BENCHMARK):
        print(
            f"The benchmark is not installed with the package: it is "
            f"benchmarks/bench_vs_sklearn.py in a source checkout of skbackprop "
            f"(looked for {BENCHMARK}).",
            file=sys.stderr,
        )
        return 1
    saved = sys.argv
    sys.argv = [BENCHMARK, *argv]
    try:
        runpy.run_path(BENCHMARK, run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (exc.code is not None)
    finally:
        sys.argv = saved
    return 0


def main(argv=None):
    """Entry point of ``python -m skbackprop``.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments without the program name; ``None`` reads
        ``sys.argv[1:]``. A first argument ``bench`` runs the benchmark with the
        remaining arguments.

    Returns
    -------
    status : int
        Exit status, 0 on success.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _bench(argv[1:])
    args = parse_args(argv)
    run(
        args.dataset,
        quick=args.quick,
        n_jobs=args.n_jobs,
        seed=args.seed,
        plot=args.plot,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
