"""The built-in activations and losses, read from the package's registry.

One list for every test file that runs over *all* built-ins, so that a new
built-in is tested everywhere by registering it once (a test file that picks a
subset on purpose keeps its own list). Everything is sorted by name: the
registry may be a set or an ordered tuple, and test ids stay stable either way.
"""

from collections.abc import Mapping

from skbackprop import activations, losses


def _classes(registered):
    """Classes of ``registered`` (classes or instances), sorted by class name."""
    classes = {item if isinstance(item, type) else type(item) for item in registered}
    return tuple(sorted(classes, key=lambda cls: cls.__name__))


def _names(registry):
    """Every registered name, sorted; a registry of classes names them by ``.name``."""
    if isinstance(registry, Mapping):
        return tuple(sorted(registry))
    return tuple(sorted(cls.name for cls in _classes(registry)))


#: Every built-in activation class, sorted by class name.
ACTIVATION_CLASSES = _classes(activations.BUILTIN_ACTIVATIONS)
#: Every name ``activation=`` accepts, aliases included ("sigmoid"), sorted.
ACTIVATION_NAMES = _names(activations.ACTIVATIONS)
#: One name per built-in activation, the one its objects report as ``.name``
#: (the aliases left out), sorted.
ACTIVATION_PRIMARY_NAMES = tuple(sorted({cls.name for cls in ACTIVATION_CLASSES}))

#: Every built-in loss class (the regressor's and the classifier's output
#: losses), sorted by class name.
LOSS_CLASSES = _classes(losses.BUILTIN_LOSSES)
#: Every name the regressor's ``loss=`` accepts, sorted.
LOSS_NAMES = _names(losses.LOSSES)
