"""The maskfill iteration on one 2-D plane, with work proportional to the frontier.

The image is copied once into a NaN-padded buffer and addressed by flat index, so that a
window or a neighbourhood is a fixed set of index offsets.  Each iteration touches only the
frontier (the unfilled pixels with a valid 8-neighbour): their windows are gathered from
the buffer as it stood at the start of the iteration, reduced, and written back.  The next
frontier is the unfilled neighbours of the pixels just filled, plus any frontier pixel whose
window gave NaN; unfilled pixels not yet in a frontier are told apart by their NaN's bits.

Large frontiers are processed in bounded chunks with vectorised sorting networks; small
ones (the many last iterations of a big masked area) with as few NumPy calls as possible,
because there the per-call overhead dominates.  Both give the same numbers; the thresholds
below only choose the faster way (the tests move them to cover every path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from napari_imagemarker.maskfill.kernels import nanmean_windows, nanmedian_windows, window_means

#: Called after each iteration with (iteration, pixels filled so far, current image view).
IterationCallback = Callable[[int, int, np.ndarray], None]

#: Window values per chunk: small enough for the cache, big enough to amortise NumPy calls.
MIN_CHUNK = 1 << 16
#: Window values per chunk while filling, when memory holds one image (the padded buffer),
#: not two: bigger chunks, fewer NumPy calls.
FILL_CHUNK = 1 << 17
#: Fewest windows per chunk (big windows): NumPy's per-call cost dominates below this.
MIN_WINDOWS = 2048
#: 3x3 medians of up to this many windows are sorted, else go through a sorting network.
SORT_MEDIANS = 768
#: Bands of the mask with at least this fraction masked are set to NaN on the bits.
DENSE_MASK = 0.1
#: After filling at least this fraction of the image at once, the next frontier is found
#: by a scan of the image rather than from the neighbours of each pixel filled.
DENSE_FRONTIER = 1 / 16


def _window_offsets(row_len: int, half: int, centre: bool = True) -> np.ndarray:
    """Flat-index offsets of a (2 half + 1)^2 window, row-major, in a buffer of row_len."""
    steps = np.arange(-half, half + 1)
    offsets = (steps[:, None] * row_len + steps[None, :]).reshape(-1)
    return offsets if centre else offsets[offsets != 0]


class PlaneFiller:
    """Fill the masked and NaN pixels of one 2-D image.

    Parameters
    ----------
    plane : ndarray, shape (ny, nx)
        The image.  Its values are cast to ``dtype``.
    masked : ndarray of bool or real numbers, shape (ny, nx)
        Pixels to fill in addition to the NaN pixels of ``plane``: the non-zero ones (NaN
        included).  Other types than bool are read in bands, never copied whole.
    size : int
        Odd window size, at least 3.
    dtype : numpy dtype
        Native float32 or float64: the dtype of all arithmetic and of the results.

    Notes
    -----
    Besides the results, memory holds the padded buffer and chunks of window values:
    ``FILL_CHUNK`` values while filling (only one image exists then), ``MIN_CHUNK`` while
    smoothing (when both results exist), or ``MIN_WINDOWS`` windows.
    """

    def __init__(self, plane: np.ndarray, masked: np.ndarray, size: int, dtype: np.dtype) -> None:
        ny, nx = plane.shape
        h = size // 2
        self.padded = np.empty((ny + 2 * h, nx + 2 * h), dtype=dtype)
        for border in _borders(h):
            self.padded[border] = np.nan
        self.inner = self.padded[h : h + ny, h : h + nx]
        self.inner[...] = plane
        self.budget = MIN_CHUNK  # values per chunk, to bound the temporary memory
        self.fill_budget = FILL_CHUNK
        # Masked pixels become NaN band by band (a mask of another type than bool is
        # read as booleans one band at a time, never converted whole): dense bands on the
        # bits, sparse ones with np.copyto, which skips long runs of unmasked pixels fast.
        # Every unfilled pixel then holds np.nan's exact bits: NaN pixels of the image too.
        band = max(1, self.budget // max(nx, 1))
        self.n_unfilled = 0
        for r0 in range(0, ny, band):
            flags = _flags(masked[r0 : r0 + band])
            rows = self.inner[r0 : r0 + band]
            n_masked = np.count_nonzero(flags)
            if n_masked >= DENSE_MASK * flags.size:
                _set_nan_bits(rows, flags)
            elif n_masked:
                np.copyto(rows, np.nan, where=flags)
            nan = np.isnan(rows)
            n_nan = int(np.count_nonzero(nan))
            if n_nan != n_masked:  # NaN pixels of the image, with whatever bits they had
                np.copyto(rows, np.nan, where=nan)
            self.n_unfilled += n_nan
        self.masked = masked
        self.half = h
        self.row_len = nx + 2 * h
        self.flat = self.padded.reshape(-1)
        self.offsets = _window_offsets(self.row_len, h)
        # Each window position as a view of the buffer: a gather then needs no index sums.
        shift = int(self.offsets[0])
        self._shift = shift
        self._views = [self.flat[o - shift :] for o in self.offsets]
        # The pixel being filled is itself missing: a 3x3 median needs its 8 neighbours.
        self._neighbour_views = [v for v, o in zip(self._views, self.offsets) if o]
        # Every window as a (size, size) view: the window around flat position p is
        # self._windows[divmod(p - corner, row_len)], and a fancy index copies whole
        # windows at once (many times faster than one index per value or per row).
        self._windows = sliding_window_view(self.padded, (size, size))
        self._corner = h * self.row_len + h
        # Unfilled pixels hold np.nan's bits until they join a frontier, then another NaN's
        # (as unsigned integers: TODO and QUEUED), so the buffer itself tells which pixels
        # are still to queue: no separate map of them.
        unsigned = np.uint32 if self.flat.itemsize == 4 else np.uint64
        self._bits = self.flat.view(unsigned)
        self._todo_bits = np.array(np.nan, dtype).view(unsigned)[()]
        self._queued_bits = self._todo_bits + unsigned(1)
        for border in _borders(h):  # outside the image: NaN, never to fill
            self.padded.view(unsigned)[border] = self._queued_bits

    def fill(self, operator: str, on_iteration: IterationCallback | None = None) -> None:
        """Fill all unfilled pixels, iteration by iteration.

        Parameters
        ----------
        operator : {"median", "mean"}
            Statistic of the window that fills a pixel.
        on_iteration : callable, optional
            Called after each iteration, see `IterationCallback`.

        Raises
        ------
        ValueError
            If the image has no valid pixel, or filling stops making progress because the
            windows of the remaining frontier only give NaN.
        """
        if self.n_unfilled == self.inner.size:
            raise ValueError("the image has no valid pixel to fill from (all masked or NaN)")
        if self.n_unfilled == 0:
            self._check_filled()
            return
        # inf - inf and overflow give NaN or inf, as in the reference: no warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            self._iterate(operator, on_iteration)

    def _iterate(self, operator: str, on_iteration: IterationCallback | None) -> None:
        bits = self._bits
        frontier = self._first_frontier()
        bits[frontier] = self._queued_bits
        neighbours = _window_offsets(self.row_len, 1, centre=False)
        iteration = 0
        n_filled = 0
        while frontier.size:
            iteration += 1
            values = self._reduce(frontier, operator)
            ok = values == values
            if ok.all():
                filled = frontier
            else:  # the NaN results stay in the frontier, queued
                values.view(bits.dtype)[~ok] = self._queued_bits
                filled = frontier[ok]
            self.flat[frontier] = values
            if not filled.size:
                raise ValueError(
                    f"{frontier.size} pixel(s) can never be filled: every {operator} of "
                    "their windows is NaN (for example only +inf and -inf values)"
                )
            if filled.size >= DENSE_FRONTIER * self.inner.size:
                # The pixels still to do next to a valid one: next to one just filled,
                # as any other valid neighbour would have queued them before.
                candidates = self._first_frontier()
                bits[candidates] = self._queued_bits
            else:
                candidates = _unfilled_neighbours(
                    filled, neighbours, bits, self._todo_bits, self._queued_bits
                )
            if filled is not frontier:
                candidates = np.concatenate([frontier[~ok], candidates])
            frontier = candidates
            n_filled += filled.size
            if on_iteration is not None:
                on_iteration(iteration, n_filled, self.inner)
        self._check_filled()

    def _check_filled(self) -> None:
        """Raise if any pixel is still NaN: never hand back (or write) unfilled pixels.

        The last line of defence (a pass over the image, in bands): the N x 1 images of
        issue 15 came back with NaN because the first frontier was silently empty.
        """
        band = max(1, self.budget // max(self.inner.shape[1], 1))
        left = 0
        for r0 in range(0, self.inner.shape[0], band):
            left += int(np.count_nonzero(np.isnan(self.inner[r0 : r0 + band])))
        if left:
            raise ValueError(
                f"maskfill left {left} pixel(s) unfilled (NaN), which it must never do; "
                "nothing was returned or written. Please report this with the image and mask"
            )

    def results(
        self,
        smooth: bool,
        unsmoothed: np.ndarray | None = None,
        smoothed: np.ndarray | None = None,
        smoothed_dtype: np.dtype | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The filled image and, with ``smooth``, the smoothed one; call after `fill`.

        Smoothing replaces each masked pixel by the mean of its window in the filled image,
        ignoring the part of the window outside the image.  ``unsmoothed`` and ``smoothed``
        are optional C-contiguous output arrays of the image's shape; without
        ``unsmoothed`` the filled image is returned as a view of the padded buffer (not
        C-contiguous), which saves an image's worth of memory.  Without ``smoothed``, the
        smoothed image is a new array of ``smoothed_dtype`` (default: the work dtype;
        the same kind of float in the other byte order is converted as it is copied).
        Call once: the buffer is not copied.
        """
        if smooth:
            if smoothed is None:
                smoothed = self.inner.astype(smoothed_dtype or self.flat.dtype)
            else:
                smoothed[...] = self.inner
            with np.errstate(over="ignore", invalid="ignore"):
                smoothed = self._smoothed(smoothed)
        if unsmoothed is None:
            # The buffer's inside itself, not a copy: a call then needs the two results'
            # memory and little more.  The filler is done with the buffer.
            unsmoothed = self.inner
        else:
            unsmoothed[...] = self.inner
        return unsmoothed, smoothed if smooth else None

    def _smoothed(self, out: np.ndarray) -> np.ndarray:
        """Write the smoothed values into ``out``, a C-contiguous copy of the image."""
        out_flat = out.reshape(-1)
        ny, nx = self.masked.shape
        h = self.half
        # np.nanmean sums NaN as 0, so a zero border gives the same sums, and the number
        # of valid values is the part of the window inside the image.
        for border in _borders(h):
            self.padded[border] = 0
        dtype = self.flat.dtype
        inside_y = _inside(np.arange(ny), ny, h).astype(dtype)
        inside_x = _inside(np.arange(nx), nx, h).astype(dtype)
        if len(self.offsets) == 9:
            self._smoothed_3x3(out_flat, inside_y, inside_x)
            return out
        step = max(MIN_WINDOWS, self.budget // len(self.offsets))
        for pos in _masked_positions(self.masked, self.budget, step):
            rows, cols = np.divmod(pos, nx)
            # summed by NumPy itself along each window
            values = self._gather((rows + h) * self.row_len + (cols + h), by_window=True)
            out_flat[pos] = window_means(values, inside_y[rows] * inside_x[cols])
        return out

    def _smoothed_3x3(
        self, out_flat: np.ndarray, inside_y: np.ndarray, inside_x: np.ndarray
    ) -> None:
        """3x3 window means of the masked pixels, summed as the values are gathered.

        The order is NumPy's pairwise sum of 9 values (see `window_means`):
        ``((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7))``, then ``+ v8`` and ``+ 0``;
        four rows of values at a time instead of nine, so chunks can hold twice as many
        windows in less memory (fewer NumPy calls per window).
        """
        nx = self.masked.shape[1]
        step = max(MIN_WINDOWS, 2 * self.budget // 9)
        views = self._views
        zero = self.flat.dtype.type(0)
        for pos in _masked_positions(self.masked, self.budget, step):
            rows, cols = np.divmod(pos, nx)
            count = inside_y[rows]
            count *= inside_x[cols]
            # flat positions in the buffer, shifted for the views (see _gather)
            base = rows
            base *= 2 * self.half
            base += self._corner + self._shift
            base += pos
            del cols
            acc, one, two, three = np.empty((4, pos.size), self.flat.dtype)
            views[0].take(base, out=acc, mode="clip")
            views[1].take(base, out=one, mode="clip")
            acc += one
            views[2].take(base, out=one, mode="clip")
            views[3].take(base, out=two, mode="clip")
            one += two
            acc += one
            views[4].take(base, out=one, mode="clip")
            views[5].take(base, out=two, mode="clip")
            one += two
            views[6].take(base, out=two, mode="clip")
            views[7].take(base, out=three, mode="clip")
            two += three
            one += two
            acc += one
            views[8].take(base, out=one, mode="clip")
            acc += one
            acc += zero
            acc /= count
            out_flat[pos] = acc

    def _first_frontier(self) -> np.ndarray:
        """Flat positions of the pixels still to do (not yet queued) with at least one
        non-NaN 8-neighbour, found by a scan of the whole buffer."""
        h = self.half
        ny = self.inner.shape[0]
        band = max(1, self.budget // self.row_len)
        todo_rows = self._bits.reshape(self.padded.shape)
        parts = []
        for r0 in range(0, ny, band):
            r1 = min(r0 + band, ny)
            # 3 x 3 neighbourhoods all NaN, as a row AND then a column AND, over the band
            # and a row on either side (the NaN border included); a pixel to do is NaN
            # itself, so this is "all 8 neighbours NaN".  The border is never to do.
            nan = np.isnan(self.padded[h + r0 - 1 : h + r1 + 1])
            across = np.empty_like(nan)
            np.logical_and(nan[:, :-2], nan[:, 1:-1], out=across[:, 1:-1])
            across[:, 1:-1] &= nan[:, 2:]
            enclosed = across[:-2] & across[1:-1]
            enclosed &= across[2:]
            todo = todo_rows[h + r0 : h + r1] == self._todo_bits
            # to do and not enclosed (for booleans, a > b is a and not b)
            frontier = np.greater(todo, enclosed, out=enclosed)
            pos = np.flatnonzero(frontier)
            pos += (h + r0) * self.row_len
            parts.append(pos)
        return np.concatenate(parts)

    def _reduce(self, positions: np.ndarray, operator: str) -> np.ndarray:
        """The statistic of the window around each flat position, in bounded chunks."""
        k = len(self.offsets)
        # 3x3 medians of many windows go through a sorting network of the 8 neighbours,
        # all others are sorted.
        sort = k != 9 or positions.size <= SORT_MEDIANS
        # Means of big windows are summed by NumPy along each window, as the reference does.
        by_window = sort if operator == "median" else k > 9
        views = self._neighbour_views if operator == "median" and not sort else self._views
        step = max(MIN_WINDOWS, self.fill_budget // k)
        result = None
        for start in range(0, positions.size, step):
            values = self._gather(positions[start : start + step], by_window, views)
            if operator == "mean":
                chunk_result = nanmean_windows(values)
            else:
                chunk_result = nanmedian_windows(values, sort=sort)
            if positions.size <= step:
                return chunk_result
            if result is None:
                result = np.empty(positions.size, dtype=self.flat.dtype)
            result[start : start + values.shape[1]] = chunk_result
        return result

    def _gather(
        self, positions: np.ndarray, by_window: bool = False, views: list | None = None
    ) -> np.ndarray:
        """Window values around flat positions, shape ``(k, n)``: row ``j`` holds window
        position ``j`` (row-major) of every window.

        With ``by_window`` the result is the transpose of a C-contiguous ``(n, k)`` array;
        otherwise ``views`` (default: the whole window) choose the window positions.
        """
        n = positions.size
        if by_window:
            k = len(self.offsets)
            rows, cols = np.divmod(positions - self._corner, self.row_len)
            return self._windows[rows, cols].reshape(n, k).T  # (n, size, size) copied
        views = self._views if views is None else views
        values = np.empty((len(views), n), self.flat.dtype)
        base = positions + self._shift
        for view, row in zip(views, values, strict=True):
            view.take(base, out=row, mode="clip")  # in bounds by construction
        return values


def _unfilled_neighbours(
    filled: np.ndarray, neighbours: np.ndarray, bits: np.ndarray, todo: int, queued: int
) -> np.ndarray:
    """The pixels still to do (``bits == todo``) among the 8-neighbours of ``filled``, each
    once; they are marked ``queued`` in ``bits``."""
    # One offset at a time a pixel cannot come twice (position -> position + offset is
    # one-to-one), and marking it at once keeps it out of the later offsets.  (Faster
    # than all offsets at once and removing repeats, except for a few dozen pixels.)
    parts = []
    for offset in neighbours.tolist():
        candidates = filled + offset
        candidates = candidates[bits[candidates] == todo]
        bits[candidates] = queued
        parts.append(candidates)
    return np.concatenate(parts)


def _borders(half: int) -> tuple:
    """Index expressions of the border strips of width ``half`` of a padded buffer."""
    return np.s_[:half], np.s_[-half:], np.s_[:, :half], np.s_[:, -half:]


def _set_nan_bits(rows: np.ndarray, flags: np.ndarray) -> None:
    """Set ``rows[flags]`` to NumPy's own NaN (``np.nan``'s exact bits).

    Done on the bits: multiplying a float's bit pattern by 0 clears it, and OR-ing in the
    bits of ``np.nan`` then makes it that NaN.  For masks of many short runs (M51's cosmic
    rays cover 14% of it) this is about twice as fast as ``np.copyto(..., where=flags)``,
    which is faster for sparse masks.
    """
    unsigned = np.uint32 if rows.itemsize == 4 else np.uint64
    bits = rows.view(unsigned)
    nan_bits = np.array(np.nan, dtype=rows.dtype).view(unsigned)
    factor = np.subtract(1, flags.view(np.uint8), dtype=unsigned)  # 0 if masked
    np.multiply(bits, factor, out=bits)
    np.subtract(1, factor, out=factor)  # 1 if masked
    np.multiply(factor, nan_bits, out=factor)
    np.bitwise_or(bits, factor, out=bits)


def _flags(masked: np.ndarray) -> np.ndarray:
    """A part of a mask as booleans: non-zero (NaN included) is masked."""
    return masked if masked.dtype == bool else masked != 0


def _masked_positions(masked: np.ndarray, scan: int, step: int) -> Iterator[np.ndarray]:
    """Flat positions of the masked pixels, at most ``step`` at a time.

    Bands of about ``scan`` pixels are searched at once, to bound the index memory.
    """
    nx = masked.shape[1]
    band = max(1, scan // nx)
    for r0 in range(0, masked.shape[0], band):
        pos = np.flatnonzero(_flags(masked[r0 : r0 + band]))
        if r0:
            pos += r0 * nx
        for start in range(0, pos.size, step):
            yield pos[start : start + step]


def _inside(index: np.ndarray, length: int, half: int) -> np.ndarray:
    """How many of ``index - half .. index + half`` lie in ``0 .. length - 1``."""
    return np.minimum(index, half) + np.minimum(length - 1 - index, half) + 1
