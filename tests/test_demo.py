"""The demo, ``python -m skbackprop``, run in-process with ``--quick``."""

import struct
import sys

import pytest

from skbackprop import __main__ as demo


def test_quick_digits_prints_both_tables(capsys):
    assert demo.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digits: 1797 samples, 64 features, 10 classes")
    assert "skbackprop BackpropClassifier (2 configurations)" in out
    assert "scikit-learn MLPClassifier (1 configuration: the activations" in out
    header = next(line for line in out.splitlines() if line.startswith("rank"))
    for column in ("activation", "layers", "CV accuracy", "fit (s)", "epochs"):
        assert column in header
    assert out.count("best: activation=") == 2
    assert out.count("test accuracy 0.") == 2
    assert "fit-time ratio scikit-learn/skbackprop" in out
    # Rows: rank, activation, layers, score ± std, fit time, epochs, ms/epoch.
    rows = [line.split() for line in out.splitlines() if line[:4].strip().isdigit()]
    ours, theirs = rows[:2], rows[2:]
    assert [r[0] for r in ours] == ["1", "2"]
    assert {r[1] for r in ours} == {"relu", "LeakyReLU(alpha=0.1)"}
    assert float(ours[0][3]) >= float(ours[1][3])  # sorted by mean CV score
    assert all(r[2] == "(32,)" and float(r[6]) > 0 for r in rows)
    assert [r[:3] for r in theirs] == [["1", "relu", "(32,)"]]


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_quick_diabetes_with_plot_writes_a_png(tmp_path, capsys):
    png = tmp_path / "demo.png"
    assert demo.main(["--quick", "--dataset", "diabetes", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("diabetes: 442 samples, 10 features, regression")
    assert "skbackprop BackpropRegressor" in out and "MLPRegressor" in out
    assert "CV R²" in out and out.count("test R² ") == 2
    assert f"Wrote {png}" in out
    width, height = _png_size(png)
    assert width > 2 * height > 500  # two displays side by side


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        demo.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--dataset", "--plot", "--n-jobs", "--seed", "--quick", "bench"):
        assert option in out
    assert 'pip install "skbackprop[plot]"' in " ".join(out.split())


def test_plot_without_matplotlib_fails_before_fitting(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(SystemExit) as exc:
        demo.main(["--quick", "--plot", str(tmp_path / "x.png")])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert 'pip install "skbackprop[plot]"' in captured.err
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
