"""Benchmark skbackprop against scikit-learn's MLPClassifier, in one process.

Usage::

    PYTHONPATH=. python benchmarks/bench_vs_sklearn.py [--quick] [--repeats N]
        [--only W1,W2,...] [--kernels {both,on,off}] [--json FILE]
        [--skip-compile-time]

Workloads (see benchmarks/README.md):

* W1  dense training: (256, 256) relu, adam, batch 256, 3 epochs, float64 and float32,
      with GFLOP/s next to the machine's own 1024x1024 GEMM GFLOP/s, and for
      float64 the fit / GEMM replay ratio (the fit's products replayed alone)
      (plus a torch CPU row, in a subprocess, if torch is installed).
* W2  the lecture's SGD: (32,) tanh, sgd, batch_size=1, 1 epoch, samples/s.
* W3  the W2 network on 20,000 rows, batch 32, 2 epochs, samples/s.
* W4  single-row ``predict`` latency on a fitted (64, 64) classifier.
* W5  peak resident memory of ``fit`` on 200,000 x 100 float32 (one subprocess per
      run).

skbackprop runs twice per repeat: with its compiled (numba) kernels on
(``config_context(kernels=True)``: the whole-epoch kernel where a batch's work is
small, ``skbackprop._kernels.dispatch``; the fused elementwise passes elsewhere) and off
(``kernels=False``: numpy only). With
``--kernels both`` (the default) runs alternate (ours with kernels, ours numpy,
sklearn, ours with kernels, ...); the median of ``--repeats`` (default 3) is reported
for each, and the goals are evaluated on the kernel figures (on the numpy figures
with ``--kernels off``). Every configuration gets an untimed warm-up fit first, so
numba's compilation or cache load is not in the timings; the compile time is measured
on its own, in two subprocesses sharing a fresh ``NUMBA_CACHE_DIR`` (cold cache, then
warm cache), and printed separately.

The benchmark never sets OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE; it reports them and
the BLAS kernel threadpoolctl sees. To measure without them, unset both for that
command only::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/...
"""

import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import scipy
import sklearn
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_info

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import skbackprop  # noqa: E402
from skbackprop import BackpropClassifier, config_context  # noqa: E402
from skbackprop._kernels.config import numba_installed  # noqa: E402

# The three variants measured: ours with the compiled kernels, ours numpy only,
# scikit-learn. VARIANTS (set in main from --kernels) lists those of this run.
KERN, NUMPY, SK = "kernels", "numpy", "sklearn"
LABEL = {KERN: "ours (kernels)", NUMPY: "ours (numpy)", SK: "sklearn"}
VARIANTS = [KERN, NUMPY, SK]


def ours_variants():
    return [v for v in VARIANTS if v != SK]


def goal_variant():
    """The variant the goals are evaluated on: the kernels where measured."""
    return KERN if KERN in VARIANTS else NUMPY


# Goals (issue 11): (metric, comparison, threshold, description), evaluated on
# ours with kernels / scikit-learn.
GOALS = {
    "W1-float64": ("ratio", "<=", 0.6, "time ratio <= 0.6"),
    "W1-float32": ("ratio", "<=", 0.5, "time ratio <= 0.5"),
    "W2": ("speedup", ">=", 30.0, "throughput >= 30x"),
    "W3": ("speedup", ">=", 8.0, "throughput >= 8x"),
    "W4": ("ratio", "<=", 0.2, "latency ratio <= 0.2"),
    "W5": ("ratio", "<=", 1.0, "peak memory ratio <= 1.0"),
}

FULL = {
    "W1_n": 20000,
    "W2_n": 3000,
    "W3_n": 20000,
    "W4_calls": 2000,
    "W5_n": 200000,
}
QUICK = {
    "W1_n": 2000,
    "W2_n": 500,
    "W3_n": 2000,
    "W4_calls": 200,
    "W5_n": 20000,
}


# --------------------------------------------------------------------- helpers
def _quiet():
    """Context that silences ConvergenceWarning (both libraries warn at max_iter)."""
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore", ConvergenceWarning)
    return ctx


def setting(variant):
    """Context with skbackprop's kernels on (KERN) or off (NUMPY); none for SK."""
    if variant == KERN:
        return config_context(kernels=True)
    if variant == NUMPY:
        return config_context(kernels=False)
    return contextlib.nullcontext()


def _fit_timed(variant, params, X, y):
    est = (MLPClassifier if variant == SK else BackpropClassifier)(**params)
    ctx = _quiet()
    try:
        with setting(variant):
            t0 = time.perf_counter()
            est.fit(X, y)
            dt = time.perf_counter() - t0
    finally:
        ctx.__exit__(None, None, None)
    return dt, est


WARMUPS = []  # (what, variant, seconds) of the untimed warm-up fits


def warm_up(what, params, X, y, rows=600):
    """One untimed fit per variant, same parameters and dtype, 1 epoch on at most
    ``rows`` rows: numba compiles (or loads from its cache) the kernels this
    configuration uses, so the timed runs measure the steady state."""
    p = dict(params, max_iter=1)
    for v in VARIANTS:
        dt, _ = _fit_timed(v, p, X[:rows], y[:rows])
        WARMUPS.append({"what": what, "variant": v, "s": dt})


# --wait-idle: seconds to wait for an idle machine before a group of runs that is
# redone because other processes used the CPUs during it (0: never wait or redo).
WAIT_IDLE = 0.0
BUSY_CORES = 0.15  # other processes' average use above which a run counts as disturbed
MAX_REDO = 3
REDONE = []


def run_pair(fn, what):
    """Run ``fn()`` (one run of each variant); with --wait-idle, redo it after
    waiting for an idle machine if other processes used the CPUs meanwhile."""
    for attempt in range(MAX_REDO + 1):
        with Contention() as c:
            out = fn()
        if not WAIT_IDLE or c.others is None or c.others <= BUSY_CORES:
            break
        if attempt < MAX_REDO:
            REDONE.append(what)
            print(
                f"    (run of {what} disturbed: other processes used {c.others:.2f} "
                "cores; waiting for an idle machine and redoing it)"
            )
            wait_idle(WAIT_IDLE)
    KEPT_LOAD.append(c.others)
    return out


KEPT_LOAD = []  # other processes' load during each kept group of runs


class KeptLoad:
    """Highest other-process load over the groups of runs kept inside the block."""

    def __enter__(self):
        self._start = len(KEPT_LOAD)
        self.others = None
        return self

    def __exit__(self, *exc):
        vals = [v for v in KEPT_LOAD[self._start :] if v is not None]
        self.others = max(vals) if vals else None
        return False


def alternate_fits(params, X, y, repeats, what="fit", extra=None):
    """Fit the variants alternately; return the times and the last estimators.

    ``extra``: a callable timed once per group after the fits (its seconds are
    returned under the key ``"extra"``; e.g. the W1 GEMM replay).
    """
    times = {v: [] for v in VARIANTS}
    last = {}
    extra_times = []

    def group():
        out = {v: _fit_timed(v, params, X, y) for v in VARIANTS}
        if extra is not None:
            out["extra"] = (extra(), None)
        return out

    for _ in range(repeats):
        for v, (dt, est) in run_pair(group, what).items():
            if v == "extra":
                extra_times.append(dt)
                continue
            times[v].append(dt)
            last[v] = est
    if extra is not None:
        times["extra"] = extra_times
    return times, last


def fmt_s(t):
    return f"{t:8.3f} s"


def fmt_times(ts):
    return "[" + ", ".join(f"{t:.3f}" for t in ts) + "]"


def medians(runs):
    return {v: statistics.median(ts) for v, ts in runs.items()}


def compare(med, unit, runs=None):
    """Result entries for the medians ``med`` (one per variant).

    ``ours_<v>``, ``ratio_<v>`` (ours / sklearn) and ``speedup_<v>`` (sklearn / ours)
    per variant of ours; ``ours``, ``ratio`` and ``speedup`` repeat those of the
    variant the goals are evaluated on (``goal_on``).
    """
    r = {"unit": unit, "sklearn": med[SK]}
    for v in ours_variants():
        r[f"ours_{v}"] = med[v]
        r[f"ratio_{v}"] = med[v] / med[SK]
        r[f"speedup_{v}"] = med[SK] / med[v]
    g = goal_variant()
    r["goal_on"] = LABEL[g]
    r["ours"] = r[f"ours_{g}"]
    r["ratio"] = r[f"ratio_{g}"]
    r["speedup"] = r[f"speedup_{g}"]
    if KERN in med and NUMPY in med:
        r["kernels_over_numpy"] = med[KERN] / med[NUMPY]
    if runs is not None:
        r["runs"] = runs
        # Paired: ours / sklearn within each group of runs (run back to back), then
        # the median. Less sensitive than the ratio of medians to the machine's
        # speed drifting between groups; printed beside it, not used for the goals.
        for v in ours_variants():
            pr = [a / b for a, b in zip(runs[v], runs[SK], strict=True)]
            r[f"paired_ratios_{v}"] = pr
            r[f"paired_ratio_{v}"] = statistics.median(pr)
    return r


def print_ratios(r):
    parts = [
        f"{LABEL[v]}/sklearn {r[f'ratio_{v}']:.3f} (speedup {r[f'speedup_{v}']:.2f}x)"
        for v in ours_variants()
    ]
    line = "    ratio " + ";  ".join(parts)
    if "kernels_over_numpy" in r:
        line += f";  kernels/numpy {r['kernels_over_numpy']:.3f}"
    print(line)
    if f"paired_ratio_{ours_variants()[0]}" in r:
        parts = [
            f"{LABEL[v]}/sklearn {r[f'paired_ratio_{v}']:.3f} "
            f"[{min(r[f'paired_ratios_{v}']):.3f}-{max(r[f'paired_ratios_{v}']):.3f}]"
            for v in ours_variants()
        ]
        print(
            "    paired ratio (median over the groups of runs of ours/sklearn "
            "[min-max]) " + ";  ".join(parts)
        )


def check_epochs(last, expected):
    notes = []
    for v, est in last.items():
        if est.n_iter_ != expected:
            notes.append(f"{LABEL[v]} ran {est.n_iter_} epochs, expected {expected}")
    return notes


def loss_lines(last, chaotic=False):
    """Print each variant's final training loss and ours' relative difference to
    scikit-learn's; return (losses, relative differences).

    ``chaotic``: the trajectory is chaotic (W2's per-example Nesterov SGD), so only
    the numpy path is expected to follow scikit-learn's; the kernel run's difference
    is informational (its different rounding grows like any 1-ulp perturbation).
    """
    losses = {v: float(est.loss_) for v, est in last.items()}
    ls = losses[SK]
    rel = {v: abs(losses[v] - ls) / max(abs(ls), 1e-300) for v in ours_variants()}
    print(
        "    final training loss: "
        + ", ".join(f"{LABEL[v]} {losses[v]:.10g}" for v in VARIANTS)
    )
    for v in ours_variants():
        note = ""
        if chaotic and v == KERN:
            note = (
                "  (informational: per-example Nesterov SGD is chaotic over an epoch; "
                "the kernels' rounding differs from numpy's by ulps and drifts, as "
                "a 1-ulp perturbation of the numpy path does)"
            )
        elif chaotic and v == NUMPY:
            note = "  (expected to match scikit-learn)"
        print(f"    rel. diff of {LABEL[v]} to sklearn: {rel[v]:.1e}{note}")
    return losses, rel


# ------------------------------------------------------------------ contention
_CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_snapshot():
    """(busy jiffies of the whole machine, total jiffies, this process's jiffies)."""
    try:
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # utime + stime (all threads) + cutime + cstime (waited-for children)
        own = sum(int(v) for v in fields[11:15])
    except (OSError, ValueError, IndexError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    total = sum(vals[:8])
    return total - idle, total, own


class Contention:
    """Average number of cores used by *other* processes while a block ran.

    This machine is shared: another process on one of the two cores makes a
    2-thread OpenBLAS stall, and the timings are then meaningless.
    """

    def __init__(self):
        self.others = None

    def __enter__(self):
        self._start = _cpu_snapshot()
        return self

    def __exit__(self, *exc):
        end = _cpu_snapshot()
        if self._start is None or end is None:
            return False
        busy, total, own = (e - s for e, s in zip(end, self._start, strict=True))
        ncpu = os.cpu_count() or 1
        if total > 0:
            self.others = max(0.0, (busy - own) / total * ncpu)
        return False


def other_load(seconds=1.0):
    with Contention() as c:
        time.sleep(seconds)
    return c.others


def wait_idle(max_wait, threshold=0.15, quiet_seconds=5):
    """Wait up to ``max_wait`` s until other processes use < threshold cores."""
    t0, quiet = time.perf_counter(), 0
    while time.perf_counter() - t0 < max_wait:
        load = other_load(1.0)
        quiet = quiet + 1 if load is not None and load < threshold else 0
        if quiet >= quiet_seconds:
            print(f"machine idle after {time.perf_counter() - t0:.0f} s of waiting")
            return True
    print(
        f"WARNING: machine still busy after waiting {max_wait:.0f} s "
        f"(other processes use {load:.2f} cores)"
    )
    return False


def contention_note(key, c, results, timing=True):
    if c.others is None:
        return
    if not timing:  # memory workloads: the load changes fit times, not peaks
        results[key]["other_cores_memory_only"] = c.others
        print(
            f"    other processes used {c.others:.2f} cores on average during {key} "
            "(affects its fit times only, not the memory figures)"
        )
        return
    results[key]["other_cores"] = c.others
    flag = (
        "   <-- WARNING: machine busy, timings unreliable"
        if c.others > BUSY_CORES
        else ""
    )
    how = "at most (over the kept runs)" if isinstance(c, KeptLoad) else "on average"
    print(f"    other processes used {c.others:.2f} cores {how} during {key}{flag}")


# ---------------------------------------------------------------------- header
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision():
    try:
        out = subprocess.run(
            ["git", "-C", REPO, "describe", "--always", "--dirty", "--abbrev=10"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def source_digest():
    """Short hash of skbackprop's .py files: identifies the code measured, also in a
    dirty work tree."""
    import hashlib

    h = hashlib.sha256()
    pkg = os.path.dirname(skbackprop.__file__)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            with open(os.path.join(pkg, name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read())
    return h.hexdigest()[:12]


def _numba_version():
    """numba's version from its metadata (without importing it), or None."""
    if not numba_installed():
        return None
    try:
        from importlib.metadata import version

        return version("numba")
    except Exception:  # noqa: BLE001 - only informational
        return "installed"


def header():
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "skbackprop": skbackprop.__version__,
        "numba": _numba_version(),
        "git": git_revision(),
        "source_sha256": source_digest(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "threadpools": [
            {
                k: p.get(k)
                for k in (
                    "user_api",
                    "internal_api",
                    "version",
                    "architecture",
                    "num_threads",
                    "threading_layer",
                    "prefix",
                )
            }
            for p in threadpool_info()
        ],
    }
    print("# skbackprop vs scikit-learn benchmark")
    print(f"date        : {info['date']}")
    print(
        f"machine     : nproc={info['nproc']} (affinity {info['affinity']}), "
        f"{info['cpu']}"
    )
    print(
        f"versions    : Python {info['python']}, numpy {info['numpy']}, scipy "
        f"{info['scipy']}, scikit-learn {info['sklearn']}, skbackprop "
        f"{info['skbackprop']}, numba {info['numba']} (git {info['git']}, "
        f"skbackprop/*.py sha256 "
        f"{info['source_sha256']}, from {os.path.dirname(skbackprop.__file__)})"
    )
    for p in info["threadpools"]:
        print(
            f"threadpool  : {p['user_api']}/{p['internal_api']} {p['version']} "
            f"architecture={p['architecture']} num_threads={p['num_threads']} "
            f"threading_layer={p['threading_layer']} ({p['prefix']})"
        )
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        val = info[var]
        print(f"{var:<12}: {'<unset>' if val is None else repr(val)}")
    return info


# ------------------------------------------------------------------------ GEMM
def gemm_gflops(n=1024, tries=7):
    out = {}
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        A = rng.standard_normal((n, n)).astype(dtype)
        B = rng.standard_normal((n, n)).astype(dtype)
        C = A @ B  # warm-up
        best = np.inf
        for _ in range(tries):
            t0 = time.perf_counter()
            np.matmul(A, B, out=C)
            best = min(best, time.perf_counter() - t0)
        out[np.dtype(dtype).name] = 2.0 * n**3 / best / 1e9
    print(
        f"GEMM {n}x{n} : float64 {out['float64']:.1f} GFLOP/s, "
        f"float32 {out['float32']:.1f} GFLOP/s (best of {tries})"
    )
    return out


# ---------------------------------------------------------------------- W1
def mlp_train_flops(layer_units, n_samples, epochs):
    """Training FLOPs: forward 2·fi·fo, backward 4·fi·fo per layer and sample.

    The first layer has no input gradient: 2·fi·fo backward.
    """
    per_sample = 0
    for i, (fi, fo) in enumerate(zip(layer_units[:-1], layer_units[1:], strict=True)):
        per_sample += 2 * fi * fo + (2 if i == 0 else 4) * fi * fo
    return per_sample * n_samples * epochs


W1_PARAMS = dict(
    hidden_layer_sizes=(256, 256),
    activation="relu",
    solver="adam",
    batch_size=256,
    max_iter=3,
    tol=0.0,
    n_iter_no_change=1000,
    random_state=0,
)


def gemm_replay(layer_units, n, batch_size, epochs, dtype, seed=0):
    """Time the matrix products of one fit, replayed alone; return (seconds, count).

    The products ours makes per batch (``Network.loss_gradient``): the forward
    ``S[l] = O[l-1] @ W[l]`` of every layer, the weight gradients ``O[l-1].T @ D``
    and the deltas ``D @ W[l].T`` below the output, with the same shapes, the same
    ``out=`` buffers and transposed views, for the same batches (the last one
    smaller) and epochs. Nothing else: no gathers, activations, loss or update.
    What the fit takes beyond this time is its non-GEMM work.
    """
    rng = np.random.default_rng(seed)
    L = len(layer_units) - 1
    pairs = list(zip(layer_units[:-1], layer_units[1:], strict=True))
    W = [rng.standard_normal(p).astype(dtype) for p in pairs]
    Gw = [np.empty(p, dtype) for p in pairs]
    sizes = [batch_size] * (n // batch_size) + [n % batch_size] * (n % batch_size > 0)
    bufs = {}
    for m in set(sizes):
        O = [rng.standard_normal((m, d)).astype(dtype) for d in layer_units]
        G = [np.empty((m, d), dtype) for d in layer_units]
        bufs[m] = O, G
    count = 0
    t0 = time.perf_counter()
    for _ in range(epochs):
        for m in sizes:
            O, G = bufs[m]
            for l in range(1, L + 1):
                np.dot(O[l - 1], W[l - 1], out=O[l])
            D = O[L]
            for l in range(L, 0, -1):
                np.dot(O[l - 1].T, D, out=Gw[l - 1])
                if l > 1:
                    np.dot(D, W[l - 1].T, out=G[l - 1])
                    D = G[l - 1]
            count += 2 * L + (L - 1)
    return time.perf_counter() - t0, count


def w1_data(n):
    return make_classification(n, 100, n_informative=50, n_classes=10, random_state=0)


def run_w1(sizes, repeats, gemm):
    n = sizes["W1_n"]
    X, y = w1_data(n)
    flops = mlp_train_flops([100, 256, 256, 10], n, W1_PARAMS["max_iter"])
    results = {}
    for dtype in ("float64", "float32"):
        Xd = X.astype(dtype)
        key = f"W1-{dtype}"
        warm_up(key, W1_PARAMS, Xd, y)
        replay, replay_count = None, []
        if dtype == "float64":
            units = [100, *W1_PARAMS["hidden_layer_sizes"], 10]
            args = (units, n, W1_PARAMS["batch_size"], W1_PARAMS["max_iter"], dtype)
            replay = w1_replay(args, replay_count)
            replay()  # warm-up
        with KeptLoad() as busy:
            times, last = alternate_fits(W1_PARAMS, Xd, y, repeats, key, replay)
        replay_times = times.pop("extra", None)
        med = medians(times)
        gf = {v: flops / t / 1e9 for v, t in med.items()}
        peak = gemm[dtype]
        print(
            f"\n## {key}: make_classification({n}, 100, 10 classes), (256, 256) relu, "
            f"adam, batch 256, 3 epochs"
        )
        for v in VARIANTS:
            print(
                f"    {LABEL[v]:<15} {fmt_s(med[v])}  {gf[v]:6.1f} GFLOP/s "
                f"({100 * gf[v] / peak:4.1f}% of GEMM)  runs {fmt_times(times[v])}"
            )
        r = compare(med, "s", times)
        print_ratios(r)
        print(f"    (GEMM {dtype} {peak:.1f} GFLOP/s; {flops / 1e9:.2f} GFLOP per fit)")
        if replay_times:
            r["gemm_replay"] = replay_summary(times, replay_times, replay_count[-1])
        losses, rel = loss_lines(last)
        notes = check_epochs(last, W1_PARAMS["max_iter"])
        for v, est in last.items():
            if est.coefs_[0].dtype != np.dtype(dtype):
                notes.append(
                    f"{LABEL[v]} trained in {est.coefs_[0].dtype}, not {dtype}"
                )
        for note in notes:
            print(f"    NOTE: {note}")
        r.update(
            gflops=gf,
            gemm_gflops=peak,
            flops_per_fit=flops,
            final_loss=losses,
            loss_rel_diff=rel,
            notes=notes,
        )
        results[key] = r
        contention_note(key, busy, results)
    if importlib.util.find_spec("torch") is not None:
        with Contention() as busy:
            tr = run_w1_torch(n, repeats, flops)
        if tr is not None:
            results["W1-torch-float32"] = tr
            ref = results["W1-float32"]
            print(
                "\n## W1-torch-float32: same network, torch CPU, Adam lr 1e-3, "
                "batch 256, 3 epochs, 2 threads "
                f"(subprocess, torch {tr['torch_version']})"
            )
            print(
                f"    torch   {fmt_s(tr['torch'])}  {tr['gflops']:6.1f} GFLOP/s "
                f"({100 * tr['gflops'] / gemm['float32']:4.1f}% of GEMM)  "
                f"runs {fmt_times(tr['times'])}"
            )
            parts = [
                f"{LABEL[v]}/torch {ref[f'ours_{v}'] / tr['torch']:.3f}"
                for v in ours_variants()
            ]
            print(
                f"    {'   '.join(parts)}   sklearn/torch "
                f"{ref['sklearn'] / tr['torch']:.3f}"
            )
            tr["ours_over_torch"] = ref["ours"] / tr["torch"]
            for v in ours_variants():
                tr[f"ours_{v}_over_torch"] = ref[f"ours_{v}"] / tr["torch"]
            tr["sklearn_over_torch"] = ref["sklearn"] / tr["torch"]
            contention_note("W1-torch-float32", busy, results)
    return results


def w1_replay(args, counts):
    """A callable timing ``gemm_replay(*args)``; it appends the count to ``counts``."""

    def replay():
        dt, count = gemm_replay(*args)
        counts.append(count)
        return dt

    return replay


GEMM_REPLAY_GOAL = 1.10  # issue 17: the fit's time / its GEMM calls' time


def replay_summary(times, replay_times, count):
    """Print and return the fit / GEMM-replay ratios (paired within each group)."""
    rep = statistics.median(replay_times)
    out = {"replay_s": rep, "replay_runs": replay_times, "products": count}
    parts = []
    for v in ours_variants():
        pr = [a / b for a, b in zip(times[v], replay_times, strict=True)]
        out[f"paired_ratio_{v}"] = statistics.median(pr)
        out[f"paired_ratios_{v}"] = pr
        parts.append(
            f"{LABEL[v]} {statistics.median(pr):.3f} [{min(pr):.3f}-{max(pr):.3f}]"
        )
    print(
        f"    GEMM replay (the fit's {count} matrix products alone, same shapes and "
        f"buffers): {fmt_s(rep)}  runs {fmt_times(replay_times)}"
    )
    print(
        "    fit / GEMM replay (paired, median [min-max]; goal <= "
        f"{GEMM_REPLAY_GOAL}): " + ";  ".join(parts)
    )
    return out


TORCH_CHILD = r"""
import json, sys, time
import numpy as np
import torch
from sklearn.datasets import make_classification
n, repeats = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(2)
X, y = make_classification(n, 100, n_informative=50, n_classes=10, random_state=0)
Xt = torch.from_numpy(X.astype(np.float32))
yt = torch.from_numpy(y).long()
def fit(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(100, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for epoch in range(3):
        perm = torch.randperm(n)
        for i in range(0, n, 256):
            idx = perm[i:i + 256]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return time.perf_counter() - t0, float(loss)
fit(1)  # warm-up
times = []
for r in range(repeats):
    dt, loss = fit(0)
    times.append(dt)
print(json.dumps({"times": times, "version": torch.__version__,
                  "threads": torch.get_num_threads(), "last_batch_loss": loss}))
"""


def run_w1_torch(n, repeats, flops):
    try:
        out = subprocess.run(
            [sys.executable, "-c", TORCH_CHILD, str(n), str(repeats)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        res = json.loads(out.stdout.strip().splitlines()[-1])
    except Exception:  # torch is optional: skip the row silently
        return None
    t = statistics.median(res["times"])
    return {
        "torch": t,
        "times": res["times"],
        "torch_version": res["version"],
        "threads": res["threads"],
        "gflops": flops / t / 1e9,
        "unit": "s",
    }


# ---------------------------------------------------------------------- W2 / W3
def w2_data(n):
    return make_classification(n, 20, n_informative=10, n_classes=3, random_state=0)


W2_PARAMS = dict(
    hidden_layer_sizes=(32,),
    activation="tanh",
    solver="sgd",
    learning_rate_init=0.01,
    batch_size=1,
    max_iter=1,
    tol=0.0,
    n_iter_no_change=1000,
    random_state=0,
)
W3_PARAMS = dict(W2_PARAMS, batch_size=32, max_iter=2)


def run_throughput(key, title, params, n, repeats, chaotic=False):
    X, y = w2_data(n)
    epochs = params["max_iter"]
    warm_up(key, params, X, y)
    with KeptLoad() as busy:
        times, last = alternate_fits(params, X, y, repeats, key)
    med = medians(times)
    rate = {v: n * epochs / t for v, t in med.items()}
    print(f"\n## {key}: {title}")
    for v in VARIANTS:
        print(
            f"    {LABEL[v]:<15} {fmt_s(med[v])}  {rate[v]:10.0f} samples/s  "
            f"runs {fmt_times(times[v])}"
        )
    r = compare(med, "s", times)
    print_ratios(r)
    losses, rel = loss_lines(last, chaotic=chaotic)
    notes = check_epochs(last, epochs)
    for note in notes:
        print(f"    NOTE: {note}")
    r.update(
        samples_per_s=rate,
        final_loss=losses,
        loss_rel_diff=rel,
        notes=notes,
    )
    if chaotic:
        r["loss_check"] = (
            "numpy path vs sklearn only; the kernel run's difference is informational "
            "(chaotic trajectory)"
        )
    results = {key: r}
    contention_note(key, busy, results)
    return results


def run_w2(sizes, repeats):
    n = sizes["W2_n"]
    return run_throughput(
        "W2",
        f"lecture SGD, make_classification({n}, 20, 3 classes), (32,) tanh, "
        "sgd lr 0.01, batch_size=1, 1 epoch",
        W2_PARAMS,
        n,
        repeats,
        chaotic=True,
    )


def run_w3(sizes, repeats):
    n = sizes["W3_n"]
    return run_throughput(
        "W3",
        f"make_classification({n}, 20, 3 classes), (32,) tanh, sgd lr 0.01, "
        "batch 32, 2 epochs",
        W3_PARAMS,
        n,
        repeats,
    )


# ---------------------------------------------------------------------- W4
W4_PARAMS = dict(hidden_layer_sizes=(64, 64), max_iter=5, random_state=0)


def run_w4(sizes, repeats):
    calls = sizes["W4_calls"]
    X, y = w2_data(FULL["W2_n"])
    # One model per variant, fitted and used under its own setting (a network's
    # buffers keep the setting they were made under).
    models = {v: _fit_timed(v, W4_PARAMS, X, y)[1] for v in VARIANTS}
    rows = [X[i : i + 1] for i in range(len(X))]
    for v in VARIANTS:  # warm-up
        with setting(v):
            for r in rows[:50]:
                models[v].predict(r)
    per_run = {v: [] for v in VARIANTS}
    busy = KeptLoad().__enter__()

    def group():
        out = {}
        for v in VARIANTS:
            m = models[v]
            per_call = np.empty(calls)
            clock = time.perf_counter
            with setting(v):
                for i in range(calls):
                    r = rows[i % len(rows)]
                    t0 = clock()
                    m.predict(r)
                    per_call[i] = clock() - t0
            out[v] = float(np.median(per_call)) * 1e6
        return out

    for _ in range(repeats):
        for v, med_us in run_pair(group, "W4").items():
            per_run[v].append(med_us)
    busy.__exit__(None, None, None)
    preds = {}
    for v in VARIANTS:
        with setting(v):
            preds[v] = models[v].predict(X)
    agree = {v: float(np.mean(preds[v] == preds[SK])) for v in ours_variants()}
    med = medians(per_run)
    print(
        f"\n## W4: predict() on one row, fitted (64, 64) relu adam classifier "
        f"(5 epochs on W2 data), median of {calls} calls per run"
    )
    for v in VARIANTS:
        print(f"    {LABEL[v]:<15} {med[v]:8.1f} us/call  runs {fmt_times(per_run[v])}")
    r = compare(med, "us", per_run)
    print_ratios(r)
    print(
        "    predictions agree with sklearn's on "
        + ", ".join(f"{100 * agree[v]:.1f}% ({LABEL[v]})" for v in ours_variants())
        + f" of the {len(X)} rows"
    )
    r.update(calls=calls, prediction_agreement=agree)
    results = {"W4": r}
    contention_note("W4", busy, results)
    return results


# ---------------------------------------------------------------- compile time
COMPILE_CHILD = r"""
import importlib, json, os, sys, time, warnings
sys.path.insert(0, sys.argv[1])
steps = json.loads(sys.argv[2])
res = {"cache_dir": os.environ.get("NUMBA_CACHE_DIR")}
t0 = time.perf_counter()
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from skbackprop import BackpropClassifier, config_context
res["import_skbackprop_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
import numba
res["import_numba_s"] = time.perf_counter() - t0
res["numba"] = numba.__version__
t0 = time.perf_counter()
for name in ("_kernels.epoch", "_kernels.fused"):
    importlib.import_module("skbackprop." + name)
res["import_kernel_modules_s"] = time.perf_counter() - t0
warnings.simplefilter("ignore", ConvergenceWarning)
X, y = make_classification(300, 20, n_informative=10, n_classes=3, random_state=0)
res["steps"] = []
for name, params, dtype in steps:
    Xd = X.astype(dtype)
    times = []
    with config_context(kernels=True):
        for _ in range(2):  # the first compiles or loads; the second is the fit alone
            t0 = time.perf_counter()
            BackpropClassifier(**params).fit(Xd, y)
            times.append(time.perf_counter() - t0)
    res["steps"].append({"name": name, "dtype": dtype, "first_s": times[0],
                         "second_s": times[1]})
files = [f for _, _, fs in os.walk(res["cache_dir"]) for f in fs]
res["cache_files"] = len(files)
print(json.dumps(res))
"""


def compile_steps():
    """(name, params, dtype) of the small fits that trigger each kernel the
    benchmark uses: the epoch kernel (W2/W3's per-example SGD) and the fused passes
    (W1/W4/W5's relu Adam, batch 256 > 64), in float64 and float32."""
    epoch = dict(W2_PARAMS, max_iter=1)
    fused = dict(W1_PARAMS, max_iter=1)
    return [
        ("epoch kernel (sgd, batch 1)", epoch, "float64"),
        ("epoch kernel (sgd, batch 1)", epoch, "float32"),
        ("fused kernels (adam relu, batch 256)", fused, "float64"),
        ("fused kernels (adam relu, batch 256)", fused, "float32"),
    ]


def _compile_child(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, SKBACKPROP_KERNELS="1")
    out = subprocess.run(
        [sys.executable, "-c", COMPILE_CHILD, REPO, json.dumps(compile_steps())],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    if out.returncode != 0:
        raise RuntimeError(f"compile-time child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_compile_time():
    """Compile time of the kernels, measured apart from the benchmark.

    Two fresh subprocesses share a new, empty ``NUMBA_CACHE_DIR``: the first
    compiles every kernel (cold cache) and writes the cache, the second loads it
    (warm cache, as every process after the first does). In each, every step fits
    a small model twice; the first fit's excess over the second is the compile (or
    cache-load) time of the kernels that step uses first. Importing numba (about half
    a second, on the first fit with kernels in a process) is reported on its own.
    """
    cache_dir = tempfile.mkdtemp(prefix="skbackprop-numba-cache-")
    try:
        with Contention() as busy:
            cold = _compile_child(cache_dir)
            warm = _compile_child(cache_dir)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    print(
        "\n## Kernel compile time (subprocesses with a fresh NUMBA_CACHE_DIR: "
        "cold cache, then the same cache warm)"
    )
    print(
        f"    import numba: cold {cold['import_numba_s']:.2f} s, warm "
        f"{warm['import_numba_s']:.2f} s; import of the kernel modules: cold "
        f"{cold['import_kernel_modules_s']:.2f} s, warm "
        f"{warm['import_kernel_modules_s']:.2f} s"
    )
    total = {"cold": 0.0, "warm": 0.0}
    for sc, sw in zip(cold["steps"], warm["steps"], strict=True):
        ec = sc["first_s"] - sc["second_s"]
        ew = sw["first_s"] - sw["second_s"]
        total["cold"] += ec
        total["warm"] += ew
        print(
            f"    {sc['name']:<38} {sc['dtype']}: first fit cold "
            f"{sc['first_s']:6.2f} s, warm {sw['first_s']:5.2f} s (the same fit again: "
            f"{sc['second_s']:.3f} s / {sw['second_s']:.3f} s)"
        )
    imports = {
        k: r["import_numba_s"] + r["import_kernel_modules_s"]
        for k, r in (("cold", cold), ("warm", warm))
    }
    print(
        f"compile time (cold cache): {total['cold'] + imports['cold']:.1f} s; "
        f"first fit with a warm cache: {total['warm'] + imports['warm']:.2f} s"
    )
    print(
        f"    (sums over the four first fits of their excess over a second fit: "
        f"{total['cold']:.2f} s cold, {total['warm']:.2f} s warm, plus importing "
        f"numba and the kernel modules: {imports['cold']:.2f} s / "
        f"{imports['warm']:.2f} s; {cold['cache_files']} cache files written; "
        "excluded from all the figures below, which follow untimed warm-up fits)"
    )
    res = {
        "cold_s": total["cold"] + imports["cold"],
        "warm_s": total["warm"] + imports["warm"],
        "cold_kernels_s": total["cold"],
        "warm_kernels_s": total["warm"],
        "cold": cold,
        "warm": warm,
    }
    if busy.others is not None:
        res["other_cores"] = busy.others
        print(f"    other processes used {busy.others:.2f} cores on average meanwhile")
    return res


# ---------------------------------------------------------------------- W5
W5_CHILD = r"""
import json, resource, sys, time, warnings
sys.path.insert(0, sys.argv[4])
lib, n, mode, warm = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[5] == "1"
import numpy as np
from sklearn.exceptions import ConvergenceWarning
if lib == "ours":
    from skbackprop import BackpropClassifier as Est
    from skbackprop import get_config
else:
    from sklearn.neural_network import MLPClassifier as Est

def maxrss():  # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def status(key):  # VmRSS (current) or VmHWM (peak) of this process, bytes
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

params = dict(hidden_layer_sizes=(256,), max_iter=1, tol=0.0, n_iter_no_change=1000,
              random_state=0)
warnings.simplefilter("ignore", ConvergenceWarning)
res = {"after_import_rss": status("VmRSS"), "after_import_hwm": status("VmHWM"),
       "ru_maxrss_at_start": maxrss()}
if lib == "ours":
    res["kernels_setting"] = str(get_config()["kernels"])
rng = np.random.default_rng(0)
if warm and lib == "ours" and get_config()["kernels"] is True:
    import numba  # RSS of numba (and llvmlite) alone, before any kernel is loaded
    res["after_numba_import_rss"] = status("VmRSS")
if warm:  # untimed small fit: numba imported, kernels loaded, before the peak is reset
    Xw = rng.standard_normal((300, 100), dtype=np.float32)
    t0 = time.perf_counter()
    Est(**params).fit(Xw, rng.integers(0, 10, 300))
    res["warmup_fit_s"] = time.perf_counter() - t0
    del Xw
res["after_warmup_rss"] = status("VmRSS")
res["numba_imported"] = "numba" in sys.modules
X = rng.standard_normal((n, 100), dtype=np.float32)
y = rng.integers(0, 10, n)
res["x_bytes"] = X.nbytes
res["baseline_rss"] = status("VmRSS")
res["baseline_hwm"] = status("VmHWM")
est = Est(**params)
try:  # reset the peak (VmHWM) to the current RSS, so it measures the fit alone
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    res["hwm_reset"] = True
except OSError:
    res["hwm_reset"] = False
if mode == "trace":
    import tracemalloc
    tracemalloc.start()
t0 = time.perf_counter()
est.fit(X, y)
res["fit_s"] = time.perf_counter() - t0
if mode == "trace":
    res["traced_peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
res["fit_peak_hwm"] = status("VmHWM")
res["ru_maxrss_after_fit"] = maxrss()
res["coef_dtype"] = str(est.coefs_[0].dtype)
res["numba_imported_after_fit"] = "numba" in sys.modules
print(json.dumps(res))
"""

MiB = 1024.0**2
_W5_ENV = {KERN: "1", NUMPY: "0"}


def _w5_child(variant, n, mode, warm=True):
    lib = "sklearn" if variant == SK else "ours"
    env = dict(os.environ)
    if variant in _W5_ENV:
        env["SKBACKPROP_KERNELS"] = _W5_ENV[variant]
    out = subprocess.run(
        [sys.executable, "-c", W5_CHILD, lib, str(n), mode, REPO, "1" if warm else "0"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    if out.returncode != 0:
        raise RuntimeError(f"W5 child ({LABEL[variant]}) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_w5(sizes, repeats):
    """Peak RSS of fit, one fresh subprocess per run.

    The peak is the child's own VmHWM (/proc/self/status), reset to the current RSS
    just before ``fit`` (``/proc/self/clear_refs``), so it is the peak *during fit*
    (X, imports and all). Each child first makes an untimed fit on 300 rows (for ours
    with kernels: numba imported and the kernels loaded, as in any later fit of a
    process), before X is made and the peak reset. The kernel setting reaches the
    child as ``SKBACKPROP_KERNELS=1`` or ``0``. With kernels, one more child fits
    without that warm-up: its peak includes importing numba (informational).
    ``ru_maxrss`` is reported too but is not used: on Linux a child started by
    fork/vfork + exec inherits the parent's peak RSS in ru_maxrss (exec stores the
    old mm's high-water mark in signal->maxrss), so in a child of this benchmark it
    shows the benchmark's own RSS, not the child's.
    """
    n = sizes["W5_n"]
    runs = {v: [] for v in VARIANTS}
    with Contention() as busy:
        for _ in range(repeats):
            for v in VARIANTS:
                runs[v].append(_w5_child(v, n, "rss"))  # memory: no redo
        traced = {v: _w5_child(v, n, "trace") for v in VARIANTS}
        cold = _w5_child(KERN, n, "rss", warm=False) if KERN in VARIANTS else None

    def med(rs, f):
        return statistics.median(f(r) for r in rs) / MiB

    summary = {}
    for v in VARIANTS:
        rs = runs[v]
        summary[v] = {
            "after_import_rss_mib": med(rs, lambda r: r["after_import_rss"]),
            "after_warmup_rss_mib": med(rs, lambda r: r["after_warmup_rss"]),
            "baseline_rss_mib": med(rs, lambda r: r["baseline_rss"]),
            "fit_peak_mib": med(rs, lambda r: r["fit_peak_hwm"]),
            "increase_mib": med(rs, lambda r: r["fit_peak_hwm"] - r["baseline_rss"]),
            "process_peak_mib": med(
                rs, lambda r: max(r["fit_peak_hwm"], r["baseline_hwm"])
            ),
            "ru_maxrss_after_fit_mib": med(rs, lambda r: r["ru_maxrss_after_fit"]),
            "ru_maxrss_at_start_mib": med(rs, lambda r: r["ru_maxrss_at_start"]),
            "fit_s": statistics.median(r["fit_s"] for r in rs),
            "warmup_fit_s": statistics.median(r["warmup_fit_s"] for r in rs),
            "traced_peak_mib": traced[v]["traced_peak"] / MiB,
            "after_numba_import_rss_mib": (
                med(rs, lambda r: r["after_numba_import_rss"])
                if "after_numba_import_rss" in rs[0]
                else None
            ),
            "coef_dtype": rs[0]["coef_dtype"],
            "kernels_setting": rs[0].get("kernels_setting"),
            "numba_imported": rs[0]["numba_imported"],
            "hwm_reset": all(r["hwm_reset"] for r in rs),
            "fit_peaks_mib": [r["fit_peak_hwm"] / MiB for r in rs],
        }
    x_mib = runs[VARIANTS[0]][0]["x_bytes"] / MiB
    print(
        f"\n## W5: peak RSS during fit on {n} x 100 float32 (X = {x_mib:.1f} MiB), "
        "10 classes, (256,) relu adam, 1 epoch, one subprocess per run "
        "(after an untimed 300-row fit)"
    )
    for v in VARIANTS:
        s = summary[v]
        print(
            f"    {LABEL[v]:<15} peak {s['fit_peak_mib']:7.1f} MiB | RSS after imports "
            f"{s['after_import_rss_mib']:6.1f}, after warm-up fit "
            f"{s['after_warmup_rss_mib']:6.1f}, "
            f"baseline with X {s['baseline_rss_mib']:6.1f}, "
            f"fit's increase {s['increase_mib']:6.1f} MiB "
            f"({s['increase_mib'] / x_mib:4.2f} x X)"
            f" | tracemalloc peak in fit {s['traced_peak_mib']:6.1f} MiB "
            f"({s['traced_peak_mib'] / x_mib:4.2f} x X) | fit {s['fit_s']:.2f} s | "
            f"trained in {s['coef_dtype']}"
            + (" | numba loaded" if s["numba_imported"] else "")
        )
    if KERN in VARIANTS and summary[KERN]["after_numba_import_rss_mib"] is not None:
        s = summary[KERN]
        print(
            f"    ({LABEL[KERN]}: importing numba raises the RSS from "
            f"{s['after_import_rss_mib']:.1f} to {s['after_numba_import_rss_mib']:.1f}"
            f" MiB, loading the kernels in the warm-up fit to "
            f"{s['after_warmup_rss_mib']:.1f} MiB; part of every peak of a process "
            "that fits with kernels)"
        )
    r = compare({v: summary[v]["fit_peak_mib"] for v in VARIANTS}, "MiB")
    print_ratios(r)
    print(
        "    fit's increase: "
        + ", ".join(
            f"{LABEL[v]} {summary[v]['increase_mib']:.1f} MiB" for v in VARIANTS
        )
    )
    if cold is not None:
        cp = cold["fit_peak_hwm"] / MiB
        ci = (cold["fit_peak_hwm"] - cold["baseline_rss"]) / MiB
        print(
            f"    (informational: {LABEL[KERN]} without the warm-up fit, numba "
            f"imported and the kernels loaded inside fit: peak {cp:.1f} MiB, "
            f"fit's increase {ci:.1f} MiB, fit {cold['fit_s']:.2f} s; ratio to sklearn "
            f"{cp / r['sklearn']:.3f})"
        )
    if not all(summary[v]["hwm_reset"] for v in VARIANTS):
        print("    NOTE: /proc/self/clear_refs not writable: peak includes imports")
    print(
        "    (ru_maxrss after fit: "
        + ", ".join(
            f"{LABEL[v]} {summary[v]['ru_maxrss_after_fit_mib']:.1f}" for v in VARIANTS
        )
        + f" MiB; already {summary[VARIANTS[0]]['ru_maxrss_at_start_mib']:.1f} MiB at "
        "the child's start, inherited from this parent process, so not used)"
    )
    copies = {v: summary[v]["traced_peak_mib"] >= 0.95 * x_mib for v in ours_variants()}
    for v in ours_variants():
        verdict = (
            "likely copies X: numpy allocations during fit reach X's size"
            if copies[v]
            else "does not copy X: numpy allocations during fit stay below X's size"
        )
        print(f"    {LABEL[v]}: fit {verdict}")
    r.update(x_mib=x_mib, detail=summary, ours_copies_x=copies)
    if cold is not None:
        r["kernels_without_warmup"] = {
            "fit_peak_mib": cold["fit_peak_hwm"] / MiB,
            "increase_mib": (cold["fit_peak_hwm"] - cold["baseline_rss"]) / MiB,
            "fit_s": cold["fit_s"],
            "ratio": cold["fit_peak_hwm"] / MiB / r["sklearn"],
        }
    results = {"W5": r}
    contention_note("W5", busy, results, timing=False)
    return results


# ---------------------------------------------------------------------- summary
def fmt_value(v, unit):
    if unit == "s":
        return f"{v:.3f} s"
    if unit == "us":
        return f"{v:.1f} us"
    if unit == "MiB":
        return f"{v:.1f} MiB"
    return f"{v:.3g}"


def summary_table(results, quick):
    g = goal_variant()
    print(
        "\n## Summary"
        + (" (--quick: reduced sizes, goals not meaningful)" if quick else "")
    )
    print(
        f"\nGoals are evaluated on {LABEL[g]} / sklearn. Ratios are ours / sklearn "
        "(time, latency or peak memory: lower is better) of the medians; speedups "
        "are sklearn / ours. 'paired' is the median of the ratios within each group "
        "of runs (not used for the goals)."
    )
    print()
    short = {KERN: "kernels", NUMPY: "numpy"}
    cols = (
        [LABEL[v] for v in VARIANTS]
        + [f"{short[v]}/sklearn (speedup)" for v in ours_variants()]
        + [f"{short[g]}/sklearn paired [min-max]"]
    )
    print("| workload | " + " | ".join(cols) + " | goal | met |")
    print("|---" * (len(cols) + 3) + "|")
    met_all = {}
    for key, r in results.items():
        if key not in GOALS:
            continue
        metric, op, thr, desc = GOALS[key]
        val = r[metric]
        met = val <= thr if op == "<=" else val >= thr
        met_all[key] = met
        r["goal"] = desc
        r["met"] = met
        unit = r["unit"]
        values = [
            fmt_value(r["sklearn"] if v == SK else r[f"ours_{v}"], unit)
            for v in VARIANTS
        ]
        ratios = [
            f"{r[f'ratio_{v}']:.3f} ({r[f'speedup_{v}']:.2f}x)" for v in ours_variants()
        ]
        if f"paired_ratio_{g}" in r:
            pr = r[f"paired_ratios_{g}"]
            ratios.append(f"{r[f'paired_ratio_{g}']:.3f} [{min(pr):.3f}-{max(pr):.3f}]")
        else:
            ratios.append("-")
        print(
            f"| {key} | "
            + " | ".join(values + ratios)
            + f" | {desc} | {'yes' if met else 'no'} |"
        )
    if "W1-torch-float32" in results:
        t = results["W1-torch-float32"]
        print(
            f"\nW1-torch-float32 (info): torch {t['torch']:.3f} s; "
            + ", ".join(
                f"{LABEL[v]}/torch {t[f'ours_{v}_over_torch']:.3f}"
                for v in ours_variants()
            )
        )
    busy = [
        f"{k} ({r['other_cores']:.2f} cores)"
        for k, r in results.items()
        if isinstance(r, dict) and r.get("other_cores", 0) > BUSY_CORES
    ]
    if busy:
        print(
            "\nWARNING: other processes were using the CPUs during: "
            + ", ".join(busy)
            + ". Re-run on an idle machine (see --wait-idle)."
        )
    return met_all


# ---------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="1 repeat, small sizes (smoke test)"
    )
    ap.add_argument(
        "--repeats", type=int, default=None, help="runs per variant (default 3)"
    )
    ap.add_argument(
        "--only", default=None, help="comma-separated workloads, e.g. W1,W4"
    )
    ap.add_argument(
        "--kernels",
        choices=("both", "on", "off"),
        default="both",
        help="measure ours with the compiled kernels on, off (numpy only) or both "
        "(default); goals use the kernel figures where measured",
    )
    ap.add_argument(
        "--skip-compile-time",
        action="store_true",
        help="do not measure the kernels' compile time (two subprocesses, ~30 s)",
    )
    ap.add_argument(
        "--json", default=None, metavar="FILE", help="write results as JSON"
    )
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait up to SECONDS for other processes to leave the CPUs "
        "idle, first and whenever a timed group of runs was disturbed "
        "(which is then redone, at most 3 times)",
    )
    args = ap.parse_args(argv)

    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if repeats < 1:
        ap.error("--repeats must be >= 1")
    sizes = QUICK if args.quick else FULL
    all_w = ["W1", "W2", "W3", "W4", "W5"]
    only = all_w if not args.only else [w.strip().upper() for w in args.only.split(",")]
    unknown = [w for w in only if w not in all_w]
    if unknown:
        ap.error(f"unknown workload(s) {unknown}; choose from {all_w}")
    kernels = args.kernels
    if kernels != "off" and not numba_installed():
        if kernels == "on":
            ap.error("--kernels on needs numba (pip install numba)")
        print("NOTE: numba is not installed: measuring ours with numpy only")
        kernels = "off"
    VARIANTS[:] = {"both": [KERN, NUMPY, SK], "on": [KERN, SK], "off": [NUMPY, SK]}[
        kernels
    ]

    t_start = time.perf_counter()
    info = header()
    info["kernels"] = kernels
    info["variants"] = [LABEL[v] for v in VARIANTS]
    global WAIT_IDLE
    WAIT_IDLE = args.wait_idle
    if args.wait_idle > 0:
        wait_idle(args.wait_idle)
    load = other_load(1.0)
    info["other_cores_at_start"] = load
    if load is not None:
        print(
            f"other load  : {load:.2f} cores busy with other processes at start"
            + ("   <-- WARNING: timings will be unreliable" if load > 0.15 else "")
        )
    print(
        f"settings    : repeats={repeats} ({'quick' if args.quick else 'full'}), "
        f"workloads {','.join(only)}, --kernels {kernels} (variants: "
        f"{', '.join(LABEL[v] for v in VARIANTS)}; goals on {LABEL[goal_variant()]}), "
        f"sizes {sizes}"
    )
    gemm = gemm_gflops()

    compile_time = None
    if KERN in VARIANTS and not args.skip_compile_time:
        compile_time = run_compile_time()

    # Warm-up: one tiny fit per variant (first-call costs, BLAS thread start-up,
    # numba's import). Each workload warms up its own configuration as well.
    Xw, yw = w2_data(300)
    warm_up("start", dict(hidden_layer_sizes=(16,), random_state=0), Xw, yw)
    print(
        "warm-up     : first fits in this process "
        + ", ".join(f"{LABEL[w['variant']]} {w['s']:.2f} s" for w in WARMUPS)
        + " (numba's cache as it is; excluded from the figures)"
    )

    results = {}
    if "W1" in only:
        results.update(run_w1(sizes, repeats, gemm))
    if "W2" in only:
        results.update(run_w2(sizes, repeats))
    if "W3" in only:
        results.update(run_w3(sizes, repeats))
    if "W4" in only:
        results.update(run_w4(sizes, repeats))
    if "W5" in only:
        results.update(run_w5(sizes, repeats))

    met = summary_table(results, args.quick)
    if compile_time is not None:
        print(
            f"\ncompile time (cold cache): {compile_time['cold_s']:.1f} s; first fit "
            f"with a warm cache: {compile_time['warm_s']:.2f} s (not in the figures "
            "above)"
        )
    if REDONE:
        print(
            f"\nruns redone after waiting for an idle machine: {len(REDONE)} "
            f"({', '.join(sorted(set(REDONE)))})"
        )
    total = time.perf_counter() - t_start
    print(f"\ntotal benchmark time {total:.1f} s")
    if args.json:
        payload = {
            "header": info,
            "gemm_gflops": gemm,
            "repeats": repeats,
            "quick": args.quick,
            "sizes": sizes,
            "variants": VARIANTS,
            "goals_on": LABEL[goal_variant()],
            "compile_time": compile_time,
            "warmups": WARMUPS,
            "results": results,
            "goals_met": met,
            "total_s": total,
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2, default=float)
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
