"""The rule that picks the epoch kernel or the BLAS path (a pure function)."""

import numpy as np
import pytest

from skbackprop._kernels import dispatch as _dispatch
from skbackprop._kernels.dispatch import forward_macs, use_epoch_kernel

W1_UNITS = [100, 256, 256, 10]  # bench_vs_sklearn's W1 network
W2_UNITS = [20, 32, 3]  # the lecture's SGD (W2) and W3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wide_network_takes_blas_at_batch_64(dtype):
    # The epoch kernel's scalar loops ran 1.5-2.2x slower than BLAS on a (256, 256)
    # network at every batch size: the old rule (any batch <= 64) took it.
    assert not use_epoch_kernel(64, W1_UNITS, dtype)
    assert not use_epoch_kernel(32, W1_UNITS, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [1, 32])
def test_small_network_takes_the_epoch_kernel(dtype, batch_size):
    assert use_epoch_kernel(batch_size, W2_UNITS, dtype)


def test_large_batches_never_take_the_epoch_kernel():
    tiny = [2, 2, 1]
    assert use_epoch_kernel(_dispatch.EPOCH_KERNEL_MAX_BATCH, tiny, np.float64)
    assert not use_epoch_kernel(_dispatch.EPOCH_KERNEL_MAX_BATCH + 1, tiny, np.float64)
    assert not use_epoch_kernel(4096, tiny, np.float32)


def test_decision_follows_the_work_per_batch():
    # More rows or wider layers never turn a "no" into a "yes".
    for units in ([20, 32, 3], [32, 128, 10], [64, 64, 64, 10], W1_UNITS):
        picks = [use_epoch_kernel(b, units, np.float64) for b in (1, 8, 32, 64)]
        assert picks == sorted(picks, reverse=True)
    widths = [use_epoch_kernel(8, [32, w, w, 10], np.float64) for w in (16, 64, 256)]
    assert widths == sorted(widths, reverse=True)


def test_other_dtypes_keep_blas():
    assert not use_epoch_kernel(1, W2_UNITS, np.float16)


def test_forward_macs():
    assert forward_macs(W1_UNITS) == 100 * 256 + 256 * 256 + 256 * 10
    assert forward_macs([3, 1]) == 3


def test_batch_one_of_the_w1_network_takes_the_epoch_kernel():
    # Below TRANSPOSE_MIN_ROWS rows the kernel copies no transposed weights: it
    # won at batch 1 on the (256, 256) network (0.39 of numpy's time, BLAS 0.51).
    assert use_epoch_kernel(1, W1_UNITS, np.float64)
    assert not use_epoch_kernel(_dispatch.TRANSPOSE_MIN_ROWS, W1_UNITS, np.float64)


def test_work_counts_the_transposed_copies():
    units = [8, 16, 16, 4]
    b = _dispatch.TRANSPOSE_MIN_ROWS
    assert _dispatch.epoch_kernel_work(b - 1, units) == (b - 1) * forward_macs(units)
    copies = 16 * 16 + 16 * 4
    assert _dispatch.epoch_kernel_work(b, units) == b * forward_macs(units) + 4 * copies
