"""The maskfill iteration on one 2-D plane, with work proportional to the frontier.

The image is copied once into a C-contiguous work image of the work dtype, which becomes
the unsmoothed result: no padding, no other copy.  Each iteration touches only the
frontier (the unfilled pixels with a valid 8-neighbour): the statistic of each of their
windows is computed from the image as it stood at the start of the iteration (compiled
loops, see `compiled`), then all are written back.  The next frontier is the unfilled
neighbours of the pixels just filled, plus any frontier pixel whose window gave NaN.
Unfilled pixels hold a NaN whose bits tell whether they are queued already, so the image
itself is the map of what is left to do.

Windows are processed in chunks of bounded size (`FILL_CHUNK` values), so the memory a
call needs beyond its results is small and does not grow with the image, except for the
frontier's positions while filling (one image exists then, not two).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np

from napari_imagemarker.maskfill import compiled

#: Called after each iteration with (iteration, pixels filled so far, current image view).
IterationCallback = Callable[[int, int, np.ndarray], None]

#: Rows of at most this many pixels are scanned at once for the first frontier, when the
#: pixels to fill are too many to hold all their positions at once.
SCAN_PIXELS = 1 << 16
#: Window values per chunk: small enough for the cache, big enough for few calls.
FILL_CHUNK = 1 << 17
#: Fewest windows per chunk (big windows)...
MIN_WINDOWS = 2048
#: ...but never more window values than this per chunk and thread (4-8 MB of keys), so
#: that windows far larger than usual (size 201 has 40,401 values) keep memory small.
MAX_CHUNK = 1 << 20
#: Fewest window values (windows times their size) worth sharing between threads: below
#: it, waking the threads costs more than it saves (3x3 windows of M51's 36,326 masked
#: pixels are slower on two threads than on one, 11x11 windows twice as fast).
THREADED_WORK = 1 << 19

_POOL: ThreadPoolExecutor | None = None


def machine_threads() -> int:
    """The number of CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _pool() -> ThreadPoolExecutor:
    """One pool for every call: the compiled loops and NumPy's sort release the GIL."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(machine_threads(), thread_name_prefix="maskfill")
    return _POOL


def _run(tasks: list[Callable[[], None]], threads: int) -> None:
    """Run tasks on ``threads`` threads, this one included, and wait for all of them.

    The calling thread works too: only ``threads - 1`` pool threads are woken (waking a
    sleeping core costs more than a small task on a virtual machine), and each thread takes
    the next task when it has finished one, so uneven tasks still share the work evenly.
    """
    queue = iter(tasks)  # next() on a list iterator is atomic under the GIL

    def work() -> None:
        for task in queue:
            task()

    helpers = [_pool().submit(work) for _ in range(min(threads, len(tasks)) - 1)]
    try:
        work()
    finally:
        for future in helpers:
            future.result()


class PlaneFiller:
    """Fill the masked and NaN pixels of one 2-D image.

    Parameters
    ----------
    plane : ndarray, shape (ny, nx)
        The image.  Its values are cast to ``dtype``.
    masked : ndarray of bool or real numbers, shape (ny, nx)
        Pixels to fill in addition to the NaN pixels of ``plane``: the non-zero ones (NaN
        included).  Any type, byte order and layout: it is read where it is, never copied.
    size : int
        Odd window size, at least 3.
    dtype : numpy dtype
        Native float32 or float64: the dtype of all arithmetic and of the results.
    threads : int, optional
        Threads for the big iterations and the smoothing (windows are independent, so the
        results do not depend on it).  Default 1.
    """

    def __init__(
        self,
        plane: np.ndarray,
        masked: np.ndarray,
        size: int,
        dtype: np.dtype,
        threads: int = 1,
    ) -> None:
        self.threads = max(1, min(int(threads), machine_threads()))
        self.image = np.empty(plane.shape, dtype=dtype)
        self.image[...] = plane
        self.masked = masked
        self.half = size // 2
        unsigned = np.dtype(f"u{dtype.itemsize}")
        signed = np.dtype(f"i{dtype.itemsize}")
        self._flat = self.image.reshape(-1)
        self._bits = self._flat.view(unsigned)
        self._signed = self._flat.view(signed)
        # Unfilled pixels hold np.nan's bits (TODO) until they join a frontier, then
        # another NaN's (QUEUED).  Both have the sign bit clear: as keys in the floats'
        # order they are above +inf, so they sort after every number.
        self._todo = np.array(np.nan, dtype).view(unsigned)[()]
        self._queued = self._todo + unsigned.type(1)
        self._magnitude = unsigned.type(np.iinfo(unsigned).max >> 1)
        self._inf = np.array(np.inf, dtype).view(unsigned)[()]
        self._shift = 8 * dtype.itemsize - 1
        self._signed_magnitude = signed.type(np.iinfo(signed).max)
        self._inf_key = self._inf.view(signed)
        self._nan_key = self._todo.view(signed)
        flags, keep = compiled.mask_bits(masked)
        # masked pixels and the image's own NaN pixels (whatever their bits) become TODO
        self.n_unfilled = compiled.mark_unfilled(
            self.image.view(unsigned), flags, keep, self._magnitude, self._inf, self._todo
        )

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
        if self.n_unfilled == self.image.size:
            raise ValueError("the image has no valid pixel to fill from (all masked or NaN)")
        if self.n_unfilled:
            # inf - inf and overflow give NaN or inf, as in the reference: no warnings.
            with np.errstate(over="ignore", invalid="ignore"):
                self._iterate(operator, on_iteration)
        self._check_filled()

    def _iterate(self, operator: str, on_iteration: IterationCallback | None) -> None:
        ny, nx = self.image.shape
        frontier = self._first_frontier()
        todo_left = self.n_unfilled - frontier.size  # pixels never queued yet
        iteration = 0
        n_filled = 0
        while frontier.size:
            iteration += 1
            values = self._statistics(frontier, operator)
            ok = values == values
            if ok.all():
                filled = frontier
            else:  # the NaN results stay in the frontier, queued
                values.view(self._bits.dtype)[~ok] = self._queued
                filled = frontier[ok]
            self._flat[frontier] = values
            if not filled.size:
                raise ValueError(
                    f"{frontier.size} pixel(s) can never be filled: every {operator} of "
                    "their windows is NaN (for example only +inf and -inf values)"
                )
            # The pixels still to do next to a valid one: next to one just filled, as any
            # other valid neighbour would have queued them before.
            room = np.empty(min(8 * filled.size, todo_left), np.intp)
            n = compiled.queue_neighbours(
                self._bits, ny, nx, filled, self._todo, self._queued, room
            )
            todo_left -= n
            candidates = room[:n]
            if filled is not frontier:
                candidates = np.concatenate([frontier[~ok], candidates])
            frontier = candidates
            n_filled += filled.size
            if on_iteration is not None:
                on_iteration(iteration, n_filled, self.image)

    def _check_filled(self) -> None:
        """Raise if any pixel is still NaN: never hand back (or write) unfilled pixels.

        The last line of defence (a pass over the image, in bands): the N x 1 images of
        issue 15 came back with NaN because the first frontier was silently empty.
        """
        band = max(1, SCAN_PIXELS // max(self.image.shape[1], 1))
        left = 0
        for r0 in range(0, self.image.shape[0], band):
            left += int(np.count_nonzero(np.isnan(self.image[r0 : r0 + band])))
        if left:
            raise ValueError(
                f"maskfill left {left} pixel(s) unfilled (NaN), which it must never do; "
                "nothing was returned or written. Please report this with the image and mask"
            )

    def results(
        self, smooth: bool, smoothed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The filled image and, with ``smooth``, the smoothed one; call after `fill`.

        The filled image is the work image itself.  Smoothing replaces each masked pixel by
        the mean of its window in the filled image, ignoring the part of the window outside
        the image; ``smoothed`` is an optional output array (C-contiguous, the work dtype),
        else a new one.  No other memory is needed.
        """
        if not smooth:
            return self.image, None
        if smoothed is None:
            smoothed = self.image.copy()
        else:
            smoothed[...] = self.image
        size = 2 * self.half + 1
        plan = compiled.pairwise_plan(size * size)
        dtype = self.image.dtype
        flags, keep = compiled.mask_bits(self.masked)
        ny, nx = self.image.shape
        offsets = compiled.window_offsets(size, nx)
        shared = self.threads > 1 and self.n_unfilled * size * size >= THREADED_WORK
        parts = self.threads * 4 if shared else 1
        bounds = np.linspace(0, ny, parts + 1).astype(int)

        def smooth_rows(r0: int, r1: int) -> None:
            compiled.smooth_windows(
                smoothed, self.image, flags, keep, self.half, r0, r1, plan, offsets,
                np.empty(size * size, dtype), np.empty(len(plan), dtype),
                dtype.type(0),
            )  # fmt: skip

        with np.errstate(over="ignore", invalid="ignore"):
            _run([lambda a=a, b=b: smooth_rows(a, b) for a, b in pairwise(bounds)], self.threads)
        return self.image, smoothed

    def _first_frontier(self) -> np.ndarray:
        """Flat positions of the pixels still to do with at least one non-NaN 8-neighbour,
        found by a scan of the whole image in bands of rows; they become queued.

        NumPy, not a compiled loop: whole-row operations without branches are twice as
        fast here as a loop that branches on each pixel to fill.
        """
        ny, nx = self.image.shape
        band = max(1, SCAN_PIXELS // max(nx, 1))
        parts = []
        for r0 in range(0, ny, band):
            r1 = min(r0 + band, ny)
            lo, hi = max(r0 - 1, 0), min(r1 + 1, ny)
            # NaN flags of the band and a row on either side, outside the image NaN too
            nan = np.ones((r1 - r0 + 2, nx + 2), bool)
            nan[lo - r0 + 1 : hi - r0 + 1, 1:-1] = np.isnan(self.image[lo:hi])
            # 3 x 3 neighbourhoods all NaN: a row AND, then a column AND
            across = nan[:, :-2] & nan[:, 1:-1]
            across &= nan[:, 2:]
            enclosed = across[:-2] & across[1:-1]
            enclosed &= across[2:]
            todo = self._bits[r0 * nx : r1 * nx].reshape(r1 - r0, nx) == self._todo
            # to do and not enclosed (for booleans, a > b is a and not b)
            pos = np.flatnonzero(np.greater(todo, enclosed, out=enclosed))
            pos += r0 * nx
            parts.append(pos)
        frontier = np.concatenate(parts) if len(parts) > 1 else parts[0]
        self._bits[frontier] = self._queued
        return frontier

    def _half_for(self, operator: str) -> int:
        """Half the window to take for ``operator``: a median ignores what lies outside the
        image (NaN), so a window that reaches past the image on every side has the median
        of one that just covers it (and far fewer values to sort); a mean sums the outside
        as 0 in NumPy's pairwise order, which depends on the window's size, so it keeps it.
        """
        if operator != "median":
            return self.half
        return max(1, min(self.half, max(self.image.shape) - 1))

    def _statistics(self, positions: np.ndarray, operator: str) -> np.ndarray:
        """The median or mean of the window around each flat position: in chunks, shared
        between threads when there are many."""
        result = np.empty(positions.size, self.image.dtype)
        size = 2 * self._half_for(operator) + 1
        values = positions.size * size * size
        # Many big windows: turn the whole image into keys once (and back after), rather
        # than each of its values once per window that holds it.
        as_keys = operator == "median" and size > 3 and values > 4 * self.image.size
        if as_keys:
            compiled.to_keys(self._signed, self._shift, self._signed_magnitude)
        try:
            if self.threads == 1 or values < THREADED_WORK:
                self._statistics_part(positions, operator, result, as_keys)
            else:
                bounds = np.linspace(0, positions.size, self.threads + 1).astype(int)
                _run([
                    lambda a=a, b=b: self._statistics_part(
                        positions[a:b], operator, result[a:b], as_keys
                    )
                    for a, b in pairwise(bounds)
                ], self.threads)  # fmt: skip
        finally:
            if as_keys:
                compiled.to_keys(self._signed, self._shift, self._signed_magnitude)
        return result

    def _statistics_part(
        self, positions: np.ndarray, operator: str, result: np.ndarray, as_keys: bool = False
    ) -> None:
        """`_statistics` of some positions into ``result``, with scratch of its own; with
        ``as_keys`` the image holds keys (see `compiled.to_keys`)."""
        ny, nx = self.image.shape
        dtype = self.image.dtype
        half = self._half_for(operator)
        size = 2 * half + 1
        k = size * size
        step = max(1, min(max(MIN_WINDOWS, FILL_CHUNK // k), MAX_CHUNK // k))
        n = min(step, positions.size)
        zero, two = dtype.type(0), dtype.type(2)
        if operator == "mean":
            plan = compiled.pairwise_plan(k)
            window, stack = np.empty(k, dtype), np.empty(len(plan), dtype)
            for start in range(0, positions.size, step):
                compiled.window_means(
                    self._flat, ny, nx, half, positions[start : start + step], plan,
                    window, stack, zero, result[start : start + step],
                )  # fmt: skip
            return
        keys = np.empty((n, k), self._signed.dtype) if k > 9 else None
        counts = np.empty(n, np.intp)
        middles = np.empty((2, n), self._signed.dtype)
        lo, hi = middles.view(dtype)
        key_args = (self._shift, self._signed_magnitude)
        for start in range(0, positions.size, step):
            chunk = positions[start : start + step]
            m = chunk.size
            out = result[start : start + m]
            if keys is None:
                compiled.medians_3x3(
                    self._signed, ny, nx, chunk, *key_args, self._inf_key, self._nan_key,
                    counts[:m], middles, lo, hi, zero, two, out,
                )  # fmt: skip
                continue
            if as_keys:
                compiled.window_copies(self._signed, ny, nx, half, chunk, self._nan_key, keys[:m])
            else:
                compiled.window_keys(
                    self._signed, ny, nx, half, chunk, *key_args, self._nan_key, keys[:m]
                )
            keys[:m].sort(axis=1)  # NumPy's SIMD sort: far faster than any loop
            compiled.sorted_medians(
                keys[:m], *key_args, self._inf_key, counts[:m], middles, lo, hi, zero, two, out
            )
