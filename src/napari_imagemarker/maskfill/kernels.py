"""Window statistics for maskfill, vectorised over many windows and bit-identical to NumPy.

The reference implementation calls ``np.nanmedian`` and ``np.nanmean`` on one window at a
time.  The functions here compute the same numbers for thousands of windows at once.  Each
takes the window values as a ``(k, n)`` array: row ``j`` holds the ``j``-th window position
(row-major within the window) of all ``n`` windows, NaN marking a missing value.  Results
are exactly NumPy's because the arithmetic is done in the same order and the same dtype:

* ``np.nanmedian`` of a window drops the NaNs and takes ``np.median`` of the rest, which is
  the middle value for an odd count and ``(lo + hi) / 2`` in the array's dtype for an even
  count.
* ``np.nanmean`` replaces NaN by 0, sums the whole window with NumPy's pairwise summation
  (``0 + pairwise(values)``, values in row-major order) in the array's dtype, and divides by
  the number of non-NaN values.
"""

from __future__ import annotations

import numpy as np

# A sorting network for 8 inputs (19 compare-exchanges, Batcher's; checked on all 2**8
# zero-one inputs in the tests): the 8 neighbours of a pixel being filled, whose own value
# is always missing.  A median of up to 8 values needs sorted positions 0 to 4 only, so
# the exchanges that cannot reach those positions are pruned below.
_SORT8 = (
    (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7), (0, 1), (2, 3),
    (4, 5), (6, 7), (2, 4), (3, 5), (1, 4), (3, 6), (1, 2), (3, 4), (5, 6),
)  # fmt: skip


def _prune(
    network: tuple[tuple[int, int], ...], wanted: set[int]
) -> list[tuple[int, int, bool, bool]]:
    """The exchanges that can affect the wanted positions, flagged by which outputs matter."""
    kept = []
    needed = set(wanted)
    for lo, hi in reversed(network):
        if lo in needed or hi in needed:
            kept.append((lo, hi, lo in needed, hi in needed))
            needed |= {lo, hi}
    return kept[::-1]


_LOWER8 = _prune(_SORT8, {0, 1, 2, 3, 4})


def nanmedian_windows(values: np.ndarray, sort: bool = False) -> np.ndarray:
    """Median of each window ignoring NaN, as ``np.nanmedian`` computes it.

    Parameters
    ----------
    values : ndarray, shape (k, n)
        Window values, one window per column; NaN with the sign bit clear (np.nan's)
        marks missing values.  The array is overwritten.  When sorting, it is best the
        transpose of a C-contiguous ``(n, k)`` array (the windows are then sorted in
        place).
    sort : bool, optional
        Sort each window.  Otherwise windows of 8 values (``k == 8``: the neighbours of a
        3x3 window) go through a sorting network applied to all windows at once, which is
        faster for many windows.

    Returns
    -------
    ndarray, shape (n,)
        The medians, in the dtype of ``values``; NaN where a window has no value, or where
        the two middle values are -inf and +inf.  Callers silence the floating-point
        warnings (overflow, inf - inf) with ``np.errstate``.
    """
    k, n = values.shape
    count = (k - _nan_count(values)).astype(np.intp)
    # Sorted positions of the two middle values; -1 for an empty window, fixed below.
    lo_pos = (count - 1) >> 1
    hi_pos = count >> 1
    if k == 8 and not sort:
        # np.fmin keeps the number and np.maximum the NaN of a pair: NaN sorts after every
        # number (+inf included), so the valid values come first and in order.
        lower = np.stack(_network(list(values), _LOWER8)[:5]).reshape(-1)
        window = np.arange(n)
        lo = lower[lo_pos * n + window]
        hi = lower[hi_pos * n + window]
    else:
        # Sorted as integers of the same order (NumPy's SIMD sort of int32 is about twice
        # as fast as of float32, which first looks for NaN); a NaN with the sign bit clear
        # is then above +inf, so the valid values come first and in order.
        keys = values.T.view(_SIGNED[values.itemsize])  # (n, k)
        _order_keys(keys)
        keys.sort(axis=1)
        flat = keys.reshape(-1)  # a view when the caller allocated (n, k)
        window = np.arange(0, n * k, k)
        lo = _order_keys(flat[window + lo_pos]).view(values.dtype)
        hi = _order_keys(flat[window + hi_pos]).view(values.dtype)
    # np.median takes the mean of the middle value(s): a sum in the dtype that starts from
    # 0 (so -0.0 becomes +0.0), divided by 1 or 2.
    lo += 0
    pair = lo + hi
    pair /= 2
    median = np.where(count & 1, lo, pair)
    empty = count == 0  # never while filling: a frontier pixel has a valid neighbour
    if empty.any():
        median[empty] = np.nan
    return median


_SIGNED = {4: np.int32, 8: np.int64}


def _order_keys(bits: np.ndarray) -> np.ndarray:
    """Turn the bit patterns of floats, as signed integers, into integers in the floats'
    order (or back: the map is its own inverse), in place; returns ``bits``.

    Negative floats have their other bits flipped: -0.0 comes just below +0.0, -inf below
    every number.  A NaN must have its sign bit clear (as np.nan and the engine's NaN do):
    it then comes above +inf.
    """
    flip = bits >> (8 * bits.itemsize - 1)  # -1 for negative floats, else 0
    flip &= np.iinfo(bits.dtype).max
    bits ^= flip
    return bits


def _network(rows: list[np.ndarray], network: list[tuple[int, int, bool, bool]]) -> list:
    """Apply a pruned sorting network to rows of values, element-wise; NaN sorts last."""
    spare = np.empty_like(rows[0])
    for i, j, need_min, need_max in network:
        if need_min:
            np.fmin(rows[i], rows[j], out=spare)
        if need_max:
            np.maximum(rows[i], rows[j], out=rows[j])
        if need_min:
            rows[i], spare = spare, rows[i]
    return rows


def _nan_count(values: np.ndarray) -> np.ndarray:
    """Number of NaN in each column of a ``(k, n)`` array."""
    return np.isnan(values).sum(axis=0, dtype=_count_dtype(values.shape[0]))


def _count_dtype(k: int) -> type:
    """The smallest unsigned type that counts up to ``k`` (window sizes reach 961 and more)."""
    return np.uint8 if k < 256 else np.uint16 if k < 65536 else np.uint64


def nanmean_windows(values: np.ndarray) -> np.ndarray:
    """Mean of each window ignoring NaN, as ``np.nanmean`` computes it.

    Parameters
    ----------
    values : ndarray, shape (k, n)
        Window values, one window per column, row-major order within the window; NaN marks
        missing values.  The array is overwritten.

    Returns
    -------
    ndarray, shape (n,)
        The means in the dtype of ``values``; NaN where a window has no value or the sum is
        undefined (+inf and -inf).
    """
    valid = ~np.isnan(values)
    count = valid.sum(axis=0, dtype=_count_dtype(values.shape[0]))
    # NaN -> +0.0 by multiplying the bit pattern by 0 or 1: much faster than a masked copy.
    bits = values.view(np.uint32 if values.itemsize == 4 else np.uint64)
    np.multiply(bits, valid.view(np.uint8), out=bits)
    return window_means(values, count)


def window_means(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Sum of each window in NumPy's order, divided by the number of valid values.

    Parameters
    ----------
    values : ndarray, shape (k, n)
        Window values without NaN (missing values already replaced by 0).
    count : ndarray of int, shape (n,)
        Number of valid values of each window.

    Returns
    -------
    ndarray, shape (n,)
        ``np.nanmean`` of the original windows, in the dtype of ``values``.  Callers
        silence the floating-point warnings with ``np.errstate``.
    """
    if values.T.flags.c_contiguous:
        # One window per row in memory: NumPy's own sum along it is the reference's np.sum
        # of the window's contiguous copy, step for step.
        total = values.T.sum(axis=1)
    else:
        total = _pairwise_sum(values, 0, values.shape[0])
        # NumPy's add.reduce starts from the identity 0 (this turns -0.0 into +0.0).
        total += values.dtype.type(0)
    # Division in the dtype equals NumPy's float64 division rounded back: both are the
    # correctly rounded quotient.
    total /= count.astype(values.dtype)
    return total


def _pairwise_sum(values: np.ndarray, start: int, n: int) -> np.ndarray:
    """Rows ``start:start+n`` of ``values`` summed in NumPy's pairwise order.

    Mirrors ``pairwise_sum`` in NumPy's ``loops_utils.h.src``: fewer than 8 terms are added
    one by one, up to 128 terms go into 8 interleaved accumulators combined as a tree, and
    longer runs are split in two at a multiple of 8.
    """
    if n < 8:
        total = np.zeros_like(values[0])
        for i in range(start, start + n):
            total += values[i]
        return total
    if n <= 128:
        stop = n - n % 8
        acc = values[start : start + 8]
        if stop > 8:
            acc = acc.copy()
        i = 8
        while i < stop:
            acc += values[start + i : start + i + 8]
            i += 8
        total = (acc[0] + acc[1]) + (acc[2] + acc[3])
        total += (acc[4] + acc[5]) + (acc[6] + acc[7])
        for j in range(start + i, start + n):
            total += values[j]
        return total
    half = n // 2
    half -= half % 8
    total = _pairwise_sum(values, start, half)
    total += _pairwise_sum(values, start + half, n - half)
    return total
