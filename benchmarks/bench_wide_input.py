"""Time and peak memory of a small-batch fit on wide input, kernels on and off.

Issue 17: with ``batch_size <= 64`` the compiled epoch once sized its scratch by
the widest layer, input included (an n_features x n_features matrix). Each
setting runs in a fresh process: numba and the kernel are loaded by a small
warm-up fit first (in both runs, so that they count in neither), then the peak
resident memory (``VmHWM``, reset through ``/proc/self/clear_refs``) and the time
of the measured fit alone are taken.

    PYTHONPATH=. python benchmarks/bench_wide_input.py [--features 25000]
        [--rows 256] [--hidden 64] [--batch 32] [--epochs 3] [--repeats 1]
        [--src DIR] [--json FILE]

``--src`` measures the skbackprop found in DIR (e.g. an older tree made with
``git archive``) instead of the importable one. Linux only (``/proc``).
"""

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np
import skbackprop
from skbackprop import BackpropRegressor

def status(key):  # VmRSS (now) or VmHWM (peak) of this process, in bytes
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

features, rows, hidden, batch, epochs, kernels = sys.argv[2:8]
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.standard_normal((int(rows), int(features)))
y = X[:, :5].sum(axis=1)
params = dict(hidden_layer_sizes=(int(hidden),), solver="sgd", batch_size=int(batch),
              max_iter=int(epochs), learning_rate_init=1e-4, tol=0.0,
              n_iter_no_change=10**6, random_state=0)
with skbackprop.config_context(kernels=True):
    BackpropRegressor(**{**params, "max_iter": 1}).fit(X[:64, :30], y[:64])
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status("VmRSS")
with skbackprop.config_context(kernels=kernels == "1"):
    start = time.perf_counter()
    est = BackpropRegressor(**params).fit(X, y)
    seconds = time.perf_counter() - start
print(json.dumps({"fit_s": seconds, "fit_peak_mib": (status("VmHWM") - before) / 2**20,
                  "n_iter": est.n_iter_, "x_mib": X.nbytes / 2**20}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=25_000)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--src", default=".")
    parser.add_argument("--json")
    args = parser.parse_args()
    settings = [
        str(v) for v in (args.features, args.rows, args.hidden, args.batch, args.epochs)
    ]
    results = {"settings": vars(args), "runs": []}
    for repeat in range(args.repeats):
        for kernels in ("1", "0"):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, args.src, *settings, kernels],
                capture_output=True,
                text=True,
                check=True,
            )
            run = json.loads(out.stdout.strip().splitlines()[-1])
            run.update(kernels=kernels == "1", repeat=repeat)
            results["runs"].append(run)
            print(
                f"kernels={'on ' if run['kernels'] else 'off'}  "
                f"fit {run['fit_s']:8.3f} s  peak {run['fit_peak_mib']:9.1f} MiB  "
                f"(X {run['x_mib']:.1f} MiB, {run['n_iter']} epochs)",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
