"""ProgressBar and warnings: a warning shown during a fit goes above the bar."""

import subprocess
import sys
import textwrap
import warnings

import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.callbacks import Callback, ProgressBar, StopOnLoss

SMALL = dict(hidden_layer_sizes=(8, 4), max_iter=12, random_state=0)


def _screen(text):
    """What a terminal shows for ``text``: carriage returns overwrite the line."""
    lines, line, col = [], [], 0
    for char in text:
        if char == "\n":
            lines.append("".join(line).rstrip())
            line, col = [], 0
        elif char == "\r":
            col = 0
        else:
            line[col : col + 1] = [char]
            col += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines


@pytest.mark.slow
@pytest.mark.parametrize("tqdm_installed", [True, False])
def test_convergence_warning_prints_above_the_bar_not_into_it(tqdm_installed):
    # A fresh interpreter, so that the warning is shown the way Python shows it
    # by default (pytest records warnings instead of printing them).
    script = textwrap.dedent(
        f"""
        import sys
        if not {tqdm_installed}:
            sys.modules["tqdm"] = None
        import warnings
        from sklearn.datasets import load_iris
        from skbackprop import BackpropClassifier
        from skbackprop.callbacks import ProgressBar

        X, y = load_iris(return_X_y=True)
        shown = warnings.showwarning
        bar = ProgressBar(desc="net", mininterval=0)
        BackpropClassifier(max_iter=3, callbacks=[bar]).fit(X, y)
        assert warnings.showwarning is shown, "showwarning not restored"
        """
    )
    # Bytes: text mode would turn the bar's carriage returns into newlines.
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    screen = _screen(err)
    warning = [i for i, line in enumerate(screen) if "ConvergenceWarning" in line]
    assert len(warning) == 1
    # The warning starts a line of its own; the bar, finished, follows it.
    shown = screen[warning[0]]
    assert shown.startswith("<string>:")
    assert "ConvergenceWarning: Stochastic Optimizer: Maximum iterations (3)" in shown
    bars = [line for line in screen if line.startswith("net:")]
    assert bars and all("Warning" not in line for line in bars)
    assert screen.index(bars[-1]) > warning[0]
    assert ("3/3" if tqdm_installed else "net: epoch 3/3, loss ") in bars[-1]


def _show_as_python_does(message, category, filename, lineno, file=None, line=None):
    """Show a warning as Python does by default (pytest records them instead)."""
    file = sys.stderr if file is None else file
    file.write(warnings.formatwarning(message, category, filename, lineno))


class WarnAt(Callback):
    """Show a warning at the end of one epoch, on standard error or in a file."""

    def __init__(self, epoch=2, file=None):
        self.epoch = epoch
        self.file = file

    def on_epoch_end(self, estimator, logs):
        if logs["epoch"] == self.epoch:
            warnings.showwarning("mid-fit", UserWarning, "f.py", 1, self.file)


def _fit_showing_warnings(monkeypatch, callbacks, **params):
    """Fit without tqdm, showing warnings on standard error as Python does."""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    X, y = make_regression(60, 3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.showwarning = _show_as_python_does
        BackpropRegressor(**{**SMALL, "max_iter": 3, "callbacks": callbacks}).fit(
            X, y / y.std()
        )
        return warnings.showwarning is _show_as_python_does


def test_warning_during_fit_is_written_above_the_line(monkeypatch, capsys):
    restored = _fit_showing_warnings(
        monkeypatch, [ProgressBar(desc="net", mininterval=0), WarnAt(2)]
    )
    assert restored
    screen = _screen(capsys.readouterr().err)
    assert screen[0] == "f.py:1: UserWarning: mid-fit"
    assert screen[1].startswith("net: epoch 3/3, loss ") and len(screen) == 2


def test_warning_for_another_file_passes_through(monkeypatch, capsys, tmp_path):
    with open(tmp_path / "log.txt", "w") as log:
        restored = _fit_showing_warnings(
            monkeypatch, [ProgressBar(desc="net", mininterval=0), WarnAt(2, log)]
        )
    assert restored
    assert (tmp_path / "log.txt").read_text() == "f.py:1: UserWarning: mid-fit\n"
    # The line was never cleared: each epoch rewrote it in place.
    err = capsys.readouterr().err
    assert err.count("\r") == 3 and err.endswith("\n") and " \r" not in err


def test_warning_hook_is_removed_even_when_bars_close_out_of_order(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    with warnings.catch_warnings():
        warnings.showwarning = _show_as_python_does
        first, second = ProgressBar(), ProgressBar()
        first.on_fit_begin(BackpropClassifier(), {})
        second.on_fit_begin(BackpropClassifier(), {})
        assert warnings.showwarning is not _show_as_python_does
        first.on_fit_end(None, {})  # closed first, wrapped first
        second.on_fit_end(None, {})
        assert warnings.showwarning is _show_as_python_does
        assert vars(first) == vars(second) == {"desc": None, "mininterval": 0.1}


def test_a_fit_that_raised_leaves_no_hook_behind(monkeypatch, capsys):
    # ProgressBar opens its line, then StopOnLoss refuses the settings: the fit
    # raises and on_fit_end never comes.
    X, y = make_classification(60, 4, random_state=0)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    bad = StopOnLoss(0.1, monitor="validation_loss")
    clf = BackpropClassifier(callbacks=[ProgressBar(), bad], **SMALL)
    with warnings.catch_warnings():
        warnings.showwarning = _show_as_python_does
        with pytest.raises(ValueError, match="needs a validation set"):
            clf.fit(X, y)
        assert warnings.showwarning is not _show_as_python_does
        warnings.warn("after the fit", UserWarning, stacklevel=1)
        # Shown as it would be without a bar, and the hook is gone.
        assert warnings.showwarning is _show_as_python_does
    assert "UserWarning: after the fit" in capsys.readouterr().err
