"""skbackprop's own settings: whether the compiled kernels are used.

``set_config``, ``get_config`` and ``config_context`` work like scikit-learn's. The
one setting, ``kernels``, decides whether the estimators use the numba kernels
(:mod:`skbackprop._kernels_epoch`, :mod:`skbackprop._kernels_fused`) where they
apply: ``"auto"`` (the default) uses them when numba is installed, ``False``
never (the generic numpy path, the readable reference of the lecture), ``True``
requires them (an error if numba is missing). The environment variable
``SKBACKPROP_KERNELS`` (``auto``, ``1`` or ``0``) sets the default, also for
worker processes, e.g. ``SKBACKPROP_KERNELS=0 pytest`` runs the suite without them.
"""

import contextlib
import functools
import importlib.util
import os

__all__ = ["config_context", "get_config", "set_config"]

_VALUES = {"auto": "auto", "1": True, "true": True, "0": False, "false": False}


def _from_environment():
    raw = os.environ.get("SKBACKPROP_KERNELS", "auto").strip().lower()
    if raw not in _VALUES:
        raise ValueError(
            f"SKBACKPROP_KERNELS={raw!r} is not understood; use auto, 1 or 0."
        )
    return _VALUES[raw]


_CONFIG = {"kernels": _from_environment()}


def get_config():
    """Return skbackprop's current settings.

    Returns
    -------
    config : dict
        ``{"kernels": "auto" | True | False}``.
    """
    return dict(_CONFIG)


def set_config(kernels=None):
    """Set skbackprop's settings (None leaves a setting as it is).

    Parameters
    ----------
    kernels : {"auto", True, False}, default=None
        Use the compiled (numba) kernels: ``"auto"`` where numba is installed,
        ``True`` always (raises ImportError now if numba is missing), ``False``
        never. Results agree either way (to rounding: one step to 1e-14).
    """
    if kernels is None:
        return
    if kernels not in ("auto", True, False):
        raise ValueError(f"kernels must be 'auto', True or False; got {kernels!r}.")
    if kernels is True and not numba_installed():
        raise ImportError(
            "kernels=True needs numba: pip install 'skbackprop[fast]' (or use "
            "kernels='auto', which falls back to numpy without it)."
        )
    _CONFIG["kernels"] = kernels


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
