"""
======================================
Hidden-layer features for other models
======================================

A trained network's hidden layers compute features :math:`o^{(l)}` of the input
in which its classes are easy to separate: the last layer is only a linear model
on them. :class:`~skbackprop.HiddenFeatures` returns these features for new data,
as a transformer: to plot them, or to feed them to another model in a pipeline.
It runs the network's own forward pass, stopped at the chosen layer.
"""

# %%
# A network with a two-unit bottleneck
# ------------------------------------
# Handwritten digits (64 pixels) through a hidden layer of 32 units, then one of
# only 2: the last hidden layer is a 2-D picture of what the network learned.
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, HiddenFeatures

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

net = make_pipeline(
    StandardScaler(),
    BackpropClassifier(
        hidden_layer_sizes=(32, 2),
        learning_rate_init=0.01,
        max_iter=300,
        random_state=0,
    ),
).fit(X_train, y_train)
print(f"network's test accuracy: {net.score(X_test, y_test):.3f}")

# %%
# The features of the last hidden layer
# -------------------------------------
# ``FrozenEstimator`` hands over the fitted pipeline as it is: ``fit`` does not
# train it again. The pipeline's scaler transforms ``X`` before the network.
# With ``set_output(transform="pandas")`` the features come as a DataFrame whose
# columns are named ``hidden{layer}_{unit}``.
features = HiddenFeatures(FrozenEstimator(net), layer=-1).fit(X_train)
features.set_output(transform="pandas")
hidden = features.transform(X_test)
print(hidden.head(3))

fig, ax = plt.subplots(figsize=(6, 5))
points = ax.scatter(
    hidden["hidden1_0"], hidden["hidden1_1"], c=y_test, cmap="tab10", s=12
)
ax.legend(*points.legend_elements(), title="digit", loc="center left",
          bbox_to_anchor=(1, 0.5))  # fmt: skip
ax.set(xlabel="unit 0 (ReLU)", ylabel="unit 1 (ReLU)",
       title="Test digits in the last hidden layer")  # fmt: skip
fig.tight_layout()

# %%
# Learned features as the input of another model
# ----------------------------------------------
# A nearest-neighbour classifier on these two learned features, against one on
# the first two principal components of the pixels: the network's features,
# trained to separate the digits, keep far more of what tells them apart.
knn_hidden = make_pipeline(features, KNeighborsClassifier()).fit(X_train, y_train)
knn_pca = make_pipeline(StandardScaler(), PCA(2), KNeighborsClassifier())
knn_pca.fit(X_train, y_train)
print(f"5-NN on 2 hidden features:      {knn_hidden.score(X_test, y_test):.3f}")
print(f"5-NN on 2 principal components: {knn_pca.score(X_test, y_test):.3f}")

# %%
# Inside one pipeline, ``HiddenFeatures(BackpropClassifier(...), layer=0)`` fits
# its network on the training data and passes the first hidden layer's 32
# features on to the next step; ``layer=[0, 1]`` would pass both layers'.
