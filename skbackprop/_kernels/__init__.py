"""The compiled kernels (numba) and the settings that decide when they run.

An accelerator of the plain dense stack, never a fork: the numpy core is the
reference, and every kernel falls back to it.
"""
