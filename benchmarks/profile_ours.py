"""Run one benchmark workload with skbackprop only, for a profiler.

Usage::

    PYTHONPATH=. pyinstrument benchmarks/profile_ours.py W1
    PYTHONPATH=. py-spy record -o w2.svg -- python benchmarks/profile_ours.py W2
    PYTHONPATH=. python benchmarks/profile_ours.py W4 --loops 3

Workloads and their data are those of ``bench_vs_sklearn.py`` (W1 is float64 unless
``--float32``). W4 profiles only the single-row ``predict`` calls (the fit runs before
the profiled loop starts when used with ``--profile-with pyinstrument``).
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import bench_vs_sklearn as b  # noqa: E402

from skbackprop import BackpropClassifier  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", choices=["W1", "W2", "W3", "W4"])
    ap.add_argument("--float32", action="store_true")
    ap.add_argument("--loops", type=int, default=1, help="repeat the workload")
    ap.add_argument("--calls", type=int, default=20000, help="W4: predict calls")
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    if args.workload == "W4":
        X, y = b.w2_data(b.FULL["W2_n"])
        est = BackpropClassifier(**b.W4_PARAMS).fit(X, y)
        rows = [X[i : i + 1] for i in range(len(X))]
        t0 = time.perf_counter()
        for _ in range(args.loops):
            for i in range(args.calls):
                est.predict(rows[i % len(rows)])
        dt = time.perf_counter() - t0
        print(f"W4: {1e6 * dt / (args.calls * args.loops):.1f} us per predict call")
        return

    if args.workload == "W1":
        X, y = b.w1_data(b.FULL["W1_n"])
        if args.float32:
            X = X.astype(np.float32)
        params = b.W1_PARAMS
    elif args.workload == "W2":
        X, y = b.w2_data(b.FULL["W2_n"])
        params = b.W2_PARAMS
    else:
        X, y = b.w2_data(b.FULL["W3_n"])
        params = b.W3_PARAMS
    t0 = time.perf_counter()
    for _ in range(args.loops):
        BackpropClassifier(**params).fit(X, y)
    print(f"{args.workload}: {(time.perf_counter() - t0) / args.loops:.3f} s per fit")


if __name__ == "__main__":
    main()
