"""Test configuration."""

import os

# scikit-learn's estimator checks exercise array-API input only when scipy's array
# API support is on; turn it on (before scipy is imported) so those checks run.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
