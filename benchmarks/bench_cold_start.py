"""The first fit of a fresh process: empty numba cache, warm cache, numpy only.

```
PYTHONPATH=. python benchmarks/bench_cold_start.py [--runs N] [--json FILE] [--root DIR]
```

Each run is a fresh Python (a subprocess) that imports skbackprop and fits digits
(``load_digits``, default network, ``batch_size=32``, adam, ``max_iter=50``,
``random_state=0``) once, in float64 or float32. Three settings:

* **empty cache**: ``NUMBA_CACHE_DIR`` a new, empty directory per run (a fresh
  install); ``kernels`` at its default (``"auto"``);
* **warm cache**: ``NUMBA_CACHE_DIR`` filled beforehand (untimed) by
  ``skbackprop.compile_kernels()`` where it exists, else by a ``kernels=True``
  digits fit per dtype (what the fit uses);
* **numpy only**: ``SKBACKPROP_KERNELS=0``.

Times are from the child's start (before ``import skbackprop``) to the end of the
fit, and the fit alone; the medians of ``--runs`` runs (default 3), settings
interleaved. ``--root`` runs another checkout's skbackprop (the "before" figures).
The goals (issue 17): empty cache within 1.5x of numpy only, warm cache within
1.1x, and no silent wait over 2 s.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import time
t0 = time.perf_counter()
import json, sys, warnings
import skbackprop
from sklearn.datasets import load_digits
from skbackprop import BackpropClassifier
t_import = time.perf_counter() - t0
X, y = load_digits(return_X_y=True)
X = X.astype(sys.argv[1])
warnings.simplefilter("ignore")
t1 = time.perf_counter()
model = BackpropClassifier(batch_size=32, max_iter=50, random_state=0).fit(X, y)
t_fit = time.perf_counter() - t1
print(json.dumps({
    "total_s": time.perf_counter() - t0, "import_s": t_import, "fit_s": t_fit,
    "numba_imported": "numba" in sys.modules,
    "loss": float(model.loss_),
}))
"""

PREPARE = r"""
import sys, warnings
import skbackprop
warnings.simplefilter("ignore")
if hasattr(skbackprop, "compile_kernels"):
    skbackprop.compile_kernels()
else:
    from sklearn.datasets import load_digits
    from skbackprop import BackpropClassifier, config_context
    X, y = load_digits(return_X_y=True)
    with config_context(kernels=True):
        for dtype in ("float64", "float32"):
            BackpropClassifier(batch_size=32, max_iter=1).fit(X.astype(dtype), y)
"""


def _child(code, args, env):
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr)
    return done.stdout, done.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--root", default=os.getcwd())
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if not k.startswith("SKBACKPROP")}
    base["PYTHONPATH"] = os.path.abspath(args.root)
    with tempfile.TemporaryDirectory() as tmp:
        warm_dir = os.path.join(tmp, "warm")
        t = time.perf_counter()
        _child(PREPARE, [], dict(base, NUMBA_CACHE_DIR=warm_dir))
        prepare_s = time.perf_counter() - t
        results = {}
        for run in range(args.runs):
            for dtype in ("float64", "float32"):
                settings = {
                    "empty cache": dict(
                        base, NUMBA_CACHE_DIR=os.path.join(tmp, f"cold{run}{dtype}")
                    ),
                    "warm cache": dict(base, NUMBA_CACHE_DIR=warm_dir),
                    "numpy only": dict(base, SKBACKPROP_KERNELS="0"),
                }
                for name, env in settings.items():
                    out, err = _child(CHILD, [dtype], env)
                    record = json.loads(out)
                    record["stderr_lines"] = [
                        line for line in err.splitlines() if "compiling" in line
                    ]
                    results.setdefault(f"{dtype} / {name}", []).append(record)
    table = {}
    print(f"root: {args.root}; warm cache prepared in {prepare_s:.1f} s")
    print(
        f"{'dtype / setting':<24} {'total s':>8} {'fit s':>7} {'import s':>8} "
        f"{'vs numpy':>8}  numba  notice"
    )
    for key, records in results.items():
        dtype = key.split(" / ")[0]
        med = {
            k: statistics.median(r[k] for r in records)
            for k in ("total_s", "fit_s", "import_s")
        }
        numpy_total = statistics.median(
            r["total_s"] for r in results[f"{dtype} / numpy only"]
        )
        med["ratio_vs_numpy"] = med["total_s"] / numpy_total
        med["numba_imported"] = any(r["numba_imported"] for r in records)
        med["notice"] = any(r["stderr_lines"] for r in records)
        med["runs"] = records
        table[key] = med
        print(
            f"{key:<24} {med['total_s']:8.2f} {med['fit_s']:7.2f} "
            f"{med['import_s']:8.2f} {med['ratio_vs_numpy']:8.2f}  "
            f"{'yes' if med['numba_imported'] else 'no':5}  "
            f"{'yes' if med['notice'] else 'no'}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"root": args.root, "prepare_s": prepare_s, "results": table},
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
