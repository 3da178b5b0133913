"""Which compiled path trains an epoch fastest, from the configuration alone.

With the kernels on, a numpy network with built-in activations and losses can
train an epoch two ways:

* the **epoch kernel** (:mod:`skbackprop._kernels_epoch`): the whole epoch in one
  compiled call, its matrix products as scalar multiply-add loops (about 8
  GFLOP/s on the benchmark machine). It saves the numpy path's per-batch cost
  (some thirty numpy calls, tens of microseconds), and wins while a batch's
  multiply-adds are few;
* the **BLAS path** with the fused elementwise passes
  (:mod:`skbackprop._kernels_fused`): the products go to BLAS (about 25 GFLOP/s
  on a (256, 256) network), which wins once a batch has enough work to hide the
  per-batch cost.

:func:`use_epoch_kernel` decides between them by the amount of work per batch,
measured by ``benchmarks/bench_dispatch.py`` on a grid of widths, depths and batch
sizes. It is a pure function of the configuration (never of run-time timings), so a
fit takes the same path, and gives the same numbers, on every run. It imports
nothing heavy: a fit that the rule sends to BLAS never needs the epoch kernel
loaded.
"""

import numpy as np

__all__ = ["EPOCH_KERNEL_MAX_BATCH", "EPOCH_KERNEL_MAX_WORK", "use_epoch_kernel"]

#: The epoch kernel never takes batches larger than this (its scratch buffers
#: grow with the batch, and BLAS wins on larger batches at every width measured).
EPOCH_KERNEL_MAX_BATCH = 64

#: Largest number of multiply-adds per batch (rows × the multiply-adds of one
#: sample's forward pass) that the epoch kernel takes, by dtype.
EPOCH_KERNEL_MAX_WORK = {np.dtype(np.float64): 1 << 17, np.dtype(np.float32): 1 << 17}


def forward_macs(layer_units):
    """Multiply-adds of one sample's forward pass, ``Σ d^(l-1) · d^(l)``.

    Parameters
    ----------
    layer_units : sequence of int
        ``[d^(0), ..., d^(L)]``.

    Returns
    -------
    macs : int
    """
    units = [int(u) for u in layer_units]
    return sum(a * b for a, b in zip(units[:-1], units[1:], strict=True))


def use_epoch_kernel(batch_size, layer_units, dtype):
    """Whether the epoch kernel is faster than the BLAS path for this configuration.

    Parameters
    ----------
    batch_size : int
        Rows per batch.
    layer_units : sequence of int
        ``[d^(0), ..., d^(L)]``.
    dtype : dtype
        The network's dtype (float32 or float64).

    Returns
    -------
    use : bool
        True where the epoch kernel should train the epoch: batches of at most
        :data:`EPOCH_KERNEL_MAX_BATCH` rows whose forward multiply-adds
        (``batch_size · forward_macs(layer_units)``) are at most
        ``EPOCH_KERNEL_MAX_WORK[dtype]``. False sends the epoch to BLAS.
    """
    if batch_size > EPOCH_KERNEL_MAX_BATCH:
        return False
    limit = EPOCH_KERNEL_MAX_WORK.get(np.dtype(dtype))
    if limit is None:
        return False
    return batch_size * forward_macs(layer_units) <= limit
