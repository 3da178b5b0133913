"""skbackprop's own settings: the compiled kernels, and BLAS threads for small fits.

``set_config``, ``get_config`` and ``config_context`` work like scikit-learn's. The
setting ``kernels`` decides whether the estimators use the numba kernels
(:mod:`skbackprop._kernels.epoch`, :mod:`skbackprop._kernels.fused`) where they
apply: ``"auto"`` (the default) uses them where they pay off (decided at the
start of each fit, :mod:`skbackprop._kernels.loading`), ``False`` never (the
generic numpy path, the readable reference of the lecture), ``True`` requires
them (an error if numba is missing or cannot compile them). The environment variable
``SKBACKPROP_KERNELS`` (``auto``, ``1`` or ``0``) sets the default, also for
worker processes, e.g. ``SKBACKPROP_KERNELS=0 pytest`` runs the suite without them.

Settings are per thread, as scikit-learn's are, and travel with the jobs of
scikit-learn's ``Parallel`` (``cross_validate``, ``GridSearchCV``, ... with
``n_jobs``) to their threads and processes.

The setting ``blas_threads`` bounds BLAS's threads while a numpy network trains.
``"auto"`` (the default) trains on one thread when every matrix product of a
batch is small (under :data:`SMALL_PRODUCT` multiply-adds): there a second
thread saves microseconds on an idle machine, but on a busy one each product
waits for a descheduled thread (measured under load on digits, (64,) hidden
units: 1.59 s per fit with two threads, 0.11 s with one). An int sets BLAS to
that many threads for every fit; None leaves BLAS alone. Only fits in the main
thread set it (see :func:`blas_threads_for`).
"""

import contextlib
import functools
import importlib.util
import os
import threading
import warnings

from .._estimator.compat import _carry_config_to_joblib_workers
from . import loading as _kernel_loading

__all__ = ["config_context", "get_config", "set_config"]

_VALUES = {
    **dict.fromkeys(("auto",), "auto"),
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}


@functools.cache
def numba_installed():
    """Return whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def _from_environment():
    """Return the default ``kernels`` setting, from ``SKBACKPROP_KERNELS``.

    Never raises (``import skbackprop`` must work, if only to load a saved model):
    a value it does not understand warns and gives ``"auto"``; an empty one is
    unset.
    """
    raw = os.environ.get("SKBACKPROP_KERNELS", "")
    value = _VALUES.get(raw.strip().lower() or "auto")
    if value is None:
        warnings.warn(
            f"SKBACKPROP_KERNELS={raw!r} is not understood and is ignored (the "
            "default, kernels='auto', applies). Use auto, 1 or 0 (also true/false, "
            "yes/no, on/off).",
            UserWarning,
            stacklevel=2,
        )
        return "auto"
    if value is True and not numba_installed():
        warnings.warn(
            "SKBACKPROP_KERNELS=1 asks for the compiled kernels, but numba is not "
            "installed: pip install numba (skbackprop's fast extra), or set "
            "SKBACKPROP_KERNELS=auto to train with numpy. Until then fits raise "
            "ImportError.",
            UserWarning,
            stacklevel=2,
        )
    return value


# As scikit-learn's configuration: defaults for every thread (from the
# environment, at import), and each thread's own copy, made on its first use, that
# set_config and config_context change. A new thread starts from the defaults.
_global_config = {"kernels": _from_environment(), "blas_threads": "auto"}
_threadlocal = threading.local()


def _local_config():
    """Return this thread's settings (a dict, first copied from the defaults)."""
    config = getattr(_threadlocal, "config", None)
    if config is None:
        config = _threadlocal.config = dict(_global_config)
    return config


#: Under ``blas_threads="auto"``, batches whose largest matrix product has fewer
#: multiply-adds than this train on one BLAS thread (about half a millisecond of
#: one core's work: W1's (256, 256) products, 16.8M, keep their threads).
SMALL_PRODUCT = 1 << 22


def get_config():
    """Return skbackprop's current settings (this thread's).

    Returns
    -------
    config : dict
        ``{"kernels": "auto" | True | False, "blas_threads": "auto" | int | None}``.
    """
    return dict(_local_config())


_UNSET = object()


def set_config(kernels=None, blas_threads=_UNSET):
    """Set skbackprop's settings (a setting not given is left as it is).

    As scikit-learn's ``set_config``, this changes the calling thread's settings
    only; other threads keep theirs, and a new thread starts from the defaults.
    scikit-learn's parallel tools (``cross_validate``, ``GridSearchCV`` and others
    with ``n_jobs``) run their jobs with the settings of the thread that started
    them.

    Parameters
    ----------
    kernels : {"auto", True, False}, default=None
        Use the compiled (numba) kernels: ``"auto"`` where they pay off (see
        :doc:`/performance`), ``True`` always (raises ImportError now if numba is
        missing; a fit raises if they cannot be compiled), ``False`` never.
        Results agree either way (to rounding: one step to 1e-14). None leaves the
        setting as it is.
    blas_threads : "auto", int or None, optional
        BLAS threads while a numpy network trains in the main thread:
        ``"auto"`` one thread for small batches' products (see the module's
        notes), an int that many for every fit, None BLAS's own number. Not
        given: left as it is.
    """
    if blas_threads is not _UNSET:
        ok = blas_threads in ("auto", None) or (
            isinstance(blas_threads, int)
            and not isinstance(blas_threads, bool)
            and blas_threads >= 1
        )
        if not ok:
            raise ValueError(
                "blas_threads must be 'auto', a positive int or None; got "
                f"{blas_threads!r}."
            )
    if kernels is not None and kernels not in ("auto", True, False):
        raise ValueError(f"kernels must be 'auto', True or False; got {kernels!r}.")
    if kernels is True and not numba_installed():
        raise ImportError(
            "kernels=True needs numba: pip install numba (the fast extra; or use "
            "kernels='auto', which falls back to numpy without it)."
        )
    config = _local_config()
    if kernels is not None:
        config["kernels"] = kernels
    if blas_threads is not _UNSET:
        config["blas_threads"] = blas_threads


@contextlib.contextmanager
def config_context(**settings):
    """Change skbackprop's settings within a ``with`` block (in this thread).

    Parameters
    ----------
    **settings
        As for :func:`set_config`.

    Yields
    ------
    None
    """
    old = get_config()
    set_config(**settings)
    try:
        yield
    finally:
        _local_config().update(old)


def kernels_enabled():
    """Return whether the compiled kernels may be used now (the setting allows it).

    ``"auto"`` decides per fit whether they pay off
    (:mod:`skbackprop._kernels.loading`).
    """
    setting = _local_config()["kernels"]
    if setting == "auto":
        return numba_installed()
    return setting


def epoch_kernels():
    """Return :mod:`skbackprop._kernels.epoch` where it is to be used, else None.

    See :func:`fused_kernels`.
    """
    return _kernel_loading.module_for("_kernels_epoch", _local_config()["kernels"])


def fused_kernels():
    """Return :mod:`skbackprop._kernels.fused` where it is to be used, else None.

    Within a fit, what the fit decided at its start
    (:func:`skbackprop._kernels.loading.plan_for_fit`); elsewhere (predicting, a
    :class:`~skbackprop.network.Network` used directly) the module with
    ``kernels=True`` (imported now), else None.
    """
    return _kernel_loading.module_for("_kernels_fused", _local_config()["kernels"])


@functools.cache
def _blas_controller():
    # Made once (about 20 ms: it lists the loaded libraries); each limit then
    # costs some 40 µs.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads_for(rows, layer_units):
    """Return a context that bounds BLAS's threads for training a numpy network.

    Parameters
    ----------
    rows : int
        Rows per batch (all the rows for L-BFGS).
    layer_units : sequence of int
        ``[d^(0), ..., d^(L)]``.

    Returns
    -------
    context : context manager
        Sets BLAS's threads under the ``blas_threads`` setting; does nothing
        where the setting leaves BLAS alone, and outside the main thread.
    """
    setting = _local_config()["blas_threads"]
    if threading.current_thread() is not threading.main_thread():
        # Fits in a threaded joblib or Dask backend: BLAS's thread count is one
        # setting of the process, and OpenBLAS ignores a change made from one
        # thread while another computes, so a restore could fail and leave BLAS
        # limited after the search. The main thread alone sets it.
        return contextlib.nullcontext()
    if setting == "auto":
        pairs = zip(layer_units[:-1], layer_units[1:], strict=True)
        largest = max(rows * a * b for a, b in pairs)
        setting = 1 if largest < SMALL_PRODUCT else None
    if setting is None:
        return contextlib.nullcontext()
    return _blas_controller().limit(limits=setting, user_api="blas")


_carry_config_to_joblib_workers(get_config, config_context)
