"""Pieces of the demo (``python -m skbackprop``) that are not its command line.

A grid search that reports each configuration as it finishes, a description of
the machine (load, CPUs, BLAS threads) to print beside any timing, a timing of
the two libraries in back-to-back pairs so that a change of load cannot favour
one of them, and a linear baseline scored on the same folds and test split.
"""

import os
import sys
import time
import warnings
from statistics import median

from joblib import effective_n_jobs
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, ParameterGrid, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info


def network(estimator):
    """Return the network at the end of a pipeline or target transformer."""
    if isinstance(estimator, TransformedTargetRegressor):
        estimator = getattr(estimator, "regressor_", estimator.regressor)
    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    return estimator


def activation_name(activation):
    """Name an activation given as a string or an object."""
    return activation if isinstance(activation, str) else repr(activation)


def configuration(params):
    """Return ``(activation name, layer sizes)`` of a grid point."""
    act = next(v for k, v in params.items() if k.endswith("activation"))
    sizes = next(v for k, v in params.items() if k.endswith("hidden_layer_sizes"))
    return activation_name(act), tuple(sizes)


class SearchWithProgress(GridSearchCV):
    """GridSearchCV that reports each configuration as soon as its folds are done.

    It evaluates the grid a few configurations at a time (one at a time with
    ``n_jobs=1``; enough to keep ``n_jobs`` workers busy otherwise) instead of
    all at once, and after each batch calls ``self.on_results(results, start,
    stop)`` if that attribute is set, with the ``cv_results_`` so far.
    ``_run_search`` is the hook that scikit-learn's ``BaseSearchCV`` leaves to
    subclasses for their own schedules (its docstring says so); the results
    are the same as GridSearchCV's.
    """

    on_results = None

    def __getstate__(self):
        """Return the picklable state: without ``on_results`` (a live display).

        Returns
        -------
        state : dict
            The instance's state without ``on_results``.
        """
        state = super().__getstate__()
        return {k: v for k, v in state.items() if k != "on_results"}

    def _run_search(self, evaluate_candidates):
        candidates = list(ParameterGrid(self.param_grid))
        folds = self.cv if isinstance(self.cv, int) else 1
        step = max(1, effective_n_jobs(self.n_jobs) // folds)
        for start in range(0, len(candidates), step):
            stop = min(start + step, len(candidates))
            results = evaluate_candidates(candidates[start:stop])
            if self.on_results is not None:
                self.on_results(results, start, stop)


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


class Progress:
    """Show a search's progress: a tqdm bar on a terminal, else a line each.

    tqdm (the ``progress`` extra) is used when it is installed and standard
    error is a terminal; in a log file its in-place bar would be one long line
    of carriage returns, so there (and without tqdm) each finished
    configuration gets a line of ``file`` with its CV score and the time so far.

    Parameters
    ----------
    title : str
        What is searched, e.g. "skbackprop BackpropClassifier".
    total : int
        Number of configurations.
    metric : str
        Name of the CV score.
    file : file-like
        Where the lines go.
    header : str
        Line printed first when there is no bar.
    """

    def __init__(self, title, total, metric, file, *, header):
        self.total, self.metric, self.file = total, metric, file
        self.start = time.perf_counter()
        terminal = getattr(sys.stderr, "isatty", lambda: False)()
        tqdm = _tqdm() if terminal else None
        self.bar = None
        if tqdm is not None:
            # Configurations take seconds: show every one (mininterval=0).
            self.bar = tqdm(
                total=total,
                desc=title,
                unit="config",
                leave=False,
                file=sys.stderr,
                mininterval=0,
            )
        else:
            print(header, file=file, flush=True)

    def __call__(self, results, start, stop):
        """Report configurations ``start`` to ``stop - 1`` of ``results``."""
        for i in range(start, stop):
            act, sizes = configuration(results["params"][i])
            score = results["mean_test_score"][i]
            if self.bar is not None:
                self.bar.set_postfix_str(f"{act} {sizes}: {score:.4f}", refresh=False)
                self.bar.update(1)
                continue
            elapsed = time.perf_counter() - self.start
            print(
                f"  [{i + 1}/{self.total}] {act} {sizes}: CV {self.metric} "
                f"{score:.4f} ({elapsed:.1f} s so far)",
                file=self.file,
                flush=True,
            )

    def close(self):
        """Close the bar, if there is one."""
        if self.bar is not None:
            self.bar.close()


def result_rows(search):
    """Return the search's results, one dict per configuration, best first."""
    res = search.cv_results_
    rows = []
    for i, params in enumerate(res["params"]):
        act, sizes = configuration(params)
        epochs = float(res["mean_test_epochs"][i])
        fit = float(res["mean_fit_time"][i])
        rows.append(
            {
                "activation": act,
                "layers": sizes,
                "score": float(res["mean_test_score"][i]),
                "std": float(res["std_test_score"][i]),
                "fit_time": fit,
                "epochs": epochs,
                "ms_per_epoch": 1000 * fit / epochs,
            }
        )
    rows.sort(key=lambda r: -r["score"])
    return rows


def print_table(title, rows, metric, max_iter, file):
    """Print a search's results, one row per configuration, best first."""
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


def kernels_line():
    """Say whether the compiled kernels are on, and what their first use costs."""
    from .._kernels.config import kernels_enabled

    if kernels_enabled():
        return (
            "Compiled kernels: on (numba) for fits long enough to repay them: "
            "compiling takes about 20 s per dtype, once (skbackprop.compile_kernels() "
            "does it ahead of time); later runs load them from numba's cache."
        )
    return (
        "Compiled kernels: off (numpy only; pip install numba adds them)."
    )


def blas_pools():
    """Return ``[(library, version, threads)]`` of the loaded BLAS libraries."""
    pools = []
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            entry = (pool["internal_api"], pool.get("version"), pool["num_threads"])
            if entry not in pools:
                pools.append(entry)
    return pools


def _cpus():
    count = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)), count
    return count, count


def _load():
    try:
        return os.getloadavg()
    except (AttributeError, OSError):  # Windows
        return None


def machine_line(set_from=None):
    """Describe the machine: CPUs, load average and BLAS threads.

    Parameters
    ----------
    set_from : list of tuple, default=None
        :func:`blas_pools` from before the demo set the BLAS threads; None
        when it did not change them.

    Returns
    -------
    line : str
        One or two sentences to print beside a timing.
    """
    usable, count = _cpus()
    cpus = f"{usable} CPU{'s' * (usable > 1)}"
    if usable != count:
        cpus += f" usable of {count}"
    load = _load()
    if load is None:
        text = f"Machine: {cpus}, load average not available"
    else:
        text = (
            f"Machine: {cpus}, load average {load[0]:.2f}, {load[1]:.2f}, "
            f"{load[2]:.2f} (1, 5, 15 min)"
        )
    pools = blas_pools()
    blas = ", ".join(
        f"{lib} {version or ''} with {n} thread{'s' * (n > 1)}".replace("  ", " ")
        for lib, version, n in pools
    )
    text += f"; BLAS: {blas or 'none found by threadpoolctl'}"
    if set_from is not None:
        before = sorted({n for _, _, n in set_from})
        text += (
            f" (set by the demo, from {'/'.join(map(str, before))}: see --blas-threads)"
        )
    text += "."
    if load is not None and load[0] > usable:
        text += (
            f" The machine is busy (1-minute load {load[0]:.1f} on {cpus}): "
            "every time printed is inflated and noisy"
        )
        if any(n > 1 for _, _, n in pools):
            text += (
                ", and a BLAS with more threads than idle cores can slow both "
                "libraries several-fold (--blas-threads 1 avoids that)"
            )
        text += "."
    return text


def time_pairs(ours, theirs, configs, X, y, *, pairs, epochs):
    """Time the two libraries in back-to-back pairs of fits.

    For each configuration, ``pairs`` pairs of fits of ``epochs`` epochs each
    (the order within a pair alternates), so that both libraries of a pair run
    under about the same load; the ratio of a pair's times per epoch is
    robust to load that changes between pairs, and the median over the pairs to
    a pair that was disturbed.

    Parameters
    ----------
    ours, theirs : estimator
        Unfitted networks with the settings of the search.
    configs : list of tuple
        ``(activation, hidden_layer_sizes)`` both libraries support.
    X, y : ndarray
        Standardised training data.
    pairs, epochs : int
        Pairs per configuration, epochs per fit.

    Returns
    -------
    timing : dict
        ``ours_ms`` and ``theirs_ms`` (median ms per epoch), ``ratio`` (median of
        the pairs' theirs/ours ratios), ``low`` and ``high`` (their range) and
        ``pairs`` (how many).
    """
    times = {"ours": [], "theirs": []}
    ratios = []
    fixed = dict(max_iter=epochs, n_iter_no_change=epochs + 1)
    for act, sizes in configs:
        nets = {
            key: clone(est).set_params(
                activation=act, hidden_layer_sizes=sizes, **fixed
            )
            for key, est in (("ours", ours), ("theirs", theirs))
        }
        for k in range(pairs):
            ms = {}
            for key in ("ours", "theirs") if k % 2 == 0 else ("theirs", "ours"):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter
                    nets[key].fit(X, y)
                ms[key] = 1000 * (time.perf_counter() - start) / nets[key].n_iter_
                times[key].append(ms[key])
            ratios.append(ms["theirs"] / ms["ours"])
    return {
        "ours_ms": median(times["ours"]),
        "theirs_ms": median(times["theirs"]),
        "ratio": median(ratios),
        "low": min(ratios),
        "high": max(ratios),
        "pairs": len(ratios),
    }


def speed_line(timing, pairs, epochs, n_configs):
    """Describe the result of :func:`time_pairs` in a sentence or two."""
    return (
        f"Speed, timed apart from the searches: {pairs} back-to-back pairs of "
        f"fits on {'each of ' * (n_configs > 1)}the {n_configs} shared "
        f"configuration{'s' * (n_configs > 1)}, {epochs} epochs per fit, "
        "the order alternating within pairs, so that both fits of a pair run "
        "under the same load. Median time per epoch: skbackprop "
        f"{timing['ours_ms']:.2f} ms, scikit-learn {timing['theirs_ms']:.2f} ms; "
        f"ratio scikit-learn/skbackprop {timing['ratio']:.2f} (median of the "
        f"{timing['pairs']} pairs' ratios, range {timing['low']:.2f}-"
        f"{timing['high']:.2f}; above 1 means skbackprop is faster)."
    )


def linear_baseline(regression, X_train, y_train, X_test, y_test, cv):
    """Score a linear model on the search's CV folds and test split.

    ``LinearRegression`` for regression, ``LogisticRegression`` (default ``C``)
    for classification, each after a ``StandardScaler``; ``cross_val_score``
    with the same ``cv`` as the search splits the same way (``KFold`` for
    regression, ``StratifiedKFold`` for classification, no shuffling).

    Returns
    -------
    baseline : dict
        ``name``, ``cv`` (mean score), ``std`` and ``test`` (test-set score).
    """
    linear = LinearRegression() if regression else LogisticRegression(max_iter=1000)
    model = make_pipeline(StandardScaler(), linear)
    scores = cross_val_score(model, X_train, y_train, cv=cv)
    test = model.fit(X_train, y_train).score(X_test, y_test)
    return {
        "name": type(linear).__name__,
        "cv": float(scores.mean()),
        "std": float(scores.std()),
        "test": float(test),
    }


def baseline_lines(dataset, metric, baseline, best, shape):
    """Compare the best MLP with the linear baseline, and say when an MLP pays.

    Parameters
    ----------
    dataset : str
        "digits" or "diabetes".
    metric : str
        Name of the score.
    baseline : dict
        From :func:`linear_baseline`.
    best : dict
        The best MLP by CV score: ``label``, ``cv``, ``std`` and ``test``.
    shape : tuple of int
        Training rows and features.

    Returns
    -------
    text : str
        Lines to print.
    """
    b = baseline
    lines = [
        f"Linear baseline on the same CV folds and test split: StandardScaler + "
        f"{b['name']}, CV {metric} {b['cv']:.4f} ± {b['std']:.4f}, test {metric} "
        f"{b['test']:.4f}; best MLP ({best['label']}) CV {best['cv']:.4f} ± "
        f"{best['std']:.4f}, test {best['test']:.4f}."
    ]
    gap_cv, gap_test = best["cv"] - b["cv"], best["test"] - b["test"]
    # A CV gap within the folds' spread, or a test gap of the other sign, is
    # not a win for either model.
    noise = max(best["std"], b["std"])
    gaps = f"({gap_cv:+.4f} in CV, {gap_test:+.4f} on the test set)"
    win = gap_cv > noise and gap_test > 0
    if win:
        verdict = f"The MLP beats the linear model here {gaps}."
    elif gap_cv < -noise and gap_test < 0:
        verdict = f"The linear model beats every MLP here {gaps}."
    else:
        verdict = (
            f"The MLP does not clearly beat the linear model here {gaps}: the "
            "difference is within the spread of the CV folds or changes sign on "
            "the test set."
        )
    if dataset == "diabetes":
        why = (
            f"On small tabular data with a nearly linear target, like diabetes "
            f"({shape[0]} training rows, {shape[1]} features), a linear model is "
            f"{'usually ' * win}hard to beat: an MLP has more weights to fit and "
            "more settings to tune for the same signal"
        )
        why += "; check that the gain holds for other --seed values." if win else "."
    else:
        why = (
            "Scaled 8x8 digits are nearly linearly separable, so logistic "
            "regression is a strong baseline for the small networks searched here."
        )
    lines.append(
        f"{verdict} {why} An MLP pays where the target depends on the features "
        "nonlinearly (interactions, thresholds, shapes) and there are enough "
        "samples to learn that; compare it with a linear model first."
    )
    return "\n".join(lines)
