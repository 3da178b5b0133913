"""Which compiled path trains an epoch fastest, from the configuration alone.

With the kernels on, a numpy network with built-in activations and losses can
train an epoch two ways:

* the **epoch kernel** (:mod:`skbackprop._kernels.epoch`): the whole epoch in one
  compiled call, its matrix products as scalar multiply-add loops (about 8
  GFLOP/s on the benchmark machine). It saves the numpy path's per-batch cost
  (some thirty numpy calls, tens of microseconds), and wins while a batch's
  multiply-adds are few;
* the **BLAS path** with the fused elementwise passes
  (:mod:`skbackprop._kernels.fused`): the products go to BLAS (about 25 GFLOP/s
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

__all__ = [
    "EPOCH_KERNEL_MAX_BATCH",
    "EPOCH_KERNEL_MAX_WORK",
    "TRANSPOSE_MIN_ROWS",
    "epoch_kernel_work",
    "forward_macs",
    "use_epoch_kernel",
]

#: The epoch kernel never takes batches larger than this (its scratch buffers
#: grow with the batch, and BLAS wins on larger batches at every width measured).
EPOCH_KERNEL_MAX_BATCH = 64

#: Largest work per batch (see :func:`epoch_kernel_work`) the epoch kernel takes,
#: by dtype, for batches of at least :data:`TRANSPOSE_MIN_ROWS` rows; smaller
#: batches may have twice as much.
#: BLAS's float32 products run about twice as fast as its float64 ones; the
#: epoch kernel gains less: half the limit (measured on the grid in float32).
EPOCH_KERNEL_MAX_WORK = {np.dtype(np.float64): 1 << 19, np.dtype(np.float32): 1 << 18}

#: From this many rows on, the epoch kernel copies each Wᵀ once per batch for the
#: δ recursion (``_kernels_epoch_jit._TRANSPOSE_MIN_ROWS``); below, it takes row
#: dot products and copies nothing.
TRANSPOSE_MIN_ROWS = 4


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


def epoch_kernel_work(batch_size, layer_units):
    """Return the epoch kernel's work per batch, in multiply-adds.

    ``batch_size · forward_macs``, plus four per entry of the weight matrices it
    transposes (all but the first layer's, once per batch of at least
    :data:`TRANSPOSE_MIN_ROWS` rows: a strided copy, measured at about four
    multiply-adds' time per entry).

    Parameters
    ----------
    batch_size : int
        Rows per batch.
    layer_units : sequence of int
        ``[d^(0), ..., d^(L)]``.

    Returns
    -------
    work : int
    """
    work = batch_size * forward_macs(layer_units)
    if batch_size >= TRANSPOSE_MIN_ROWS:
        work += 4 * forward_macs(layer_units[1:])
    return work


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
        :data:`EPOCH_KERNEL_MAX_BATCH` rows whose :func:`epoch_kernel_work` is at
        most ``EPOCH_KERNEL_MAX_WORK[dtype]`` (twice that below
        :data:`TRANSPOSE_MIN_ROWS` rows). False sends the epoch to BLAS.

    Notes
    -----
    Measured with ``benchmarks/bench_dispatch.py`` (float64, one BLAS thread):
    the epoch kernel won, against the fused BLAS path, on (32,) to (32, 32, 32,
    32) networks up to batch 64, (128,) up to batch 8 (a tie at 32), four
    128-unit layers at batch 1 but not at 8, (256, 256) on 100 features at batch 1
    (0.39 of numpy's time against 0.51) but not at 8 (0.66 against 0.57) or above,
    and (512, 512) at batch 1; BLAS won wherever a batch's work passed about
    500,000 multiply-adds. In float32 the break-even was about half that: four
    32-unit layers at batch 64 (work 296,192) took 0.99 of numpy's time in the
    epoch kernel and 0.82 on BLAS.
    """
    if batch_size > EPOCH_KERNEL_MAX_BATCH:
        return False
    limit = EPOCH_KERNEL_MAX_WORK.get(np.dtype(dtype))
    if limit is None:
        return False
    if batch_size < TRANSPOSE_MIN_ROWS:
        limit *= 2
    return epoch_kernel_work(batch_size, layer_units) <= limit
