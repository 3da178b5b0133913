"""When a fit uses the compiled kernels, and loading them without breaking a fit.

The kernels (:mod:`skbackprop._kernels.epoch`, :mod:`skbackprop._kernels.fused`)
are numba code: the first use in a fresh environment compiles them (some 20 s per
dtype on a 2-core machine), and every later process loads them from numba's cache
(importing numba and loading, about a second). On a small fit either costs more
than the kernels save, so ``kernels="auto"`` decides at the start of each fit, from
the fit's size, the settings and the state of the cache (never from elapsed time:
a fit with a given ``random_state`` gives the same model each run in a given
environment):

1. kernels this process has loaded already (for this dtype) are used;
2. else, when numba's cache holds them (checked without compiling,
   :func:`skbackprop._kernels.runtime.cache_holds`) and the time they would save,
   the fit's
   estimated numpy time (:func:`numpy_seconds`) times the share they save
   (:data:`SAVES`), repays loading them (:data:`LOAD_COST_S`), they are loaded;
3. else, when that saving repays compiling them (:data:`COMPILE_COST_S`), one
   line on stderr says that they compile, then they compile (and are cached);
4. else the fit uses numpy.

With the measured constants the epoch kernel loads from the cache for fits of
about 1.7 s or more on numpy, and compiles for fits of about 35 s or more; the
fused kernels (which save less) for about 7 s and 130 s.

``kernels=True`` loads or compiles them now (with the same line before a compile).
:func:`compile_kernels` fills the cache ahead of time (a Docker or CI step).

Which kernels a fit would use where they are on (the per-configuration dispatch
rule) is :func:`skbackprop._training.loop.compiled_epoch_wins`.

Nothing here breaks a fit: numba missing or broken, ``NUMBA_DISABLE_JIT=1`` or a
failed compile leave ``"auto"`` on the numpy path with one warning per process
saying why and what to do; ``kernels=True`` raises with the reason. Where numba
cannot write a cache, the kernels compile in memory
(:mod:`skbackprop._kernels.runtime`),
where a fit repays a compile, in each process.
"""

import contextlib
import contextvars
import functools
import importlib.util
import sys
import threading

import numpy as np

__all__ = ["compile_kernels"]

#: Seconds to load the kernels from numba's cache in a fresh process (importing
#: numba, checking the cache, loading): 0.6-1.5 s measured on 2 cores.
LOAD_COST_S = 1.0

#: Seconds to compile the kernels of a fit for one dtype (2 cores: the epoch
#: kernel 14-17 s, the fused ones about 2 s; more on a busy machine).
COMPILE_COST_S = 20.0

#: Share of the numpy time each kind of kernel saves where it applies (measured,
#: benchmarks/README.md: the epoch kernel 2.6-2.9x faster at batch 32, 1.5x at
#: 64, 17x or more at batch 1; the fused passes 15-18% of W1's time).
SAVES = {"_kernels_epoch": 0.6, "_kernels_fused": 0.15}

# The rough cost of the numpy path (2-core machine, idle, from the benchmarks'
# numpy figures: W2 and W3 give about 110-140 us per batch of Python and small
# numpy calls; W1 13 (float64) and 25 (float32) G multiply-adds per second).
_SECONDS_PER_BATCH = 130e-6
_MULTIPLY_ADDS_PER_S = {np.dtype(np.float64): 13e9, np.dtype(np.float32): 25e9}

_KINDS = ("_kernels_epoch", "_kernels_fused")

_lock = threading.Lock()  # the state below: held for moments only
_compile_lock = threading.Lock()  # one compile or load at a time
_loaded = {}  # (module name, dtype) -> module, compiled or loaded for that dtype
_failure = None  # why the kernels cannot be used in this process, once known
_warned = False
# The kernels of the fit running in this thread: None outside a fit.
_FIT_KERNELS = contextvars.ContextVar("skbackprop_fit_kernels", default=None)


@functools.cache
def _numba_installed():
    return importlib.util.find_spec("numba") is not None


class _Unavailable(Exception):
    """The kernels cannot be used (the message says why)."""


def numpy_seconds(n_samples, batch_size, epochs, layer_units, dtype):
    """Estimate a fit's time on the numpy path (deliberately rough).

    Parameters
    ----------
    n_samples : int
        Training rows.
    batch_size : int
        Rows per batch (``n_samples`` for L-BFGS).
    epochs : int
        Passes over the data (L-BFGS: iterations).
    layer_units : sequence of int
        ``[d^(0), ..., d^(L)]``.
    dtype : numpy dtype

    Returns
    -------
    seconds : float
        ``epochs · (batches · per-batch cost + multiply-adds / rate)``, with the
        forward and backward passes about three products per layer.
    """
    batches = -(-n_samples // max(1, batch_size))
    pairs = zip(layer_units[:-1], layer_units[1:], strict=False)
    multiply_adds = 3 * n_samples * sum(a * b for a, b in pairs)
    rate = _MULTIPLY_ADDS_PER_S.get(np.dtype(dtype), 10e9)
    return epochs * (batches * _SECONDS_PER_BATCH + multiply_adds / rate)


def _import_epoch():
    # Imported when a fit first uses them: importing numba costs about a second.
    from . import epoch

    return epoch


def _import_fused():
    from . import fused

    return fused


#: Each kind of kernel, and the import that brings its module.
_IMPORTERS = {"_kernels_epoch": _import_epoch, "_kernels_fused": _import_fused}


def _import(name):
    """Import the kernels of kind ``name``; _Unavailable if they cannot run."""
    try:
        module = _IMPORTERS[name]()
    except Exception as err:  # noqa: BLE001 - numba's decorators can raise anything
        raise _Unavailable(f"importing them failed ({_brief(err)})") from err
    if not module.AVAILABLE:
        from . import runtime as _numba

        raise _Unavailable(_numba.REASON)
    return module


def _brief(err):
    """``Type: first line of the message`` (compiler errors run to pages)."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0][:300] if lines else ''}"


def _is_cached(name, dtype):
    """Whether numba's cache (or this process) holds kernel ``name`` for ``dtype``."""
    from . import runtime as _numba

    module = _import(name)
    return all(_numba.cache_holds(f, args) for f, args in module._warm_up_calls(dtype))


def _load(name, dtype, cached):
    """Compile or load kernel ``name`` for ``dtype`` now; raise _Unavailable if not.

    A compile (``cached`` False) is announced on stderr first.
    """
    global _failure
    dtype = np.dtype(dtype)
    # Fits in other threads go on deciding (and training) while one compiles.
    with _compile_lock:
        with _lock:
            if (name, dtype) in _loaded:
                return _loaded[name, dtype]
            if _failure is not None:
                raise _Unavailable(_failure)
        try:
            module = _import(name)
            if not cached:
                _announce_compile(name, dtype)
            for function, args in module._warm_up_calls(dtype):
                function(*args)
        except Exception as err:  # noqa: BLE001 - a failed compile or cache write
            reason = (
                str(err)
                if isinstance(err, _Unavailable)
                else (f"compiling them for {dtype} failed ({_brief(err)})")
            )
            with _lock:
                _failure = _failure or reason
            raise _Unavailable(reason) from err
        with _lock:
            _loaded[name, dtype] = module
        return module


def _announce_compile(name, dtype):
    from . import runtime as _numba

    what, takes = ("training epoch", "about 20 s")
    if name != "_kernels_epoch":
        what, takes = ("fused update", "a few seconds")
    where = (
        "later processes load them from numba's cache"
        if _numba.CACHE_PROBLEM is None
        else "numba cannot cache them here, so each process compiles again: set "
        "NUMBA_CACHE_DIR to a writable directory"
    )
    print(
        f"skbackprop: compiling the numba kernels ({what}, {dtype}; {takes}, "
        f"once: {where}). skbackprop.compile_kernels() does this ahead of time; "
        "kernels=False skips them.",
        file=sys.stderr,
        flush=True,
    )


def _fix(reason):
    """Return what a user can do about ``reason``."""
    if "NUMBA_DISABLE_JIT" in reason:
        return "Unset NUMBA_DISABLE_JIT to use the kernels."
    if "not installed" in reason:
        return "pip install numba (skbackprop's fast extra) to use the kernels."
    if "import" in reason:
        return "Reinstall numba (pip install --force-reinstall numba llvmlite)."
    return (
        "If numba cannot write its cache, set NUMBA_CACHE_DIR to a writable directory."
    )


def _fail_once(reason):
    """Record that the kernels cannot be used here; warn the first time."""
    global _failure, _warned
    with _lock:
        _failure = _failure or reason
        if _warned:
            return
        _warned = True
    from .._estimator.messages import _warn

    _warn(
        f"skbackprop's compiled kernels are off in this process: {reason}. Fits "
        f"train with numpy (the same models, slower on small batches). {_fix(reason)} "
        "To silence this: skbackprop.set_config(kernels=False) or "
        "SKBACKPROP_KERNELS=0.",
        RuntimeWarning,
    )


def _true_error(reason):
    """Return the error of ``kernels=True`` where the kernels cannot be used."""
    return RuntimeError(
        f"kernels=True, but skbackprop's compiled kernels cannot be used: {reason}. "
        f"{_fix(reason)} Or set kernels='auto' (numpy where they cannot run) or "
        "kernels=False."
    )


def _loaded_module(name, dtype):
    with _lock:
        return _loaded.get((name, np.dtype(dtype)))


def plan(setting, dtype, seconds, wanted):
    """Decide which kernels a fit uses (the policy in the module's notes).

    Parameters
    ----------
    setting : {"auto", True, False}
        The ``kernels`` setting.
    dtype : numpy dtype
        The network's dtype.
    seconds : float
        The fit's estimated numpy-path time (:func:`numpy_seconds`).
    wanted : callable
        Returns the names of the kernel modules the fit would use. Called only
        where importing numba is paid for (it may import a kernel module).

    Returns
    -------
    modules : dict
        Kernel module by name; empty for the numpy path.

    Raises
    ------
    RuntimeError
        With ``kernels=True``, if the kernels cannot be compiled or loaded.
    """
    if setting is False or np.dtype(dtype) not in _MULTIPLY_ADDS_PER_S:
        return {}

    def repays(names, cost):
        return seconds * min(SAVES.get(n, 1.0) for n in names) >= cost

    if setting is True:
        try:
            names = wanted()
            return {n: _load(n, dtype, _is_cached(n, dtype)) for n in names}
        except _Unavailable as err:
            raise _true_error(str(err)) from err
    if _failure is not None or not _numba_installed():
        return {}
    with _lock:
        any_loaded = any(key[1] == np.dtype(dtype) for key in _loaded)
    if not any_loaded and seconds * max(SAVES.values()) < LOAD_COST_S:
        return {}  # no kernel could repay loading: numpy, nothing imported
    try:
        names = wanted()
        modules = {n: _loaded_module(n, dtype) for n in names}
        if all(modules.values()):
            return modules
        if not repays(names, LOAD_COST_S):
            return {}
        cached = all(_is_cached(n, dtype) for n in names)
        if cached or repays(names, COMPILE_COST_S):
            return {n: _load(n, dtype, cached) for n in names}
    except _Unavailable as err:
        _fail_once(str(err))
    return {}


@contextlib.contextmanager
def using(modules):
    """Make :func:`module_for` answer ``modules`` within the block (one fit).

    Parameters
    ----------
    modules : dict
        From :func:`plan`.

    Yields
    ------
    None
    """
    token = _FIT_KERNELS.set(modules)
    try:
        yield
    finally:
        _FIT_KERNELS.reset(token)


def module_for(name, setting):
    """Return the kernels of kind ``name`` to use now, or None (``*_kernels()``)."""
    modules = _FIT_KERNELS.get()
    if modules is not None:
        return modules.get(name)
    if setting is not True:
        # Outside a fit "auto" keeps numpy: no dtype is known here, and a kernel
        # loaded for another dtype would compile on its first call.
        return None
    try:
        if _failure is not None:
            raise _Unavailable(_failure)
        return _import(name)
    except _Unavailable as err:
        raise _true_error(str(err)) from err


def plan_for_fit(estimator, net, X, incremental, setting):
    """Decide which kernels a call of ``fit`` or ``partial_fit`` uses.

    Parameters
    ----------
    estimator : BaseBackprop
        The estimator being fitted (its solver, batch size, ``max_iter``).
    net : Network
        The network to train.
    X : array or sparse matrix
        Validated training rows.
    incremental : bool
        ``partial_fit`` (one epoch).
    setting : {"auto", True, False}
        The ``kernels`` setting.

    Returns
    -------
    modules : dict
        For :func:`using`.
    """
    if net.xp is not np:
        return {}
    n = X.shape[0]
    stochastic = estimator.solver in ("sgd", "adam")
    if stochastic:
        size = estimator.batch_size
        batch = min(200, n) if size == "auto" else int(np.clip(size, 1, n))
    else:
        batch = n
    epochs = 1 if incremental else estimator.max_iter
    seconds = numpy_seconds(n, batch, epochs, net.layer_units, net.dtype)

    def wanted():
        from .._training.loop import compiled_epoch_wins

        dense = type(X) is np.ndarray
        if (
            stochastic
            and dense
            and compiled_epoch_wins(batch, net, estimator.solver, estimator)
        ):
            epoch = _import("_kernels_epoch")
            if epoch.network_codes(net) is not None:
                return ("_kernels_epoch",)
        return ("_kernels_fused",)

    return plan(setting, net.dtype, seconds, wanted)


def compile_kernels(dtypes=("float64", "float32")):
    """Compile the numba kernels now and keep them in numba's cache.

    The first fit that uses the kernels in a fresh environment otherwise compiles
    them (about 20 s per dtype), or, under ``kernels="auto"``, small fits skip
    them. Run this once after installing, e.g. in a Dockerfile or a CI step after
    ``pip install ".[fast]"``::

        python -c "import skbackprop; skbackprop.compile_kernels()"

    Later processes load the kernels from the cache (numba's ``__pycache__`` next
    to skbackprop's files, or ``NUMBA_CACHE_DIR``: build and run with the same
    setting).

    Parameters
    ----------
    dtypes : sequence of {"float64", "float32"}, default=("float64", "float32")
        The dtypes to compile for (models train in the dtype of their data).

    Raises
    ------
    ValueError
        If a dtype is neither float64 nor float32.
    RuntimeError
        If the kernels cannot be compiled (numba missing or broken,
        ``NUMBA_DISABLE_JIT`` set) or numba cannot write its cache.
    """
    for dtype in dtypes:
        if np.dtype(dtype) not in _MULTIPLY_ADDS_PER_S:
            raise ValueError(f"dtypes must be float64 or float32; got {dtype!r}.")
    for dtype in dtypes:
        for name in _KINDS:
            try:
                _load(name, dtype, _is_cached(name, dtype))
            except _Unavailable as err:
                raise RuntimeError(
                    f"The compiled kernels cannot be built: {err}. {_fix(str(err))}"
                ) from err
    from . import runtime as _numba

    problem = _numba.CACHE_PROBLEM
    if problem is not None:
        raise RuntimeError(
            "The kernels compiled, but numba cannot cache them, so every process "
            f"would compile them again ({problem}). Set NUMBA_CACHE_DIR to a "
            "writable directory (the same when building and running)."
        )
