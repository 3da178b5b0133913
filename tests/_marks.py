"""Marks shared by the test files."""

import pytest

from skbackprop._core import xp as _xp

#: Tests that fit under scikit-learn's ``array_api_dispatch``: it needs SciPy >=
#: 1.14 (CI's minimum stage has 1.10, where scikit-learn refuses to turn it on).
needs_dispatch = pytest.mark.skipif(
    not _xp.dispatch_supported(),
    reason="array-API dispatch needs SciPy >= 1.14 (and SCIPY_ARRAY_API=1)",
)
