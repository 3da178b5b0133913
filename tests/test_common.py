"""scikit-learn's estimator checks over both estimators in several configurations."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skbackprop import BackpropClassifier, BackpropRegressor, LeakyReLU, PReLU

# Small networks and few epochs keep the checks fast; each solver, non-default and
# per-layer activations, class weights and early stopping are covered.
SMALL = dict(
    hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=100, random_state=0
)

ESTIMATORS = [
    BackpropClassifier(**SMALL),
    BackpropClassifier(**{**SMALL, "solver": "sgd", "learning_rate_init": 0.05}),
    BackpropClassifier(**{**SMALL, "solver": "lbfgs"}),
    BackpropClassifier(**{**SMALL, "activation": LeakyReLU(alpha=0.1)}),
    BackpropClassifier(
        hidden_layer_sizes=(16, 8),
        activation=["tanh", PReLU()],
        max_iter=100,
        random_state=0,
    ),
    BackpropClassifier(**{**SMALL, "class_weight": "balanced"}),
    # Early stopping at its defaults (validation_fraction=0.1, validation_metric=
    # "score"): on the checks' 10-row data sets the validation set grows to its
    # minimum (2 rows, one per class); with class_weight, a tie of the weighted
    # score is decided by the weighted validation loss.
    BackpropClassifier(**SMALL, early_stopping=True),
    BackpropClassifier(**SMALL, early_stopping=True, class_weight="balanced"),
    # ... and with a larger validation set watching the loss.
    BackpropClassifier(
        **SMALL, early_stopping=True, validation_fraction=0.3, validation_metric="loss"
    ),
    BackpropRegressor(**SMALL),
    BackpropRegressor(**{**SMALL, "solver": "sgd", "learning_rate_init": 0.01}),
    BackpropRegressor(**{**SMALL, "solver": "lbfgs"}),
    BackpropRegressor(**{**SMALL, "activation": "gelu"}),
    BackpropRegressor(
        hidden_layer_sizes=(16, 8),
        activation=["elu", "softplus"],
        max_iter=100,
        random_state=0,
    ),
    BackpropRegressor(**SMALL, early_stopping=True),
    BackpropRegressor(**{**SMALL, "early_stopping": True, "validation_fraction": 0.3}),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    """Every scikit-learn estimator check passes, none marked as expected to fail."""
    check(estimator)
