"""The recipe: every parameter of the tabular estimators' inner network, in one place.

Informed by RealMLP-TD (Holzmüller et al. 2024) and the regularization cocktails
of Kadra et al. (2021), and by what the issue measured on nine real data sets:
best-epoch restore on a validation split matters most (-3.8 AUC/R² x100 when
removed), then scheduled dropout and weight decay (-1.6), the learning-rate
schedule (-0.7); parametric activations and smooth clipping about 0; label
smoothing and picking the epoch by error cost AUC (so: off, and the epoch is
picked by the validation loss).

- :data:`DEFAULTS`: the knobs the tabular estimators expose, with the recipe's
  values (their ``__init__`` defaults are these);
- :data:`FIXED`: inner parameters the recipe sets and does not expose (the
  learning-rate schedule is made fresh at each fit).

The values are RealMLP-TD's where their meaning carries over; they are not yet
tuned on the tabular benchmark (``benchmarks/bench_tabular.py``).
"""

from ..schedules import Cosine

# Exposed knobs (shared by both estimators) and their recipe values.
DEFAULTS = dict(
    # RealMLP-TD's width and depth.
    hidden_layer_sizes=(256, 256, 256),
    # Parametric activations were worth about 0 in the ablation; ReLU keeps the
    # compiled kernels (PReLU() is one parameter away).
    activation="relu",
    alpha=1e-4,
    # "auto": 256 rows (RealMLP-TD's), fewer on small tables so that an epoch
    # still takes AUTO_STEPS Adam steps (see auto_batch_size).
    batch_size="auto",
    learning_rate_init=1e-3,
    max_iter=256,
    # Best-epoch restore: the ingredient that matters most.
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=16,
    tol=1e-4,
    validation_metric="loss",
    # Decoupled (AdamW) weight decay on the coefficients, RealMLP-TD's value.
    weight_decay=0.02,
    # RealMLP-TD uses dropout 0.15; off by default here: a random mask per row
    # makes integer sample weights differ from repeated rows (scikit-learn's
    # sample-weight checks), so it is the user's choice.
    dropout=0.0,
)

# Inner parameters the recipe fixes. The schedule: cosine decay of the rate
# over max_iter epochs (stepped per epoch, so the compiled epoch kernel applies).
FIXED = dict(
    solver="adam",
    shuffle=True,
    learning_rate=Cosine,
    warm_start=False,
)


# Largest and smallest "auto" batch, and the Adam steps an epoch should take.
AUTO_BATCH = (256, 32)
AUTO_STEPS = 16


def auto_batch_size(n_samples):
    """Return the "auto" batch size for ``n_samples`` training rows.

    RealMLP-TD's 256 where the table has ``256 · AUTO_STEPS`` rows or more; on a
    smaller table fewer rows (down to 32), so that ``max_iter`` epochs still
    make enough steps: with 256-row batches a table of 300 rows would get one
    step per epoch.
    """
    largest, smallest = AUTO_BATCH
    return max(1, min(n_samples, largest, max(smallest, n_samples // AUTO_STEPS)))


def inner_params(tabular, inner_cls, task, n_samples):
    """Return the inner estimator's parameters for this fit.

    Parameters
    ----------
    tabular : TabularMLPClassifier or TabularMLPRegressor
        Its exposed knobs (``DEFAULTS``' keys and the task's own) override the
        recipe.
    inner_cls : type
        BackpropClassifier or BackpropRegressor.
    task : {"classifier", "regressor"}
    n_samples : int
        Rows to train on, the validation rows left out (batches never exceed
        them).

    Returns
    -------
    params : dict
    """
    accepted = inner_cls().get_params(deep=False)
    own = tabular.get_params(deep=False)
    params = dict(FIXED, learning_rate=FIXED["learning_rate"]())
    params.update({k: v for k, v in own.items() if k in accepted})
    if params["batch_size"] == "auto":
        params["batch_size"] = auto_batch_size(n_samples)
    else:
        params["batch_size"] = max(1, min(params["batch_size"], n_samples))
    return params
