"""The tour, ``python -m skbackprop``: scikit-learn's MLP, and what it cannot do.

Two parts, on data that ships with scikit-learn (no download):

1. **Like for like.** skbackprop's and scikit-learn's MLP in the same
   ``Pipeline(StandardScaler, MLP)``, searched by ``GridSearchCV`` over the same
   configurations, on the same cross-validation folds, with the same settings,
   beside a linear model on the same folds.
2. **Beyond scikit-learn's MLP.** A user-defined activation (checked against
   finite differences), ``class_weight``, a quantile prediction interval, the
   Displays saved as a PNG (needs matplotlib) and an ONNX export run by
   onnxruntime (needs skl2onnx and onnxruntime).

Every sentence it prints is computed from the numbers it prints. The machine
(CPUs, load, BLAS threads) is described in one line at the end.
"""

import os
import sys
import tempfile
import time
from contextlib import nullcontext

import numpy as np
from scipy.special import expit
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_digits
from sklearn.metrics import balanced_accuracy_score, precision_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .. import __version__, config_context
from ..activations import Activation
from ..classifier import BackpropClassifier
from ..gradcheck import check_gradient
from ..losses import QuantileLoss
from ..regressor import BackpropRegressor
from .common import blas_pools, configuration, linear_baseline, machine_line, network

# The like-for-like search: the same grid, folds and settings for both libraries.
# learning_rate_init=0.01 converges (training loss flat for n_iter_no_change
# epochs) in about 40-110 epochs on the digits, well before max_iter: no
# ConvergenceWarning, and no early stopping, whose held-out 10% differs between
# the libraries (see README, "Where we differ").
SHARED = dict(solver="adam", learning_rate_init=0.01, max_iter=200)
GRID = {
    "activation": ["relu", "tanh"],
    "hidden_layer_sizes": [(32,), (64,)],
}
QUICK_GRID = {"activation": ["relu", "tanh"], "hidden_layer_sizes": [(32,)]}
CV = 3
# class_weight: the 9s are cut to this fraction of the training set.
MINORITY_FRACTION = 0.05
# The quantile interval: nominal coverage 90%.
QUANTILES = (0.05, 0.95)


class Swish(Activation):
    """Swish, ``s·σ(s)``: the tour's example of a user-defined activation."""

    def forward(self, s):
        """Return ``s·σ(s)``."""
        return s * expit(s)

    def derivative(self, s, o):
        """Return ``σ(s) + o·(1 - σ(s))``, with ``o = s·σ(s)``."""
        sig = expit(s)
        return sig + o * (1 - sig)


def _epochs(estimator, X, y):
    """Scorer that reports the epochs a fit trained (``n_iter_``)."""
    return network(estimator).n_iter_


def _pipe(net):
    return Pipeline([("scale", StandardScaler()), ("net", net)])


def like_for_like(X_train, y_train, X_test, y_test, *, grid, seed, file):
    """Search both libraries over the same grid and folds; print the table.

    Parameters
    ----------
    X_train, y_train, X_test, y_test : ndarray
        The digits, split.
    grid : dict
        Values of ``activation`` and ``hidden_layer_sizes`` (both libraries).
    seed : int
        Seed of the folds and the networks.
    file : file-like
        Where to print.

    Returns
    -------
    result : dict
        ``folds`` (the list of (train, test) index pairs both searches used),
        ``skbackprop`` and ``sklearn`` (each ``search``, ``seconds``,
        ``test``), ``rows`` (one dict per configuration, in grid order) and
        ``baseline`` (the linear model's scores on the same folds).
    """
    folds = list(
        StratifiedKFold(CV, shuffle=True, random_state=seed).split(X_train, y_train)
    )
    param_grid = {f"net__{k}": v for k, v in grid.items()}
    n = len(grid["activation"]) * len(grid["hidden_layer_sizes"])
    settings = ", ".join(f"{k}={v!r}" for k, v in SHARED.items())
    print(
        f"1. Like for like. load_digits ({len(y_train)} training and "
        f"{len(y_test)} test images, 64 pixels, 10 classes); for both libraries "
        f"the same Pipeline(StandardScaler, MLP), the same {n} configurations, "
        f"the same {CV} CV folds, and {settings}, random_state={seed}.",
        file=file,
    )
    result = {"folds": folds, "warm_up": _warm_up(X_train, y_train, grid, seed)}
    print("   Searching: ", end="", file=file, flush=True)
    for key, cls, name in (
        ("skbackprop", BackpropClassifier, "skbackprop"),
        ("sklearn", MLPClassifier, "scikit-learn"),
    ):
        search = GridSearchCV(
            _pipe(cls(**SHARED, random_state=seed)),
            param_grid,
            cv=folds,
            scoring={"accuracy": "accuracy", "epochs": _epochs},
            refit="accuracy",
        )
        start = time.perf_counter()
        search.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        result[key] = {
            "search": search,
            "seconds": seconds,
            "test": float(search.score(X_test, y_test)),
        }
        sep = ", " if key == "skbackprop" else ".\n"
        print(f"{name} {seconds:.1f} s", end=sep, file=file, flush=True)

    ours = result["skbackprop"]["search"].cv_results_
    theirs = result["sklearn"]["search"].cv_results_
    rows = []
    for i, params in enumerate(ours["params"]):
        act, sizes = configuration(params)
        rows.append(
            {
                "activation": act,
                "layers": sizes,
                "ours": float(ours["mean_test_accuracy"][i]),
                "ours_std": float(ours["std_test_accuracy"][i]),
                "theirs": float(theirs["mean_test_accuracy"][i]),
                "theirs_std": float(theirs["std_test_accuracy"][i]),
                "ours_epochs": float(ours["mean_test_epochs"][i]),
                "theirs_epochs": float(theirs["mean_test_epochs"][i]),
            }
        )
    result["rows"] = rows
    header = (
        f"   {'activation':<11}{'layers':<8}{'skbackprop CV accuracy':>24}"
        f"{'scikit-learn CV accuracy':>26}{'epochs (mean)':>16}"
    )
    print(header, file=file)
    for r in rows:
        print(
            f"   {r['activation']:<11}{str(r['layers']):<8}"
            f"{r['ours']:>15.4f} ± {r['ours_std']:.4f}"
            f"{r['theirs']:>17.4f} ± {r['theirs_std']:.4f}"
            f"{r['ours_epochs']:>9.1f} / {r['theirs_epochs']:.1f}",
            file=file,
        )
    print(_agreement(result, rows), file=file)
    baseline = linear_baseline(False, X_train, y_train, X_test, y_test, folds)
    result["baseline"] = baseline
    print(_against_baseline(result, baseline), file=file)
    return result


def _warm_up(X, y, grid, seed):
    """Fit each library once per activation on 50 rows, before the timing.

    skbackprop's compiled kernels (numba, when installed) load on first use,
    once per process; the warm-up keeps that out of the search times and
    returns the seconds each library took.
    """
    classes = np.unique(y)
    seconds = {}
    for key, cls in (("skbackprop", BackpropClassifier), ("sklearn", MLPClassifier)):
        start = time.perf_counter()
        for act in grid["activation"]:
            net = cls(hidden_layer_sizes=(4,), activation=act, random_state=seed)
            net.partial_fit(X[:50], y[:50], classes=classes)
        seconds[key] = time.perf_counter() - start
    return seconds


def _agreement(result, rows):
    """Say how far the two libraries' scores and best configurations agree."""
    diff = max(
        max(abs(r["ours"] - r["theirs"]), abs(r["ours_std"] - r["theirs_std"]))
        for r in rows
    )
    same_epochs = all(r["ours_epochs"] == r["theirs_epochs"] for r in rows)
    best = {
        key: "{} {}".format(*configuration(result[key]["search"].best_params_))
        for key in ("skbackprop", "sklearn")
    }
    tests = (result["skbackprop"]["test"], result["sklearn"]["test"])
    if diff == 0 and same_epochs:
        scores = (
            f"   The same scores and epochs in all {len(rows)} configurations: "
            "the same initial weights and batches give the same training."
        )
    else:
        scores = (
            f"   The CV scores differ by at most {diff:.4f} between the libraries"
            f"{'' if same_epochs else ', and some fits trained different epochs'}."
        )
    if best["skbackprop"] == best["sklearn"]:
        chosen = f" Both choose {best['skbackprop']}"
    else:
        chosen = (
            f" skbackprop chooses {best['skbackprop']}, scikit-learn {best['sklearn']}"
        )
    if tests[0] == tests[1]:
        chosen += f": test accuracy {tests[0]:.4f} in both."
    else:
        chosen += (
            f"; test accuracy skbackprop {tests[0]:.4f}, scikit-learn {tests[1]:.4f}."
        )
    ours_s, theirs_s = result["skbackprop"]["seconds"], result["sklearn"]["seconds"]
    warm = result["warm_up"]
    # kernels="auto" loads numba only for fits that repay it: say so only if it did.
    kernels_note = (
        ": skbackprop's includes loading its compiled kernels"
        if "numba" in sys.modules
        else "; fits this small train with numpy, so no kernels were loaded"
    )
    speed = (
        f" Search time, one library after the other: skbackprop {ours_s:.1f} s, "
        f"scikit-learn {theirs_s:.1f} s (ratio {theirs_s / ours_s:.2f}), after a "
        f"warm-up fit per activation ({warm['skbackprop']:.1f} s and "
        f"{warm['sklearn']:.1f} s{kernels_note}). Such times are noisy on a busy "
        "machine (see the last line); "
        "python -m skbackprop bench times the libraries carefully."
    )
    return scores + chosen + speed


def _against_baseline(result, baseline):
    """Compare the best MLP's CV score with the linear model's, honestly."""
    key = max(("skbackprop", "sklearn"), key=lambda k: result[k]["search"].best_score_)
    search = result[key]["search"]
    best = search.best_score_
    std = float(search.cv_results_["std_test_accuracy"][search.best_index_])
    gap = best - baseline["cv"]
    noise = max(std, baseline["std"])
    if gap > noise:
        verdict = "more than the folds' spread: the MLP is better here"
    elif gap < -noise:
        verdict = "more than the folds' spread: the linear model is better here"
    else:
        verdict = "within the folds' spread: no clear difference"
    return (
        f"   Linear baseline on the same folds: StandardScaler + "
        f"{baseline['name']}, CV accuracy {baseline['cv']:.4f} ± "
        f"{baseline['std']:.4f}, test {baseline['test']:.4f}. The best MLP, "
        f"{best:.4f} ± {std:.4f}, differs from it by {gap:+.4f} in CV, "
        f"{verdict}."
    )


def custom_activation(X_train, y_train, X_test, y_test, best, *, seed, file):
    """Fit the best configuration with :class:`Swish` instead; check its gradient.

    Returns
    -------
    result : dict
        ``model`` (the fitted pipeline), ``test`` (its test accuracy),
        ``best_test`` (the best configuration's) and ``gradient_error``.
    """
    act, sizes = configuration(best["search"].best_params_)
    model = _pipe(
        BackpropClassifier(
            activation=Swish(), hidden_layer_sizes=sizes, **SHARED, random_state=seed
        )
    ).fit(X_train, y_train)
    test = float(model.score(X_test, y_test))
    # The gradient check costs two losses per parameter: on a small network
    # (64·4 + 4 + 4·10 + 10 = 310 parameters) at its initial weights, 40 rows.
    small = BackpropClassifier(
        activation=Swish(), hidden_layer_sizes=(4,), random_state=seed
    )
    X_check = StandardScaler().fit_transform(X_train)[:40]
    error = check_gradient(small, X_check, y_train[:40])
    if test > best["test"]:
        compare = "higher than"
    elif test == best["test"]:
        compare = "the same as"
    else:
        compare = "lower than"
    print(
        f"   - Your own activation: Swish, s·σ(s), a subclass of Activation with "
        f"forward() and derivative() (class Swish in {__name__.replace('.', '/')}"
        f".py). In the best configuration's layers {sizes}: "
        f"test accuracy {test:.4f}, {compare} {act}'s {best['test']:.4f}. "
        f"skbackprop.check_gradient on a (4,) Swish network: backpropagation's "
        f"gradient matches central finite differences to {error:.1e} (largest "
        "relative error).",
        file=file,
    )
    return {
        "model": model,
        "test": test,
        "best_test": best["test"],
        "gradient_error": error,
    }


def class_weights(X_train, y_train, X_test, y_test, *, seed, file):
    """Fit with and without ``class_weight="balanced"`` on a training set short of 9s.

    Returns
    -------
    result : dict
        ``kept`` and ``of`` (9s kept in the training set, of how many), and for
        ``None`` and ``"balanced"`` the test ``recall``, ``precision`` (of the
        9s) and ``balanced`` accuracy.
    """
    rng = np.random.default_rng(seed)
    nines = np.flatnonzero(y_train == 9)
    kept = max(1, round(MINORITY_FRACTION * len(nines)))
    drop = rng.choice(nines, len(nines) - kept, replace=False)
    mask = np.ones(len(y_train), dtype=bool)
    mask[drop] = False
    X_few, y_few = X_train[mask], y_train[mask]
    result = {"kept": kept, "of": len(nines)}
    for weight in (None, "balanced"):
        net = BackpropClassifier(
            hidden_layer_sizes=(64,), class_weight=weight, **SHARED, random_state=seed
        )
        pred = _pipe(net).fit(X_few, y_few).predict(X_test)
        result[weight] = {
            "recall": float(recall_score(y_test, pred, labels=[9], average="macro")),
            "precision": float(
                precision_score(
                    y_test, pred, labels=[9], average="macro", zero_division=0
                )
            ),
            "balanced": float(balanced_accuracy_score(y_test, pred)),
        }
    plain, balanced = result[None], result["balanced"]
    change = {
        True: "raises",
        False: "does not raise",
    }[balanced["recall"] > plain["recall"]]
    print(
        f"   - class_weight='balanced' (MLPClassifier has no class_weight): with "
        f"the 9s cut to {kept} of {len(nines)} training images, it {change} the "
        f"test recall of the 9s ({plain['recall']:.2f} -> {balanced['recall']:.2f}; "
        f"precision {plain['precision']:.2f} -> {balanced['precision']:.2f}; "
        f"balanced accuracy {plain['balanced']:.4f} -> {balanced['balanced']:.4f}).",
        file=file,
    )
    return result


def quantile_interval(*, seed, file):
    """Fit two quantile networks on the diabetes data: a 90% prediction interval.

    Returns
    -------
    result : dict
        ``coverage`` (share of test targets inside), ``n_test``, ``width``
        (mean), ``target_std`` and ``se`` (the binomial standard error of the
        coverage at the nominal level).
    """
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    bounds = []
    for q in QUANTILES:
        # Early stopping on the validation loss (validation_metric="loss", also
        # skbackprop's) keeps the small networks from fitting the training
        # quantiles too closely; the target is standardised like X.
        net = BackpropRegressor(
            loss=QuantileLoss(quantile=q),
            hidden_layer_sizes=(16,),
            learning_rate_init=0.01,
            max_iter=500,
            early_stopping=True,
            validation_fraction=0.2,
            validation_metric="loss",
            random_state=seed,
        )
        model = TransformedTargetRegressor(_pipe(net), transformer=StandardScaler())
        bounds.append(model.fit(X_train, y_train).predict(X_test))
    low, high = bounds
    nominal = QUANTILES[1] - QUANTILES[0]
    coverage = float(np.mean((y_test >= low) & (y_test <= high)))
    se = float(np.sqrt(nominal * (1 - nominal) / len(y_test)))
    width = float(np.mean(high - low))
    if abs(coverage - nominal) <= 2 * se:
        judged = "within twice the sampling error"
    elif coverage < nominal:
        judged = (
            "too narrow by more than twice the sampling error: calibrate such "
            "intervals on held-out data (conformal prediction) before relying on them"
        )
    else:
        judged = "wider than needed by more than twice the sampling error"
    print(
        f"   - A {nominal:.0%} prediction interval: BackpropRegressor with "
        f"loss=QuantileLoss(quantile={QUANTILES[0]}) and (quantile={QUANTILES[1]}) "
        f"on load_diabetes ({len(y_train)} training patients). It covers "
        f"{coverage:.0%} of the {len(y_test)} test patients (nominal "
        f"{nominal:.0%}, sampling error ±{se:.0%}: {judged}); mean width "
        f"{width:.0f}, the target's standard deviation {np.std(y_train):.0f}.",
        file=file,
    )
    return {
        "coverage": coverage,
        "n_test": len(y_test),
        "width": width,
        "target_std": float(np.std(y_train)),
        "se": se,
        "low": low,
        "high": high,
    }


def displays(model, out, *, file):
    """Save the model's LossCurveDisplay and GradientNormDisplay as a PNG.

    Returns
    -------
    path : str or None
        The PNG written, or None without matplotlib.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print(
            "   - Displays: skipped, matplotlib is not installed "
            "(pip install matplotlib).",
            file=file,
        )
        return None
    from ..plotting import GradientNormDisplay, LossCurveDisplay

    # A Figure without pyplot: no GUI backend, no global state.
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax_loss, ax_grad = fig.subplots(1, 2)
    LossCurveDisplay.from_estimator(model, ax=ax_loss, name="Swish network")
    GradientNormDisplay.from_estimator(model, ax=ax_grad, name="Swish network")
    path = os.path.join(out, "displays.png")
    fig.savefig(path, dpi=80)
    net = network(model)
    print(
        f"   - Displays (skbackprop.plotting): the Swish network's loss curve over "
        f"its {net.n_iter_} epochs and its {len(net.coefs_)} layers' gradient "
        f"norms, saved to {path}",
        file=file,
    )
    return path


def onnx_export(model, X_test, out, *, file):
    """Export ``model`` to ONNX and compare onnxruntime's output with scikit-learn.

    Returns
    -------
    result : dict or None
        ``path``, ``kilobytes``, ``same_labels`` (share of test rows) and
        ``max_proba_diff``; None when skl2onnx or onnxruntime is missing.
    """
    try:
        import onnxruntime as ort

        from .. import onnx as skb_onnx
    except ImportError:
        print(
            "   - ONNX export: skipped, it needs skl2onnx and onnxruntime "
            "(pip install skl2onnx onnxruntime).",
            file=file,
        )
        return None
    net = network(model)
    onx = skb_onnx.to_onnx(
        model, X_test[:1].astype(np.float32), options={id(net): {"zipmap": False}}
    )
    path = os.path.join(out, "digits.onnx")
    data = onx.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    labels, proba = session.run(None, {name: X_test.astype(np.float32)})
    same = float(np.mean(labels == model.predict(X_test)))
    diff = float(np.max(np.abs(proba - model.predict_proba(X_test))))
    print(
        f"   - ONNX export (skbackprop.onnx.to_onnx) of the like-for-like best "
        f"pipeline, {len(data) / 1024:.0f} KB, to {path}: onnxruntime predicts "
        f"the same label for {same:.0%} of the {len(X_test)} test images, "
        f"probabilities within {diff:.1e} (float32).",
        file=file,
    )
    return {
        "path": path,
        "kilobytes": len(data) / 1024,
        "same_labels": same,
        "max_proba_diff": diff,
    }


def run(*, quick=False, seed=0, out=None, blas_threads=1, file=None):
    """Run the tour and print it.

    Parameters
    ----------
    quick : bool, default=False
        Search 2 configurations instead of 4 (for tests).
    seed : int, default=0
        Seed of the splits, the folds and the networks.
    out : str, default=None
        Folder for the PNG and the ONNX file; None makes a temporary one.
    blas_threads : int, default=1
        Threads of the BLAS for both libraries (threadpoolctl); 0 leaves the
        BLAS's own setting.
    file : file-like, default=None
        Where to print; None means ``sys.stdout``.

    Returns
    -------
    results : dict
        ``like_for_like``, ``custom_activation``, ``class_weight``,
        ``quantile``, ``png`` (path or None), ``onnx`` (dict or None) and
        ``seconds``.
    """
    import sys

    file = sys.stdout if file is None else file
    start = time.perf_counter()
    before = blas_pools()
    limited = None
    if blas_threads and any(n != blas_threads for _, _, n in before):
        limited = before
    limits = threadpool_limits(blas_threads, user_api="blas") if blas_threads else None
    # The tour sets the BLAS threads for both libraries alike, so skbackprop's
    # own limit for small fits is off.
    with limits or nullcontext(), config_context(blas_threads=None):
        results = _run(quick, seed, out, file)
        seconds = time.perf_counter() - start
        machine = machine_line(limited)
    results["seconds"] = seconds
    print(f"{machine} Total {seconds:.1f} s.", file=file)
    return results


def _run(quick, seed, out, file):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, random_state=seed, stratify=y
    )
    print(
        f"skbackprop {__version__}: scikit-learn's MLP, and what it cannot do. "
        "Data that ships with scikit-learn; nothing is downloaded.",
        file=file,
    )
    print(file=file)
    grid = QUICK_GRID if quick else GRID
    lfl = like_for_like(
        X_train, y_train, X_test, y_test, grid=grid, seed=seed, file=file
    )
    print(file=file)
    print("2. Beyond scikit-learn's MLP (skbackprop only):", file=file)
    act = custom_activation(
        X_train, y_train, X_test, y_test, lfl["skbackprop"], seed=seed, file=file
    )
    weights = class_weights(X_train, y_train, X_test, y_test, seed=seed, file=file)
    interval = quantile_interval(seed=seed, file=file)
    if out is None:
        out = tempfile.mkdtemp(prefix="skbackprop-tour-")
    else:
        os.makedirs(out, exist_ok=True)
    png = displays(act["model"], out, file=file)
    best = lfl["skbackprop"]["search"].best_estimator_
    exported = onnx_export(best, X_test, out, file=file)
    print(file=file)
    return {
        "like_for_like": lfl,
        "custom_activation": act,
        "class_weight": weights,
        "quantile": interval,
        "png": png,
        "onnx": exported,
    }
