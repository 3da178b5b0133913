"""The demos, ``python -m skbackprop`` (the tour) and ``--classic``, in-process.

The tour runs with ``--quick`` (2 configurations instead of 4), the classic demo
with ``--classic --quick``.
"""

import io
import pickle
import re
import struct
import sys
import types
import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import __main__ as demo
from skbackprop._demo import common as _demo
from skbackprop._demo import tour as _demo_tour

LOAD = r"load average \d+\.\d\d, \d+\.\d\d, \d+\.\d\d \(1, 5, 15 min\)"
MACHINE = rf"Machine: \d+ CPUs?( usable of \d+)?, {LOAD}; BLAS: .+ with 1 thread\b"


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """The quick tour, run once: its results, output and warnings."""
    out = tmp_path_factory.mktemp("tour")
    text = io.StringIO()
    blas_before = _demo.blas_pools()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = _demo_tour.run(quick=True, out=str(out), file=text)
    # The BLAS threads are limited during the tour only (the tour may load a
    # further BLAS, e.g. with onnxruntime: the ones loaded before are restored).
    assert set(blas_before) <= set(_demo.blas_pools())
    return results, text.getvalue(), caught, out


@pytest.mark.slow
def test_tour_emits_no_warnings(tour):
    _, _, caught, _ = tour
    assert [str(w.message) for w in caught] == []


@pytest.mark.slow
def test_tour_compares_like_for_like(tour):
    results, out, _, _ = tour
    lfl = results["like_for_like"]
    ours, theirs = lfl["skbackprop"]["search"], lfl["sklearn"]["search"]
    # The same configurations, the same folds (one list, passed to both) and
    # the same settings for both libraries.
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    assert len(ours.cv_results_["params"]) == 2
    assert ours.cv is theirs.cv is lfl["folds"] and len(lfl["folds"]) == 3
    ours_net, theirs_net = ours.estimator[-1], theirs.estimator[-1]
    shared = dict(_demo_tour.SHARED, random_state=0)
    assert {k: ours_net.get_params()[k] for k in shared} == shared
    assert {k: theirs_net.get_params()[k] for k in shared} == shared

    lines = out.splitlines()
    assert lines[0].startswith("skbackprop ") and "nothing is downloaded" in lines[0]
    assert "the same 2 configurations, the same 3 CV folds" in out
    rows = [line.split() for line in lines if re.match(r"   (relu|tanh) ", line)]
    assert [r[:2] for r in rows] == [["relu", "(32,)"], ["tanh", "(32,)"]]
    for row, r in zip(rows, lfl["rows"], strict=True):
        # activation, layers, ours ± std, theirs ± std, epochs / epochs
        assert row[2] == f"{r['ours']:.4f}" and row[5] == f"{r['theirs']:.4f}"
        assert row[8] == f"{r['ours_epochs']:.1f}"
        assert row[10] == f"{r['theirs_epochs']:.1f}"
    # With the same initial weights and batches the two libraries train alike:
    # the sentence says so only when the numbers agree exactly.
    same = all(
        r["ours"] == r["theirs"] and r["ours_epochs"] == r["theirs_epochs"]
        for r in lfl["rows"]
    )
    assert same == ("The same scores and epochs in all 2 configurations" in out)
    if not same:
        assert "The CV scores differ by at most " in out
    baseline = next(line for line in lines if "Linear baseline" in line)
    b = lfl["baseline"]
    assert f"CV accuracy {b['cv']:.4f} ± {b['std']:.4f}" in baseline


@pytest.mark.parametrize(
    "best, std, verdict",
    [
        (0.95, 0.01, "more than the folds' spread: the MLP is better here"),
        (0.85, 0.01, "more than the folds' spread: the linear model is better here"),
        (0.905, 0.01, "within the folds' spread: no clear difference"),
    ],
)
def test_tour_baseline_verdict_follows_the_numbers(best, std, verdict):
    search = types.SimpleNamespace(
        best_score_=best,
        best_index_=0,
        cv_results_={"std_test_accuracy": [std]},
    )
    result = {
        "skbackprop": {"search": search},
        "sklearn": {"search": search},
    }
    baseline = dict(name="LogisticRegression", cv=0.9, std=0.02, test=0.9)
    line = _demo_tour._against_baseline(result, baseline)
    assert line.endswith(f"differs from it by {best - 0.9:+.4f} in CV, {verdict}.")


@pytest.mark.slow
def test_tour_shows_what_sklearn_cannot(tour):
    results, out, _, folder = tour
    act = results["custom_activation"]
    assert 0 < act["gradient_error"] < 1e-5
    assert f"test accuracy {act['test']:.4f}" in out
    weights = results["class_weight"]
    assert weights["kept"] == 7 and weights["of"] == 135
    change = (
        "raises"
        if weights["balanced"]["recall"] > weights[None]["recall"]
        else ("does not raise")
    )
    assert f"it {change} the test recall of the 9s" in out
    interval = results["quantile"]
    assert f"It covers {interval['coverage']:.0%} of the 111 test patients" in out
    assert results["png"] == str(folder / "displays.png")
    width, height = _png_size(results["png"])
    assert width > 2 * height > 300
    exported = results["onnx"]
    assert exported["same_labels"] == 1.0 and exported["max_proba_diff"] < 1e-4
    assert (folder / "digits.onnx").stat().st_size > 1000
    # The machine, in one line, last.
    lines = out.splitlines()
    assert [line for line in lines if "load average" in line] == [lines[-1]]
    assert re.match(r"Machine: \d+ CPUs?", lines[-1])
    assert re.search(r"Total \d+\.\d s\.$", lines[-1])


@pytest.mark.slow
def test_tour_skips_the_optional_parts_in_one_line(tour, monkeypatch, tmp_path):
    results, _, _, _ = tour
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    text = io.StringIO()
    model = results["custom_activation"]["model"]
    assert _demo_tour.displays(model, str(tmp_path), file=text) is None
    X = np.zeros((2, 64))
    assert _demo_tour.onnx_export(model, X, str(tmp_path), file=text) is None
    lines = text.getvalue().splitlines()
    assert lines == [
        "   - Displays: skipped, matplotlib is not installed (pip install matplotlib).",
        "   - ONNX export: skipped, it needs skl2onnx and onnxruntime (pip install "
        "skl2onnx onnxruntime).",
    ]
    assert list(tmp_path.iterdir()) == []


def test_main_runs_the_tour_with_its_options(monkeypatch):
    calls = []
    monkeypatch.setattr(_demo_tour, "run", lambda **kwargs: calls.append(kwargs))
    assert demo.main([]) == 0
    argv = ["--quick", "--seed", "3", "--out", "x", "--blas-threads", "0"]
    assert demo.main(argv) == 0
    assert calls == [
        dict(quick=False, seed=0, out=None, blas_threads=1),
        dict(quick=True, seed=3, out="x", blas_threads=0),
    ]


@pytest.mark.parametrize("option", ["--dataset", "--plot", "--n-jobs"])
def test_classic_options_without_classic_say_where_they_went(option, capsys):
    with pytest.raises(SystemExit) as exc:
        demo.main([option, "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"{option} is an option of the classic demo: python -m skbackprop " in err


def test_tour_help_names_every_part(capsys):
    with pytest.raises(SystemExit) as exc:
        demo.main(["--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for text in (
        "--out",
        "--seed",
        "--quick",
        "--blas-threads",
        "--classic",
        "bench",
        "same CV folds",
        "class_weight",
        "ONNX",
        "matplotlib",
    ):
        assert text in out


@pytest.mark.slow
def test_classic_quick_digits_prints_both_tables(capsys):
    blas_before = _demo.blas_pools()
    assert demo.main(["--classic", "--quick"]) == 0
    # The BLAS threads are limited during the demo only.
    assert _demo.blas_pools() == blas_before
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert out.startswith("digits: 1797 samples, 64 features, 10 classes")
    assert "skbackprop BackpropClassifier (2 configurations)" in out
    assert "scikit-learn MLPClassifier (1 configuration: the activations" in out
    header = next(line for line in lines if line.startswith("rank"))
    for column in ("activation", "layers", "CV accuracy", "fit (s)", "epochs"):
        assert column in header
    assert out.count("best: activation=") == 2
    assert out.count("test accuracy 0.") == 3  # two MLPs, the linear baseline
    # Rows: rank, activation, layers, score ± std, fit time, epochs, ms/epoch.
    rows = [line.split() for line in lines if line[:4].strip().isdigit()]
    ours, theirs = rows[:2], rows[2:]
    assert [r[0] for r in ours] == ["1", "2"]
    assert {r[1] for r in ours} == {"relu", "LeakyReLU(alpha=0.1)"}
    assert float(ours[0][3]) >= float(ours[1][3])  # sorted by mean CV score
    assert all(r[2] == "(32,)" and float(r[6]) > 0 for r in rows)
    assert [r[:3] for r in theirs] == [["1", "relu", "(32,)"]]

    # Progress: a line per configuration as soon as its folds are done (no
    # tqdm bar: standard error is not a terminal here), in grid order, with the
    # score the table then shows.
    progress = [line for line in lines if re.match(r"  \[\d/\d\] ", line)]
    pattern = (
        r"  \[(\d)/(\d)\] (\S+) \(32,\): CV accuracy (0\.\d{4}) \(\d+\.\d s so far\)"
    )
    parsed = [re.fullmatch(pattern, line).groups() for line in progress]
    assert [p[:3] for p in parsed] == [
        ("1", "2", "relu"),
        ("2", "2", "LeakyReLU(alpha=0.1)"),
        ("1", "1", "relu"),
    ]
    table = {(r[1], i < 2): r[3] for i, r in enumerate(rows)}
    assert [p[3] for p in parsed] == [
        table["relu", True],
        table["LeakyReLU(alpha=0.1)", True],
        table["relu", False],
    ]
    searching = [line for line in lines if line.startswith("Searching ")]
    assert searching == [
        "Searching skbackprop BackpropClassifier: 2 configurations x 3 CV folds, "
        "then the best refitted",
        "Searching scikit-learn MLPClassifier: 1 configuration x 3 CV folds, "
        "then the best refitted",
    ]
    assert (
        lines.index(searching[0])
        < lines.index(progress[0])
        < lines.index(
            next(line for line in lines if line.startswith("skbackprop Backprop"))
        )
    )

    # The machine's load and BLAS threads: at the start (beside the tables' fit
    # times) and beside the speed figure.
    machine = [line for line in lines if line.startswith("Machine: ")]
    assert len(machine) == 2 and all(re.match(MACHINE, m) for m in machine)
    speed = next(line for line in lines if line.startswith("Speed, "))
    assert lines[lines.index(speed) + 1] == machine[1]
    assert "5 back-to-back pairs of fits on the 1 shared configuration, " in speed
    ratio, low, high = map(
        float,
        re.search(
            r"ratio scikit-learn/skbackprop (\d+\.\d\d) \(median of the 5 pairs' "
            r"ratios, range (\d+\.\d\d)-(\d+\.\d\d);",
            speed,
        ).groups(),
    )
    assert 0 < low <= ratio <= high

    # The linear baseline, and a verdict that agrees with its numbers.
    baseline = next(line for line in lines if line.startswith("Linear baseline"))
    assert re.match(
        r"Linear baseline on the same CV folds and test split: StandardScaler \+ "
        r"LogisticRegression, CV accuracy 0\.\d{4} ± 0\.\d{4}, test accuracy "
        r"0\.\d{4}; best MLP \((skbackprop|scikit-learn) \S+ \(32,\)\) CV ",
        baseline,
    )
    _check_verdict(lines[lines.index(baseline) + 1])


def _check_verdict(verdict):
    gap_cv, gap_test = map(
        float,
        re.search(
            r"\(([+-]\d\.\d{4}) in CV, ([+-]\d\.\d{4}) on the test", verdict
        ).groups(),
    )
    if verdict.startswith("The MLP beats"):
        assert gap_cv > 0 and gap_test > 0
    elif verdict.startswith("The linear model beats every MLP"):
        assert gap_cv < 0 and gap_test < 0
    else:
        assert verdict.startswith("The MLP does not clearly beat the linear model")
    assert "An MLP pays where the target depends on the features nonlinearly" in (
        verdict
    )


def test_search_with_progress_matches_grid_search_and_reports_in_batches():
    X, y = load_diabetes(return_X_y=True)
    grid = {"alpha": [0.1, 1.0, 10.0]}
    calls = []
    # Four threads for two folds: two configurations per batch.
    with parallel_backend("threading"):
        search = _demo.SearchWithProgress(Ridge(), grid, cv=2, n_jobs=4)
        search.on_results = lambda results, start, stop: calls.append(
            (len(results["params"]), start, stop)
        )
        search.fit(X, y)
    assert calls == [(2, 0, 2), (3, 2, 3)]
    plain = GridSearchCV(Ridge(), grid, cv=2).fit(X, y)
    assert search.cv_results_["params"] == plain.cv_results_["params"]
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )
    assert search.best_params_ == plain.best_params_
    one_at_a_time = []
    search = _demo.SearchWithProgress(Ridge(), grid, cv=2)
    search.on_results = lambda results, start, stop: one_at_a_time.append(start)
    search.fit(X, y)
    assert one_at_a_time == [0, 1, 2]
    # Worker processes may be sent the search: the live display stays behind.
    search.on_results = _demo.Progress("x", 3, "R²", sys.stdout, header="")
    loaded = pickle.loads(pickle.dumps(search))
    assert loaded.on_results is None and search.on_results is not None
    assert loaded.best_params_ == search.best_params_


RESULTS = {
    "params": [{"net__activation": "relu", "net__hidden_layer_sizes": (8,)}],
    "mean_test_score": [0.5],
}


def test_progress_uses_tqdm_on_a_terminal(monkeypatch, capsys):
    import tqdm  # noqa: F401  (in the test extra: a missing tqdm fails, not skips)

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    out = io.StringIO()
    progress = _demo.Progress("net search", 1, "R²", out, header="Searching")
    progress(RESULTS, 0, 1)
    progress.close()
    err = capsys.readouterr().err
    assert "net search" in err and "1/1" in err and "relu (8,): 0.5000" in err
    assert out.getvalue() == ""  # the bar replaces the lines


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_without_tqdm_or_terminal_prints_lines(monkeypatch, terminal):
    if terminal:  # a terminal, but tqdm is not installed
        monkeypatch.setitem(sys.modules, "tqdm", None)
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    out = io.StringIO()
    progress = _demo.Progress("net search", 1, "R²", out, header="Searching")
    progress(RESULTS, 0, 1)
    progress.close()
    first, second = out.getvalue().splitlines()
    assert first == "Searching"
    assert re.fullmatch(
        r"  \[1/1\] relu \(8,\): CV R² 0\.5000 \(\d+\.\d s so far\)", second
    )


def test_machine_line_says_when_the_machine_is_busy(monkeypatch):
    monkeypatch.setattr(_demo.os, "getloadavg", lambda: (99.0, 50.0, 25.0))
    monkeypatch.setattr(_demo, "blas_pools", lambda: [("openblas", "0.3", 4)])
    line = _demo.machine_line()
    assert "load average 99.00, 50.00, 25.00 (1, 5, 15 min)" in line
    assert "BLAS: openblas 0.3 with 4 threads." in line
    assert "The machine is busy (1-minute load 99.0 on " in line
    assert "slow both libraries several-fold (--blas-threads 1 avoids that)" in line
    limited = _demo.machine_line(set_from=[("openblas", "0.3", 8)])
    assert "(set by the demo, from 8: see --blas-threads)" in limited


def test_machine_line_without_a_load_average(monkeypatch):
    def no_load():
        raise OSError("not available")

    monkeypatch.setattr(_demo.os, "getloadavg", no_load)
    monkeypatch.setattr(_demo, "blas_pools", lambda: [("openblas", "0.3", 1)])
    line = _demo.machine_line()
    assert "load average not available; BLAS: openblas 0.3 with 1 thread." in line
    assert "busy" not in line


@pytest.mark.parametrize(
    "best, start",
    [
        (dict(cv=0.90, std=0.01, test=0.91), "The MLP beats the linear model here"),
        (dict(cv=0.70, std=0.01, test=0.75), "The linear model beats every MLP"),
        (dict(cv=0.81, std=0.02, test=0.79), "The MLP does not clearly beat"),
    ],
)
@pytest.mark.parametrize("dataset", ["digits", "diabetes"])
def test_baseline_verdict_follows_the_numbers(best, start, dataset):
    baseline = dict(name="LinearRegression", cv=0.80, std=0.01, test=0.80)
    text = _demo.baseline_lines(
        dataset, "R²", baseline, dict(best, label="skbackprop relu (8,)"), (331, 10)
    )
    first, verdict = text.splitlines()
    assert first.startswith(
        "Linear baseline on the same CV folds and test split: StandardScaler + "
        "LinearRegression, CV R² 0.8000 ± 0.0100, test R² 0.8000; best MLP "
        "(skbackprop relu (8,))"
    )
    assert verdict.startswith(start)
    _check_verdict(verdict)
    if dataset == "diabetes":
        assert "like diabetes (331 training rows, 10 features)" in verdict


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.slow
def test_classic_quick_diabetes_with_plot_writes_a_png(tmp_path, capsys):
    png = tmp_path / "demo.png"
    assert (
        demo.main(["--classic", "--quick", "--dataset", "diabetes", "--plot", str(png)])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("diabetes: 442 samples, 10 features, regression")
    assert "skbackprop BackpropRegressor" in out and "MLPRegressor" in out
    assert "CV R²" in out and out.count("test R² ") == 3  # two MLPs, the baseline
    assert f"Wrote {png}" in out
    # The baseline is LinearRegression on the search's folds and test split.
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    linear = make_pipeline(StandardScaler(), LinearRegression())
    cv = cross_val_score(linear, X_train, y_train, cv=3)
    test = linear.fit(X_train, y_train).score(X_test, y_test)
    assert (
        f"StandardScaler + LinearRegression, CV R² {cv.mean():.4f} ± "
        f"{cv.std():.4f}, test R² {test:.4f}; best MLP" in out
    )
    assert "like diabetes (331 training rows, 10 features), a linear model is" in out
    width, height = _png_size(png)
    assert width > 2 * height > 500  # two displays side by side


def test_classic_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        demo.main(["--classic", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--dataset",
        "--plot",
        "--n-jobs",
        "--seed",
        "--quick",
        "--blas-threads",
        "bench",
    ):
        assert option in out
    assert "pip install matplotlib" in " ".join(out.split())


def test_plot_without_matplotlib_fails_before_fitting(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(SystemExit) as exc:
        demo.main(["--classic", "--quick", "--plot", str(tmp_path / "x.png")])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert "pip install matplotlib" in captured.err
    assert captured.out == ""


def test_bench_runs_the_benchmark_script(monkeypatch, tmp_path, capsys):
    script = tmp_path / "bench.py"
    script.write_text("import sys\nprint('bench args', sys.argv[1:])\n")
    monkeypatch.setattr(demo, "BENCHMARK", str(script))
    assert demo.main(["bench", "--quick"]) == 0
    assert "bench args ['--quick']" in capsys.readouterr().out


def test_bench_without_a_checkout_says_where_it_lives(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(demo, "BENCHMARK", str(tmp_path / "missing.py"))
    assert demo.main(["bench"]) == 1
    assert "benchmarks/bench_vs_sklearn.py" in capsys.readouterr().err


@pytest.mark.parametrize("classic", [[], ["--classic"]])
def test_negative_blas_threads_is_refused_before_fitting(capsys, classic):
    with pytest.raises(SystemExit) as exc:
        demo.main([*classic, "--quick", "--blas-threads", "-1"])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert "--blas-threads must be 0 (the BLAS's own setting) or a positive" in (
        captured.err
    )
    assert captured.out == ""
