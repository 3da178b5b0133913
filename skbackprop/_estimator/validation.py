"""Input validation whose errors also say how to fix the input."""

from sklearn.utils.validation import validate_data

from .messages import _same_kind

# How to fix the input errors scikit-learn's validation reports, by what they say.
_INPUT_HINTS = [
    (
        "infinity",
        "Replace or drop infinite values before fitting (e.g. np.nan_to_num, or "
        "clip extreme values).",
    ),
    (
        "y contains NaN",
        "Drop the samples whose target is missing, or impute the target.",
    ),
    (
        "0 sample(s)",
        "Pass at least one sample: the data is empty, check any filtering before.",
    ),
    (
        "0 feature(s)",
        "Pass at least one feature column.",
    ),
    (
        "inconsistent numbers of samples",
        "X and y (and sample_weight) need one entry per sample; check that they "
        "were sliced the same way.",
    ),
    (
        "could not convert",
        "The model needs numeric input: encode text or categorical columns first "
        "(e.g. OneHotEncoder or OrdinalEncoder in a ColumnTransformer); for class "
        "labels as targets use BackpropClassifier.",
    ),
    (
        "features as input",
        "Pass data with the same columns as during fit.",
    ),
]


def _validate_with_hints(*args, **kwargs):
    """``validate_data`` whose errors also say how to fix the input."""
    try:
        return validate_data(*args, **kwargs)
    except (ValueError, TypeError) as err:
        msg = str(err)
        hints = [hint for key, hint in _INPUT_HINTS if key in msg and hint not in msg]
        if not hints:
            raise
        raise _same_kind(err, f"{msg} {' '.join(hints)}") from err
