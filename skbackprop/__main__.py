"""``python -m skbackprop``: the tour, the classic demo, or the benchmark.

- ``python -m skbackprop`` runs the tour (:mod:`skbackprop._demo.tour`):
  skbackprop beside scikit-learn's MLP on the same grid and folds, then what
  scikit-learn's MLP cannot do; under 20 s on two cores.
- ``python -m skbackprop --classic [OPTIONS]`` runs the classic demo
  (:mod:`skbackprop._demo.classic`): a larger grid search with progress,
  paired timing and ``--dataset diabetes``.
- ``python -m skbackprop bench [ARGS]`` runs the benchmark,
  ``benchmarks/bench_vs_sklearn.py`` of a source checkout.

Run ``python -m skbackprop --help`` for the tour's options.
"""

import argparse
import os
import runpy
import sys

BENCHMARK = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "benchmarks",
    "bench_vs_sklearn.py",
)
# Options of the classic demo only: given without --classic, say where they went.
CLASSIC_ONLY = ("--dataset", "--plot", "--n-jobs")


def parse_args(argv=None):
    """Parse the tour's command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    args : argparse.Namespace
        With attributes ``out``, ``seed``, ``quick`` and ``blas_threads``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m skbackprop",
        description=(
            "A tour of skbackprop on data that ships with scikit-learn, in under "
            "20 s on two cores. 1. Like for like: skbackprop's and scikit-learn's "
            "MLP searched by GridSearchCV over the same configurations, on the "
            "same CV folds, with the same settings, beside a linear model. "
            "2. What scikit-learn's MLP cannot do: your own activation (checked "
            "against finite differences), class_weight, a quantile prediction "
            "interval, the Displays saved as a PNG (needs matplotlib) and an "
            "ONNX export run by onnxruntime (needs skl2onnx and onnxruntime)."
        ),
        epilog=(
            "The classic demo (larger grid, progress lines, paired timing, "
            "--dataset diabetes, --plot): 'python -m skbackprop --classic "
            "[OPTIONS]' (see 'python -m skbackprop --classic --help'). The "
            "benchmark: 'python -m skbackprop bench [ARGS]' runs "
            "benchmarks/bench_vs_sklearn.py of a source checkout."
        ),
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=(
            "Folder for the PNG of the Displays and the ONNX file (created if "
            "needed). Default: a new temporary folder, printed."
        ),
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help=(
            "Seed of the train/test splits, the CV folds and the networks (default: 0)."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Search 2 configurations instead of 4 (a smoke run for tests).",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        metavar="N",
        help=(
            "Threads of the BLAS (matrix products) for both libraries, set with "
            "threadpoolctl; 0 leaves the BLAS's own setting. Default: 1: the "
            "networks are too small to gain from more."
        ),
    )
    given = [a.split("=")[0] for a in (argv or [])]
    for option in CLASSIC_ONLY:
        if option in given:
            parser.error(
                f"{option} is an option of the classic demo: python -m skbackprop "
                f"--classic {option} ..."
            )
    args = parser.parse_args(argv)
    if args.blas_threads < 0:
        parser.error(
            f"--blas-threads must be 0 (the BLAS's own setting) or a positive "
            f"number of threads, got {args.blas_threads}."
        )
    return args


def _bench(argv):
    """Run the benchmark script of a source checkout, if there is one."""
    if not os.path.exists(BENCHMARK):
        print(
            f"The benchmark is not installed with the package: it is "
            f"benchmarks/bench_vs_sklearn.py in a source checkout of skbackprop "
            f"(looked for {BENCHMARK}).",
            file=sys.stderr,
        )
        return 1
    saved = sys.argv
    sys.argv = [BENCHMARK, *argv]
    try:
        runpy.run_path(BENCHMARK, run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (exc.code is not None)
    finally:
        sys.argv = saved
    return 0


def main(argv=None):
    """Entry point of ``python -m skbackprop``.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments without the program name; ``None`` reads
        ``sys.argv[1:]``. A first argument ``bench`` runs the benchmark with the
        remaining arguments; ``--classic`` runs the classic demo with the
        others.

    Returns
    -------
    status : int
        Exit status, 0 on success.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _bench(argv[1:])
    if "--classic" in argv:
        from ._demo import classic as _demo_classic

        return _demo_classic.main([a for a in argv if a != "--classic"])
    args = parse_args(argv)
    from ._demo import tour as _demo_tour

    _demo_tour.run(
        quick=args.quick, seed=args.seed, out=args.out, blas_threads=args.blas_threads
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
