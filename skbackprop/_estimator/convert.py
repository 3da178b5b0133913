"""Moving a fitted model between array namespaces and devices (GPU <-> numpy)."""

import copy
import importlib

import numpy as np

from .._core import xp as _xp

__all__ = ["move_to"]


def _resolve(xp):
    """Return the array API namespace for ``xp`` (a module, or a name like "torch").

    PyTorch and CuPy get array-api-compat's namespace, whose ``asarray`` takes
    ``device`` and ``copy`` as the standard says.
    """
    if isinstance(xp, str):
        xp = importlib.import_module(xp)
    if _xp.is_numpy(xp):
        return np
    return _xp.namespace(xp.asarray(0))


def move_to(estimator, xp="numpy", device=None):
    """Return a copy of a fitted model whose arrays live in namespace ``xp``.

    A model fitted under ``sklearn.set_config(array_api_dispatch=True)`` keeps
    its weights where its training data was (a GPU, say). ``move_to(model)``
    brings a copy to numpy, to pickle it, export it (skops, ONNX) or serve it on
    CPUs without array-API dispatch; ``move_to(model, "torch", "cuda")`` takes
    a numpy model to a GPU. Every fitted array moves: ``coefs_``,
    ``intercepts_``, ``activation_params_``, ``gradient_norms_``, the best
    weights of early stopping and the optimizer's state (so ``partial_fit`` and
    ``warm_start`` continue exactly). ``classes_`` stays numpy. Predictions
    after a move equal those before, up to the target device's arithmetic.

    Parameters
    ----------
    estimator : BackpropClassifier or BackpropRegressor
        A fitted model, in any namespace.
    xp : module or str, default="numpy"
        The target namespace: numpy, or a module whose ``asarray`` takes a
        ``device`` (``torch``, ``cupy``, ``array_api_strict``), or its name.
    device : object, default=None
        The target device, e.g. ``"cuda"`` or ``"cuda:1"`` for PyTorch; None
        for the namespace's default device. Ignored for numpy.

    Returns
    -------
    moved : estimator
        A new estimator of the same class and parameters; ``estimator`` itself
        is unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop import BackpropRegressor, move_to
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> reg = BackpropRegressor((8,), solver="lbfgs", random_state=0).fit(X, X.ravel())
    >>> np.array_equal(move_to(reg).predict(X), reg.predict(X))
    True
    """
    if not hasattr(estimator, "coefs_"):
        raise ValueError(
            f"move_to needs a fitted model; this {type(estimator).__name__} is not "
            "fitted yet. Call fit first (an unfitted model has no arrays to move: "
            "it fits wherever its training data lives)."
        )
    target = _resolve(xp)

    def move(a):
        if a is None:
            return None
        # Always a copy: the moved model never shares memory with the original
        # (to_numpy and asarray may both return views on the CPU).
        host = _xp.to_numpy(a)
        if target is np:
            return host.copy()
        return target.asarray(host, device=device, copy=True)

    moved = copy.copy(estimator)
    state = {}
    for key, value in vars(estimator).items():
        if _xp.movable(key, value):
            state[key] = move(value)
        elif key in ("classes_", "feature_names_in_"):
            state[key] = value
        elif key in ("coefs_", "intercepts_", "activation_params_"):
            state[key] = [move(a) for a in value]
        elif key == "_optimizer" and value is not None:
            state[key] = value._moved(move, target is np)
        else:
            state[key] = copy.deepcopy(value)
    moved.__dict__.update(state)
    return moved
