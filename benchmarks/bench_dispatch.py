"""Does ``kernels="auto"`` pick the faster path? A grid of widths, depths and batches.

Usage::

    PYTHONPATH=. python benchmarks/bench_dispatch.py [--quick] [--repeats N]
        [--dtype float64|float32] [--activation relu] [--solver adam]
        [--target-s 0.15] [--json FILE]

With the kernels on, a numpy network trains each epoch either in the epoch kernel
(one compiled call, scalar multiply-adds) or on the BLAS path with the fused
elementwise passes; ``skbackprop._kernels.dispatch.use_epoch_kernel`` chooses from the
configuration. For every point of a grid (hidden width, number of hidden layers,
batch size; the input has ``width`` features, 10 classes) this script fits one
epoch with

* ``numpy``: ``kernels=False``, the generic path;
* ``fused``: kernels on, the epoch kernel declined (BLAS + fused passes);
* ``epoch``: kernels on, the epoch kernel forced (batches up to 256 only);
* ``auto``: kernels on, the rule deciding (the shipped behaviour);

alternating (numpy, fused, epoch, auto, numpy, ...) on one BLAS thread, and reports
the median over the repeats of each path's time divided by the numpy time of the
same round (paired ratios). The rows of each point are scaled so that one fit
takes about ``--target-s`` seconds (at least one full batch). It prints the points
where ``auto`` is slower than ``numpy`` or than the best kernel path by more than
the noise margin, and the points where the old rule (the epoch kernel for every
batch up to 64) lost, computed from the same measurements.

The paths are forced by replacing ``use_epoch_kernel`` in
``skbackprop._kernels.dispatch`` for the duration of a fit; ``auto`` runs the real
rule. Timings on a shared machine are noisy: read ratios within 5-10% of 1 as ties,
and rerun a point that looks off with ``--only-width/--only-depth/--only-batch``.
"""

import argparse
import contextlib
import itertools
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from skbackprop import BackpropClassifier, config_context  # noqa: E402
from skbackprop._kernels import dispatch as _dispatch  # noqa: E402

WIDTHS = (32, 128, 512, 1024)
DEPTHS = (1, 2, 4)
BATCHES = (1, 8, 32, 64, 256, 4096)
QUICK = dict(widths=(32, 256), depths=(1, 2), batches=(1, 32, 64, 256))
N_CLASSES = 10
EPOCH_MAX_FORCED = 256  # the epoch kernel is not forced on larger batches
MARGIN = 1.05  # ratios below this count as ties (noise on a shared machine)

_RULE = _dispatch.use_epoch_kernel


@contextlib.contextmanager
def path(name):
    """Kernels and dispatch for one measured path."""
    if name == "numpy":
        with config_context(kernels=False):
            yield
        return
    forced = {"fused": False, "epoch": True}.get(name)
    if forced is not None:
        _dispatch.use_epoch_kernel = lambda *args: forced
    try:
        with config_context(kernels=True):
            yield
    finally:
        _dispatch.use_epoch_kernel = _RULE


def units(width, depth, n_features):
    return [n_features, *([width] * depth), N_CLASSES]


def seconds_per_row(width, depth, batch):
    """Rough cost of a row: three products at ~5 GMAC/s, and per batch ~40 µs
    plus the optimizer's pass (seven arrays of the parameters' size at ~5 GB/s)."""
    macs = _dispatch.forward_macs(units(width, depth, width))
    per_batch = 40e-6 + 7 * 8 * macs / 5e9
    return 3 * macs / 5e9 + per_batch / batch


def rows_for(width, depth, batch, target_s):
    """Rows for a fit of about ``target_s`` seconds (a multiple of the batch)."""
    n = int(target_s / seconds_per_row(width, depth, batch))
    n = max(batch, min(n, 200_000))
    return -(-n // batch) * batch


def fit_seconds(name, X, y, params):
    est = BackpropClassifier(**params)
    with path(name), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - t0


def measure_point(width, depth, batch, args, rng):
    n = rows_for(width, depth, batch, args.target_s)
    X = rng.standard_normal((n, width)).astype(args.dtype)
    y = np.arange(n) % N_CLASSES
    params = dict(
        hidden_layer_sizes=(width,) * depth,
        activation=args.activation,
        solver=args.solver,
        batch_size=batch,
        max_iter=1,
        shuffle=True,
        random_state=0,
        learning_rate_init=1e-3,
    )
    names = ["numpy", "fused", "auto"]
    if batch <= EPOCH_MAX_FORCED:
        names.insert(2, "epoch")
    # Warm-up (compilation or cache load, buffers, first-call costs), then rounds.
    for name in names:
        fit_seconds(name, X[: min(n, 2 * batch)], y[: min(n, 2 * batch)], params)
    times = {name: [] for name in names}
    for _ in range(args.repeats):
        for name in names:
            times[name].append(fit_seconds(name, X, y, params))
    ratio = {
        name: statistics.median(
            t / ref for t, ref in zip(times[name], times["numpy"], strict=True)
        )
        for name in names
    }
    picks_epoch = _RULE(batch, units(width, depth, width), np.dtype(args.dtype))
    return {
        "width": width,
        "depth": depth,
        "batch": batch,
        "rows": n,
        "times": times,
        "ratio_to_numpy": ratio,
        "numpy_s": statistics.median(times["numpy"]),
        "auto_picks": "epoch" if picks_epoch else "fused",
        "old_rule_picks": "epoch" if batch <= 64 else "fused",
    }


def verdicts(point):
    """(auto's loss factor, old rule's loss factor) against the best path."""
    r = point["ratio_to_numpy"]
    best = min(r.values())
    old = r.get(point["old_rule_picks"], r["fused"])
    return r["auto"] / min(best, 1.0), old / min(best, 1.0), best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small grid (smoke test)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--solver", default="adam", choices=("adam", "sgd"))
    ap.add_argument("--target-s", type=float, default=0.15)
    ap.add_argument(
        "--max-batch-s",
        type=float,
        default=1.0,
        help="skip points whose one batch takes longer (estimated): GEMM-bound, "
        "where the epoch kernel never applies",
    )
    ap.add_argument("--only-width", type=int, nargs="*")
    ap.add_argument("--only-depth", type=int, nargs="*")
    ap.add_argument("--only-batch", type=int, nargs="*")
    ap.add_argument("--json", default=None, metavar="FILE")
    args = ap.parse_args(argv)
    grid = QUICK if args.quick else dict(widths=WIDTHS, depths=DEPTHS, batches=BATCHES)
    widths = args.only_width or grid["widths"]
    depths = args.only_depth or grid["depths"]
    batches = args.only_batch or grid["batches"]
    rng = np.random.default_rng(0)
    points, skipped = [], []
    t_start = time.perf_counter()
    print(
        f"# dispatch grid: {args.dtype}, {args.activation}, {args.solver}, one BLAS "
        f"thread, {args.repeats} rounds per point, ~{args.target_s} s per fit; "
        "ratios are time / numpy time of the same round (median), lower is better"
    )
    header = (
        f"{'width':>5} {'depth':>5} {'batch':>5} {'rows':>7} {'numpy s':>8} "
        f"{'fused':>6} {'epoch':>6} {'auto':>6}  auto picks  auto/best  old/best"
    )
    print(header)
    with threadpool_limits(1, user_api="blas"):
        for width, depth, batch in itertools.product(widths, depths, batches):
            if batch * seconds_per_row(width, depth, batch) > args.max_batch_s:
                skipped.append((width, depth, batch))
                continue
            p = measure_point(width, depth, batch, args, rng)
            points.append(p)
            r = p["ratio_to_numpy"]
            auto_f, old_f, _ = verdicts(p)
            epoch = f"{r['epoch']:6.2f}" if "epoch" in r else f"{'-':>6}"
            print(
                f"{width:5d} {depth:5d} {batch:5d} {p['rows']:7d} "
                f"{p['numpy_s']:8.3f} {r['fused']:6.2f} {epoch} {r['auto']:6.2f}  "
                f"{p['auto_picks']:>10}  {auto_f:9.2f}  {old_f:8.2f}",
                flush=True,
            )
    lost = [p for p in points if verdicts(p)[0] > MARGIN]
    lost_old = [p for p in points if verdicts(p)[1] > MARGIN]
    slower = [p for p in points if p["ratio_to_numpy"]["auto"] > MARGIN]
    print(f"\n{len(points)} points in {time.perf_counter() - t_start:.0f} s")
    if skipped:
        print(
            f"skipped (one batch over --max-batch-s={args.max_batch_s} s, "
            "GEMM-bound): " + ", ".join(f"{w}x{d} b{b}" for w, d, b in skipped)
        )
    for title, group in (
        ("auto slower than kernels=False", slower),
        ("auto slower than the best path", lost),
        ("old rule (epoch kernel for batch <= 64) slower than the best path", lost_old),
    ):
        print(f"\n{title} (by more than {100 * (MARGIN - 1):.0f}%): {len(group)}")
        for p in group:
            r = p["ratio_to_numpy"]
            print(
                f"    width {p['width']}, depth {p['depth']}, batch {p['batch']}: "
                + ", ".join(f"{k} {v:.2f}" for k, v in r.items())
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "points": points}, f, indent=2)


if __name__ == "__main__":
    main()
