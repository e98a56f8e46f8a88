"""maskfill: fill masked pixels by iterated median filtering (van Dokkum & Pasha 2024, PASP).

The algorithm, as in the reference package ``maskfill`` 1.1.1:

1. Masked pixels and NaN pixels of the image are unfilled (NaN).
2. Each iteration fills every unfilled pixel that has at least one filled pixel among its 8
   neighbours with the median (or mean) of the filled pixels in its ``size`` x ``size``
   window, all computed from the image as it was at the start of the iteration.  Outside
   the image counts as unfilled.  Iterations go on until every pixel is filled.
3. Optionally every masked pixel is then replaced by the mean of its window in the filled
   image, again from a snapshot.

The results are bit-identical to the reference; this implementation only differs in speed
(it touches only the pixels being filled) and in refusing input the reference cannot
handle (it raises ``ValueError`` where the reference loops forever or crashes).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from napari_imagemarker.maskfill.grow import check_grow, grow_mask

__all__ = ["maskfill"]

#: Called with (pixels filled so far, pixels to fill in total) while filling.
ProgressCallback = Callable[[int, int], None]

_OPERATORS = ("median", "mean")
#: Masks of other types than bool with more pixels than this are not converted whole.
MASK_COPY_LIMIT = 1 << 20


def maskfill(
    input_image: str | os.PathLike | np.ndarray,
    mask: str | os.PathLike | np.ndarray,
    ext: int | str = 0,
    size: int = 3,
    operator: str = "median",
    smooth: bool = True,
    writesteps: bool | str | os.PathLike = False,
    output_file: str | os.PathLike | None = None,
    verbose: bool = False,
    *,
    grow: int = 0,
    progress: ProgressCallback | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Fill the masked and NaN pixels of an image; a drop-in for ``maskfill.maskfill``.

    Parameters
    ----------
    input_image : str, path or ndarray
        The image, shape ``(ny, nx)``, or a cube ``(nz, ny, nx)`` filled plane by plane; or
        the path of a FITS file (``.fits`` is appended if the path does not exist without
        it, as the reference does).
    mask : str, path or ndarray
        Same shape as the image, or ``(ny, nx)`` for a cube to use one mask for every
        plane; or a FITS path.  Any non-zero value, NaN included, marks a pixel to fill, so
        a napari Labels layer works directly.
    ext : int or str, optional
        FITS extension (index or name) read from both files.  Default 0.
    size : int, optional
        Window size: odd and at least 3.  Default 3.  Whatever the size, a pixel is filled
        once one of its 8 direct neighbours is.
    operator : {"median", "mean"}, optional
        Statistic of the window used while filling.  Default "median".
    smooth : bool, optional
        If True (default), finally replace each masked pixel by the mean of its window.
    writesteps : bool or path, optional
        Write the image after each iteration to ``_iter_<n>.fits`` (``_iter_<plane>_<n>.fits``
        for cubes): in the current directory for True, as the reference does, or in the
        folder given (the command line gives the output file's folder).  Default False.
    output_file : str or path, optional
        Write the result to this FITS file: HDU 0 the final image, HDU 1 the unsmoothed
        one when smoothing; a FITS input's header (WCS included) is kept in both.
    verbose : bool, optional
        Print what happens to standard error.  Default False.
    grow : int, optional
        Grow the mask by this many pixels before filling: every pixel within this
        Euclidean distance of a masked pixel is filled too (a cube's mask plane by plane;
        see `napari_imagemarker.maskfill.grow`).  Default 0 (the reference's behaviour).
    progress : callable, optional
        Called as ``progress(done, total)`` (pixel counts) after each iteration.
    threads : int, optional
        CPU threads for the big iterations and the smoothing; default (None) every core
        this process may use.  The results do not depend on it (windows are independent);
        the batch command uses 1 per image, as it fills several images at once.

    Returns
    -------
    filled : ndarray
        The smoothed image when ``smooth``, else the unsmoothed one.
    unsmoothed : ndarray or None
        The unsmoothed image when ``smooth``, else None.

        Both have the input's shape.  A float32 or float64 input gives results of
        exactly its dtype, byte order included (big-endian FITS data stay big-endian), in
        its memory layout (C or Fortran), as the reference's; float16 input gives float32
        and anything else real (integers, bool) float64.  An empty image gives empty
        results.  Pixel positions are numpy's ``(row, col)`` of the input array.

    Raises
    ------
    MemoryError
        Naming the image and the size, when its windows do not fit in memory (sizes far
        larger than the image: the smoothing keeps each window's sum in NumPy's order).
    ValueError
        With a message naming the problem (and the file, for file input): a file that
        cannot be read; ``size`` not an odd integer >= 3; an unknown ``operator``; a mask
        whose shape does not match the image; an image that is not 2-D or 3-D or not real;
        an image (or cube plane) with no valid pixel at all; pixels whose windows can only
        ever give NaN (for example only +inf and -inf values); and, as a last guard that
        never lets a NaN pixel through, a fill that ended with pixels still NaN.
    """
    size = check_size(size)
    grow = check_grow(grow)
    threads = _check_threads(threads)
    if operator not in _OPERATORS:
        raise ValueError(f"operator must be 'median' or 'mean', not {operator!r}")
    header = image_file = mask_file = None
    if isinstance(input_image, (str, os.PathLike)):
        from napari_imagemarker.maskfill.files import read_hdu

        image_file = os.fspath(input_image)
        image, header = read_hdu(input_image, ext)
    else:
        image = np.asarray(input_image)
    try:  # the image first: its problems are the image file's, not the mask's
        dtype = _work_dtype(image)
    except ValueError as exc:
        raise ValueError(_in_file(image_file, exc)) from None
    if isinstance(mask, (str, os.PathLike)):
        from napari_imagemarker.maskfill.files import read_hdu

        mask_file = os.fspath(mask)
        mask, _ = read_hdu(mask, ext)
    try:
        masked = _masked_pixels(image, np.asarray(mask))
    except ValueError as exc:
        raise ValueError(_in_file(mask_file or image_file, exc)) from None
    if grow:
        masked = grow_mask(masked, grow)
    if output_file is not None:
        from napari_imagemarker.maskfill.files import check_output

        # before the work, not after it
        check_output(output_file, {"the input image": image_file, "the mask": mask_file})
    report = _Reporter(verbose, writesteps, progress, cube=image.ndim == 3)
    try:
        if image.size == 0:  # nothing to fill: empty results, as the reference returns
            empty = np.empty(image.shape, dtype)
            result = (empty, empty.copy()) if smooth else (empty, None)
        elif image.ndim == 2:
            result = _fill_plane(image, masked, size, operator, smooth, dtype, report, threads)
        else:
            result = _fill_cube(image, masked, size, operator, smooth, dtype, report, threads)
    except ValueError as exc:
        raise ValueError(_in_file(image_file, exc)) from None
    except MemoryError:
        shape = " x ".join(map(str, image.shape))
        raise MemoryError(
            f"{image_file or 'the image'}: not enough memory to fill a {shape} image with "
            f"size={size} windows ({size * size:,} values each); a smaller size needs less"
        ) from None
    result = tuple(None if r is None else _as_reference_dtype(r, image.dtype) for r in result)
    if output_file is not None:
        from napari_imagemarker.maskfill.files import history_text, write_result

        write_result(output_file, result[0], result[1], header, history_text(size, operator, grow))
        report.say(f"Output written to {os.fspath(output_file)}.")
    return result


def _fill_plane(
    image: np.ndarray,
    masked: np.ndarray,
    size: int,
    operator: str,
    smooth: bool,
    dtype: np.dtype,
    report: _Reporter,
    threads: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    from napari_imagemarker.maskfill.engine import PlaneFiller  # numba: imported on first use

    flip = _sums_by_column(image)
    if flip:  # fill the transpose, whose rows are the reference's order, and turn back
        image, masked = image.T, masked.T
        report.transposed = True
    filler = PlaneFiller(image, masked, size, dtype, threads)
    report.start(filler.n_unfilled, size, operator)
    filler.fill(operator, report.iteration)
    unsmoothed, smoothed = filler.results(smooth)
    report.done()
    if flip:
        unsmoothed, smoothed = unsmoothed.T, None if smoothed is None else smoothed.T
    return (smoothed, unsmoothed) if smooth else (unsmoothed, None)


def _fill_cube(
    cube: np.ndarray,
    masked: np.ndarray,
    size: int,
    operator: str,
    smooth: bool,
    dtype: np.dtype,
    report: _Reporter,
    threads: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    from napari_imagemarker.maskfill.engine import PlaneFiller  # numba: imported on first use

    unsmoothed = np.empty(cube.shape, dtype=dtype)
    smoothed = np.empty(cube.shape, dtype=dtype) if smooth else None
    n_masked = int(np.count_nonzero(masked)) * (len(cube) if masked.ndim == 2 else 1)
    report.start(n_masked + _count_extra_nan(cube, masked), size, operator)
    for index, plane in enumerate(cube):
        plane_mask = masked[index] if masked.ndim == 3 else masked
        flip = _sums_by_column(plane)
        if flip:
            plane, plane_mask = plane.T, plane_mask.T
        report.transposed = flip
        filler = PlaneFiller(plane, plane_mask, size, dtype, threads)
        report.plane = index
        try:
            filler.fill(operator, report.iteration)
        except ValueError as exc:
            raise ValueError(f"plane {index} of the cube: {exc}") from None
        if flip:  # the filler works on C-ordered planes: turn its own results back
            plane_unsmoothed, plane_smoothed = filler.results(smooth)
            unsmoothed[index] = plane_unsmoothed.T
            if smoothed is not None:
                smoothed[index] = plane_smoothed.T
        else:
            plane_unsmoothed, _ = filler.results(
                smooth, None if smoothed is None else smoothed[index]
            )
            unsmoothed[index] = plane_unsmoothed
        report.plane_done(filler.n_unfilled)
    report.done()
    return (smoothed, unsmoothed) if smooth else (unsmoothed, None)


class _Reporter:
    """Verbose messages, intermediate files and progress callbacks of one maskfill call."""

    def __init__(
        self,
        verbose: bool,
        writesteps: bool | str | os.PathLike,
        progress: ProgressCallback | None,
        cube: bool,
    ) -> None:
        self.verbose = verbose
        self.writesteps = writesteps
        # True: the current directory, as the reference; a path: that folder
        self.steps_dir = Path(writesteps) if not isinstance(writesteps, bool) else Path()
        self.progress = progress
        self.cube = cube
        self.plane = 0
        self.transposed = False  # the plane being filled is the image's transpose
        self.total = 0
        self.before = 0  # pixels filled in earlier planes

    def say(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    def start(self, total: int, size: int, operator: str) -> None:
        self.total = total
        self.say(f"Filling {total} pixels (size {size}, {operator}).")

    def iteration(self, iteration: int, n_filled: int, current: np.ndarray) -> None:
        where = f"plane {self.plane}, " if self.cube else ""
        self.say(f"{where}iteration {iteration}: {n_filled} pixels filled")
        if self.writesteps:
            step = f"{self.plane}_{iteration}" if self.cube else f"{iteration}"
            name = self.steps_dir / f"_iter_{step}.fits"
            from astropy.io import fits

            fits.writeto(
                name,
                np.ascontiguousarray(current.T if self.transposed else current),
                overwrite=True,
            )
            self.say(f"Intermediate image written to {name}.")
        if self.progress is not None:
            self.progress(self.before + n_filled, self.total)

    def plane_done(self, n_filled: int) -> None:
        self.before += n_filled

    def done(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)
        self.say("Filling complete.")


def _sums_by_column(plane: np.ndarray) -> bool:
    """Whether the reference sums this plane's windows column by column.

    The reference copies the image with ``np.copy`` (which keeps the memory layout, order
    'K'), pads it with ``np.pad`` (Fortran order when the copy is Fortran- and not
    C-contiguous) and takes each window's ``np.nanmean`` from a copy in that order: the
    sums then run down the columns.  A copy of a 2 x 2 corner has the layout a copy of the
    whole plane would have (the strides decide it; a length-1 axis stays length 1).
    """
    corner = np.copy(plane[:2, :2])
    return corner.flags.f_contiguous and not corner.flags.c_contiguous


def _as_reference_dtype(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The result (our own array) in the input's float dtype, byte order included, as the
    reference returns it (it fills a copy of the input): big-endian FITS data stay
    big-endian.  Converted in place, without a copy of the whole image."""
    if dtype.kind != "f" or dtype.itemsize != result.dtype.itemsize or dtype == result.dtype:
        return result
    rows = result.T if result.flags.f_contiguous and not result.flags.c_contiguous else result
    if rows.ndim == 3 and rows.flags.c_contiguous:
        rows = rows.reshape(-1, rows.shape[-1])
    if rows.ndim != 2:
        result.byteswap(inplace=True)
        return result.view(dtype)
    # Band by band: NumPy copies each band first (source and destination share memory),
    # and converting while copying is several times faster than swapping in place.
    swapped = rows.view(dtype)
    band = max(1, (1 << 14) // max(rows.shape[1], 1))
    for r0 in range(0, rows.shape[0], band):
        swapped[r0 : r0 + band] = rows[r0 : r0 + band]
    return result.view(dtype)


def _in_file(path: str | None, exc: ValueError) -> str:
    return f"{path}: {exc}" if path else str(exc)


def check_size(size: object) -> int:
    """``size`` as an int if it is an odd integer >= 3, else a ValueError saying so."""
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)):
        raise ValueError(f"size must be an odd integer >= 3, not {size!r}")
    if size < 3 or size % 2 == 0:
        raise ValueError(f"size must be an odd integer >= 3, not {size}")
    return int(size)


def _check_threads(threads: object) -> int:
    if threads is None:
        from napari_imagemarker.maskfill.engine import machine_threads

        return machine_threads()
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer)):
        raise ValueError(f"threads must be a whole number >= 1 or None, not {threads!r}")
    if threads < 1:
        raise ValueError(f"threads must be a whole number >= 1 or None, not {threads}")
    return int(threads)


def _work_dtype(image: np.ndarray) -> np.dtype:
    """The dtype the image is filled in, after checking that it can be filled: float32 stays
    float32 (float16 widens to it); anything else real becomes float64."""
    if image.ndim not in (2, 3):
        raise ValueError(f"the image must be 2-D or a 3-D cube, not {image.ndim}-D {image.shape}")
    dtype = image.dtype
    if dtype.kind == "f" and dtype.itemsize <= 4:
        return np.dtype(np.float32)
    if dtype.kind in "fiub":
        return np.dtype(np.float64)
    raise ValueError(f"cannot fill an image of dtype {dtype}: it must be real numbers")


def _masked_pixels(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mask, checked against the (checked) image's shape: its non-zero pixels are
    masked."""
    if mask.shape != image.shape and not (image.ndim == 3 and mask.shape == image.shape[1:]):
        allowed = "" if image.ndim == 2 else f" or {image.shape[1:]}"
        raise ValueError(
            f"the mask's shape {mask.shape} does not match the image's shape {image.shape}"
            f"{allowed}"
        )
    if mask.dtype.kind not in "biuf":
        raise ValueError(f"the mask must hold numbers, not {mask.dtype}")
    # Any non-zero value marks a pixel, NaN included (NaN != 0), exactly as the reference's
    # bool cast.  The engine reads other types than bool band by band: for a big image a
    # whole boolean copy would add a quarter of a float32 image to the memory a call needs;
    # a small mask is converted once, which is faster (the engine reads it twice).
    if mask.dtype == bool or mask.size > MASK_COPY_LIMIT:
        return mask
    return mask != 0


def _count_extra_nan(planes: np.ndarray, masked: np.ndarray) -> int:
    """Number of NaN pixels outside the mask (they are filled too)."""
    if planes.dtype.kind != "f":
        return 0
    return int(np.count_nonzero(np.isnan(planes) & (masked == 0)))  # NaN in the mask: masked
