"""The private scikit-learn helpers we rely on, isolated so an upgrade touches one file.

``_fit_context`` validates the estimator's parameters against
``_parameter_constraints`` (raising ``InvalidParameterError``, a ``ValueError``) and
skips nested validation; ``_check_sample_weight`` validates ``sample_weight`` with
scikit-learn's messages (including the all-zero-weights error its checks expect).
``_check_feature_names_in`` checks ``input_features`` of
``get_feature_names_out`` against the fitted feature names, with scikit-learn's
messages. scikit-learn has no public equivalents.
:func:`_carry_config_to_joblib_workers` hooks skbackprop's settings into
``sklearn.utils.parallel``, which carries only scikit-learn's own configuration
to the jobs it runs.
"""

import functools

from sklearn.base import _fit_context
from sklearn.utils.validation import _check_feature_names_in, _check_sample_weight

__all__ = [
    "_carry_config_to_joblib_workers",
    "_check_feature_names_in",
    "_check_sample_weight",
    "_fit_context",
]


def _carry_config_to_joblib_workers(get_config, config_context):
    """Make scikit-learn's ``Parallel`` run its jobs under the caller's settings.

    scikit-learn's ``Parallel.__call__`` takes ``sklearn.get_config()`` in the
    calling thread and its ``delayed`` wrapper (``_FuncWrapper``) re-applies it
    around each job, in whatever thread or process runs it; its
    ``config_context`` takes only scikit-learn's own keys, so ours cannot ride in
    that dict. This wraps the same two methods (scikit-learn 1.3 to 1.9 have
    them) so that they do the same for skbackprop's settings: the caller's
    ``get_config()`` is attached to each job (pickled with it to a process) and
    applied by ``config_context`` while the job runs. Jobs of other libraries
    are untouched; a job without skbackprop's settings runs as before.

    Parameters
    ----------
    get_config, config_context : callable
        skbackprop's functions.

    Returns
    -------
    hooked : bool
        False where ``sklearn.utils.parallel`` lacks those methods (the settings
        then stay in the calling thread, as before).
    """
    try:
        from sklearn.utils import parallel

        Parallel, FuncWrapper = parallel.Parallel, parallel._FuncWrapper
        run_all, run_one = Parallel.__call__, FuncWrapper.__call__
    except (ImportError, AttributeError):  # pragma: no cover - a future scikit-learn
        return False
    if getattr(run_all, "_skbackprop_hook", False):
        return True

    @functools.wraps(run_all)
    def call_parallel(self, iterable):
        config = get_config()  # now, in the calling thread, as scikit-learn's own

        def with_config():
            for function, args, kwargs in iterable:
                if isinstance(function, FuncWrapper):
                    function._skbackprop_config = config
                yield function, args, kwargs

        return run_all(self, with_config())

    @functools.wraps(run_one)
    def call_job(self, *args, **kwargs):
        config = getattr(self, "_skbackprop_config", None)
        if config is None:
            return run_one(self, *args, **kwargs)
        with config_context(**config):
            return run_one(self, *args, **kwargs)

    call_parallel._skbackprop_hook = call_job._skbackprop_hook = True
    Parallel.__call__, FuncWrapper.__call__ = call_parallel, call_job
    return True
