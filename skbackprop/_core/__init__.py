"""Private pieces of the backprop core.

Array namespaces, signal limits, the activation and loss interfaces and
the numerics they share. Nothing here imports the estimators.
"""
