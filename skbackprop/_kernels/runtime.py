"""numba as the kernels use it: imported safely, cached where it can be, probed.

The one module that touches numba's machinery (the kernel modules decorate with
:func:`njit` from here), so that what can go wrong with numba is handled once:

* numba missing or broken (a llvmlite that fails to load, a numpy it does not
  support): :data:`AVAILABLE` is False and :data:`REASON` says why;
* ``NUMBA_DISABLE_JIT=1``: numba would run the kernels as plain Python (a hundred
  times slower than numpy), so the kernels count as unavailable too;
* no writable cache location (a read-only site-packages, no writable ``HOME``):
  numba refuses ``cache=True`` with ``RuntimeError: cannot cache function ...: no
  locator available``; :func:`njit` then compiles in memory and
  :data:`CACHE_PROBLEM` says why, so the compiled code lives as long as the process;
* :func:`cache_holds` asks numba's on-disk cache whether it holds compiled code for
  a call, without compiling (numba-private APIs, isolated here; any failure reads
  as "not cached").

Importing this module imports numba (about half a second): only the kernel
modules import it, and they are imported only when a fit is to use them.
"""

import contextlib

try:
    import numba
except ModuleNotFoundError as err:
    numba = None
    REASON = (
        "numba is not installed"
        if err.name == "numba"
        else f"numba failed to import ({type(err).__name__}: {err})"
    )
except Exception as err:  # noqa: BLE001 - a broken numba/llvmlite raises anything
    numba = None
    REASON = f"numba failed to import ({type(err).__name__}: {err})"
else:
    REASON = None
    if numba.config.DISABLE_JIT:
        REASON = (
            "NUMBA_DISABLE_JIT is set, so numba would run the kernels as plain "
            "Python (far slower than numpy)"
        )

#: Whether numba can compile the kernels in this process (see :data:`REASON`).
AVAILABLE = REASON is None

#: Why compiled code cannot be kept in numba's on-disk cache, or None.
CACHE_PROBLEM = None


def njit(func=None, **options):
    """``numba.njit`` that compiles in memory where numba cannot cache.

    Parameters
    ----------
    func : callable, default=None
        The function to compile (None: return a decorator).
    **options
        ``numba.njit``'s options. With ``cache=True`` and no writable cache
        location, the function is compiled without a cache (and
        :data:`CACHE_PROBLEM` records why) instead of failing.

    Returns
    -------
    dispatcher : callable
        numba's dispatcher; ``func`` itself where numba is not available (the
        kernels are then never called).
    """
    if func is None:
        return lambda f: njit(f, **options)
    if not AVAILABLE:
        return func
    global CACHE_PROBLEM
    if options.get("cache") and CACHE_PROBLEM is None:
        try:
            return numba.njit(**options)(func)
        except RuntimeError as err:  # "cannot cache function ...: no locator"
            CACHE_PROBLEM = str(err)
    return numba.njit(**dict(options, cache=False))(func)


def cache_holds(dispatcher, args):
    """Return whether ``dispatcher(*args)`` would run without compiling.

    True when the process has compiled it already, or numba's on-disk cache holds
    it for this machine and the current source. Asks without compiling or loading
    (numba-private APIs, checked against numba 0.59-0.68); any failure is False.

    Parameters
    ----------
    dispatcher : numba dispatcher
        A function decorated by :func:`njit`.
    args : tuple
        Arguments of the call (only their numba types matter).

    Returns
    -------
    held : bool
    """
    with contextlib.suppress(Exception):
        sig = tuple(dispatcher.typeof_pyval(a) for a in args)
        if sig in dispatcher.overloads:
            return True
        cache = dispatcher._cache
        # numba's key: argument types, this CPU's codegen, the function's bytecode.
        key = cache._index_key(sig, dispatcher.targetctx.codegen())
        return key in cache._cache_file._load_index()
    return False
