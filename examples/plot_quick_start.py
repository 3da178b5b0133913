"""
===========
Quick start
===========

Fit a :class:`~skbackprop.BackpropClassifier` on the digits data set, in a
pipeline that standardises the pixels first, and print its test accuracy.
"""

# %%
# Load the data and hold out a test set.
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
# Fit a network with one hidden layer of 64 units and score it.
clf = make_pipeline(
    StandardScaler(),
    BackpropClassifier(hidden_layer_sizes=(64,), max_iter=200, random_state=0),
)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
