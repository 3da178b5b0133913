"""Class weights of the classifier, as per-row factors of the sample weights."""

import numbers

import numpy as np

from .._core import xp as _xp


class ClassWeightMixin:
    """``class_weight``: "balanced", a dict, or (multilabel) a list of dicts."""

    def _class_weight_factors(self, Y, sample_weight, incremental):
        cw = self.class_weight
        if cw is None:
            return None
        # Class index per row and label column: 0/1 per column for multilabel,
        # else one column indexing classes_.
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            index, n_classes = Y.astype(np.intp), 2
        else:
            col = Y[:, 0] if Y.shape[1] == 1 else Y.argmax(axis=1)
            index, n_classes = col.astype(np.intp)[:, np.newaxis], len(self.classes_)
        if isinstance(cw, str):  # "balanced", the only string the constraints allow
            weights = self._balanced_weights(
                index, n_classes, sample_weight, incremental
            )
        else:
            weights = self._dict_class_weights(cw, index)
        combined = weights if sample_weight is None else weights * sample_weight
        if not combined.sum() > 0:
            raise ValueError(
                f"class_weight={cw!r} gives every sample a weight of zero (together "
                "with sample_weight); give at least one present class a positive "
                "weight."
            )
        return weights

    def _balanced_weights(self, index, n_classes, sample_weight, incremental):
        """Row weights ``Σw / (n_classes · Σ_{class} w)`` ("balanced").

        Counting with the sample weights keeps integer weights equivalent to
        repeated rows. ``partial_fit`` accumulates the counts over all batches
        seen so far, so a batch is weighted by the frequencies of all data to date.
        For multilabel targets each label column is balanced and the row weight is
        the product over columns.
        """
        sw = np.ones(index.shape[0]) if sample_weight is None else sample_weight
        counts = np.stack(
            [np.bincount(col, weights=sw, minlength=n_classes) for col in index.T]
        )
        if incremental and getattr(self, "_class_counts", None) is not None:
            counts = counts + _xp.host(self._class_counts)
        self._class_counts = counts
        seen = (counts > 0).sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            class_w = np.where(
                counts > 0, counts.sum(axis=1, keepdims=True) / (seen * counts), 0.0
            )
        return np.prod(class_w[np.arange(index.shape[1]), index], axis=1)

    def _dict_class_weights(self, class_weight, index):
        """Row weights from a dict (or, for multilabel, a list of dicts per column)."""
        multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        if not multilabel:
            dicts, labels = [class_weight], [self.classes_]
        elif isinstance(class_weight, list) and len(class_weight) == index.shape[1]:
            dicts, labels = class_weight, [np.array([0, 1])] * index.shape[1]
        else:
            raise ValueError(
                "For multilabel y, class_weight must be 'balanced' or a list with one "
                f"dict per label column ({index.shape[1]}); got {class_weight!r}."
            )
        weights = np.ones(index.shape[0])
        for k, (cw, classes) in enumerate(zip(dicts, labels, strict=True)):
            if not isinstance(cw, dict):
                raise ValueError(
                    f"class_weight must be a dict, 'balanced' or None; got {cw!r}."
                )
            unknown = [c for c in cw if c not in set(classes.tolist())]
            if unknown:
                raise ValueError(
                    f"class_weight has keys {unknown} that are not classes of y "
                    f"({classes.tolist()}); use the labels of y as keys."
                )
            per_class = np.ones(len(classes))
            for j, c in enumerate(classes.tolist()):
                value = cw.get(c, 1.0)
                if (
                    isinstance(value, bool)
                    or not isinstance(value, numbers.Real)
                    or not np.isfinite(value)
                    or value < 0
                ):
                    raise ValueError(
                        f"class_weight[{c!r}] is {value!r}; class weights must be "
                        "finite, non-negative numbers (1 is neutral)."
                    )
                per_class[j] = value
            weights *= per_class[index[:, k]]
        return weights
