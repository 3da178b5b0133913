"""The demo behind ``python -m skbackprop``."""
