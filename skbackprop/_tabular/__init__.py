"""Private pieces of the tabular estimators (:mod:`skbackprop.tabular`).

``preprocess``: the column preprocessing of a raw table (robust scaling with
smooth clipping, missing values, categories as one-hot) and the target
standardization; ``recipe``: the parameters of the inner network, in one place.
"""
