"""Test configuration."""

import os

# scikit-learn's estimator checks exercise array-API input only when scipy's array
# API support is on; turn it on (before scipy is imported) so those checks run.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

from skbackprop._xp import dispatch_supported  # noqa: E402  (after the variable)

# The estimators under array-API dispatch cannot run where scikit-learn refuses
# dispatch; test_xp_network.py checks that refusal there.
collect_ignore = [] if dispatch_supported() else ["test_xp_estimators.py"]
