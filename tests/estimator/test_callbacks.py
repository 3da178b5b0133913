"""Callbacks: hook order, logs, stopping, clone/pickle, progress output, verbose."""

import pickle
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_estimator

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.callbacks import Callback, ProgressBar, StopOnLoss

SMALL = dict(hidden_layer_sizes=(8, 4), max_iter=12, random_state=0)
EPOCH_KEYS = {"epoch", "loss", "gradient_norms", "learning_rate", "elapsed"}
# The settings tests/estimator/test_common.py runs scikit-learn's estimator checks with.
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
    # tests/estimator/test_common.py runs the checks over every configuration. The
    # regressor is the faster of the two; StopOnLoss(1e-8) never fires.
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


class ReturnsArray(Callback):
    def on_epoch_end(self, estimator, logs):
        return np.array([logs["loss"] < 0.1, False])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_callback_returning_an_array_is_a_clear_error(data, solver):
    X, y = data
    clf = BackpropClassifier(**SMALL, solver=solver).fit(X, y)
    before = clf.coefs_[0].copy()
    clf.set_params(callbacks=[ReturnsArray()], warm_start=True)
    with pytest.raises(
        TypeError,
        match=r"ReturnsArray\.on_epoch_end returned an "
        r"ndarray of shape \(2,\).*True to stop.*\.any\(\)",
    ):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], before)  # left as it was


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_callback_returning_a_numpy_bool_or_zero_d_array_works(data):
    X, y = data

    class StopAtTwo(Callback):
        def on_epoch_end(self, estimator, logs):
            return np.asarray(logs["epoch"] >= 2)

    assert BackpropClassifier(**SMALL, callbacks=[StopAtTwo()]).fit(X, y).n_iter_ == 2


@pytest.mark.parametrize(
    "params, match",
    [
        ({"mininterval": "x"}, r"mininterval must be a non-negative number.*'x'"),
        ({"mininterval": -1}, r"mininterval must be a non-negative number.*-1"),
        ({"mininterval": np.nan}, r"mininterval must be a non-negative number"),
        ({"desc": 3}, r"desc must be a str or None.*3"),
    ],
)
@pytest.mark.parametrize("tqdm_installed", [True, False])
def test_progress_bar_parameters_are_checked_before_the_first_epoch(
    data, monkeypatch, params, match, tqdm_installed
):
    if not tqdm_installed:
        monkeypatch.setattr("skbackprop.callbacks._tqdm", lambda: None)
    X, y = data
    rec = Recorder()
    clf = BackpropClassifier(**SMALL, callbacks=[ProgressBar(**params), rec])
    with pytest.raises((TypeError, ValueError), match=match):
        clf.fit(X, y)
    assert rec.calls == []  # raised as the fit began, before any epoch
    assert not hasattr(clf, "coefs_")


@pytest.mark.parametrize("callbacks", [3, [Recorder(), "progress"], [print]])
def test_callbacks_without_hooks_are_refused_as_the_fit_starts(data, callbacks):
    X, y = data
    clf = BackpropClassifier(**SMALL, callbacks=callbacks)
    with pytest.raises(
        TypeError,
        match=r"callbacks.*on_fit_begin, on_epoch_end or "
        r"on_fit_end",
    ):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")


# ------------------------------------------- scikit-learn's callback API (1.9+)


@pytest.fixture
def sk_callback():
    """scikit-learn's callback module, where this scikit-learn has it (>= 1.9)."""
    return pytest.importorskip("sklearn.callback")


@pytest.fixture
def rich_console(monkeypatch):
    """scikit-learn's ProgressBar draws with rich; a wide console keeps names whole."""
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", "250")


# Small fits that run every epoch they are given (no stopping on a plateau).
FULL = dict(hidden_layer_sizes=(8,), max_iter=4, n_iter_no_change=1000, random_state=0)


def _fit_quietly(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kwargs)


def _regression():
    X, y = make_regression(80, 5, noise=1.0, random_state=0)
    return X, y / y.std()


def test_set_callbacks_says_it_needs_sklearn_1_9(monkeypatch, data):
    # What scikit-learn < 1.9 (no sklearn.callback) gets: no set_callbacks, so
    # meta-estimators do not try it, and a message saying what to use instead.
    from skbackprop._estimator import sklearn_callbacks as _sklearn_callbacks

    monkeypatch.setattr(_sklearn_callbacks, "SUPPORTED", False)
    clf = BackpropClassifier(**SMALL)
    assert not hasattr(clf, "set_callbacks")
    with pytest.raises(AttributeError, match=r"scikit-learn >= 1\.9.*callbacks=\["):
        clf.set_callbacks()
    X, y = data
    rec = Recorder()
    _fit_quietly(BackpropClassifier(callbacks=[rec], **FULL), X, y)
    assert rec.hooks() == ["begin"] + ["epoch"] * 4 + ["end"]


def _epoch_rows(log, name="BackpropClassifier", task="epoch"):
    return [
        row
        for row in log.data
        if row["estimator_name"] == name and row["task_name"] == task
    ]


@pytest.mark.parametrize(
    "Estimator, solver, scoring",
    [
        (BackpropClassifier, "adam", "accuracy"),
        (BackpropClassifier, "lbfgs", "neg_log_loss"),
        (BackpropRegressor, "sgd", "r2"),
        (BackpropRegressor, "lbfgs", "neg_mean_squared_error"),
    ],
)
def test_sklearn_scoring_monitor_scores_every_epoch(
    sk_callback, data, Estimator, solver, scoring
):
    X, y = data if Estimator is BackpropClassifier else _regression()
    params = dict(FULL, solver=solver)
    monitor = sk_callback.ScoringMonitor(scoring=scoring)
    est = _fit_quietly(Estimator(**params).set_callbacks(monitor), X, y)
    log = monitor.get_logs()
    name = Estimator.__name__
    task = "iteration" if solver == "lbfgs" else "epoch"
    assert log.estimator_name == name
    root = [row for row in log.data if row["task_id_path"] == (0,)]
    assert len(root) == 1 and root[0]["task_name"] == "fit"
    rows = _epoch_rows(log, name, task)
    assert [row["task_id_path"] for row in rows] == [(0, i) for i in range(4)]
    assert est.n_iter_ == 4
    # Each epoch's score is that of the model after that epoch: the same model
    # as a fit stopped there (max_iter=k), scored on the training data.
    from sklearn.metrics import get_scorer

    scorer = get_scorer(scoring)
    for k in (1, 3):
        stopped = _fit_quietly(Estimator(**dict(params, max_iter=k)), X, y)
        np.testing.assert_allclose(rows[k - 1][scoring], scorer(stopped, X, y))
    final = scorer(est, X, y)
    np.testing.assert_allclose(rows[-1][scoring], final)
    np.testing.assert_allclose(root[0][scoring], final)


def test_sklearn_scoring_monitor_partial_fit_is_one_epoch(sk_callback, data):
    X, y = data
    monitor = sk_callback.ScoringMonitor(scoring="accuracy")
    clf = BackpropClassifier(**FULL).set_callbacks(monitor)
    clf.partial_fit(X, y, classes=np.unique(y))
    log = monitor.get_logs()
    assert [(row["task_name"], row["task_id_path"]) for row in log.data] == [
        ("partial_fit", (0,)),
        ("epoch", (0, 0)),
    ]
    np.testing.assert_allclose(log.data[1]["accuracy"], clf.score(X, y))


class StopAtTask:
    """A scikit-learn FitCallback (not a skbackprop one) that stops a fit."""

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs
        self.ended = []

    def setup(self, estimator, context):
        self.ended = []

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.parent is None:  # the root task: the fit is over
            return False
        self.ended.append(fitted_estimator.n_iter_)
        return len(self.ended) >= self.n_epochs

    def teardown(self, estimator, context):
        pass


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sklearn_callback_returning_true_stops_training(sk_callback, data, solver):
    X, y = data
    stop = StopAtTask(3)
    clf = BackpropClassifier(**dict(FULL, max_iter=50, solver=solver))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: it was stopped
        clf.set_callbacks(stop).fit(X, y)
    assert clf.n_iter_ == 3 and stop.ended == [1, 2, 3]
    assert clf.predict(X).shape == y.shape


def test_sklearn_progress_bar_names_the_estimator(sk_callback, rich_console, capsys):
    X, y = _regression()
    reg = BackpropRegressor(**FULL).set_callbacks(sk_callback.ProgressBar())
    _fit_quietly(reg, X, y)
    out = capsys.readouterr().out
    assert "BackpropRegressor - fit" in out
    assert "100%" in out


def test_sklearn_progress_bar_in_a_pipeline(sk_callback, rich_console, capsys, data):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = data
    pipe = make_pipeline(StandardScaler(), BackpropClassifier(**FULL))
    _fit_quietly(pipe.set_callbacks(sk_callback.ProgressBar()), X, y)
    out = capsys.readouterr().out
    assert "Pipeline - fit" in out
    assert "Pipeline - fit-final-estimator | BackpropClassifier - fit" in out


@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
def test_sklearn_callbacks_in_a_grid_search(
    sk_callback, rich_console, capsys, data, Estimator
):
    from sklearn.model_selection import GridSearchCV

    X, y = data if Estimator is BackpropClassifier else _regression()
    # ScoringMonitor is set on the estimator (clones share it); ProgressBar on the
    # search, which propagates it to every fit.
    scoring = "accuracy" if Estimator is BackpropClassifier else "r2"
    monitor = sk_callback.ScoringMonitor(scoring=scoring)
    search = GridSearchCV(
        Estimator(**FULL).set_callbacks(monitor), {"alpha": [1e-4, 1e-2]}, cv=2
    )
    _fit_quietly(search.set_callbacks(sk_callback.ProgressBar()), X, y)
    out = capsys.readouterr().out
    name = Estimator.__name__
    assert "GridSearchCV - fit" in out
    n_fits = 2 * 2 + 1  # candidates x splits, and the refit
    assert out.count(f"| {name} - fit") == n_fits
    log = monitor.get_logs()
    assert log.estimator_name == "GridSearchCV"  # one run: the search's fit
    rows = _epoch_rows(log, name)
    assert len(rows) == n_fits * FULL["max_iter"]
    assert all(np.isfinite(row[scoring]) for row in rows)
    # The refit's last epoch is the best estimator, scored on all the data.
    refit = [row for row in rows if row["task_id_path"][:2] == (0, 1)]
    assert len(refit) == FULL["max_iter"]
    np.testing.assert_allclose(refit[-1][scoring], search.best_estimator_.score(X, y))


class RecordingCallback(Callback):
    """Records skbackprop's hooks (a Callback, so set_callbacks accepts it)."""

    def on_fit_begin(self, estimator, logs):
        self.calls = [("begin", dict(logs))]

    def on_epoch_begin(self, estimator, logs):
        self.calls.append(("epoch_begin", dict(logs)))

    def on_epoch_end(self, estimator, logs):
        self.calls.append(("epoch", dict(logs)))

    def on_fit_end(self, estimator, logs):
        self.calls.append(("end", dict(logs)))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_callbacks_get_the_same_hooks_registered_either_way(sk_callback, data, solver):
    X, y = data
    params = dict(SMALL, solver=solver)
    as_param, registered = RecordingCallback(), RecordingCallback()
    a = _fit_quietly(BackpropClassifier(callbacks=[as_param], **params), X, y)
    b = _fit_quietly(BackpropClassifier(**params).set_callbacks(registered), X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    names = [name for name, _ in registered.calls]
    assert names == [name for name, _ in as_param.calls]
    assert names == ["begin"] + ["epoch_begin", "epoch"] * a.n_iter_ + ["end"]
    begun = [logs["epoch"] for name, logs in registered.calls if name == "epoch_begin"]
    assert begun == list(range(1, a.n_iter_ + 1))
    for (_, x), (_, y_) in zip(as_param.calls, registered.calls, strict=True):
        assert set(x) == set(y_)
        np.testing.assert_allclose(x.get("loss", 0.0), y_.get("loss", 0.0))


def test_lbfgs_epoch_begin_and_end_pair_up_when_it_converges(data):
    X, y = data
    rec = RecordingCallback()
    clf = BackpropClassifier(
        hidden_layer_sizes=(4,), solver="lbfgs", max_iter=2000, tol=1e-3,
        callbacks=[rec], random_state=0,
    )  # fmt: skip
    clf.fit(X, y)
    assert clf.n_iter_ < 2000  # converged: scipy evaluates no further iteration
    names = [name for name, _ in rec.calls]
    assert names == ["begin"] + ["epoch_begin", "epoch"] * clf.n_iter_ + ["end"]


def test_stop_on_loss_registered_with_set_callbacks(sk_callback, data):
    X, y = data
    params = dict(SMALL, max_iter=300, learning_rate_init=0.01)
    a = BackpropClassifier(callbacks=[StopOnLoss(0.3)], **params).fit(X, y)
    b = BackpropClassifier(**params).set_callbacks(StopOnLoss(0.3)).fit(X, y)
    assert a.n_iter_ == b.n_iter_ < 300
    assert b.loss_curve_[-1] <= 0.3 < b.loss_curve_[-2]


def test_skbackprop_callback_on_another_estimator_warns(sk_callback, data):
    from sklearn.linear_model import LogisticRegression

    X, y = data
    with pytest.warns(UserWarning, match="acts only on skbackprop's estimators"):
        LogisticRegression().set_callbacks(StopOnLoss(0.3)).fit(X, y)
    base = Callback()
    for hook in ("on_epoch_begin",):
        assert getattr(base, hook)(None, {"epoch": 1}) is None
    for hook in ("on_fit_task_begin", "on_fit_task_end", "teardown"):
        assert getattr(base, hook)(None, None) is None


class TaskLog:
    """A scikit-learn FitCallback recording which tasks begin and end."""

    def __init__(self):
        self.events = []

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", context))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context, fitted_estimator))

    def teardown(self, estimator, context):
        pass

    def check_paired(self):
        """Every task that began ended once, after it began; return the ends."""
        begun = [e[1] for e in self.events if e[0] == "begin"]
        ended = [e[1] for e in self.events if e[0] == "end"]
        assert sorted(map(id, begun)) == sorted(map(id, ended))
        for ctx in begun:
            kinds = [e[0] for e in self.events if e[1] is ctx]
            assert kinds == ["begin", "end"]
        return [e for e in self.events if e[0] == "end"]


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", max_iter=5),
        dict(solver="lbfgs", max_iter=5),
        dict(solver="lbfgs", max_iter=2000, tol=1e-3),  # converges before max_iter
        dict(solver="lbfgs", max_iter=100, max_fun=6),  # stopped by max_fun
    ],
)
def test_every_sklearn_task_that_begins_ends(sk_callback, data, params):
    X, y = data
    log = TaskLog()
    clf = BackpropClassifier(hidden_layer_sizes=(8,), random_state=0, **params)
    _fit_quietly(clf.set_callbacks(log), X, y)
    ends = log.check_paired()
    root_end = ends[-1]
    assert root_end[1].parent is None and root_end[2] is not None
    # One subtask per epoch (iteration) trained, each with that epoch's model.
    assert [e[2].n_iter_ for e in ends[:-1]] == list(range(1, clf.n_iter_ + 1))


def test_a_diverging_epoch_ends_empty(sk_callback, data):
    X, y = data
    log = TaskLog()
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,), solver="sgd", max_iter=3, random_state=0
    )
    _fit_quietly(clf, X, y)
    clf.set_params(learning_rate_init=1e300, warm_start=True)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        clf.set_callbacks(log).fit(X, y)
    # The epoch that diverged ends empty (no model of it); the root task ends
    # with the weights kept.
    empty = [e[2] is None for e in log.check_paired()]
    assert empty[-2:] == [True, False] and not any(empty[:-2])


def test_sklearn_callbacks_reach_the_network_inside_hidden_features(
    sk_callback, rich_console, capsys, data
):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from skbackprop import HiddenFeatures

    X, y = data
    monitor = sk_callback.ScoringMonitor(scoring="accuracy")
    network = BackpropClassifier(**FULL).set_callbacks(monitor)
    pipe = make_pipeline(HiddenFeatures(network), LogisticRegression())
    pipe.set_callbacks(sk_callback.ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        # No "does not support callbacks" warning: HiddenFeatures passes them on.
        warnings.simplefilter("error", UserWarning)
        _fit_quietly(pipe, X, y)
    out = capsys.readouterr().out
    assert "HiddenFeatures - fit" in out
    assert "HiddenFeatures - fit-network | BackpropClassifier - fit" in out
    log = monitor.get_logs()
    assert log.estimator_name == "Pipeline"
    assert len(_epoch_rows(log)) == FULL["max_iter"]


def test_a_sklearn_callback_in_the_callbacks_parameter_says_where_it_goes(
    sk_callback, data
):
    X, y = data
    clf = BackpropClassifier(
        callbacks=[sk_callback.ScoringMonitor(scoring="accuracy")], **SMALL
    )
    with pytest.raises(TypeError, match=r"ScoringMonitor is a scikit-learn callback"):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_")  # refused before anything changed
    with pytest.raises(TypeError, match=r"\.set_callbacks\(ScoringMonitor\(\.\.\.\)\)"):
        clf.partial_fit(X, y, classes=np.unique(y))
