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
- :data:`FIXED`: inner parameters the recipe sets and does not expose;
- :data:`_RECIPE_PENDING`: parts of the recipe that need parameters the
  Backprop estimators do not have yet. Each is passed to the inner estimator
  only where its ``get_params()`` has the key (and, for objects, where the
  module providing them exists), so they switch on by themselves once the
  estimators gain those parameters.
"""

import importlib

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
)

# Inner parameters the recipe fixes.
FIXED = dict(
    solver="adam",
    shuffle=True,
    learning_rate="constant",
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


def _schedule(name, **kwargs):
    """Return a factory for learning-rate schedule ``name`` of skbackprop.schedules.

    Returns None (the entry is left out) while that module does not exist.
    """

    def make():
        try:
            module = importlib.import_module("skbackprop.schedules")
        except ImportError:
            return None
        return getattr(module, name)(**kwargs)

    return make


# Parts of the recipe waiting for parameters of the Backprop estimators (issue
# 20, item 1). Values are RealMLP-TD's where their meaning carries over. A
# callable is a factory called at fit; it returning None leaves the entry out.
_RECIPE_PENDING = {
    "both": {
        # RealMLP-TD: dropout 0.15 (its schedule flat then cosine to 0).
        "dropout": 0.15,
        # Decoupled (AdamW) weight decay, not on intercepts.
        "weight_decay": 0.02,
        # The learning-rate schedule: cosine decay over max_iter epochs.
        "learning_rate": _schedule("Cosine"),
    },
    # Label smoothing was measured to cost AUC: it stays off (0).
    "classifier": {},
    "regressor": {},
}


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
    params = dict(FIXED)
    params.update({k: v for k, v in own.items() if k in accepted})
    if params["batch_size"] == "auto":
        params["batch_size"] = auto_batch_size(n_samples)
    else:
        params["batch_size"] = max(1, min(params["batch_size"], n_samples))
    pending = {**_RECIPE_PENDING["both"], **_RECIPE_PENDING[task]}
    for key, value in pending.items():
        if key not in accepted or key in own:  # not there yet, or the user's knob
            continue
        if callable(value):
            value = value()
            if value is None:
                continue
        params[key] = value
    return params
