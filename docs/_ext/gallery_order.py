"""Order of the examples in the gallery: a learning path, not the alphabet."""

ORDER = [
    "plot_quick_start.py",
    "plot_grid_search_activations.py",
    "plot_activation_decision_boundaries.py",
    "plot_backprop_by_hand.py",
    "plot_vanishing_gradients.py",
    "plot_custom_activation.py",
    "plot_quantile_huber.py",
    "plot_class_weight.py",
    "plot_hidden_features.py",
    "plot_out_of_core.py",
    "plot_dask_grid_search.py",
    "plot_array_api.py",
    "plot_onnx_export.py",
]


class ExampleOrder:
    """Sort key for sphinx-gallery's ``within_subsection_order``.

    Examples listed in ``ORDER`` come first, in that order; any others follow
    alphabetically.
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        """Return the sort key of one example file name."""
        rank = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return rank, filename
