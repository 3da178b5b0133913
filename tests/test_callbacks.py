"""Callbacks: hook order, logs, stopping, clone/pickle, progress output, verbose."""

import pickle
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.utils.estimator_checks import check_estimator

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.callbacks import Callback, ProgressBar, StopOnLoss

SMALL = dict(hidden_layer_sizes=(8, 4), max_iter=12, random_state=0)
EPOCH_KEYS = {"epoch", "loss", "gradient_norms", "learning_rate", "elapsed"}
# The settings tests/test_common.py runs scikit-learn's estimator checks with.
CHECKS = dict(
    hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=100, random_state=0
)
VALIDATION_KEYS = {"validation_score", "validation_loss"}


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        150, 6, n_informative=4, n_redundant=0, n_classes=3, random_state=0
    )
    return X, y


class Recorder:
    """A duck-typed callback (no base class) that records every call."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.calls = []

    def on_fit_begin(self, estimator, logs):
        self.calls.append(("begin", dict(logs)))

    def on_epoch_end(self, estimator, logs):
        self.calls.append(("epoch", dict(logs)))
        return self.stop_at is not None and logs["epoch"] >= self.stop_at

    def on_fit_end(self, estimator, logs):
        self.calls.append(("end", dict(logs)))

    def hooks(self):
        return [name for name, _ in self.calls]

    def epoch_logs(self):
        return [logs for name, logs in self.calls if name == "epoch"]


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_hook_order_and_logs(data, solver):
    X, y = data
    rec = Recorder()
    clf = BackpropClassifier(solver=solver, callbacks=[rec], **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached
        clf.fit(X, y)
    n = clf.n_iter_
    assert rec.hooks() == ["begin"] + ["epoch"] * n + ["end"]
    assert rec.calls[0][1] == {"n_samples": X.shape[0]}
    assert rec.calls[-1][1] == {"n_iter": n}
    logs = rec.epoch_logs()
    assert all(set(entry) == EPOCH_KEYS for entry in logs)
    assert [entry["epoch"] for entry in logs] == list(range(1, n + 1))
    np.testing.assert_allclose([e["loss"] for e in logs], clf.loss_curve_)
    np.testing.assert_allclose(
        np.array([e["gradient_norms"] for e in logs]), clf.gradient_norms_
    )
    assert logs[0]["gradient_norms"].shape == (clf.n_layers_ - 1,)
    assert all(e["learning_rate"] > 0 for e in logs)
    elapsed = [e["elapsed"] for e in logs]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 0


def test_logs_with_early_stopping(data):
    X, y = data
    rec = Recorder()
    clf = BackpropClassifier(early_stopping=True, callbacks=rec, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    logs = rec.epoch_logs()
    assert len(logs) == clf.n_iter_
    assert all(set(e) == EPOCH_KEYS | VALIDATION_KEYS for e in logs)
    np.testing.assert_allclose(
        [e["validation_score"] for e in logs], clf.validation_scores_
    )
    np.testing.assert_allclose(
        [e["validation_loss"] for e in logs], clf.validation_loss_curve_
    )
    # The training rows exclude the held-out 10%.
    assert rec.calls[0][1]["n_samples"] == X.shape[0] - 15


@pytest.mark.parametrize(
    "Estimator, solver, early_stopping",
    [
        (BackpropClassifier, "adam", False),
        (BackpropClassifier, "sgd", False),
        (BackpropClassifier, "adam", True),
        (BackpropRegressor, "adam", False),
        (BackpropRegressor, "sgd", True),
    ],
)
def test_returning_true_stops_training_cleanly(data, Estimator, solver, early_stopping):
    X, y = data
    rec = Recorder(stop_at=3)
    est = Estimator(
        solver=solver, early_stopping=early_stopping, callbacks=[rec], **SMALL
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: the user stopped it
        est.fit(X, y)
    assert est.n_iter_ == 3
    assert rec.hooks() == ["begin", "epoch", "epoch", "epoch", "end"]
    assert len(est.loss_curve_) == 3
    assert est.gradient_norms_.shape == (3, est.n_layers_ - 1)
    if early_stopping:
        assert len(est.validation_scores_) == len(est.validation_loss_curve_) == 3
    pred = est.predict(X)
    assert pred.shape == (X.shape[0],) and np.isfinite(est.score(X, y))


def test_lbfgs_calls_the_hooks_per_iteration(data):
    X, y = data
    rec = Recorder()
    clf = BackpropClassifier(solver="lbfgs", callbacks=[rec], **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    n = clf.n_iter_
    assert rec.hooks() == ["begin"] + ["epoch"] * n + ["end"]
    logs = rec.epoch_logs()
    assert all(set(e) == EPOCH_KEYS for e in logs)
    assert all(e["learning_rate"] is None for e in logs)
    np.testing.assert_allclose(
        np.array([e["gradient_norms"] for e in logs]), clf.gradient_norms_
    )


def test_lbfgs_stop_depends_on_scipy_version(data):
    X, y = data
    rec = Recorder(stop_at=3)
    clf = BackpropClassifier(solver="lbfgs", callbacks=[rec], **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X, y)
    assert clf.n_iter_ == 3
    assert clf.gradient_norms_.shape == (3, clf.n_layers_ - 1)
    assert rec.hooks() == ["begin", "epoch", "epoch", "epoch", "end"]
    assert clf.predict(X).shape == y.shape


def test_partial_fit_calls_the_hooks_for_one_epoch(data):
    X, y = data
    rec = Recorder()
    clf = BackpropClassifier(callbacks=[rec], **SMALL)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    assert rec.hooks() == ["begin", "epoch", "end"] * 2


def test_callback_base_class_hooks_do_nothing(data):
    X, y = data
    base = Callback()
    assert base.on_fit_begin(None, {}) is None
    assert base.on_epoch_end(None, {"epoch": 1}) is None
    assert base.on_fit_end(None, {}) is None

    class StopAfter(Callback):
        def __init__(self, n_epochs=2):
            self.n_epochs = n_epochs

        def on_epoch_end(self, estimator, logs):
            return logs["epoch"] >= self.n_epochs

    cb = StopAfter(n_epochs=4)
    assert cb.get_params() == {"n_epochs": 4}
    assert repr(cb) == "StopAfter(n_epochs=4)"
    clf = BackpropClassifier(callbacks=[base, cb], **SMALL).fit(X, y)
    assert clf.n_iter_ == 4


def test_clone_gives_fresh_callbacks_with_the_same_parameters(data):
    X, y = data
    bar, stop = ProgressBar(desc="net", mininterval=0.5), StopOnLoss(0.1)
    clf = BackpropClassifier(callbacks=[bar, stop], **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    cloned = clone(clf)
    assert not hasattr(cloned, "coefs_")
    assert [type(c) for c in cloned.callbacks] == [ProgressBar, StopOnLoss]
    assert cloned.callbacks[0] is not bar and cloned.callbacks[1] is not stop
    assert cloned.callbacks[0].get_params() == {"desc": "net", "mininterval": 0.5}
    assert cloned.callbacks[1].get_params() == {"threshold": 0.1, "monitor": "loss"}


def test_pickle_with_callbacks(data):
    X, y = data
    clf = BackpropClassifier(callbacks=[ProgressBar(), StopOnLoss(0.0)], **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    # The bar lives only during fit.
    assert vars(clf.callbacks[0]) == {"desc": None, "mininterval": 0.1}
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert [type(c) for c in loaded.callbacks] == [ProgressBar, StopOnLoss]


class PickleEstimator(Callback):
    """Pickle the estimator after each epoch, while the progress bar is live."""

    def on_fit_begin(self, estimator, logs):
        self.pickled = []

    def on_epoch_end(self, estimator, logs):
        self.pickled.append(pickle.dumps(estimator))


@pytest.mark.parametrize("tqdm_installed", [True, False])
def test_pickle_during_fit_drops_the_live_bar(data, monkeypatch, tqdm_installed):
    X, y = data
    if not tqdm_installed:
        monkeypatch.setitem(sys.modules, "tqdm", None)
    snapshot = PickleEstimator()
    clf = BackpropClassifier(callbacks=[ProgressBar(), snapshot], **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    loaded = pickle.loads(snapshot.pickled[0])
    assert vars(loaded.callbacks[0]) == {"desc": None, "mininterval": 0.1}
    assert loaded.n_iter_ == 1


@pytest.mark.slow
def test_check_estimator_with_callbacks():
    # One estimator is enough: the callbacks are parameters like any other, and
    # tests/test_common.py runs the checks over every configuration. The regressor
    # is the faster of the two; StopOnLoss(1e-8) never fires.
    estimator = BackpropRegressor(
        **CHECKS,
        early_stopping=True,
        validation_fraction=0.3,
        callbacks=[ProgressBar(), StopOnLoss(1e-8)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator)


def test_progress_bar_with_tqdm(data, capsys):
    import tqdm  # noqa: F401  (in the test extra: a missing tqdm fails, not skips)

    X, y = data
    clf = BackpropClassifier(early_stopping=True, callbacks=[ProgressBar()], **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    err = capsys.readouterr().err
    assert "BackpropClassifier" in err
    assert f"{clf.n_iter_}/12" in err
    assert "loss=" in err and "val_score=" in err
    assert not hasattr(clf.callbacks[0], "_bar")


def _fallback_fit(monkeypatch, capsys, **params):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    X, y = make_regression(100, 4, random_state=0)
    reg = BackpropRegressor(**{**SMALL, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y / y.std())
    return reg, capsys.readouterr().err


def test_progress_bar_without_tqdm_writes_one_updating_line(monkeypatch, capsys):
    reg, err = _fallback_fit(
        monkeypatch, capsys, callbacks=[ProgressBar(desc="fit", mininterval=0)]
    )
    n = reg.n_iter_
    assert err.endswith("\n") and err.count("\n") == 1
    updates = err.rstrip("\n").split("\r")[1:]
    assert len(updates) == n
    assert updates[0].startswith("fit: epoch 1/12, loss ")
    last = updates[-1].rstrip()
    assert last == f"fit: epoch {n}/12, loss {reg.loss_curve_[-1]:.4g}"
    assert "validation" not in err


def test_progress_bar_without_tqdm_shows_validation_score(monkeypatch, capsys):
    reg, err = _fallback_fit(
        monkeypatch, capsys, early_stopping=True, callbacks=[ProgressBar()]
    )
    # Throttled to mininterval=0.1 s, but the last epoch is always shown.
    last = err.rstrip("\n").split("\r")[-1].rstrip()
    assert last.startswith(f"BackpropRegressor: epoch {reg.n_iter_}/12, loss ")
    assert last.endswith(f"validation score {reg.validation_scores_[-1]:.4f}")


def test_progress_bar_without_tqdm_lbfgs_counts_iterations(monkeypatch, capsys):
    reg, err = _fallback_fit(
        monkeypatch, capsys, solver="lbfgs", callbacks=[ProgressBar(mininterval=0)]
    )
    assert f"iter {reg.n_iter_}/12" in err.split("\r")[-1]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_prints_a_line_per_epoch(data, capsys, early_stopping):
    X, y = data
    clf = BackpropClassifier(early_stopping=early_stopping, verbose=True, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    iterations = [line for line in lines if line.startswith("Iteration ")]
    assert iterations == [
        f"Iteration {i}, loss = {loss:.8f}" for i, loss in enumerate(clf.loss_curve_, 1)
    ]
    scores = [line for line in lines if line.startswith("Validation score: ")]
    if early_stopping:
        assert scores == [f"Validation score: {s:f}" for s in clf.validation_scores_]
        # Each epoch's score follows its loss line, as in scikit-learn.
        assert lines.index(scores[0]) == lines.index(iterations[0]) + 1
    else:
        assert scores == []


@pytest.mark.parametrize("early_stopping, threshold", [(False, 0.6), (True, 0.95)])
def test_stop_on_loss(data, early_stopping, threshold):
    X, y = data
    monitor = "validation_loss" if early_stopping else "loss"
    clf = BackpropClassifier(
        hidden_layer_sizes=(16,),
        learning_rate_init=0.01,
        max_iter=200,
        early_stopping=early_stopping,
        random_state=0,
        callbacks=[StopOnLoss(threshold, monitor=monitor)],
    ).fit(X, y)
    curve = clf.validation_loss_curve_ if early_stopping else clf.loss_curve_
    assert curve[-1] <= threshold < min(curve[:-1])
    assert clf.n_iter_ == len(curve) < 200


def test_stop_on_loss_with_lbfgs(data):
    X, y = data
    clf = BackpropClassifier(
        solver="lbfgs", max_iter=200, random_state=0, callbacks=[StopOnLoss(0.5)]
    )
    clf.fit(X, y)
    assert 1 <= clf.n_iter_ < 200 and clf.loss_ <= 0.5


@pytest.mark.parametrize(
    "callback, params, match",
    [
        (StopOnLoss(0.1, monitor="score"), {}, "monitor must be 'loss' or"),
        (StopOnLoss(np.nan), {}, "threshold must be a finite number"),
        (StopOnLoss(0.1, monitor="validation_loss"), {}, "early_stopping=True"),
        (
            StopOnLoss(0.1, monitor="validation_loss"),
            {"solver": "lbfgs", "early_stopping": True},
            "needs a validation set",
        ),
    ],
)
def test_stop_on_loss_errors(data, callback, params, match):
    X, y = data
    clf = BackpropClassifier(callbacks=[callback], **{**SMALL, **params})
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
