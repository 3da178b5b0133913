"""Dask: grid search on a multi-process cluster and out-of-core ``partial_fit``.

One ``LocalCluster(processes=True)`` serves the module: estimators, activations and
data really travel between processes (pickled), as they would to a remote cluster.
"""

import warnings

# Dask is part of the test extra (pip install ".[test]"): these tests always run.
import dask
import dask.array as da
import joblib
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster, get_task_stream
from dask_ml.wrappers import Incremental
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier
from skbackprop.activations import LeakyReLU

# Local Dask clusters of worker processes (-m "not slow" leaves them out).
pytestmark = pytest.mark.slow

CHUNK = 100
EPOCHS = 3


@pytest.fixture(scope="module")
def client():
    """A two-process local cluster, the stand-in for a real one."""
    cluster = LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _grid_search(**kwargs):
    pipe = make_pipeline(
        StandardScaler(),
        BackpropClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
    )
    grid = {
        "backpropclassifier__activation": ["relu", "tanh", LeakyReLU(alpha=0.1)],
        "backpropclassifier__alpha": [1e-4, 1e-1],
    }
    return GridSearchCV(pipe, grid, cv=3, **kwargs)


def _fit(search, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X, y)


def test_grid_search_on_dask_cluster_matches_serial(client):
    X, y = make_classification(
        n_samples=150, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    serial = _fit(_grid_search(n_jobs=1), X, y)

    with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        on_dask = _fit(_grid_search(n_jobs=-1), X, y)

    # The fits really ran on the cluster's worker processes.
    assert tasks.data, "no task ran on the Dask cluster"
    assert {t["worker"] for t in tasks.data} <= set(client.scheduler_info()["workers"])

    assert repr(on_dask.best_params_) == repr(serial.best_params_)
    assert [repr(p) for p in on_dask.cv_results_["params"]] == [
        repr(p) for p in serial.cv_results_["params"]
    ]
    assert_allclose(
        on_dask.cv_results_["mean_test_score"],
        serial.cv_results_["mean_test_score"],
        rtol=1e-12,
    )
    assert_array_equal(on_dask.predict(X), serial.predict(X))


def _data():
    X, y = make_classification(
        n_samples=6 * CHUNK,
        n_features=10,
        n_informative=6,
        n_classes=3,
        random_state=1,
    )
    return X, y


def _estimator():
    return BackpropClassifier(
        hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0
    )


def _numpy_chunks(X, y, classes):
    """The reference: ``partial_fit`` over in-memory numpy chunks, in order."""
    clf = _estimator()
    for _ in range(EPOCHS):
        for start in range(0, X.shape[0], CHUNK):
            rows = slice(start, start + CHUNK)
            clf.partial_fit(X[rows], y[rows], classes=classes)
    return clf


def _assert_same_model(a, b, X):
    for left, right in zip(
        a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True
    ):
        assert_allclose(left, right, rtol=1e-10, atol=1e-12)
    assert a.t_ == b.t_
    assert_array_equal(a.predict(X), b.predict(X))


def test_incremental_out_of_core_matches_numpy_chunks(client):
    X, y = _data()
    classes = np.unique(y)
    dX = da.from_array(X, chunks=(CHUNK, X.shape[1]))
    dy = da.from_array(y, chunks=CHUNK)

    inc = Incremental(_estimator(), scoring="accuracy", shuffle_blocks=False)
    for _ in range(EPOCHS):
        inc.partial_fit(dX, dy, classes=classes)  # one pass over the blocks

    ref = _numpy_chunks(X, y, classes)
    _assert_same_model(inc.estimator_, ref, X)
    assert_array_equal(inc.predict(dX).compute(), ref.predict(X))


def test_loop_over_dask_blocks_matches_numpy_chunks(client):
    # The loop the docs show (docs/dask.rst), without dask-ml: fetch one block of
    # X and y at a time from the cluster and call partial_fit on it.
    X, y = _data()
    classes = np.unique(y)
    dX = da.from_array(X, chunks=(CHUNK, X.shape[1]))
    dy = da.from_array(y, chunks=CHUNK)

    clf = clone(_estimator())
    for _ in range(EPOCHS):
        for i in range(dX.numblocks[0]):
            X_block, y_block = dask.compute(dX.blocks[i], dy.blocks[i])
            clf.partial_fit(X_block, y_block, classes=classes)

    _assert_same_model(clf, _numpy_chunks(X, y, classes), X)
