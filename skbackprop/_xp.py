"""Array namespaces: the one place that knows how arrays of any library are handled.

The core (activations, losses, optimizers, network) is written against an array
namespace ``xp`` as the Python array API standard defines it, so the same code runs
on numpy, PyTorch, CuPy or array-api-strict arrays. numpy arrays keep numpy itself
as their namespace, so the numpy path (with its in-place ``out=`` fast paths and
scipy functions) is exactly what it was. Other arrays get their namespace from
``array_api_compat`` (vendored by scikit-learn >= 1.7; the ``array-api-compat``
package for scikit-learn 1.6).
"""

import numpy as np
import scipy.special


def _compat():
    try:
        from sklearn.externals import array_api_compat
    except ImportError:  # scikit-learn < 1.7 does not vendor it
        try:
            import array_api_compat
        except ImportError as err:
            raise ImportError(
                "Arrays other than numpy need the array-api-compat package with "
                "this scikit-learn version: pip install array-api-compat."
            ) from err
    return array_api_compat


def namespace(*arrays):
    """Return the array namespace of ``arrays`` (numpy itself for ndarrays).

    Parameters
    ----------
    *arrays : arrays
        Arrays of one library; None entries and scipy sparse matrices (numpy)
        are skipped.

    Returns
    -------
    xp : module
        ``numpy`` when every array is a numpy array, else the array API
        namespace (array_api_compat's wrapper for torch or cupy).
    """
    arrays = [a for a in arrays if a is not None and not scipy.sparse.issparse(a)]
    if all(isinstance(a, np.ndarray | np.generic) for a in arrays):
        return np
    compat = _compat()
    if not all(compat.is_array_api_obj(a) for a in arrays):
        return np  # Python numbers, lists, pandas objects: numpy as before
    return compat.array_namespace(*arrays)


def is_numpy(xp):
    """Whether ``xp`` is numpy or a wrapper of it (array_api_compat's, scikit-learn's).

    The core then uses numpy itself, with its in-place ``out=`` fast paths.
    """
    return xp is None or xp is np or getattr(xp, "__name__", "").endswith(
        "array_api_compat.numpy"
    )


def device(x):
    """Return the device of array ``x`` ("cpu" for numpy)."""
    if isinstance(x, np.ndarray):
        return "cpu"
    return _compat().device(x)


def to_numpy(x):
    """Return ``x`` as a numpy array (a copy to the host for device arrays)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get"):  # CuPy
        return x.get()
    if hasattr(x, "detach"):  # PyTorch
        return x.detach().cpu().numpy()
    return np.from_dlpack(x)


def copy(x, xp):
    """Return a copy of ``x``."""
    if xp is np:
        return x.copy()
    return xp.asarray(x, copy=True)


def erf(x, xp):
    """Compute the error function elementwise, in ``x``'s namespace.

    The array API standard has no ``erf``: numpy uses scipy's, PyTorch
    ``torch.special.erf``, CuPy ``cupyx.scipy.special.erf``; any other CPU
    library goes through numpy (DLPack) and back.
    """
    if xp is np:
        return scipy.special.erf(x)
    module = type(x).__module__
    if module.startswith("torch"):
        import torch

        return torch.special.erf(x)
    if module.startswith("cupy"):
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    return xp.asarray(scipy.special.erf(to_numpy(x)), device=device(x))


def expit(x, xp):
    """Compute the logistic function ``1 / (1 + e^-x)``, without overflow warnings."""
    if xp is np:
        return scipy.special.expit(x)
    # e^-|x| never overflows; the two branches give σ(x) for x >= 0 and x < 0.
    z = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + z), z / (1 + z))
