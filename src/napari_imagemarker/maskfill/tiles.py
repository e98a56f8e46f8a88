"""maskfill tile by tile: exact results for images too large for memory.

maskfill is local: a filled pixel depends only on the masked region it belongs to and the
pixels around that region.  Call two masked (or NaN) pixels *linked* when they are at most
``size // 2`` pixels apart in both rows and columns; a *masked region* is a set of linked
pixels (for ``size=3``, an 8-connected group).  Every value maskfill computes for a region
depends only on the pixels within ``size // 2`` of it.  Hence a tile extended by ``overlap``
pixels on each side gives, in its core, exactly the whole-image result whenever

    overlap >= (largest extent of a masked region, in rows or columns) - 1 + size // 2

(image edges need no overlap: outside the image is NaN either way).  :func:`fill_tiled` does
not need to know the largest region beforehand: it checks, in each extended tile, that every
region reaching into the core stays ``size // 2`` pixels clear of the tile's cut edges, which
is exactly the condition under which the result is identical, and raises :class:`TilingError`
naming the region when it is not.  :func:`required_overlap` computes the right-hand side for
a mask; :func:`fill_window` fills one window (the napari widget's preview of the visible
region); :func:`fill_fits_tiled` fills a FITS file through memory maps into the layout of
``imagemarker maskfill``.  Pixel positions are 0-based ``(row, col)`` of the image array.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from napari_imagemarker.maskfill.files import hdu_section, history_text, write_result
from napari_imagemarker.maskfill.fill import maskfill
from napari_imagemarker.maskfill.grow import GrownMask, check_grow

__all__ = [
    "DEFAULT_OVERLAP",
    "DEFAULT_TILE",
    "TilingError",
    "WindowFill",
    "fill_fits_tiled",
    "fill_tiled",
    "fill_window",
    "required_overlap",
    "work_dtype",
]

#: Default overlap around each tile, in pixels.
DEFAULT_OVERLAP = 256
#: Default tile side of :func:`fill_fits_tiled`, in pixels.
DEFAULT_TILE = 4096


class TilingError(ValueError):
    """A masked region is too large for the overlap: tiles would not give the exact result."""


# ---------------------------------------------------------------------------------------------
# Windows and tiles


@dataclass
class WindowFill:
    """maskfill's result on a window of an image.

    Attributes
    ----------
    filled : ndarray
        The final (smoothed when smoothing) values of the window.
    unsmoothed : ndarray or None
        The unsmoothed values when smoothing, else None.
    exact : bool
        True when the values are identical to those of a whole-image fill; False when a
        masked region crosses the cut edges of the extended window.
    region : tuple of slice or None
        When not exact, ``(rows, cols)`` of the offending region in image pixels (0-based),
        clipped to the extended window.
    """

    filled: np.ndarray
    unsmoothed: np.ndarray | None
    exact: bool
    region: tuple[slice, slice] | None = None


def work_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype maskfill returns for an image of ``dtype`` (float32 stays, else float64)."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32 if dtype.kind == "f" and dtype.itemsize <= 4 else np.float64)


def _dtype_of(image: Any) -> np.dtype:
    """The dtype of an array-like's values, from one pixel (an astropy section applies
    BSCALE/BZERO when read, so its values, not its file type, are what count)."""
    return np.asarray(image[(slice(0, 1),) * len(image.shape)]).dtype


def fill_window(
    image: Any,
    mask: Any,
    rows: slice,
    cols: slice,
    *,
    size: int = 3,
    operator: str = "median",
    smooth: bool = True,
    margin: int = DEFAULT_OVERLAP,
) -> WindowFill:
    """Fill the window ``image[rows, cols]`` using ``margin`` extra pixels around it.

    Parameters
    ----------
    image, mask : array-like, shape (ny, nx)
        Anything sliceable as ``[rows, cols]``: a NumPy array, a memory map, an astropy
        ``hdu.section``.  Only the extended window is read.  ``mask`` is non-zero where
        pixels are to be filled (NaN pixels of the image are filled too).
    rows, cols : slice
        The window, with explicit start and stop, in 0-based image pixels.
    size, operator, smooth
        As for :func:`napari_imagemarker.maskfill`.
    margin : int
        Pixels read on each side of the window (fewer at the image edges).

    Returns
    -------
    WindowFill
        The window's values, and whether they are exactly the whole-image values.
    """
    ny, nx = image.shape[-2:]
    r0, r1 = max(rows.start - margin, 0), min(rows.stop + margin, ny)
    c0, c1 = max(cols.start - margin, 0), min(cols.stop + margin, nx)
    data = np.asarray(image[r0:r1, c0:c1])
    masked = np.asarray(mask[r0:r1, c0:c1]) != 0
    core = (slice(rows.start - r0, rows.stop - r0), slice(cols.start - c0, cols.stop - c0))
    holes = masked | np.isnan(data) if data.dtype.kind == "f" else masked
    if not holes[core].any():
        plain = data[core].astype(work_dtype(data.dtype))
        return WindowFill(plain, plain.copy() if smooth else None, exact=True)
    open_edges = (r0 > 0, r1 < ny, c0 > 0, c1 < nx)
    region = _unsafe_region(holes, core, open_edges, size // 2)
    # one thread: dask runs several tiles at once
    filled, unsmoothed = maskfill(
        data, masked, size=size, operator=operator, smooth=smooth, threads=1
    )
    if region is not None:
        region = (_shift(region[0], r0), _shift(region[1], c0))
    return WindowFill(
        filled[core],
        None if unsmoothed is None else unsmoothed[core],
        exact=region is None,
        region=region,
    )


def _shift(s: slice, by: int) -> slice:
    return slice(s.start + by, s.stop + by)


def _linked_regions(holes: np.ndarray, half: int) -> np.ndarray:
    """Labels of the masked regions: pixels at most ``half`` apart share a label.

    The labels cover ``holes`` grown by ``half - 1`` pixels down and right (the array is
    that much larger): each pixel becomes a ``half`` x ``half`` square anchored at it, and two
    squares touch (8-connected) exactly when their anchors are at most ``half`` apart.
    """
    ny, nx = holes.shape
    grown = np.zeros((ny + half - 1, nx), dtype=bool)
    for dy in range(half):
        grown[dy : dy + ny] |= holes
    linked = np.zeros((ny + half - 1, nx + half - 1), dtype=bool)
    for dx in range(half):
        linked[:, dx : dx + nx] |= grown
    del grown
    labels, _ = ndimage.label(linked, structure=np.ones((3, 3), dtype=bool), output=np.int32)
    return labels


def _region_box(box: tuple[slice, slice], half: int) -> tuple[slice, slice]:
    """The box of a region's pixels from the box of its grown label."""
    rows, cols = box
    return slice(rows.start, rows.stop - half + 1), slice(cols.start, cols.stop - half + 1)


def required_overlap(mask: Any, size: int = 3, image: Any = None) -> int:
    """The overlap that makes tiles exact for this mask: the largest extent (rows or
    columns) of a masked region, minus 1, plus ``size // 2``; 0 when nothing is masked.

    Parameters
    ----------
    mask : array-like, shape (ny, nx)
        Non-zero where pixels are to be filled (read whole: one byte per pixel).
    size : int
        maskfill's window size.
    image : array-like, optional
        The image, whose NaN pixels are filled too.
    """
    holes = np.asarray(mask) != 0
    if image is not None:
        values = np.asarray(image)
        if values.dtype.kind == "f":
            holes |= np.isnan(values)
    if not holes.any():
        return 0
    half = size // 2
    labels = _linked_regions(holes, half)
    extent = max(
        max(s.stop - s.start for s in _region_box(box, half))
        for box in ndimage.find_objects(labels)
        if box is not None
    )
    return extent - 1 + half


def _unsafe_region(
    holes: np.ndarray, core: tuple[slice, slice], open_edges: tuple[bool, ...], half: int
) -> tuple[slice, slice] | None:
    """The first masked region reaching into ``core`` that comes within ``half`` pixels of
    an open (cut) edge of the window, as ``(rows, cols)`` in window pixels, or None."""
    ny, nx = holes.shape
    labels = _linked_regions(holes, half)
    reaching = np.unique(labels[:ny, :nx][core][holes[core]])
    boxes = ndimage.find_objects(labels, max_label=int(reaching.max()))
    top, bottom, left, right = open_edges
    for label in reaching:
        rs, cs = _region_box(boxes[label - 1], half)
        if (
            (top and rs.start < half)
            or (bottom and rs.stop > ny - half)
            or (left and cs.start < half)
            or (right and cs.stop > nx - half)
        ):
            return rs, cs
    return None


class _Plane:
    """One plane of a 3-D array-like, sliceable as ``[rows, cols]`` without reading it all."""

    def __init__(self, data: Any, index: int) -> None:
        self.data, self.index = data, index
        self.shape = tuple(data.shape[1:])

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        return np.asarray(self.data[(self.index, *key)])


def _tiles(n: int, tile: int) -> list[slice]:
    return [slice(start, min(start + tile, n)) for start in range(0, n, tile)]


def fill_tiled(
    image: Any,
    mask: Any,
    *,
    size: int = 3,
    operator: str = "median",
    smooth: bool = True,
    tile: int = 2048,
    overlap: int = DEFAULT_OVERLAP,
    out: tuple[np.ndarray, np.ndarray | None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    grow: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """maskfill tile by tile, with the same result as on the whole image.

    Memory is a few times the size of one extended tile, whatever the image size.

    Parameters
    ----------
    image : array-like, shape (ny, nx) or (nz, ny, nx)
        Sliceable like a NumPy array (a memory map or an astropy ``hdu.section`` is read
        tile by tile).  Cubes are filled plane by plane.
    mask : array-like
        Same shape as ``image``, or ``(ny, nx)`` for every plane of a cube; non-zero where
        pixels are to be filled.
    size, operator, smooth
        As for :func:`napari_imagemarker.maskfill`.
    tile : int
        Side of the square tiles, in pixels.
    overlap : int
        Pixels added on each side of a tile; see the module docstring for the condition.
    out : (filled, unsmoothed), optional
        Arrays (memory maps, for images larger than memory) to write the results into;
        ``unsmoothed`` is None when not smoothing.  Their dtype should be
        :func:`work_dtype` of the image's.
    progress : callable, optional
        Called as ``progress(tiles_done, tiles_total)``.
    grow : int, optional
        Grow the mask by this many pixels first, as :func:`napari_imagemarker.maskfill`
        does (each tile reads ``grow`` more rows and columns of the mask).

    Returns
    -------
    filled, unsmoothed : ndarray
        As :func:`napari_imagemarker.maskfill` returns them (``out`` when given).

    Raises
    ------
    TilingError
        When a masked region is too large for ``overlap``; the message names the region
        and the overlap it needs at least.  Nothing is guessed: nothing is returned.
    ValueError
        As :func:`napari_imagemarker.maskfill`, and for shapes that do not match.
    """
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be >= 1 and overlap >= 0, not {tile} and {overlap}")
    grow = check_grow(grow)
    shape = tuple(image.shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"the image must be 2-D or a 3-D cube, not {len(shape)}-D {shape}")
    mshape = tuple(mask.shape)
    if mshape != shape and not (len(shape) == 3 and mshape == shape[1:]):
        raise ValueError(f"the mask's shape {mshape} does not match the image's shape {shape}")
    dtype = work_dtype(_dtype_of(image))
    if out is None:
        filled = np.empty(shape, dtype=dtype)
        out = (filled, np.empty(shape, dtype=dtype) if smooth else None)
    filled, unsmoothed = out
    planes = [None] if len(shape) == 2 else list(range(shape[0]))
    rows, cols = _tiles(shape[-2], tile), _tiles(shape[-1], tile)
    total, done = len(planes) * len(rows) * len(cols), 0
    for z in planes:
        plane = image if z is None else _Plane(image, z)
        plane_mask = mask if z is None or len(mshape) == 2 else _Plane(mask, z)
        if grow:
            plane_mask = GrownMask(plane_mask, grow)
        for r in rows:
            for c in cols:
                win = fill_window(
                    plane, plane_mask, r, c,
                    size=size, operator=operator, smooth=smooth, margin=overlap,
                )  # fmt: skip
                if not win.exact:
                    raise TilingError(_tiling_message(win.region, z, size, overlap))
                key = (r, c) if z is None else (z, r, c)
                filled[key] = win.filled
                if unsmoothed is not None:
                    unsmoothed[key] = win.unsmoothed
                done += 1
                if progress is not None:
                    progress(done, total)
    return filled, unsmoothed


def _tiling_message(region: tuple[slice, slice], plane: int | None, size: int, overlap: int):
    rs, cs = region
    height, width = rs.stop - rs.start, cs.stop - cs.start
    need = max(height, width) - 1 + size // 2
    where = "" if plane is None else f" of plane {plane}"
    return (
        f"cannot fill tile by tile exactly: the masked region at rows {rs.start}-{rs.stop - 1},"
        f" columns {cs.start}-{cs.stop - 1}{where} (0-based) spans at least {height} x {width}"
        f" pixels and reaches the edge of its tile's overlap. Exact tiles need overlap >="
        f" largest extent of a masked region - 1 + size // 2, here at least {need} pixels;"
        f" the overlap is {overlap}. Give a larger overlap, or fill the whole image at once."
    )


# ---------------------------------------------------------------------------------------------
# FITS files


def fill_fits_tiled(
    image_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    mask_path: str | os.PathLike | None = None,
    mask_ext: int | str | None = None,
    ext: int | str = 0,
    size: int = 3,
    operator: str = "median",
    smooth: bool = True,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    grow: int = 0,
) -> None:
    """Fill a FITS image too large for memory, tile by tile, into the single-file layout.

    The input is read through memory maps, the results are assembled in temporary memory
    maps beside ``output_path`` and written as ``imagemarker maskfill`` writes them (HDU 0
    the result, HDU 1 the unsmoothed image when smoothing, the input header kept).

    Parameters
    ----------
    image_path, output_path : str or path
        FITS files to read and to write.
    mask_path : str or path, optional
        FITS file holding the mask in extension ``ext`` (as ``imagemarker maskfill`` reads
        it); else ``mask_ext`` names the mask's extension in ``image_path``.
    ext : int or str
        Extension of the image (and of the mask file).
    size, operator, smooth, tile, overlap, grow
        As for :func:`fill_tiled`.

    Raises
    ------
    TilingError, ValueError
        With the file name and the problem; no output is written.
    """
    image_path, output_path = Path(image_path), Path(output_path)
    temporary: list[Path] = []
    with contextlib.ExitStack() as stack:
        image, header = hdu_section(stack, image_path, ext)
        if mask_path is not None:
            mask, _ = hdu_section(stack, mask_path, ext)
        elif mask_ext is not None:
            mask, _ = hdu_section(stack, image_path, mask_ext)
        else:
            raise ValueError("give mask_path or mask_ext")
        dtype = work_dtype(_dtype_of(image))

        def scratch() -> np.ndarray:
            path = output_path.with_name(f".{output_path.name}.{uuid.uuid4().hex[:8]}.tile")
            temporary.append(path)
            return np.memmap(path, dtype=dtype, mode="w+", shape=tuple(image.shape))

        try:
            out = (scratch(), scratch() if smooth else None)
            try:
                filled, unsmoothed = fill_tiled(
                    image, mask,
                    size=size, operator=operator, smooth=smooth,
                    tile=tile, overlap=overlap, out=out, grow=grow,
                )  # fmt: skip
            except ValueError as exc:
                raise type(exc)(f"{image_path}: {exc}") from None
            # the single-file command's HISTORY card too: the files are identical
            write_result(
                output_path, filled, unsmoothed, header, history_text(size, operator, grow)
            )
            del filled, unsmoothed, out
        finally:
            for path in temporary:
                path.unlink(missing_ok=True)
