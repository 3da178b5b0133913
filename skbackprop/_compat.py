"""The private scikit-learn helpers we rely on, isolated so an upgrade touches one file.

``_fit_context`` validates the estimator's parameters against
``_parameter_constraints`` (raising ``InvalidParameterError``, a ``ValueError``) and
skips nested validation; ``_check_sample_weight`` validates ``sample_weight`` with
scikit-learn's messages (including the all-zero-weights error its checks expect).
scikit-learn has no public equivalents.
"""

from sklearn.base import _fit_context
from sklearn.utils.validation import _check_sample_weight

__all__ = ["_check_sample_weight", "_fit_context"]
