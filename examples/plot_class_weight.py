"""
=================================
Class weights on imbalanced data
=================================

When one class is rare, a network that minimises the mean log loss can do well
by mostly predicting the common class: the rare class's recall suffers.
``class_weight``, which scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`
does not have, weights each sample's loss by its class, as elsewhere in
scikit-learn. ``"balanced"`` gives every class the same total weight,
:math:`n_\\text{samples} / (n_\\text{classes} \\cdot n_c)` per sample of class
:math:`c`; a dict sets the weights yourself. The weights multiply into δ^(L),
so each rare sample pushes the gradient harder.
"""

# %%
# An imbalanced problem
# ---------------------
# Three classes in proportions 90% / 7% / 3%, with overlapping clusters.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    balanced_accuracy_score,
    recall_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

X, y = make_classification(
    n_samples=3000,
    n_features=10,
    n_informative=4,
    n_classes=3,
    n_clusters_per_class=1,
    weights=[0.90, 0.07, 0.03],
    class_sep=0.8,
    random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
print("training samples per class:", np.bincount(y_train))

# %%
# The same network, with and without class weights
# -------------------------------------------------
models = {}
for class_weight in [None, "balanced"]:
    models[str(class_weight)] = make_pipeline(
        StandardScaler(),
        BackpropClassifier(
            hidden_layer_sizes=(32,),
            class_weight=class_weight,
            max_iter=1000,
            random_state=0,
        ),
    ).fit(X_train, y_train)

for name, model in models.items():
    pred = model.predict(X_test)
    recalls = recall_score(y_test, pred, average=None)
    print(
        f"class_weight={name:>8}: recall per class {np.round(recalls, 2)}, "
        f"balanced accuracy {balanced_accuracy_score(y_test, pred):.3f}, "
        f"accuracy {np.mean(pred == y_test):.3f}"
    )

# %%
# Recall per class
# ----------------
# Balanced weights trade a little of the common class's recall for much more
# of the rare classes'. The confusion matrices show where the rare classes'
# samples go.
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
width = 0.38
classes = np.arange(3)
for i, (name, model) in enumerate(models.items()):
    recalls = recall_score(y_test, model.predict(X_test), average=None)
    bars = axes[0].bar(classes + (i - 0.5) * width, recalls, width, label=name)
    axes[0].bar_label(bars, fmt="%.2f", fontsize=8)
axes[0].set_xticks(classes, [f"class {c}\n({np.mean(y == c):.0%})" for c in classes])
axes[0].set_ylim(0, 1.25)
axes[0].set_ylabel("Recall on the test set")
axes[0].legend(title="class_weight", loc="upper center", ncols=2)
axes[0].set_title("Recall per class")
for ax, (name, model) in zip(axes[1:], models.items(), strict=True):
    ConfusionMatrixDisplay.from_estimator(model, X_test, y_test, ax=ax, colorbar=False)
    ax.set_title(f"class_weight={name}")
fig.tight_layout()
plt.show()
