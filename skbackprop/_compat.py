"""The private scikit-learn helpers we rely on, isolated so an upgrade touches one file.

``_fit_context`` validates the estimator's parameters against
``_parameter_constraints`` (raising ``InvalidParameterError``, a ``ValueError``) and
skips nested validation; ``_check_sample_weight`` validates ``sample_weight`` with
scikit-learn's messages (including the all-zero-weights error its checks expect).
``_check_feature_names_in`` checks ``input_features`` of
``get_feature_names_out`` against the fitted feature names, with scikit-learn's
messages. scikit-learn has no public equivalents.
"""

from sklearn.base import _fit_context
from sklearn.utils.validation import _check_feature_names_in, _check_sample_weight

__all__ = ["_check_feature_names_in", "_check_sample_weight", "_fit_context"]
