"""skbackprop's own settings: the compiled kernels, and BLAS threads for small fits.

``set_config``, ``get_config`` and ``config_context`` work like scikit-learn's. The
setting ``kernels`` decides whether the estimators use the numba kernels
(:mod:`skbackprop._kernels_epoch`, :mod:`skbackprop._kernels_fused`) where they
apply: ``"auto"`` (the default) uses them when numba is installed, ``False``
never (the generic numpy path, the readable reference of the lecture), ``True``
requires them (an error if numba is missing). The environment variable
``SKBACKPROP_KERNELS`` (``auto``, ``1`` or ``0``) sets the default, also for
worker processes, e.g. ``SKBACKPROP_KERNELS=0 pytest`` runs the suite without them.

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

__all__ = ["config_context", "get_config", "set_config"]

_VALUES = {"auto": "auto", "1": True, "true": True, "0": False, "false": False}


def _from_environment():
    raw = os.environ.get("SKBACKPROP_KERNELS", "auto").strip().lower()
    if raw not in _VALUES:
        raise ValueError(
            f"SKBACKPROP_KERNELS={raw!r} is not understood; use auto, 1 or 0."
        )
    return _VALUES[raw]


_CONFIG = {"kernels": _from_environment(), "blas_threads": "auto"}

#: Under ``blas_threads="auto"``, batches whose largest matrix product has fewer
#: multiply-adds than this train on one BLAS thread (about half a millisecond of
#: one core's work: W1's (256, 256) products, 16.8M, keep their threads).
SMALL_PRODUCT = 1 << 22


def get_config():
    """Return skbackprop's current settings.

    Returns
    -------
    config : dict
        ``{"kernels": "auto" | True | False, "blas_threads": "auto" | int | None}``.
    """
    return dict(_CONFIG)


_UNSET = object()


def set_config(kernels=None, blas_threads=_UNSET):
    """Set skbackprop's settings (a setting not given is left as it is).

    Parameters
    ----------
    kernels : {"auto", True, False}, default=None
        Use the compiled (numba) kernels: ``"auto"`` where numba is installed,
        ``True`` always (raises ImportError now if numba is missing), ``False``
        never. Results agree either way (to rounding: one step to 1e-14).
        None leaves the setting as it is.
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
    if kernels is not None:
        _CONFIG["kernels"] = kernels
    if blas_threads is not _UNSET:
        _CONFIG["blas_threads"] = blas_threads


@contextlib.contextmanager
def config_context(**settings):
    """Change skbackprop's settings within a ``with`` block.

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
        _CONFIG.update(old)


@functools.cache
def numba_installed():
    """Return whether numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def kernels_enabled():
    """Return whether the compiled kernels are to be used now."""
    setting = _CONFIG["kernels"]
    if setting == "auto":
        return numba_installed()
    return setting


def kernel_module(name):
    """Return kernel module ``skbackprop.<name>`` if kernels are on, else None.

    Imported on first use (importing numba takes about half a second), so a
    process that never fits with kernels never imports numba.
    """
    if not kernels_enabled():
        return None
    module = importlib.import_module(f"skbackprop.{name}")
    if module.AVAILABLE:
        return module
    if _CONFIG["kernels"] is True:
        raise ImportError("kernels=True, but numba failed to import.")
    return None


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
    setting = _CONFIG["blas_threads"]
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
