"""Array namespaces: the one place that knows how arrays of any library are handled.

The core (activations, losses, optimizers, network) is written against an array
namespace ``xp`` as the Python array API standard defines it, so the same code runs
on numpy, PyTorch, CuPy or array-api-strict arrays. numpy arrays keep numpy itself
as their namespace, so the numpy path (with its in-place ``out=`` fast paths and
scipy functions) is exactly what it was. Other arrays get their namespace from
``array_api_compat`` (vendored by scikit-learn >= 1.7; the ``array-api-compat``
package for scikit-learn 1.6).
"""

import functools

import numpy as np
import scipy.sparse
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
    if len(arrays) == 1:
        # The hot path (the core asks once per operation): the namespace of one
        # array depends on its type only, so it is looked up once per type.
        xp = _NAMESPACE_OF_TYPE.get(type(arrays[0]))
        if xp is not None:
            return xp
    arrays = [a for a in arrays if a is not None and not scipy.sparse.issparse(a)]
    if all(isinstance(a, np.ndarray | np.generic) for a in arrays):
        return np
    compat = _compat()
    if not all(compat.is_array_api_obj(a) for a in arrays):
        return np  # Python numbers, lists, pandas objects: numpy as before
    xp = compat.array_namespace(*arrays)
    if len(arrays) == 1:
        _NAMESPACE_OF_TYPE[type(arrays[0])] = xp
    return xp


_NAMESPACE_OF_TYPE = {np.ndarray: np}


def is_numpy(xp):
    """Whether ``xp`` is numpy or a wrapper of it (array_api_compat's, scikit-learn's).

    The core then uses numpy itself, with its in-place ``out=`` fast paths.
    """
    return (
        xp is None
        or xp is np
        or getattr(xp, "__name__", "").endswith("array_api_compat.numpy")
    )


def device(x):
    """Return the device of array ``x`` ("cpu" for numpy and scipy sparse)."""
    if isinstance(x, np.ndarray) or scipy.sparse.issparse(x):
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
    try:  # DLPack with a copy to the host (numpy >= 2.1)
        return np.from_dlpack(x, device="cpu")
    except TypeError:
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


def dispatch_namespace(*arrays):
    """Namespace the estimators compute in: that of ``arrays`` under dispatch.

    With scikit-learn's ``array_api_dispatch`` off (the default) this is numpy,
    whatever the input (other arrays are converted by scikit-learn's
    validation, as before). With it on, it is the namespace of the arrays (numpy
    for numpy arrays, scipy sparse matrices, lists or DataFrames).
    """
    import sklearn

    if not sklearn.get_config().get("array_api_dispatch", False):
        return np
    return namespace(*arrays)


@functools.cache
def dispatch_supported():
    """Whether scikit-learn lets ``array_api_dispatch`` be turned on here.

    scikit-learn refuses it with SciPy < 1.14, without array-api-compat for
    scikit-learn < 1.7 (ImportError), or when the environment variable
    ``SCIPY_ARRAY_API=1`` was not set before SciPy was imported (RuntimeError);
    the estimators' array-API tag follows, so that scikit-learn's checks do not
    try what cannot run.
    """
    import sklearn

    try:
        with sklearn.config_context(array_api_dispatch=True):
            return True
    except (ImportError, RuntimeError):  # RuntimeError: SCIPY_ARRAY_API unset
        return False


def is_array_api_obj(x):
    """Whether ``x`` is an array of a namespace other than numpy (torch, cupy...)."""
    if x is None or isinstance(x, np.ndarray | np.generic) or scipy.sparse.issparse(x):
        return False
    return _compat().is_array_api_obj(x)


def host(x):
    """``x`` as numpy if it is an array of another namespace, else ``x`` unchanged.

    Targets and sample weights are validated and encoded on the host (labels,
    class weights and the early-stopping split are bookkeeping, not compute);
    lists and DataFrames pass through to scikit-learn's validation as before.
    """
    return to_numpy(x) if is_array_api_obj(x) else x


def plain_input(X):
    """``X`` detached from an autograd graph; complex arrays refused.

    A PyTorch tensor with ``requires_grad=True`` is detached, deliberately: the
    estimators train and predict with their own weights, never backpropagate
    into the caller's graph, and return outputs that are not attached to it
    (torch's in-place ``out=`` products refuse such tensors, and its numpy
    conversion too). Complex arrays of any namespace are refused as
    scikit-learn refuses complex numpy input (under array API dispatch, torch
    would otherwise cast them to real, dropping the imaginary part). Other
    inputs (numpy, sparse, lists, DataFrames) pass unchanged: scikit-learn's
    validation handles them.

    Raises
    ------
    ValueError
        If ``X`` is a complex array of a namespace other than numpy.
    """
    if not is_array_api_obj(X):
        return X
    xp = namespace(X)
    if xp.isdtype(X.dtype, "complex floating"):
        raise ValueError(
            f"Complex data not supported: X is a complex {namespace_name(xp)} "
            f"array ({X.dtype}). The network computes with real numbers; pass "
            "the real part (X.real), the magnitude (abs(X)), or the real and "
            "imaginary parts as separate feature columns."
        )
    if getattr(X, "requires_grad", False):
        X = X.detach()
    return X


def numpy_dtype(dtype):
    """Return the numpy dtype named as ``dtype`` (any namespace's float dtype)."""
    if isinstance(dtype, np.dtype | type):
        return np.dtype(dtype)
    return np.dtype(str(dtype).rsplit(".", 1)[-1])


def namespace_dtype(dtype, xp):
    """Return the dtype of ``xp`` with the name of numpy dtype ``dtype``."""
    if is_numpy(xp):
        return np.dtype(dtype)
    return getattr(xp, np.dtype(dtype).name)


def to_device(x, xp, device, dtype=None):
    """Move host array ``x`` to namespace ``xp`` on ``device`` (numpy: unchanged).

    ``dtype`` is a dtype of ``xp`` (or, for numpy, a numpy dtype); None keeps the
    dtype's name.
    """
    if x is None:
        return None
    if is_numpy(xp):
        return x if dtype is None else np.asarray(x, dtype=dtype)
    if dtype is None and isinstance(x, np.ndarray):
        dtype = namespace_dtype(x.dtype, xp)
    return xp.asarray(x, dtype=dtype, device=device)


def movable(key, value):
    """Whether fitted attribute ``key`` moves with the model to another namespace.

    Numeric arrays do; ``classes_`` (labels may be strings) and non-numeric
    arrays such as ``feature_names_in_`` stay numpy.
    """
    if key == "classes_":
        return False
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biufc"
    return is_array_api_obj(value)


def all_finite(x):
    """Whether every element of array ``x`` is finite (any namespace)."""
    if isinstance(x, np.ndarray):
        return bool(np.isfinite(x).all())
    xp = namespace(x)
    return bool(xp.all(xp.isfinite(x)))


def namespace_name(xp):
    """Return a short name for a namespace in messages ("numpy", "torch"...)."""
    if is_numpy(xp):
        return "numpy"
    name = getattr(xp, "__name__", str(xp))
    return name.rsplit("array_api_compat.", 1)[-1]


def float_dtypes(xp):
    """Return the float dtypes the estimators accept, in ``xp`` (float64 first)."""
    if is_numpy(xp):
        return (np.float64, np.float32)
    return (xp.float64, xp.float32)


def ravel(x):
    """Return ``x`` flattened to 1-D, in its namespace."""
    if isinstance(x, np.ndarray):
        return x.ravel()
    return namespace(x).reshape(x, (-1,))


def dot(a, b):
    """Return ``a @ b`` as an array, also for a scipy sparse ``a``."""
    if type(a) is np.ndarray:  # the hot path first: no sparse type check
        return a @ b
    if scipy.sparse.issparse(a):
        return np.asarray(a @ b)
    return a @ b


def take_rows(X, idx, xp):
    """Return entries ``idx`` (an index array of its namespace) along axis 0 of X."""
    if type(X).__module__.startswith("torch"):
        # array-api-compat's take wraps negative indices first (three more
        # kernels per call on a GPU); index_select is the same gather.
        return X.index_select(0, idx)
    return xp.take(X, idx, axis=0)


def torch_module():
    """Return the torch module if it is imported (None otherwise)."""
    import sys

    return sys.modules.get("torch")


def native_with_out(a):
    """Return the native module of a torch or CuPy array (its functions take out=)."""
    module = type(a).__module__
    if module.startswith("torch"):
        return torch_module()
    if module.startswith("cupy"):
        import cupy

        return cupy
    return None
