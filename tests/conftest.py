"""Test configuration."""

import os

# scikit-learn's estimator checks exercise array-API input only when scipy's array
# API support is on; turn it on (before scipy is imported) so those checks run.
os.environ.setdefault("SCIPY_ARRAY_API", "1")


def _array_api_dispatch_available():
    """Whether scikit-learn lets array-API dispatch be turned on here.

    scikit-learn refuses it (ImportError) with SciPy < 1.14, e.g. at the minimum
    versions CI also tests.
    """
    import sklearn

    try:
        with sklearn.config_context(array_api_dispatch=True):
            return True
    except ImportError:
        return False


# The estimators under array-API dispatch cannot run where scikit-learn refuses
# dispatch; test_xp_network.py checks that refusal there.
collect_ignore = [] if _array_api_dispatch_available() else ["test_xp_estimators.py"]
