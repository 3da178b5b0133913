"""
=============================
Grid search on a Dask cluster
=============================

scikit-learn runs the fits of :class:`~sklearn.model_selection.GridSearchCV`
through joblib, and joblib's ``"dask"`` backend (from ``dask.distributed``)
sends them to a Dask cluster. Nothing in the search changes: the same
estimator, the same grid, the same results as ``n_jobs=1``.

Here a :class:`~dask.distributed.LocalCluster` with two worker *processes* on
this machine stands in for a real cluster. Against a real one, only the client
changes: ``Client("tcp://scheduler:8786")`` with your scheduler's address (see
:doc:`/dask`). Install the extra with ``pip install ".[distributed]"``.

Starting worker processes from a script needs the usual
``if __name__ == "__main__":`` guard: each new process imports the main module,
and must not start a cluster of its own when it does.
"""

# %%
# The search, defined as usual
# ----------------------------
from collections import Counter

import joblib
import matplotlib.pyplot as plt
from dask.distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier
from skbackprop.activations import LeakyReLU

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = make_pipeline(
    StandardScaler(),
    BackpropClassifier(early_stopping=True, learning_rate_init=0.01, random_state=0),
)
param_grid = {
    "backpropclassifier__activation": [
        "logistic",
        "tanh",
        "relu",
        "gelu",
        LeakyReLU(alpha=0.1),
    ],
    "backpropclassifier__hidden_layer_sizes": [(32,), (64,)],
}


# %%
# Run it on the cluster
# ---------------------
# ``n_jobs=-1`` lets joblib use every worker. The task stream records which
# worker ran each fit.
def search_on_cluster():
    with (
        LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,  # a real cluster: Client("tcp://scheduler:8786")
    ):
        print(client)
        search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=-1)
        with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            search.fit(X_train, y_train)
    return search, Counter(task["worker"] for task in tasks.data)


if __name__ == "__main__":
    search, tasks_per_worker = search_on_cluster()
    for worker, n_tasks in sorted(tasks_per_worker.items()):
        print(f"{worker} ran {n_tasks} tasks")
    print("best parameters:", search.best_params_)
    accuracy = search.score(X_test, y_test)
    print(f"test accuracy of the refitted best model: {accuracy:.3f}")

# %%
# The results
# -----------
# ``cv_results_`` is the same as from a search with ``n_jobs=1``
# (``tests/estimator/test_dask.py`` checks it).
if __name__ == "__main__":
    labels = [
        f"{p['backpropclassifier__activation']}, "
        f"{p['backpropclassifier__hidden_layer_sizes']}"
        for p in search.cv_results_["params"]
    ]
    scores = search.cv_results_["mean_test_score"]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.barh(labels, scores, xerr=search.cv_results_["std_test_score"])
    ax.set_xlim(scores.min() - 0.05, 1.0)
    ax.set_xlabel("Mean CV accuracy")
    ax.set_title("Grid search run on two Dask worker processes")
    fig.tight_layout()
    plt.show()
