"""
===========
Quick start
===========

Fit a :class:`~skbackprop.BackpropClassifier` on the digits data set, in a
pipeline that standardises the pixels first, print its test accuracy, and plot
what training did with :class:`~skbackprop.plotting.LossCurveDisplay`.

:class:`~skbackprop.BackpropClassifier` takes the same parameters as
scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`, so anything
written for one works with the other.
"""

# %%
# Load the data and hold out a test set.
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier
from skbackprop.plotting import LossCurveDisplay

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

# %%
# Early stopping and the loss curves
# ----------------------------------
# With ``early_stopping=True`` the estimator holds out 10% of the training data,
# stops when the validation score stops improving and restores the best epoch's
# weights. Beyond scikit-learn's ``validation_scores_`` it also records the
# validation loss per epoch (``validation_loss_curve_``), so the display shows
# both losses and the validation accuracy.
clf_es = make_pipeline(
    StandardScaler(),
    BackpropClassifier(
        hidden_layer_sizes=(64,),
        early_stopping=True,
        validation_metric="loss",
        random_state=0,
    ),
)
clf_es.fit(X_train, y_train)
net = clf_es[-1]
print(f"stopped after {net.n_iter_} epochs")
print(f"test accuracy: {clf_es.score(X_test, y_test):.3f}")

display = LossCurveDisplay.from_estimator(clf_es)
plt.show()
