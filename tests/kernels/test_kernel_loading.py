"""Loading the compiled kernels: no silent wait, settings per thread.

Several checks run in a fresh Python (a subprocess): what numba does at import,
with its cache or with environment variables, is a matter of the process.
"""

import os
import subprocess
import sys
import textwrap
import threading
import types
import warnings

import numpy as np
import pytest
import scipy.sparse
from joblib import parallel_backend
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, cross_validate

import skbackprop
from skbackprop import BackpropClassifier, config_context, get_config, set_config
from skbackprop._kernels import loading as _kernel_loading
from skbackprop.activations import PReLU, ReLU
from skbackprop.callbacks import Callback
from skbackprop.losses import SoftmaxLogLoss
from skbackprop.network import Network

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

X, y = make_classification(n_samples=120, n_features=8, n_classes=3,
                           n_informative=5, random_state=0)  # fmt: skip


def _run(code, **env):
    """Run ``code`` in a fresh Python with skbackprop importable; return stdout."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SKBACKPROP")}
    environ.update(PYTHONPATH=ROOT, PYTHONWARNINGS="default", **env)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


# --------------------------------------------------- read-only deployments
def test_no_writable_cache_location_fits_and_compiles_in_memory(tmp_path):
    """Read-only site-packages, no writable HOME: numba has no cache locator.

    numba then refuses ``cache=True`` ("cannot cache function ...: no locator
    available"), which used to fail every fit. Simulated by numba's own list of
    cache locators emptied (running as root, file permissions would not hold).
    """
    out, err = _run(
        """
        import warnings
        import numba.core.caching as caching
        caching.CacheImpl._locator_classes = []  # nowhere to write a cache
        from sklearn.datasets import load_digits
        from skbackprop import BackpropClassifier
        X, y = load_digits(return_X_y=True)
        warnings.simplefilter("ignore", category=UserWarning)
        m = BackpropClassifier(hidden_layer_sizes=(8,), batch_size=32, max_iter=2,
                               random_state=0).fit(X, y)
        m.partial_fit(X, y)
        import skbackprop._kernels.epoch, skbackprop._kernels.fused  # decorated
        from skbackprop._kernels import runtime as _numba
        assert "no locator available" in _numba.CACHE_PROBLEM

        @_numba.njit(cache=True)  # a tiny kernel: compiled in memory instead
        def double(x):
            return 2 * x

        assert double(21) == 42
        print("ok", m.score(X, y) > 0.2)  # chance: 0.1
        """,
        NUMBA_CACHE_DIR="",
    )
    assert out.split() == ["ok", "True"], err


def test_numba_disable_jit_is_treated_as_unavailable():
    """NUMBA_DISABLE_JIT=1 would run the kernels as plain Python: numpy instead.

    The fit that would load the kernels (its estimate made to repay loading)
    warns once, says why, and trains exactly as with kernels=False;
    ``kernels=True`` and ``compile_kernels`` say why they cannot.
    """
    out, err = _run(
        """
        import warnings
        import numpy as np
        from sklearn.datasets import make_classification
        import skbackprop
        from skbackprop import BackpropClassifier, config_context
        try:
            skbackprop._kernels.loading.LOAD_COST_S = 0.0  # any fit would load
        except AttributeError:
            pass
        X, y = make_classification(n_samples=60, random_state=0)
        est = dict(hidden_layer_sizes=(4,), batch_size=8, max_iter=2, random_state=0)
        warnings.simplefilter("ignore", category=UserWarning)  # convergence
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", RuntimeWarning)
            auto = [BackpropClassifier(**est).fit(X, y) for _ in range(2)]
        with config_context(kernels=False):
            off = BackpropClassifier(**est).fit(X, y)
        for m in auto:
            for a, b in zip(m.coefs_ + m.intercepts_, off.coefs_ + off.intercepts_):
                np.testing.assert_array_equal(a, b)
        kernel_warnings = [str(w.message) for w in seen if "kernels" in str(w.message)]
        assert len(kernel_warnings) == 1, kernel_warnings
        assert "NUMBA_DISABLE_JIT" in kernel_warnings[0]
        assert "kernels=False" in kernel_warnings[0]
        for call in (skbackprop.compile_kernels,
                     lambda: BackpropClassifier(**est).fit(X, y)):
            try:
                with config_context(kernels=True):
                    call()
            except RuntimeError as err:
                assert "NUMBA_DISABLE_JIT" in str(err), err
            else:
                raise AssertionError("no error with kernels=True")
        print("ok")
        """,
        NUMBA_DISABLE_JIT="1",
    )
    assert out.split() == ["ok"], err


# ------------------------------------------------ no silent first-use stall
def test_small_fit_with_an_empty_cache_does_not_touch_numba(tmp_path):
    """A digits-sized fit in a fresh environment trains at once with numpy.

    Compiling the kernels for it (some 20 s per dtype) or even importing numba
    costs more than it saves.
    """
    out, err = _run(
        """
        import sys
        from sklearn.datasets import load_digits
        from skbackprop import BackpropClassifier
        X, y = load_digits(return_X_y=True)
        for dtype in ("float64", "float32"):
            BackpropClassifier(batch_size=32, max_iter=3, random_state=0).fit(
                X.astype(dtype), y)
        print("numba" in sys.modules)
        """,
        NUMBA_CACHE_DIR=str(tmp_path),
    )
    assert out.split() == ["False"], err
    assert "compiling" not in err
    assert not any(tmp_path.iterdir())


@pytest.fixture
def loader(monkeypatch, capsys):
    """The loader with a fresh state and a fake kernel module ``_kernels_fake``.

    Its one "kernel" records what was printed on stderr before it ran.
    """
    monkeypatch.setattr(_kernel_loading, "_loaded", {})
    monkeypatch.setattr(_kernel_loading, "_failure", None)
    monkeypatch.setattr(_kernel_loading, "_warned", False)
    # it saves all of a fit's time: it repays its costs from fits that long
    monkeypatch.setattr(_kernel_loading, "SAVES", {"_kernels_fake": 1.0})
    fake = types.ModuleType("skbackprop._kernels_fake")
    fake.AVAILABLE, fake.calls, fake.cached, fake.fail = True, [], False, None

    def kernel(*args):
        if fake.fail is not None:
            raise fake.fail
        fake.calls.append(capsys.readouterr().err)

    fake._warm_up_calls = lambda dtype: [(kernel, ())]
    monkeypatch.setitem(sys.modules, "skbackprop._kernels_fake", fake)
    monkeypatch.setitem(_kernel_loading._IMPORTERS, "_kernels_fake", lambda: fake)
    monkeypatch.setattr(_kernel_loading, "_is_cached", lambda name, dt: fake.cached)
    return fake


def _plan(setting, seconds, dtype=np.float64):
    asked = []

    def wanted():
        asked.append(1)
        return ("_kernels_fake",)

    modules = _kernel_loading.plan(setting, np.dtype(dtype), seconds, wanted)
    return sorted(modules), bool(asked)


def test_auto_decides_from_the_estimate_and_the_cache(loader, capsys):
    load, compile_ = _kernel_loading.LOAD_COST_S, _kernel_loading.COMPILE_COST_S
    # Short fit, nothing loaded: numpy, and numba is not even asked.
    assert _plan("auto", load / 2) == ([], False)
    # Cold cache: loading would mean compiling, which a mid-sized fit does not repay.
    assert _plan("auto", (load + compile_) / 2) == ([], True)
    assert loader.calls == []
    # Long enough to repay a compile: one line on stderr first, then the compile.
    assert _plan("auto", compile_) == (["_kernels_fake"], True)
    assert len(loader.calls) == 1 and "compiling the numba kernels" in loader.calls[0]
    # Loaded in this process: used by any fit, nothing compiled or printed again.
    assert _plan("auto", 0.0) == (["_kernels_fake"], True)
    assert len(loader.calls) == 1 and capsys.readouterr().err == ""
    # ... for its dtype only: float32 is compiled separately.
    assert _plan("auto", 0.0, np.float32) == ([], False)
    assert _plan(False, 1e9) == ([], False)


def test_warm_cache_loads_without_a_notice(loader, capsys):
    loader.cached = True
    load = _kernel_loading.LOAD_COST_S
    assert _plan("auto", load * 0.9) == ([], False)  # loading does not repay
    assert _plan("auto", load) == (["_kernels_fake"], True)
    assert loader.calls == [""] and capsys.readouterr().err == ""


def test_kernels_true_compiles_now_with_a_notice(loader, capsys):
    assert _plan(True, 0.0) == (["_kernels_fake"], True)
    assert len(loader.calls) == 1  # printed before the compile, one line:
    assert loader.calls[0].count("\n") == 1 and "compile_kernels()" in loader.calls[0]
    assert capsys.readouterr().err == ""


def test_failed_compile_falls_back_with_one_warning(loader):
    loader.fail = OSError("[Errno 28] No space left on device\nmore\nlines")
    with pytest.warns(RuntimeWarning) as seen:
        assert _plan("auto", 1e9) == ([], True)
    message = str(seen[0].message)
    assert len(seen) == 1 and "No space left on device" in message
    assert "NUMBA_CACHE_DIR" in message and "kernels=False" in message
    assert "more" not in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _plan("auto", 1e9) == ([], False)  # known: numpy, silently
    with pytest.raises(RuntimeError, match="kernels=True.*No space left on device"):
        _plan(True, 0.0)


def test_kernels_true_failure_leaves_the_estimator_as_it_was(loader):
    loader.fail = RuntimeError("LLVM ERROR: out of luck")
    est = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(Warning):
        est.fit(X, y)
    before = [c.copy() for c in est.coefs_]
    est.set_params(warm_start=True)
    with config_context(kernels=True), pytest.raises(RuntimeError, match="out of luck"):
        # the real kernel modules, made to fail as the fake one does
        _kernel_loading._failure = "compiling them for float64 failed (out of luck)"
        est.fit(X, y)
    for a, b in zip(before, est.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.n_iter_ == 2


def test_numpy_seconds_estimate_is_rough_but_ordered():
    L = _kernel_loading
    most = max(L.SAVES.values())
    digits = L.numpy_seconds(1797, 32, 50, [64, 100, 10], np.float64)
    assert digits * most < L.LOAD_COST_S  # the first digits fit stays numpy
    big = L.numpy_seconds(60000, 32, 200, [784, 256, 256, 10], np.float64)
    assert big * L.SAVES["_kernels_epoch"] > L.COMPILE_COST_S  # repays compiling
    one = _kernel_loading.numpy_seconds(1797, 32, 1, [64, 100, 10], np.float64)
    assert digits == pytest.approx(50 * one)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_warm_up_covers_what_fits_compile(dtype):
    """After compile_kernels (a fit's start does the same), fits compile nothing more.

    So the cache probe asks about the right signatures, and no fit stalls
    mid-way on a compile. If a kernel's arguments change, update its module's
    ``_warm_up_calls``.
    """
    skbackprop.compile_kernels(dtypes=[np.dtype(dtype).name])
    epoch = _kernel_loading._loaded["_kernels_epoch", np.dtype(dtype)]
    fused = _kernel_loading._loaded["_kernels_fused", np.dtype(dtype)]
    dispatchers = [epoch._epoch] + [f for f, _ in fused._warm_up_calls(dtype)]
    before = [len(d.signatures) for d in dispatchers]
    Xd = X.astype(dtype)
    sw = np.linspace(0.5, 2.0, len(y))
    configs = [
        dict(batch_size=16, solver="adam", activation="tanh"),
        dict(batch_size=1, solver="sgd", momentum=0.0, activation="relu"),
        dict(batch_size=100, solver="adam", activation="relu", alpha=0.0),
        dict(batch_size=100, solver="sgd", activation="logistic",
             early_stopping=True, n_iter_no_change=1),
        dict(solver="lbfgs", activation="tanh"),
    ]  # fmt: skip
    with config_context(kernels=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for params in configs:
            est = BackpropClassifier(hidden_layer_sizes=(5,), max_iter=2,
                                     random_state=0, **params)  # fmt: skip
            est.fit(Xd, y, sample_weight=sw)
            if params["solver"] != "lbfgs" and "early_stopping" not in params:
                est.partial_fit(Xd, y)
            est.predict_proba(Xd)
    assert [len(d.signatures) for d in dispatchers] == before


@pytest.mark.parametrize(
    "params, sparse, wanted",
    [
        (dict(batch_size=32), False, "_kernels_epoch"),
        (dict(batch_size=32, solver="sgd"), False, "_kernels_epoch"),
        (dict(batch_size=32), True, "_kernels_fused"),  # sparse X
        (dict(batch_size=32, activation=PReLU()), False, "_kernels_fused"),
        (dict(batch_size=100), False, "_kernels_fused"),
        (dict(solver="lbfgs"), False, "_kernels_fused"),
    ],
)
def test_a_fit_loads_the_kernels_it_uses(params, sparse, wanted, monkeypatch):
    """The dispatch rule decides which kernel a fit's start loads (kernels=True)."""
    loaded = []
    monkeypatch.setattr(_kernel_loading, "_is_cached", lambda name, dt: True)
    monkeypatch.setattr(_kernel_loading, "_load",
                        lambda name, dt, cached: loaded.append(name))  # fmt: skip
    est = BackpropClassifier(hidden_layer_sizes=(4,), **params)
    Xs = scipy.sparse.csr_matrix(X) if sparse else X
    act = est.activation if isinstance(est.activation, PReLU) else ReLU()
    net = Network([8, 4, 3], [act], SoftmaxLogLoss(), np.float64)
    _kernel_loading.plan_for_fit(est, net, Xs, False, True)
    assert loaded == [wanted]


# ------------------------------------------------------ settings per thread
def _in_thread(function):
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join(timeout=60)
    return result[0]


def test_settings_are_per_thread():
    default = get_config()
    inside, release = threading.Event(), threading.Event()

    def block(value):
        with config_context(kernels=value):
            inside.set()
            release.wait(timeout=30)
            return get_config()["kernels"]

    # Two overlapping blocks in two threads: each sees its own, neither leaks.
    worker = threading.Thread(target=lambda: block(False))
    worker.start()
    inside.wait(timeout=30)
    with config_context(kernels="auto", blas_threads=2):
        assert get_config()["kernels"] == "auto"
        # a block in the worker thread does not change this thread's settings
        release.set()
        worker.join(timeout=30)
        assert get_config() == {"kernels": "auto", "blas_threads": 2}
    assert get_config() == default

    # set_config in a thread changes that thread only; new threads start from
    # the defaults, not from the settings of the thread that made them.
    assert _in_thread(lambda: set_config(kernels=False) or get_config()) == dict(
        default, kernels=False
    )
    assert get_config() == default
    with config_context(kernels=False):
        assert _in_thread(get_config) == default


class _CheckConfig(Callback):
    """Fail a fit (in whatever worker runs it) whose settings are not ``wanted``."""

    def __init__(self, wanted):
        self.wanted = wanted

    def on_fit_begin(self, estimator, logs):
        self.seen_ = get_config()
        assert self.seen_ == self.wanted, f"the fit saw {self.seen_}"


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_settings_reach_scikit_learns_parallel_workers(backend):
    wanted = {"kernels": False, "blas_threads": 3}
    est = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=1,
                             callbacks=[_CheckConfig(wanted)])  # fmt: skip
    with parallel_backend(backend), config_context(**wanted):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cv = cross_validate(est, X, y, cv=2, n_jobs=2, return_estimator=True,
                                error_score="raise")  # fmt: skip
            GridSearchCV(est, {"alpha": [1e-4, 1e-3]}, cv=2, n_jobs=2,
                         error_score="raise").fit(X, y)  # fmt: skip
    assert [e.callbacks[0].seen_ for e in cv["estimator"]] == [wanted] * 2
    assert get_config() != wanted  # restored here


# ------------------------------------------------- the environment variable
@pytest.mark.parametrize("value", ["", "on", "maybe"])
def test_any_environment_value_imports(value):
    out, err = _run(
        """
        import skbackprop
        print(skbackprop.get_config()["kernels"])
        """,
        SKBACKPROP_KERNELS=value,
    )
    assert out.split() == [{"on": "True"}.get(value, "auto")]
    assert ("is not understood" in err) == (value == "maybe")


def test_kernels_1_without_numba_says_pip_install_numba():
    out, err = _run(
        """
        import sys, warnings
        sys.modules["numba"] = None  # numba is not installed
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            import skbackprop
        assert any("pip install numba" in str(w.message) for w in seen), seen
        import numpy as np
        from skbackprop import BackpropClassifier
        try:
            X, y = np.array([[0.0], [1.0]]), np.array([0, 1])
            BackpropClassifier(max_iter=1).fit(X, y)
        except (ImportError, RuntimeError) as err:
            assert "pip install numba" in str(err), err
        else:
            raise AssertionError("kernels=1 fitted without numba")
        print("ok")
        """,
        SKBACKPROP_KERNELS="1",
    )
    assert out.split() == ["ok"], err


def test_compile_kernels_is_public():
    assert "compile_kernels" in skbackprop.__all__
    with pytest.raises(ValueError, match="float64 or float32"):
        skbackprop.compile_kernels(dtypes=["int8"])
