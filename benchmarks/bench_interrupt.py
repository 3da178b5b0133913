"""Ctrl-C latency: seconds from SIGINT to ``fit`` returning, kernels on and off.

Issue 17: a Ctrl-C during a compiled epoch once waited for the epoch to end. A
large ``batch_size=1`` fit runs in a fresh process per run; after a small
warm-up fit (the kernel loaded), another process sends it SIGINT ``--delay``
seconds into the measured fit (as a terminal's Ctrl-C, whatever holds the GIL: a
thread of the process could not send it while compiled code runs), which should
catch it, warn and return with the last completed epoch's weights. The latency is
from the moment the signal is sent (wall clock, written by the sender) to ``fit``
returning.

    PYTHONPATH=. python benchmarks/bench_interrupt.py [--rows 2000000]
        [--features 10] [--hidden 32] [--delay 3] [--repeats 2] [--src DIR]
        [--json FILE]

``--src`` measures the skbackprop found in DIR (e.g. an older tree made with
``git archive``) instead of the importable one. POSIX only (SIGINT to itself).
"""

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, os, subprocess, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np
import skbackprop
from skbackprop import BackpropRegressor

rows, features, hidden, delay, kernels = sys.argv[2:7]
rng = np.random.default_rng(0)
X = rng.standard_normal((int(rows), int(features)))
y = X @ rng.standard_normal(int(features))
params = dict(hidden_layer_sizes=(int(hidden),), solver="sgd", batch_size=1,
              learning_rate_init=1e-3, max_iter=5, random_state=0)
SENDER = ("import os, signal, sys, time; time.sleep(float(sys.argv[1])); "
          "print(repr(time.time()), flush=True); "
          "os.kill(int(sys.argv[2]), signal.SIGINT)")

with skbackprop.config_context(kernels=kernels == "1"), warnings.catch_warnings(
    record=True
) as caught:
    warnings.simplefilter("always")
    BackpropRegressor(**{**params, "max_iter": 1}).fit(X[:200], y[:200])
    caught.clear()
    est = BackpropRegressor(**params)
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER, delay, str(os.getpid())],
        stdout=subprocess.PIPE, text=True,
    )
    time.sleep(0.3)  # the sender's interpreter starts before its delay counts
    start = time.time()
    try:
        est.fit(X, y)
        escaped = False
    except KeyboardInterrupt:
        escaped = True
    end = time.time()
    sent = float(sender.communicate()[0])
warned = any("interrupted" in str(w.message) for w in caught)
print(json.dumps({"latency_s": end - sent, "signal_after_s": sent - start,
                  "escaped": escaped, "warned": warned,
                  "n_iter": getattr(est, "n_iter_", None)}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--delay", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--kernels", choices=["both", "on", "off"], default="both")
    parser.add_argument("--src", default=".")
    parser.add_argument("--json")
    args = parser.parse_args()
    settings = [str(v) for v in (args.rows, args.features, args.hidden, args.delay)]
    modes = {"both": ("1", "0"), "on": ("1",), "off": ("0",)}[args.kernels]
    results = {"settings": vars(args), "runs": []}
    for repeat in range(args.repeats):
        for kernels in modes:
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
                f"latency {run['latency_s']:7.3f} s  (signal at "
                f"{run['signal_after_s']:.2f} s; warned={run['warned']}, "
                f"escaped={run['escaped']}, n_iter_={run['n_iter']})",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
