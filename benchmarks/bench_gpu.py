"""skbackprop on a torch device vs scikit-learn's MLP on the host vs a torch loop.

On the lent GPU machine (its ``python3`` has CUDA PyTorch and scikit-learn; one older
than 1.7 also needs array-api-compat carried as a wheel), from the repository root,
as one call of the run tool with ``timeout_s=540``::

    set -o pipefail; PYTHONUNBUFFERED=1 PYTHONPATH=. python3 benchmarks/bench_gpu.py \
        --budget-s 420 --out $OUT/results-gpu.json 2>&1 | tee $OUT/bench_gpu.log

CPU smoke test: ``python benchmarks/bench_gpu.py --device cpu --quick --repeats 1``.

Per workload and dtype it times (a) ``BackpropClassifier`` on torch tensors on the
device under ``array_api_dispatch``, (b) scikit-learn's ``MLPClassifier`` on numpy on
the host, (c) a plain ``torch.nn`` loop on the device doing the same work
(scikit-learn's Glorot init, Adam lr 1e-3 betas (0.9, 0.999) eps 1e-8, cross-entropy
plus scikit-learn's ``0.5 alpha sum(W^2) / batch_n`` in the loss, a new permutation
per epoch), (d) ours on numpy on the host. Device runs end with a synchronisation and
follow an untimed warm-up fit; medians are reported. ``--budget-s`` skips runs that
would end past it (the most important come first: W1-large float32, float64, W1);
the JSON is rewritten after every run.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before scipy is imported

import argparse  # noqa: E402
import collections  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]
import bench_vs_sklearn as bvs  # noqa: E402

from skbackprop import BackpropClassifier  # noqa: E402

W1 = dict(bvs.W1_PARAMS, alpha=1e-4)  # W1 of bench_vs_sklearn.py, exactly
LARGE = dict(W1, hidden_layer_sizes=(1024, 1024), batch_size=512, max_iter=1)
# workload -> (rows, features, informative, params); --quick shrinks them
FULL = {"W1-large": (200_000, 256, 128, LARGE), "W1": (20_000, 100, 50, W1)}
SMALL = dict(LARGE, hidden_layer_sizes=(128, 128))
QUICK = {"W1-large": (5_000, 64, 32, SMALL), "W1": (2_000, 100, 50, W1)}
METHODS = ("ours-dev", "torch-loop", "sklearn", "ours-numpy")
DTYPES = ("float32", "float64")
OUTCOME = {True: "met", False: "NOT met", None: "not measured"}
GOALS = "W1-large: sklearn/ours-dev >= 15x and ours-dev/torch-loop <= 1.25"


def dispatch(on):
    return sklearn.config_context(array_api_dispatch=on)


def sync(dev):
    if dev is not None and dev.type == "cuda":
        torch.cuda.synchronize(dev)


def data(cache, wl, dtype, dev, sizes):
    """(X, y) on the host and on the device, made once per workload and dtype."""
    n, d, inf, _ = sizes[wl]
    if wl not in cache:  # W1: exactly bench_vs_sklearn.w1_data(20_000)
        cache[wl] = make_classification(
            n, d, n_informative=inf, n_classes=10, random_state=0
        )
    if (wl, dtype) not in cache:
        X, y = cache[wl][0].astype(dtype), cache[wl][1]
        Xd, yd = torch.asarray(X, device=dev), torch.asarray(y, device=dev)
        cache[(wl, dtype)] = (X, y, Xd, yd)
    return cache[(wl, dtype)]


def fit_est(cls, params, X, y, dev=None):
    """Time ``cls(**params).fit(X, y)``, under array_api_dispatch on a device."""
    with warnings.catch_warnings(), dispatch(dev is not None):
        warnings.simplefilter("ignore", ConvergenceWarning)
        sync(dev)
        t0 = time.perf_counter()
        est = cls(**params).fit(X, y)
        sync(dev)
        return time.perf_counter() - t0, est


def fit_torch(params, X, y, seed=0):
    """The same training as a plain torch.nn loop; (seconds, model, mean loss)."""
    dev, n = X.device, X.shape[0]
    sync(dev)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    sizes, layers = [X.shape[1], *params["hidden_layer_sizes"], 10], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        lin = torch.nn.Linear(fan_in, fan_out, device=dev, dtype=X.dtype)
        bound = (6.0 / (fan_in + fan_out)) ** 0.5  # scikit-learn's init (relu)
        torch.nn.init.uniform_(lin.weight, -bound, bound)
        torch.nn.init.uniform_(lin.bias, -bound, bound)
        layers += [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    bs, alpha = params["batch_size"], params["alpha"]
    total = torch.zeros((), dtype=torch.float64, device=dev)
    for _ in range(params["max_iter"]):
        perm = torch.randperm(n, device=dev)
        total.zero_()
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            xb, yb = X[idx], y[idx]
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            penalty = sum((w * w).sum() for w in weights)
            loss = loss + 0.5 * alpha * penalty / xb.shape[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * xb.shape[0]
    loss = float(total) / n  # synchronises
    sync(dev)
    return time.perf_counter() - t0, model, loss


def run_one(method, params, X, y, Xd, yd, dev):
    """Fit once; return (seconds, estimator or model, training accuracy function)."""
    if method == "torch-loop":
        dt, model, _ = fit_torch(params, Xd, yd)

        def acc():
            with torch.no_grad():
                return float((model(Xd).argmax(1) == yd).double().mean())

        return dt, model, acc
    if method == "ours-dev":
        X, y = Xd, yd
    cls = MLPClassifier if method == "sklearn" else BackpropClassifier
    dt, est = fit_est(cls, params, X, y, dev if method == "ours-dev" else None)

    def score():
        with dispatch(method == "ours-dev"):
            return float(est.score(X, y))

    return dt, est, score


def sync_check(dev):
    """Count host synchronisations in a small fit on CUDA (sync debug mode)."""
    X, y = bvs.w1_data(4096)
    Xd, yd = torch.asarray(X, device=dev), torch.asarray(y, device=dev)
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit_est(BackpropClassifier, dict(W1, max_iter=2), Xd, yd, dev)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    where = collections.Counter(
        f"{os.path.relpath(w.filename)}:{w.lineno}"
        for w in caught
        if "synchroniz" in str(w.message)
    )
    n = sum(where.values())
    print(f"sync check: {n} host syncs in a fit of 2 epochs x 16 batches; by line:")
    print("\n".join(f"    {c:4d}  {line}" for line, c in where.most_common()))
    return {"syncs": n, "batches": 32, "by_line": dict(where)}


def plan(args, sizes):
    """(workload, dtype, method) runs, the most important first.

    W1-large runs scikit-learn and ours-numpy once per dtype; further runs of
    scikit-learn (up to --large-sklearn-repeats) and ours-numpy come last.
    """
    tasks, tail = [], []
    for wl in sizes:
        for dt in DTYPES:
            for r in range(args.repeats):
                tasks += [(wl, dt, "ours-dev"), (wl, dt, "torch-loop")]
                if wl == "W1":
                    tasks += [(wl, dt, "sklearn"), (wl, dt, "ours-numpy")]
                elif r == 0:
                    tasks.append((wl, dt, "sklearn"))
            if wl == "W1-large":
                n_sk = min(args.repeats, args.large_sklearn_repeats)
                tail += [(wl, dt, "sklearn")] * (n_sk - 1) + [(wl, dt, "ours-numpy")]
    return tasks + tail


def estimate(times, wl, dt, method, quick):
    """Seconds the next run will likely take: from earlier runs, or a guess."""
    same, other = (times.get((wl, d, method)) for d in (dt, DTYPES[dt == "float32"]))
    if same or other:
        return max(same) if same else 2.0 * max(other)
    if quick or wl != "W1-large":
        return 0.0
    return 60.0 if method in ("sklearn", "ours-numpy") else 10.0


def _f(v, fmt=".3f"):
    return "skipped" if v is None else format(v, fmt)


def table(times, acc, sizes, name):
    """Markdown table of the medians, and the same as a dict."""
    head = [f"ours-{name} s", "torch-loop s", "sklearn (host) s", "ours-numpy (host) s"]
    head += ["sklearn/ours", "ours/torch", "train acc ours / torch-loop / sklearn"]
    lines = ["| workload | dtype | " + " | ".join(head) + " |", "|---" * 9 + "|"]
    rows = {}
    for wl in sizes:
        for dt in DTYPES:
            r = {m: times.get((wl, dt, m)) for m in METHODS}
            r = {m: statistics.median(v) if v else None for m, v in r.items()}
            o, t, s = r["ours-dev"], r["torch-loop"], r["sklearn"]
            r["sklearn/ours"] = s / o if s and o else None
            r["ours/torch"] = o / t if o and t else None
            rows[f"{wl}-{dt}"] = r
            cells = [wl, dt, *(_f(r[m]) for m in METHODS)]
            cells += [_f(r["sklearn/ours"], ".1f"), _f(r["ours/torch"], ".2f")]
            cells.append(" / ".join(_f(acc.get((wl, dt, m))) for m in METHODS[:3]))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=["cuda", "cpu"], default=None)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--large-sklearn-repeats", type=int, default=2)
    ap.add_argument("--budget-s", type=float, default=420.0)
    ap.add_argument("--only", choices=["W1-large", "W1"], default=None)
    ap.add_argument("--threads", type=int, help="host threads: torch, BLAS (all)")
    today = datetime.date.today().isoformat()
    ap.add_argument("--out", default=os.path.join(HERE, f"results-gpu-{today}.json"))
    args = ap.parse_args()
    t_start = time.perf_counter()
    if args.threads:  # e.g. 1 on a shared 2-core machine where another job runs
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    name = args.device or ("cuda" if torch.cuda.is_available() else None)
    if name is None:
        ap.error(f"torch {torch.__version__} sees no CUDA device; use --device cpu")
    dev, sizes = torch.device(name), QUICK if args.quick else FULL
    sizes = {wl: v for wl, v in sizes.items() if args.only in (None, wl)}
    v = {m.__name__: m.__version__ for m in (torch, sklearn, np)}
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(dev) if name == "cuda" else "cpu",
        **{"cpu": bvs.cpu_model(), "cpu_count": os.cpu_count(), "versions": v},
        "torch_threads": torch.get_num_threads(),
        "tf32": torch.backends.cuda.matmul.allow_tf32,
        **{"git": bvs.git_revision(), "skbackprop_sha256": bvs.source_digest()},
        **{"args": vars(args), "sizes": sizes},
    }
    print(f"# bench_gpu: {meta['device']} | host {meta['cpu']} x{os.cpu_count()} | {v}")
    result = {"meta": meta, "runs": {}, "skipped": [], "checks": {}}

    def save():
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1, default=str)

    cache, times, acc, last, failed = {}, {}, {}, {}, set()
    if name == "cuda":
        try:
            result["checks"]["sync"] = sync_check(dev)
        except Exception as err:  # only a check: report it and measure on
            print(f"sync check failed: {err!r}")
    for key in plan(args, sizes):
        (wl, dt, method), k = key, "/".join(key)
        elapsed = time.perf_counter() - t_start
        if key in failed or elapsed + estimate(times, *key, args.quick) > args.budget_s:
            print(f"  skipped ({elapsed:.0f} s of the budget used): {k}")
            result["skipped"].append(k)
            continue
        params, d = sizes[wl][3], data(cache, wl, dt, dev, sizes)
        try:
            if method in METHODS[:2] and key not in times:  # untimed warm-up
                few = slice(0, 4 * params["batch_size"])
                Xw, yw = (a[few] for a in d[2:])
                run_one(method, dict(params, max_iter=1), *d[:2], Xw, yw, dev)
            with bvs.Contention() as busy:  # other processes' CPU use (shared)
                dt_s, last[key], acc_fn = run_one(method, params, *d, dev)
        except Exception as err:  # keep the other methods' figures
            print(f"  {k} FAILED: {err!r}")
            result["runs"][k] = {"error": repr(err)}
            failed.add(key)
            continue
        times.setdefault(key, []).append(dt_s)
        acc[key] = acc[key] if key in acc else acc_fn()
        run = result["runs"].setdefault(k, {"s": [], "others_busy": []})
        run.update(s=times[key], train_accuracy=acc[key])
        run["others_busy"].append(busy.others)
        others = f"others busy {busy.others or 0:.2f} cores"
        print(f"  {k:28s} {dt_s:8.3f} s  train acc {acc[key]:.4f}  ({others})")
        save()
    pair = [last.get(("W1", "float64", m)) for m in ("ours-dev", "ours-numpy")]
    if None not in pair:  # same data and seed: the same trajectory up to rounding
        X, _, Xd, _ = data(cache, "W1", "float64", dev, sizes)
        with dispatch(True):
            p_dev = pair[0].predict_proba(Xd[:500]).cpu().numpy()
        diff = float(np.max(np.abs(p_dev - pair[1].predict_proba(X[:500]))))
        result["checks"]["proba_max_abs_diff_float64"] = diff
        ok = "OK" if diff <= 1e-6 else "FAIL"
        print(
            f"W1 float64 predict_proba on 500 rows, ours-{name} vs ours-numpy: "
            f"max |diff| {diff:.2e} ({ok}: <= 1e-6)"
        )
    text, rows = table(times, acc, sizes, name)
    big = rows.get("W1-large-float32", {})
    so, ot = big.get("sklearn/ours"), big.get("ours/torch")
    met = {
        "sklearn/ours >= 15": so and so >= 15,
        "ours/torch <= 1.25": ot and ot <= 1.25,
    }
    result.update(
        summary=rows, goals_float32=met, total_s=time.perf_counter() - t_start
    )
    save()
    what = "quick sizes, goals meaningless" if args.quick else "full sizes"
    print(f"\n## Medians ({what}; up to {args.repeats} runs each)\n\n{text}\n")
    goals = ", ".join(f"{g}: {OUTCOME[ok]}" for g, ok in met.items())
    print(f"Goals ({GOALS}), W1-large float32: {goals}")
    if result["skipped"]:
        print("skipped for the budget: " + ", ".join(result["skipped"]))
    print(f"total {result['total_s']:.1f} s; results written to {args.out}")


if __name__ == "__main__":
    main()
