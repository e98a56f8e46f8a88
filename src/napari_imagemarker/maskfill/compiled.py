"""maskfill's per-pixel loops, compiled with numba, bit-identical to NumPy's statistics.

The reference calls ``np.nanmedian`` and ``np.nanmean`` on one window at a time.  These
loops compute the same numbers, in the same dtype and the same order of operations, for
many windows per call, on the work image itself (C-contiguous, no padding: a call's
memory is its results).  The rules they follow:

* ``np.nanmedian`` of a window drops the NaNs and takes ``np.median`` of the rest: the
  middle value for an odd count, ``(lo + hi) / 2`` in the dtype for an even count, and
  ``+ 0`` first (so -0.0 comes out as +0.0).  Medians are found on integer keys in the
  floats' order (`_key`): NaN keys are above every number, so the valid values sort first.
* ``np.nanmean`` replaces NaN by 0, sums the whole window (row-major, the part outside the
  image as 0 too: the reference pads with NaN) with NumPy's pairwise summation, adds the
  identity 0, and divides by the count of valid values.

Pixels still to fill hold a NaN whose bits say whether they are queued for the current
iteration (see ``engine``).  Every array is allocated by NumPy in the engine, none here, so
``tracemalloc`` sees all the memory a call uses.  Compiled on first use, cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# error_model="numpy": a division by zero gives inf or NaN, as in NumPy, never raises.
_JIT = {"cache": True, "nogil": True, "boundscheck": False, "error_model": "numpy"}
_INLINE = {**_JIT, "inline": "always"}


@njit(**_INLINE)
def _key(bits, shift, magnitude):
    """A float's bits (as a signed integer) as an integer in the floats' order: negative
    floats have all bits but the sign flipped.  Its own inverse."""
    return bits ^ ((bits >> shift) & magnitude)


@njit(**_INLINE)
def _row_col(p, nx):
    """``divmod(p, nx)`` without an integer division (tens of cycles each, the cost of a
    whole 3x3 median): a float64 quotient, corrected by one where it rounds across."""
    r = np.int64(p * (1.0 / nx))
    if r * nx > p:
        r -= 1
    elif (r + 1) * nx <= p:
        r += 1
    return r, p - r * nx


@njit(**_JIT)
def mark_unfilled(image, mask, keep, magnitude, nan_above, todo):
    """Give the masked and NaN pixels of an image the bits ``todo``; return their number.

    ``image`` and ``mask`` are unsigned integer views of the same shape, any layout: the
    image's bits, and the mask's bits of which ``keep`` count (see `mask_bits`).  A pixel
    is NaN when its bits but the sign (``magnitude``) are above ``nan_above`` (+inf's).
    """
    ny, nx = image.shape
    n = 0
    for r in range(ny):
        row = image[r]
        flags = mask[r]
        for c in range(nx):
            b = row[c]
            unfilled = (flags[c] & keep) != 0 or (b & magnitude) > nan_above
            row[c] = todo if unfilled else b
            n += unfilled
    return n


@njit(**_JIT)
def queue_neighbours(bits, ny, nx, filled, todo, queued, out):
    """The pixels with bits ``todo`` among the 8-neighbours of the flat positions
    ``filled``, each once: written to ``out`` (with room for them) and made ``queued``.
    Returns their number."""
    n = 0
    for i in range(filled.size):
        p = filled[i]
        r, c = _row_col(p, nx)
        if 0 < r < ny - 1 and 0 < c < nx - 1:
            for q in (p - nx - 1, p - nx, p - nx + 1, p - 1, p + 1,
                      p + nx - 1, p + nx, p + nx + 1):  # fmt: skip
                if bits[q] == todo:
                    bits[q] = queued
                    out[n] = q
                    n += 1
            continue
        for rr in range(max(r - 1, 0), min(r + 2, ny)):
            for cc in range(max(c - 1, 0), min(c + 2, nx)):
                q = rr * nx + cc
                if bits[q] == todo:
                    bits[q] = queued
                    out[n] = q
                    n += 1
    return n


@njit(**_JIT)
def medians_3x3(bits, ny, nx, positions, shift, magnitude, inf_key, nan_key, counts, middles,
                lo, hi, zero, two, out):  # fmt: skip
    """``np.nanmedian`` of the 3x3 windows around ``positions`` (pixels to fill, so NaN).

    ``bits`` is the image's bits as signed integers, flat.  The 8 neighbours' keys (NaN or
    outside: ``nan_key``, above every number) go through a sorting network pruned to the
    lowest 5 positions, the only ones a median of up to 8 values needs.  The number of
    valid values goes to ``counts``; the middle keys, back to float bits in ``middles``
    (shape (2, n)), are read as floats through ``lo`` and ``hi`` (float views of its rows)
    and averaged as np.median does.
    """
    for i in range(positions.size):
        p = positions[i]
        r, c = _row_col(p, nx)
        if 0 < r < ny - 1 and 0 < c < nx - 1:
            v0 = _key(bits[p - nx - 1], shift, magnitude)
            v1 = _key(bits[p - nx], shift, magnitude)
            v2 = _key(bits[p - nx + 1], shift, magnitude)
            v3 = _key(bits[p - 1], shift, magnitude)
            v4 = _key(bits[p + 1], shift, magnitude)
            v5 = _key(bits[p + nx - 1], shift, magnitude)
            v6 = _key(bits[p + nx], shift, magnitude)
            v7 = _key(bits[p + nx + 1], shift, magnitude)
        else:
            v0 = _key_at(bits, ny, nx, r - 1, c - 1, shift, magnitude, nan_key)
            v1 = _key_at(bits, ny, nx, r - 1, c, shift, magnitude, nan_key)
            v2 = _key_at(bits, ny, nx, r - 1, c + 1, shift, magnitude, nan_key)
            v3 = _key_at(bits, ny, nx, r, c - 1, shift, magnitude, nan_key)
            v4 = _key_at(bits, ny, nx, r, c + 1, shift, magnitude, nan_key)
            v5 = _key_at(bits, ny, nx, r + 1, c - 1, shift, magnitude, nan_key)
            v6 = _key_at(bits, ny, nx, r + 1, c, shift, magnitude, nan_key)
            v7 = _key_at(bits, ny, nx, r + 1, c + 1, shift, magnitude, nan_key)
        count = (
            (v0 <= inf_key) + (v1 <= inf_key) + (v2 <= inf_key) + (v3 <= inf_key)
            + (v4 <= inf_key) + (v5 <= inf_key) + (v6 <= inf_key) + (v7 <= inf_key)
        )  # fmt: skip
        # Batcher's network for 8 inputs (19 exchanges; the zero-one principle is checked
        # in the tests), without the exchanges that cannot reach positions 0 to 4.
        v0, v2 = min(v0, v2), max(v0, v2)
        v1, v3 = min(v1, v3), max(v1, v3)
        v4, v6 = min(v4, v6), max(v4, v6)
        v5, v7 = min(v5, v7), max(v5, v7)
        v0, v4 = min(v0, v4), max(v0, v4)
        v1, v5 = min(v1, v5), max(v1, v5)
        v2, v6 = min(v2, v6), max(v2, v6)
        v3, v7 = min(v3, v7), max(v3, v7)
        v0, v1 = min(v0, v1), max(v0, v1)
        v2, v3 = min(v2, v3), max(v2, v3)
        v4, v5 = min(v4, v5), max(v4, v5)
        v6 = min(v6, v7)
        v2, v4 = min(v2, v4), max(v2, v4)
        v3 = min(v3, v5)
        v1, v4 = min(v1, v4), max(v1, v4)
        v3 = min(v3, v6)
        v1, v2 = min(v1, v2), max(v1, v2)
        v3, v4 = min(v3, v4), max(v3, v4)
        a = (count - 1) >> 1 if count else 7  # 7: no value, the median is NaN
        b = count >> 1 if count else 7
        x = v0 if a == 0 else v1 if a == 1 else v2 if a == 2 else v3 if a == 3 else v4
        y = v0 if b == 0 else v1 if b == 1 else v2 if b == 2 else v3 if b == 3 else v4
        if not count:
            x = y = nan_key
        counts[i] = count
        middles[0, i] = _key(x, shift, magnitude)
        middles[1, i] = _key(y, shift, magnitude)
    _average_middles(counts, lo, hi, zero, two, out)


@njit(**_INLINE)
def _key_at(bits, ny, nx, r, c, shift, magnitude, nan_key):
    if 0 <= r < ny and 0 <= c < nx:
        return _key(bits[r * nx + c], shift, magnitude)
    return nan_key


@njit(**_INLINE)
def _average_middles(counts, lo, hi, zero, two, out):
    """np.median of the middle values: lo + 0 for an odd count, else (lo + 0 + hi) / 2 in
    the dtype (two equal huge values overflow to inf, as in NumPy)."""
    for i in range(counts.size):
        low = lo[i] + zero
        out[i] = low if counts[i] & 1 else (low + hi[i]) / two


@njit(**_JIT)
def window_keys(bits, ny, nx, half, positions, shift, magnitude, nan_key, keys):
    """The keys of the ``(2 half + 1)^2`` windows around ``positions``, row-major, one
    window per row of ``keys``; outside the image ``nan_key``.  NumPy's sort then sorts
    each row (SIMD, much faster than any loop here) before `sorted_medians`."""
    size = 2 * half + 1
    for i in range(positions.size):
        r, c = _row_col(positions[i], nx)
        row = keys[i]
        if half <= r < ny - half and half <= c < nx - half:
            for j in range(size):
                start = (r - half + j) * nx + c - half
                src = bits[start : start + size]  # slices compile to tight loops
                dst = row[j * size : j * size + size]
                for t in range(size):
                    dst[t] = _key(src[t], shift, magnitude)
        else:
            t = 0
            for rr in range(r - half, r + half + 1):
                for cc in range(c - half, c + half + 1):
                    row[t] = _key_at(bits, ny, nx, rr, cc, shift, magnitude, nan_key)
                    t += 1


@njit(**_INLINE)
def _copy_window(image, ny, nx, half, r, c, outside, dst):
    """The window around (r, c) of a flat C-ordered image into ``dst``, row-major;
    ``outside`` where it leaves the image."""
    size = 2 * half + 1
    if half <= r < ny - half and half <= c < nx - half:
        for j in range(size):
            start = (r - half + j) * nx + c - half
            src = image[start : start + size]  # slices compile to tight loops
            part = dst[j * size : j * size + size]
            for t in range(size):
                part[t] = src[t]
        return
    t = 0
    for rr in range(r - half, r + half + 1):
        for cc in range(c - half, c + half + 1):
            inside = 0 <= rr < ny and 0 <= cc < nx
            dst[t] = image[rr * nx + cc] if inside else outside
            t += 1


@njit(**_JIT)
def window_copies(keys_image, ny, nx, half, positions, nan_key, keys):
    """`window_keys` from an image already turned into keys (see `to_keys`): the values
    are only copied, which is faster when many windows overlap."""
    for i in range(positions.size):
        r, c = _row_col(positions[i], nx)
        _copy_window(keys_image, ny, nx, half, r, c, nan_key, keys[i])


@njit(**_JIT)
def to_keys(bits, shift, magnitude):
    """Turn a flat image's bits (signed integers) into keys in place, or back: `_key` is
    its own inverse.  NaN's bits (sign clear) are their own keys."""
    for i in range(bits.size):
        bits[i] = _key(bits[i], shift, magnitude)


@njit(**_JIT)
def sorted_medians(keys, shift, magnitude, inf_key, counts, middles, lo, hi, zero, two, out):
    """``np.nanmedian`` of each window from its sorted keys (see `window_keys`).

    A row's valid values are its keys up to ``inf_key`` (+inf's key), counted into
    ``counts``; the middle ones go through ``middles``,
    ``lo`` and ``hi`` as in `medians_3x3`.
    """
    k = keys.shape[1]
    for i in range(keys.shape[0]):
        row = keys[i]
        count = 0
        for t in range(k):  # a compare and add: SIMD, faster than a bisection
            count += row[t] <= inf_key
        x = row[(count - 1) >> 1] if count else row[k - 1]
        y = row[count >> 1] if count else row[k - 1]
        counts[i] = count
        middles[0, i] = _key(x, shift, magnitude)
        middles[1, i] = _key(y, shift, magnitude)
    _average_middles(counts, lo, hi, zero, two, out)


@njit(**_INLINE)
def _at(values, base, offsets, i):
    """``values[base + offsets[i]]``, or ``values[base + i]`` with ``offsets`` None (a
    contiguous run: numba compiles the branch away)."""
    if offsets is None:
        return values[base + i]
    return values[base + offsets[i]]


@njit(**_INLINE)
def _leaf_sum(values, base, offsets, start, n, zero):
    """NumPy's pairwise sum of up to 128 values (``pairwise_sum`` in loops_utils.h.src),
    the ``n`` values from ``start`` of those `_at` reads: fewer than 8 one by one from 0,
    else 8 interleaved accumulators combined as a tree, then the rest one by one.  Indices
    are unsigned: numba checks signed ones for wrap-around on every access."""
    i = np.uint64(start)
    end = i + np.uint64(n)
    if n < 8:
        total = zero
        while i < end:
            total += _at(values, base, offsets, i)
            i += np.uint64(1)
        return total
    one = np.uint64(1)
    r0 = _at(values, base, offsets, i)
    r1 = _at(values, base, offsets, i + one)
    r2 = _at(values, base, offsets, i + np.uint64(2))
    r3 = _at(values, base, offsets, i + np.uint64(3))
    r4 = _at(values, base, offsets, i + np.uint64(4))
    r5 = _at(values, base, offsets, i + np.uint64(5))
    r6 = _at(values, base, offsets, i + np.uint64(6))
    r7 = _at(values, base, offsets, i + np.uint64(7))
    stop = end - np.uint64(n % 8)
    i += np.uint64(8)
    while i < stop:
        r0 += _at(values, base, offsets, i)
        r1 += _at(values, base, offsets, i + one)
        r2 += _at(values, base, offsets, i + np.uint64(2))
        r3 += _at(values, base, offsets, i + np.uint64(3))
        r4 += _at(values, base, offsets, i + np.uint64(4))
        r5 += _at(values, base, offsets, i + np.uint64(5))
        r6 += _at(values, base, offsets, i + np.uint64(6))
        r7 += _at(values, base, offsets, i + np.uint64(7))
        i += np.uint64(8)
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < end:
        total += _at(values, base, offsets, i)
        i += one
    return total


@njit(**_INLINE)
def pairwise_sum(values, base, offsets, n, plan, stack, zero):
    """NumPy's pairwise sum of ``n`` values: ``values[base + offsets[:n]]`` (``offsets``
    unsigned, in the order of the sum; ``base`` unsigned too, so no index is checked for
    wrap-around), or ``values[base:base + n]`` with ``offsets`` None.  One block up to 128
    values, else following ``plan`` (see `pairwise_plan`) with ``stack`` for the partial
    sums.  The offsets of a window in the image (`window_offsets`) sum it where it lies,
    without a copy."""
    if n <= 128:
        return _leaf_sum(values, base, offsets, 0, n, zero)
    top = 0
    for j in range(plan.shape[0]):
        if plan[j, 1] >= 0:
            stack[top] = _leaf_sum(values, base, offsets, plan[j, 0], plan[j, 1], zero)
            top += 1
        else:  # the two last partial sums, first + second
            top -= 1
            stack[top - 1] = stack[top - 1] + stack[top]
    return stack[0]


def window_offsets(size: int, nx: int) -> np.ndarray:
    """The flat offsets of a ``size`` x ``size`` window's pixels, row-major, from its first
    pixel, in an image ``nx`` wide: unsigned, for `pairwise_sum`."""
    rows = np.arange(size, dtype=np.uint64)[:, None] * np.uint64(nx)
    return (rows + np.arange(size, dtype=np.uint64)).reshape(-1)


def pairwise_plan(n: int) -> np.ndarray:
    """NumPy's pairwise summation of ``n`` values as a postfix program, shape (m, 2).

    A row ``(start, length)`` pushes the sum of up to 128 values; ``(0, -1)`` replaces the
    two sums on top by their sum.  NumPy splits more than 128 values into halves at a
    multiple of 8, recursively; this unrolls the recursion (numba's cache cannot hold
    recursive functions).
    """
    plan: list[tuple[int, int]] = []

    def split(start: int, length: int) -> None:
        if length <= 128:
            plan.append((start, length))
            return
        half = length // 2
        half -= half % 8
        split(start, half)
        split(start + half, length - half)
        plan.append((0, -1))

    split(0, n)
    return np.array(plan, dtype=np.intp)


@njit(**_JIT)
def window_means(image, ny, nx, half, positions, plan, window, stack, zero, out):
    """``np.nanmean`` of the windows around ``positions`` in the flat image ``image``
    (NaN and outside count as 0 in the sum and not at all in the count); each is copied
    to ``window`` with its NaN as 0 and summed there."""
    size = 2 * half + 1
    k = size * size
    for i in range(positions.size):
        r, c = _row_col(positions[i], nx)
        count = 0
        if half <= r < ny - half and half <= c < nx - half:
            for j in range(size):
                start = (r - half + j) * nx + c - half
                src = image[start : start + size]
                dst = window[j * size : j * size + size]
                for t in range(size):
                    v = src[t]
                    valid = v == v
                    dst[t] = v if valid else zero
                    count += valid
        else:
            t = 0
            for rr in range(r - half, r + half + 1):
                for cc in range(c - half, c + half + 1):
                    value = zero
                    if 0 <= rr < ny and 0 <= cc < nx:
                        v = image[rr * nx + cc]
                        if v == v:
                            value = v
                            count += 1
                    window[t] = value
                    t += 1
        if k <= 128:  # one block: a direct call compiles to much tighter code
            total = _leaf_sum(window, np.uint64(0), None, 0, k, zero) + zero
        else:
            total = pairwise_sum(window, np.uint64(0), None, k, plan, stack, zero) + zero
        # a float64 quotient rounded to the dtype, as np.nanmean divides by the count
        out[i] = total / (zero + count)


@njit(**_JIT)
def smooth_windows(out, filled, mask, keep, half, r0, r1, plan, offsets, window, stack,
                   zero):  # fmt: skip
    """Replace ``out``'s masked pixels in rows ``r0:r1`` by the mean of their window in
    ``filled``.

    Parameters
    ----------
    out : 2-D float array
        A copy of ``filled``; only its masked pixels are written.
    filled : 2-D float array
        The filled image, no NaN, C-contiguous.
    mask : 2-D unsigned integer array
        The mask's bits; a pixel is masked when ``mask & keep`` is not zero.
    keep : mask's dtype
        The bits that count (not the sign of a float mask: -0.0 is not masked).
    half : int
        Half the window size.
    r0, r1 : int
        The rows to smooth.
    plan : array
        `pairwise_plan` of the window's size squared.
    offsets : array
        `window_offsets` of the window in ``filled``.
    window, stack : 1-D arrays of ``filled``'s dtype
        Scratch of size squared and of the plan's length.
    zero : ``filled``'s dtype
        0 in the image's dtype: every sum is in that dtype, as NumPy's.

    The window is summed row-major with 0 for the part outside the image, as
    ``np.nanmean`` sums the NaN-padded copy, and divided by the number of its pixels
    inside the image.  Windows inside the image are summed where they lie; the others are
    copied with their outside part as 0 first.
    """
    ny, nx = filled.shape
    flat = filled.reshape(-1)  # C-ordered: the work image
    size = 2 * half + 1
    k = size * size
    for r in range(r0, r1):
        inside_y = min(r, half) + min(ny - 1 - r, half) + 1
        whole_y = half <= r < ny - half
        for c in range(nx):
            if (mask[r, c] & keep) == 0:
                continue
            if whole_y and half <= c < nx - half:
                if half == 1:  # the default size, unrolled
                    up = filled[r - 1, c - 1 : c + 2]
                    mid = filled[r, c - 1 : c + 2]
                    down = filled[r + 1, c - 1 : c + 2]
                    # NumPy's order for 9 values: 8 accumulators, their tree, then the 9th
                    total = ((up[0] + up[1]) + (up[2] + mid[0])) + (
                        (mid[1] + mid[2]) + (down[0] + down[1])
                    )
                    out[r, c] = (total + down[2] + zero) / (zero + 9)
                    continue
                start = np.uint64((r - half) * nx + c - half)
                if k <= 128:  # one block: a direct call compiles to much tighter code
                    total = _leaf_sum(flat, start, offsets, 0, k, zero) + zero
                else:
                    total = pairwise_sum(flat, start, offsets, k, plan, stack, zero) + zero
                out[r, c] = total / (zero + k)
                continue
            inside_x = min(c, half) + min(nx - 1 - c, half) + 1
            _copy_window(flat, ny, nx, half, r, c, zero, window)
            total = pairwise_sum(window, np.uint64(0), None, k, plan, stack, zero) + zero
            # a float64 quotient rounded to the dtype, as np.nanmean divides by the count
            out[r, c] = total / (zero + inside_y * inside_x)


def mask_bits(mask: np.ndarray) -> tuple[np.ndarray, np.generic]:
    """A mask as unsigned integers of its own size, and the bits that count.

    Zero or not does not depend on the byte order for integers; for floats only the sign
    bit may be set in a zero (-0.0), and where it lies depends on the byte order.  NaN is
    non-zero, so masked, as in the reference's ``astype(bool)``.
    """
    unsigned = np.dtype(f"u{mask.dtype.itemsize}")
    bits = mask.view(unsigned)
    ignore = 0
    if mask.dtype.kind == "f":
        ignore = int(np.array(-0.0, dtype=mask.dtype).view(unsigned)[()])
    return bits, unsigned.type(np.iinfo(unsigned).max ^ ignore)
