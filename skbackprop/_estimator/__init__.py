"""The estimator machinery shared by the classifier and the regressor.

Validation, fitted state, and what ties skbackprop to scikit-learn's versions.
"""
