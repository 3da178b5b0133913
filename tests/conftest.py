"""Test configuration."""

import os

# scikit-learn's estimator checks exercise array-API input only when scipy's array
# API support is on; turn it on (before scipy is imported) so those checks run.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

from skbackprop._core.xp import dispatch_supported  # noqa: E402  (after the variable)

# The estimators under array-API dispatch cannot run where scikit-learn refuses
# dispatch; test_xp_network.py checks that refusal there.
collect_ignore = [] if dispatch_supported() else ["array_api/test_xp_estimators.py"]

# Modules whose tests are all marked slow (``pytestmark = pytest.mark.slow``).
# The quick subset, ``python -m pytest -m "not slow"``, would deselect all their
# tests after importing them; it skips them before, since their imports and
# parametrizations (PyTorch for the array-API checks, dask, hypothesis) take
# seconds of the subset's time.
SLOW_MODULES = {
    "test_common.py",
    "test_dask.py",
    "test_properties.py",
    "test_sklearn_mlp_suite.py",
}


def pytest_ignore_collect(collection_path, config):
    """Skip the all-slow modules when the quick subset deselects them anyway."""
    quick = (config.getoption("markexpr") or "").split() == ["not", "slow"]
    if quick and collection_path.name in SLOW_MODULES:
        return True
    return None
