"""Benchmark skbackprop against scikit-learn's MLPClassifier, in one process.

Usage::

    PYTHONPATH=. python benchmarks/bench_vs_sklearn.py [--quick] [--repeats N]
        [--only W1,W2,...] [--json FILE]

Workloads (see benchmarks/README.md):

* W1  dense training: (256, 256) relu, adam, batch 256, 3 epochs, float64 and float32,
      with GFLOP/s next to the machine's own 1024x1024 GEMM GFLOP/s
      (plus a torch CPU row, in a subprocess, if torch is installed).
* W2  the lecture's SGD: (32,) tanh, sgd, batch_size=1, 1 epoch, samples/s.
* W3  the W2 network on 20,000 rows, batch 32, 2 epochs, samples/s.
* W4  single-row ``predict`` latency on a fitted (64, 64) classifier.
* W5  peak resident memory of ``fit`` on 200,000 x 100 float32 (one subprocess per
      library and repeat).

Runs alternate (ours, sklearn, ours, sklearn, ...) and the median of ``--repeats``
(default 3) is reported. The benchmark never sets OPENBLAS_CORETYPE or
OPENBLAS_L2_SIZE; it reports them and the BLAS kernel threadpoolctl sees. To measure
without them, unset both for that command only::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/...
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
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
from skbackprop import BackpropClassifier  # noqa: E402

OURS, SK = "ours", "sklearn"
ESTIMATORS = {OURS: BackpropClassifier, SK: MLPClassifier}

# Goals: (metric key in the workload result, comparison, threshold, description)
GOALS = {
    "W1-float64": ("ratio", "<=", 0.6, "time ratio <= 0.6"),
    "W1-float32": ("ratio", "<=", 0.6, "time ratio <= 0.6"),
    "W2": ("speedup", ">=", 4.0, "throughput >= 4x"),
    "W3": ("speedup", ">=", 2.5, "throughput >= 2.5x"),
    "W4": ("ratio", "<=", 0.5, "latency ratio <= 0.5"),
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


def _fit_timed(lib, params, X, y):
    est = ESTIMATORS[lib](**params)
    ctx = _quiet()
    try:
        t0 = time.perf_counter()
        est.fit(X, y)
        dt = time.perf_counter() - t0
    finally:
        ctx.__exit__(None, None, None)
    return dt, est


# --wait-idle: seconds to wait for an idle machine before a pair of runs that is
# redone because other processes used the CPUs during it (0: never wait or redo).
WAIT_IDLE = 0.0
BUSY_CORES = 0.15  # other processes' average use above which a run counts as disturbed
MAX_REDO = 3
REDONE = []


def run_pair(fn, what):
    """Run ``fn()`` (one ours/sklearn pair); with --wait-idle, redo it after waiting
    for an idle machine if other processes used the CPUs meanwhile."""
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


KEPT_LOAD = []  # other processes' load during each kept pair of runs


class KeptLoad:
    """Highest other-process load over the pairs of runs kept inside the block."""

    def __enter__(self):
        self._start = len(KEPT_LOAD)
        self.others = None
        return self

    def __exit__(self, *exc):
        vals = [v for v in KEPT_LOAD[self._start :] if v is not None]
        self.others = max(vals) if vals else None
        return False


def alternate_fits(params, X, y, repeats, what="fit"):
    """Fit ours and sklearn alternately; return the times and the last estimators."""
    times = {OURS: [], SK: []}
    last = {}

    def pair():
        return {lib: _fit_timed(lib, params, X, y) for lib in (OURS, SK)}

    for _ in range(repeats):
        for lib, (dt, est) in run_pair(pair, what).items():
            times[lib].append(dt)
            last[lib] = est
    return times, last


def fmt_s(t):
    return f"{t:8.3f} s"


def fmt_times(ts):
    return "[" + ", ".join(f"{t:.3f}" for t in ts) + "]"


def check_epochs(last, expected):
    notes = []
    for lib, est in last.items():
        if est.n_iter_ != expected:
            notes.append(f"{lib} ran {est.n_iter_} epochs, expected {expected}")
    return notes


def loss_line(last):
    lo, ls = float(last[OURS].loss_), float(last[SK].loss_)
    rel = abs(lo - ls) / max(abs(ls), 1e-300)
    return (
        f"    final training loss: ours {lo:.10g}, sklearn {ls:.10g} "
        f"(rel. diff {rel:.1e})",
        rel,
    )


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
        f"{info['skbackprop']} (git {info['git']}, skbackprop/*.py sha256 "
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


def w1_data(n):
    return make_classification(n, 100, n_informative=50, n_classes=10, random_state=0)


def run_w1(sizes, repeats, gemm):
    n = sizes["W1_n"]
    X, y = w1_data(n)
    flops = mlp_train_flops([100, 256, 256, 10], n, W1_PARAMS["max_iter"])
    results = {}
    for dtype in ("float64", "float32"):
        Xd = X.astype(dtype)
        with KeptLoad() as busy:
            times, last = alternate_fits(W1_PARAMS, Xd, y, repeats, f"W1-{dtype}")
        to, ts = statistics.median(times[OURS]), statistics.median(times[SK])
        gf_o, gf_s = flops / to / 1e9, flops / ts / 1e9
        peak = gemm[dtype]
        key = f"W1-{dtype}"
        print(
            f"\n## {key}: make_classification({n}, 100, 10 classes), (256, 256) relu, "
            f"adam, batch 256, 3 epochs"
        )
        print(
            f"    ours    {fmt_s(to)}  {gf_o:6.1f} GFLOP/s "
            f"({100 * gf_o / peak:4.1f}% of GEMM)  runs {fmt_times(times[OURS])}"
        )
        print(
            f"    sklearn {fmt_s(ts)}  {gf_s:6.1f} GFLOP/s "
            f"({100 * gf_s / peak:4.1f}% of GEMM)  runs {fmt_times(times[SK])}"
        )
        print(
            f"    ratio ours/sklearn {to / ts:.3f}   speedup {ts / to:.2f}x   "
            f"(GEMM {dtype} {peak:.1f} GFLOP/s; {flops / 1e9:.2f} GFLOP per fit)"
        )
        line, rel = loss_line(last)
        print(line)
        notes = check_epochs(last, W1_PARAMS["max_iter"])
        for lib, est in last.items():
            if est.coefs_[0].dtype != np.dtype(dtype):
                notes.append(f"{lib} trained in {est.coefs_[0].dtype}, not {dtype}")
        for note in notes:
            print(f"    NOTE: {note}")
        results[key] = {
            "ours": to,
            "sklearn": ts,
            "ratio": to / ts,
            "speedup": ts / to,
            "unit": "s",
            "times": times,
            "gflops": {OURS: gf_o, SK: gf_s},
            "gemm_gflops": peak,
            "flops_per_fit": flops,
            "final_loss": {OURS: float(last[OURS].loss_), SK: float(last[SK].loss_)},
            "loss_rel_diff": rel,
            "notes": notes,
        }
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
            print(
                f"    ours/torch {ref['ours'] / tr['torch']:.3f}   "
                f"sklearn/torch {ref['sklearn'] / tr['torch']:.3f}"
            )
            tr["ours_over_torch"] = ref["ours"] / tr["torch"]
            tr["sklearn_over_torch"] = ref["sklearn"] / tr["torch"]
            contention_note("W1-torch-float32", busy, results)
    return results


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


def run_throughput(key, title, params, n, repeats):
    X, y = w2_data(n)
    epochs = params["max_iter"]
    with KeptLoad() as busy:
        times, last = alternate_fits(params, X, y, repeats, key)
    to, ts = statistics.median(times[OURS]), statistics.median(times[SK])
    rate_o, rate_s = n * epochs / to, n * epochs / ts
    print(f"\n## {key}: {title}")
    print(
        f"    ours    {fmt_s(to)}  {rate_o:10.0f} samples/s  "
        f"runs {fmt_times(times[OURS])}"
    )
    print(
        f"    sklearn {fmt_s(ts)}  {rate_s:10.0f} samples/s  "
        f"runs {fmt_times(times[SK])}"
    )
    print(
        f"    ratio ours/sklearn {to / ts:.3f}   "
        f"speedup (throughput ratio) {ts / to:.2f}x"
    )
    line, rel = loss_line(last)
    print(line)
    notes = check_epochs(last, epochs)
    for note in notes:
        print(f"    NOTE: {note}")
    results = {
        key: {
            "ours": to,
            "sklearn": ts,
            "ratio": to / ts,
            "speedup": ts / to,
            "unit": "s",
            "times": times,
            "samples_per_s": {OURS: rate_o, SK: rate_s},
            "final_loss": {OURS: float(last[OURS].loss_), SK: float(last[SK].loss_)},
            "loss_rel_diff": rel,
            "notes": notes,
        }
    }
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
    models = {lib: _fit_timed(lib, W4_PARAMS, X, y)[1] for lib in (OURS, SK)}
    rows = [X[i : i + 1] for i in range(len(X))]
    for lib in (OURS, SK):  # warm-up
        for r in rows[:50]:
            models[lib].predict(r)
    medians = {OURS: [], SK: []}
    busy = KeptLoad().__enter__()

    def pair():
        out = {}
        for lib in (OURS, SK):
            m = models[lib]
            per_call = np.empty(calls)
            clock = time.perf_counter
            for i in range(calls):
                r = rows[i % len(rows)]
                t0 = clock()
                m.predict(r)
                per_call[i] = clock() - t0
            out[lib] = float(np.median(per_call)) * 1e6
        return out

    for _ in range(repeats):
        for lib, med_us in run_pair(pair, "W4").items():
            medians[lib].append(med_us)
    busy.__exit__(None, None, None)
    p_o, p_s = models[OURS].predict(X), models[SK].predict(X)
    agree = float(np.mean(p_o == p_s))
    lo, ls = statistics.median(medians[OURS]), statistics.median(medians[SK])
    print(
        f"\n## W4: predict() on one row, fitted (64, 64) relu adam classifier "
        f"(5 epochs on W2 data), median of {calls} calls per run"
    )
    print(f"    ours    {lo:8.1f} us/call  runs {fmt_times(medians[OURS])}")
    print(f"    sklearn {ls:8.1f} us/call  runs {fmt_times(medians[SK])}")
    print(
        f"    ratio ours/sklearn {lo / ls:.3f}   speedup {ls / lo:.2f}x   "
        f"(predictions agree on {100 * agree:.1f}% of the 3000 rows)"
    )
    results = {
        "W4": {
            "ours": lo,
            "sklearn": ls,
            "ratio": lo / ls,
            "speedup": ls / lo,
            "unit": "us",
            "medians_us": medians,
            "calls": calls,
            "prediction_agreement": agree,
        }
    }
    contention_note("W4", busy, results)
    return results


# ---------------------------------------------------------------------- W5
W5_CHILD = r"""
import json, resource, sys, time, warnings
sys.path.insert(0, sys.argv[4])
lib, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import numpy as np
from sklearn.exceptions import ConvergenceWarning
if lib == "ours":
    from skbackprop import BackpropClassifier as Est
else:
    from sklearn.neural_network import MLPClassifier as Est

def maxrss():  # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def status(key):  # VmRSS (current) or VmHWM (peak) of this process, bytes
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

res = {"after_import_rss": status("VmRSS"), "after_import_hwm": status("VmHWM"),
       "ru_maxrss_at_start": maxrss()}
rng = np.random.default_rng(0)
X = rng.standard_normal((n, 100), dtype=np.float32)
y = rng.integers(0, 10, n)
res["x_bytes"] = X.nbytes
res["baseline_rss"] = status("VmRSS")
res["baseline_hwm"] = status("VmHWM")
est = Est(hidden_layer_sizes=(256,), max_iter=1, tol=0.0, n_iter_no_change=1000,
          random_state=0)
try:  # reset the peak (VmHWM) to the current RSS, so it measures the fit alone
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    res["hwm_reset"] = True
except OSError:
    res["hwm_reset"] = False
if mode == "trace":
    import tracemalloc
    tracemalloc.start()
warnings.simplefilter("ignore", ConvergenceWarning)
t0 = time.perf_counter()
est.fit(X, y)
res["fit_s"] = time.perf_counter() - t0
if mode == "trace":
    res["traced_peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
res["fit_peak_hwm"] = status("VmHWM")
res["ru_maxrss_after_fit"] = maxrss()
res["coef_dtype"] = str(est.coefs_[0].dtype)
print(json.dumps(res))
"""

MiB = 1024.0**2


def _w5_child(lib, n, mode):
    out = subprocess.run(
        [sys.executable, "-c", W5_CHILD, lib, str(n), mode, REPO],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(f"W5 child ({lib}) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_w5(sizes, repeats):
    """Peak RSS of fit, one fresh subprocess per run.

    The peak is the child's own VmHWM (/proc/self/status), reset to the current RSS
    just before ``fit`` (``/proc/self/clear_refs``), so it is the peak *during fit*
    (X, imports and all). ``ru_maxrss`` is reported too but is not used: on Linux a
    child started by fork/vfork + exec inherits the parent's peak RSS in ru_maxrss
    (exec stores the old mm's high-water mark in signal->maxrss), so in a child of
    this benchmark it shows the benchmark's own RSS, not the child's.
    """
    n = sizes["W5_n"]
    runs = {OURS: [], SK: []}
    with Contention() as busy:
        for _ in range(repeats):
            for lib in (OURS, SK):
                runs[lib].append(_w5_child(lib, n, "rss"))  # memory: no redo
        traced = {lib: _w5_child(lib, n, "trace") for lib in (OURS, SK)}

    def med(rs, f):
        return statistics.median(f(r) for r in rs) / MiB

    summary = {}
    for lib in (OURS, SK):
        rs = runs[lib]
        summary[lib] = {
            "after_import_rss_mib": med(rs, lambda r: r["after_import_rss"]),
            "baseline_rss_mib": med(rs, lambda r: r["baseline_rss"]),
            "fit_peak_mib": med(rs, lambda r: r["fit_peak_hwm"]),
            "increase_mib": med(rs, lambda r: r["fit_peak_hwm"] - r["baseline_rss"]),
            "process_peak_mib": med(
                rs, lambda r: max(r["fit_peak_hwm"], r["baseline_hwm"])
            ),
            "ru_maxrss_after_fit_mib": med(rs, lambda r: r["ru_maxrss_after_fit"]),
            "ru_maxrss_at_start_mib": med(rs, lambda r: r["ru_maxrss_at_start"]),
            "fit_s": statistics.median(r["fit_s"] for r in rs),
            "traced_peak_mib": traced[lib]["traced_peak"] / MiB,
            "coef_dtype": rs[0]["coef_dtype"],
            "hwm_reset": all(r["hwm_reset"] for r in rs),
            "fit_peaks_mib": [r["fit_peak_hwm"] / MiB for r in rs],
        }
    x_mib = runs[OURS][0]["x_bytes"] / MiB
    print(
        f"\n## W5: peak RSS during fit on {n} x 100 float32 (X = {x_mib:.1f} MiB), "
        "10 classes, (256,) relu adam, 1 epoch, one subprocess per run"
    )
    for lib in (OURS, SK):
        s = summary[lib]
        print(
            f"    {lib:<7} peak {s['fit_peak_mib']:7.1f} MiB | RSS after imports "
            f"{s['after_import_rss_mib']:6.1f}, "
            f"baseline with X {s['baseline_rss_mib']:6.1f}, "
            f"fit's increase {s['increase_mib']:6.1f} MiB "
            f"({s['increase_mib'] / x_mib:4.2f} x X)"
            f" | tracemalloc peak in fit {s['traced_peak_mib']:6.1f} MiB "
            f"({s['traced_peak_mib'] / x_mib:4.2f} x X) | fit {s['fit_s']:.2f} s | "
            f"trained in {s['coef_dtype']}"
        )
    po, ps = summary[OURS]["fit_peak_mib"], summary[SK]["fit_peak_mib"]
    print(
        f"    ratio ours/sklearn (peak) {po / ps:.3f}   fit's increase: ours "
        f"{summary[OURS]['increase_mib']:.1f} MiB vs sklearn "
        f"{summary[SK]['increase_mib']:.1f} MiB"
    )
    if not all(summary[lib]["hwm_reset"] for lib in (OURS, SK)):
        print("    NOTE: /proc/self/clear_refs not writable: peak includes imports")
    print(
        "    (ru_maxrss after fit: "
        f"ours {summary[OURS]['ru_maxrss_after_fit_mib']:.1f}, "
        f"sklearn {summary[SK]['ru_maxrss_after_fit_mib']:.1f} MiB; already "
        f"{summary[OURS]['ru_maxrss_at_start_mib']:.1f} MiB at the child's start, "
        "inherited from this parent process, so not used)"
    )
    copies = summary[OURS]["traced_peak_mib"] >= 0.95 * x_mib
    verdict = (
        "likely copies X: numpy allocations during fit reach X's size"
        if copies
        else "does not copy X: numpy allocations during fit stay below X's size"
    )
    print(f"    our fit {verdict}")
    results = {
        "W5": {
            "ours": po,
            "sklearn": ps,
            "ratio": po / ps,
            "speedup": ps / po,
            "unit": "MiB",
            "x_mib": x_mib,
            "detail": summary,
            "ours_copies_x": copies,
        }
    }
    contention_note("W5", busy, results, timing=False)
    return results


# ---------------------------------------------------------------------- summary
def summary_table(results, quick):
    def fmt(v, unit):
        if unit == "s":
            return f"{v:.3f} s"
        if unit == "us":
            return f"{v:.1f} us"
        if unit == "MiB":
            return f"{v:.1f} MiB"
        return f"{v:.3g}"

    print(
        "\n## Summary"
        + (" (--quick: reduced sizes, goals not meaningful)" if quick else "")
    )
    print()
    print("| workload | ours | sklearn | ratio ours/sklearn | speedup | goal | met |")
    print("|---|---|---|---|---|---|---|")
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
        print(
            f"| {key} | {fmt(r['ours'], r['unit'])} | {fmt(r['sklearn'], r['unit'])} | "
            f"{r['ratio']:.3f} | {r['speedup']:.2f}x | {desc} | "
            f"{'yes' if met else 'no'} |"
        )
    busy = [
        f"{k} ({r['other_cores']:.2f} cores)"
        for k, r in results.items()
        if r.get("other_cores", 0) > 0.15
    ]
    if busy:
        print(
            "\nWARNING: other processes were using the CPUs during: "
            + ", ".join(busy)
            + ". Re-run on an idle machine (see --wait-idle)."
        )
    if "W1-torch-float32" in results:
        t = results["W1-torch-float32"]
        print(
            f"| W1-torch-float32 (info) | torch {t['torch']:.3f} s | | ours/torch "
            f"{t['ours_over_torch']:.3f} | | - | - |"
        )
    return met_all


# ---------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="1 repeat, small sizes (smoke test)"
    )
    ap.add_argument(
        "--repeats", type=int, default=None, help="runs per library (default 3)"
    )
    ap.add_argument(
        "--only", default=None, help="comma-separated workloads, e.g. W1,W4"
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
        "idle, first and whenever a timed pair of runs was disturbed "
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

    t_start = time.perf_counter()
    info = header()
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
        f"workloads {','.join(only)}, sizes {sizes}"
    )
    gemm = gemm_gflops()

    # Warm-up: one tiny fit per library (first-call costs, BLAS thread start-up).
    Xw, yw = w2_data(300)
    for lib in (OURS, SK):
        _fit_timed(
            lib, dict(hidden_layer_sizes=(16,), max_iter=2, random_state=0), Xw, yw
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
            "results": results,
            "goals_met": met,
            "total_s": total,
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=2, default=float)
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
